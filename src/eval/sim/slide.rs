//! The virtual smear: real BCCD camera fields stitched into one large slide, with the
//! slide position and class of every white cell.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use image::RgbImage;

use crate::camera::scan::{Rng, stitch};
use crate::eval::voc::parse_voc;
use crate::vision::PixelBox;

/// Errors while building a slide.
#[derive(Debug, thiserror::Error)]
pub enum SlideError {
    /// A file of the fields folder could not be read.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Too few usable fields for the requested mosaic.
    #[error(
        "{dir} holds {found} usable fields (one white cell, fully inside, with a class in labels.csv) but the slide needs {needed}"
    )]
    TooFewFields {
        /// The fields folder.
        dir: PathBuf,
        /// Usable fields found.
        found: usize,
        /// Fields needed.
        needed: usize,
    },
}

/// One white cell on the slide.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TruthCell {
    /// Index in [`Slide::cells`].
    pub index: usize,
    /// Its box in slide pixels (from the field's VOC annotation).
    pub bbox: PixelBox,
    /// Its class as annotated (BCCD upper-case names, e.g. `NEUTROPHIL`).
    pub class: String,
    /// The field it came from.
    pub field: String,
}

impl TruthCell {
    /// Centre of the box in slide pixels.
    pub fn centre(&self) -> (f64, f64) {
        let (x, y) = self.bbox.centre();
        (f64::from(x), f64::from(y))
    }
}

/// A large virtual smear with its ground truth.
#[derive(Debug, Clone)]
pub struct Slide {
    /// The picture.
    pub image: RgbImage,
    /// Every white cell on it.
    pub cells: Vec<TruthCell>,
}

/// A field that can be used as a tile.
struct Usable {
    image: PathBuf,
    name: String,
    bbox: PixelBox,
    class: String,
}

/// Class of every field from `labels.csv` (`,index,CATEGORY`), single-class fields only.
fn read_labels(dir: &Path) -> Result<HashMap<u32, String>, SlideError> {
    let path = dir.join("labels.csv");
    let text = std::fs::read_to_string(&path).map_err(|e| SlideError::Read {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    let mut out = HashMap::new();
    for line in text.lines().skip(1) {
        let mut parts = line.splitn(3, ',');
        let (_, Some(index), Some(class)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let class = class.trim().trim_matches('"').trim();
        if class.is_empty() || class.contains(',') {
            continue;
        }
        if let Ok(i) = index.trim().parse::<u32>() {
            out.insert(i, class.to_string());
        }
    }
    Ok(out)
}

fn usable_fields(dir: &Path, edge: u32) -> Result<Vec<Usable>, SlideError> {
    let labels = read_labels(dir)?;
    let mut indices: Vec<u32> = labels.keys().copied().collect();
    indices.sort_unstable();
    let mut out = Vec::new();
    for i in indices {
        let name = format!("BloodImage_{i:05}");
        let image = dir.join("JPEGImages").join(format!("{name}.jpg"));
        let xml = dir.join("Annotations").join(format!("{name}.xml"));
        let (Ok(text), true) = (std::fs::read_to_string(&xml), image.exists()) else {
            continue;
        };
        let Ok(objects) = parse_voc(&text) else {
            log::warn!("{}: unreadable annotation, field skipped", xml.display());
            continue;
        };
        let wbcs: Vec<PixelBox> = objects
            .iter()
            .filter(|o| o.name == "WBC")
            .map(|o| o.bbox)
            .collect();
        if let [bbox] = wbcs[..]
            && bbox.x0 >= edge
            && bbox.y0 >= edge
            && bbox.x1 + edge <= 640
            && bbox.y1 + edge <= 480
        {
            out.push(Usable {
                image,
                name,
                bbox,
                class: labels[&i].clone(),
            });
        }
    }
    Ok(out)
}

impl Slide {
    /// Stitches `cols x rows` BCCD fields (640x480 each) from `dir` (with `JPEGImages/`,
    /// `Annotations/` and `labels.csv`) into one slide. Only fields with exactly one
    /// white cell lying at least 6 px inside the field and a single class are used, drawn
    /// in an order shuffled by `seed`.
    pub fn from_bccd(dir: &Path, cols: u32, rows: u32, seed: u64) -> Result<Slide, SlideError> {
        let mut fields = usable_fields(dir, 6)?;
        let needed = (cols * rows) as usize;
        if fields.len() < needed || needed == 0 {
            return Err(SlideError::TooFewFields {
                dir: dir.to_path_buf(),
                found: fields.len(),
                needed,
            });
        }
        let mut rng = Rng::new(seed);
        for i in (1..fields.len()).rev() {
            let j = (rng.next_u64() % (i as u64 + 1)) as usize;
            fields.swap(i, j);
        }
        let used = &fields[..needed];
        let tiles: Vec<PathBuf> = used.iter().map(|f| f.image.clone()).collect();
        let image =
            stitch(&tiles, cols, crate::imagefile::DEFAULT_MAX_IMAGE_PIXELS).map_err(|e| {
                SlideError::Read {
                    path: e.path,
                    reason: e.reason,
                }
            })?;
        let mut cells = Vec::with_capacity(needed);
        for (k, field) in used.iter().enumerate() {
            let (tx, ty) = ((k as u32 % cols) * 640, (k as u32 / cols) * 480);
            let b = field.bbox;
            cells.push(TruthCell {
                index: k,
                bbox: PixelBox {
                    x0: b.x0 + tx,
                    y0: b.y0 + ty,
                    x1: b.x1 + tx,
                    y1: b.y1 + ty,
                },
                class: field.class.clone(),
                field: field.name.clone(),
            });
        }
        Ok(Slide { image, cells })
    }

    /// The fields folder used by default: the full BCCD set of the shared data folder when
    /// it is there, else the 12 fixture fields committed with the tests.
    pub fn default_fields_dir() -> PathBuf {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let shared = root.join("../shared/datasets/bccd-fields");
        if shared.join("labels.csv").exists() {
            shared
        } else {
            root.join("tests/fixtures/bccd")
        }
    }
}
