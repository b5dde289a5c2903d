//! The red cells' outer size, for the nucleus floor: the adaptive locator drops groups much
//! smaller than a red cell (giant platelets, which live mode would otherwise count).
//!
//! [`super::ruler`] measures every field but reads a ringed red cell's ring and a solid
//! one's radius, a factor of two apart on one microscope's fields: good enough to scale the
//! size limits and choose the working resolution, too rough for a size floor. This ruler
//! measures only whole, round red cells, so it measures fewer fields (a third of BCCD's)
//! but reads their true size. Pale centres are filled first, so a ringed cell and a solid
//! one read the same; a hole holding nucleus pixels is not filled (a white cell's cytoplasm
//! around its nucleus is no red cell). A component is a red cell when it does not touch the
//! border and its inscribed circle (its distance-transform peak) is nearly the circle its
//! area gives; touching clumps fail that test. The ruler is the area-weighted median of the
//! kept cells' diameters, so stray round specks weigh nothing.

use super::morphology::Mask;
use super::ruler::distance;

/// Fewest whole round red cells needed to trust the measurement.
pub const MIN_CELLS: usize = 2;
/// Smallest ratio of a kept component's inscribed radius to the radius of a disc of its
/// area (a disc gives about 1; two touching discs about 0.7).
pub const MIN_ROUNDNESS: f32 = 0.8;
/// Largest ratio of a kept component's longer box side to its shorter one.
pub const MAX_ASPECT: f32 = 1.4;

/// What a flood fill walks over: which pixels it may still enter, and what entering does.
trait Walk {
    /// Whether pixel `i` may be entered (and has not been yet).
    fn open(&self, i: usize) -> bool;
    /// Enters pixel `i` at (`x`, `y`); from then on `open(i)` is false.
    fn enter(&mut self, i: usize, x: usize, y: usize);
}

/// Scan-line flood fill (4-connected) of a `w` x `h` image from the pixels on `stack`: a
/// popped pixel grows into the whole open run of its row, and the open runs of the rows
/// above and below that run are queued by their first pixel. Several times fewer stack
/// operations than pixel by pixel, over the large background it mostly walks.
fn flood(w: usize, h: usize, stack: &mut Vec<(usize, usize)>, walk: &mut impl Walk) {
    while let Some((x, y)) = stack.pop() {
        let row = y * w;
        if !walk.open(row + x) {
            continue;
        }
        let (mut l, mut r) = (x, x);
        while l > 0 && walk.open(row + l - 1) {
            l -= 1;
        }
        while r + 1 < w && walk.open(row + r + 1) {
            r += 1;
        }
        for xx in l..=r {
            walk.enter(row + xx, xx, y);
        }
        for ny in [y.checked_sub(1), Some(y + 1).filter(|&v| v < h)]
            .into_iter()
            .flatten()
        {
            let mut in_run = false;
            for xx in l..=r {
                let open = walk.open(ny * w + xx);
                if open && !in_run {
                    stack.push((xx, ny));
                }
                in_run = open;
            }
        }
    }
}

/// Background pixels reached from outside the red cells.
struct Outside<'a> {
    red_cells: &'a [u8],
    reached: Vec<bool>,
}

impl Walk for Outside<'_> {
    fn open(&self, i: usize) -> bool {
        self.red_cells[i] == 0 && !self.reached[i]
    }
    fn enter(&mut self, i: usize, _: usize, _: usize) {
        self.reached[i] = true;
    }
}

/// `mask` with every background pixel set that no border pixel and no `keep_open` pixel
/// can reach through background (4-connected): the pale centres of ringed red cells.
fn fill_holes(mask: &Mask, keep_open: &Mask, stack: &mut Vec<(usize, usize)>) -> Mask {
    let (w, h) = (mask.width(), mask.height());
    let open = keep_open.as_slice();
    let mut outside = Outside {
        red_cells: mask.as_slice(),
        reached: vec![false; w * h],
    };
    stack.clear();
    for y in 0..h {
        let edge_row = y == 0 || y + 1 == h;
        for x in 0..w {
            let i = y * w + x;
            if outside.open(i) && (edge_row || x == 0 || x + 1 == w || open[i] != 0) {
                stack.push((x, y));
            }
        }
    }
    flood(w, h, stack, &mut outside);
    let mut filled = Mask::new(w, h);
    for (i, r) in outside.reached.iter().enumerate() {
        if !r {
            filled.set_index(i, true);
        }
    }
    filled
}

