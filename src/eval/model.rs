//! Evaluating a classifier on a labelled folder tree `DIR/CLASS/*.{jpg,jpeg,png}` through the
//! daemon's own path (file decoding, preprocessing, runtime): accuracy, per-class precision,
//! recall and F1, the confusion matrix, throughput and latency percentiles. The CLI wraps
//! these functions (`hematovision eval`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::model::Classifier;
use crate::model::preprocess::read_rgb;

/// File extensions evaluated (compared case-insensitively).
pub const IMAGE_EXTENSIONS: [&str; 3] = ["jpg", "jpeg", "png"];

/// Errors that stop an evaluation before it starts.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The folder cannot be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A class folder matches none of the model's labels.
    #[error(
        "{path}: folder {folder:?} is not one of the model's classes {labels:?} (compared case-insensitively)"
    )]
    UnknownClass {
        /// The folder.
        path: PathBuf,
        /// Its name.
        folder: String,
        /// The model's labels.
        labels: Vec<String>,
    },
    /// No images were found.
    #[error("{0}: no .jpg/.jpeg/.png images in CLASS/ sub-folders")]
    NoImages(PathBuf),
    /// The classifier failed on an image.
    #[error("classification failed: {0}")]
    Classify(String),
}

/// One labelled image of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledImage {
    /// The file.
    pub path: PathBuf,
    /// Index of its class in the model's labels.
    pub class: usize,
}

/// Lists `dir/CLASS/*.{jpg,jpeg,png}`, sorted, with class folders matched case-insensitively
/// to `labels`. A folder that is not a class is an error (a typo must not drop a class);
/// plain files directly in `dir` are ignored.
pub fn list_labelled(dir: &Path, labels: &[String]) -> Result<Vec<LabelledImage>, EvalError> {
    let mut items = Vec::new();
    for (folder, files) in list_folders(dir)? {
        let name = folder
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let class = labels
            .iter()
            .position(|l| l.to_lowercase() == name.to_lowercase())
            .ok_or_else(|| EvalError::UnknownClass {
                path: folder.clone(),
                folder: name.clone(),
                labels: labels.to_vec(),
            })?;
        items.extend(files.into_iter().map(|path| LabelledImage { path, class }));
    }
    Ok(items)
}

/// Every sub-folder of `dir` with its `*.{jpg,jpeg,png}` files, both sorted; an error when
/// there is no image at all.
pub fn list_folders(dir: &Path) -> Result<Vec<(PathBuf, Vec<PathBuf>)>, EvalError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| EvalError::Io { path, source }
    };
    let mut folders: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    folders.sort();
    let mut out = Vec::with_capacity(folders.len());
    for folder in folders {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
            .map_err(io(&folder))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file()
                    && p.extension().is_some_and(|e| {
                        IMAGE_EXTENSIONS.contains(&e.to_string_lossy().to_lowercase().as_str())
                    })
            })
            .collect();
        files.sort();
        out.push((folder, files));
    }
    if out.iter().all(|(_, files)| files.is_empty()) {
        return Err(EvalError::NoImages(dir.to_path_buf()));
    }
    Ok(out)
}

/// Precision, recall, F1 and support of one class.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ClassMetrics {
    /// Correct predictions of the class / all predictions of it (0 if never predicted).
    pub precision: f64,
    /// Correct predictions of the class / images of it (0 if it has none).
    pub recall: f64,
    /// Harmonic mean of precision and recall (0 if both are 0).
    pub f1: f64,
    /// Number of images of the class.
    pub support: usize,
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Slowest.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

impl Latency {
    /// Percentiles (nearest rank) of the given durations; all zero if there are none.
    pub fn from_durations(durations: &[Duration]) -> Self {
        let mut ms: Vec<f64> = durations.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        ms.sort_by(f64::total_cmp);
        let pick = |q: f64| -> f64 {
            if ms.is_empty() {
                return 0.0;
            }
            let rank = (q * ms.len() as f64).ceil() as usize;
            ms[rank.clamp(1, ms.len()) - 1]
        };
        let mean = if ms.is_empty() {
            0.0
        } else {
            ms.iter().sum::<f64>() / ms.len() as f64
        };
        Self {
            p50: pick(0.50),
            p90: pick(0.90),
            p95: pick(0.95),
            p99: pick(0.99),
            max: ms.last().copied().unwrap_or(0.0),
            mean,
        }
    }
}

