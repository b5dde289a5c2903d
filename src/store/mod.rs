//! Crash-safe persistence of the count.

mod amend;
mod append;
mod crops;
mod durable;
mod error;
mod files;
mod journal;
mod lock;
mod probe;
mod replay;

pub use amend::{amend, replay_slide};
pub use append::{AppendFailure, JournalFile, append_line};
pub use crops::{crop_path, write_crop};
pub use durable::write_file_durably;
pub use error::StoreError;
pub use journal::Journal;
pub use lock::{DataDirLock, LOCK_FILE, lock_path};
pub use probe::{
    DISK_FAIL_BYTES, DISK_WARN_BYTES, assess_space, low_space_warning, prove_writable,
};
pub use replay::{Replay, SessionSummary, list_sessions, read_session, replay_bytes};
