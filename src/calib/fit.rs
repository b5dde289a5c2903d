//! Fitting a softmax head to reviewed cells, pulled toward the shipped head.
//!
//! The fit minimises, over the weights `W` and bias `b`,
//!
//! ```text
//! mean over cells of (mean over the cell's views of cross-entropy(softmax(W x + b), class))
//!     + λ/2 · ‖W − W₀‖² + λ/2 · ‖b − b₀‖²
//! ```
//!
//! where `W₀`, `b₀` are the shipped head. Each view is a sample, weighted so that every
//! cell counts once whatever its number of views.
//!
//! **Method: L-BFGS** (8 curvature pairs, backtracking Armijo line search), in f64, from
//! the shipped head. The objective is smooth and, for λ > 0, strongly convex, so it has
//! one minimum and L-BFGS reaches it in tens of iterations where fixed-step gradient
//! descent needs hundreds at small λ (its step must suit the largest curvature, the
//! embeddings' mean direction, while progress is limited by the smallest, λ). Newton's
//! method would need the `classes·(dim+1)`-square Hessian: 9 000² numbers for 7 classes
//! over 1280 dimensions. Every operation runs in a fixed order on one thread, so the same
//! input gives a bit-identical head.
//!
//! **Classes absent from the cells keep their shipped row and bias exactly.** With no
//! example of a class, the only thing the data says about its row is "lower it" (every
//! cell is some other class), and a calibration set without basophils is not evidence
//! that basophils never occur. Their probabilities still move through the other rows.

use thiserror::Error;

use super::head::{Head, HeadError, softmax_in_place};

/// One reviewed cell: its class (an index into the head's labels) and the embedding of
/// each of its orientation views.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledCell {
    /// Row of the head (label index) the reviewer gave the cell.
    pub class: usize,
    /// One embedding per orientation view, each as long as the head's dimension.
    pub views: Vec<Vec<f32>>,
}

/// Why cells cannot be fitted.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum FitError {
    /// No cells were given.
    #[error("no cells to calibrate from: put labelled cells in DIR/CLASS/ folders")]
    NoCells,
    /// Cross-validation needs at least two cells.
    #[error("{found} cell(s) cannot be cross-validated: at least {needed} are needed")]
    TooFewCells {
        /// Cells given.
        found: usize,
        /// Cells needed.
        needed: usize,
    },
    /// A cell's class is not a row of the head.
    #[error("cell {cell} has class {class}, but the head has {classes} classes")]
    ClassOutOfRange {
        /// Index of the cell.
        cell: usize,
        /// Its class.
        class: usize,
        /// Rows of the head.
        classes: usize,
    },
    /// A cell has no views.
    #[error("cell {cell} has no embedding")]
    NoViews {
        /// Index of the cell.
        cell: usize,
    },
    /// An embedding does not have the head's dimension.
    #[error("cell {cell} view {view} has {found} values, the head expects {expected}")]
    Dimension {
        /// Index of the cell.
        cell: usize,
        /// Index of the view.
        view: usize,
        /// The head's dimension.
        expected: usize,
        /// The embedding's length.
        found: usize,
    },
    /// An embedding holds NaN or infinity.
    #[error("cell {cell} view {view} holds a non-finite number (NaN or infinity)")]
    NonFinite {
        /// Index of the cell.
        cell: usize,
        /// Index of the view.
        view: usize,
    },
    /// The pull strength is not a positive finite number.
    #[error("the pull toward the shipped head must be positive and finite, got {0}")]
    BadLambda(f64),
    /// A fold or grid option is out of range.
    #[error("cross-validation options: {0}")]
    Options(String),
    /// The fitted numbers do not form a head (cannot happen with finite inputs).
    #[error(transparent)]
    Head(#[from] HeadError),
}

