//! `hematovision report`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use hematovision::report::SlideReport;
use hematovision::station::doc::SlideDoc;
use hematovision::station::report::{self, ReportContext};
use hematovision::store::{list_sessions, read_session};

/// How a slide's report is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The differential for a terminal.
    Text,
    /// One JSON document: the differential and every cell with both answers.
    Json,
    /// One row per cell.
    Csv,
    /// A printable page with the chart and the gallery.
    Html,
}

/// Prints one slide's report, or the list of slides.
pub fn run(
    config: &Path,
    data_dir: Option<PathBuf>,
    session: Option<&str>,
    list: bool,
    format: Format,
    out: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let dir = super::paths::data_dir(config, data_dir)?;
    if list {
        for s in list_sessions(&dir)? {
            if format == Format::Json {
                println!("{}", serde_json::to_string(&s)?);
            } else {
                println!(
                    "{}  {:<8} {:>4} cells",
                    s.session,
                    if s.open { "open" } else { "finished" },
                    s.total
                );
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let replay = read_session(&dir, session)?;
    for problem in &replay.problems {
        eprintln!("warning: {problem}");
    }
    let Some(s) = replay.counter.session() else {
        eprintln!("no slide has been counted in {}", dir.display());
        return Ok(ExitCode::FAILURE);
    };
    let doc = SlideDoc::of(s);
    let text = match format {
        Format::Text => format!("{}\n", SlideReport::of(s)),
        Format::Json => format!("{}\n", serde_json::to_string(&doc)?),
        Format::Csv => report::csv(&doc),
        Format::Html => {
            let crops = std::path::absolute(dir.join("crops").join(&s.id))
                .unwrap_or_else(|_| dir.join("crops").join(&s.id));
            report::html(
                &doc,
                &ReportContext {
                    crop_base: Some(format!("file://{}/", crops.display())),
                    model: None,
                },
            )
        }
    };
    match out {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write the report to {}", path.display()))?,
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}
