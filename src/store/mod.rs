//! Crash-safe persistence of the count.

mod journal;
mod replay;

pub use journal::{Journal, StoreError};
pub use replay::{Replay, SessionSummary, list_sessions, read_session};
