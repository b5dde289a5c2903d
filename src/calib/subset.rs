//! A stratified, seeded subset of the reviewed cells: how `calibrate --cells N --seed S`
//! draws the 10, 25, 50 cells of a learning curve from a folder of 100, the same way on
//! every machine.

use super::rng::Rng;

/// The indices (ascending) of `n` of the cells whose classes are `classes`, drawn class by
/// class with the seeded generator: every class keeps its share of `n` (largest remainders
/// first, ties to the lower class index), and every class present keeps at least one cell
/// while `n` allows. Within a class the cells are shuffled once and taken from the front,
/// so for one seed a smaller subset is (but for a rounding difference) part of a larger one.
/// All cells when `n` is at least their number.
pub fn stratified_subset(classes: &[usize], n: usize, seed: u64) -> Vec<usize> {
    if n >= classes.len() {
        return (0..classes.len()).collect();
    }
    let class_count = classes.iter().max().map_or(0, |m| m + 1);
    let mut groups: Vec<Vec<usize>> = vec![Vec::new(); class_count];
    for (i, &c) in classes.iter().enumerate() {
        groups[c].push(i);
    }
    let mut rng = Rng::new(seed);
    for group in &mut groups {
        // Fisher-Yates, from the back.
        for i in (1..group.len()).rev() {
            let j = rng.below(i + 1);
            group.swap(i, j);
        }
    }
    let total = classes.len();
    let mut quota: Vec<usize> = groups.iter().map(|g| n * g.len() / total).collect();
    let mut order: Vec<usize> = (0..class_count).collect();
    // Largest remainder n·size mod total first; a stable sort keeps ties in class order.
    order.sort_by_key(|&c| std::cmp::Reverse(n * groups[c].len() % total));
    let mut left = n - quota.iter().sum::<usize>();
    for &c in order.iter().cycle() {
        if left == 0 {
            break;
        }
        if quota[c] < groups[c].len() {
            quota[c] += 1;
            left -= 1;
        }
    }
    // A class with cells but no quota borrows one from the class with the most.
    for c in 0..class_count {
        if quota[c] == 0 && !groups[c].is_empty() {
            let richest = (0..class_count).max_by_key(|&k| (quota[k], std::cmp::Reverse(k)));
            if let Some(r) = richest.filter(|&r| quota[r] > 1) {
                quota[r] -= 1;
                quota[c] = 1;
            }
        }
    }
    let mut picked: Vec<usize> = groups
        .iter()
        .zip(&quota)
        .flat_map(|(g, &q)| g[..q].iter().copied())
        .collect();
    picked.sort_unstable();
    picked
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The classes of the Jiangxi calibration folder: 11, 25, 20 and 44 cells.
    fn jiangxi() -> Vec<usize> {
        [(0, 11), (1, 25), (2, 20), (3, 44)]
            .iter()
            .flat_map(|&(c, k)| std::iter::repeat_n(c, k))
            .collect()
    }

    fn per_class(classes: &[usize], picked: &[usize]) -> Vec<usize> {
        let mut counts = vec![0; 4];
        for &i in picked {
            counts[classes[i]] += 1;
        }
        counts
    }

    #[test]
    fn keeps_each_class_share_and_every_class() {
        let classes = jiangxi();
        assert_eq!(
            per_class(&classes, &stratified_subset(&classes, 50, 1)),
            [6, 12, 10, 22]
        );
        assert_eq!(
            per_class(&classes, &stratified_subset(&classes, 10, 1)),
            [1, 3, 2, 4]
        );
        // 4 cells: one of each class, however small its share.
        assert_eq!(
            per_class(&classes, &stratified_subset(&classes, 4, 1)),
            [1, 1, 1, 1]
        );
        assert_eq!(
            stratified_subset(&classes, 100, 1),
            (0..100).collect::<Vec<_>>()
        );
        assert_eq!(stratified_subset(&classes, 500, 1).len(), 100);
    }

    #[test]
    fn is_seeded_and_nested() {
        let classes = jiangxi();
        let a = stratified_subset(&classes, 25, 7);
        assert_eq!(a, stratified_subset(&classes, 25, 7));
        assert_ne!(a, stratified_subset(&classes, 25, 8));
        let small = stratified_subset(&classes, 10, 7);
        let large = stratified_subset(&classes, 50, 7);
        assert!(small.iter().all(|i| a.contains(i)), "{small:?} in {a:?}");
        assert!(a.iter().all(|i| large.contains(i)), "{a:?} in {large:?}");
        assert!(a.windows(2).all(|w| w[0] < w[1]));
    }
}
