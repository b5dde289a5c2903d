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

    /// The raw pixels, row-major, 0 or 1.
    pub fn as_slice(&self) -> &[u8] {
        &self.data
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
        let (w, h) = (self.width, self.height);
        if w == 0 || h == 0 {
            return;
        }
        let pick = |a: u8, b: u8| if dilate { a.max(b) } else { a.min(b) };
        scratch.clear();
        scratch.resize(w * h, 0);
        for y in 0..h {
            let row = &self.data[y * w..(y + 1) * w];
            let out = &mut scratch[y * w..(y + 1) * w];
            for x in 0..w {
                let mut v = row[x];
                if x > 0 {
                    v = pick(v, row[x - 1]);
                }
                if x + 1 < w {
                    v = pick(v, row[x + 1]);
                }
                out[x] = v;
            }
        }
        for y in 0..h {
            for x in 0..w {
                let mut v = scratch[y * w + x];
                if y > 0 {
                    v = pick(v, scratch[(y - 1) * w + x]);
                }
                if y + 1 < h {
                    v = pick(v, scratch[(y + 1) * w + x]);
                }
                self.data[y * w + x] = v;
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

    #[test]
    fn empty_mask_is_a_no_op() {
        let mut m = Mask::new(0, 0);
        m.close(&mut Vec::new());
        assert_eq!(m.count(), 0);
        assert!(!m.get(0, 0));
    }
}
