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

/// Chamfer (3-4) distance to the nearest non-member pixel, in thirds of a pixel. Pixels
/// outside the mask count as non-members: the work is done on a copy with a one-pixel
/// border of zeros, so the two passes need no bounds checks.
pub(super) fn distance(mask: &Mask) -> Vec<u32> {
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

/// Typical red-cell diameter in mask pixels: twice the median of the distance transform's
/// local peaks (at least 2 pixels deep). `None` with fewer than [`MIN_PEAKS`] peaks.
pub fn red_cell_diameter(red_cells: &Mask) -> Option<f32> {
    let (w, h) = (red_cells.width(), red_cells.height());
    let d = distance(red_cells);
    let mut peaks = Vec::new();
    for y in 1..h.saturating_sub(1) {
        for x in 1..w.saturating_sub(1) {
            let v = d[y * w + x];
            if v < 6 {
                continue;
            }
            let is_peak = (y - 1..=y + 1).all(|yy| (x - 1..=x + 1).all(|xx| d[yy * w + xx] <= v));
            if is_peak {
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

    #[test]
    fn too_few_cells_give_nothing() {
        assert_eq!(red_cell_diameter(&Mask::new(50, 40)), None);
        assert_eq!(red_cell_diameter(&discs(30, 200)), None);
    }
}
