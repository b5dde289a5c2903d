//! `hematovision bench`: speed figures of the model and of the whole count path.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::process::ExitCode;

use hematovision::bench::{BenchOptions, BenchReport, run as run_bench};

use super::ModelArgs;

/// Runs the benchmark and prints the figures (or one JSON object).
pub fn run(
    model: &ModelArgs,
    calibration: Option<PathBuf>,
    iterations: usize,
    fields: PathBuf,
    json: bool,
    station: bool,
) -> anyhow::Result<ExitCode> {
    let options = BenchOptions {
        model: model.model.clone(),
        library: model.runtime_library.clone(),
        threads: NonZeroUsize::new(model.threads as usize),
        views: NonZeroUsize::new(model.views as usize),
        iterations,
        fields,
        calibration,
        station,
    };
    let report = run_bench(&options)?;
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_report(&report);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_report(r: &BenchReport) {
    println!("model             {}", r.model);
    println!(
        "head              {}",
        r.calibration
            .as_deref()
            .map_or_else(|| "shipped".to_string(), |c| format!("calibration {c}"))
    );
    println!("machine           {}", r.machine);
    println!(
        "preprocessing     {:.2} ms median, {:.2} ms p95",
        r.preprocess_ms_median, r.preprocess_ms_p95
    );
    println!(
        "inference         {:.2} ms median, {:.2} ms p95 (one run of the model)",
        r.infer_ms_median, r.infer_ms_p95
    );
    println!(
        "classification    {:.2} ms median, {:.2} ms p95 (preprocessing + {} run{}, averaged)",
        r.classify_ms_median,
        r.classify_ms_p95,
        r.views,
        if r.views == 1 { "" } else { "s" }
    );
    match (r.reference_ms_median, r.ratio) {
        (Some(reference), Some(ratio)) => {
            println!(
                "reference (Python LiteRT interpreter, same model and input)  {reference:.2} ms median"
            );
            println!("ratio ours/reference  {ratio:.3} (goal <= 1.05)");
            if let Some(diff) = r.reference_max_abs_diff {
                println!("output difference     {diff:.2e} (largest, same input)");
            }
        }
        _ => println!(
            "reference         not measured: {}",
            r.reference_note.as_deref().unwrap_or("unavailable")
        ),
    }
    println!(
        "locate cell       {:.2} ms median (640x480 field)",
        r.locate_ms_median
    );
    println!(
        "press to display  {:.2} ms median, {:.2} ms p95 (frame, locate, classify, crop saved, journal fsync'd, screen drawn; goal <= 40 ms)",
        r.press_to_display_ms_median, r.press_to_display_ms_p95
    );
    println!("peak memory       {:.1} MiB", r.rss_mb);
    if let Some(s) = &r.station {
        println!(
            "station upload    {:.2} ms median, {:.2} ms p95 (one cell POSTed to /api/classify until its result is read)",
            s.upload_to_result_ms_median, s.upload_to_result_ms_p95
        );
        println!(
            "press, no station {:.2} ms median, {:.2} ms p95",
            s.press_without_station_ms_median, s.press_without_station_ms_p95
        );
        println!(
            "press, station    {:.2} ms median, {:.2} ms p95 (station served, a live page refetching the slide on each of its {} events: {} refreshes)",
            s.press_with_station_ms_median,
            s.press_with_station_ms_p95,
            s.live_events,
            s.page_refreshes
        );
    }
}
