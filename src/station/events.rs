//! Live pages: `GET /api/events`, a server-sent event per change (`{"slide", "event"}`), so
//! a slide page refreshes its gallery and differential while the button counts or another
//! tab reviews. A listener that falls behind gets `{"slide": "*"}` (refresh everything)
//! instead of holding anyone back; the stream ends when the station stops.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};

use crate::app::Update;

use super::shared::Shared;

/// A comment line this often keeps proxies and browsers from closing an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The stream of changes.
pub(super) async fn events(
    State(state): State<Arc<Shared>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let updates = state.slides.subscribe();
    let stopping = state.stopping.clone();
    let stream = futures_util::stream::unfold((updates, stopping), next);
    Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
}

type Listening = (broadcast::Receiver<Update>, watch::Receiver<bool>);

/// The next event, or the end once the station stops (or nothing can change any more).
async fn next(
    (mut updates, mut stopping): Listening,
) -> Option<(Result<Event, Infallible>, Listening)> {
    if *stopping.borrow() {
        return None;
    }
    let data = tokio::select! {
        update = updates.recv() => match update {
            Ok(update) => serde_json::to_string(&update).ok()?,
            Err(RecvError::Lagged(missed)) => {
                log::debug!("a live page missed {missed} updates; it refreshes everything");
                r#"{"slide":"*","event":"missed"}"#.to_string()
            }
            Err(RecvError::Closed) => return None,
        },
        _ = stopping.changed() => return None,
    };
    Some((Ok(Event::default().data(data)), (updates, stopping)))
}
