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
use super::runs;

/// Fewest whole round red cells needed to trust the measurement.
pub const MIN_CELLS: usize = 2;
/// Smallest ratio of a kept component's inscribed radius to the radius of a disc of its
/// area (a disc gives about 1; two touching discs about 0.7).
pub const MIN_ROUNDNESS: f32 = 0.8;
/// Largest ratio of a kept component's longer box side to its shorter one.
pub const MAX_ASPECT: f32 = 1.4;

/// `mask` with every clear pixel set that no border pixel and no `keep_open` pixel can
/// reach through clear pixels (4-connected): the pale centres of ringed red cells.
fn fill_holes(mask: &Mask, keep_open: &Mask) -> Mask {
    let (w, h) = (mask.width(), mask.height());
    let background = runs::regions(mask, false);
    let keep = keep_open.as_slice();
    let mut open = vec![false; background.count];
    for (run, &region) in background.runs.iter().zip(&background.region_of) {
        if open[region] {
            continue;
        }
        let row = run.y * w;
        open[region] = run.y == 0
            || run.y + 1 == h
            || run.x0 == 0
            || run.x1 == w
            || keep[row + run.x0..row + run.x1].iter().any(|&v| v != 0);
    }
    let mut filled = mask.clone();
    let px = filled.as_mut_slice();
    for (run, &region) in background.runs.iter().zip(&background.region_of) {
        if !open[region] {
            let row = run.y * w;
            px[row + run.x0..row + run.x1].fill(1);
        }
    }
    filled
}

/// One connected red-cell region: its area, its box and its distance-transform peak.
struct Region {
    area: usize,
    peak: u16,
    touches_border: bool,
    width: usize,
    height: usize,
}

/// The 4-connected foreground regions of `mask`, with their peaks in `dist`.
fn regions(mask: &Mask, dist: &[u16]) -> Vec<Region> {
    let (w, h) = (mask.width(), mask.height());
    let found = runs::regions(mask, true);
    // Per region: area, peak and box (x0, y0, x1, y1; ends exclusive).
    let mut sums = vec![(0usize, 0u16, [usize::MAX, usize::MAX, 0, 0]); found.count];
    for (run, &region) in found.runs.iter().zip(&found.region_of) {
        let (area, peak, bounds) = &mut sums[region];
        let row = run.y * w;
        *area += run.x1 - run.x0;
        let top = dist[row + run.x0..row + run.x1].iter().copied().max();
        *peak = (*peak).max(top.unwrap_or(0));
        *bounds = [
            bounds[0].min(run.x0),
            bounds[1].min(run.y),
            bounds[2].max(run.x1),
            bounds[3].max(run.y + 1),
        ];
    }
    sums.into_iter()
        .map(|(area, peak, [x0, y0, x1, y1])| Region {
            area,
            peak,
            touches_border: x0 == 0 || y0 == 0 || x1 == w || y1 == h,
            width: x1 - x0,
            height: y1 - y0,
        })
        .collect()
}

/// Typical red-cell diameter in mask pixels: the area-weighted median diameter of the whole,
/// round red cells (see the module's doc), counting only regions of at least `min_area`
/// pixels (their pale centres filled). `nuclei` marks what the locator took for nuclei.
/// `None` with fewer than [`MIN_CELLS`] such cells.
pub fn round_cell_diameter(red_cells: &Mask, nuclei: &Mask, min_area: usize) -> Option<f32> {
    let filled = fill_holes(red_cells, nuclei);
    let dist = distance(&filled);
    let mut cells: Vec<(f32, f32)> = regions(&filled, &dist)
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
