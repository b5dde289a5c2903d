//! Cross-validation on the reviewed cells: it chooses the pull toward the shipped head,
//! measures the shipped and the fitted head on cells they were not fitted to, and guards
//! against writing a head that does worse than the shipped one.
//!
//! Folds are made of whole cells (all views of a cell are in one fold, so a head is never
//! scored on another view of a cell it was fitted to), stratified by class and
//! deterministic: cells are taken class by class in the order given and dealt to the
//! folds in turn. A cell's answer is the mean of its views' probabilities, as in the
//! daemon.
//!
//! The fitted head's cross-validated accuracy is that of the λ the cross-validation
//! chose, so it is slightly optimistic (the choice saw the same folds); with a grid of a
//! few values the bias is small, and [`decide`] requires the fitted head to be at least
//! as good, never merely close.

use std::fmt;

use thiserror::Error;

use super::fit::{FitError, LabelledCell, Problem, check_cells, lambda_scale};
use super::head::{Head, argmax, softmax_in_place};

/// Pull strengths tried by default, strongest first, as multiples of
/// [`lambda_scale`]: from "barely moves the shipped head" (1) to "follows the cells
/// closely" (10⁻⁴).
pub const DEFAULT_STRENGTHS: [f64; 5] = [1.0, 1e-1, 1e-2, 1e-3, 1e-4];

/// Folds by default.
pub const DEFAULT_FOLDS: usize = 5;

/// How to cross-validate.
#[derive(Debug, Clone, PartialEq)]
pub struct CvOptions {
    /// Number of folds, at least 2 (fewer cells than folds: one fold per cell).
    pub folds: usize,
    /// Pull strengths to try, as multiples of [`lambda_scale`]; positive and finite.
    pub strengths: Vec<f64>,
}

impl Default for CvOptions {
    fn default() -> Self {
        Self {
            folds: DEFAULT_FOLDS,
            strengths: DEFAULT_STRENGTHS.to_vec(),
        }
    }
}

/// Cells and cells answered right for one class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassTally {
    /// The class label.
    pub label: String,
    /// Reviewed cells of this class.
    pub cells: usize,
    /// Of those, cells whose answer was this class.
    pub correct: usize,
}

impl ClassTally {
    /// `correct / cells`, `None` without cells.
    pub fn accuracy(&self) -> Option<f64> {
        (self.cells > 0).then(|| self.correct as f64 / self.cells as f64)
    }
}

/// Accuracy per class (in the head's label order) and overall, counted in cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accuracy {
    /// One tally per label of the head.
    pub per_class: Vec<ClassTally>,
}

impl Accuracy {
    fn empty(labels: &[String]) -> Self {
        Self {
            per_class: labels
                .iter()
                .map(|l| ClassTally {
                    label: l.clone(),
                    cells: 0,
                    correct: 0,
                })
                .collect(),
        }
    }

    /// All cells.
    pub fn cells(&self) -> usize {
        self.per_class.iter().map(|t| t.cells).sum()
    }

    /// Cells answered right.
    pub fn correct(&self) -> usize {
        self.per_class.iter().map(|t| t.correct).sum()
    }

    /// `correct / cells` over all cells (0 without cells).
    pub fn overall(&self) -> f64 {
        match self.cells() {
            0 => 0.0,
            n => self.correct() as f64 / n as f64,
        }
    }
}

impl fmt::Display for Accuracy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{} cells ({:.1}%)",
            self.correct(),
            self.cells(),
            100.0 * self.overall()
        )
    }
}

/// One pull strength tried by the cross-validation.
#[derive(Debug, Clone, PartialEq)]
pub struct GridPoint {
    /// Multiple of [`lambda_scale`].
    pub strength: f64,
    /// The λ it gives on these cells.
    pub lambda: f64,
    /// Cross-validated accuracy of heads fitted with it.
    pub accuracy: Accuracy,
    /// Cross-validated mean over cells of `-ln p(true class)`, the tie-breaker.
    pub log_loss: f64,
}

