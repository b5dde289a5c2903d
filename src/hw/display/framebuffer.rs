//! A 128x64 one-bit framebuffer in the OLED controllers' own memory layout.
//!
//! The buffer is stored the way SSD1306 and SH1106 controllers hold their RAM: eight
//! *pages* of eight pixel rows each; within a page, one byte per column with bit `n`
//! being row `page * 8 + n`. A page can therefore be sent to the panel as it is.
//!
//! The framebuffer remembers what was last flushed to a device, so a backend can ask
//! for the pages that changed ([`Framebuffer::dirty_pages`]) and send only those: a full
//! frame costs ~23 ms on a 400 kHz I2C bus, a changed status line a few milliseconds.

use std::convert::Infallible;
use std::io::Cursor;

use embedded_graphics::pixelcolor::BinaryColor;
use embedded_graphics::prelude::{DrawTarget, OriginDimensions, Pixel, Size};
use image::{ImageFormat, Rgb, RgbImage};

/// Width of the panel in pixels.
pub const WIDTH: usize = 128;
/// Height of the panel in pixels.
pub const HEIGHT: usize = 64;
/// Number of 8-row pages.
pub const PAGES: usize = HEIGHT / 8;
/// Bytes in one full frame.
pub const BUFFER_LEN: usize = WIDTH * PAGES;

/// Colour of a lit pixel in PNG snapshots (the white of a typical OLED).
const LIT: Rgb<u8> = Rgb([235, 245, 255]);
/// Colour of a dark pixel in PNG snapshots.
const DARK: Rgb<u8> = Rgb([8, 10, 16]);

/// A 128x64 monochrome framebuffer with per-page dirty tracking.
#[derive(Clone, PartialEq, Eq)]
pub struct Framebuffer {
    buffer: [u8; BUFFER_LEN],
    /// What the device holds, if known; `None` means "unknown, send everything".
    flushed: Option<[u8; BUFFER_LEN]>,
}

impl std::fmt::Debug for Framebuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Framebuffer")
            .field("lit_pixels", &self.lit_pixels())
            .field("dirty_pages", &self.dirty_pages())
            .finish()
    }
}

impl Default for Framebuffer {
    fn default() -> Self {
        Self::new()
    }
}

impl Framebuffer {
    /// An all-dark framebuffer whose device state is unknown (every page is dirty).
    pub fn new() -> Self {
        Self {
            buffer: [0; BUFFER_LEN],
            flushed: None,
        }
    }

    /// Turns every pixel off (the device state is left as it was).
    pub fn clear_all(&mut self) {
        self.buffer = [0; BUFFER_LEN];
    }

    /// Whether the pixel at (`x`, `y`) is lit; out-of-range coordinates are dark.
    pub fn pixel(&self, x: usize, y: usize) -> bool {
        if x >= WIDTH || y >= HEIGHT {
            return false;
        }
        self.buffer[(y / 8) * WIDTH + x] & (1 << (y % 8)) != 0
    }

    /// Sets the pixel at (`x`, `y`); out-of-range coordinates are ignored.
    pub fn set_pixel(&mut self, x: usize, y: usize, on: bool) {
        if x >= WIDTH || y >= HEIGHT {
            return;
        }
        let byte = &mut self.buffer[(y / 8) * WIDTH + x];
        let bit = 1u8 << (y % 8);
        if on {
            *byte |= bit;
        } else {
            *byte &= !bit;
        }
    }

    /// Number of lit pixels.
    pub fn lit_pixels(&self) -> usize {
        self.buffer.iter().map(|b| b.count_ones() as usize).sum()
    }

    /// Number of lit pixels in the rectangle `x0..x1`, `y0..y1` (clipped to the panel).
    pub fn lit_in(&self, x0: usize, y0: usize, x1: usize, y1: usize) -> usize {
        let mut n = 0;
        for y in y0..y1.min(HEIGHT) {
            for x in x0..x1.min(WIDTH) {
                if self.pixel(x, y) {
                    n += 1;
                }
            }
        }
        n
    }

    /// The whole frame in page layout (page 0 first, 128 bytes per page).
    pub fn as_bytes(&self) -> &[u8; BUFFER_LEN] {
        &self.buffer
    }

