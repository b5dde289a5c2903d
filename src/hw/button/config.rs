//! The `[buttons.gpio]` section: the technician's buttons on GPIO lines.
//!
//! The `[buttons]` section chooses the backend (`driver = "sim" | "gpio" | "rppal"`);
//! both real backends read their lines from this subsection, next to `[buttons.sim]`.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::gesture::GestureTiming;
use crate::invalid::{Invalid, check_range};
use std::time::Duration;

/// A GPIO line: its offset on the chip (`17`) or its name (`"GPIO17"`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LineRef {
    /// Offset of the line on its chip.
    Offset(u32),
    /// Name of the line as the chip reports it (see `gpioinfo`).
    Name(String),
}

impl fmt::Display for LineRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineRef::Offset(n) => write!(f, "{n}"),
            LineRef::Name(name) => write!(f, "\"{name}\""),
        }
    }
}

impl Serialize for LineRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            LineRef::Offset(n) => s.serialize_u32(*n),
            LineRef::Name(name) => s.serialize_str(name),
        }
    }
}

impl<'de> Deserialize<'de> for LineRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct LineVisitor;
        impl Visitor<'_> for LineVisitor {
            type Value = LineRef;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a line offset (e.g. 17) or a line name (e.g. \"GPIO17\")")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<LineRef, E> {
                u32::try_from(v)
                    .map(LineRef::Offset)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<LineRef, E> {
                u32::try_from(v)
                    .map(LineRef::Offset)
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<LineRef, E> {
                if v.is_empty() {
                    return Err(E::invalid_value(de::Unexpected::Str(v), &self));
                }
                Ok(LineRef::Name(v.to_string()))
            }
        }
        d.deserialize_any(LineVisitor)
    }
}

/// Electrical bias of the button lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BiasSetting {
    /// Internal pull-up (button to ground, with `active_low = true`).
    #[default]
    PullUp,
    /// Internal pull-down (button to 3.3 V, with `active_low = false`).
    PullDown,
    /// No internal bias (external resistor).
    None,
}

/// Where the section sits in the configuration file.
const SECTION: &str = "buttons.gpio";

/// The `[buttons.gpio]` section (used by the `gpio` and `rppal` drivers).
///
/// ```toml
/// [buttons.gpio]
/// chip = "gpiochip0"       # /dev path, name (gpiochip0) or label (pinctrl-rp1)
/// line = 17                # the main button: offset or name ("GPIO17")
/// active_low = true        # pressed = line pulled to ground
/// bias = "pull-up"         # "pull-up", "pull-down" or "none"
/// debounce_ms = 20         # kernel and software debounce, 1..=200
/// long_press_ms = 1500     # hold this long to undo, 300..=10000
/// double_press_ms = 400    # second press within this = new slide; 0 disables
/// undo = 27                # optional extra buttons, each one action on press
/// new_slide = "GPIO22"
/// live = 23
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GpioButtonsConfig {
    /// GPIO chip: a path (`/dev/gpiochip0`), a name (`gpiochip0`) or a label
    /// (`pinctrl-bcm2711`, `pinctrl-rp1`, `tegra234-gpio`).
    pub chip: String,
    /// The main button's line (short = count, long = undo, double = new slide).
    pub line: LineRef,
    /// True when a pressed button pulls the line low.
    pub active_low: bool,
    /// Internal bias of the lines.
    pub bias: BiasSetting,
    /// Debounce period in ms (kernel and software), 1..=200.
    pub debounce_ms: u64,
    /// Hold time of a long press (undo) in ms, 300..=10000.
    pub long_press_ms: u64,
    /// Double-press window in ms: 0 (disabled) or 100..=1000, below `long_press_ms`.
    pub double_press_ms: u64,
    /// Optional extra button: undo on press.
    pub undo: Option<LineRef>,
    /// Optional extra button: new slide on press.
    pub new_slide: Option<LineRef>,
    /// Optional extra button: live mode on/off on press.
    pub live: Option<LineRef>,
}

impl Default for GpioButtonsConfig {
    fn default() -> Self {
        let t = GestureTiming::default();
        Self {
            chip: "gpiochip0".to_string(),
            line: LineRef::Offset(17),
            active_low: true,
            bias: BiasSetting::PullUp,
            debounce_ms: t.debounce.as_millis() as u64,
            long_press_ms: t.long_press.as_millis() as u64,
            double_press_ms: t.double_press.as_millis() as u64,
            undo: None,
            new_slide: None,
            live: None,
        }
    }
}

