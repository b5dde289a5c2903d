//! The 4-connected regions of a mask, found run by run: each row's runs of equal pixels
//! join the runs they overlap in the row above (union-find). Work is per run, not per
//! pixel, so large regions such as a frame's background cost little; callers add up
//! whatever they need over each region's runs.

use super::morphology::Mask;

/// A horizontal run of pixels in row `y`, columns `x0..x1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    /// Row.
    pub y: usize,
    /// First column.
    pub x0: usize,
    /// One past the last column.
    pub x1: usize,
}

/// The runs of one pixel value and the region each belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Regions {
    /// Every run, row by row, left to right.
    pub runs: Vec<Run>,
    /// The region of each run, `0..count`, numbered in the order their first pixels come
    /// in a raster scan.
    pub region_of: Vec<usize>,
    /// Number of regions.
    pub count: usize,
}

/// The 4-connected regions of the pixels of `mask` that are set (`on`) or clear.
pub fn regions(mask: &Mask, on: bool) -> Regions {
    let (w, h) = (mask.width(), mask.height());
    let mut runs = Vec::new();
    let mut parent: Vec<usize> = Vec::new();
    let mut above = 0..0;
    for (y, row) in mask.as_slice().chunks_exact(w.max(1)).take(h).enumerate() {
        let first = runs.len();
        let mut x = 0;
        while let Some(start) = row[x..].iter().position(|&v| (v != 0) == on) {
            let x0 = x + start;
            let len = row[x0..].iter().position(|&v| (v != 0) != on);
            let x1 = len.map_or(w, |len| x0 + len);
            runs.push(Run { y, x0, x1 });
            parent.push(runs.len() - 1);
            x = x1;
        }
        // Both rows' runs are in order, so one sweep finds every overlapping pair.
        let mut j = above.start;
        for i in first..runs.len() {
            let run = runs[i];
            while j < above.end && runs[j].x1 <= run.x0 {
                j += 1;
            }
            let mut k = j;
            while k < above.end && runs[k].x0 < run.x1 {
                union(&mut parent, i, k);
                k += 1;
            }
        }
        above = first..runs.len();
    }
    // Roots take numbers in run order, which is the raster order of regions' first pixels.
    let mut number = vec![usize::MAX; runs.len()];
    let mut region_of = Vec::with_capacity(runs.len());
    let mut count = 0;
    for i in 0..runs.len() {
        let root = find(&mut parent, i);
        if number[root] == usize::MAX {
            number[root] = count;
            count += 1;
        }
        region_of.push(number[root]);
    }
    Regions {
        runs,
        region_of,
        count,
    }
}

/// The root of `i`'s set, halving the path on the way.
fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

/// Joins the sets of `a` and `b`; the smaller root index stays the root.
fn union(parent: &mut [usize], a: usize, b: usize) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    if ra != rb {
        let (keep, join) = (ra.min(rb), ra.max(rb));
        parent[join] = keep;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regions by a plain 4-connected flood fill: each pixel's region number, in raster
    /// order of first pixels, `None` for pixels of the other value.
    fn flood_labels(mask: &Mask, on: bool) -> Vec<Option<usize>> {
        let (w, h) = (mask.width(), mask.height());
        let mut label = vec![None; w * h];
        let mut next = 0;
        for start in 0..w * h {
            if mask.get(start % w, start / w) != on || label[start].is_some() {
                continue;
            }
            let mut stack = vec![start];
            label[start] = Some(next);
            while let Some(i) = stack.pop() {
                let (x, y) = (i % w, i / w);
                let near = [
                    (x > 0).then(|| i - 1),
                    (x + 1 < w).then(|| i + 1),
                    (y > 0).then(|| i - w),
                    (y + 1 < h).then(|| i + w),
                ];
                for j in near.into_iter().flatten() {
                    if mask.get(j % w, j / w) == on && label[j].is_none() {
                        label[j] = Some(next);
                        stack.push(j);
                    }
                }
            }
            next += 1;
        }
        label
    }

    /// The same per-pixel labels from runs.
    fn run_labels(mask: &Mask, on: bool) -> Vec<Option<usize>> {
        let found = regions(mask, on);
        let mut label = vec![None; mask.width() * mask.height()];
        for (run, &region) in found.runs.iter().zip(&found.region_of) {
            for x in run.x0..run.x1 {
                label[run.y * mask.width() + x] = Some(region);
            }
        }
        assert_eq!(
            found.count,
            label.iter().flatten().max().map_or(0, |m| m + 1)
        );
        label
    }

    #[test]
    fn runs_give_the_regions_a_flood_fill_gives() {
        let mut state = 4242u32;
        for (w, h) in [(1, 1), (1, 8), (8, 1), (3, 3), (17, 11), (40, 33)] {
            for density in [20u32, 50, 65, 90] {
                let m = Mask::random(w, h, density, &mut state);
                for on in [true, false] {
                    assert_eq!(
                        run_labels(&m, on),
                        flood_labels(&m, on),
                        "{w}x{h} density {density} on {on}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_u_shape_is_one_region_and_diagonal_neighbours_are_two() {
        let mut u = Mask::new(5, 3);
        for (x, y) in [
            (0, 0),
            (0, 1),
            (0, 2),
            (1, 2),
            (2, 2),
            (3, 2),
            (4, 2),
            (4, 1),
            (4, 0),
        ] {
            u.set(x, y, true);
        }
        assert_eq!(regions(&u, true).count, 1);
        assert_eq!(regions(&u, false).count, 1);
        let mut diagonal = Mask::new(2, 2);
        diagonal.set(0, 0, true);
        diagonal.set(1, 1, true);
        assert_eq!(regions(&diagonal, true).count, 2);
        assert_eq!(regions(&Mask::new(0, 0), true).count, 0);
    }
}
