//! The frame's ruler: red cells are about 7.5 µm across in every human smear, so their
//! typical size in pixels says how big a white cell should look, whatever the objective
//! and camera.
//!
//! Only whole, round red cells are measured. Their pale centres are filled first (a ringed
//! cell and a solid one then read the same: an earlier ruler, the median distance-transform
//! peak of the raw mask, read a ringed cell's ring and a solid cell's radius, a factor of
//! two apart on one microscope's fields). A component is a red cell when it does not touch
//! the border and its inscribed circle (its distance-transform peak) is nearly the circle
//! its area gives; touching clumps fail that test and are left out. A hole holding nucleus
//! pixels is not filled: a white cell's cytoplasm around its nucleus is no red cell. The
//! ruler is the area-weighted median of the kept cells' diameters, so stray specks that
//! happen to be round weigh nothing.

use super::morphology::Mask;

/// Fewest whole round red cells needed to trust the measurement.
pub const MIN_CELLS: usize = 2;
/// Smallest ratio of a kept component's inscribed radius to the radius of a disc of its
/// area (a disc gives about 1; two touching discs about 0.7).
pub const MIN_ROUNDNESS: f32 = 0.8;
/// Largest ratio of a kept component's longer box side to its shorter one.
pub const MAX_ASPECT: f32 = 1.4;

/// Chamfer (3-4) distance to the nearest non-member pixel, in thirds of a pixel. Pixels
/// outside the mask count as non-members: the work is done on a copy with a one-pixel
/// border of zeros, so the two passes need no bounds checks.
fn distance(mask: &Mask) -> Vec<u32> {
    let (w, h) = (mask.width(), mask.height());
    let far = u32::MAX / 4;
    let pw = w + 2;
    let mut d = vec![0u32; pw * (h + 2)];
    for (y, row) in mask.as_slice().chunks_exact(w.max(1)).take(h).enumerate() {
        let out = &mut d[(y + 1) * pw + 1..(y + 1) * pw + 1 + w];
        for (o, &v) in out.iter_mut().zip(row) {
            *o = if v != 0 { far } else { 0 };
        }
    }
    for y in 1..=h {
        for x in 1..=w {
            let i = y * pw + x;
            if d[i] == 0 {
                continue;
            }
            let v = (d[i - 1] + 3)
                .min(d[i - pw] + 3)
                .min(d[i - pw - 1] + 4)
                .min(d[i - pw + 1] + 4);
            d[i] = d[i].min(v);
        }
    }
    for y in (1..=h).rev() {
        for x in (1..=w).rev() {
            let i = y * pw + x;
            if d[i] == 0 {
                continue;
            }
            let v = (d[i + 1] + 3)
                .min(d[i + pw] + 3)
                .min(d[i + pw + 1] + 4)
                .min(d[i + pw - 1] + 4);
            d[i] = d[i].min(v);
        }
    }
    let mut out = Vec::with_capacity(w * h);
    for y in 1..=h {
        out.extend_from_slice(&d[y * pw + 1..y * pw + 1 + w]);
    }
    out
}

/// The 4-connected neighbours of pixel `i` in a `w` x `h` row-major image.
fn neighbours(i: usize, w: usize, h: usize) -> impl Iterator<Item = usize> {
    let (x, y) = (i % w, i / w);
    [
        (x > 0).then(|| i - 1),
        (x + 1 < w).then(|| i + 1),
        (y > 0).then(|| i - w),
        (y + 1 < h).then(|| i + w),
    ]
    .into_iter()
    .flatten()
}

/// Sets every background pixel of `mask` that no border pixel and no `keep_open` pixel can
/// reach through background (4-connected): the pale centres of ringed red cells.
fn fill_holes(mask: &mut Mask, keep_open: &Mask, stack: &mut Vec<usize>) {
    let (w, h) = (mask.width(), mask.height());
    // 0 = unreached background, 1 = red cell, 2 = reached background.
    let mut state: Vec<u8> = mask.as_slice().to_vec();
    stack.clear();
    for (i, s) in state.iter_mut().enumerate() {
        let (x, y) = (i % w, i / w);
        let seed = x == 0 || y == 0 || x + 1 == w || y + 1 == h || keep_open.as_slice()[i] != 0;
        if *s == 0 && seed {
            *s = 2;
            stack.push(i);
        }
    }
    while let Some(i) = stack.pop() {
        for j in neighbours(i, w, h) {
            if state[j] == 0 {
                state[j] = 2;
                stack.push(j);
            }
        }
    }
    for (i, s) in state.iter().enumerate() {
        if *s == 0 {
            mask.set_index(i, true);
        }
    }
}