impl GpioButtonsConfig {
    /// The gesture timing these settings describe.
    pub fn timing(&self) -> GestureTiming {
        GestureTiming {
            debounce: Duration::from_millis(self.debounce_ms),
            long_press: Duration::from_millis(self.long_press_ms),
            double_press: Duration::from_millis(self.double_press_ms),
        }
    }

    /// The extra buttons with their config keys, in a fixed order.
    pub fn extra_buttons(&self) -> Vec<(&'static str, &LineRef)> {
        [
            ("buttons.gpio.undo", self.undo.as_ref()),
            ("buttons.gpio.new_slide", self.new_slide.as_ref()),
            ("buttons.gpio.live", self.live.as_ref()),
        ]
        .into_iter()
        .filter_map(|(k, l)| l.map(|l| (k, l)))
        .collect()
    }

    /// Checks the values serde cannot: each error names the key
    /// (`buttons.gpio.debounce_ms`, …) and the allowed values.
    pub fn validate(&self) -> Result<(), Invalid> {
        self.check().map_err(|e| e.in_section(SECTION))
    }

    /// [`GpioButtonsConfig::validate`] with keys inside the section.
    fn check(&self) -> Result<(), Invalid> {
        if self.chip.trim().is_empty() {
            return Err(Invalid::new(
                "chip",
                "\"\"",
                "a chip path, name or label, e.g. \"gpiochip0\"",
            ));
        }
        check_range("debounce_ms", self.debounce_ms, 1, 200)?;
        check_range("long_press_ms", self.long_press_ms, 300, 10_000)?;
        if self.double_press_ms != 0
            && (!(100..=1000).contains(&self.double_press_ms)
                || self.double_press_ms >= self.long_press_ms)
        {
            return Err(Invalid::new(
                "double_press_ms",
                self.double_press_ms,
                "0 (off) or 100..=1000, and below buttons.gpio.long_press_ms",
            ));
        }
        let mut seen = vec![("buttons.gpio.line", &self.line)];
        for (key, line) in self.extra_buttons() {
            if let Some((other, _)) = seen.iter().find(|(_, l)| *l == line) {
                // extra_buttons() names the keys in full; the error wants them inside the section.
                let inside = key.strip_prefix("buttons.gpio.").unwrap_or(key);
                return Err(Invalid::new(
                    inside,
                    line,
                    format!("a line not already used by {other}"),
                ));
            }
            seen.push((key, line));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<GpioButtonsConfig, toml::de::Error> {
        toml::from_str(text)
    }

    #[test]
    fn defaults_are_valid() {
        let c = parse("").unwrap();
        assert_eq!(c, GpioButtonsConfig::default());
        c.validate().unwrap();
        assert_eq!(c.timing(), GestureTiming::default());
    }

    #[test]
    fn full_section_parses_offsets_and_names() {
        let c = parse(
            "chip = \"pinctrl-rp1\"\nline = \"GPIO17\"\nactive_low = false\n\
             bias = \"pull-down\"\ndebounce_ms = 5\nlong_press_ms = 2000\ndouble_press_ms = 0\n\
             undo = 27\nnew_slide = \"GPIO22\"\nlive = 23\n",
        )
        .unwrap();
        assert_eq!(c.line, LineRef::Name("GPIO17".into()));
        assert_eq!(c.undo, Some(LineRef::Offset(27)));
        assert_eq!(c.bias, BiasSetting::PullDown);
        assert_eq!(c.extra_buttons().len(), 3);
        c.validate().unwrap();
    }

    #[test]
    fn bad_values_name_the_key() {
        let e = parse("lines = 3").unwrap_err().to_string();
        assert!(e.contains("lines"), "{e}");
        let e = parse("line = -1").unwrap_err().to_string();
        assert!(e.contains("line offset"), "{e}");
        let e = parse("bias = \"up\"").unwrap_err().to_string();
        assert!(e.contains("pull-up"), "{e}");
        let e = parse("long_press_ms = 100")
            .unwrap()
            .validate()
            .unwrap_err();
        assert_eq!(e.full_key(), "buttons.gpio.long_press_ms");
        assert!(e.to_string().contains("300..=10000"));
        let e = parse("debounce_ms = 0").unwrap().validate().unwrap_err();
        assert_eq!(e.full_key(), "buttons.gpio.debounce_ms");
        let e = parse("double_press_ms = 50")
            .unwrap()
            .validate()
            .unwrap_err();
        assert_eq!(e.full_key(), "buttons.gpio.double_press_ms");
        let e = parse("undo = 17").unwrap().validate().unwrap_err();
        assert_eq!(e.full_key(), "buttons.gpio.undo");
        assert!(e.to_string().contains("buttons.gpio.line"), "{e}");
    }
}
