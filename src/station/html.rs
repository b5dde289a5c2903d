//! Small pieces of HTML shared by the pages and the printable report.

use std::fmt::Write;

use super::doc::SlideDoc;

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Escapes a path segment for a URL (slide ids are already restricted; this is a guard).
pub fn url_segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The differential as an inline SVG bar chart: one bar per class, its share in percent.
pub fn bar_chart(doc: &SlideDoc) -> String {
    const ROW: usize = 22;
    const LABEL_W: usize = 120;
    const BAR_W: f64 = 260.0;
    let lines = &doc.summary.lines;
    let height = ROW * lines.len().max(1) + 4;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" role="img" aria-label="differential chart" width="{w}" height="{height}" viewBox="0 0 {w} {height}" xmlns="http://www.w3.org/2000/svg">"#,
        w = LABEL_W + BAR_W as usize + 70
    );
    for (i, line) in lines.iter().enumerate() {
        let y = i * ROW + 2;
        let width = BAR_W * line.percent.clamp(0.0, 100.0) / 100.0;
        let _ = write!(
            svg,
            r##"<text x="0" y="{ty}" font-size="13">{label}</text><rect x="{LABEL_W}" y="{y}" width="{width:.1}" height="{h}" fill="#3b6ea5"/><text x="{tx:.1}" y="{ty}" font-size="12">{pct:.1}% ({n})</text>"##,
            ty = y + 14,
            label = escape(&line.label),
            h = ROW - 6,
            tx = LABEL_W as f64 + width + 4.0,
            pct = line.percent,
            n = line.count,
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The differential table: class, count, percent; then the unidentified bin.
pub fn differential_table(doc: &SlideDoc) -> String {
    let s = &doc.summary;
    let mut html = String::from(
        r#"<table class="differential"><thead><tr><th>Class</th><th>Cells</th><th>%</th></tr></thead><tbody>"#,
    );
    for line in &s.lines {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{:.1}</td></tr>",
            escape(&line.label),
            line.count,
            line.percent
        );
    }
    let _ = write!(
        html,
        r#"</tbody><tfoot><tr><th>Differential</th><th id="differential-total">{}</th><th>of {}</th></tr><tr><td>Unidentified</td><td id="unidentified">{}</td><td>not counted</td></tr></tfoot></table>"#,
        s.differential_total, s.target, s.unidentified
    );
    html
}

/// Progress towards the slide's target.
pub fn progress(doc: &SlideDoc) -> String {
    let s = &doc.summary;
    format!(
        r#"<p class="progress"><progress max="{t}" value="{v}"></progress> {v} of {t} cells{done}</p>"#,
        t = s.target,
        v = s.differential_total.min(s.target),
        done = if s.target_reached {
            " — target reached"
        } else {
            ""
        }
    )
}
