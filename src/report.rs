//! The differential report of one slide, for people and for programs.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::count::Session;
use crate::time::rfc3339_utc;

/// One class's line of the report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ClassLine {
    /// Class name.
    pub label: String,
    /// Cells of this class.
    pub count: u32,
    /// Share of the differential, in percent (0 for a class outside it).
    pub percent: f64,
    /// For a class counted outside the differential: cells per 100 white cells of the
    /// differential.
    pub per_100_wbc: Option<f64>,
}

/// A slide's differential count.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SlideReport {
    /// Session identifier.
    pub session: String,
    /// Cells per class, every class of the model (label → n).
    pub counts: BTreeMap<String, u32>,
    /// Share of each differential class in percent (label → %); JSON carries one
    /// decimal, as the text report prints it.
    #[serde(serialize_with = "one_decimal")]
    pub percentages: BTreeMap<String, f64>,
    /// Classes counted outside the differential (absent when there are none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub outside_differential: Vec<String>,
    /// Cells of each class outside the differential per 100 white cells of the
    /// differential (label → n/100 WBC; absent when there are none).
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        serialize_with = "one_decimal"
    )]
    pub per_100_wbc: BTreeMap<String, f64>,
    /// Cells under the confidence threshold or unfamiliar (not in the differential).
    pub unidentified: u32,
    /// Of the unidentified cells, those the model's gate found unlike every class it
    /// knows (a basophil, an immature granulocyte or an erythroblast, perhaps).
    pub unfamiliar: u32,
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
    /// The model that counted the slide, when the journal records it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The calibration that counted it; absent for the shipped head.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calibration: Option<String>,
    /// The unfamiliar-cell gate in use; absent when the slide was counted without one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate: Option<String>,
    /// Classes in model order.
    #[serde(skip)]
    pub lines: Vec<ClassLine>,
}

/// A map of shares rounded to one decimal: a reader of the JSON sees 33.3, not
/// 33.333333333333336, and the figure matches the text report and the page.
fn one_decimal<S: serde::Serializer>(
    map: &BTreeMap<String, f64>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_map(map.iter().map(|(k, v)| (k, (v * 10.0).round() / 10.0)))
}

