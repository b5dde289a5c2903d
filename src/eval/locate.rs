//! Scores the white-cell locator against annotated fields (BCCD layout:
//! `JPEGImages/*.jpg` with `Annotations/<same stem>.xml`, white cells named `WBC`).
//!
//! A detection matches an annotated white cell when their boxes overlap with IoU ≥ 0.5;
//! matching is one-to-one, best overlaps first. Unmatched detections are false positives.
//! Only the locator itself is timed, not JPEG decoding.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use image::RgbImage;
use serde::Serialize;

use super::shifts::{self, Shift};
use super::voc::parse_voc;
use crate::vision::PixelBox;
use crate::vision::SessionNorms;
use crate::vision::locator::{locate_detailed, locate_in_session};
use crate::vision::params::LocatorParams;

/// Minimum IoU for a detection to count as finding an annotated cell.
pub const IOU_THRESHOLD: f32 = 0.5;

/// The outcome of [`evaluate_dir`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LocateReport {
    /// Fraction of annotated white cells found (0..=1); 1 when there are none.
    pub recall: f64,
    /// Unmatched detections per field.
    pub fp_per_field: f64,
    /// Fields evaluated.
    pub fields: usize,
    /// Median locator time per field, milliseconds.
    pub ms_median: f64,
    /// 95th-percentile locator time per field, milliseconds.
    pub ms_p95: f64,
    /// Median time to read and decode one field's image file, milliseconds (not part of
    /// `ms_median`; shown because the daemon pays it too for MJPEG cameras).
    pub decode_ms_median: f64,
    /// Annotated white cells.
    pub wbc_total: usize,
    /// Annotated white cells found.
    pub wbc_found: usize,
    /// Unmatched detections in total.
    pub false_positives: usize,
    /// IoU threshold used for matching.
    pub iou_threshold: f32,
    /// Fields with at least one missed white cell (file names).
    pub missed_in: Vec<String>,
    /// Fields with at least one false positive (file names).
    pub false_positive_in: Vec<String>,
    /// Images skipped (unreadable image or annotation), with the reason.
    pub skipped: Vec<String>,
    /// Median red-cell diameter the locator measured, picture pixels (fields with a ruler).
    pub red_cell_px_median: Option<f64>,
    /// Fields where the red cells could be measured.
    pub fields_with_ruler: usize,
}

/// Why a directory could not be evaluated at all.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The image folder could not be listed.
    #[error(
        "cannot read {path}: {source} (expected a BCCD-style folder with JPEGImages/ and Annotations/)"
    )]
    Io {
        /// The folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// No image had a usable annotation.
    #[error("no annotated images in {0} (expected JPEGImages/*.jpg with Annotations/*.xml)")]
    Empty(PathBuf),
}

/// Matches of one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldScore {
    /// Annotated white cells.
    pub truth: usize,
    /// Of those, found.
    pub found: usize,
    /// Detections that matched nothing.
    pub false_positives: usize,
}

/// One-to-one greedy matching of `detections` to `truth` at [`IOU_THRESHOLD`].
pub fn score_field(detections: &[PixelBox], truth: &[PixelBox]) -> FieldScore {
    score_field_ignoring(detections, truth, &[])
}

/// [`score_field`], where unmatched detections on an `ignore` box (IoU ≥ the threshold,
/// or centred inside it: cells a synthetic shift cut in half) are not false positives.
pub fn score_field_ignoring(
    detections: &[PixelBox],
    truth: &[PixelBox],
    ignore: &[PixelBox],
) -> FieldScore {
    let mut pairs: Vec<(f32, usize, usize)> = Vec::new();
    for (d, det) in detections.iter().enumerate() {
        for (t, gt) in truth.iter().enumerate() {
            let iou = det.iou(gt);
            if iou >= IOU_THRESHOLD {
                pairs.push((iou, d, t));
            }
        }
    }
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut det_used = vec![false; detections.len()];
    let mut gt_used = vec![false; truth.len()];
    let mut found = 0;
    for (_, d, t) in pairs {
        if !det_used[d] && !gt_used[t] {
            det_used[d] = true;
            gt_used[t] = true;
            found += 1;
        }
    }
    let on_ignored = |d: &PixelBox| {
        let (cx, cy) = d.centre();
        ignore.iter().any(|g| {
            d.iou(g) >= IOU_THRESHOLD
                || ((g.x0 as f32..g.x1 as f32).contains(&cx)
                    && (g.y0 as f32..g.y1 as f32).contains(&cy))
        })
    };
    let false_positives = detections
        .iter()
        .zip(&det_used)
        .filter(|(d, used)| !**used && !on_ignored(d))
        .count();
    FieldScore {
        truth: truth.len(),
        found,
        false_positives,
    }
}

