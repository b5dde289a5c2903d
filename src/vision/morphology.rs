//! Binary masks and 3x3 morphology (dilate, erode, close, open).
//!
//! Pixels outside the mask are treated as neutral: they never add foreground when dilating
//! and never remove it when eroding, so objects cut by the image border are not eaten away.

/// A binary image, one byte per pixel (0 = background, 1 = foreground), row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mask {
    width: usize,
    height: usize,
    data: Vec<u8>,
}

impl Mask {
    /// An all-background mask.
    pub fn new(width: usize, height: usize) -> Self {
        Self {
            width,
            height,
            data: vec![0; width * height],
        }
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Whether `(x, y)` is foreground; false outside the mask.
    pub fn get(&self, x: usize, y: usize) -> bool {
        x < self.width && y < self.height && self.data[y * self.width + x] != 0
    }

    /// Sets `(x, y)`; ignored outside the mask.
    pub fn set(&mut self, x: usize, y: usize, on: bool) {
        if x < self.width && y < self.height {
            self.data[y * self.width + x] = u8::from(on);
        }
    }

    /// Sets the pixel at row-major `index` (`y * width + x`); ignored outside the mask.
    /// For loops that already walk the pixels in order.
    pub fn set_index(&mut self, index: usize, on: bool) {
        if let Some(v) = self.data.get_mut(index) {
            *v = u8::from(on);
        }
    }

    /// The raw pixels, row-major, 0 or 1.
    pub fn as_slice(&self) -> &[u8] {
        &self.data
    }

    /// The raw pixels, row-major, for writing; only 0 and 1 may be stored.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.data
    }

    /// A `width` x `height` mask with about `density` percent of its pixels set, drawn
    /// from the linear congruential generator `state` (for tests of mask algorithms).
    #[cfg(test)]
    pub(crate) fn random(width: usize, height: usize, density: u32, state: &mut u32) -> Self {
        let mut m = Self::new(width, height);
        for px in &mut m.data {
            *state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            *px = u8::from((*state >> 24) % 100 < density);
        }
        m
    }

    /// Number of foreground pixels.
    pub fn count(&self) -> usize {
        self.data.iter().filter(|&&v| v != 0).count()
    }

    /// 3x3 dilation (max filter); `scratch` is resized as needed and reused.
    pub fn dilate(&mut self, scratch: &mut Vec<u8>) {
        self.filter3(scratch, true);
    }

    /// 3x3 erosion (min filter); `scratch` is resized as needed and reused.
    pub fn erode(&mut self, scratch: &mut Vec<u8>) {
        self.filter3(scratch, false);
    }

    /// Closing (dilate then erode): fills pinholes and one-pixel gaps.
    pub fn close(&mut self, scratch: &mut Vec<u8>) {
        self.dilate(scratch);
        self.erode(scratch);
    }

    /// Opening (erode then dilate): removes specks and one-pixel bridges.
    pub fn open(&mut self, scratch: &mut Vec<u8>) {
        self.erode(scratch);
        self.dilate(scratch);
    }

    /// Separable 3x3 max (`dilate`) or min filter; out-of-range neighbours are skipped.
    fn filter3(&mut self, scratch: &mut Vec<u8>, dilate: bool) {
        if dilate {
            self.filter3_with(scratch, u8::max);
        } else {
            self.filter3_with(scratch, u8::min);
        }
    }

