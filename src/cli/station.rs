//! `hematovision station`: the review station over a data directory, without hardware;
//! and the same station served by the daemon beside its loop (`[station] enabled`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use hematovision::app::LoopHandle;
use hematovision::config::Config;
use hematovision::station::{ClassifyService, Served, Station, StationOptions};

/// Serves the station until Ctrl-C or SIGTERM.
pub fn run(
    config: Option<&Path>,
    data_dir: Option<PathBuf>,
    listen: Option<SocketAddr>,
) -> anyhow::Result<ExitCode> {
    let config = load_config(config, data_dir.is_some())?;
    let data_dir = data_dir.unwrap_or_else(|| config.storage.data_dir.clone());
    let station = build(&config, &data_dir, listen, None)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the station's threads")?;
    runtime.block_on(async move {
        let listener = station.bind().await?;
        let addr = listener.local_addr()?;
        println!(
            "Review station for {} at http://{addr}/ (Ctrl-C stops it)",
            data_dir.display()
        );
        // Said up front: the pages say it too, but a reviewer should not find out by a refusal.
        if let Ok(None) = hematovision::store::DataDirLock::try_acquire(&data_dir) {
            println!(
                "Read-only: a running daemon counts in {} and owns its journal; review in its own station (station.enabled) or stop it first",
                data_dir.display()
            );
        }
        station.serve(listener, stopped()).await?;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The station of `config` over `data_dir`, with its own classifier for uploads (never
/// the loop's: classifying an upload must not hold up a button press). `daemon` is the
/// running loop when the daemon serves it.
fn build(
    config: &Config,
    data_dir: &Path,
    listen: Option<SocketAddr>,
    daemon: Option<LoopHandle>,
) -> anyhow::Result<Station> {
    let listen = match listen {
        Some(addr) => addr,
        None => config.station.listen.parse().with_context(|| {
            format!(
                "station.listen = {:?} is not an address",
                config.station.listen
            )
        })?,
    };
    // Inside the daemon the station's model gets one thread, so an upload leaves the
    // other cores to the loop.
    let threads = if daemon.is_some() {
        1
    } else {
        config.model.threads
    };
    let (classify, model) = match super::devices::classifier(
        &config.model.path,
        config.model.runtime_library.as_deref(),
        threads,
        config.model.views,
    ) {
        Ok(mut classifier) => {
            // The station answers with the head and the gate the daemon counts with.
            super::devices::use_gate(&mut classifier, config.model.unfamiliar_gate);
            let head = super::devices::calibrate_or_fall_back(
                &mut classifier,
                config.model.calibration.as_deref(),
            );
            let model = match head {
                super::devices::HeadState::Calibrated(id) => {
                    format!("{}, calibration {id}", classifier.info())
                }
                _ => classifier.info().to_string(),
            };
            let cell_fraction = classifier.bundle().cell_fraction();
            // Recalibration starts from the shipped head, whatever head answers now.
            let shipped = classifier
                .bundle()
                .shipped_head()
                .cloned()
                .map(|head| (head, classifier.bundle().sha256().to_string()));
            let mut service = ClassifyService::new(
                Box::new(classifier),
                config.counting.confidence_threshold,
                config.limits.max_image_pixels,
            )
            .with_reframing(config.locator.clone(), cell_fraction);
            if let Some((head, sha256)) = shipped {
                service = service.with_shipped_head(head, sha256);
            }
            (service, Some(model))
        }
        Err(e) => {
            log::warn!("classification unavailable: {e:#}");
            (
                ClassifyService::unavailable(format!(
                    "the model could not be loaded ({e:#}); run `hematovision doctor`"
                )),
                None,
            )
        }
    };
    Ok(Station::new(
        StationOptions {
            data_dir: data_dir.to_path_buf(),
            listen,
            token: config.station.token.clone(),
            max_upload_bytes: usize::try_from(config.station.max_upload_bytes)
                .unwrap_or(usize::MAX),
            model,
            daemon,
        },
        classify,
    )?)
}

/// Builds the daemon's station over the configuration's data directory and serves it on
/// a thread of its own; the address is bound now, so a taken port is reported before the
/// loop starts.
pub fn start_in_daemon(
    config: &Config,
    listen: Option<SocketAddr>,
    daemon: LoopHandle,
) -> anyhow::Result<Served> {
    let station = build(config, &config.storage.data_dir, listen, Some(daemon))?;
    let served = Served::start(station, 1)?;
    log::info!("review station at http://{}/", served.addr());
    println!("Review station at http://{}/", served.addr());
    Ok(served)
}

/// The configuration: the file given, else the production file if there is one, else the
/// defaults (a lab PC reviewing a copied data directory has no /etc configuration).
fn load_config(path: Option<&Path>, have_data_dir: bool) -> anyhow::Result<Config> {
    if let Some(path) = path {
        return Ok(Config::load(path)?);
    }
    let default = Path::new(super::paths::DEFAULT_CONFIG);
    if default.exists() {
        return Ok(Config::load(default)?);
    }
    anyhow::ensure!(
        have_data_dir,
        "no configuration at {}: pass --data-dir DIR (or --config FILE)",
        default.display()
    );
    let mut config = Config::default();
    config.model.path = super::paths::default_model();
    Ok(config)
}

/// Completes on Ctrl-C or SIGTERM.
async fn stopped() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                log::warn!("SIGTERM not handled: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
    log::info!("station stopping");
}
