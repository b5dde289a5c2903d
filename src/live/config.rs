//! `[live]`: settings of live mode.

use serde::Deserialize;

use crate::invalid::{Invalid, check_range};

/// The `[live]` section of the configuration file.
#[derive(Debug, Clone, Deserialize, PartialEq, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LiveConfig {
    /// Start the daemon in live mode (the live button or `ToggleLive` switches it).
    pub enabled: bool,
    /// Frames are shrunk by this factor for motion estimation (default 4; 1..=16).
    pub motion_scale: u32,
    /// The field is still when it moves less than this many pixels per frame
    /// (default 2.0; 0.1..=50.0).
    pub steady_motion_px: f32,
    /// Still frames in a row before the field counts as steady (default 3; 1..=60).
    pub steady_frames: u32,
    /// Motion estimates with a lower correlation confidence are not trusted
    /// (default 0.08; 0.0..=1.0).
    pub min_motion_confidence: f32,
    /// A white cell seen again within this fraction of its diameter is the same cell
    /// (default 0.8; 0.1..=3.0).
    pub gate: f32,
    /// A cell's nucleus, with a rim of cytoplasm ([`crate::live::WHOLE_RIM`] of its size),
    /// must be this many pixels inside every frame edge to be classified (default 4;
    /// 0..=200).
    pub edge_margin: u32,
    /// Steady, whole sightings of a cell before it is classified (default 2; 1..=30).
    pub min_hits: u32,
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            enabled: false,
            motion_scale: 4,
            steady_motion_px: 2.0,
            steady_frames: 3,
            min_motion_confidence: 0.08,
            gate: 0.8,
            edge_margin: 4,
            min_hits: 2,
        }
    }
}

impl LiveConfig {
    /// Checks every value against its range; the error names the key (`live.gate`, …).
    pub fn validate(&self) -> Result<(), Invalid> {
        self.check().map_err(|e| e.in_section("live"))
    }

    /// [`LiveConfig::validate`] with keys inside the section.
    fn check(&self) -> Result<(), Invalid> {
        check_range("motion_scale", self.motion_scale, 1, 16)?;
        check_range("steady_motion_px", self.steady_motion_px, 0.1, 50.0)?;
        check_range("steady_frames", self.steady_frames, 1, 60)?;
        check_range(
            "min_motion_confidence",
            self.min_motion_confidence,
            0.0,
            1.0,
        )?;
        check_range("gate", self.gate, 0.1, 3.0)?;
        check_range("edge_margin", self.edge_margin, 0, 200)?;
        check_range("min_hits", self.min_hits, 1, 30)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_parse_from_an_empty_section() {
        assert!(LiveConfig::default().validate().is_ok());
        let parsed: LiveConfig = toml::from_str("").unwrap();
        assert_eq!(parsed, LiveConfig::default());
        let parsed: LiveConfig = toml::from_str("enabled = true\ngate = 0.7").unwrap();
        assert!(parsed.enabled);
        assert_eq!(parsed.gate, 0.7);
    }

    #[test]
    fn unknown_keys_and_out_of_range_values_are_named() {
        let err = toml::from_str::<LiveConfig>("gates = 1.0").unwrap_err();
        assert!(err.to_string().contains("gates"), "{err}");
        let bad = LiveConfig {
            gate: 5.0,
            ..LiveConfig::default()
        };
        let inv = bad.validate().unwrap_err();
        assert_eq!(inv.full_key(), "live.gate");
        let message = inv.requirement();
        assert!(
            message.contains("0.1") && message.contains('3'),
            "{}",
            message
        );
        let bad = LiveConfig {
            steady_frames: 0,
            ..LiveConfig::default()
        };
        assert_eq!(bad.validate().unwrap_err().full_key(), "live.steady_frames");
        let bad = LiveConfig {
            steady_motion_px: f32::NAN,
            ..LiveConfig::default()
        };
        assert_eq!(
            bad.validate().unwrap_err().full_key(),
            "live.steady_motion_px"
        );
    }
}
