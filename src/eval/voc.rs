//! Minimal reader for Pascal VOC annotation files (the BCCD fields' `Annotations/*.xml`).
//!
//! Only what the locator evaluation needs: each `<object>`'s `<name>` and `<bndbox>`.
//! Coordinates are taken as written (`xmin`..`xmax`, `ymin`..`ymax`); fractional values
//! are rounded.

use crate::vision::PixelBox;

/// One annotated object.
#[derive(Debug, Clone, PartialEq)]
pub struct VocObject {
    /// The class name, e.g. `WBC`, `RBC`, `Platelets`.
    pub name: String,
    /// Its box.
    pub bbox: PixelBox,
}

/// A VOC file that could not be understood.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("VOC annotation object {index}: {reason}")]
pub struct VocError {
    /// Which `<object>` (0-based) was bad.
    pub index: usize,
    /// What was wrong with it.
    pub reason: String,
}

/// The text between the first `<tag>` and the following `</tag>` in `text`.
fn element<'a>(text: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = text.find(&open)? + open.len();
    let len = text[start..].find(&close)?;
    Some(&text[start..start + len])
}

/// Parses every `<object>` of a VOC annotation.
pub fn parse_voc(xml: &str) -> Result<Vec<VocObject>, VocError> {
    let mut out = Vec::new();
    let mut rest = xml;
    let mut index = 0;
    while let Some(start) = rest.find("<object>") {
        let body_start = start + "<object>".len();
        let Some(len) = rest[body_start..].find("</object>") else {
            return Err(VocError {
                index,
                reason: "no closing </object>".into(),
            });
        };
        let body = &rest[body_start..body_start + len];
        rest = &rest[body_start + len + "</object>".len()..];
        let bad = |reason: String| VocError { index, reason };
        let name = element(body, "name")
            .ok_or_else(|| bad("no <name>".into()))?
            .trim()
            .to_string();
        let bndbox = element(body, "bndbox").ok_or_else(|| bad("no <bndbox>".into()))?;
        let coord = |tag: &str| -> Result<u32, VocError> {
            let text = element(bndbox, tag)
                .ok_or_else(|| bad(format!("no <{tag}>")))?
                .trim();
            let v: f64 = text
                .parse()
                .map_err(|_| bad(format!("<{tag}> is not a number: {text:?}")))?;
            if !(0.0..=1e6).contains(&v) {
                return Err(bad(format!("<{tag}> out of range: {v}")));
            }
            Ok(v.round() as u32)
        };
        let (x0, y0, x1, y1) = (
            coord("xmin")?,
            coord("ymin")?,
            coord("xmax")?,
            coord("ymax")?,
        );
        if x1 < x0 || y1 < y0 {
            return Err(bad(format!("inverted box {x0},{y0},{x1},{y1}")));
        }
        out.push(VocObject {
            name,
            bbox: PixelBox { x0, y0, x1, y1 },
        });
        index += 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fixture_with_two_white_cells() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/bccd/Annotations/BloodImage_00070.xml"
        );
        let objs = parse_voc(&std::fs::read_to_string(path).unwrap()).unwrap();
        let wbc: Vec<PixelBox> = objs
            .iter()
            .filter(|o| o.name == "WBC")
            .map(|o| o.bbox)
            .collect();
        assert_eq!(
            wbc,
            [
                PixelBox {
                    x0: 167,
                    y0: 83,
                    x1: 296,
                    y1: 206
                },
                PixelBox {
                    x0: 375,
                    y0: 348,
                    x1: 471,
                    y1: 439
                }
            ]
        );
        assert_eq!(objs.iter().filter(|o| o.name == "RBC").count(), 10);
    }

    #[test]
    fn bad_objects_name_the_problem() {
        let missing = "<object><name>WBC</name><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>3</xmax></bndbox></object>";
        assert!(parse_voc(missing).unwrap_err().reason.contains("<ymax>"));
        let nan = "<object><name>WBC</name><bndbox><xmin>a</xmin><ymin>2</ymin><xmax>3</xmax><ymax>4</ymax></bndbox></object>";
        assert!(parse_voc(nan).unwrap_err().reason.contains("not a number"));
        assert!(parse_voc("<object><name>x</name>").is_err());
        let float = "<object><name> WBC </name><bndbox><xmin>1.4</xmin><ymin>2</ymin><xmax>30.6</xmax><ymax>4</ymax></bndbox></object>";
        assert_eq!(
            parse_voc(float).unwrap()[0].bbox,
            PixelBox {
                x0: 1,
                y0: 2,
                x1: 31,
                y1: 4
            }
        );
        assert!(parse_voc("<annotation></annotation>").unwrap().is_empty());
    }
}
