//! Connected components of a binary mask, with the statistics the locator needs.

use super::morphology::Mask;

/// One 4-connected foreground region, in mask coordinates.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    /// Left edge (inclusive).
    pub x0: usize,
    /// Top edge (inclusive).
    pub y0: usize,
    /// Right edge (exclusive).
    pub x1: usize,
    /// Bottom edge (exclusive).
    pub y1: usize,
    /// Number of pixels.
    pub area: usize,
    /// Sum of the per-pixel weights given to [`components`] over the region.
    pub weight: f32,
}

impl Component {
    /// Gap between two boxes: the larger of the horizontal and vertical clearance, 0 when
    /// they touch or overlap.
    pub fn gap(&self, other: &Component) -> usize {
        let dx = self.x0.max(other.x0).saturating_sub(self.x1.min(other.x1));
        let dy = self.y0.max(other.y0).saturating_sub(self.y1.min(other.y1));
        dx.max(dy)
    }

    /// Absorbs `other`: the union of the boxes, summed area and weight.
    pub fn merge(&mut self, other: &Component) {
        self.x0 = self.x0.min(other.x0);
        self.y0 = self.y0.min(other.y0);
        self.x1 = self.x1.max(other.x1);
        self.y1 = self.y1.max(other.y1);
        self.area += other.area;
        self.weight += other.weight;
    }

    /// Box width.
    pub fn width(&self) -> usize {
        self.x1 - self.x0
    }

    /// Box height.
    pub fn height(&self) -> usize {
        self.y1 - self.y0
    }
}

/// Finds the 4-connected regions of `mask`. `weights` holds one value per mask pixel
/// (row-major) that is summed over each region; pass an empty slice for zero weights.
/// `stack` is scratch space, reused between calls.
pub fn components(mask: &Mask, weights: &[f32], stack: &mut Vec<(usize, usize)>) -> Vec<Component> {
    let (w, h) = (mask.width(), mask.height());
    let mut seen = vec![false; w * h];
    let mut out = Vec::new();
    let px = mask.as_slice();
    for start in 0..w * h {
        if px[start] == 0 || seen[start] {
            continue;
        }
        let (sx, sy) = (start % w, start / w);
        let mut c = Component {
            x0: sx,
            y0: sy,
            x1: sx + 1,
            y1: sy + 1,
            area: 0,
            weight: 0.0,
        };
        seen[start] = true;
        stack.clear();
        stack.push((sx, sy));
        while let Some((x, y)) = stack.pop() {
            let i = y * w + x;
            c.area += 1;
            c.weight += weights.get(i).copied().unwrap_or(0.0);
            c.x0 = c.x0.min(x);
            c.y0 = c.y0.min(y);
            c.x1 = c.x1.max(x + 1);
            c.y1 = c.y1.max(y + 1);
            let mut visit = |nx: usize, ny: usize| {
                let j = ny * w + nx;
                if px[j] != 0 && !seen[j] {
                    seen[j] = true;
                    stack.push((nx, ny));
                }
            };
            if x > 0 {
                visit(x - 1, y);
            }
            if x + 1 < w {
                visit(x + 1, y);
            }
            if y > 0 {
                visit(x, y - 1);
            }
            if y + 1 < h {
                visit(x, y + 1);
            }
        }
        out.push(c);
    }
    out
}