/// Iteration cap: a bound on the time of one fit, reached only when λ is tiny.
const MAX_ITERATIONS: usize = 400;
/// Curvature pairs kept by L-BFGS.
const HISTORY: usize = 8;
/// Stop when the gradient norm is this small relative to the embeddings' size (the
/// gradient of the data term is at most about `sqrt(2 · mean ‖x‖²)`).
const GRADIENT_TOLERANCE: f64 = 1e-7;
/// Armijo sufficient-decrease constant.
const ARMIJO: f64 = 1e-4;
/// Halvings of the step before the line search gives up (at the limit of f64 precision).
const MAX_HALVINGS: usize = 50;

/// Checks cells against the head: a known class, at least one view, the head's
/// dimension, finite numbers.
pub fn check_cells(head: &Head, cells: &[LabelledCell]) -> Result<(), FitError> {
    if cells.is_empty() {
        return Err(FitError::NoCells);
    }
    for (i, cell) in cells.iter().enumerate() {
        if cell.class >= head.classes() {
            return Err(FitError::ClassOutOfRange {
                cell: i,
                class: cell.class,
                classes: head.classes(),
            });
        }
        if cell.views.is_empty() {
            return Err(FitError::NoViews { cell: i });
        }
        for (v, view) in cell.views.iter().enumerate() {
            if view.len() != head.dim() {
                return Err(FitError::Dimension {
                    cell: i,
                    view: v,
                    expected: head.dim(),
                    found: view.len(),
                });
            }
            if !view.iter().all(|x| x.is_finite()) {
                return Err(FitError::NonFinite { cell: i, view: v });
            }
        }
    }
    Ok(())
}

/// The natural scale of λ for these cells: the mean over views of `‖x‖² + 1` (the 1
/// for the bias). A pull of `strength · scale` changes the answers the same way whatever
/// the embeddings' units, so the cross-validation grid is given in strengths.
pub fn lambda_scale(cells: &[LabelledCell]) -> f64 {
    let mut sum = 0.0;
    let mut n = 0usize;
    for view in cells.iter().flat_map(|c| &c.views) {
        sum += view
            .iter()
            .map(|&x| f64::from(x) * f64::from(x))
            .sum::<f64>()
            + 1.0;
        n += 1;
    }
    if n == 0 { 1.0 } else { sum / n as f64 }
}

/// Fits a head to `cells` with pull `lambda` toward `shipped` (see the module
/// documentation). Deterministic: the same input gives a bit-identical head.
pub fn fit_head(shipped: &Head, cells: &[LabelledCell], lambda: f64) -> Result<Head, FitError> {
    check_cells(shipped, cells)?;
    let problem = Problem::new(shipped, cells.iter())?;
    let theta = problem.solve(&problem.shipped, lambda)?;
    problem.to_head(&theta)
}

/// A fitting problem: the samples of some cells, flattened, and the shipped head as the
/// parameter vector `θ₀`. Parameters are laid out per class as `[w_c (dim values), b_c]`.
pub(crate) struct Problem<'a> {
    head: &'a Head,
    /// `dim + 1`: a row of θ.
    stride: usize,
    /// Samples x dim embeddings, in f64.
    x: Vec<f64>,
    class: Vec<usize>,
    /// Per sample: 1 / (views of its cell · cells).
    weight: Vec<f64>,
    /// Whether each class has cells here (absent classes stay at the shipped row).
    free: Vec<bool>,
    /// θ₀, the shipped head.
    pub(crate) shipped: Vec<f64>,
    /// Gradient norm under which the fit has converged.
    tolerance: f64,
}

