//! The counting core: slide sessions and the differential count.
//!
//! Pure logic with no I/O and no clock reads: every change is an [`Event`], applied by
//! [`Counter::apply`]. The daemon writes each event to the journal *before* applying it,
//! and on start-up replays the journal through the same `apply`, so a restarted daemon
//! has exactly the counts it had before.

mod counter;
mod event;
mod outside;
mod review;
mod session;
mod session_id;

pub use counter::{CountError, Counter};
pub use event::{CellRecord, Event, Stamp, unsure_tag};
pub use outside::outside_classes;
pub use review::{MAX_NAME_CHARS, Review, SignOff, check_name};
pub use session::Session;
pub use session_id::{BadSessionId, MAX_SESSION_ID_LEN, validate_session_id};