/// One connected red-cell region: its area, its box and its distance-transform peak.
struct Region {
    area: usize,
    peak: u32,
    touches_border: bool,
    width: usize,
    height: usize,
}

/// The 4-connected foreground regions of `mask`, with their peaks in `dist`.
fn regions(mask: &Mask, dist: &[u32], stack: &mut Vec<usize>) -> Vec<Region> {
    let (w, h) = (mask.width(), mask.height());
    let src = mask.as_slice();
    let mut seen = vec![false; w * h];
    let mut out = Vec::new();
    for start in 0..w * h {
        if src[start] == 0 || seen[start] {
            continue;
        }
        seen[start] = true;
        stack.clear();
        stack.push(start);
        let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
        let mut region = Region {
            area: 0,
            peak: 0,
            touches_border: false,
            width: 0,
            height: 0,
        };
        while let Some(i) = stack.pop() {
            region.area += 1;
            region.peak = region.peak.max(dist[i]);
            let (x, y) = (i % w, i / w);
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            for j in neighbours(i, w, h) {
                if src[j] != 0 && !seen[j] {
                    seen[j] = true;
                    stack.push(j);
                }
            }
        }
        region.touches_border = x0 == 0 || y0 == 0 || x1 + 1 == w || y1 + 1 == h;
        region.width = x1 + 1 - x0;
        region.height = y1 + 1 - y0;
        out.push(region);
    }
    out
}

/// Typical red-cell diameter in mask pixels: the area-weighted median diameter of the whole,
/// round red cells (see the module's doc), counting only regions of at least `min_area`
/// pixels (their pale centres filled). `nuclei` marks what the locator took for nuclei.
/// `None` with fewer than [`MIN_CELLS`] such cells.
pub fn red_cell_diameter(red_cells: &Mask, nuclei: &Mask, min_area: usize) -> Option<f32> {
    let mut filled = red_cells.clone();
    let mut stack = Vec::new();
    fill_holes(&mut filled, nuclei, &mut stack);
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
                let d = red_cell_diameter(&m, &none(&m), 4).unwrap();
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
        assert_eq!(red_cell_diameter(&clumps, &none(&clumps), 4), None);
        // Two apart cells beside big clumps: the cells set the ruler.
        let mut m = Mask::new(160, 120);
        for cx in [20, 31, 42, 53] {
            disc(&mut m, cx, 30, 8, 3);
            disc(&mut m, cx, 41, 8, 3);
        }
        disc(&mut m, 100, 30, 6, 2);
        disc(&mut m, 130, 80, 6, 2);
        let d = red_cell_diameter(&m, &none(&m), 4).unwrap();
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
        let d = red_cell_diameter(&m, &nuclei, 4).unwrap();
        assert!((d - 13.0).abs() <= 1.5, "{d}");
        assert!(red_cell_diameter(&m, &none(&m), 4).unwrap() > 40.0);
    }

    #[test]
    fn round_specks_weigh_nothing_and_small_ones_are_not_counted() {
        let mut m = field(8, 26, 3);
        for cx in (4..156).step_by(7) {
            disc(&mut m, cx, 116, 1, 0);
            disc(&mut m, cx, 3, 1, 0);
        }
        let d = red_cell_diameter(&m, &none(&m), 4).unwrap();
        assert!((d - 17.0).abs() <= 1.5, "{d}");
        // Specks alone: too small to count.
        let mut specks = Mask::new(160, 120);
        for cx in (10..150).step_by(10) {
            disc(&mut specks, cx, 60, 1, 0);
        }
        assert_eq!(red_cell_diameter(&specks, &none(&specks), 9), None);
    }

    #[test]
    fn too_few_cells_or_cells_cut_by_the_border_give_nothing() {
        let empty = Mask::new(50, 40);
        assert_eq!(red_cell_diameter(&empty, &empty, 4), None);
        let mut one = Mask::new(160, 120);
        disc(&mut one, 80, 60, 10, 4);
        assert_eq!(red_cell_diameter(&one, &none(&one), 4), None);
        let mut cut = Mask::new(160, 120);
        for cy in [15, 45, 75, 105] {
            disc(&mut cut, 0, cy, 10, 4);
            disc(&mut cut, 159, cy, 10, 4);
        }
        assert_eq!(red_cell_diameter(&cut, &none(&cut), 4), None);
    }
}
