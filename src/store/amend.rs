//! Amending a slide that is not the one being counted: a review or a sign-off appended to
//! its journal file after replaying it, by the one writer of the data directory (the
//! daemon's loop, or a standalone station holding [`super::DataDirLock`]).

use std::path::Path;

use crate::count::{CountError, Counter, Event};

use super::error::StoreError;
use super::journal::Journal;
use super::replay::read_session;

/// Replays slide `id`, builds an event from it with `event_of`, journals it (fsync'd) and
/// applies it; returns the slide's counter after the event and the event itself. A torn
/// file is refused by the append ([`StoreError::TornTail`]), an event the counter refuses
/// is never written ([`StoreError::Refused`]).
pub fn amend(
    journal: &mut Journal,
    id: &str,
    event_of: impl FnOnce(&Counter) -> Result<Event, CountError>,
) -> Result<(Counter, Event), StoreError> {
    let mut counter = replay_slide(journal.data_dir(), id)?;
    let event = event_of(&counter)?;
    journal.append(&event)?;
    counter.apply(&event)?;
    Ok((counter, event))
}

/// Slide `id` replayed from its file; a file holding another slide is no slide `id`.
pub fn replay_slide(data_dir: &Path, id: &str) -> Result<Counter, StoreError> {
    let replay = read_session(data_dir, Some(id))?;
    if replay.counter.session().is_none_or(|s| s.id != id) {
        return Err(StoreError::NoSuchSession(id.to_string()));
    }
    Ok(replay.counter)
}