fn load_field(image_path: &Path, xml_path: &Path) -> Result<(RgbImage, Vec<PixelBox>), String> {
    let xml =
        std::fs::read_to_string(xml_path).map_err(|e| format!("{}: {e}", xml_path.display()))?;
    let truth = parse_voc(&xml)
        .map_err(|e| format!("{}: {e}", xml_path.display()))?
        .into_iter()
        .filter(|o| o.name == "WBC")
        .map(|o| o.bbox)
        .collect();
    let image = crate::imagefile::read_rgb(image_path)
        .map_err(|e| format!("{}: {e}", image_path.display()))?;
    Ok((image, truth))
}

/// The `p` quantile of `sorted` values by nearest rank (0 for none).
pub(super) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Runs the locator over every `JPEGImages/*.jpg` (or `.jpeg`/`.png`) of `dir` that has an
/// `Annotations/<stem>.xml` and scores it. The fields are taken, in name order, as the
/// frames of one session ([`crate::vision::session`]), as the daemon sees a microscope's
/// frames. Images without a readable annotation are listed in [`LocateReport::skipped`] and
/// not scored.
pub fn evaluate_dir(dir: &Path, params: &LocatorParams) -> Result<LocateReport, EvalError> {
    evaluate_dir_shifted(dir, params, None, false)
}

/// [`evaluate_dir`] on every field changed by a synthetic `shift` first (with its seed;
/// see [`super::shifts`]); `per_frame` makes each field its own session (the adaptive
/// locator then corrects each frame by its own measurements). Only the locator is timed,
/// not the shift.
pub fn evaluate_dir_shifted(
    dir: &Path,
    params: &LocatorParams,
    shift: Option<(Shift, u64)>,
    per_frame: bool,
) -> Result<LocateReport, EvalError> {
    let images_dir = dir.join("JPEGImages");
    let entries = std::fs::read_dir(&images_dir).map_err(|source| EvalError::Io {
        path: images_dir.clone(),
        source,
    })?;
    let mut images: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "jpg" | "jpeg" | "png"))
        })
        .collect();
    images.sort();

    let mut times = Vec::with_capacity(images.len());
    let mut decode_times = Vec::with_capacity(images.len());
    let mut rulers = Vec::new();
    let (mut total, mut found, mut fps) = (0, 0, 0);
    let mut session = SessionNorms::new();
    let (mut missed_in, mut false_positive_in, mut skipped) = (Vec::new(), Vec::new(), Vec::new());
    for (index, image_path) in images.iter().enumerate() {
        let name = image_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let stem = image_path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let xml_path = dir.join("Annotations").join(format!("{stem}.xml"));
        let load_start = Instant::now();
        let loaded = load_field(image_path, &xml_path);
        decode_times.push(load_start.elapsed().as_secs_f64() * 1000.0);
        let (image, truth, ignore) = match loaded {
            Ok((image, truth)) => match shift {
                Some((shift, seed)) => {
                    let s = shifts::apply(&image, &truth, shift, seed, index as u64);
                    (s.image, s.truth, s.ignore)
                }
                None => (image, truth, Vec::new()),
            },
            Err(reason) => {
                log::warn!("locate-eval: skipping {reason}");
                skipped.push(reason);
                continue;
            }
        };
        let start = Instant::now();
        let sighting = if per_frame {
            locate_detailed(&image, params)
        } else {
            locate_in_session(&image, params, session.norms())
        };
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        session.observe(sighting.measured());
        let candidates = sighting.candidates;
        if let Some(d) = sighting.red_cell_px {
            rulers.push(f64::from(d));
        }
        let detections: Vec<PixelBox> = candidates.iter().map(|c| c.cell).collect();
        let score = score_field_ignoring(&detections, &truth, &ignore);
        total += score.truth;
        found += score.found;
        fps += score.false_positives;
        if score.found < score.truth || score.false_positives > 0 {
            // With -v: what was annotated against what was found, to see why.
            let nuclei: Vec<PixelBox> = candidates.iter().map(|c| c.nucleus).collect();
            log::debug!(
                "locate-eval {name}: annotated {truth:?}, found {detections:?} (nuclei {nuclei:?})"
            );
        }
        if score.found < score.truth {
            missed_in.push(name.clone());
        }
        if score.false_positives > 0 {
            false_positive_in.push(name);
        }
    }
    if times.is_empty() {
        return Err(EvalError::Empty(dir.to_path_buf()));
    }
    let fields = times.len();
    times.sort_by(f64::total_cmp);
    decode_times.sort_by(f64::total_cmp);
    Ok(LocateReport {
        recall: if total == 0 {
            1.0
        } else {
            found as f64 / total as f64
        },
        fp_per_field: fps as f64 / fields as f64,
        fields,
        ms_median: percentile(&times, 0.5),
        ms_p95: percentile(&times, 0.95),
        decode_ms_median: percentile(&decode_times, 0.5),
        wbc_total: total,
        wbc_found: found,
        false_positives: fps,
        iou_threshold: IOU_THRESHOLD,
        missed_in,
        false_positive_in,
        skipped,
        fields_with_ruler: rulers.len(),
        red_cell_px_median: {
            rulers.sort_by(f64::total_cmp);
            rulers.get(rulers.len() / 2).copied()
        },
    })
}

