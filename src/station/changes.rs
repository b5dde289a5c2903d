//! Where a change goes: inside the daemon, to its loop (the one writer) as a request; in a
//! standalone station, to the journal under the data directory's lock ([`SlideStore`]).

use std::sync::Arc;

use axum::http::StatusCode;

use crate::app::{LinkError, LoopHandle, Reply, Request};
use crate::count::Session;

use super::classify::Outcome;
use super::doc::{SlideDoc, UNIDENTIFIED};
use super::error::ApiError;
use super::shared::Shared;

/// A reviewer's verdict on one cell; the slide after it.
pub(super) async fn review(
    state: Arc<Shared>,
    slide: String,
    seq: u64,
    label: String,
    reviewer: String,
) -> Result<SlideDoc, ApiError> {
    if let Some(daemon) = state.slides.daemon() {
        let label = (label != UNIDENTIFIED).then_some(label);
        return slide_after(daemon, |reply| Request::Review {
            slide,
            seq,
            label,
            reviewer,
            reply,
        })
        .await;
    }
    super::shared::blocking(move || {
        let at = state.slides.now();
        state.slides.review(&slide, seq, &label, &reviewer, at)
    })
    .await
}

/// The operator's sign-off; the slide after it.
pub(super) async fn sign_off(
    state: Arc<Shared>,
    slide: String,
    operator: String,
) -> Result<SlideDoc, ApiError> {
    if let Some(daemon) = state.slides.daemon() {
        return slide_after(daemon, |reply| Request::SignOff {
            slide,
            operator,
            reply,
        })
        .await;
    }
    super::shared::blocking(move || {
        let at = state.slides.now();
        state.slides.sign_off(&slide, &operator, at)
    })
    .await
}

/// An upload counted in the open slide `slide`; the new cell's number.
pub(super) async fn add_cell(
    state: Arc<Shared>,
    slide: String,
    outcome: Outcome,
    origin: String,
) -> Result<u64, ApiError> {
    if let Some(daemon) = state.slides.daemon() {
        let (_, seq) = daemon
            .ask(|reply| Request::AddCell {
                slide,
                crop: outcome.crop,
                answer: outcome.answer,
                origin,
                reply,
            })
            .await
            .map_err(link_error)?;
        return Ok(seq);
    }
    super::shared::blocking(move || {
        state
            .slides
            .add_cell(&slide, &outcome.crop, outcome.answer, origin)
            .map(|(_, seq)| seq)
    })
    .await
}

/// Asks the loop for a change and returns the slide after it.
async fn slide_after(
    daemon: &LoopHandle,
    request: impl FnOnce(Reply<Session>) -> Request,
) -> Result<SlideDoc, ApiError> {
    let session = daemon.ask(request).await.map_err(link_error)?;
    Ok(SlideDoc::of(&session))
}

/// The loop's refusal as an API error.
pub(super) fn link_error(e: LinkError) -> ApiError {
    let status = match e {
        LinkError::NotFound(_) => StatusCode::NOT_FOUND,
        LinkError::Conflict(_) => StatusCode::CONFLICT,
        LinkError::Invalid(_) => StatusCode::BAD_REQUEST,
        LinkError::NotSaved(_) => StatusCode::INTERNAL_SERVER_ERROR,
        LinkError::Busy | LinkError::Stopped => StatusCode::SERVICE_UNAVAILABLE,
    };
    ApiError::new(status, e.to_string())
}