    /// The 128 column bytes of `page` (0..8); an out-of-range page yields an empty slice.
    pub fn page(&self, page: usize) -> &[u8] {
        if page >= PAGES {
            return &[];
        }
        &self.buffer[page * WIDTH..(page + 1) * WIDTH]
    }

    /// Pages (ascending) that differ from what was last flushed; all of them when the
    /// device state is unknown.
    pub fn dirty_pages(&self) -> Vec<usize> {
        match &self.flushed {
            None => (0..PAGES).collect(),
            Some(flushed) => (0..PAGES)
                .filter(|&p| {
                    let r = p * WIDTH..(p + 1) * WIDTH;
                    self.buffer[r.clone()] != flushed[r]
                })
                .collect(),
        }
    }

    /// Records that `page` now holds the current content on the device.
    ///
    /// While the device state is unknown, the other pages stay dirty.
    pub fn mark_page_flushed(&mut self, page: usize) {
        if page >= PAGES {
            return;
        }
        let r = page * WIDTH..(page + 1) * WIDTH;
        match &mut self.flushed {
            Some(flushed) => flushed[r.clone()].copy_from_slice(&self.buffer[r]),
            None => {
                // Unknown pages are represented by the inverse of the current content,
                // so they compare as dirty until they are flushed themselves.
                let mut flushed = [0u8; BUFFER_LEN];
                for (f, b) in flushed.iter_mut().zip(self.buffer.iter()) {
                    *f = !*b;
                }
                flushed[r.clone()].copy_from_slice(&self.buffer[r]);
                self.flushed = Some(flushed);
            }
        }
    }

    /// Records that the device now shows exactly this frame.
    pub fn mark_all_flushed(&mut self) {
        self.flushed = Some(self.buffer);
    }

    /// Forgets what the device holds (after a reset or a bus error), so the next flush
    /// sends every page.
    pub fn invalidate(&mut self) {
        self.flushed = None;
    }

    /// The frame as an RGB image, each pixel drawn as a `scale` x `scale` square
    /// (`scale` 0 is treated as 1).
    pub fn to_rgb_image(&self, scale: u32) -> RgbImage {
        let scale = scale.max(1);
        RgbImage::from_fn(WIDTH as u32 * scale, HEIGHT as u32 * scale, |x, y| {
            if self.pixel((x / scale) as usize, (y / scale) as usize) {
                LIT
            } else {
                DARK
            }
        })
    }

    /// The frame as PNG bytes, scaled up by `scale` for readability.
    pub fn to_png(&self, scale: u32) -> Result<Vec<u8>, image::ImageError> {
        let mut bytes = Cursor::new(Vec::new());
        self.to_rgb_image(scale)
            .write_to(&mut bytes, ImageFormat::Png)?;
        Ok(bytes.into_inner())
    }

    /// The frame as 16 lines of 64 Unicode braille characters (U+2800..U+28FF), each
    /// covering 2x4 pixels; lines end with `\n`.
    pub fn to_braille(&self) -> String {
        // Braille cells are 2 dots wide and 4 high: 64 characters by 16 lines hold every
        // pixel, so the terminal shows exactly the panel in a quarter of the half-block
        // rendering's width and half its height.
        const DOTS: [[u32; 2]; 4] = [[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]];
        let mut out = String::with_capacity((WIDTH / 2 * 3 + 1) * HEIGHT / 4);
        for row in (0..HEIGHT).step_by(4) {
            for col in (0..WIDTH).step_by(2) {
                let mut bits = 0;
                for (dy, line) in DOTS.iter().enumerate() {
                    for (dx, bit) in line.iter().enumerate() {
                        if self.pixel(col + dx, row + dy) {
                            bits |= bit;
                        }
                    }
                }
                out.push(char::from_u32(0x2800 + bits).unwrap_or(' '));
            }
            out.push('\n');
        }
        out
    }

    /// The frame as 32 lines of 128 Unicode half blocks (`▀`, `▄`, `█`, space), each
    /// text line covering two pixel rows; lines end with `\n`.
    pub fn to_half_blocks(&self) -> String {
        let mut out = String::with_capacity((WIDTH * 3 + 1) * HEIGHT / 2);
        for row in (0..HEIGHT).step_by(2) {
            for x in 0..WIDTH {
                out.push(match (self.pixel(x, row), self.pixel(x, row + 1)) {
                    (true, true) => '█',
                    (true, false) => '▀',
                    (false, true) => '▄',
                    (false, false) => ' ',
                });
            }
            out.push('\n');
        }
        out
    }
}