impl fmt::Display for LocateReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "fields            {}", self.fields)?;
        writeln!(
            f,
            "recall            {:.1}% ({}/{} white cells at IoU >= {})",
            self.recall * 100.0,
            self.wbc_found,
            self.wbc_total,
            self.iou_threshold
        )?;
        writeln!(
            f,
            "false positives   {:.3} per field ({} in total)",
            self.fp_per_field, self.false_positives
        )?;
        writeln!(
            f,
            "locator time      {:.2} ms median, {:.2} ms p95 per field",
            self.ms_median, self.ms_p95
        )?;
        writeln!(
            f,
            "image decode      {:.2} ms median per field (not included above)",
            self.decode_ms_median
        )?;
        match self.red_cell_px_median {
            Some(d) => writeln!(
                f,
                "red-cell diameter {d:.1} px median ({} of {} fields measured)",
                self.fields_with_ruler, self.fields
            )?,
            None => writeln!(f, "red-cell diameter not measured (no lone red cells seen)")?,
        }
        if !self.missed_in.is_empty() {
            writeln!(f, "missed in         {}", self.missed_in.join(" "))?;
        }
        if !self.false_positive_in.is_empty() {
            writeln!(f, "false positive in {}", self.false_positive_in.join(" "))?;
        }
        for s in &self.skipped {
            writeln!(f, "skipped           {s}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(x0: u32, y0: u32, x1: u32, y1: u32) -> PixelBox {
        PixelBox { x0, y0, x1, y1 }
    }

    #[test]
    fn matching_is_one_to_one() {
        let truth = [b(0, 0, 100, 100), b(300, 300, 400, 400)];
        let dets = [b(5, 5, 100, 100), b(0, 0, 95, 95), b(600, 0, 640, 40)];
        let s = score_field(&dets, &truth);
        assert_eq!(
            s,
            FieldScore {
                truth: 2,
                found: 1,
                false_positives: 2
            }
        );
        assert_eq!(
            score_field(&[], &[]),
            FieldScore {
                truth: 0,
                found: 0,
                false_positives: 0
            }
        );
        // IoU below the threshold does not count.
        assert_eq!(score_field(&[b(50, 0, 150, 100)], &truth[..1]).found, 0);
    }

    #[test]
    fn missing_directory_and_empty_directory_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let err = evaluate_dir(&dir.path().join("none"), &LocatorParams::default()).unwrap_err();
        assert!(err.to_string().contains("JPEGImages"), "{err}");
        std::fs::create_dir(dir.path().join("JPEGImages")).unwrap();
        std::fs::write(dir.path().join("JPEGImages/a.jpg"), b"not a jpeg").unwrap();
        let err = evaluate_dir(dir.path(), &LocatorParams::default()).unwrap_err();
        assert!(matches!(err, EvalError::Empty(_)), "{err}");
    }
}