/// An image that could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// The file.
    pub file: PathBuf,
    /// Why.
    pub error: String,
}

/// The result of an evaluation. Serialises to one JSON object with the keys `accuracy`, `n`,
/// `labels`, `per_class` (label → metrics, in label order), `confusion` (rows = true class,
/// columns = predicted, label order), `images_per_second`, `latency_ms`, `failed`, and
/// with a gate `gate` and `unfamiliar` (label → images flagged).
#[derive(Debug, Clone, PartialEq)]
pub struct EvalReport {
    /// Fraction of images whose top-1 class is right.
    pub accuracy: f64,
    /// Number of images classified.
    pub n: usize,
    /// The model's labels.
    pub labels: Vec<String>,
    /// Metrics per label, in label order.
    pub per_class: Vec<ClassMetrics>,
    /// `confusion[true][predicted]`.
    pub confusion: Vec<Vec<usize>>,
    /// Images per second over the whole run (decoding included).
    pub images_per_second: f64,
    /// Latency of one classification (preprocessing and inference), in milliseconds.
    pub latency_ms: Latency,
    /// Images that could not be decoded or classified (not counted in `n`).
    pub failed: Vec<Failure>,
    /// The unfamiliar-cell gate in use (`sha256:<12 hex>`), `None` without one.
    pub gate: Option<String>,
    /// Per true class, in label order: images the gate flagged (the daemon would count
    /// them as unidentified, for review); all zero without a gate.
    pub unfamiliar: Vec<usize>,
}

struct PerClassMap<'a>(&'a [String], &'a [ClassMetrics]);

impl Serialize for PerClassMap<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (label, metrics) in self.0.iter().zip(self.1) {
            map.serialize_entry(label, metrics)?;
        }
        map.end()
    }
}

impl Serialize for EvalReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("accuracy", &self.accuracy)?;
        map.serialize_entry("n", &self.n)?;
        map.serialize_entry("labels", &self.labels)?;
        map.serialize_entry("per_class", &PerClassMap(&self.labels, &self.per_class))?;
        map.serialize_entry("confusion", &self.confusion)?;
        map.serialize_entry("images_per_second", &self.images_per_second)?;
        map.serialize_entry("latency_ms", &self.latency_ms)?;
        map.serialize_entry("failed", &self.failed)?;
        if let Some(gate) = &self.gate {
            map.serialize_entry("gate", gate)?;
            let flagged: BTreeMap<&String, usize> = self
                .labels
                .iter()
                .zip(self.unfamiliar.iter().copied())
                .collect();
            map.serialize_entry("unfamiliar", &flagged)?;
        }
        map.end()
    }
}

/// Computes accuracy and per-class metrics from a confusion matrix (`confusion[t][p]`).
pub fn metrics_from_confusion(confusion: &[Vec<usize>]) -> (f64, Vec<ClassMetrics>) {
    let k = confusion.len();
    let total: usize = confusion.iter().flatten().sum();
    let correct: usize = (0..k)
        .map(|i| confusion[i].get(i).copied().unwrap_or(0))
        .sum();
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let per_class = (0..k)
        .map(|c| {
            let tp = confusion[c].get(c).copied().unwrap_or(0);
            let support: usize = confusion[c].iter().sum();
            let predicted: usize = confusion
                .iter()
                .map(|row| row.get(c).copied().unwrap_or(0))
                .sum();
            let precision = ratio(tp, predicted);
            let recall = ratio(tp, support);
            let f1 = if precision + recall == 0.0 {
                0.0
            } else {
                2.0 * precision * recall / (precision + recall)
            };
            ClassMetrics {
                precision,
                recall,
                f1,
                support,
            }
        })
        .collect();
    (ratio(correct, total), per_class)
}