/// The result of [`calibrate`]: the head fitted to all cells with the chosen λ, and the
/// figures that justify it.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// The new head.
    pub head: Head,
    /// The chosen pull strength (multiple of [`lambda_scale`]).
    pub strength: f64,
    /// The chosen λ.
    pub lambda: f64,
    /// Folds used.
    pub folds: usize,
    /// The shipped head on the cells (it is not fitted, so every fold scores it alike).
    pub before: Accuracy,
    /// The fitted head, cross-validated, at the chosen λ.
    pub after: Accuracy,
    /// Every strength tried, strongest first.
    pub grid: Vec<GridPoint>,
}

/// The fold of each cell: cells are taken class by class (classes in index order, cells
/// in the order given) and dealt to folds `0, 1, …, folds-1, 0, …`, so every class is
/// spread as evenly as it can be and the fold sizes differ by at most one.
pub fn assign_folds(classes: &[usize], folds: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..classes.len()).collect();
    order.sort_by_key(|&i| classes[i]); // stable: keeps the given order within a class
    let mut fold = vec![0; classes.len()];
    for (turn, &cell) in order.iter().enumerate() {
        fold[cell] = turn % folds.max(1);
    }
    fold
}

/// Cross-validates every strength of `options` on `cells`, chooses the one with the most
/// cells right (ties: the lower log-loss, then the stronger pull), fits the head to all
/// cells with it and reports before and after. `progress(done, total)` is called after
/// each fit, for a progress bar.
///
/// Pure and deterministic: no I/O, no clock, no threads.
pub fn calibrate(
    shipped: &Head,
    cells: &[LabelledCell],
    options: &CvOptions,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Calibration, FitError> {
    check_cells(shipped, cells)?;
    if options.folds < 2 {
        return Err(FitError::Options(format!(
            "at least 2 folds are needed, got {}",
            options.folds
        )));
    }
    if options.strengths.is_empty() || !options.strengths.iter().all(|s| s.is_finite() && *s > 0.0)
    {
        return Err(FitError::Options(format!(
            "strengths must be positive and finite, got {:?}",
            options.strengths
        )));
    }
    if cells.len() < 2 {
        return Err(FitError::TooFewCells {
            found: cells.len(),
            needed: 2,
        });
    }
    let folds = options.folds.min(cells.len());
    let mut strengths = options.strengths.clone();
    strengths.sort_by(|a, b| b.total_cmp(a));
    strengths.dedup();
    let scale = lambda_scale(cells);
    let labels = shipped.labels();

    let mut before = Accuracy::empty(labels);
    for cell in cells {
        let p = cell_probabilities(shipped, cell)?;
        tally(&mut before, cell.class, &p);
    }

    let fold_of = assign_folds(&cells.iter().map(|c| c.class).collect::<Vec<_>>(), folds);
    let total = folds * strengths.len() + 1;
    let mut done = 0;
    let mut grid: Vec<GridPoint> = strengths
        .iter()
        .map(|&strength| GridPoint {
            strength,
            lambda: strength * scale,
            accuracy: Accuracy::empty(labels),
            log_loss: 0.0,
        })
        .collect();
    for fold in 0..folds {
        let train = cells
            .iter()
            .zip(&fold_of)
            .filter(|(_, f)| **f != fold)
            .map(|(c, _)| c);
        let problem = Problem::new(shipped, train)?;
        // Strongest pull first, each fit starting from the previous one's minimum.
        let mut theta = problem.shipped.clone();
        for point in &mut grid {
            theta = problem.solve(&theta, point.lambda)?;
            let head = problem.to_head(&theta)?;
            for (cell, _) in cells.iter().zip(&fold_of).filter(|(_, f)| **f == fold) {
                let p = cell_probabilities(&head, cell)?;
                tally(&mut point.accuracy, cell.class, &p);
                point.log_loss -= p[cell.class].max(f64::MIN_POSITIVE).ln() / cells.len() as f64;
            }
            done += 1;
            progress(done, total);
        }
    }
    for point in &grid {
        log::info!(
            "calibration: strength {:.0e} (λ {:.3e}): {}, log-loss {:.4}",
            point.strength,
            point.lambda,
            point.accuracy,
            point.log_loss
        );
    }
    let mut best = 0;
    for (i, point) in grid.iter().enumerate().skip(1) {
        let chosen = &grid[best];
        let more = point.accuracy.correct() > chosen.accuracy.correct();
        let tie_better = point.accuracy.correct() == chosen.accuracy.correct()
            && point.log_loss < chosen.log_loss;
        if more || tie_better {
            best = i;
        }
    }
    let chosen = grid[best].clone();
    let problem = Problem::new(shipped, cells.iter())?;
    let theta = problem.solve(&problem.shipped, chosen.lambda)?;
    let head = problem.to_head(&theta)?;
    progress(total, total);
    Ok(Calibration {
        head,
        strength: chosen.strength,
        lambda: chosen.lambda,
        folds,
        before,
        after: chosen.accuracy,
        grid,
    })
}

/// A cell's mean view probabilities in f64 (the log-loss needs more range than f32).
fn cell_probabilities(head: &Head, cell: &LabelledCell) -> Result<Vec<f64>, FitError> {
    let mut sum = vec![0.0; head.classes()];
    for view in &cell.views {
        let mut p = head.logits(view)?;
        softmax_in_place(&mut p);
        for (s, q) in sum.iter_mut().zip(&p) {
            *s += q;
        }
    }
    let n = cell.views.len() as f64;
    Ok(sum.into_iter().map(|s| s / n).collect())
}

fn tally(accuracy: &mut Accuracy, class: usize, p: &[f64]) {
    let answer = argmax(&p.iter().map(|&q| q as f32).collect::<Vec<_>>());
    let t = &mut accuracy.per_class[class];
    t.cells += 1;
    t.correct += usize::from(answer == class);
}

/// Why a calibration was not written: its cross-validated accuracy is below the shipped
/// head's.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub struct CalibrationRefused {
    /// The shipped head.
    pub before: Accuracy,
    /// The fitted head, cross-validated.
    pub after: Accuracy,
}