impl<'a> Problem<'a> {
    /// The problem for `cells`, which must have passed [`check_cells`].
    pub(crate) fn new<'c>(
        head: &'a Head,
        cells: impl Iterator<Item = &'c LabelledCell> + Clone,
    ) -> Result<Self, FitError> {
        let dim = head.dim();
        let n_cells = cells.clone().count();
        if n_cells == 0 {
            return Err(FitError::NoCells);
        }
        let mut x = Vec::new();
        let mut class = Vec::new();
        let mut weight = Vec::new();
        let mut free = vec![false; head.classes()];
        let mut norm_sum = 0.0;
        for cell in cells {
            free[cell.class] = true;
            let w = 1.0 / (cell.views.len() as f64 * n_cells as f64);
            for view in &cell.views {
                x.extend(view.iter().map(|&v| f64::from(v)));
                norm_sum += view.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() + 1.0;
                class.push(cell.class);
                weight.push(w);
            }
        }
        let samples = class.len();
        let mut shipped = Vec::with_capacity(head.classes() * (dim + 1));
        for c in 0..head.classes() {
            shipped.extend(head.row(c).iter().map(|&w| f64::from(w)));
            shipped.push(f64::from(head.bias()[c]));
        }
        Ok(Self {
            head,
            stride: dim + 1,
            x,
            class,
            weight,
            free,
            shipped,
            tolerance: GRADIENT_TOLERANCE * (norm_sum / samples as f64).sqrt(),
        })
    }

    /// The minimiser for pull `lambda`, by L-BFGS from `start` (θ₀, or the minimiser for
    /// a nearby λ, which saves iterations along a grid).
    pub(crate) fn solve(&self, start: &[f64], lambda: f64) -> Result<Vec<f64>, FitError> {
        if !(lambda.is_finite() && lambda > 0.0) {
            return Err(FitError::BadLambda(lambda));
        }
        let n = self.shipped.len();
        let mut theta = start.to_vec();
        // Absent classes are pinned to the shipped row whatever the start.
        for c in (0..self.head.classes()).filter(|&c| !self.free[c]) {
            let row = c * self.stride..(c + 1) * self.stride;
            theta[row.clone()].copy_from_slice(&self.shipped[row]);
        }
        let mut grad = vec![0.0; n];
        let mut f = self.objective(&theta, lambda, &mut grad);
        let mut history: Vec<(Vec<f64>, Vec<f64>, f64)> = Vec::with_capacity(HISTORY);
        let mut trial = vec![0.0; n];
        let mut trial_grad = vec![0.0; n];
        let mut iterations = 0;
        while iterations < MAX_ITERATIONS {
            let gnorm = norm(&grad);
            if gnorm <= self.tolerance {
                break;
            }
            iterations += 1;
            let mut direction = two_loop(&grad, &history);
            let mut slope = dot(&direction, &grad);
            if slope >= 0.0 {
                // Not a descent direction (rounding): restart from steepest descent.
                history.clear();
                direction = grad.iter().map(|g| -g).collect();
                slope = -gnorm * gnorm;
            }
            // Without curvature pairs the direction has the gradient's size: the first
            // trial step is then capped to a unit move.
            let mut step = if history.is_empty() {
                (1.0 / gnorm).min(1.0)
            } else {
                1.0
            };
            let mut accepted = None;
            for _ in 0..MAX_HALVINGS {
                for i in 0..n {
                    trial[i] = theta[i] + step * direction[i];
                }
                let ft = self.objective(&trial, lambda, &mut trial_grad);
                if ft <= f + ARMIJO * step * slope {
                    accepted = Some(ft);
                    break;
                }
                step *= 0.5;
            }
            let Some(f_new) = accepted else {
                break; // No decrease left at f64 precision: converged as far as it goes.
            };
            let s: Vec<f64> = (0..n).map(|i| trial[i] - theta[i]).collect();
            let y: Vec<f64> = (0..n).map(|i| trial_grad[i] - grad[i]).collect();
            let sy = dot(&s, &y);
            // Strong convexity makes s·y ≥ λ‖s‖² > 0; the check guards rounding only.
            if sy > 0.0 {
                if history.len() == HISTORY {
                    history.remove(0);
                }
                history.push((s, y, 1.0 / sy));
            }
            std::mem::swap(&mut theta, &mut trial);
            std::mem::swap(&mut grad, &mut trial_grad);
            let decrease = f - f_new;
            f = f_new;
            if decrease <= 1e-15 * f.abs().max(1.0) {
                break;
            }
        }
        log::debug!(
            "fit: λ {lambda:.3e}, {} samples, {iterations} iterations, objective {f:.6}, gradient {:.2e}",
            self.class.len(),
            norm(&grad)
        );
        Ok(theta)
    }

    /// The objective at `theta`, writing its gradient into `grad`.
    fn objective(&self, theta: &[f64], lambda: f64, grad: &mut [f64]) -> f64 {
        let dim = self.stride - 1;
        let classes = self.head.classes();
        grad.fill(0.0);
        let mut scores = vec![0.0; classes];
        let mut loss = 0.0;
        for (i, x) in self.x.chunks_exact(dim).enumerate() {
            for (c, score) in scores.iter_mut().enumerate() {
                let row = &theta[c * self.stride..(c + 1) * self.stride];
                *score = dot(&row[..dim], x) + row[dim];
            }
            let truth = self.class[i];
            let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let log_sum = max + scores.iter().map(|s| (s - max).exp()).sum::<f64>().ln();
            let w = self.weight[i];
            loss += w * (log_sum - scores[truth]);
            softmax_in_place(&mut scores);
            for (c, p) in scores.iter().enumerate() {
                if !self.free[c] {
                    continue;
                }
                let r = w * (p - if c == truth { 1.0 } else { 0.0 });
                let g = &mut grad[c * self.stride..(c + 1) * self.stride];
                for (gj, xj) in g[..dim].iter_mut().zip(x) {
                    *gj += r * xj;
                }
                g[dim] += r;
            }
        }
        let mut penalty = 0.0;
        for c in (0..classes).filter(|&c| self.free[c]) {
            let row = c * self.stride..(c + 1) * self.stride;
            for ((g, t), t0) in grad[row.clone()]
                .iter_mut()
                .zip(&theta[row.clone()])
                .zip(&self.shipped[row])
            {
                let d = t - t0;
                penalty += d * d;
                *g += lambda * d;
            }
        }
        loss + 0.5 * lambda * penalty
    }

    /// The head with parameters `theta`, rounded to f32.
    pub(crate) fn to_head(&self, theta: &[f64]) -> Result<Head, FitError> {
        let dim = self.stride - 1;
        let mut weights = Vec::with_capacity(self.head.classes() * dim);
        let mut bias = Vec::with_capacity(self.head.classes());
        for row in theta.chunks_exact(self.stride) {
            weights.extend(row[..dim].iter().map(|&w| w as f32));
            bias.push(row[dim] as f32);
        }
        Ok(Head::new(self.head.labels().to_vec(), dim, weights, bias)?)
    }
}

