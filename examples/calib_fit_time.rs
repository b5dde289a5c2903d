//! Times the recalibration fit at the size issue 22 targets, on seeded synthetic
//! embeddings (the model with an embedding output does not exist yet):
//! `cargo run --release --example calib_fit_time [-- CELLS VIEWS DIM CLASSES]`
//! (default 100 cells x 8 views x 1280 dimensions, 7 classes, the default strength grid
//! and 5 folds). Prints wall and thread CPU time, since the machine may be shared.

use std::time::{Duration, Instant};

use hematovision::calib::{CvOptions, Head, LabelledCell, calibrate, decide};

/// CPU time of this thread (wall time would include waiting for a shared machine).
fn cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse().ok())
        .map_or(Duration::ZERO, Duration::from_nanos)
}

/// splitmix64 with a Box-Muller normal: seeded, so every run fits the same numbers.
struct Rng(u64);

impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (((z ^ (z >> 31)) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

fn main() -> anyhow::Result<()> {
    env_logger::init(); // RUST_LOG=debug shows each fit's iterations
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let arg = |i: usize, default: usize| args.get(i).copied().unwrap_or(default);
    let (n_cells, views, dim, classes) = (arg(0, 100), arg(1, 8), arg(2, 1280), arg(3, 7));

    // Embeddings like a ReLU6 network's pooled features: non-negative, one mean vector
    // per class, cells scattered around it, views a little around their cell.
    let mut rng = Rng(22);
    let means: Vec<Vec<f64>> = (0..classes)
        .map(|_| (0..dim).map(|_| rng.uniform()).collect())
        .collect();
    let centre: Vec<f64> = (0..dim)
        .map(|j| means.iter().map(|m| m[j]).sum::<f64>() / classes as f64)
        .collect();
    // The shipped head points each class at its mean, badly: noisy, and biased toward
    // class 0 as a differently stained slide might make it.
    let weights: Vec<f32> = means
        .iter()
        .flat_map(|m| {
            m.iter()
                .zip(&centre)
                .map(|(a, c)| (0.02 * (a - c) + 0.02 * rng.normal()) as f32)
                .collect::<Vec<_>>()
        })
        .collect();
    let mut bias = vec![0.0f32; classes];
    bias[0] = 1.5;
    let labels = (0..classes).map(|c| format!("CLASS{c}")).collect();
    let shipped = Head::new(labels, dim, weights, bias)?;
    let cells: Vec<LabelledCell> = (0..n_cells)
        .map(|i| {
            let class = i % classes;
            let cell: Vec<f64> = means[class]
                .iter()
                .map(|m| (m + 0.8 * rng.normal()).clamp(0.0, 6.0))
                .collect();
            let views = (0..views)
                .map(|_| {
                    cell.iter()
                        .map(|x| (x + 0.2 * rng.normal()).clamp(0.0, 6.0) as f32)
                        .collect()
                })
                .collect();
            LabelledCell { class, views }
        })
        .collect();

    let options = CvOptions::default();
    let (wall, thread) = (Instant::now(), cpu());
    let result = calibrate(&shipped, &cells, &options, &mut |_, _| {})?;
    let (wall, thread) = (wall.elapsed(), cpu() - thread);
    println!(
        "{n_cells} cells x {views} views x {dim} dimensions, {classes} classes, {} strengths x {} folds + final fit",
        options.strengths.len(),
        result.folds
    );
    for point in &result.grid {
        println!(
            "  strength {:.0e}: cross-validated {}, log-loss {:.3}",
            point.strength, point.accuracy, point.log_loss
        );
    }
    println!(
        "shipped head {}, fitted head {} (strength {:.0e}, λ {:.3})",
        result.before, result.after, result.strength, result.lambda
    );
    match decide(&result.before, &result.after, false) {
        Ok(()) => println!("guard: passes"),
        Err(refused) => println!("guard: {refused}"),
    }
    println!(
        "calibrate: {:.2} s wall, {:.2} s thread CPU",
        wall.as_secs_f64(),
        thread.as_secs_f64()
    );
    Ok(())
}
