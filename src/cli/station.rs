//! `hematovision station`: the review station over a data directory, without hardware.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use hematovision::config::Config;
use hematovision::station::{ClassifyService, Station, StationOptions};

/// Serves the station until Ctrl-C or SIGTERM.
pub fn run(
    config: Option<&Path>,
    data_dir: Option<PathBuf>,
    listen: Option<SocketAddr>,
) -> anyhow::Result<ExitCode> {
    let config = load_config(config, data_dir.is_some())?;
    let data_dir = data_dir.unwrap_or_else(|| config.storage.data_dir.clone());
    let listen = match listen {
        Some(addr) => addr,
        None => config.station.listen.parse().with_context(|| {
            format!(
                "station.listen = {:?} is not an address",
                config.station.listen
            )
        })?,
    };
    let (classify, model) = match super::devices::classifier(
        &config.model.path,
        config.model.runtime_library.as_deref(),
        config.model.threads,
        config.model.views,
    ) {
        Ok(mut classifier) => {
            // The station answers with the head the daemon counts with.
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
            let service = ClassifyService::new(
                Box::new(classifier),
                config.counting.confidence_threshold,
                config.limits.max_image_pixels,
            );
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
    let station = Station::new(
        StationOptions {
            data_dir: data_dir.clone(),
            listen,
            token: config.station.token.clone(),
            max_upload_bytes: usize::try_from(config.station.max_upload_bytes)
                .unwrap_or(usize::MAX),
            model,
        },
        classify,
    )?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the station's threads")?;
    runtime.block_on(async move {
        let listener = station.bind().await?;
        let addr = listener.local_addr().unwrap_or(listen);
        println!(
            "Review station for {} at http://{addr}/ (Ctrl-C stops it)",
            data_dir.display()
        );
        station.serve(listener, stopped()).await
    })?;
    Ok(ExitCode::SUCCESS)
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
