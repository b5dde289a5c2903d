//! Live-mode measurements beyond `hematovision live-eval` (the command that scores live mode,
//! classifier included). Counting only, with a scenario's seed or the association gate changed
//! without editing a file:
//! `cargo run --release --example live_eval -- [SCENARIO [--seed N]] [--json] [--gate X]`, or
//! `-- --bench` to time the per-frame parts (motion estimation, locator) on 640x480 frames,
//! or `-- --motion SCENARIO [0.5 1.0r ...]` to measure the motion estimator's error against
//! the simulator's true shifts (a number is a whitening exponent, a trailing `r` turns the
//! refinement on; `MOTION_TRACE=1` prints every moving frame).

use std::time::Duration;

use hematovision::eval::sim::{Renderer, Scan, Scenario, Slide};
use hematovision::live::MotionEstimator;
use hematovision::vision::{LocatorParams, locate};

/// CPU time of this thread (the machine is shared: wall time would include waiting).
fn cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse().ok())
        .map_or(Duration::ZERO, Duration::from_nanos)
}

/// Mean and 95th percentile in ms. The kernel accounts thread CPU time in scheduler
/// ticks here, so single values are coarse; the mean over many frames is what counts.
fn mean_p95(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let total: Duration = v.iter().sum();
    (ms(total) / v.len() as f64, ms(v[v.len() * 95 / 100]))
}

fn bench() -> anyhow::Result<()> {
    let scenario = Scenario::by_name("steady-pans").ok_or(anyhow::anyhow!("no scenario"))?;
    let scan = Scan::build(&scenario, &Slide::default_fields_dir())?;
    let mut renderer = Renderer::new(640, 480);
    let t0 = cpu();
    let frames: Vec<_> = (0..300)
        .filter_map(|i| scan.frame(i * 3, &mut renderer))
        .map(|f| f.image)
        .collect();
    let render_ms = (cpu() - t0).as_secs_f64() * 1000.0 / frames.len() as f64;
    println!("simulator rendering (not part of live mode): mean {render_ms:.1} ms CPU per frame");
    let mut motion = MotionEstimator::new(4);
    let mut times = Vec::new();
    for _ in 0..3 {
        for f in &frames {
            let t0 = cpu();
            std::hint::black_box(motion.push(f));
            times.push(cpu() - t0);
        }
    }
    let (m, p) = mean_p95(times);
    println!("motion estimation (640x480, scale 4), thread CPU: mean {m:.3} ms, p95 {p:.3} ms");
    let params = LocatorParams::default();
    let times: Vec<_> = frames
        .iter()
        .map(|f| {
            let t0 = cpu();
            std::hint::black_box(locate(f, &params));
            cpu() - t0
        })
        .collect();
    let (m, p) = mean_p95(times);
    println!("locator (640x480), thread CPU: mean {m:.3} ms, p95 {p:.3} ms");
    Ok(())
}

