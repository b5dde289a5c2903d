//! The slide reports: CSV (one row per cell), printable HTML and JSON. Pure functions from
//! a replayed slide to text, shared by the station and `hematovision report`.

use std::fmt::Write;

use super::doc::{CellDoc, SlideDoc};
use super::html::{bar_chart, differential_table, escape, progress};
use crate::report::SlideReport;

/// The report's stylesheet, inlined so a saved report prints the same without the station.
pub const REPORT_CSS: &str = include_str!("assets/report.css");

/// The CSV header; one row per cell follows.
pub const CSV_HEADER: &str =
    "slide,sequence,time,model_label,confidence,final_label,reviewer,crop_file";

/// What the report says beyond the journal.
#[derive(Debug, Clone, Default)]
pub struct ReportContext {
    /// Where the crop pictures are, prefixed to each crop's file name (a URL path such as
    /// `/slides/ID/cells/`, or a folder); `None` leaves the pictures out.
    pub crop_base: Option<String>,
    /// The model the station runs: shown for slides whose journal does not record the
    /// model that counted them (journals written before it was recorded).
    pub model: Option<String>,
}

/// One CSV row per cell, oldest first, after [`CSV_HEADER`].
pub fn csv(doc: &SlideDoc) -> String {
    let mut out = String::from(CSV_HEADER);
    out.push('\n');
    for c in &doc.cells {
        let fields = [
            doc.id().to_string(),
            c.seq.to_string(),
            c.time.clone(),
            c.model_label.clone(),
            format!("{:.4}", c.confidence),
            c.final_label.clone(),
            c.reviewer.clone().unwrap_or_default(),
            c.crop.clone().unwrap_or_default(),
        ];
        let row: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

/// Quotes a CSV field when needed, and defuses text a spreadsheet would run as a formula.
fn csv_field(text: &str) -> String {
    let defused = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if defused.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

/// The slide as one JSON document (the same as `GET /api/slides/{id}`).
pub fn json(doc: &SlideDoc) -> Result<String, serde_json::Error> {
    serde_json::to_string_pretty(doc)
}

/// The report's model line: the model and head the journal recorded for the slide, else
/// the model the station runs (for journals written before the model was recorded).
fn model_line(s: &SlideReport, context: &ReportContext) -> String {
    match (&s.model, &context.model) {
        (Some(model), _) => match &s.calibration {
            Some(calibration) => format!("{model}, calibration {calibration}"),
            None => format!("{model}, shipped head (no calibration)"),
        },
        (None, Some(model)) => {
            format!("{model} (not recorded in the journal; the station's model)")
        }
        (None, None) => "not recorded in the journal".to_string(),
    }
}

/// A printable HTML page: header, differential table and chart, flagged lines, gallery.
pub fn html(doc: &SlideDoc, context: &ReportContext) -> String {
    let s = &doc.summary;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Slide {id} report</title><style>{css}</style></head><body class="report"><h1>White-cell differential — slide {id}</h1><table class="meta"><tr><th>Slide</th><td id="slide-id">{id}</td></tr><tr><th>State</th><td>{state}</td></tr><tr><th>Started</th><td>{started}</td></tr><tr><th>Finished</th><td>{finished}</td></tr><tr><th>Operator</th><td>{operator}</td></tr><tr><th>Model</th><td>{model}</td></tr><tr><th>Classes</th><td>{classes}</td></tr><tr><th>Threshold</th><td>{threshold:.0}% confidence</td></tr></table>"#,
        id = escape(doc.id()),
        css = REPORT_CSS,
        state = doc.state,
        started = escape(&s.started),
        finished = escape(s.finished.as_deref().unwrap_or("—")),
        operator = doc.signed_off.as_ref().map_or_else(
            || "not signed off".to_string(),
            |o| format!("{}, signed {}", escape(&o.operator), escape(&o.time))
        ),
        model = escape(&model_line(s, context)),
        classes = escape(&doc.labels.join(", ")),
        threshold = s.threshold * 100.0,
    );
    out.push_str("<h2>Differential</h2>");
    out.push_str(&differential_table(doc));
    out.push_str(&bar_chart(doc));
    out.push_str(&progress(doc));
    out.push_str(&flags(doc));
    let _ = write!(out, "<h2>Cells ({})</h2>", doc.cells.len());
    out.push_str(&gallery(doc, context.crop_base.as_deref(), false));
    out.push_str("</body></html>\n");
    out
}

/// What a reader must not miss: an incomplete differential, unsure and corrected cells.
fn flags(doc: &SlideDoc) -> String {
    let s = &doc.summary;
    let mut items = Vec::new();
    if !s.target_reached {
        items.push(format!(
            "The differential holds {} cells, under the target of {}.",
            s.differential_total, s.target
        ));
    }
    if s.unidentified > 0 {
        items.push(format!(
            "{} cell(s) are unidentified and not in the differential.",
            s.unidentified
        ));
    }
    if s.unfamiliar > 0 {
        items.push(format!(
            "{} of them looked unlike any class the model knows (a basophil, an immature \
             granulocyte or an erythroblast, perhaps): check them by eye.",
            s.unfamiliar
        ));
    }
    let corrected = doc
        .cells
        .iter()
        .filter(|c| c.reviewer.is_some() && c.final_label != c.model_label)
        .count();
    if corrected > 0 {
        items.push(format!("{corrected} cell(s) were corrected by a reviewer."));
    }
    if items.is_empty() {
        return String::new();
    }
    let list: String = items
        .iter()
        .map(|i| format!("<li>{}</li>", escape(i)))
        .collect();
    format!(r#"<ul class="flags">{list}</ul>"#)
}

/// Every cell grouped by its final class (in label order, then unidentified), newest
/// first; with `editable`, each cell carries the review controls.
pub fn gallery(doc: &SlideDoc, crop_base: Option<&str>, editable: bool) -> String {
    let mut groups: Vec<String> = doc.labels.clone();
    groups.push(super::doc::UNIDENTIFIED.to_string());
    let mut out = String::from(r#"<div class="gallery">"#);
    for group in &groups {
        let cells: Vec<&CellDoc> = doc
            .cells
            .iter()
            .rev()
            .filter(|c| &c.final_label == group)
            .collect();
        if cells.is_empty() {
            continue;
        }
        let _ = write!(
            out,
            r#"<section class="group"><h3>{} ({})</h3><div class="cells">"#,
            escape(group),
            cells.len()
        );
        for cell in cells {
            out.push_str(&cell_figure(doc, cell, crop_base, editable));
        }
        out.push_str("</div></section>");
    }
    out.push_str("</div>");
    out
}

fn cell_figure(doc: &SlideDoc, cell: &CellDoc, crop_base: Option<&str>, editable: bool) -> String {
    let picture = match (crop_base, &cell.crop) {
        (Some(base), Some(file)) => format!(
            r#"<img src="{}{}" alt="cell {}" width="96" height="96" loading="lazy">"#,
            escape(base),
            escape(file),
            cell.seq
        ),
        _ => r#"<div class="nocrop">no picture</div>"#.to_string(),
    };
    let answer = if cell.reviewer.is_some() {
        format!(
            "model: {} {:.0}%, reviewed by {}",
            escape(&cell.model_label),
            cell.confidence * 100.0,
            escape(cell.reviewer.as_deref().unwrap_or_default())
        )
    } else {
        format!(
            "{} {:.0}%{}",
            escape(&cell.model_label),
            cell.confidence * 100.0,
            crate::count::unsure_tag(cell.identified, cell.unfamiliar)
        )
    };
    let mut controls = String::new();
    if editable {
        let mut options = String::new();
        for label in doc
            .labels
            .iter()
            .chain(std::iter::once(&super::doc::UNIDENTIFIED.to_string()))
        {
            let _ = write!(
                options,
                r#"<option value="{v}"{sel}>{v}</option>"#,
                v = escape(label),
                sel = if *label == cell.final_label {
                    " selected"
                } else {
                    ""
                }
            );
        }
        let _ = write!(
            controls,
            r#"<form class="review" data-seq="{seq}"><select name="label" aria-label="class of cell {seq}">{options}</select><button type="submit">Save</button></form>"#,
            seq = cell.seq
        );
    }
    format!(
        r#"<figure class="cell" id="cell-{seq}" data-seq="{seq}" data-label="{label}">{picture}<figcaption>#{seq} <b>{label}</b><br>{answer}</figcaption>{controls}</figure>"#,
        seq = cell.seq,
        label = escape(&cell.final_label),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::count::{Counter, Stamp};

    fn stamp(ms: u64) -> Stamp {
        Stamp {
            wall_ms: ms,
            mono_ms: ms,
        }
    }

    fn doc() -> SlideDoc {
        let mut c = Counter::new();
        let labels = vec!["lymphocyte".to_string(), "neutrophil".to_string()];
        let e = c
            .start_event("s1".into(), labels, 3, 0.6, stamp(0))
            .unwrap();
        c.apply(&e).unwrap();
        for (p, crop) in [
            ([0.1, 0.9], Some("/d/crops/s1/00001.jpg")),
            ([0.7, 0.3], None),
        ] {
            let e = c
                .count_event(p.to_vec(), "f".into(), crop.map(String::from), stamp(1000))
                .unwrap();
            c.apply(&e).unwrap();
        }
        let e = c
            .review_event(
                2,
                Some("neutrophil".into()),
                "=cmd|' /C calc'!A0".into(),
                stamp(2000),
            )
            .unwrap();
        c.apply(&e).unwrap();
        SlideDoc::of(c.session().unwrap())
    }

    #[test]
    fn csv_has_one_row_per_cell_with_both_answers_and_defused_names() {
        let text = csv(&doc());
        let rows: Vec<&str> = text.lines().collect();
        assert_eq!(rows[0], CSV_HEADER);
        assert_eq!(rows.len(), 3);
        assert_eq!(
            rows[1],
            "s1,1,1970-01-01T00:00:01Z,neutrophil,0.9000,neutrophil,,00001.jpg"
        );
        assert!(rows[2].starts_with("s1,2,1970-01-01T00:00:01Z,lymphocyte,0.7000,neutrophil,"));
        assert!(rows[2].contains("'=cmd"), "{}", rows[2]);
    }

    #[test]
    fn html_report_holds_every_cell_the_chart_and_escapes_text() {
        let d = doc();
        let page = html(
            &d,
            &ReportContext {
                crop_base: Some("/slides/s1/cells/".into()),
                model: Some("<wbc4>".into()),
            },
        );
        assert!(page.contains("<svg"));
        assert!(page.contains(r#"id="cell-1""#) && page.contains(r#"id="cell-2""#));
        assert!(page.contains(r#"src="/slides/s1/cells/00001.jpg""#));
        assert!(page.contains("&lt;wbc4&gt;") && !page.contains("<wbc4>"));
        assert!(page.contains("corrected by a reviewer"));
        // The reviewer's answer counts: two neutrophils.
        assert_eq!(d.summary.counts["neutrophil"], 2);
    }

    #[test]
    fn html_report_names_the_recorded_model_and_head_before_the_stations_own() {
        let mut d = doc();
        let context = ReportContext {
            crop_base: None,
            model: Some("station-model 9".into()),
        };
        assert!(
            html(&d, &context)
                .contains("station-model 9 (not recorded in the journal; the station&#39;s model)")
        );
        d.summary.model = Some("hematovision-wbc4 1.3.1".into());
        assert!(
            html(&d, &context).contains("hematovision-wbc4 1.3.1, shipped head (no calibration)")
        );
        d.summary.calibration = Some("sha256:0123456789ab".into());
        let page = html(&d, &context);
        assert!(page.contains("hematovision-wbc4 1.3.1, calibration sha256:0123456789ab"));
        assert!(!page.contains("station-model 9"));
    }

    #[test]
    fn json_report_round_trips_the_cells() {
        let text = json(&doc()).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["cells"].as_array().unwrap().len(), 2);
        assert_eq!(v["cells"][1]["model_label"], "lymphocyte");
        assert_eq!(v["cells"][1]["final_label"], "neutrophil");
        assert_eq!(v["state"], "open");
    }
}
