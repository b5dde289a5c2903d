//! The one recalibration ("Teach this microscope") a station runs at a time: a second
//! request meanwhile is answered at once instead of queueing behind the first.

use std::sync::atomic::{AtomicBool, Ordering};

use axum::http::StatusCode;

use super::error::ApiError;

/// The one recalibration a station runs at a time.
#[derive(Debug, Default)]
pub(super) struct JobSlot(AtomicBool);

/// The slot taken; released when dropped, however the job ends.
#[derive(Debug)]
pub(super) struct Job<'a>(&'a JobSlot);

impl JobSlot {
    /// Takes the slot, or says that a job already runs.
    pub(super) fn take(&self) -> Result<Job<'_>, ApiError> {
        self.0
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .map(|_| Job(self))
            .map_err(|_| {
                ApiError::new(
                    StatusCode::CONFLICT,
                    "a recalibration is already running on this station; wait for its result",
                )
            })
    }
}

impl Drop for Job<'_> {
    fn drop(&mut self) {
        self.0.0.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_job_at_a_time_and_the_slot_is_freed_however_it_ends() {
        let slot = JobSlot::default();
        let job = slot.take().unwrap();
        let refused = slot.take().unwrap_err();
        assert_eq!(refused.status, StatusCode::CONFLICT);
        assert!(refused.message.contains("already running"));
        drop(job);
        assert!(slot.take().is_ok());
    }
}
