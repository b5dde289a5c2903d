//! The sections of the configuration file.

use std::path::PathBuf;

use serde::Deserialize;

use crate::invalid::{Invalid, check_range};

/// Which frame source the daemon uses.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CameraSourceKind {
    /// A USB camera through Video4Linux2.
    V4l2,
    /// Pictures replayed from a folder (demo, tests, no hardware).
    #[default]
    Replay,
    /// A simulated slide scan over the pictures of `replay_dir` stitched into one smear
    /// (the live-mode demo, no hardware).
    Scan,
}

/// `[camera]`: where frames come from.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CameraSection {
    /// `v4l2`, `replay` or `scan`.
    pub source: CameraSourceKind,
    /// Folder of images replayed in file-name order (source = "replay"), or stitched into
    /// the scanned slide (source = "scan").
    pub replay_dir: PathBuf,
    /// Start again at the first image (or the start of the scan) after the last one.
    pub replay_loop: bool,
    /// The scan's movement (source = "scan"): `steady-pans` (default), `back-and-forth`,
    /// `fast-scan-blur` or `flicker-focus`, the scenarios `live-eval` scores.
    pub scan: String,
    /// Where the eyepiece reticle points, `[x, y]` in frame pixels; the cell nearest it
    /// is classified. Absent: the frame's centre.
    #[serde(deserialize_with = "exactly_two")]
    pub reticle: Option<[u32; 2]>,
    /// The USB camera (source = "v4l2").
    pub v4l2: crate::camera::CameraConfig,
}

impl Default for CameraSection {
    fn default() -> Self {
        CameraSection {
            source: CameraSourceKind::Replay,
            replay_dir: PathBuf::from("frames"),
            replay_loop: true,
            scan: "steady-pans".to_string(),
            reticle: None,
            v4l2: crate::camera::CameraConfig::default(),
        }
    }
}

/// `[x, y]`, refusing lists of any other length (serde's arrays ignore extra items).
fn exactly_two<'de, D>(deserializer: D) -> Result<Option<[u32; 2]>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let items = Vec::<u32>::deserialize(deserializer)?;
    match items[..] {
        [x, y] => Ok(Some([x, y])),
        _ => Err(serde::de::Error::invalid_length(
            items.len(),
            &"two numbers [x, y] (frame pixels)",
        )),
    }
}

impl CameraSection {
    /// Checks the section.
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.source != CameraSourceKind::V4l2 && self.replay_dir.as_os_str().is_empty() {
            return Err(Invalid::new(
                "replay_dir",
                "\"\"",
                "a folder of images when camera.source = \"replay\" or \"scan\"",
            )
            .in_section("camera"));
        }
        if crate::camera::scan::Scenario::by_name(&self.scan).is_none() {
            return Err(Invalid::new(
                "scan",
                format!("{:?}", self.scan),
                crate::camera::scan::Scenario::names().join(", "),
            )
            .in_section("camera"));
        }
        // The camera names its keys `camera.*`; in this file they sit under `[camera.v4l2]`.
        self.v4l2
            .validate()
            .map_err(|e| e.in_section("camera.v4l2"))
    }
}

/// `[model]`: the classifier and the runtime that runs it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ModelSection {
    /// The `.tflite` model; `labels.txt` and `metadata.json` sit beside it.
    pub path: PathBuf,
    /// `libLiteRt.so` to load; when absent the usual places are searched.
    pub runtime_library: Option<PathBuf>,
    /// Inference threads; 0 = one per core.
    pub threads: u32,
    /// Orientation views averaged per cell (1, 2, 4 or 8: one model run each); 0 = as the
    /// model's `metadata.json` says, else 1.
    pub views: u32,
    /// A calibration file (`hematovision calibrate`) whose head answers instead of the
    /// model's shipped head; absent: the shipped head. One made for another model, or with
    /// other labels, is refused and the shipped head used (loudly).
    pub calibration: Option<PathBuf>,
    /// Use the model's unfamiliar-cell gate when it ships one (`gate.json`): a cell unlike
    /// every class the model knows (a basophil, an immature granulocyte, an erythroblast
    /// for the four-class model) is counted as unidentified instead of as one of them.
    pub unfamiliar_gate: bool,
}

impl Default for ModelSection {
    fn default() -> Self {
        ModelSection {
            path: PathBuf::from("/usr/share/hematovision/models/hematovision-wbc4.tflite"),
            runtime_library: None,
            threads: 0,
            views: 0,
            calibration: None,
            unfamiliar_gate: true,
        }
    }
}

impl ModelSection {
    /// Checks the section.
    pub fn validate(&self) -> Result<(), Invalid> {
        self.check().map_err(|e| e.in_section("model"))
    }

