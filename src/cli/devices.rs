//! Building the daemon's devices from the configuration.

use std::io::IsTerminal;
use std::num::NonZeroUsize;
use std::os::fd::AsRawFd;
use std::path::Path;

use anyhow::Context;
use hematovision::app::LocatorFinder;
use hematovision::camera::FrameSource;
use hematovision::camera::replay::ReplaySource;
use hematovision::camera::scan::{ScanSource, Scenario};
use hematovision::config::{ButtonDriver, CameraSourceKind, Config};
use hematovision::hw::button::Buttons;
use hematovision::hw::button::sim::{KeyboardButtons, ScriptedButtons, parse_schedule};
use hematovision::hw::button::{GpioBackend, open_hardware};
use hematovision::hw::display::{Display, open_default};
use hematovision::model::{ClassifierOptions, ModelBundle, TfliteClassifier};

/// Loads the runtime and the model bundle named by the configuration (or overrides).
pub fn classifier(
    model: &Path,
    library: Option<&Path>,
    threads: u32,
    views: u32,
) -> anyhow::Result<TfliteClassifier> {
    let options = ClassifierOptions {
        threads: NonZeroUsize::new(threads as usize),
        views: NonZeroUsize::new(views as usize),
    };
    let classifier = TfliteClassifier::open(model, library, &options)
        .with_context(|| format!("cannot load the model {}", model.display()))?;
    log::info!("model: {}", classifier.info());
    Ok(classifier)
}

/// Turns the model's unfamiliar-cell gate on or off as the configuration says, and logs
/// what that means.
pub fn use_gate(classifier: &mut TfliteClassifier, on: bool) {
    let in_use = classifier.use_gate(on);
    if !on && classifier.bundle().gate().is_some() {
        log::warn!(
            "model.unfamiliar_gate = false: cells unlike the model's classes (basophils, \
             immature granulocytes, erythroblasts) are counted as one of them"
        );
    } else if !in_use {
        log::info!(
            "the model ships no unfamiliar-cell gate: only its confidence sends a cell to \
             the unidentified bin"
        );
    }
}

/// Loads the calibration at `path` into `classifier`; a refused one is an error naming why
/// and the fix.
pub fn load_calibration(classifier: &mut TfliteClassifier, path: &Path) -> anyhow::Result<()> {
    let active = classifier.load_calibration(path)?;
    log::info!("calibration: {active}");
    Ok(())
}

/// Which head answers after [`calibrate_or_fall_back`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadState {
    /// No calibration configured: the shipped head.
    Shipped,
    /// The calibration with this identity (`sha256:<12 hex>`).
    Calibrated(String),
    /// A calibration was configured but refused: the shipped head counts instead.
    Refused,
}

/// Loads the configured calibration. One that is refused (another model, other labels, a
/// damaged or missing file) must not stop the daemon counting: the shipped head counts
/// instead, and the error log and the boot screen say so.
pub fn calibrate_or_fall_back(classifier: &mut TfliteClassifier, path: Option<&Path>) -> HeadState {
    let Some(path) = path else {
        log::info!("calibration: none, the model's shipped head counts");
        return HeadState::Shipped;
    };
    match load_calibration(classifier, path) {
        Ok(()) => classifier
            .calibration()
            .map_or(HeadState::Shipped, |c| HeadState::Calibrated(c.identity())),
        Err(e) => {
            log::error!(
                "CALIBRATION REFUSED, counting with the model's shipped head instead: {e:#}"
            );
            HeadState::Refused
        }
    }
}

/// The cell finder, framing crops as the model's training images are framed.
pub fn finder(config: &Config, bundle: &ModelBundle) -> LocatorFinder {
    LocatorFinder::new(
        config.locator.clone(),
        bundle.cell_fraction(),
        config.camera.reticle.map(|[x, y]| (x, y)),
    )
}

/// The frame source.
pub fn camera(config: &Config) -> anyhow::Result<Box<dyn FrameSource>> {
    match config.camera.source {
        CameraSourceKind::Replay => {
            let source = ReplaySource::open(&config.camera.replay_dir, config.camera.replay_loop)
                .with_context(|| "camera.source = \"replay\" needs camera.replay_dir")?
                .with_max_pixels(config.limits.max_image_pixels);
            log::info!(
                "camera: replaying {} images from {}",
                source.files().len(),
                config.camera.replay_dir.display()
            );
            Ok(Box::new(source))
        }
        CameraSourceKind::Scan => {
            let scenario = Scenario::by_name(&config.camera.scan)
                .with_context(|| format!("camera.scan = {:?} is no scan", config.camera.scan))?;
            let source = ScanSource::open(
                &config.camera.replay_dir,
                &scenario,
                config.camera.replay_loop,
                config.limits.max_image_pixels,
            )
            .with_context(|| "camera.source = \"scan\" needs camera.replay_dir")?;
            Ok(Box::new(source))
        }
        #[cfg(feature = "v4l2")]
        CameraSourceKind::V4l2 => Ok(Box::new(hematovision::camera::V4l2Source::new(
            config.camera.v4l2.clone(),
        ))),
        #[cfg(not(feature = "v4l2"))]
        CameraSourceKind::V4l2 => anyhow::bail!(
            "camera.source = \"v4l2\" needs a build with the v4l2 feature \
             (cargo build --release --features v4l2; the Debian package has it)"
        ),
    }
}

/// The display: simulated, or an OLED that is retried while it is missing.
pub fn display(config: &Config) -> anyhow::Result<Box<dyn Display>> {
    Ok(open_default(&config.display)?)
}

/// The buttons: a schedule (command line, then configuration), else the keyboard on a
/// terminal, else none (the daemon then only resumes and waits).
pub fn buttons(
    config: &Config,
    presses: Option<&str>,
    exit_when_done: bool,
) -> anyhow::Result<Box<dyn Buttons>> {
    match config.buttons.driver {
        ButtonDriver::Sim => {
            let schedule = presses.unwrap_or(&config.buttons.sim.presses);
            let exit = exit_when_done || config.buttons.sim.exit_when_done;
            if !schedule.trim().is_empty() {
                let parsed = parse_schedule(schedule)?;
                log::info!("buttons: {} scripted presses", parsed.len());
                return Ok(Box::new(ScriptedButtons::new(parsed, exit)));
            }
            if std::io::stdin().is_terminal() {
                let stdin = std::io::stdin();
                return Ok(match hematovision::sys::single_keys(stdin.as_raw_fd()) {
                    Ok(terminal) => {
                        println!(
                            "Keys: Enter = count, u = undo, n = new slide, l = live mode, q = quit"
                        );
                        Box::new(KeyboardButtons::single_keys(stdin, Some(terminal)))
                    }
                    Err(e) => {
                        log::warn!(
                            "the terminal stays in line mode ({e}): press Enter after each key"
                        );
                        println!(
                            "Keys: Enter = count, u = undo, n = new slide, l = live mode, q = quit (each then Enter)"
                        );
                        Box::new(KeyboardButtons::new(std::io::BufReader::new(stdin)))
                    }
                });
            }
            if config.live.enabled {
                log::info!("buttons: no schedule and no terminal; live mode counts on its own");
            } else {
                log::warn!("buttons: no schedule and no terminal; nothing will be counted");
            }
            Ok(Box::new(ScriptedButtons::new(Vec::new(), exit)))
        }
        ButtonDriver::Gpio => Ok(open_hardware(GpioBackend::Cdev, &config.buttons.gpio)?),
        ButtonDriver::Rppal => Ok(open_hardware(GpioBackend::Rppal, &config.buttons.gpio)?),
    }
}