/// One connected red-cell region: its area, its box and its distance-transform peak.
struct Region {
    area: usize,
    peak: u32,
    touches_border: bool,
    width: usize,
    height: usize,
}

/// The region being walked, and every pixel any region has taken.
struct RegionWalk<'a> {
    mask: &'a [u8],
    dist: &'a [u32],
    seen: Vec<bool>,
    area: usize,
    peak: u32,
    x0: usize,
    y0: usize,
    x1: usize,
    y1: usize,
}

impl Walk for RegionWalk<'_> {
    fn open(&self, i: usize) -> bool {
        self.mask[i] != 0 && !self.seen[i]
    }
    fn enter(&mut self, i: usize, x: usize, y: usize) {
        self.seen[i] = true;
        self.area += 1;
        self.peak = self.peak.max(self.dist[i]);
        (self.x0, self.y0) = (self.x0.min(x), self.y0.min(y));
        (self.x1, self.y1) = (self.x1.max(x), self.y1.max(y));
    }
}

/// The 4-connected foreground regions of `mask`, with their peaks in `dist`.
fn regions(mask: &Mask, dist: &[u32], stack: &mut Vec<(usize, usize)>) -> Vec<Region> {
    let (w, h) = (mask.width(), mask.height());
    let mut walk = RegionWalk {
        mask: mask.as_slice(),
        dist,
        seen: vec![false; w * h],
        area: 0,
        peak: 0,
        x0: 0,
        y0: 0,
        x1: 0,
        y1: 0,
    };
    let mut out = Vec::new();
    for y in 0..h {
        for x in 0..w {
            if !walk.open(y * w + x) {
                continue;
            }
            (walk.area, walk.peak) = (0, 0);
            (walk.x0, walk.y0, walk.x1, walk.y1) = (x, y, x, y);
            stack.clear();
            stack.push((x, y));
            flood(w, h, stack, &mut walk);
            out.push(Region {
                area: walk.area,
                peak: walk.peak,
                touches_border: walk.x0 == 0
                    || walk.y0 == 0
                    || walk.x1 + 1 == w
                    || walk.y1 + 1 == h,
                width: walk.x1 + 1 - walk.x0,
                height: walk.y1 + 1 - walk.y0,
            });
        }
    }
    out
}

