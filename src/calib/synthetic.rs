//! Seeded synthetic embeddings for the tests: cells drawn around random points and
//! labelled by a known head.

use super::fit::LabelledCell;
use super::head::{Head, argmax};

/// splitmix64: a tiny seeded generator, enough for test data.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1).
    pub(crate) fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Standard normal (Box-Muller).
    pub(crate) fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// Index below `n`.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.uniform() * n as f64) as usize % n
    }
}

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