/// Index of the largest value (the first one on ties); `None` for an empty or all-NaN vector.
pub fn top1(probabilities: &[f32]) -> Option<usize> {
    probabilities
        .iter()
        .enumerate()
        .filter(|(_, p)| !p.is_nan())
        .fold(None, |best: Option<(usize, f32)>, (i, &p)| match best {
            Some((_, bp)) if bp >= p => best,
            _ => Some((i, p)),
        })
        .map(|(i, _)| i)
}

/// Evaluates `classifier` on the tree at `dir`. `progress(done, total)` is called after each
/// image (for a progress bar). Unreadable images are listed in the report, not fatal.
pub fn evaluate(
    classifier: &mut dyn Classifier,
    dir: &Path,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<EvalReport, EvalError> {
    let labels = classifier.labels().to_vec();
    let items = list_labelled(dir, &labels)?;
    let k = labels.len();
    let mut confusion = vec![vec![0usize; k]; k];
    let mut latencies = Vec::with_capacity(items.len());
    let mut unfamiliar = vec![0usize; k];
    let mut failed = Vec::new();
    let started = Instant::now();
    for (done, item) in items.iter().enumerate() {
        let outcome = read_rgb(&item.path)
            .map_err(|e| format!("cannot decode: {e}"))
            .and_then(|image| {
                let t = Instant::now();
                let answer = classifier
                    .classify_cell(&image)
                    .map_err(|e| e.to_string())?;
                latencies.push(t.elapsed());
                unfamiliar[item.class] += usize::from(answer.unfamiliar);
                let probs = answer.probabilities;
                top1(&probs).filter(|&p| p < k).ok_or_else(|| {
                    format!(
                        "the classifier returned {} values for {k} labels",
                        probs.len()
                    )
                })
            });
        match outcome {
            Ok(predicted) => confusion[item.class][predicted] += 1,
            Err(error) => {
                log::warn!("{}: {error}", item.path.display());
                failed.push(Failure {
                    file: item.path.clone(),
                    error,
                });
            }
        }
        progress(done + 1, items.len());
    }
    let elapsed = started.elapsed().as_secs_f64();
    let n: usize = confusion.iter().flatten().sum();
    let (accuracy, per_class) = metrics_from_confusion(&confusion);
    Ok(EvalReport {
        accuracy,
        n,
        labels,
        per_class,
        confusion,
        images_per_second: if elapsed > 0.0 {
            n as f64 / elapsed
        } else {
            0.0
        },
        latency_ms: Latency::from_durations(&latencies),
        failed,
        gate: classifier.provenance().gate,
        unfamiliar,
    })
}

/// Above this many classes the printed report lists the most frequent confusions instead of
/// the whole matrix.
pub const MAX_PRINTED_MATRIX: usize = 30;

impl fmt::Display for EvalReport {
    /// The human-readable report: accuracy, per-class table, confusion matrix, speed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let correct: usize = (0..self.labels.len()).map(|i| self.confusion[i][i]).sum();
        writeln!(
            f,
            "accuracy {:.2}% ({correct}/{} images)",
            self.accuracy * 100.0,
            self.n
        )?;
        let w = self
            .labels
            .iter()
            .map(|l| l.len())
            .max()
            .unwrap_or(5)
            .max(5);
        writeln!(f)?;
        writeln!(f, "{:<w$}  precision  recall     f1  support", "class")?;
        for (label, m) in self.labels.iter().zip(&self.per_class) {
            writeln!(
                f,
                "{label:<w$}  {:>9.4}  {:>6.4}  {:>5.4}  {:>7}",
                m.precision, m.recall, m.f1, m.support
            )?;
        }
        writeln!(f)?;
        if self.labels.len() > MAX_PRINTED_MATRIX {
            self.print_top_confusions(f)?;
        } else {
            self.print_matrix(f, w)?;
        }
        writeln!(f)?;
        let l = &self.latency_ms;
        writeln!(
            f,
            "speed: {:.1} images/s; latency ms: p50 {:.2}, p90 {:.2}, p95 {:.2}, p99 {:.2}, max {:.2}",
            self.images_per_second, l.p50, l.p90, l.p95, l.p99, l.max
        )?;
        if let Some(gate) = &self.gate {
            let flagged: usize = self.unfamiliar.iter().sum();
            let per_class: Vec<String> = self
                .labels
                .iter()
                .zip(&self.unfamiliar)
                .map(|(l, n)| format!("{l} {n}"))
                .collect();
            writeln!(
                f,
                "unfamiliar: the gate {gate} flags {flagged} of {} images ({:.1}%) for review: {}",
                self.n,
                if self.n == 0 {
                    0.0
                } else {
                    flagged as f64 * 100.0 / self.n as f64
                },
                per_class.join(", ")
            )?;
        }
        if !self.failed.is_empty() {
            writeln!(f, "{} image(s) could not be evaluated:", self.failed.len())?;
            for fail in &self.failed {
                writeln!(f, "  {}: {}", fail.file.display(), fail.error)?;
            }
        }
        Ok(())
    }
}