/// `--motion SCENARIO [BETA...]`: the motion estimator's error against the simulator's
/// true shift, per whitening exponent: mean and p95 absolute error on moving frames, and
/// the drift a tracker accumulates over each pan (untrusted frames repeat the last shift).
fn motion_error(scenario: &Scenario, betas: &[(f32, bool)]) -> anyhow::Result<()> {
    let scan = Scan::build(scenario, &Slide::default_fields_dir())?;
    let mut renderer = Renderer::new(640, 480);
    let mut estimators: Vec<MotionEstimator> = betas
        .iter()
        .map(|&(b, r)| MotionEstimator::new(4).with_whitening(b).with_refinement(r))
        .collect();
    let n = betas.len();
    let mut errors: Vec<Vec<f64>> = vec![Vec::new(); n];
    let mut low_conf = vec![0usize; n];
    let mut drift = vec![(0.0f64, 0.0f64); n];
    let mut last = vec![(0.0f64, 0.0f64); n];
    let mut pan_drifts: Vec<Vec<f64>> = vec![Vec::new(); n];
    let mut moving = false;
    for i in 0..scan.len() {
        let Some(frame) = scan.frame(i, &mut renderer) else {
            break;
        };
        // Content moves opposite to the camera.
        let truth = (-frame.pose.vx, -frame.pose.vy);
        let speed = truth.0.hypot(truth.1);
        if moving && speed < 0.5 {
            for k in 0..n {
                pan_drifts[k].push(drift[k].0.hypot(drift[k].1));
                drift[k] = (0.0, 0.0);
            }
        }
        moving = speed >= 0.5;
        for (k, m) in estimators.iter_mut().enumerate() {
            let got = m.push(&frame.image);
            if i == 0 {
                continue;
            }
            let trusted = got.filter(|g| g.confidence >= 0.08);
            if trusted.is_none() {
                low_conf[k] += 1;
            }
            if let Some(g) = trusted {
                last[k] = (f64::from(g.dx), f64::from(g.dy));
            }
            drift[k].0 += last[k].0 - truth.0;
            drift[k].1 += last[k].1 - truth.1;
            if speed > 20.0 {
                let g = got.map_or((0.0, 0.0), |g| (f64::from(g.dx), f64::from(g.dy)));
                errors[k].push((g.0 - truth.0).hypot(g.1 - truth.1));
                if std::env::var_os("MOTION_TRACE").is_some() {
                    let along = (g.0 * truth.0 + g.1 * truth.1) / speed;
                    let prev = scan.frames[i - 1].0;
                    println!(
                        "trace beta {:?} frame {i} speed {speed:.1} prev {:.1} along {along:.1} ratio {:.3} conf {:.3}",
                        betas[k],
                        prev.vx.hypot(prev.vy),
                        along / speed,
                        got.map_or(0.0, |g| g.confidence)
                    );
                }
            }
        }
    }
    println!("{}: {} frames", scenario.name, scan.len());
    for k in 0..n {
        let e = &mut errors[k];
        e.sort_by(f64::total_cmp);
        let d = &mut pan_drifts[k];
        d.sort_by(f64::total_cmp);
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        let pct = |v: &[f64], p: usize| v.get(v.len() * p / 100).copied().unwrap_or(0.0);
        println!(
            "beta {:?}: moving frames {} error mean {:.1} p95 {:.1} max {:.1} px; untrusted {}; \
             drift per pan ({}) mean {:.1} p95 {:.1} max {:.1} px",
            betas[k],
            e.len(),
            mean(e),
            pct(e, 95),
            e.last().copied().unwrap_or(0.0),
            low_conf[k],
            d.len(),
            mean(d),
            pct(d, 95),
            d.last().copied().unwrap_or(0.0)
        );
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--bench") {
        return bench();
    }
    if let Some(i) = args.iter().position(|a| a == "--motion") {
        let name = args
            .get(i + 1)
            .ok_or(anyhow::anyhow!("--motion needs a scenario"))?;
        let scenario = Scenario::by_name(name).ok_or(anyhow::anyhow!("no scenario {name}"))?;
        // `0.5` = whitening exponent 0.5; `0.5r` = the same with the local refinement.
        let betas: Vec<(f32, bool)> = args[i + 2..]
            .iter()
            .map(|a| {
                let r = a.ends_with('r');
                a.trim_end_matches('r').parse().map(|b| (b, r))
            })
            .collect::<Result<_, _>>()?;
        let betas = if betas.is_empty() {
            vec![(1.0, false)]
        } else {
            betas
        };
        return motion_error(&scenario, &betas);
    }
    let json = args.iter().any(|a| a == "--json");
    // The scenario name is the first argument that is neither a flag nor a flag's value.
    let name = args
        .iter()
        .enumerate()
        .find(|(i, a)| {
            !a.starts_with("--")
                && (*i == 0 || !matches!(args[i - 1].as_str(), "--gate" | "--seed"))
        })
        .map(|(_, a)| a.as_str());
    let mut options = hematovision::eval::LiveEvalOptions::default();
    // `--gate X`: try another association gate (live.gate) without editing a file.
    if let Some(i) = args.iter().position(|a| a == "--gate") {
        let value = args
            .get(i + 1)
            .ok_or(anyhow::anyhow!("--gate needs a value"))?;
        options.live.gate = value.parse()?;
        options
            .live
            .validate()
            .map_err(|e| anyhow::anyhow!("{}: {}", e.full_key(), e.requirement()))?;
    }
    // `--seed N`: the named scenario with another seed (other fields, speeds, pauses,
    // tremor), to check that a figure is not a property of one seed.
    let reports = if let Some(i) = args.iter().position(|a| a == "--seed") {
        let seed: u64 = args
            .get(i + 1)
            .ok_or(anyhow::anyhow!("--seed needs a value"))?
            .parse()?;
        let name = name.ok_or(anyhow::anyhow!("--seed needs a scenario name"))?;
        let scenario = Scenario::by_name(name).ok_or(anyhow::anyhow!("no scenario {name}"))?;
        vec![hematovision::eval::evaluate_scenario(
            &Scenario { seed, ..scenario },
            &options,
            None,
        )?]
    } else {
        hematovision::eval::live_eval(name, &options, None)?
    };
    if json {
        for r in &reports {
            println!("{}", serde_json::to_string(r)?);
        }
    } else {
        hematovision::eval::print_reports(&reports, &mut std::io::stdout())?;
    }
    Ok(())
}
