//! `hematovision run`: the daemon.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use hematovision::app::missed::MissedFrames;
use hematovision::app::{App, AppSettings, Devices, StopSignals};
use hematovision::config::{CameraSourceKind, Config};
use hematovision::hw::display::{DisplayDriver, Screen, TerminalStyle};
use hematovision::report::SlideReport;

use super::devices::{self, HeadState};

/// Options of `run` beyond the configuration file.
#[derive(Debug, Default)]
pub struct RunOptions {
    /// Data directory, overriding the configuration.
    pub data_dir: Option<PathBuf>,
    /// Scripted presses, overriding the configuration.
    pub presses: Option<String>,
    /// Exit after the last scripted press.
    pub exit_when_done: bool,
    /// Start in live mode (counting every new cell while the slide is scanned).
    pub live: bool,
    /// Calibration file, overriding the configuration's `model.calibration`.
    pub calibration: Option<PathBuf>,
    /// The station's address, overriding station.listen.
    pub listen: Option<std::net::SocketAddr>,
    /// `-v` given: the log stays at its level even under the quiet terminal screen.
    pub verbose: u8,
}

/// How long the boot screen stays when a calibration was refused.
const REFUSED_NOTICE: std::time::Duration = std::time::Duration::from_secs(3);

/// The boot screen's model line: the model's short name and version, and the head
/// (`CAL` and the calibration's first digits, or `CAL ERR` when it was refused), in the
/// 15 characters the panel has after `MODEL `.
fn boot_model_line(name: &str, version: Option<&str>, head: &HeadState) -> String {
    let name = name.strip_prefix("hematovision-").unwrap_or(name);
    match head {
        HeadState::Shipped => match version {
            Some(v) => format!("{name} {v}"),
            None => name.to_string(),
        },
        HeadState::Calibrated(id) => {
            let digits = id.strip_prefix("sha256:").unwrap_or(id);
            format!("{name} CAL {}", digits.get(..6).unwrap_or(digits))
        }
        HeadState::Refused => format!("{name} CAL ERR"),
    }
}

/// Whether `run` logs warnings only: the compact screen is printed in the terminal and
/// neither `-v` nor `RUST_LOG` asks for more.
fn quiet_terminal(config: &Config, verbose: u8) -> bool {
    config.display.driver == DisplayDriver::Sim
        && config.display.terminal
        && config.display.terminal_style == TerminalStyle::Compact
        && verbose == 0
        && std::env::var_os("RUST_LOG").is_none()
}

