//! The differential report of one slide, for people and for programs.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::count::Session;
use crate::time::rfc3339_utc;

/// One class's line of the differential.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ClassLine {
    /// Class name.
    pub label: String,
    /// Cells of this class.
    pub count: u32,
    /// Share of the differential, in percent.
    pub percent: f64,
}

/// A slide's differential count.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SlideReport {
    /// Session identifier.
    pub session: String,
    /// Cells per class (label → n).
    pub counts: BTreeMap<String, u32>,
    /// Share of each class in percent (label → %).
    pub percentages: BTreeMap<String, f64>,
    /// Cells under the confidence threshold (not in the differential).
    pub unidentified: u32,
    /// Cells in the differential.
    pub differential_total: u32,
    /// Every cell recorded, identified or not.
    pub total: u32,
    /// The target size of the differential.
    pub target: u32,
    /// True once the target is reached.
    pub target_reached: bool,
    /// Confidence threshold in force.
    pub threshold: f32,
    /// False once the slide was finished.
    pub open: bool,
    /// Start time (UTC).
    pub started: String,
    /// End time (UTC), when finished.
    pub finished: Option<String>,
    /// Classes in model order.
    #[serde(skip)]
    pub lines: Vec<ClassLine>,
}

impl SlideReport {
    /// The report of a session.
    pub fn of(session: &Session) -> SlideReport {
        let percentages = session.percentages();
        let lines: Vec<ClassLine> = session
            .labels
            .iter()
            .zip(session.counts())
            .zip(&percentages)
            .map(|((label, &count), &percent)| ClassLine {
                label: label.clone(),
                count,
                percent,
            })
            .collect();
        SlideReport {
            session: session.id.clone(),
            counts: lines.iter().map(|l| (l.label.clone(), l.count)).collect(),
            percentages: lines.iter().map(|l| (l.label.clone(), l.percent)).collect(),
            unidentified: session.unidentified(),
            differential_total: session.differential_total(),
            total: session.total(),
            target: session.target,
            target_reached: session.target_reached(),
            threshold: session.threshold,
            open: session.is_open(),
            started: rfc3339_utc(session.started.wall_ms),
            finished: session.finished.map(|f| rfc3339_utc(f.wall_ms)),
            lines,
        }
    }
}

impl fmt::Display for SlideReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Slide {} ({}), started {}{}",
            self.session,
            if self.open { "open" } else { "finished" },
            self.started,
            self.finished
                .as_ref()
                .map(|t| format!(", finished {t}"))
                .unwrap_or_default()
        )?;
        for line in &self.lines {
            writeln!(
                f,
                "  {:<12} {:>4}  {:>5.1}%",
                line.label, line.count, line.percent
            )?;
        }
        writeln!(
            f,
            "  {:<12} {:>4}  (of {} target{})",
            "differential",
            self.differential_total,
            self.target,
            if self.target_reached { ", reached" } else { "" }
        )?;
        write!(
            f,
            "  {:<12} {:>4}  (confidence under {:.0}%, not in the differential)",
            "unidentified",
            self.unidentified,
            self.threshold * 100.0
        )
    }
}
