//! `hematovision run`: the daemon.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use hematovision::app::missed::MissedFrames;
use hematovision::app::{App, AppSettings, Devices, StopSignals};
use hematovision::config::Config;
use hematovision::hw::display::Screen;
use hematovision::report::SlideReport;

use super::devices;

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
    log::info!(
        "hematovision {} starting with {}",
        env!("CARGO_PKG_VERSION"),
        config_path.display()
    );
    if config.station.enabled {
        // Said loudly so nobody waits for pages the daemon does not serve yet.
        log::warn!(
            "station.enabled: the daemon does not serve the review station yet; run \
             `hematovision station --config {}` to review finished slides",
            config_path.display()
        );
    }
    // Installed first, so a stop during start-up (model loading) is also seen by the loop.
    let signals = StopSignals::install()
        .inspect_err(|e| {
            // Without the handlers SIGTERM still stops the daemon, only not cleanly.
            log::warn!("cannot handle SIGTERM and SIGINT: {e}");
        })
        .ok();
    let mut display = devices::display(&config)?;
    let classifier = devices::classifier(
        &config.model.path,
        config.model.runtime_library.as_deref(),
        config.model.threads,
        config.model.views,
    )?;
    let camera = devices::camera(&config)?;
    let boot = Screen::Boot {
        version: env!("CARGO_PKG_VERSION").to_string(),
        model: classifier.info().name.clone(),
        camera: match config.camera.source {
            hematovision::config::CameraSourceKind::Replay => "REPLAY".into(),
            hematovision::config::CameraSourceKind::V4l2 => "USB".into(),
        },
    };
    if let Err(e) = display.show(&boot) {
        log::warn!("display: {e}; counting goes on without it");
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
    app.run()?;
    if let Some(session) = app.counter().session() {
        println!("{}", SlideReport::of(session));
    }
    // Dropping the app closes the journal file; every event in it was already synced.
    drop(app);
    log::info!("stopped; journal closed");
    Ok(ExitCode::SUCCESS)
}