impl OriginDimensions for Framebuffer {
    fn size(&self) -> Size {
        Size::new(WIDTH as u32, HEIGHT as u32)
    }
}

impl DrawTarget for Framebuffer {
    type Color = BinaryColor;
    type Error = Infallible;

    fn draw_iter<I>(&mut self, pixels: I) -> Result<(), Self::Error>
    where
        I: IntoIterator<Item = Pixel<Self::Color>>,
    {
        for Pixel(point, color) in pixels {
            if point.x < 0 || point.y < 0 {
                continue;
            }
            self.set_pixel(point.x as usize, point.y as usize, color.is_on());
        }
        Ok(())
    }

    fn clear(&mut self, color: Self::Color) -> Result<(), Self::Error> {
        self.buffer = if color.is_on() {
            [0xFF; BUFFER_LEN]
        } else {
            [0; BUFFER_LEN]
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_graphics::prelude::*;
    use embedded_graphics::primitives::{PrimitiveStyle, Rectangle};

    #[test]
    fn pixels_land_in_page_layout() {
        let mut fb = Framebuffer::new();
        fb.set_pixel(3, 10, true);
        assert_eq!(fb.as_bytes()[WIDTH + 3], 0b0000_0100);
        assert!(fb.pixel(3, 10));
        assert!(!fb.pixel(3, 11));
        fb.set_pixel(3, 10, false);
        assert_eq!(fb.lit_pixels(), 0);
        // Out of range is ignored, not a panic.
        fb.set_pixel(128, 0, true);
        fb.set_pixel(0, 64, true);
        assert_eq!(fb.lit_pixels(), 0);
    }

    #[test]
    fn draw_target_clips_negative_and_large_coordinates() {
        let mut fb = Framebuffer::new();
        Rectangle::new(Point::new(-5, -5), Size::new(200, 10))
            .into_styled(PrimitiveStyle::with_fill(BinaryColor::On))
            .draw(&mut fb)
            .unwrap();
        assert_eq!(fb.lit_pixels(), 128 * 5);
        assert_eq!(fb.size(), Size::new(128, 64));
    }

    #[test]
    fn dirty_tracking_reports_only_changed_pages() {
        let mut fb = Framebuffer::new();
        assert_eq!(fb.dirty_pages(), (0..8).collect::<Vec<_>>());
        fb.mark_all_flushed();
        assert!(fb.dirty_pages().is_empty());
        fb.set_pixel(0, 17, true); // page 2
        fb.set_pixel(127, 63, true); // page 7
        assert_eq!(fb.dirty_pages(), vec![2, 7]);
        fb.mark_page_flushed(2);
        assert_eq!(fb.dirty_pages(), vec![7]);
        // Setting a pixel back to the flushed state makes the page clean again.
        fb.set_pixel(127, 63, false);
        assert!(fb.dirty_pages().is_empty());
        fb.invalidate();
        assert_eq!(fb.dirty_pages().len(), 8);
        fb.mark_page_flushed(5);
        assert_eq!(fb.dirty_pages(), vec![0, 1, 2, 3, 4, 6, 7]);
    }

    #[test]
    fn half_blocks_cover_two_rows_per_line() {
        let mut fb = Framebuffer::new();
        fb.set_pixel(0, 0, true);
        fb.set_pixel(1, 1, true);
        fb.set_pixel(2, 0, true);
        fb.set_pixel(2, 1, true);
        let text = fb.to_half_blocks();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 32);
        assert!(lines.iter().all(|l| l.chars().count() == 128));
        assert!(lines[0].starts_with("▀▄█ "));
        assert!(lines[1].chars().all(|c| c == ' '));
    }

    #[test]
    fn png_is_scaled_and_decodes_back() {
        let mut fb = Framebuffer::new();
        fb.set_pixel(10, 20, true);
        let png = fb.to_png(4).unwrap();
        let img = image::load_from_memory(&png).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (512, 256));
        assert_eq!(*img.get_pixel(41, 82), LIT);
        assert_eq!(*img.get_pixel(44, 82), DARK);
    }
}
