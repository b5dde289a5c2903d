//! A softmax classification head: the last layer of the model, applied in Rust to the
//! model's pooled embedding.

use thiserror::Error;

/// Why a head cannot be built or applied.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum HeadError {
    /// The arrays do not have the shapes the labels and dimension call for.
    #[error("head shape: {0}")]
    Shape(String),
    /// A weight or bias is NaN or infinite.
    #[error("head {what} holds a non-finite number (NaN or infinity)")]
    NonFinite {
        /// `weights` or `bias`.
        what: &'static str,
    },
    /// An embedding of the wrong length was given.
    #[error("embedding has {found} values, the head expects {expected}")]
    Dimension {
        /// The head's embedding dimension.
        expected: usize,
        /// The embedding's length.
        found: usize,
    },
}

/// A linear softmax head: `probabilities = softmax(weights · embedding + bias)`.
///
/// `weights` is `classes x dim`, row-major (row `c` scores label `c`); `bias` has one value
/// per class. Built only through [`Head::new`], so its shapes always agree and every
/// number is finite.
#[derive(Debug, Clone, PartialEq)]
pub struct Head {
    labels: Vec<String>,
    dim: usize,
    weights: Vec<f32>,
    bias: Vec<f32>,
}

impl Head {
    /// A head for `labels` over `dim`-long embeddings. Refuses no labels, `dim == 0`,
    /// arrays of the wrong length and non-finite numbers.
    pub fn new(
        labels: Vec<String>,
        dim: usize,
        weights: Vec<f32>,
        bias: Vec<f32>,
    ) -> Result<Self, HeadError> {
        let classes = labels.len();
        if classes == 0 || dim == 0 {
            return Err(HeadError::Shape(format!(
                "needs at least one label and one embedding value, got {classes} labels, dimension {dim}"
            )));
        }
        if weights.len() != classes * dim {
            return Err(HeadError::Shape(format!(
                "{} weights for {classes} classes x {dim} dimensions (expected {})",
                weights.len(),
                classes * dim
            )));
        }
        if bias.len() != classes {
            return Err(HeadError::Shape(format!(
                "{} biases for {classes} classes",
                bias.len()
            )));
        }
        if !weights.iter().all(|w| w.is_finite()) {
            return Err(HeadError::NonFinite { what: "weights" });
        }
        if !bias.iter().all(|b| b.is_finite()) {
            return Err(HeadError::NonFinite { what: "bias" });
        }
        Ok(Self {
            labels,
            dim,
            weights,
            bias,
        })
    }

    /// The class labels, in row order.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The number of classes (rows).
    pub fn classes(&self) -> usize {
        self.labels.len()
    }

    /// The embedding dimension (columns).
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The weights, `classes x dim` row-major.
    pub fn weights(&self) -> &[f32] {
        &self.weights
    }

    /// Row `class` of the weights.
    pub fn row(&self, class: usize) -> &[f32] {
        &self.weights[class * self.dim..(class + 1) * self.dim]
    }

    /// The bias, one per class.
    pub fn bias(&self) -> &[f32] {
        &self.bias
    }

    /// The class scores before the softmax, accumulated in f64 (finite for any finite
    /// embedding: a product of two f32 cannot overflow an f64).
    pub fn logits(&self, embedding: &[f32]) -> Result<Vec<f64>, HeadError> {
        if embedding.len() != self.dim {
            return Err(HeadError::Dimension {
                expected: self.dim,
                found: embedding.len(),
            });
        }
        Ok((0..self.classes())
            .map(|c| {
                let dot: f64 = self
                    .row(c)
                    .iter()
                    .zip(embedding)
                    .map(|(&w, &x)| f64::from(w) * f64::from(x))
                    .sum();
                dot + f64::from(self.bias[c])
            })
            .collect())
    }

    /// The class probabilities of one embedding (one view of one cell). They sum to 1 and
    /// are never NaN for a finite embedding.
    ///
    /// A cell seen in several orientation views is answered by the *mean of the views'
    /// probabilities* ([`Head::cell_probabilities`]), not by the softmax of mean logits or
    /// embeddings: the shipped model's multi-view answer is the mean of its views'
    /// probabilities, and a recalibrated answer must be formed the same way to be
    /// comparable with it.
    pub fn probabilities(&self, embedding: &[f32]) -> Result<Vec<f32>, HeadError> {
        let mut logits = self.logits(embedding)?;
        softmax_in_place(&mut logits);
        Ok(logits.into_iter().map(|p| p as f32).collect())
    }

