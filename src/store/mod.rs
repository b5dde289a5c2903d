//! Crash-safe persistence of the count.

mod append;
mod durable;
mod error;
mod files;
mod journal;
mod probe;
mod replay;

pub use append::{AppendFailure, JournalFile, append_line};
pub use durable::write_file_durably;
pub use error::StoreError;
pub use journal::Journal;
pub use probe::{
    DISK_FAIL_BYTES, DISK_WARN_BYTES, assess_space, low_space_warning, prove_writable,
};
pub use replay::{Replay, SessionSummary, list_sessions, read_session, replay_bytes};