impl SlideReport {
    /// The report of a session.
    pub fn of(session: &Session) -> SlideReport {
        let percentages = session.percentages();
        let per_100_wbc = session.per_100_wbc();
        let lines: Vec<ClassLine> = session
            .labels
            .iter()
            .zip(session.counts())
            .zip(percentages.iter().zip(&per_100_wbc))
            .map(|((label, &count), (&percent, &per_100_wbc))| ClassLine {
                label: label.clone(),
                count,
                percent,
                per_100_wbc,
            })
            .collect();
        SlideReport {
            session: session.id.clone(),
            counts: lines.iter().map(|l| (l.label.clone(), l.count)).collect(),
            percentages: lines
                .iter()
                .filter(|l| l.per_100_wbc.is_none())
                .map(|l| (l.label.clone(), l.percent))
                .collect(),
            outside_differential: session.outside_differential.clone(),
            per_100_wbc: lines
                .iter()
                .filter_map(|l| Some((l.label.clone(), l.per_100_wbc?)))
                .collect(),
            unidentified: session.unidentified(),
            unfamiliar: session.unfamiliar(),
            differential_total: session.differential_total(),
            total: session.total(),
            target: session.target,
            target_reached: session.target_reached(),
            threshold: session.threshold,
            open: session.is_open(),
            started: rfc3339_utc(session.started.wall_ms),
            finished: session.finished.map(|f| rfc3339_utc(f.wall_ms)),
            model: session.model.clone(),
            calibration: session.calibration.clone(),
            gate: session.gate.clone(),
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
        if let Some(model) = &self.model {
            writeln!(
                f,
                "  model {model}, {}",
                self.calibration.as_deref().map_or_else(
                    || "shipped head".to_string(),
                    |c| format!("calibration {c}")
                )
            )?;
        }
        if let Some(gate) = &self.gate {
            writeln!(f, "  unfamiliar-cell gate {gate}")?;
        }
        for line in self.lines.iter().filter(|l| l.per_100_wbc.is_none()) {
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
        // Counted beside the differential, as analysers report erythroblasts (NRBC).
        for line in &self.lines {
            if let Some(per_100) = line.per_100_wbc {
                writeln!(
                    f,
                    "  {:<12} {:>4}  ({per_100:.1} per 100 WBC, not in the differential)",
                    line.label, line.count
                )?;
            }
        }
        let under = format!("confidence under {:.0}%", self.threshold * 100.0);
        let why = match self.unfamiliar {
            0 => under,
            n => format!(
                "{n} unlike any class the model knows, the others {under}; check them by eye"
            ),
        };
        write!(
            f,
            "  {:<12} {:>4}  ({why}, not in the differential)",
            "unidentified", self.unidentified
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::count::{Counter, Stamp};

    const SEVEN: [&str; 7] = [
        "EOSINOPHIL",
        "LYMPHOCYTE",
        "MONOCYTE",
        "NEUTROPHIL",
        "BASOPHIL",
        "ERYTHROBLAST",
        "IG",
    ];

    fn at(ms: u64) -> Stamp {
        Stamp {
            wall_ms: 1_700_000_000_000 + ms,
            mono_ms: ms,
        }
    }

    /// A slide of `labels` with one certain cell of each class in `classes`, and one unsure.
    fn slide(labels: &[&str], outside: &[&str], classes: &[usize]) -> Counter {
        let mut c = Counter::new();
        let labels: Vec<String> = labels.iter().map(|s| s.to_string()).collect();
        let outside = outside.iter().map(|s| s.to_string()).collect();
        let n = labels.len();
        let start = c
            .start_event_with_outside("s1".into(), labels, outside, 100, 0.6, at(0))
            .unwrap();
        c.apply(&start).unwrap();
        let mut unsure = vec![0.5 / (n - 1) as f32; n];
        unsure[0] = 0.5;
        let answers = classes.iter().map(|&k| {
            let mut p = vec![0.0; n];
            p[k] = 1.0;
            p
        });
        for (t, p) in answers.chain([unsure]).enumerate() {
            let e = c
                .count_event(p, "f.jpg".into(), None, at(t as u64 + 1))
                .unwrap();
            c.apply(&e).unwrap();
        }
        c
    }

    #[test]
    fn the_report_names_the_model_and_calibration_the_journal_recorded() {
        let mut c = Counter::new();
        let start = c
            .start_event("s1".into(), vec!["A".into(), "B".into()], 10, 0.6, at(0))
            .unwrap()
            .with_model(
                Some("hematovision-wbc4 1.3.1".into()),
                Some("sha256:0123456789ab".into()),
            );
        c.apply(&start).unwrap();
        let report = SlideReport::of(c.session().unwrap());
        assert!(
            report
                .to_string()
                .contains("  model hematovision-wbc4 1.3.1, calibration sha256:0123456789ab\n"),
            "{report}"
        );
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["model"], "hematovision-wbc4 1.3.1");
        assert_eq!(json["calibration"], "sha256:0123456789ab");
        // The shipped head is said in words; an old journal adds no line at all.
        let mut c = Counter::new();
        let start = c
            .start_event("s2".into(), vec!["A".into()], 10, 0.6, at(0))
            .unwrap()
            .with_model(Some("m 1".into()), None);
        c.apply(&start).unwrap();
        let text = SlideReport::of(c.session().unwrap()).to_string();
        assert!(text.contains("  model m 1, shipped head\n"), "{text}");
    }

    #[test]
    fn a_four_class_slide_reads_as_it_always_did() {
        let c = slide(&SEVEN[..4], &[], &[3, 3, 1]);
        let report = SlideReport::of(c.session().unwrap());
        assert_eq!(
            report.to_string(),
            "Slide s1 (open), started 2023-11-14T22:13:20Z\n\
             \x20 EOSINOPHIL      0    0.0%\n\
             \x20 LYMPHOCYTE      1   33.3%\n\
             \x20 MONOCYTE        0    0.0%\n\
             \x20 NEUTROPHIL      2   66.7%\n\
             \x20 differential    3  (of 100 target)\n\
             \x20 unidentified    1  (confidence under 60%, not in the differential)"
        );
        let json = serde_json::to_value(&report).unwrap();
        assert!(json.get("per_100_wbc").is_none(), "{json}");
        assert!(json.get("outside_differential").is_none(), "{json}");
        assert_eq!(json["percentages"].as_object().unwrap().len(), 4);
        // One decimal, as printed: not 33.333333333333336.
        assert_eq!(json["percentages"]["LYMPHOCYTE"].to_string(), "33.3");
        assert_eq!(json["percentages"]["NEUTROPHIL"].to_string(), "66.7");
    }

    #[test]
    fn erythroblasts_are_counted_per_100_white_cells_outside_the_differential() {
        // A basophil, an IG, two erythroblasts and three of the four.
        let c = slide(&SEVEN, &["ERYTHROBLAST"], &[4, 6, 5, 5, 3, 3, 1]);
        let report = SlideReport::of(c.session().unwrap());
        assert_eq!(report.differential_total, 5);
        assert_eq!(report.total, 8);
        assert_eq!(report.counts["ERYTHROBLAST"], 2);
        assert_eq!(report.counts["BASOPHIL"], 1);
        assert_eq!(report.percentages["NEUTROPHIL"], 40.0);
        assert_eq!(report.percentages["IG"], 20.0);
        assert!(!report.percentages.contains_key("ERYTHROBLAST"));
        assert_eq!(report.per_100_wbc["ERYTHROBLAST"], 40.0);
        let text = report.to_string();
        assert!(
            text.contains(
                "  BASOPHIL        1   20.0%\n  IG              1   20.0%\n  differential    5"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "  ERYTHROBLAST    2  (40.0 per 100 WBC, not in the differential)\n  unidentified    1"
            ),
            "{text}"
        );
        assert!(!text.contains("ERYTHROBLAST    2   "), "{text}");
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["per_100_wbc"]["ERYTHROBLAST"], 40.0);
        assert_eq!(json["outside_differential"][0], "ERYTHROBLAST");
        assert_eq!(json["counts"].as_object().unwrap().len(), 7);
    }
}
