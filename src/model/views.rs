//! Orientation views of a model input: a blood cell on a slide has no "up", so a classifier
//! may average its answer over the picture turned and mirrored. Pure computation on
//! height x width x 3 tensors.
//!
//! The eight views are ordered so that the first 1, 2, 4 and 8 each form a closed set of
//! turns (a group): upright; turned half way; the four quarter turns; the four quarter turns
//! and their mirror images. Averaging over a closed set gives the same answer whichever way
//! the cell happened to lie among those views.

/// The numbers of views a classifier may average over.
pub const ALLOWED_VIEWS: [usize; 4] = [1, 2, 4, 8];

/// Whether `n` views can be taken of a `width` x `height` input: `n` must be 1, 2, 4 or 8,
/// and quarter turns (n >= 4) need a square input. The error says what to change.
pub fn check_views(n: usize, width: usize, height: usize) -> Result<(), String> {
    if !ALLOWED_VIEWS.contains(&n) {
        return Err(format!(
            "views must be 1, 2, 4 or 8 (upright; + half turn; + quarter turns; + mirrors), got {n}"
        ));
    }
    if n >= 4 && width != height {
        return Err(format!(
            "{n} views need quarter turns, which need a square input; the model input is \
             {width}x{height}: use views = 1 or 2"
        ));
    }
    Ok(())
}

/// Where output pixel (`y`, `x`) of view `view` is read from in the upright `h` x `w`
/// picture. Views 0, 1, 4 and 5 work on any shape; the others need `h == w`.
fn source(view: usize, y: usize, x: usize, h: usize, w: usize) -> (usize, usize) {
    let (ly, lx) = (h - 1 - y, w - 1 - x);
    match view {
        0 => (y, x),
        1 => (ly, lx),               // half turn
        2 => (x, h - 1 - y),         // quarter turn (square only)
        3 => (w - 1 - x, y),         // three-quarter turn (square only)
        4 => (y, lx),                // mirror left-right
        5 => (ly, x),                // mirror top-bottom
        6 => (x, y),                 // mirror on the main diagonal (square only)
        _ => (w - 1 - x, h - 1 - y), // mirror on the other diagonal (square only)
    }
}

/// Writes view `view` (0..8) of the `height` x `width` x 3 tensor `src` into `dst` (same
/// length), for any element type (float or quantised). Views 2, 3, 6 and 7 need
/// `height == width`; [`check_views`] guards this.
pub fn write_view<T: Copy>(src: &[T], dst: &mut [T], height: usize, width: usize, view: usize) {
    debug_assert_eq!(src.len(), height * width * 3);
    debug_assert_eq!(dst.len(), src.len());
    for y in 0..height {
        for x in 0..width {
            let (sy, sx) = source(view, y, x, height, width);
            let s = (sy * width + sx) * 3;
            let d = (y * width + x) * 3;
            dst[d..d + 3].copy_from_slice(&src[s..s + 3]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tensor whose every pixel differs: red = row, green = column, blue = 7.
    fn ramp(h: usize, w: usize) -> Vec<f32> {
        let mut t = Vec::with_capacity(h * w * 3);
        for y in 0..h {
            for x in 0..w {
                t.extend_from_slice(&[y as f32, x as f32, 7.0]);
            }
        }
        t
    }

    fn view(src: &[f32], h: usize, w: usize, v: usize) -> Vec<f32> {
        let mut out = vec![f32::NAN; src.len()];
        write_view(src, &mut out, h, w, v);
        out
    }

    fn pixel(t: &[f32], w: usize, y: usize, x: usize) -> [f32; 3] {
        let i = (y * w + x) * 3;
        [t[i], t[i + 1], t[i + 2]]
    }

    #[test]
    fn the_eight_views_of_a_square_are_distinct_permutations() {
        let n = 5;
        let src = ramp(n, n);
        let mut seen: Vec<Vec<f32>> = Vec::new();
        for v in 0..8 {
            let out = view(&src, n, n, v);
            // a permutation of the pixels: every source pixel appears exactly once
            let mut pixels: Vec<(u32, u32)> =
                out.chunks(3).map(|p| (p[0] as u32, p[1] as u32)).collect();
            pixels.sort_unstable();
            let expected: Vec<(u32, u32)> = (0..n as u32)
                .flat_map(|y| (0..n as u32).map(move |x| (y, x)))
                .collect();
            assert_eq!(pixels, expected, "view {v} is not a permutation");
            assert!(
                out.chunks(3).all(|p| p[2] == 7.0),
                "channels moved in view {v}"
            );
            assert!(!seen.contains(&out), "view {v} repeats an earlier one");
            seen.push(out);
        }
    }

    #[test]
    fn views_turn_and_mirror_as_named() {
        let (h, w) = (4, 4);
        let src = ramp(h, w);
        // the top-left output pixel of each view
        let corners: Vec<[f32; 3]> = (0..8)
            .map(|v| pixel(&view(&src, h, w, v), w, 0, 0))
            .collect();
        assert_eq!(corners[0], [0.0, 0.0, 7.0]); // upright
        assert_eq!(corners[1], [3.0, 3.0, 7.0]); // half turn: bottom-right comes to top-left
        assert_eq!(corners[4], [0.0, 3.0, 7.0]); // left-right mirror: top-right
        assert_eq!(corners[5], [3.0, 0.0, 7.0]); // top-bottom mirror: bottom-left
        // the two quarter turns are each other's inverse, and twice one is the half turn
        let q = view(&src, h, w, 2);
        assert_eq!(view(&q, h, w, 3), src);
        assert_eq!(view(&q, h, w, 2), view(&src, h, w, 1));
    }

    #[test]
    fn each_prefix_of_views_is_closed_under_turning() {
        // Averaging over a closed set is unchanged when the input turns within that set:
        // for n in {2, 4, 8}, the views of any view of the picture are the same set as the
        // views of the picture.
        let n = 3;
        let src = ramp(n, n);
        for count in [2usize, 4, 8] {
            let mut base: Vec<Vec<f32>> = (0..count).map(|v| view(&src, n, n, v)).collect();
            base.sort_by(|a, b| a.partial_cmp(b).unwrap());
            for turned_by in 0..count {
                let turned = view(&src, n, n, turned_by);
                let mut again: Vec<Vec<f32>> = (0..count).map(|v| view(&turned, n, n, v)).collect();
                again.sort_by(|a, b| a.partial_cmp(b).unwrap());
                assert_eq!(
                    again, base,
                    "{count} views are not closed under view {turned_by}"
                );
            }
        }
    }

    #[test]
    fn half_turn_and_mirrors_work_on_oblong_inputs() {
        let (h, w) = (2, 3);
        let src = ramp(h, w);
        assert_eq!(pixel(&view(&src, h, w, 1), w, 0, 0), [1.0, 2.0, 7.0]);
        assert_eq!(pixel(&view(&src, h, w, 1), w, 1, 2), [0.0, 0.0, 7.0]);
        assert_eq!(view(&view(&src, h, w, 1), h, w, 1), src);
    }

    #[test]
    fn view_counts_are_checked_with_the_fix_in_the_message() {
        assert!(check_views(1, 3, 2).is_ok());
        assert!(check_views(2, 3, 2).is_ok());
        assert!(check_views(8, 224, 224).is_ok());
        let e = check_views(3, 224, 224).unwrap_err();
        assert!(e.contains("1, 2, 4 or 8"), "{e}");
        let e = check_views(4, 320, 240).unwrap_err();
        assert!(e.contains("square") && e.contains("views = 1 or 2"), "{e}");
        assert!(check_views(0, 224, 224).is_err());
    }
}