/// L-BFGS two-loop recursion: the quasi-Newton direction `-H·grad`, with the initial
/// inverse Hessian scaled by the latest pair's `s·y / y·y`.
fn two_loop(grad: &[f64], history: &[(Vec<f64>, Vec<f64>, f64)]) -> Vec<f64> {
    let mut q = grad.to_vec();
    let mut alphas = vec![0.0; history.len()];
    for (k, (s, y, rho)) in history.iter().enumerate().rev() {
        let a = rho * dot(s, &q);
        alphas[k] = a;
        for (qi, yi) in q.iter_mut().zip(y) {
            *qi -= a * yi;
        }
    }
    if let Some((s, y, _)) = history.last() {
        let gamma = dot(s, y) / dot(y, y);
        for qi in &mut q {
            *qi *= gamma;
        }
    }
    for (k, (s, y, rho)) in history.iter().enumerate() {
        let b = rho * dot(y, &q);
        for (qi, si) in q.iter_mut().zip(s) {
            *qi += (alphas[k] - b) * si;
        }
    }
    for qi in &mut q {
        *qi = -*qi;
    }
    q
}

/// Dot product with four running sums, in a fixed order (deterministic) that the compiler
/// can keep in vector registers.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..4 {
            acc[k] += x[k] * y[k];
        }
    }
    let mut sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (x, y) in ra.iter().zip(rb) {
        sum += x * y;
    }
    sum
}

