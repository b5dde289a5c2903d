//! Scores the locator on pictures that are already single-cell crops (`DIR/CLASS/*.png`),
//! the way `classify` and `eval` re-frame them: is the chosen cell the centred one, and,
//! where expert masks exist (`MASKS/<same file name>`, cell pixels non-zero), how well does
//! the chosen cell's box cover the mask's cell box.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use image::GrayImage;
use serde::Serialize;

use super::locate::{EvalError, percentile};
use super::model::{EvalError as ModelEvalError, list_folders};
use crate::vision::PixelBox;
use crate::vision::framing::{crop_framing, find_in_picture};
use crate::vision::params::LocatorParams;

/// IoU the chosen cell's box must reach against the mask's cell box to count as framed.
pub const MASK_IOU_TARGET: f32 = 0.7;

/// The outcome of [`evaluate_crops`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CropReport {
    /// Pictures scored.
    pub pictures: usize,
    /// Pictures where a white cell was found.
    pub found: usize,
    /// Pictures whose chosen cell's box holds the picture's centre.
    pub centred: usize,
    /// `centred / pictures`.
    pub centred_rate: f64,
    /// Pictures with a mask.
    pub with_mask: usize,
    /// Of those, how many have IoU ≥ [`MASK_IOU_TARGET`] (no cell found counts as 0).
    pub iou_ok: usize,
    /// `iou_ok / with_mask` (0 without masks).
    pub iou_ok_rate: f64,
    /// Median IoU over pictures with a mask.
    pub iou_median: f64,
    /// Median red-cell diameter measured, pixels, over pictures where red cells were seen.
    pub red_cell_px_median: Option<f64>,
    /// The found cells' framing ([`crop_framing`]): fraction of the short side at the 2nd,
    /// 50th and 98th percentile, over pictures where a cell was found.
    pub fraction_p2_p50_p98: Option<[f64; 3]>,
    /// 98th percentile of the found cells' distance from the centre ([`crop_framing`]).
    pub offset_p98: Option<f64>,
    /// Median locator time per picture, milliseconds.
    pub ms_median: f64,
    /// Pictures with no white cell found.
    pub missed_in: Vec<String>,
    /// Pictures whose chosen cell is not the centred one.
    pub off_centre_in: Vec<String>,
    /// Pictures under the IoU target.
    pub low_iou_in: Vec<String>,
    /// Unreadable pictures or masks, with the reason.
    pub skipped: Vec<String>,
}

/// Box of the mask's non-zero pixels; `None` for an empty mask.
pub fn mask_box(mask: &GrayImage) -> Option<PixelBox> {
    let mut b: Option<PixelBox> = None;
    for (x, y, p) in mask.enumerate_pixels() {
        if p.0[0] == 0 {
            continue;
        }
        let e = b.get_or_insert(PixelBox {
            x0: x,
            y0: y,
            x1: x + 1,
            y1: y + 1,
        });
        e.x0 = e.x0.min(x);
        e.y0 = e.y0.min(y);
        e.x1 = e.x1.max(x + 1);
        e.y1 = e.y1.max(y + 1);
    }
    b
}

fn list_pictures(dir: &Path) -> Result<Vec<PathBuf>, EvalError> {
    let folders = list_folders(dir).map_err(|e| match e {
        ModelEvalError::Io { path, source } => EvalError::Io { path, source },
        _ => EvalError::Empty(dir.to_path_buf()),
    })?;
    Ok(folders.into_iter().flat_map(|(_, files)| files).collect())
}

fn median(v: Vec<f64>) -> f64 {
    quantile(v, 0.5).unwrap_or(0.0)
}

/// The `q` quantile by `locate-eval`'s nearest-rank rule, `None` for no values.
fn quantile(mut v: Vec<f64>, q: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(percentile(&v, q.clamp(0.0, 1.0)))
}

