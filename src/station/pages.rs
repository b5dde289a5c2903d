//! The station's pages, rendered on the server; `assets/station.js` adds uploads and
//! reviews without reloading.

use std::fmt::Write;

use super::doc::SlideDoc;
use super::html::{bar_chart, differential_table, escape, progress, url_segment};
use super::report::gallery;
use super::slides::SlideItem;

/// The frame of every page: title, navigation, body, the script.
pub fn layout(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{t} — HematoVision</title><link rel="stylesheet" href="/assets/station.css"></head><body><header><b>HematoVision</b> review station <nav><a href="/">Classify</a> <a href="/slides">Slides</a></nav></header><main>{body}</main><script src="/assets/station.js"></script></body></html>"#,
        t = escape(title)
    )
}

/// The classify page: upload one or many pictures, see each with its class and the
/// framing the model saw; with an open slide, a result can be saved to it.
pub fn classify(labels: &[String], missing: Option<&str>, open_slide: Option<&str>) -> String {
    let note = match missing {
        Some(why) => format!(
            r#"<p class="error" role="alert">Classification is unavailable: {}</p>"#,
            escape(why)
        ),
        None => format!(
            "<p>Classes: {}. Pictures are classified in memory and not kept unless you save one to the open slide.</p>",
            escape(&labels.join(", "))
        ),
    };
    let target = open_slide.map_or_else(String::new, |id| {
        format!(r#" data-open-slide="{}""#, escape(id))
    });
    layout(
        "Classify",
        &format!(
            r#"<h1>Classify cell pictures</h1>{note}<form id="upload" enctype="multipart/form-data"><label id="drop" class="drop">Drop JPEG, PNG or BMP pictures here, or choose them: <input id="files" type="file" name="image" accept="image/jpeg,image/png,image/bmp" multiple></label> <button type="submit" id="classify">Classify</button> <button type="reset" id="again">Try another</button></form><p id="message" class="error" role="alert" hidden></p><div id="results"{target}></div>"#
        ),
    )
}

/// The list of slides, newest first.
pub fn slide_list(items: &[SlideItem]) -> String {
    let mut rows = String::new();
    for s in items {
        let counts: Vec<String> = s
            .counts
            .iter()
            .map(|(l, n)| format!("{} {n}", escape(l)))
            .collect();
        let _ = write!(
            rows,
            r#"<tr><td><a href="/slides/{u}">{id}</a></td><td>{state}</td><td>{started}</td><td>{d} / {t}</td><td>{u2}</td><td>{counts}</td></tr>"#,
            u = url_segment(&s.id),
            id = escape(&s.id),
            state = s.state,
            started = escape(&s.started),
            d = s.differential_total,
            t = s.target,
            u2 = s.unidentified,
            counts = counts.join(", ")
        );
    }
    let body = if items.is_empty() {
        r#"<div id="live" data-live="*"><h1>Slides</h1><p>No slide has been counted in this data directory yet.</p></div>"#.to_string()
    } else {
        format!(
            r#"<div id="live" data-live="*"><h1>Slides</h1><table id="slides"><thead><tr><th>Slide</th><th>State</th><th>Started</th><th>Differential</th><th>Unidentified</th><th>Counts</th></tr></thead><tbody>{rows}</tbody></table></div>{teach}"#,
            teach = teach_form(items)
        )
    };
    layout("Slides", &body)
}

/// "Teach this microscope" over chosen slides, every signed-off slide ticked. Outside
/// `#live`, so a live refresh never clears the choice or the result.
fn teach_form(items: &[SlideItem]) -> String {
    let mut choices = String::new();
    for s in items {
        let _ = write!(
            choices,
            r#"<label><input type="checkbox" name="slide" value="{id}"{checked}> {id} ({state})</label> "#,
            id = escape(&s.id),
            checked = if s.state == "signed off" {
                " checked"
            } else {
                ""
            },
            state = s.state
        );
    }
    format!(
        r#"<section id="teach-section"><h2>Teach this microscope</h2><p>Recalibrates the model from the cells reviewers confirmed or corrected on the ticked slides (unreviewed and unidentified cells are skipped), as <code>hematovision calibrate</code> does, and shows how the shipped and the new head do in cross-validation. An accepted calibration is written to <code>calibrations/</code> in the data directory; the configuration is not changed.</p><form id="teach" class="teach">{choices}<button type="submit">Teach this microscope</button></form>{result}</section>"#,
        result = TEACH_RESULT
    )
}

/// Where the result of "Teach this microscope" goes, and the message while it runs.
const TEACH_RESULT: &str =
    r#"<p id="teach-message" class="error" role="alert" hidden></p><div id="teach-result"></div>"#;

/// One slide: differential, chart, progress, the gallery with review controls, sign-off.
/// Everything that changes is inside `#live`, which the page refreshes on each change
/// the station announces; the reviewer's name stays outside, so typing is never lost.
/// `read_only` says why this station cannot change the slide, if it cannot.
pub fn slide(doc: &SlideDoc, read_only: Option<&str>) -> String {
    let id = url_segment(doc.id());
    let editable = doc.signed_off.is_none() && read_only.is_none();
    let status = match (&doc.signed_off, read_only) {
        (Some(s), _) => format!(
            r#"<p class="signed" id="signed-off">Signed off by {} on {}; closed for edits.</p>"#,
            escape(&s.operator),
            escape(&s.time)
        ),
        (None, Some(why)) => format!(r#"<p class="error" id="read-only">{}</p>"#, escape(why)),
        (None, None) => r#"<form id="sign-off"><label>Operator <input name="operator" required maxlength="100"></label> <button type="submit">Sign off</button></form>"#.to_string(),
    };
    let reviewer = if read_only.is_none() && doc.signed_off.is_none() {
        r#"<p><label>Reviewer <input id="reviewer" maxlength="100" placeholder="your name"></label> — change a cell's class and press Save; every change is journaled beside the model's answer.</p>"#
    } else {
        ""
    };
    let body = format!(
        r#"<h1>Slide <span id="slide-id">{name}</span></h1><p><a href="/slides/{id}/report.html">Printable report</a> · <a href="/slides/{id}/report.csv">CSV</a> · <button type="button" id="export" title="Copies the crops of confirmed and corrected cells to exports/ in the data directory, one folder per class, for recalibration">Export reviewed cells</button> <span id="export-result"></span> · <button type="button" id="teach-slide" title="Recalibrates the model from this slide's reviewed cells, as on the slides page">Teach this microscope from this slide</button></p>{teach}{reviewer}<p id="message" class="error" role="alert" hidden></p><div id="live" data-live="{id}"><p>State: <b id="state">{state}</b></p><div class="summary" data-slide="{id}">{table}{chart}</div>{progress}{status}<h2>Cells (<span id="cell-count">{n}</span>)</h2>{gallery}</div>"#,
        teach = TEACH_RESULT,
        name = escape(doc.id()),
        state = doc.state,
        table = differential_table(doc),
        chart = bar_chart(doc),
        progress = progress(doc),
        n = doc.cells.len(),
        gallery = gallery(doc, Some(&format!("/slides/{id}/cells/")), editable),
    );
    layout(&format!("Slide {}", doc.id()), &body)
}

/// A page for a request that failed.
pub fn error(message: &str) -> String {
    layout(
        "Error",
        &format!(
            r#"<h1>Not available</h1><p class="error" role="alert">{}</p><p><a href="/slides">Back to the slides</a></p>"#,
            escape(message)
        ),
    )
}