    /// [`ModelSection::validate`] with keys inside the section.
    fn check(&self) -> Result<(), Invalid> {
        if self.path.as_os_str().is_empty() {
            return Err(Invalid::new("path", "\"\"", "the path of a .tflite file"));
        }
        if self
            .calibration
            .as_ref()
            .is_some_and(|c| c.as_os_str().is_empty())
        {
            return Err(Invalid::new(
                "calibration",
                "\"\"",
                "the path of a calibration file (or no calibration key, for the shipped head)",
            ));
        }
        check_range("threads", self.threads, 0, 64)?;
        if self.views != 0 && !crate::model::views::ALLOWED_VIEWS.contains(&(self.views as usize)) {
            return Err(Invalid::new(
                "views",
                self.views,
                "0 (as the model says), 1, 2, 4 or 8",
            ));
        }
        Ok(())
    }
}

/// `[counting]`: the differential count.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CountingSection {
    /// Identified cells that complete a differential.
    pub target: u32,
    /// Cells whose top probability is under this go to 'unidentified'.
    pub confidence_threshold: f32,
    /// Classes counted but kept outside the differential and its target, reported per 100
    /// white cells (erythroblasts, as analysers do). Names the model lacks are ignored.
    pub outside_differential: Vec<String>,
}

impl Default for CountingSection {
    fn default() -> Self {
        CountingSection {
            target: 100,
            confidence_threshold: 0.6,
            outside_differential: vec!["ERYTHROBLAST".to_string()],
        }
    }
}

impl CountingSection {
    /// Most classes that can be listed outside the differential.
    pub const MAX_OUTSIDE_CLASSES: usize = 32;

    /// Checks the section.
    pub fn validate(&self) -> Result<(), Invalid> {
        check_range("target", self.target, 1, 10_000)
            .and_then(|()| check_range("confidence_threshold", self.confidence_threshold, 0.0, 1.0))
            .and_then(|()| self.check_outside())
            .map_err(|e| e.in_section("counting"))
    }

    /// Class names: not empty, each once (in any case), a handful at most.
    fn check_outside(&self) -> Result<(), Invalid> {
        let key = "outside_differential";
        let allowed = "a list of distinct class names such as [\"ERYTHROBLAST\"]";
        let names = &self.outside_differential;
        if names.len() > Self::MAX_OUTSIDE_CLASSES {
            return Err(Invalid::new(
                key,
                format!("{} names", names.len()),
                format!("at most {} names", Self::MAX_OUTSIDE_CLASSES),
            ));
        }
        for (i, name) in names.iter().enumerate() {
            if name.trim().is_empty() {
                return Err(Invalid::new(key, format!("{name:?}"), allowed));
            }
            if names[..i].iter().any(|n| n.eq_ignore_ascii_case(name)) {
                return Err(Invalid::new(key, format!("{name:?} twice"), allowed));
            }
        }
        Ok(())
    }
}

/// `[storage]`: the journal and the saved crops.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StorageSection {
    /// Folder of the journal (`journal/`) and crops (`crops/`).
    pub data_dir: PathBuf,
    /// Keep the crop of every counted cell, so a count can be reviewed later.
    pub save_crops: bool,
    /// Keep the frame in `missed/` when the count button finds no white cell, so the
    /// locator's misses on this microscope can be reviewed.
    pub keep_missed_frames: bool,
    /// The most frames `missed/` holds; the oldest go first, so it never fills the disk.
    pub missed_frames_limit: u32,
}

/// Largest `missed_frames_limit`: 1000 camera frames are a few hundred MB at most.
pub const MAX_MISSED_FRAMES: u32 = 1000;

impl Default for StorageSection {
    fn default() -> Self {
        StorageSection {
            data_dir: PathBuf::from("/var/lib/hematovision"),
            save_crops: true,
            keep_missed_frames: false,
            missed_frames_limit: 100,
        }
    }
}

impl StorageSection {
    /// Checks the section.
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.data_dir.as_os_str().is_empty() {
            return Err(Invalid::new("data_dir", "\"\"", "a folder").in_section("storage"));
        }
        if !(1..=MAX_MISSED_FRAMES).contains(&self.missed_frames_limit) {
            return Err(Invalid::new(
                "missed_frames_limit",
                self.missed_frames_limit,
                format!("1 to {MAX_MISSED_FRAMES} frames"),
            )
            .in_section("storage"));
        }
        Ok(())
    }
}

/// Which button backend the daemon uses.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ButtonDriver {
    /// Simulated: the keyboard on a terminal, or a press schedule.
    #[default]
    Sim,
    /// Push buttons on the GPIO character device (`[buttons.gpio]`).
    Gpio,
    /// Push buttons through rppal (Raspberry Pi only; builds with the `rppal` feature).
    Rppal,
}

/// `[buttons.sim]`: the simulated button.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SimButtonsSection {
    /// Press schedule, e.g. `"1s,1s,undo:2s"` (delays between presses). Empty: the
    /// keyboard when standard input is a terminal.
    pub presses: String,
    /// Stop the daemon once the last scheduled press has been handled.
    pub exit_when_done: bool,
}