    /// [`Mask::filter3`] with the pick as a type parameter, and the border pixels handled
    /// outside the inner loops, so those loops have no branches and vectorise (the locator
    /// runs six of these per frame).
    fn filter3_with(&mut self, scratch: &mut Vec<u8>, pick: impl Fn(u8, u8) -> u8 + Copy) {
        let (w, h) = (self.width, self.height);
        if w == 0 || h == 0 {
            return;
        }
        scratch.clear();
        scratch.resize(w * h, 0);
        for (row, out) in self.data.chunks_exact(w).zip(scratch.chunks_exact_mut(w)) {
            if w == 1 {
                out[0] = row[0];
                continue;
            }
            out[0] = pick(row[0], row[1]);
            out[w - 1] = pick(row[w - 2], row[w - 1]);
            for (o, win) in out[1..w - 1].iter_mut().zip(row.windows(3)) {
                *o = pick(pick(win[0], win[1]), win[2]);
            }
        }
        for y in 0..h {
            let out = &mut self.data[y * w..(y + 1) * w];
            let here = &scratch[y * w..(y + 1) * w];
            out.copy_from_slice(here);
            if y > 0 {
                let above = &scratch[(y - 1) * w..y * w];
                for (o, &a) in out.iter_mut().zip(above) {
                    *o = pick(*o, a);
                }
            }
            if y + 1 < h {
                let below = &scratch[(y + 1) * w..(y + 2) * w];
                for (o, &b) in out.iter_mut().zip(below) {
                    *o = pick(*o, b);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask_from(rows: &[&str]) -> Mask {
        let mut m = Mask::new(rows[0].len(), rows.len());
        for (y, r) in rows.iter().enumerate() {
            for (x, c) in r.chars().enumerate() {
                m.set(x, y, c == '#');
            }
        }
        m
    }

    fn rows_of(m: &Mask) -> Vec<String> {
        (0..m.height())
            .map(|y| {
                (0..m.width())
                    .map(|x| if m.get(x, y) { '#' } else { '.' })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn dilate_grows_a_point_into_a_square() {
        let mut m = mask_from(&[".....", ".....", "..#..", ".....", "....."]);
        m.dilate(&mut Vec::new());
        assert_eq!(rows_of(&m), [".....", ".###.", ".###.", ".###.", "....."]);
    }

    #[test]
    fn open_removes_specks_and_keeps_blocks() {
        let mut m = mask_from(&["#.......", "....###.", "....###.", "....###.", "........"]);
        m.open(&mut Vec::new());
        assert_eq!(
            rows_of(&m),
            ["........", "....###.", "....###.", "....###.", "........"]
        );
    }

    #[test]
    fn close_fills_a_pinhole() {
        let mut m = mask_from(&[
            ".......", ".......", "..###..", "..#.#..", "..###..", ".......", ".......",
        ]);
        m.close(&mut Vec::new());
        assert!(m.get(3, 3));
        assert_eq!(m.count(), 9);
    }

    #[test]
    fn erosion_keeps_objects_touching_the_border() {
        let mut m = mask_from(&["##...", "##...", "....."]);
        m.erode(&mut Vec::new());
        assert!(m.get(0, 0), "outside pixels are neutral for erosion");
        assert!(!m.get(1, 1));
    }

    /// The 3x3 filter written plainly, neighbour by neighbour.
    fn plain(m: &Mask, dilate: bool) -> Mask {
        let mut out = m.clone();
        for y in 0..m.height() {
            for x in 0..m.width() {
                let mut v = m.get(x, y);
                for (dx, dy) in (-1isize..=1).flat_map(|dx| (-1isize..=1).map(move |dy| (dx, dy))) {
                    let (nx, ny) = (x as isize + dx, y as isize + dy);
                    if nx < 0 || ny < 0 || nx >= m.width() as isize || ny >= m.height() as isize {
                        continue;
                    }
                    let n = m.get(nx as usize, ny as usize);
                    v = if dilate { v || n } else { v && n };
                }
                out.set(x, y, v);
            }
        }
        out
    }

    #[test]
    fn the_fast_filter_agrees_with_the_plain_one() {
        let mut state = 12345u32;
        for (w, h) in [(1, 1), (1, 7), (7, 1), (2, 2), (2, 5), (13, 9), (40, 31)] {
            for density in [30u32, 50, 80] {
                let m = Mask::random(w, h, density, &mut state);
                for dilate in [true, false] {
                    let mut fast = m.clone();
                    fast.filter3(&mut Vec::new(), dilate);
                    assert_eq!(
                        fast,
                        plain(&m, dilate),
                        "{w}x{h} density {density} dilate {dilate}"
                    );
                }
            }
        }
    }

    #[test]
    fn empty_mask_is_a_no_op() {
        let mut m = Mask::new(0, 0);
        m.close(&mut Vec::new());
        assert_eq!(m.count(), 0);
        assert!(!m.get(0, 0));
    }
}