/// Starts the daemon and runs it until it is told to quit.
pub fn run(config_path: &Path, options: RunOptions) -> anyhow::Result<ExitCode> {
    let mut config = Config::load(config_path)?;
    if let Some(dir) = options.data_dir {
        config.storage.data_dir = dir;
    }
    if options.live {
        config.live.enabled = true;
    }
    if let Some(calibration) = options.calibration {
        config.model.calibration = Some(calibration);
    }
    if config.live.enabled && config.camera.source == CameraSourceKind::Replay {
        // Replayed fields jump from one to the next: live mode sees no scan, counts nothing.
        log::warn!(
            "live mode with camera.source = \"replay\" counts nothing (the pictures are not a \
             scan); camera.source = \"scan\" scans them: see config/demo-live.toml"
        );
    }
    if quiet_terminal(&config, options.verbose) {
        // The screen in the terminal tells a first-time user what happens; the log would
        // scroll it away. Warnings still show; -v, RUST_LOG or
        // display.terminal_style = "full" bring the whole log back.
        log::set_max_level(log::LevelFilter::Warn);
    }
    log::info!(
        "hematovision {} starting with {}",
        env!("CARGO_PKG_VERSION"),
        config_path.display()
    );
    // Installed first, so a stop during start-up (model loading) is also seen by the loop.
    let signals = StopSignals::install()
        .inspect_err(|e| {
            // Without the handlers SIGTERM still stops the daemon, only not cleanly.
            log::warn!("cannot handle SIGTERM and SIGINT: {e}");
        })
        .ok();
    let mut display = devices::display(&config)?;
    let mut classifier = devices::classifier(
        &config.model.path,
        config.model.runtime_library.as_deref(),
        config.model.threads,
        config.model.views,
    )?;
    devices::use_gate(&mut classifier, config.model.unfamiliar_gate);
    let head =
        devices::calibrate_or_fall_back(&mut classifier, config.model.calibration.as_deref());
    let camera = devices::camera(&config)?;
    let boot = Screen::Boot {
        version: env!("CARGO_PKG_VERSION").to_string(),
        model: boot_model_line(
            &classifier.info().name,
            classifier.info().version.as_deref(),
            &head,
        ),
        camera: match config.camera.source {
            CameraSourceKind::Replay => "REPLAY".into(),
            CameraSourceKind::Scan => "SCAN".into(),
            CameraSourceKind::V4l2 => "USB".into(),
        },
    };
    if let Err(e) = display.show(&boot) {
        log::warn!("display: {e}; counting goes on without it");
    }
    if head == HeadState::Refused {
        // Long enough for the technician to read CAL ERR before the tally replaces it.
        std::thread::sleep(REFUSED_NOTICE);
    }
    let cell_fraction = classifier.bundle().cell_fraction();
    let devices = Devices {
        finder: Box::new(devices::finder(&config, classifier.bundle())),
        classifier: Box::new(classifier),
        camera,
        display,
        buttons: devices::buttons(&config, options.presses.as_deref(), options.exit_when_done)?,
    };
    let settings = AppSettings {
        target: config.counting.target,
        confidence_threshold: config.counting.confidence_threshold,
        outside_differential: config.counting.outside_differential.clone(),
        data_dir: config.storage.data_dir.clone(),
        save_crops: config.storage.save_crops,
    };
    let mut app = App::start(devices, settings).with_context(|| {
        format!(
            "cannot open the journal in {}",
            config.storage.data_dir.display()
        )
    })?;
    app.configure_live(&config.live, config.locator.clone(), cell_fraction);
    if config.storage.keep_missed_frames {
        app.keep_missed_frames(MissedFrames::new(
            &config.storage.data_dir,
            config.storage.missed_frames_limit as usize,
        ));
    }
    if let Some(signals) = signals {
        app.stop_on(signals);
    }
    let station = if config.station.enabled {
        let (link, handle) = hematovision::app::link();
        match super::station::start_in_daemon(&config, options.listen, handle) {
            Ok(station) => {
                app.attach_station(link);
                Some(station)
            }
            Err(e) => {
                // The counter matters more than its pages: it counts without them.
                log::error!(
                    "the review station is not served: {e:#}; counting goes on. Under systemd \
                     the unit allows no network until the station's drop-in is installed \
                     (/usr/share/hematovision/systemd/station.conf, docs/INSTALL.md)"
                );
                None
            }
        }
    } else {
        None
    };
    let ran = app.run();
    app.detach_station();
    if let Some(station) = station {
        station.stop();
    }
    ran?;
    if let Some(session) = app.counter().session() {
        println!("{}", SlideReport::of(session));
    }
    // Dropping the app closes the journal file; every event in it was already synced.
    drop(app);
    log::info!("stopped; journal closed");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_boot_screen_says_which_head_counts_in_its_15_characters() {
        let line = |head| boot_model_line("hematovision-wbc7", Some("2.0.0"), &head);
        assert_eq!(line(HeadState::Shipped), "wbc7 2.0.0");
        let calibrated = line(HeadState::Calibrated("sha256:1a2b3c4d5e6f".into()));
        assert_eq!(calibrated, "wbc7 CAL 1a2b3c");
        assert_eq!(line(HeadState::Refused), "wbc7 CAL ERR");
        for text in [calibrated, line(HeadState::Refused)] {
            assert!(text.len() <= 15, "{text}");
        }
        assert_eq!(
            boot_model_line("mobilenet", None, &HeadState::Shipped),
            "mobilenet"
        );
    }
}
