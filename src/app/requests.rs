//! The loop's side of the station link: the station's requests carried out between button
//! events, by the one owner of the state and the journal writer.

use crate::count::{CountError, Counter, Event, Session};
use crate::hw::display::Status;
use crate::model::CellAnswer;
use crate::store::{Journal, amend};

use super::link::{LinkError, Request, Update};
use super::{App, CountOutcome};

impl App {
    /// Carries out the station's waiting requests; at most one queue's worth per call, so
    /// a flood of requests cannot keep a button press waiting.
    pub(super) fn serve_station(&mut self) {
        for _ in 0..super::link::INBOX_CAPACITY {
            let Some(request) = self.station.as_ref().and_then(|s| s.next_request()) else {
                return;
            };
            self.carry_out(request);
        }
    }

    fn carry_out(&mut self, request: Request) {
        match request {
            Request::Review {
                slide,
                seq,
                label,
                reviewer,
                reply,
            } => {
                let at = self.now();
                let done = self.change(&slide, |c| c.review_event(seq, label, reviewer, at));
                let _gone = reply.send(done);
            }
            Request::SignOff {
                slide,
                operator,
                reply,
            } => {
                let at = self.now();
                let open = self.is_open_slide(&slide);
                let done = self.change(&slide, |c| c.sign_off_event(operator, at));
                if open && done.is_ok() {
                    // The signed-off slide is closed: the next press counts on a new one.
                    match self.start_slide() {
                        Ok(()) => self.show_status(Status::NewSlide),
                        Err(e) => log::error!("cannot start a new slide after a sign-off: {e}"),
                    }
                }
                let _gone = reply.send(done);
            }
            Request::AddCell {
                slide,
                crop,
                answer,
                origin,
                reply,
            } => {
                let done = if self.is_open_slide(&slide) {
                    self.add_upload(&crop, answer, &origin)
                } else {
                    Err(LinkError::Conflict(format!(
                        "slide {slide} is not the one being counted: an upload can only join the open slide"
                    )))
                };
                let _gone = reply.send(done);
            }
        }
    }

    fn is_open_slide(&self, slide: &str) -> bool {
        self.counter.open_session().is_some_and(|s| s.id == slide)
    }

    /// A review or sign-off: through the loop's own counter for the open slide, appended
    /// after a replay of its file for any other.
    fn change(
        &mut self,
        slide: &str,
        event_of: impl FnOnce(&Counter) -> Result<Event, CountError>,
    ) -> Result<Session, LinkError> {
        if self.counter.session().is_some_and(|s| s.id == slide) {
            let event = event_of(&self.counter)?;
            self.commit(event)?;
            return self
                .counter
                .session()
                .cloned()
                .ok_or_else(|| LinkError::NotFound(format!("no slide {slide}")));
        }
        let mut journal = Journal::appender(&self.settings.data_dir);
        let (counter, event) = amend(&mut journal, slide, event_of)?;
        log::info!("slide {slide}: {} from the station", event.name());
        if let Some(link) = &self.station {
            link.publish(Update::of(&event));
        }
        counter
            .session()
            .cloned()
            .ok_or_else(|| LinkError::NotFound(format!("no slide {slide}")))
    }

    /// Counts an uploaded cell in the open slide, its crop always kept.
    fn add_upload(
        &mut self,
        crop: &image::RgbImage,
        answer: CellAnswer,
        origin: &str,
    ) -> Result<(Session, u64), LinkError> {
        match self.count_answer(answer, crop, origin, 1, true) {
            CountOutcome::Counted { cell, .. } => {
                self.show_status(Status::Ready);
                let session = self
                    .counter
                    .session()
                    .cloned()
                    .ok_or_else(|| LinkError::NotFound("no open slide".into()))?;
                Ok((session, cell.seq))
            }
            CountOutcome::NotSaved(e) => Err(LinkError::NotSaved(e)),
            CountOutcome::Failed(e) => Err(LinkError::Invalid(e)),
            CountOutcome::NoFrame(e) => Err(LinkError::Invalid(e)),
            CountOutcome::NoCell => Err(LinkError::Invalid("no cell".into())),
        }
    }
}