impl EvalReport {
    fn print_matrix(&self, f: &mut fmt::Formatter<'_>, w: usize) -> fmt::Result {
        writeln!(
            f,
            "confusion matrix (rows = true class, columns = predicted)"
        )?;
        let cw = self
            .confusion
            .iter()
            .flatten()
            .map(|v| v.to_string().len())
            .max()
            .unwrap_or(1)
            .max(4);
        write!(f, "{:<w$}", "")?;
        for label in &self.labels {
            let short: String = label.chars().take(cw).collect();
            write!(f, "  {short:>cw$}")?;
        }
        writeln!(f)?;
        for (label, row) in self.labels.iter().zip(&self.confusion) {
            write!(f, "{label:<w$}")?;
            for v in row {
                write!(f, "  {v:>cw$}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }

    fn print_top_confusions(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "most frequent confusions (true -> predicted):")?;
        let mut pairs: Vec<(usize, usize, usize)> = self
            .confusion
            .iter()
            .enumerate()
            .flat_map(|(t, row)| row.iter().enumerate().map(move |(p, &c)| (t, p, c)))
            .filter(|&(t, p, c)| t != p && c > 0)
            .collect();
        pairs.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
        for (t, p, c) in pairs.iter().take(20) {
            writeln!(f, "  {} -> {}: {c}", self.labels[*t], self.labels[*p])?;
        }
        if pairs.is_empty() {
            writeln!(f, "  none")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_of_a_known_matrix() {
        // true A: 8 right, 2 as B; true B: 1 as A, 4 right; true C: none.
        let confusion = vec![vec![8, 2, 0], vec![1, 4, 0], vec![0, 0, 0]];
        let (acc, m) = metrics_from_confusion(&confusion);
        assert!((acc - 12.0 / 15.0).abs() < 1e-12);
        assert!((m[0].precision - 8.0 / 9.0).abs() < 1e-12);
        assert!((m[0].recall - 0.8).abs() < 1e-12);
        assert!((m[1].precision - 4.0 / 6.0).abs() < 1e-12);
        assert!((m[1].recall - 0.8).abs() < 1e-12);
        let f1 = 2.0 * (8.0 / 9.0) * 0.8 / (8.0 / 9.0 + 0.8);
        assert!((m[0].f1 - f1).abs() < 1e-12);
        assert_eq!(
            (m[2].precision, m[2].recall, m[2].f1, m[2].support),
            (0.0, 0.0, 0.0, 0)
        );
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let d: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let l = Latency::from_durations(&d);
        assert_eq!(
            (l.p50, l.p90, l.p95, l.p99, l.max),
            (50.0, 90.0, 95.0, 99.0, 100.0)
        );
        assert!((l.mean - 50.5).abs() < 1e-9);
        assert_eq!(Latency::from_durations(&[]).max, 0.0);
    }

    #[test]
    fn top1_prefers_the_first_maximum_and_skips_nan() {
        assert_eq!(top1(&[0.1, 0.7, 0.7]), Some(1));
        assert_eq!(top1(&[f32::NAN, 0.2]), Some(1));
        assert_eq!(top1(&[]), None);
    }
}
