//! How far a white cell's cytoplasm reaches beyond its nucleus: rays from the nucleus centre
//! walk outwards over everything that is not background; the median reach of the rays
//! facing each side gives that side, so a few rays that run into a touching red cell do not
//! stretch the box.

use super::morphology::Mask;

/// Rays cast from the centre.
const RAYS: usize = 16;

/// A box in mask pixels, fractional.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Extent {
    /// Left.
    pub x0: f32,
    /// Top.
    pub y0: f32,
    /// Right.
    pub x1: f32,
    /// Bottom.
    pub y1: f32,
}

/// The cell's extent around the nucleus box `nucleus` (mask pixels, `x1`/`y1` exclusive):
/// each side lies between the nucleus's side and `max_extra` beyond it. `foreground` marks
/// everything that is not background.
pub fn cell_extent(foreground: &Mask, nucleus: Extent, max_extra: f32) -> Extent {
    let (cx, cy) = (
        (nucleus.x0 + nucleus.x1) / 2.0,
        (nucleus.y0 + nucleus.y1) / 2.0,
    );
    let limit = (nucleus.x1 - nucleus.x0).max(nucleus.y1 - nucleus.y0) / 2.0 * 1.5 + max_extra;
    let reach: Vec<f32> = (0..RAYS)
        .map(|k| {
            let a = k as f32 * std::f32::consts::TAU / RAYS as f32;
            let (dy, dx) = a.sin_cos();
            let mut t = 0.0;
            let mut misses = 0;
            let mut last = 0.0;
            while t < limit {
                t += 0.5;
                let (x, y) = (cx + dx * t, cy + dy * t);
                if x < 0.0 || y < 0.0 {
                    break;
                }
                let (xi, yi) = (x as usize, y as usize);
                if xi >= foreground.width() || yi >= foreground.height() {
                    break;
                }
                if foreground.get(xi, yi) {
                    misses = 0;
                    last = t;
                } else {
                    misses += 1;
                    if misses >= 3 {
                        break;
                    }
                }
            }
            last
        })
        .collect();
    // Rays within ±45° of each side (5 of 16), the median of their reach.
    let side = |centre: usize| {
        let mut v: Vec<f32> = (0..5)
            .map(|j| reach[(centre + RAYS + j - 2) % RAYS])
            .collect();
        v.sort_by(f32::total_cmp);
        v[2]
    };
    let clamp = |v: f32, near: f32, far: f32| {
        if near <= far {
            v.clamp(near, far)
        } else {
            v.clamp(far, near)
        }
    };
    Extent {
        x1: clamp(cx + side(0), nucleus.x1, nucleus.x1 + max_extra),
        y1: clamp(cy + side(RAYS / 4), nucleus.y1, nucleus.y1 + max_extra),
        x0: clamp(cx - side(RAYS / 2), nucleus.x0, nucleus.x0 - max_extra),
        y0: clamp(cy - side(3 * RAYS / 4), nucleus.y0, nucleus.y0 - max_extra),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disc(m: &mut Mask, cx: i32, cy: i32, r: i32) {
        for y in 0..m.height() as i32 {
            for x in 0..m.width() as i32 {
                if (x - cx).pow(2) + (y - cy).pow(2) <= r * r {
                    m.set(x as usize, y as usize, true);
                }
            }
        }
    }

    #[test]
    fn reaches_the_cytoplasm_edge_and_ignores_one_touching_neighbour() {
        let mut m = Mask::new(100, 100);
        disc(&mut m, 50, 50, 20); // the cell
        disc(&mut m, 78, 50, 10); // a red cell touching it on the right
        let nucleus = Extent {
            x0: 40.0,
            y0: 40.0,
            x1: 60.0,
            y1: 60.0,
        };
        let e = cell_extent(&m, nucleus, 30.0);
        for (got, want) in [(e.x0, 30.0), (e.y0, 30.0), (e.x1, 71.0), (e.y1, 71.0)] {
            assert!((got - want).abs() <= 1.5, "{e:?}");
        }
        // No cytoplasm seen: the nucleus box; a huge blob: capped at max_extra.
        let bare = cell_extent(&Mask::new(100, 100), nucleus, 30.0);
        assert_eq!(bare, nucleus);
        let mut full = Mask::new(100, 100);
        disc(&mut full, 50, 50, 200);
        let capped = cell_extent(&full, nucleus, 5.0);
        assert_eq!((capped.x0, capped.x1), (35.0, 65.0));
    }
}