    /// The answer for one cell: the mean of the probabilities of its views (see
    /// [`Head::probabilities`] for why probabilities, not logits, are averaged). Refuses
    /// an empty list of views.
    pub fn cell_probabilities<V: AsRef<[f32]>>(&self, views: &[V]) -> Result<Vec<f32>, HeadError> {
        if views.is_empty() {
            return Err(HeadError::Shape("a cell needs at least one view".into()));
        }
        let mut sum = vec![0.0f64; self.classes()];
        for view in views {
            let mut logits = self.logits(view.as_ref())?;
            softmax_in_place(&mut logits);
            for (s, p) in sum.iter_mut().zip(&logits) {
                *s += p;
            }
        }
        let n = views.len() as f64;
        Ok(sum.into_iter().map(|s| (s / n) as f32).collect())
    }
}

/// Replaces finite scores by their softmax, subtracting the largest score first so that
/// no exponential overflows (the largest term is exactly 1, so the sum is at least 1).
pub(crate) fn softmax_in_place(scores: &mut [f64]) {
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for s in scores.iter_mut() {
        *s = (*s - max).exp();
        sum += *s;
    }
    for s in scores.iter_mut() {
        *s /= sum;
    }
}

/// The index of the largest value, the first one on ties (so answers are deterministic).
pub(crate) fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn labels(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("C{i}")).collect()
    }

    #[test]
    fn computes_the_softmax_of_the_linear_scores() {
        // Scores: [1*1 + 2*0 + 0.5, 0*1 + 1*0 - 0.5] = [1.5, -0.5].
        let head = Head::new(labels(2), 2, vec![1.0, 2.0, 0.0, 1.0], vec![0.5, -0.5]).unwrap();
        let p = head.probabilities(&[1.0, 0.0]).unwrap();
        let expected0 = 1.0 / (1.0 + (-2.0f64).exp());
        assert!((f64::from(p[0]) - expected0).abs() < 1e-7, "{p:?}");
        assert!((p[0] + p[1] - 1.0).abs() < 1e-6);
    }

    #[test]
    fn refuses_wrong_shapes_and_non_finite_numbers() {
        assert!(matches!(
            Head::new(labels(2), 2, vec![0.0; 3], vec![0.0; 2]),
            Err(HeadError::Shape(_))
        ));
        assert!(matches!(
            Head::new(labels(2), 2, vec![0.0; 4], vec![0.0; 3]),
            Err(HeadError::Shape(_))
        ));
        assert!(matches!(
            Head::new(vec![], 2, vec![], vec![]),
            Err(HeadError::Shape(_))
        ));
        assert_eq!(
            Head::new(labels(1), 1, vec![f32::NAN], vec![0.0]),
            Err(HeadError::NonFinite { what: "weights" })
        );
        assert_eq!(
            Head::new(labels(1), 1, vec![0.0], vec![f32::INFINITY]),
            Err(HeadError::NonFinite { what: "bias" })
        );
        let head = Head::new(labels(1), 2, vec![0.0; 2], vec![0.0]).unwrap();
        assert_eq!(
            head.probabilities(&[1.0]),
            Err(HeadError::Dimension {
                expected: 2,
                found: 1
            })
        );
    }

    #[test]
    fn a_cell_is_the_mean_of_its_views_probabilities() {
        let head = Head::new(labels(2), 1, vec![3.0, -3.0], vec![0.0, 0.0]).unwrap();
        let a = head.probabilities(&[1.0]).unwrap();
        let b = head.probabilities(&[-0.2]).unwrap();
        let cell = head
            .cell_probabilities(&[vec![1.0f32], vec![-0.2]])
            .unwrap();
        for c in 0..2 {
            assert!((cell[c] - (a[c] + b[c]) / 2.0).abs() < 1e-7);
        }
        let none: [Vec<f32>; 0] = [];
        assert!(head.cell_probabilities(&none).is_err());
    }

    #[test]
    fn argmax_takes_the_first_of_equal_values() {
        assert_eq!(argmax(&[0.2, 0.4, 0.4]), 1);
        assert_eq!(argmax(&[0.5]), 0);
    }

    proptest! {
        #[test]
        fn probabilities_sum_to_one_and_are_never_nan(
            classes in 1usize..6,
            dim in 1usize..5,
            seed in proptest::collection::vec(-1e30f32..1e30, 40),
            scale in prop_oneof![Just(1e-3f32), Just(1.0), Just(1e6), Just(1e30)],
        ) {
            let weights: Vec<f32> = seed.iter().cycle().take(classes * dim).map(|w| w * scale.min(1.0)).collect();
            let bias: Vec<f32> = seed.iter().rev().take(classes).copied().collect();
            let embedding: Vec<f32> = seed.iter().skip(7).cycle().take(dim).map(|x| x / 1e30 * scale).collect();
            let head = Head::new(labels(classes), dim, weights, bias).unwrap();
            let p = head.probabilities(&embedding).unwrap();
            prop_assert!(p.iter().all(|v| v.is_finite() && (0.0..=1.0).contains(v)), "{:?}", p);
            let sum: f32 = p.iter().sum();
            prop_assert!((sum - 1.0).abs() < 1e-5, "sum {}", sum);
        }
    }
}
