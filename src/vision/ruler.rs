//! The frame's ruler: red cells are about 7.5 µm across in every human smear, so their
//! typical size in pixels says how big a white cell should look, whatever the objective
//! and camera.
//!
//! Red cells mostly touch one another, so they are not counted one by one: the distance
//! from each red-cell pixel to the nearest other pixel (chamfer distance transform) peaks
//! near every cell's middle at about its radius, clumped or not. The median of those peaks,
//! doubled, is the ruler. A pale centre makes the peak the ring's width instead; that
//! still scales with the magnification, which is all the ruler is used for.

use super::morphology::Mask;

/// Fewest distance peaks needed to trust the measurement.
pub const MIN_PEAKS: usize = 8;

/// Largest distance [`distance`] reports, in thirds of a pixel: 5,461 pixels, more than
/// any working copy's half height.
pub(super) const FAR: u16 = i16::MAX as u16 / 2;

/// Chamfer (3-4) distance to the nearest non-member pixel, in thirds of a pixel (at most
/// [`FAR`]). Pixels outside the mask count as non-members: the work is done on a copy with
/// a one-pixel border of zeros, so the two passes need no bounds checks.
///
/// Each pass takes a row's neighbours in the row already done (above, or below going
/// back) for the whole row at once, which vectorises, and only then walks the row for the
/// neighbour beside each pixel, the one step that depends on the pixel before, carried in
/// a register. Non-members need no test: they hold 0, and the minimum keeps it. The work
/// is in `i16`, whose minimum every 64-bit target has as one vector instruction (baseline
/// x86_64 has none for `u32`): four times faster than the pixel-by-pixel passes.
pub(super) fn distance(mask: &Mask) -> Vec<u16> {
    let (w, h) = (mask.width(), mask.height());
    if w == 0 || h == 0 {
        return Vec::new();
    }
    let far = FAR as i16;
    let pw = w + 2;
    let mut d = vec![0i16; pw * (h + 2)];
    for (y, row) in mask.as_slice().chunks_exact(w).take(h).enumerate() {
        let out = &mut d[(y + 1) * pw + 1..(y + 1) * pw + 1 + w];
        for (o, &v) in out.iter_mut().zip(row) {
            *o = if v != 0 { far } else { 0 };
        }
    }
    for y in 1..=h {
        let (done, rest) = d.split_at_mut(y * pw);
        let row = &mut rest[..pw];
        from_row(row, &done[(y - 1) * pw..y * pw]);
        let mut left = row[0];
        for v in &mut row[1..=w] {
            left = (*v).min(left + 3);
            *v = left;
        }
    }
    for y in (1..=h).rev() {
        let (rest, done) = d.split_at_mut((y + 1) * pw);
        let row = &mut rest[y * pw..];
        from_row(row, &done[..pw]);
        let mut right = row[w + 1];
        for v in row[1..=w].iter_mut().rev() {
            right = (*v).min(right + 3);
            *v = right;
        }
    }
    let mut out = Vec::with_capacity(w * h);
    for y in 1..=h {
        out.extend(
            d[y * pw + 1..y * pw + 1 + w]
                .iter()
                .map(|&v| v.unsigned_abs()),
        );
    }
    out
}

/// Lowers each inner pixel of `row` to its distance through the three pixels of `other`
/// (the padded row above or below) that touch it: 3 straight, 4 diagonal.
fn from_row(row: &mut [i16], other: &[i16]) {
    let inner = row.len().saturating_sub(2);
    for (r, near) in row[1..=inner].iter_mut().zip(other.windows(3)) {
        *r = (*r).min(near[1] + 3).min(near[0] + 4).min(near[2] + 4);
    }
}

