//! Runs the live-mode evaluation until the `live-eval` subcommand is wired:
//! `cargo run --release --example live_eval -- [SCENARIO] [--json]`, or
//! `-- --bench` to time the per-frame parts (motion estimation, locator) on 640x480 frames.

use std::time::Duration;

use hematovision::live::MotionEstimator;
use hematovision::live::sim::{Renderer, Scan, Scenario, Slide};
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

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--bench") {
        return bench();
    }
    let json = args.iter().any(|a| a == "--json");
    let name = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .map(String::as_str);
    let mut options = hematovision::live::LiveEvalOptions::default();
    // `--gate X`: try another association gate (live.gate) without editing a file.
    if let Some(i) = args.iter().position(|a| a == "--gate") {
        let value = args
            .get(i + 1)
            .ok_or(anyhow::anyhow!("--gate needs a value"))?;
        options.live.gate = value.parse()?;
        options
            .live
            .validate()
            .map_err(|e| anyhow::anyhow!("{}: {}", e.key, e.message))?;
    }
    let reports = hematovision::live::live_eval(name, &options, None)?;
    if json {
        for r in &reports {
            println!("{}", serde_json::to_string(r)?);
        }
    } else {
        hematovision::live::print_reports(&reports, &mut std::io::stdout())?;
    }
    Ok(())
}
