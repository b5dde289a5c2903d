//! A threshold taken from a picture's own values: for pictures that are already crops, where
//! the cell fills most of the picture and the field's rules (the bulk is background and red
//! cells, nuclei stand a fixed distance out of it) no longer hold.

/// Bins of the histogram the threshold is chosen on.
const BINS: usize = 64;

/// Otsu's threshold of `values`: the cut that best splits them into two groups (largest
/// between-group variance). `None` when they hold fewer than two distinct values.
pub fn otsu(values: &[f32]) -> Option<f32> {
    let finite = || values.iter().copied().filter(|v| v.is_finite());
    let lo = finite().fold(f32::INFINITY, f32::min);
    let hi = finite().fold(f32::NEG_INFINITY, f32::max);
    // Also true when there are no finite values (lo is then infinite).
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
        return None;
    }
    let width = (hi - lo) / BINS as f32;
    let mut hist = [0u64; BINS];
    for v in finite() {
        hist[(((v - lo) / width) as usize).min(BINS - 1)] += 1;
    }
    let centre = |i: usize| lo + (i as f32 + 0.5) * width;
    let total: u64 = hist.iter().sum();
    let sum: f64 = (0..BINS)
        .map(|i| hist[i] as f64 * f64::from(centre(i)))
        .sum();
    let (mut below, mut below_sum) = (0u64, 0f64);
    let (mut best, mut cut) = (-1f64, None);
    for (i, &k) in hist.iter().enumerate().take(BINS - 1) {
        below += k;
        below_sum += k as f64 * f64::from(centre(i));
        let above = total - below;
        if below == 0 || above == 0 {
            continue;
        }
        let gap = below_sum / below as f64 - (sum - below_sum) / above as f64;
        let between = below as f64 * above as f64 * gap * gap;
        if between > best {
            best = between;
            // The cut lies on the edge between bin i and bin i + 1.
            cut = Some(lo + (i + 1) as f32 * width);
        }
    }
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_two_groups_between_them() {
        let mut v = vec![0.02f32; 700];
        v.extend(vec![0.07; 150]);
        v.extend(vec![0.25; 150]);
        let t = otsu(&v).unwrap();
        assert!((0.07..0.25).contains(&t), "{t}");
    }

    #[test]
    fn flat_or_empty_values_have_no_threshold() {
        assert_eq!(otsu(&[]), None);
        assert_eq!(otsu(&[0.3; 10]), None);
        assert_eq!(otsu(&[f32::NAN, 1.0]), None);
    }
}