/// Finds and chooses the white cell in every `dir/CLASS/*.{jpg,jpeg,png}` and scores it.
pub fn evaluate_crops(
    dir: &Path,
    masks: Option<&Path>,
    params: &LocatorParams,
) -> Result<CropReport, EvalError> {
    let pictures = list_pictures(dir)?;
    let (mut found, mut centred, mut with_mask, mut iou_ok) = (0, 0, 0, 0);
    let (mut ious, mut times, mut rulers) = (Vec::new(), Vec::new(), Vec::new());
    let (mut fractions, mut offsets) = (Vec::new(), Vec::new());
    let (mut missed_in, mut off_centre_in, mut low_iou_in, mut skipped) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut scored = 0;
    for path in &pictures {
        let parent = path
            .parent()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = format!("{parent}/{file}");
        let image = match crate::imagefile::read_rgb(path) {
            Ok(i) => i,
            Err(e) => {
                skipped.push(format!("{}: {e}", path.display()));
                continue;
            }
        };
        let mask = match masks {
            Some(m) => match image::open(m.join(&file)) {
                Ok(i) => Some(i.into_luma8()),
                Err(e) => {
                    skipped.push(format!("{}: {e}", m.join(&file).display()));
                    continue;
                }
            },
            None => None,
        };
        scored += 1;
        let start = Instant::now();
        let chosen = find_in_picture(&image, params);
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        let (w, h) = image.dimensions();
        let cell = chosen.as_ref().map(|c| c.candidate.cell);
        if let Some(found_cell) = &chosen {
            found += 1;
            let framing = crop_framing(w, h, &found_cell.candidate.cell);
            fractions.push(f64::from(framing.fraction));
            offsets.push(f64::from(framing.offset));
            if let Some(d) = found_cell.red_cell_px {
                rulers.push(f64::from(d));
            }
        } else {
            missed_in.push(name.clone());
        }
        let holds_centre = cell
            .is_some_and(|b| (b.x0..b.x1).contains(&(w / 2)) && (b.y0..b.y1).contains(&(h / 2)));
        if holds_centre {
            centred += 1;
        } else if cell.is_some() {
            off_centre_in.push(name.clone());
        }
        if let Some(mask) = mask {
            with_mask += 1;
            let iou = match (cell, mask_box(&mask)) {
                (Some(c), Some(m)) => c.iou(&m),
                _ => 0.0,
            };
            ious.push(f64::from(iou));
            if iou >= MASK_IOU_TARGET {
                iou_ok += 1;
            } else {
                low_iou_in.push(format!("{name} ({iou:.2})"));
            }
        }
    }
    if scored == 0 {
        return Err(EvalError::Empty(dir.to_path_buf()));
    }
    Ok(CropReport {
        pictures: scored,
        found,
        centred,
        centred_rate: centred as f64 / scored as f64,
        with_mask,
        iou_ok,
        iou_ok_rate: if with_mask == 0 {
            0.0
        } else {
            iou_ok as f64 / with_mask as f64
        },
        iou_median: median(ious),
        red_cell_px_median: (!rulers.is_empty()).then(|| median(rulers)),
        fraction_p2_p50_p98: match (
            quantile(fractions.clone(), 0.02),
            quantile(fractions.clone(), 0.5),
            quantile(fractions, 0.98),
        ) {
            (Some(a), Some(b), Some(c)) => Some([a, b, c]),
            _ => None,
        },
        offset_p98: quantile(offsets, 0.98),
        ms_median: median(times),
        missed_in,
        off_centre_in,
        low_iou_in,
        skipped,
    })
}

impl fmt::Display for CropReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "pictures          {}", self.pictures)?;
        writeln!(
            f,
            "cell found        {:.1}% ({}/{})",
            100.0 * self.found as f64 / self.pictures.max(1) as f64,
            self.found,
            self.pictures
        )?;
        writeln!(
            f,
            "centred cell      {:.1}% ({}/{} chosen cell's box holds the picture's centre)",
            self.centred_rate * 100.0,
            self.centred,
            self.pictures
        )?;
        if self.with_mask > 0 {
            writeln!(
                f,
                "mask IoU >= {MASK_IOU_TARGET}    {:.1}% ({}/{} pictures; median IoU {:.3})",
                self.iou_ok_rate * 100.0,
                self.iou_ok,
                self.with_mask,
                self.iou_median
            )?;
        }
        match self.red_cell_px_median {
            Some(d) => writeln!(f, "red-cell diameter {d:.1} px median")?,
            None => writeln!(f, "red-cell diameter not measured (no red cells seen)")?,
        }
        if let (Some([a, b, c]), Some(o)) = (self.fraction_p2_p50_p98, self.offset_p98) {
            writeln!(
                f,
                "cell fraction     {b:.3} median, {a:.3}-{c:.3} (2nd-98th percentile); off centre {o:.3} (98th)"
            )?;
        }
        writeln!(
            f,
            "locator time      {:.2} ms median per picture",
            self.ms_median
        )?;
        let list = |f: &mut fmt::Formatter<'_>, label: &str, v: &[String]| {
            if v.is_empty() {
                return Ok(());
            }
            let shown: Vec<&str> = v.iter().take(30).map(String::as_str).collect();
            let more = if v.len() > 30 {
                format!(" ... ({} in all)", v.len())
            } else {
                String::new()
            };
            writeln!(f, "{label} {}{more}", shown.join(" "))
        };
        list(f, "no cell in       ", &self.missed_in)?;
        list(f, "off centre in    ", &self.off_centre_in)?;
        list(f, "low IoU in       ", &self.low_iou_in)?;
        for s in &self.skipped {
            writeln!(f, "skipped           {s}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Luma;

    #[test]
    fn mask_box_covers_every_non_zero_pixel() {
        let mut m = GrayImage::new(10, 8);
        assert_eq!(mask_box(&m), None);
        m.put_pixel(2, 3, Luma([128]));
        m.put_pixel(6, 5, Luma([255]));
        assert_eq!(
            mask_box(&m),
            Some(PixelBox {
                x0: 2,
                y0: 3,
                x1: 7,
                y1: 6
            })
        );
    }

    #[test]
    fn quantiles_take_the_nearest_rank() {
        assert_eq!(quantile(vec![], 0.5), None);
        let v: Vec<f64> = (0..101).rev().map(f64::from).collect();
        assert_eq!(quantile(v.clone(), 0.02), Some(2.0));
        assert_eq!(quantile(v.clone(), 0.5), Some(50.0));
        assert_eq!(quantile(v, 0.98), Some(98.0));
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
    }

    #[test]
    fn empty_or_missing_directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(evaluate_crops(&dir.path().join("no"), None, &LocatorParams::default()).is_err());
        std::fs::create_dir(dir.path().join("LYMPHOCYTE")).unwrap();
        let err = evaluate_crops(dir.path(), None, &LocatorParams::default()).unwrap_err();
        assert!(matches!(err, EvalError::Empty(_)), "{err}");
    }
}
