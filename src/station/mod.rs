//! The review station: web pages on the device (or a lab PC) to classify pictures, verify
//! and correct counted cells, sign slides off and print reports.
//!
//! Served by the daemon beside its loop, or by `hematovision station` over a data directory:
//! every page is rendered on the server, and every asset is compiled into the binary. A
//! correction or a sign-off is a new journal event ([`crate::count::Event::CellReviewed`],
//! [`crate::count::Event::SignedOff`]), so replay, reports and recovery see it.
//!
//! Safety: a loopback address unless a token is configured ([`crate::config::check_exposure`]);
//! with no token only requests addressed to this machine are answered; changes only from
//! the station's own pages ([`guard`]); request bodies and pictures bounded; files only
//! from `crops/<slide>/`, named by the slide's journal; no directory listing.
//!
//! One writer: served by the daemon (`[station] enabled`), the station reads the open
//! slide from the copy the event loop publishes and sends every change (review, sign-off,
//! an upload saved to the slide) to the loop as a request ([`crate::app::LoopHandle`]); it
//! never holds the loop's state, nor makes the loop wait. Standalone, it writes its own
//! changes under the data directory's lock ([`crate::store::DataDirLock`]) and is read-only
//! while a daemon holds that lock. Either way pages follow the changes live through
//! server-sent events (`GET /api/events`).

mod changes;
mod classify;
mod csp;
pub mod doc;
mod error;
mod events;
pub mod export;
pub mod guard;
pub mod html;
mod job;
mod pages;
pub mod report;
mod server;
mod shared;
mod slides;
pub mod teach;
mod thread;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;

pub use classify::{Classified, ClassifyService, MAX_IMAGES};
pub use error::{ApiError, StationError};
pub use slides::{SlideItem, SlideStore};
pub use thread::Served;

use crate::config::{check_exposure, check_token};

/// How the station is served.
#[derive(Debug, Clone)]
pub struct StationOptions {
    /// The data directory whose slides are shown.
    pub data_dir: PathBuf,
    /// Where to listen.
    pub listen: SocketAddr,
    /// Access token, required unless `listen` is a loopback address.
    pub token: Option<String>,
    /// Largest request body, in bytes.
    pub max_upload_bytes: usize,
    /// What the reports say about the model, when one is loaded.
    pub model: Option<String>,
    /// Inside the daemon: its loop, which owns the open slide and writes every change.
    /// `None` for a standalone station, which writes under the data directory's lock.
    pub daemon: Option<crate::app::LoopHandle>,
}

/// A station ready to be served: its settings are checked.
#[derive(Debug)]
pub struct Station {
    options: StationOptions,
    classify: ClassifyService,
}

impl Station {
    /// Checks the settings: a non-loopback address needs a token, a token must be long.
    pub fn new(options: StationOptions, classify: ClassifyService) -> Result<Self, StationError> {
        if let Some(token) = &options.token {
            check_token(token).map_err(|e| e.in_section("station"))?;
        }
        check_exposure(options.listen, options.token.as_deref())
            .map_err(|e| e.in_section("station"))?;
        Ok(Station { options, classify })
    }

    /// Binds the listening socket.
    pub async fn bind(&self) -> Result<tokio::net::TcpListener, StationError> {
        let addr = self.options.listen;
        tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| StationError::Listen { addr, source })
    }

    /// Serves on `listener` until `shutdown` completes.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StationError> {
        let (stop, stopping) = tokio::sync::watch::channel(false);
        let router = server::router(shared::Shared {
            slides: SlideStore::new(self.options.data_dir, self.options.daemon),
            classify: self.classify,
            token: self.options.token,
            max_upload_bytes: self.options.max_upload_bytes,
            model: self.options.model,
            teaching: Default::default(),
            stopping,
        });
        // Live streams never end by themselves: they are told to, or the graceful
        // shutdown would wait for them forever.
        let shutdown = async move {
            shutdown.await;
            stop.send_replace(true);
        };
        axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(StationError::Serve)
    }
}
