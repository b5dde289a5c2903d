//! Seeded synthetic embeddings for the tests: cells drawn around random points and
//! labelled by a known head.

use super::fit::LabelledCell;
use super::head::{Head, argmax};
pub(crate) use super::rng::Rng;

pub(crate) fn labels(classes: usize) -> Vec<String> {
    (0..classes).map(|c| format!("CLASS{c}")).collect()
}

/// A head with standard normal weights times `scale` and zero bias.
pub(crate) fn random_head(rng: &mut Rng, classes: usize, dim: usize, scale: f64) -> Head {
    let weights = (0..classes * dim)
        .map(|_| (rng.normal() * scale) as f32)
        .collect();
    Head::new(labels(classes), dim, weights, vec![0.0; classes]).expect("valid head")
}

/// A cell centre: standard normal embedding values around `offset`.
pub(crate) fn point(rng: &mut Rng, dim: usize, offset: f64) -> Vec<f32> {
    (0..dim).map(|_| (offset + rng.normal()) as f32).collect()
}

/// `n` cells whose centres are random points labelled by `truth`'s answer (the class is
/// drawn from its probabilities when `sample` is set, else its top answer), each seen in
/// `views` views: the centre plus noise of size `jitter`.
pub(crate) fn cells(
    rng: &mut Rng,
    truth: &Head,
    n: usize,
    views: usize,
    jitter: f64,
    sample: bool,
) -> Vec<LabelledCell> {
    (0..n)
        .map(|_| {
            let centre = point(rng, truth.dim(), 0.0);
            let p = truth.probabilities(&centre).expect("dimension");
            let class = if sample {
                let u = rng.uniform() as f32;
                let mut acc = 0.0;
                p.iter()
                    .position(|q| {
                        acc += q;
                        u < acc
                    })
                    .unwrap_or(p.len() - 1)
            } else {
                argmax(&p)
            };
            let views = (0..views)
                .map(|_| {
                    centre
                        .iter()
                        .map(|&x| x + (jitter * rng.normal()) as f32)
                        .collect()
                })
                .collect();
            LabelledCell { class, views }
        })
        .collect()
}