/// `[buttons]`: the technician's buttons.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ButtonsSection {
    /// Backend.
    pub driver: ButtonDriver,
    /// Settings of the simulated button.
    pub sim: SimButtonsSection,
    /// Settings of the GPIO buttons (drivers `gpio` and `rppal`).
    pub gpio: crate::hw::button::config::GpioButtonsConfig,
}

impl ButtonsSection {
    /// Checks the section.
    pub fn validate(&self) -> Result<(), Invalid> {
        crate::hw::button::sim::parse_schedule(&self.sim.presses).map_err(|e| {
            Invalid::new(
                "presses",
                format!("`{}` ({})", e.item, e.reason),
                "delays between presses such as `500ms,1s,undo:1.5s,new:2s`",
            )
            .in_section("buttons.sim")
        })?;
        if self.driver != ButtonDriver::Sim {
            self.gpio.validate()?;
        }
        Ok(())
    }
}

/// `[limits]`: bounds on untrusted input, so that no file can exhaust a small board's memory.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsSection {
    /// Largest picture file accepted, in pixels (width x height), checked from the header
    /// before decoding.
    pub max_image_pixels: u64,
}

impl Default for LimitsSection {
    fn default() -> Self {
        LimitsSection {
            max_image_pixels: crate::imagefile::DEFAULT_MAX_IMAGE_PIXELS,
        }
    }
}

impl LimitsSection {
    /// Fewest pixels allowed as the limit: a VGA frame must always fit.
    pub const MIN_IMAGE_PIXELS: u64 = 640 * 480;
    /// Most pixels allowed as the limit (decoding that many takes up to 800 MB).
    pub const MAX_IMAGE_PIXELS: u64 = 100_000_000;

    /// Checks the section.
    pub fn validate(&self) -> Result<(), Invalid> {
        check_range(
            "limits.max_image_pixels",
            self.max_image_pixels,
            Self::MIN_IMAGE_PIXELS,
            Self::MAX_IMAGE_PIXELS,
        )
    }
}

/// `[station]`: the review station's web pages.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StationSection {
    /// Serve the station while the daemon runs (beside the loop, which stays the one owner
    /// of the count); `hematovision station` serves the same pages on their own.
    pub enabled: bool,
    /// Address and port to listen on, e.g. `127.0.0.1:8080`.
    pub listen: String,
    /// Access token; required when `listen` is not a loopback address.
    pub token: Option<String>,
    /// Largest request body accepted, in bytes (all uploaded pictures together).
    pub max_upload_bytes: u64,
}

impl Default for StationSection {
    fn default() -> Self {
        StationSection {
            enabled: false,
            listen: "127.0.0.1:8080".into(),
            token: None,
            max_upload_bytes: 32 * 1024 * 1024,
        }
    }
}

impl StationSection {
    /// Fewest characters in an access token.
    pub const MIN_TOKEN_CHARS: usize = 16;
    /// Most characters in an access token.
    pub const MAX_TOKEN_CHARS: usize = 256;

    /// Checks the section.
    pub fn validate(&self) -> Result<(), Invalid> {
        self.check().map_err(|e| e.in_section("station"))
    }

    /// [`StationSection::validate`] with keys inside the section.
    fn check(&self) -> Result<(), Invalid> {
        check_range(
            "max_upload_bytes",
            self.max_upload_bytes,
            64 * 1024,
            1024 * 1024 * 1024,
        )?;
        if let Some(token) = &self.token {
            check_token(token)?;
        }
        let addr = self.listen.parse::<std::net::SocketAddr>().map_err(|_| {
            Invalid::new(
                "listen",
                format!("{:?}", self.listen),
                "an address and port such as \"127.0.0.1:8080\"",
            )
        })?;
        check_exposure(addr, self.token.as_deref())
    }
}

/// Checks an access token: [`StationSection::MIN_TOKEN_CHARS`] to
/// [`StationSection::MAX_TOKEN_CHARS`] printable ASCII characters without spaces.
pub fn check_token(token: &str) -> Result<(), Invalid> {
    let n = token.chars().count();
    let printable = token.chars().all(|c| c.is_ascii_graphic());
    if !(StationSection::MIN_TOKEN_CHARS..=StationSection::MAX_TOKEN_CHARS).contains(&n)
        || !printable
    {
        return Err(Invalid::new(
            "token",
            format!("({n} characters)"),
            format!(
                "{}..={} printable ASCII characters without spaces",
                StationSection::MIN_TOKEN_CHARS,
                StationSection::MAX_TOKEN_CHARS
            ),
        ));
    }
    Ok(())
}

/// A station reachable from other machines must have an access token: only a loopback
/// address may go without one.
pub fn check_exposure(addr: std::net::SocketAddr, token: Option<&str>) -> Result<(), Invalid> {
    if !addr.ip().is_loopback() && token.is_none() {
        return Err(Invalid::new(
            "listen",
            format!("\"{addr}\""),
            "a loopback address (127.0.0.1 or ::1) unless station.token is set",
        ));
    }
    Ok(())
}
