//! Crash-safe persistence of the count.

mod journal;
mod probe;
mod replay;

pub use journal::{Journal, StoreError};
pub use probe::{assess_space, low_space_warning, prove_writable};
pub use replay::{Replay, SessionSummary, list_sessions, read_session};