/// Repeatedly merges any two components whose gap is at most `max_gap` until none are
/// left to merge (lobes of one nucleus become one group), except that a component with
/// less than `min_share` of the other's area merges only when their boxes touch (a
/// platelet beside a nucleus stays out of it; 0 merges by gap alone). Order of the result
/// follows the first member of each group.
pub fn group_nearby(mut parts: Vec<Component>, max_gap: usize, min_share: f32) -> Vec<Component> {
    let joins = |a: &Component, b: &Component| {
        let (small, large) = (a.area.min(b.area), a.area.max(b.area));
        let gap = if (small as f32) < min_share * large as f32 {
            0
        } else {
            max_gap
        };
        a.gap(b) <= gap
    };
    loop {
        let mut merged_any = false;
        let mut i = 0;
        while i < parts.len() {
            let mut j = i + 1;
            while j < parts.len() {
                if joins(&parts[i], &parts[j]) {
                    let other = parts.swap_remove(j);
                    parts[i].merge(&other);
                    merged_any = true;
                } else {
                    j += 1;
                }
            }
            i += 1;
        }
        if !merged_any {
            return parts;
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

    #[test]
    fn finds_separate_regions_with_boxes_and_areas() {
        let m = mask_from(&["##....", "#...#.", "....##", "......", ".#...."]);
        let mut cs = components(&m, &[], &mut Vec::new());
        cs.sort_by_key(|c| (c.y0, c.x0));
        assert_eq!(cs.len(), 3);
        assert_eq!(
            (cs[0].x0, cs[0].y0, cs[0].x1, cs[0].y1, cs[0].area),
            (0, 0, 2, 2, 3)
        );
        assert_eq!(
            (cs[1].x0, cs[1].y0, cs[1].x1, cs[1].y1, cs[1].area),
            (4, 1, 6, 3, 3)
        );
        assert_eq!(cs[2].area, 1);
    }

    #[test]
    fn diagonal_neighbours_are_not_connected() {
        let m = mask_from(&["#.", ".#"]);
        assert_eq!(components(&m, &[], &mut Vec::new()).len(), 2);
    }

    #[test]
    fn weights_are_summed_per_region() {
        let m = mask_from(&["##.#"]);
        let cs = components(&m, &[1.0, 2.0, 100.0, 4.0], &mut Vec::new());
        let weights: Vec<f32> = cs.iter().map(|c| c.weight).collect();
        assert_eq!(weights, [3.0, 4.0]);
    }

    #[test]
    fn grouping_joins_chains_of_nearby_lobes_only() {
        let part = |x0, x1| Component {
            x0,
            y0: 0,
            x1,
            y1: 2,
            area: x1 - x0,
            weight: 0.0,
        };
        // Lobes at 0..2, 4..6, 8..10 are chained by gaps of 2; 30..32 is far away.
        let groups = group_nearby(
            vec![part(8, 10), part(30, 32), part(0, 2), part(4, 6)],
            2,
            0.2,
        );
        let mut spans: Vec<(usize, usize, usize)> =
            groups.iter().map(|g| (g.x0, g.x1, g.area)).collect();
        spans.sort();
        assert_eq!(spans, [(0, 10, 6), (30, 32, 2)]);
        assert_eq!(group_nearby(vec![part(0, 2), part(4, 6)], 1, 0.2).len(), 2);
    }

    #[test]
    fn a_small_part_beside_a_large_one_joins_only_when_touching() {
        let part = |x0: usize, x1: usize, height: usize| Component {
            x0,
            y0: 0,
            x1,
            y1: height,
            area: (x1 - x0) * height,
            weight: 0.0,
        };
        // A nucleus 10x10 (area 100) and a platelet 3x3 (area 9) two pixels away.
        let nucleus = part(0, 10, 10);
        let spans = |groups: Vec<Component>| {
            let mut s: Vec<(usize, usize)> = groups.iter().map(|g| (g.x0, g.x1)).collect();
            s.sort();
            s
        };
        let apart = group_nearby(vec![nucleus.clone(), part(12, 15, 3)], 8, 0.2);
        assert_eq!(spans(apart), [(0, 10), (12, 15)]);
        // Without the share rule the gap alone decides, as in the fixed locator.
        let joined = group_nearby(vec![nucleus.clone(), part(12, 15, 3)], 8, 0.0);
        assert_eq!(spans(joined), [(0, 15)]);
        // Touching, it joins; and a lobe of a fifth of the nucleus's area joins across the gap.
        let touching = group_nearby(vec![nucleus.clone(), part(10, 13, 3)], 8, 0.2);
        assert_eq!(spans(touching), [(0, 13)]);
        let lobe = group_nearby(vec![nucleus, part(14, 19, 4)], 8, 0.2);
        assert_eq!(spans(lobe), [(0, 19)]);
    }
}
