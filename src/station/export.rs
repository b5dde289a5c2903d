//! Reviewed cells for recalibration: the crops of cells a reviewer confirmed or corrected,
//! copied as `OUT/CLASS/<slide>-<seq>.jpg` under their final (the reviewer's) class, the
//! layout `hematovision calibrate DIR` and `eval DIR` read. Cells nobody reviewed, cells
//! the reviewer moved to unidentified, and cells without a kept crop are skipped and
//! counted, so the summary says what was left out and why.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::count::Session;
use crate::store::write_file_durably;

use super::error::ApiError;
use super::slides::SlideStore;

/// What an export wrote and skipped.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ExportSummary {
    /// The folder written (`OUT`).
    pub out: PathBuf,
    /// Slides read.
    pub slides: Vec<String>,
    /// Crops written per class.
    pub written: BTreeMap<String, usize>,
    /// Cells not reviewed (the model's answer alone is no label to learn from).
    pub unreviewed: usize,
    /// Cells the reviewer moved to unidentified (no class to learn).
    pub unidentified: usize,
    /// Reviewed cells whose crop was not kept or could not be read.
    pub without_crop: usize,
}

impl ExportSummary {
    /// Crops written in all.
    pub fn total(&self) -> usize {
        self.written.values().sum()
    }
}

impl std::fmt::Display for ExportSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let classes: Vec<String> = self
            .written
            .iter()
            .map(|(class, n)| format!("{class} {n}"))
            .collect();
        write!(
            f,
            "{} reviewed cell(s) from {} slide(s) written to {}{}; skipped: {} unreviewed, {} moved to unidentified, {} without a crop",
            self.total(),
            self.slides.len(),
            self.out.display(),
            if classes.is_empty() {
                String::new()
            } else {
                format!(" ({})", classes.join(", "))
            },
            self.unreviewed,
            self.unidentified,
            self.without_crop
        )
    }
}

/// Exports the reviewed cells of `slides` (every slide when empty) of `data_dir` to `out`.
/// A file already there is replaced, so exporting again after more reviews is safe.
pub fn export_reviewed(
    data_dir: &Path,
    slides: &[String],
    out: &Path,
) -> Result<ExportSummary, ApiError> {
    let store = SlideStore::new(data_dir.to_path_buf(), None);
    let ids: Vec<String> = if slides.is_empty() {
        store.list()?.into_iter().rev().map(|s| s.id).collect()
    } else {
        slides.to_vec()
    };
    let mut summary = ExportSummary {
        out: out.to_path_buf(),
        ..ExportSummary::default()
    };
    for id in ids {
        let session = store.load(&id)?;
        export_slide(&store, &session, out, &mut summary)?;
        summary.slides.push(id);
    }
    Ok(summary)
}

/// Exports one slide (already loaded, e.g. the daemon's live copy).
pub fn export_slide(
    store: &SlideStore,
    session: &Session,
    out: &Path,
    summary: &mut ExportSummary,
) -> Result<(), ApiError> {
    for_each_reviewed(store, session, summary, |label, name, bytes| {
        let path = out.join(class_folder(label)).join(name);
        write_file_durably(&path, &bytes)
            .map_err(|e| ApiError::internal(format!("export not finished: {e}")))
    })
}

/// Hands every reviewed, identified cell of `session` with a readable crop to `take` as
/// (the reviewer's class, a file name `<slide>-<seq>.jpg`, the crop's bytes), counting
/// in `summary` what was taken per class and what was skipped and why.
pub fn for_each_reviewed(
    store: &SlideStore,
    session: &Session,
    summary: &mut ExportSummary,
    mut take: impl FnMut(&str, String, Vec<u8>) -> Result<(), ApiError>,
) -> Result<(), ApiError> {
    for cell in session.cells() {
        if session.review(cell.seq).is_none() {
            summary.unreviewed += 1;
            continue;
        }
        let Some(label) = session
            .final_class(cell)
            .and_then(|i| session.labels.get(i))
        else {
            summary.unidentified += 1;
            continue;
        };
        let file = cell
            .crop
            .as_deref()
            .and_then(|p| Path::new(p).file_name())
            .map(|n| n.to_string_lossy().into_owned());
        let bytes = file.and_then(|file| match store.crop_of(session, &file) {
            Ok(bytes) => Some(bytes),
            Err(e) => {
                log::warn!("slide {} cell {}: {}", session.id, cell.seq, e.message);
                None
            }
        });
        let Some(bytes) = bytes else {
            summary.without_crop += 1;
            continue;
        };
        take(label, format!("{}-{:05}.jpg", session.id, cell.seq), bytes)?;
        *summary.written.entry(label.clone()).or_default() += 1;
    }
    Ok(())
}

/// A class name as a folder name: the model's labels are plain words, but a label is never
/// trusted to stay inside `OUT`.
fn class_folder(label: &str) -> String {
    label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_class_name_cannot_leave_the_folder() {
        assert_eq!(class_folder("NEUTROPHIL"), "NEUTROPHIL");
        assert_eq!(class_folder("../etc"), "___etc");
        assert_eq!(class_folder("a/b c"), "a_b_c");
    }
}