impl CalibrationRefused {
    /// What cross-validation found, without advice: the accuracies, and the classes the
    /// new head does worse on (the station and the CLI advise differently).
    pub fn findings(&self) -> String {
        let mut text = format!(
            "calibration refused: in cross-validation the new head answers {} right, \
             the shipped head {}",
            self.after, self.before
        );
        let worse: Vec<String> = self
            .before
            .per_class
            .iter()
            .zip(&self.after.per_class)
            .filter(|(b, a)| a.correct < b.correct)
            .map(|(b, a)| format!("{} {}/{} (was {})", b.label, a.correct, a.cells, b.correct))
            .collect();
        if !worse.is_empty() {
            text.push_str(&format!("; worse on {}", worse.join(", ")));
        }
        text
    }
}

impl fmt::Display for CalibrationRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}. The shipped head stays in use. Review more cells (a few dozen of each class), \
             check that each folder holds only its class, and calibrate again; or pass \
             --force to write it anyway",
            self.findings()
        )
    }
}

/// The guard: a head whose cross-validated accuracy (`after`, cells right) is below the
/// shipped head's (`before`) is refused unless `force`; as good or better passes.
pub fn decide(before: &Accuracy, after: &Accuracy, force: bool) -> Result<(), CalibrationRefused> {
    // Compared as fractions, cross-multiplied so that no rounding decides.
    if after.correct() * before.cells() >= before.correct() * after.cells() {
        return Ok(());
    }
    let refused = CalibrationRefused {
        before: before.clone(),
        after: after.clone(),
    };
    if force {
        log::warn!("writing it anyway (--force): {refused}");
        return Ok(());
    }
    Err(refused)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calib::synthetic::{Rng, cells, labels, random_head};

    fn accuracy(tallies: &[(usize, usize)]) -> Accuracy {
        Accuracy {
            per_class: tallies
                .iter()
                .enumerate()
                .map(|(i, &(cells, correct))| ClassTally {
                    label: format!("CLASS{i}"),
                    cells,
                    correct,
                })
                .collect(),
        }
    }

    fn quiet(_: usize, _: usize) {}

    #[test]
    fn folds_are_stratified_balanced_and_deterministic() {
        let classes = [2, 0, 0, 1, 0, 2, 0, 0, 1, 2, 0, 3];
        let folds = assign_folds(&classes, 3);
        assert_eq!(folds, assign_folds(&classes, 3));
        // Class 0 (cells 1, 2, 4, 6, 7, 10) is dealt first, in the order given.
        assert_eq!(
            [folds[1], folds[2], folds[4], folds[6], folds[7], folds[10]],
            [0, 1, 2, 0, 1, 2]
        );
        for class in 0..4 {
            let mut per_fold = [0usize; 3];
            for (c, f) in classes.iter().zip(&folds) {
                if *c == class {
                    per_fold[*f] += 1;
                }
            }
            let (lo, hi) = (
                per_fold.iter().min().unwrap(),
                per_fold.iter().max().unwrap(),
            );
            assert!(hi - lo <= 1, "class {class}: {per_fold:?}");
        }
        let sizes: Vec<usize> = (0..3)
            .map(|f| folds.iter().filter(|&&x| x == f).count())
            .collect();
        assert_eq!(sizes, [4, 4, 4]);
    }

    #[test]
    fn folds_hold_out_whole_cells() {
        // Labels unrelated to the embeddings, each cell seen in 8 near-identical views.
        // A weakly pulled head memorises the cells it is fitted to; were the views of
        // one cell split between folds, it would "recognise" held-out views too.
        let mut rng = Rng::new(21);
        let shipped = Head::new(labels(4), 24, vec![0.0; 96], vec![0.0; 4]).unwrap();
        let truth = random_head(&mut rng, 4, 24, 1.0);
        let mut data = cells(&mut rng, &truth, 60, 8, 0.01, false);
        for cell in &mut data {
            cell.class = rng.below(4);
        }
        let options = CvOptions {
            folds: 5,
            strengths: vec![1e-5],
        };
        let result = calibrate(&shipped, &data, &options, &mut quiet).unwrap();
        let fitted_right = data
            .iter()
            .filter(|c| argmax(&result.head.cell_probabilities(&c.views).unwrap()) == c.class)
            .count();
        assert!(
            fitted_right >= 55,
            "memorised {fitted_right}/60 of the cells it saw"
        );
        assert!(
            result.after.overall() < 0.5,
            "cross-validated {} on random labels",
            result.after
        );
    }

    #[test]
    fn calibration_repairs_a_biased_head_and_passes_the_guard() {
        let mut rng = Rng::new(4);
        let truth = random_head(&mut rng, 4, 16, 0.8);
        // The shipped head is the truth with a strong bias toward class 0: a microscope
        // whose colours make every cell look a little like that class.
        let shipped = Head::new(
            labels(4),
            16,
            truth.weights().to_vec(),
            vec![4.0, 0.0, 0.0, 0.0],
        )
        .unwrap();
        let data = cells(&mut rng, &truth, 100, 8, 0.2, false);
        let mut calls = Vec::new();
        let result = calibrate(&shipped, &data, &CvOptions::default(), &mut |d, t| {
            calls.push((d, t))
        })
        .unwrap();
        assert_eq!(calls.len(), 5 * 5 + 1);
        assert_eq!(calls.last(), Some(&(26, 26)));
        assert_eq!(result.folds, 5);
        assert_eq!(result.grid.len(), 5);
        assert_eq!(result.before.cells(), 100);
        assert!(
            result.after.correct() >= result.before.correct() + 15,
            "{} vs {}",
            result.after,
            result.before
        );
        assert!((result.lambda - result.strength * lambda_scale(&data)).abs() < 1e-12);
        assert!(decide(&result.before, &result.after, false).is_ok());
        // On new cells from the same microscope the fitted head does clearly better.
        let fresh = cells(&mut rng, &truth, 1000, 8, 0.2, false);
        let right = |head: &Head| {
            fresh
                .iter()
                .filter(|c| argmax(&head.cell_probabilities(&c.views).unwrap()) == c.class)
                .count()
        };
        let (fitted, shipped_right) = (right(&result.head), right(&shipped));
        assert!(
            fitted >= shipped_right + 100,
            "{fitted} vs {shipped_right} of 1000"
        );
        // Deterministic: the same cells give the same calibration.
        let again = calibrate(&shipped, &data, &CvOptions::default(), &mut quiet).unwrap();
        assert_eq!(again, result);
    }

    #[test]
    fn the_guard_refuses_a_head_fitted_to_scrambled_labels() {
        let mut rng = Rng::new(8);
        let truth = random_head(&mut rng, 4, 32, 1.0);
        let mut data = cells(&mut rng, &truth, 40, 4, 0.1, false);
        // Half the reviewed labels are scrambled: the shipped (true) head gets about
        // 60% of them right, a head that follows them closely does worse elsewhere.
        for cell in data.iter_mut().step_by(2) {
            cell.class = (cell.class + 1 + rng.below(3)) % 4;
        }
        let options = CvOptions {
            folds: 5,
            strengths: vec![1e-4],
        };
        let result = calibrate(&truth, &data, &options, &mut quiet).unwrap();
        assert!(result.after.correct() < result.before.correct());
        let refused = decide(&result.before, &result.after, false).unwrap_err();
        let message = refused.to_string();
        assert!(message.contains("--force"), "{message}");
        assert!(message.contains("more cells"), "{message}");
        assert!(message.contains("shipped head stays in use"), "{message}");
        assert!(decide(&result.before, &result.after, true).is_ok());
    }

    #[test]
    fn decide_compares_cells_right_and_names_the_classes_that_got_worse() {
        let before = accuracy(&[(10, 8), (10, 9)]);
        assert!(decide(&before, &accuracy(&[(10, 8), (10, 9)]), false).is_ok());
        assert!(decide(&before, &accuracy(&[(10, 10), (10, 7)]), false).is_ok());
        let refused = decide(&before, &accuracy(&[(10, 9), (10, 7)]), false).unwrap_err();
        let message = refused.to_string();
        assert!(message.contains("16/20 cells (80.0%)"), "{message}");
        assert!(message.contains("17/20 cells (85.0%)"), "{message}");
        assert!(
            message.contains("worse on CLASS1 7/10 (was 9)"),
            "{message}"
        );
        assert!(!message.contains("CLASS0 9/10"), "{message}");
        assert!(decide(&before, &accuracy(&[(10, 0), (10, 0)]), true).is_ok());
    }

    #[test]
    fn refuses_unusable_options_and_too_few_cells() {
        let mut rng = Rng::new(1);
        let head = random_head(&mut rng, 2, 3, 1.0);
        let data = cells(&mut rng, &head, 10, 1, 0.0, false);
        let bad = |folds, strengths: Vec<f64>| {
            calibrate(&head, &data, &CvOptions { folds, strengths }, &mut quiet)
        };
        assert!(matches!(bad(1, vec![1.0]), Err(FitError::Options(_))));
        assert!(matches!(bad(5, vec![]), Err(FitError::Options(_))));
        assert!(matches!(bad(5, vec![0.0]), Err(FitError::Options(_))));
        assert!(matches!(
            calibrate(&head, &data[..1], &CvOptions::default(), &mut quiet),
            Err(FitError::TooFewCells {
                found: 1,
                needed: 2
            })
        ));
        // Fewer cells than folds: one cell per fold.
        let three = calibrate(&head, &data[..3], &CvOptions::default(), &mut quiet).unwrap();
        assert_eq!(three.folds, 3);
    }
}