fn norm(v: &[f64]) -> f64 {
    dot(v, v).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calib::head::argmax;
    use crate::calib::synthetic::{Rng, cells, labels, point, random_head};

    /// Weights with each column's mean over classes removed: the softmax ignores a shift
    /// common to all classes, so only these are determined by the data.
    fn centred(head: &Head) -> Vec<f64> {
        let (k, d) = (head.classes(), head.dim());
        let mut out = Vec::with_capacity(k * d);
        for c in 0..k {
            for j in 0..d {
                let mean = (0..k).map(|r| f64::from(head.row(r)[j])).sum::<f64>() / k as f64;
                out.push(f64::from(head.row(c)[j]) - mean);
            }
        }
        out
    }

    fn bits(head: &Head) -> Vec<u32> {
        head.weights()
            .iter()
            .chain(head.bias())
            .map(|v| v.to_bits())
            .collect()
    }

    #[test]
    fn recovers_a_known_linear_head() {
        let mut rng = Rng::new(7);
        let truth = random_head(&mut rng, 4, 8, 1.5);
        let shipped = random_head(&mut rng, 4, 8, 1.5);
        // Classes drawn from the true head's probabilities: the maximum-likelihood head
        // is then the true one, up to sampling error.
        let data = cells(&mut rng, &truth, 4000, 1, 0.0, true);
        let fitted = fit_head(&shipped, &data, 1e-6).unwrap();

        let (t, f, s) = (centred(&truth), centred(&fitted), centred(&shipped));
        let dist = |a: &[f64], b: &[f64]| {
            a.iter()
                .zip(b)
                .map(|(x, y)| (x - y).powi(2))
                .sum::<f64>()
                .sqrt()
        };
        let size = dist(&t, &vec![0.0; t.len()]);
        assert!(
            dist(&f, &t) < 0.12 * size,
            "fitted {} from truth of size {size}",
            dist(&f, &t)
        );
        assert!(
            dist(&s, &t) > 0.8 * size,
            "the shipped head must start far off"
        );

        let (mut agree, mut shipped_agree) = (0, 0);
        for _ in 0..2000 {
            let x = point(&mut rng, 8, 0.0);
            let want = argmax(&truth.probabilities(&x).unwrap());
            agree += usize::from(argmax(&fitted.probabilities(&x).unwrap()) == want);
            shipped_agree += usize::from(argmax(&shipped.probabilities(&x).unwrap()) == want);
        }
        assert!(
            agree >= 1900,
            "fitted head agrees with the truth on {agree}/2000"
        );
        assert!(
            shipped_agree < 1200,
            "shipped head agrees on {shipped_agree}/2000"
        );
    }

    #[test]
    fn a_huge_pull_gives_the_shipped_head() {
        let mut rng = Rng::new(11);
        let truth = random_head(&mut rng, 3, 5, 1.0);
        let mut shipped = random_head(&mut rng, 3, 5, 1.0);
        shipped = Head::new(
            shipped.labels().to_vec(),
            5,
            shipped.weights().to_vec(),
            vec![0.5, -0.25, 0.125],
        )
        .unwrap();
        let data = cells(&mut rng, &truth, 60, 2, 0.1, false);
        let fitted = fit_head(&shipped, &data, 1e12).unwrap();
        for (a, b) in fitted
            .weights()
            .iter()
            .chain(fitted.bias())
            .zip(shipped.weights().iter().chain(shipped.bias()))
        {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
        // A moderate pull does move it, so the comparison above could fail.
        let moved = fit_head(&shipped, &data, 1e-2).unwrap();
        let change: f32 = moved
            .weights()
            .iter()
            .zip(shipped.weights())
            .map(|(a, b)| (a - b).abs())
            .sum();
        assert!(change > 0.1, "{change}");
    }

    #[test]
    fn the_same_cells_give_a_bit_identical_head() {
        let mut rng = Rng::new(3);
        let truth = random_head(&mut rng, 4, 12, 1.0);
        let shipped = random_head(&mut rng, 4, 12, 0.5);
        let data = cells(&mut rng, &truth, 80, 4, 0.3, true);
        let a = fit_head(&shipped, &data, 1e-3).unwrap();
        let b = fit_head(&shipped, &data.clone(), 1e-3).unwrap();
        assert_eq!(bits(&a), bits(&b));
        assert_ne!(bits(&a), bits(&shipped));
    }

    #[test]
    fn absent_classes_keep_their_shipped_rows_exactly() {
        let mut rng = Rng::new(5);
        let truth = random_head(&mut rng, 4, 6, 1.0);
        let shipped = random_head(&mut rng, 4, 6, 1.0);
        let data: Vec<_> = cells(&mut rng, &truth, 200, 1, 0.0, false)
            .into_iter()
            .filter(|c| c.class != 2)
            .collect();
        assert!(data.len() > 100);
        let fitted = fit_head(&shipped, &data, 1e-4).unwrap();
        assert_eq!(fitted.row(2), shipped.row(2));
        assert_eq!(fitted.bias()[2], shipped.bias()[2]);
        assert_ne!(fitted.row(1), shipped.row(1));
    }

    #[test]
    fn every_cell_counts_once_whatever_its_views() {
        let mut rng = Rng::new(9);
        let truth = random_head(&mut rng, 3, 4, 1.0);
        let shipped = random_head(&mut rng, 3, 4, 1.0);
        let one = cells(&mut rng, &truth, 50, 1, 0.0, true);
        // The same cells, one of them seen 8 times: it must not weigh 8 times more.
        let mut eight = one.clone();
        eight[0].views = vec![eight[0].views[0].clone(); 8];
        let a = fit_head(&shipped, &one, 1e-2).unwrap();
        let b = fit_head(&shipped, &eight, 1e-2).unwrap();
        for (x, y) in a.weights().iter().zip(b.weights()) {
            assert!((x - y).abs() < 1e-4, "{x} vs {y}");
        }
    }

    #[test]
    fn refuses_cells_that_do_not_fit_the_head() {
        let head = Head::new(labels(2), 2, vec![0.0; 4], vec![0.0; 2]).unwrap();
        let cell = |class, views: Vec<Vec<f32>>| LabelledCell { class, views };
        assert_eq!(fit_head(&head, &[], 1.0), Err(FitError::NoCells));
        assert!(matches!(
            fit_head(&head, &[cell(2, vec![vec![0.0, 0.0]])], 1.0),
            Err(FitError::ClassOutOfRange { class: 2, .. })
        ));
        assert_eq!(
            fit_head(&head, &[cell(0, vec![])], 1.0),
            Err(FitError::NoViews { cell: 0 })
        );
        assert!(matches!(
            fit_head(&head, &[cell(0, vec![vec![0.0, 0.0], vec![0.0]])], 1.0),
            Err(FitError::Dimension {
                view: 1,
                found: 1,
                ..
            })
        ));
        assert_eq!(
            fit_head(&head, &[cell(1, vec![vec![0.0, f32::NAN]])], 1.0),
            Err(FitError::NonFinite { cell: 0, view: 0 })
        );
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                fit_head(&head, &[cell(0, vec![vec![1.0, 0.0]])], bad),
                Err(FitError::BadLambda(_))
            ));
        }
    }

    #[test]
    fn lambda_scale_is_the_mean_squared_norm_plus_one() {
        let cells = [
            LabelledCell {
                class: 0,
                views: vec![vec![3.0, 4.0], vec![0.0, 0.0]],
            },
            LabelledCell {
                class: 1,
                views: vec![vec![1.0, 0.0]],
            },
        ];
        assert!((lambda_scale(&cells) - (26.0 + 1.0 + 2.0) / 3.0).abs() < 1e-12);
    }
}
