//! What every request handler shares, and how they run blocking work.

use super::classify::ClassifyService;
use super::error::ApiError;
use super::slides::SlideStore;

/// What every handler shares.
#[derive(Debug)]
pub(super) struct Shared {
    pub slides: SlideStore,
    pub classify: ClassifyService,
    pub token: Option<String>,
    pub max_upload_bytes: usize,
    /// The model's description for reports, when a model is loaded.
    pub model: Option<String>,
    /// The one recalibration ("Teach this microscope") that may run at a time.
    pub teaching: super::job::JobSlot,
    /// Becomes true when the station stops: live streams end then.
    pub stopping: tokio::sync::watch::Receiver<bool>,
}

/// Runs blocking work off the async threads.
pub(super) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::internal(format!("a worker failed: {e}")))?
}
