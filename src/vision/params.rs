//! Tunable parameters of the white-cell locator.

use serde::{Deserialize, Serialize};

use crate::invalid::{Invalid, check_range};

/// Parameters of [`crate::vision::locate`].
///
/// Sizes are in *working pixels*: the field is first shrunk by an integer factor so that it
/// is about [`work_width`](Self::work_width) pixels wide, which makes the sizes independent
/// of the camera's resolution (they still depend on the magnification). The defaults were
/// tuned on the BCCD fields (640x480, 100x oil objective, where a white cell is about
/// 150–250 px across, i.e. 40–60 working pixels).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LocatorParams {
    /// Target width of the working copy in pixels (default 160; allowed 40..=1280).
    pub work_width: u32,
    /// Nucleus-ness threshold (default 0.25; allowed 0.02..=2.0). Nucleus-ness of a pixel is
    /// `B/B_bg - R/R_bg`, with `B_bg`/`R_bg` the field's median blue and red: about 0 on
    /// red cells and background, 0.3–0.6 on Romanowsky-stained nuclei.
    pub nucleus_threshold: f32,
    /// Smallest connected fragment kept before grouping, in working pixels (default 10;
    /// allowed 1..=10000). Removes platelets and stain specks.
    pub min_fragment_area: u32,
    /// Fragments whose boxes are at most this far apart are grouped into one nucleus, in
    /// working pixels (default 8; allowed 0..=200). Joins the 3–5 lobes of a neutrophil.
    pub merge_gap: u32,
    /// Smallest grouped nucleus reported, in working pixels (default 100; allowed 1..=100000).
    pub min_nucleus_area: u32,
    /// Largest grouped nucleus reported, as a fraction of the working image's area
    /// (default 0.35; allowed 0.01..=1.0). Rejects fields washed over with stain.
    pub max_nucleus_fraction: f32,
    /// Largest ratio of the longer to the shorter side of a nucleus box (default 5.0; allowed
    /// 1.0..=100.0). Rejects thin streaks such as scratches and stain precipitate.
    pub max_aspect: f32,
    /// Camera fields (fixed and adaptive locator): the nucleus box is grown on every side by
    /// this fraction of its longer side to cover the whole cell (default 0.18; allowed
    /// 0.0..=2.0).
    pub cell_margin: f32,
    /// Use the adaptive locator on camera fields: background, nuclear-stain direction and
    /// saturation measured on the frames, sizes scaled by the red cells, the session's running
    /// medians used once measured ([`crate::vision::session`]) (default true; false is the
    /// fixed locator tuned on BCCD fields, which fails on other stains and lamps; pictures
    /// that are already crops always use the adaptive one).
    pub adaptive: bool,
    /// Crops (adaptive locator): the measured cytoplasm reaches at most this fraction of
    /// the nucleus's longer side beyond it on each side (default 0.6; allowed 0.0..=3.0).
    pub max_cytoplasm: f32,
    /// Adaptive locator: red-cell size, in working pixels as [`crate::vision::ruler`] measures it, that the
    /// size limits above are given for (default 8, the BCCD fields' median; allowed
    /// 2.0..=200.0). The session's red cells (each frame's own until
    /// [`crate::vision::session::MIN_FRAMES`] frames measured them) scale `min_fragment_area` and `min_nucleus_area` by the squared ratio and
    /// `merge_gap` by the ratio, so other objectives need no retuning.
    pub red_cell_diameter: f32,
    /// Adaptive locator, once the session has measured whole round red cells
    /// ([`crate::vision::round_ruler`] on [`crate::vision::session::MIN_FRAMES`] frames):
    /// smallest grouped nucleus as a fraction of one red cell's area (default 0.56; allowed
    /// 0.0..=5.0; 0 turns it off). A white cell's nucleus is about a red cell's size, while
    /// giant platelets, which live mode would otherwise count, cover 0.2–0.3 of one.
    pub min_nucleus_red_cells: f32,
    /// Fields whose background (median red or blue, whichever is brighter) is darker than
    /// this 0–255 level give no candidates (default 40; allowed 0..=200): a capped lens or
    /// a lamp that is off must show NO WBC, not cells made of sensor noise.
    pub min_background: u8,
}

impl Default for LocatorParams {
    fn default() -> Self {
        Self {
            work_width: 160,
            nucleus_threshold: 0.25,
            min_fragment_area: 10,
            merge_gap: 8,
            min_nucleus_area: 100,
            max_nucleus_fraction: 0.35,
            max_aspect: 5.0,
            cell_margin: 0.18,
            adaptive: true,
            max_cytoplasm: 0.6,
            red_cell_diameter: 8.0,
            min_nucleus_red_cells: 0.56,
            min_background: 40,
        }
    }
}

impl LocatorParams {
    /// Checks every value against its allowed range; the error names the first bad key
    /// (inside the `locator` section).
    pub fn validate(&self) -> Result<(), Invalid> {
        self.check().map_err(|e| e.in_section("locator"))
    }

    /// [`LocatorParams::validate`] before the section is named.
    fn check(&self) -> Result<(), Invalid> {
        check_range("work_width", self.work_width, 40, 1280)?;
        check_range("nucleus_threshold", self.nucleus_threshold, 0.02, 2.0)?;
        check_range("min_fragment_area", self.min_fragment_area, 1, 10_000)?;
        check_range("merge_gap", self.merge_gap, 0, 200)?;
        check_range("min_nucleus_area", self.min_nucleus_area, 1, 100_000)?;
        check_range("max_nucleus_fraction", self.max_nucleus_fraction, 0.01, 1.0)?;
        check_range("max_aspect", self.max_aspect, 1.0, 100.0)?;
        check_range("cell_margin", self.cell_margin, 0.0, 2.0)?;
        check_range("max_cytoplasm", self.max_cytoplasm, 0.0, 3.0)?;
        check_range("red_cell_diameter", self.red_cell_diameter, 2.0, 200.0)?;
        check_range(
            "min_nucleus_red_cells",
            self.min_nucleus_red_cells,
            0.0,
            5.0,
        )?;
        check_range("min_background", self.min_background, 0, 200)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        LocatorParams::default().validate().unwrap();
    }

    #[test]
    fn out_of_range_names_key_and_range() {
        let p = LocatorParams {
            nucleus_threshold: 5.0,
            ..Default::default()
        };
        let err = p.validate().unwrap_err();
        assert_eq!(err.key, "nucleus_threshold");
        assert_eq!(
            err.to_string(),
            "locator.nucleus_threshold = 5 is out of range: allowed 0.02..=2.0"
        );
        let p = LocatorParams {
            cell_margin: f32::NAN,
            ..Default::default()
        };
        assert_eq!(p.validate().unwrap_err().key, "cell_margin");
        let p = LocatorParams {
            work_width: 8,
            ..Default::default()
        };
        assert_eq!(p.validate().unwrap_err().key, "work_width");
    }

    #[test]
    fn unknown_keys_are_rejected_and_missing_keys_default() {
        let p: LocatorParams = toml::from_str("merge_gap = 4").unwrap();
        assert_eq!(p.merge_gap, 4);
        assert_eq!(
            p.nucleus_threshold,
            LocatorParams::default().nucleus_threshold
        );
        let err = toml::from_str::<LocatorParams>("merge_gapp = 4").unwrap_err();
        assert!(err.to_string().contains("merge_gapp"), "{err}");
    }
}