/// Typical red-cell diameter in mask pixels: twice the median of the distance transform's
/// local peaks (at least 2 pixels deep). `None` with fewer than [`MIN_PEAKS`] peaks.
pub fn red_cell_diameter(red_cells: &Mask) -> Option<f32> {
    let (w, h) = (red_cells.width(), red_cells.height());
    let d = distance(red_cells);
    let mut peaks = Vec::new();
    for y in 1..h.saturating_sub(1) {
        let (above, row, below) = (
            &d[(y - 1) * w..y * w],
            &d[y * w..(y + 1) * w],
            &d[(y + 1) * w..(y + 2) * w],
        );
        for x in 1..w - 1 {
            let v = row[x];
            if v < 6 {
                continue;
            }
            let around = [above, row, below];
            if around
                .iter()
                .all(|r| r[x - 1] <= v && r[x] <= v && r[x + 1] <= v)
            {
                peaks.push(v);
            }
        }
    }
    if peaks.len() < MIN_PEAKS {
        return None;
    }
    peaks.sort_unstable();
    Some(2.0 * peaks[peaks.len() / 2] as f32 / 3.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn discs(r: i32, step: i32) -> Mask {
        let mut m = Mask::new(160, 120);
        for cy in (r..120 - r).step_by(step as usize) {
            for cx in (r..160 - r).step_by(step as usize) {
                for y in cy - r..=cy + r {
                    for x in cx - r..=cx + r {
                        if (x - cx).pow(2) + (y - cy).pow(2) <= r * r {
                            m.set(x as usize, y as usize, true);
                        }
                    }
                }
            }
        }
        m
    }

    #[test]
    fn touching_or_apart_the_ruler_follows_the_cell_size() {
        for (r, step) in [(6, 14), (6, 12), (10, 22), (10, 20)] {
            let d = red_cell_diameter(&discs(r, step)).unwrap();
            assert!(
                (d - 2.0 * r as f32).abs() <= 2.5,
                "radius {r} step {step}: {d}"
            );
        }
    }

    /// The two-pass chamfer transform written plainly, pixel by pixel; pixels outside
    /// the mask are non-members.
    fn plain_distance(mask: &Mask) -> Vec<u16> {
        let (w, h) = (mask.width() as isize, mask.height() as isize);
        let mut d: Vec<u16> = mask
            .as_slice()
            .iter()
            .map(|&v| u16::from(v) * FAR)
            .collect();
        let at = |d: &[u16], x: isize, y: isize| {
            if x < 0 || y < 0 || x >= w || y >= h {
                0
            } else {
                d[(y * w + x) as usize]
            }
        };
        /// A neighbour already done in a pass: its offset and the step's cost.
        type Step = (isize, isize, u16);
        let passes: [(bool, [Step; 4]); 2] = [
            (true, [(-1, 0, 3), (0, -1, 3), (-1, -1, 4), (1, -1, 4)]),
            (false, [(1, 0, 3), (0, 1, 3), (1, 1, 4), (-1, 1, 4)]),
        ];
        for (forward, steps) in passes {
            let order: Vec<isize> = if forward {
                (0..w * h).collect()
            } else {
                (0..w * h).rev().collect()
            };
            for i in order {
                let (x, y) = (i % w, i / w);
                for (dx, dy, cost) in steps {
                    let v = at(&d, x + dx, y + dy) + cost;
                    d[i as usize] = d[i as usize].min(v);
                }
            }
        }
        d
    }

    #[test]
    fn the_row_wise_transform_agrees_with_the_plain_one() {
        let mut state = 777u32;
        for (w, h) in [(1, 1), (1, 6), (6, 1), (2, 3), (13, 9), (40, 31)] {
            for density in [40u32, 70, 95] {
                let m = Mask::random(w, h, density, &mut state);
                assert_eq!(
                    distance(&m),
                    plain_distance(&m),
                    "{w}x{h} density {density}"
                );
            }
        }
        assert!(distance(&Mask::new(0, 0)).is_empty());
    }

    #[test]
    fn too_few_cells_give_nothing() {
        assert_eq!(red_cell_diameter(&Mask::new(50, 40)), None);
        assert_eq!(red_cell_diameter(&discs(30, 200)), None);
    }
}
