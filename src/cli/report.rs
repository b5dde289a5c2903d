//! `hematovision report`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use hematovision::report::SlideReport;
use hematovision::store::{list_sessions, read_session};

/// Prints one slide's report, or the list of slides.
pub fn run(
    config: &Path,
    data_dir: Option<PathBuf>,
    session: Option<&str>,
    list: bool,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let dir = super::paths::data_dir(config, data_dir)?;
    if list {
        for s in list_sessions(&dir)? {
            if json {
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
    let report = SlideReport::of(s);
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{report}");
    }
    Ok(ExitCode::SUCCESS)
}