/// Typical red-cell diameter in mask pixels: the area-weighted median diameter of the whole,
/// round red cells (see the module's doc), counting only regions of at least `min_area`
/// pixels (their pale centres filled). `nuclei` marks what the locator took for nuclei.
/// `None` with fewer than [`MIN_CELLS`] such cells.
pub fn round_cell_diameter(red_cells: &Mask, nuclei: &Mask, min_area: usize) -> Option<f32> {
    let mut stack = Vec::new();
    let filled = fill_holes(red_cells, nuclei, &mut stack);
    let dist = distance(&filled);
    let mut cells: Vec<(f32, f32)> = regions(&filled, &dist, &mut stack)
        .into_iter()
        .filter(|r| !r.touches_border && r.area >= min_area.max(1))
        .filter_map(|r| {
            let radius = (r.area as f32 / std::f32::consts::PI).sqrt();
            let inscribed = r.peak as f32 / 3.0;
            let (long, short) = (r.width.max(r.height), r.width.min(r.height));
            let round =
                inscribed >= MIN_ROUNDNESS * radius && long as f32 <= MAX_ASPECT * short as f32;
            round.then_some((2.0 * radius, r.area as f32))
        })
        .collect();
    if cells.len() < MIN_CELLS {
        return None;
    }
    cells.sort_by(|a, b| a.0.total_cmp(&b.0));
    let half = cells.iter().map(|c| c.1).sum::<f32>() / 2.0;
    let mut covered = 0.0;
    cells
        .iter()
        .find(|(_, area)| {
            covered += area;
            covered >= half
        })
        .map(|c| c.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Draws a disc of radius `r` at `(cx, cy)`, with a hole of radius `hole` (0: solid).
    fn disc(m: &mut Mask, cx: i32, cy: i32, r: i32, hole: i32) {
        for y in cy - r..=cy + r {
            for x in cx - r..=cx + r {
                let d2 = (x - cx).pow(2) + (y - cy).pow(2);
                if d2 <= r * r && d2 > hole * hole && x >= 0 && y >= 0 {
                    m.set(x as usize, y as usize, true);
                }
            }
        }
    }

    /// A 160x120 field of discs of radius `r` on a grid `step` apart, each with a pale
    /// centre of radius `hole`.
    fn field(r: i32, step: i32, hole: i32) -> Mask {
        let mut m = Mask::new(160, 120);
        for cy in (r + 2..118 - r).step_by(step as usize) {
            for cx in (r + 2..158 - r).step_by(step as usize) {
                disc(&mut m, cx, cy, r, hole);
            }
        }
        m
    }

    fn none(m: &Mask) -> Mask {
        Mask::new(m.width(), m.height())
    }

    #[test]
    fn apart_cells_read_their_diameter_ringed_or_solid() {
        for r in [5, 8, 12] {
            for hole in [0, r / 2] {
                let m = field(r, 3 * r, hole);
                let d = round_cell_diameter(&m, &none(&m), 4).unwrap();
                assert!(
                    (d - (2 * r + 1) as f32).abs() <= 1.5,
                    "radius {r} hole {hole}: {d}"
                );
            }
        }
    }

    #[test]
    fn clumps_are_not_measured_and_do_not_pull_the_ruler() {
        // Overlapping discs form clumps only: nothing to measure.
        let clumps = field(8, 12, 3);
        assert_eq!(round_cell_diameter(&clumps, &none(&clumps), 4), None);
        // Two apart cells beside big clumps: the cells set the ruler.
        let mut m = Mask::new(160, 120);
        for cx in [20, 31, 42, 53] {
            disc(&mut m, cx, 30, 8, 3);
            disc(&mut m, cx, 41, 8, 3);
        }
        disc(&mut m, 100, 30, 6, 2);
        disc(&mut m, 130, 80, 6, 2);
        let d = round_cell_diameter(&m, &none(&m), 4).unwrap();
        assert!((d - 13.0).abs() <= 1.5, "{d}");
    }

    #[test]
    fn a_white_cell_s_cytoplasm_around_its_nucleus_is_no_red_cell() {
        let mut m = Mask::new(160, 120);
        let mut nuclei = Mask::new(160, 120);
        // Three red cells of radius 6 and one large white cell whose cytoplasm rings a
        // nucleus; without the nucleus the large ring would be filled and outweigh them.
        for cx in [20, 45, 70] {
            disc(&mut m, cx, 20, 6, 2);
        }
        disc(&mut m, 100, 70, 25, 14);
        disc(&mut nuclei, 100, 70, 12, 0);
        let d = round_cell_diameter(&m, &nuclei, 4).unwrap();
        assert!((d - 13.0).abs() <= 1.5, "{d}");
        assert!(round_cell_diameter(&m, &none(&m), 4).unwrap() > 40.0);
    }

    #[test]
    fn round_specks_weigh_nothing_and_small_ones_are_not_counted() {
        let mut m = field(8, 26, 3);
        for cx in (4..156).step_by(7) {
            disc(&mut m, cx, 116, 1, 0);
            disc(&mut m, cx, 3, 1, 0);
        }
        let d = round_cell_diameter(&m, &none(&m), 4).unwrap();
        assert!((d - 17.0).abs() <= 1.5, "{d}");
        // Specks alone: too small to count.
        let mut specks = Mask::new(160, 120);
        for cx in (10..150).step_by(10) {
            disc(&mut specks, cx, 60, 1, 0);
        }
        assert_eq!(round_cell_diameter(&specks, &none(&specks), 9), None);
    }

    #[test]
    fn too_few_cells_or_cells_cut_by_the_border_give_nothing() {
        let empty = Mask::new(50, 40);
        assert_eq!(round_cell_diameter(&empty, &empty, 4), None);
        let mut one = Mask::new(160, 120);
        disc(&mut one, 80, 60, 10, 4);
        assert_eq!(round_cell_diameter(&one, &none(&one), 4), None);
        let mut cut = Mask::new(160, 120);
        for cy in [15, 45, 75, 105] {
            disc(&mut cut, 0, cy, 10, 4);
            disc(&mut cut, 159, cy, 10, 4);
        }
        assert_eq!(round_cell_diameter(&cut, &none(&cut), 4), None);
    }
}
