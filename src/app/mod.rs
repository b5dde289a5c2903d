//! The daemon's event loop: one owner of all state, driven by button events.

mod finder;
mod link;
mod live;
pub mod missed;
mod outcome;
mod requests;
mod stop;

use std::path::PathBuf;
use std::time::{Duration, Instant};

pub use finder::{CellFinder, FoundCell, LocatorFinder};
pub use link::{
    INBOX_CAPACITY, LinkError, LoopHandle, REPLY_TIMEOUT, Reply, Request, StationLink,
    UPDATES_CAPACITY, Update, link,
};
pub use outcome::CountOutcome;
pub use stop::StopSignals;

use crate::camera::FrameSource;
use crate::count::{Counter, Event, Stamp};
use crate::hw::button::{ButtonEvent, Buttons};
use crate::hw::display::{Display, ErrorCode, Screen, Status, TallyView};
use crate::model::{CellAnswer, Classifier};
use crate::service::ServiceNotifier;
use crate::store::{DataDirLock, Journal, StoreError};

/// How long the last result stays before "TARGET REACHED" replaces it.
const TARGET_NOTICE_DELAY: Duration = Duration::from_millis(1500);
/// Frames tried per count when the camera delivers bad ones.
const BAD_FRAME_ATTEMPTS: u32 = 3;
/// How long the loop waits for a button before doing its periodic work.
const TICK: Duration = Duration::from_millis(100);
/// Classes usually kept outside the differential that older models do not have, so
/// their absence is no configuration mistake.
const EXPECTED_OUTSIDE_CLASSES: [&str; 1] = ["ERYTHROBLAST"];
/// How long the daemon waits at start for a review station's write to the data directory
/// to finish (milliseconds, normally) before it gives up.
const LOCK_WAIT: Duration = Duration::from_secs(5);

/// Errors that stop the daemon.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The journal could not be opened or read at start-up.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The button backend failed for good.
    #[error(transparent)]
    Buttons(#[from] crate::hw::button::ButtonError),
}

/// Settings of the loop, taken from the configuration.
#[derive(Debug, Clone)]
pub struct AppSettings {
    /// Identified cells in a complete differential (for new slides).
    pub target: u32,
    /// Confidence under which a cell is unidentified (for new slides).
    pub confidence_threshold: f32,
    /// Classes counted outside the differential (for new slides); names the model lacks
    /// are ignored.
    pub outside_differential: Vec<String>,
    /// Where the journal and crops go.
    pub data_dir: PathBuf,
    /// Keep the crop of every counted cell.
    pub save_crops: bool,
}

/// The devices the loop drives.
pub struct Devices {
    /// Camera (or replay).
    pub camera: Box<dyn FrameSource>,
    /// Finds the white cell in a frame.
    pub finder: Box<dyn CellFinder>,
    /// The model.
    pub classifier: Box<dyn Classifier>,
    /// The screen.
    pub display: Box<dyn Display>,
    /// The buttons.
    pub buttons: Box<dyn Buttons>,
}

/// The running daemon.
pub struct App {
    devices: Devices,
    settings: AppSettings,
    journal: Journal,
    counter: Counter,
    started: Instant,
    pending: Option<(Instant, Screen)>,
    display_failing: bool,
    service: ServiceNotifier,
    missed: Option<missed::MissedFrames>,
    live: live::LiveMode,
    stop: StopSignals,
    /// The review station served beside the loop, if any.
    station: Option<StationLink>,
    /// This process is the data directory's one writer while the app lives.
    _lock: DataDirLock,
}

impl App {
    /// Opens the journal, resumes the open slide (or starts one) and shows the tally.
    ///
    /// The journal must be writable before anything else: otherwise the display shows
    /// `ERR J02`, the log says why and how to fix it, and the error is returned, so the
    /// daemon never tells systemd it is ready to count what it cannot save.
    pub fn start(mut devices: Devices, settings: AppSettings) -> Result<App, AppError> {
        let opened = crate::store::prove_writable(&settings.data_dir)
            .and_then(|()| DataDirLock::acquire_within(&settings.data_dir, LOCK_WAIT))
            .and_then(|lock| Journal::open(&settings.data_dir).map(|(j, r)| (lock, j, r)));
        let (lock, journal, replay) = match opened {
            Ok(opened) => opened,
            Err(e) => {
                if matches!(e, StoreError::Busy { .. }) {
                    // Not a file-system fault: the error says who holds it and what to do.
                    log::error!("nothing can be counted: {e}");
                } else {
                    log::error!(
                        "the journal in {} cannot be written, so nothing can be counted: {e}. \
                         Fix: make the data directory writable by the daemon's user, remount \
                         its file system read-write, or set storage.data_dir (hematovision \
                         doctor checks it)",
                        settings.data_dir.display()
                    );
                }
                let screen = Screen::Status {
                    status: ErrorCode::JournalUnwritable.into(),
                    tally: None,
                };
                if let Err(shown) = devices.display.show(&screen) {
                    log::warn!("display: {shown}");
                }
                return Err(e.into());
            }
        };
        if let Some(warning) = crate::store::low_space_warning(&settings.data_dir) {
            log::warn!("{warning}");
        }
        for problem in &replay.problems {
            log::warn!("journal recovery: {problem}");
        }
        let mut app = App {
            devices,
            settings,
            journal,
            counter: replay.counter,
            started: Instant::now(),
            pending: None,
            display_failing: false,
            service: ServiceNotifier::from_env(),
            missed: None,
            live: live::LiveMode::default(),
            stop: StopSignals::none(),
            station: None,
            _lock: lock,
        };
        app.log_unknown_outside_classes();
        let labels = app.devices.classifier.labels().to_vec();
        let outside = app.outside_classes();
        match app.counter.open_session() {
            Some(s) if s.labels == labels => {
                log::info!(
                    "resumed slide {} with {} cells ({} in the differential)",
                    s.id,
                    s.total(),
                    s.differential_total()
                );
                // A slide keeps the rule it was started with, so its counts never change
                // meaning halfway.
                if s.outside_differential != outside {
                    log::info!(
                        "slide {} counts {:?} outside the differential; {:?} applies from the next slide",
                        s.id,
                        s.outside_differential,
                        outside
                    );
                }
            }
            Some(s) => {
                log::warn!(
                    "slide {} was counted with classes {:?} but the model now has {:?}: finishing it and starting a new slide",
                    s.id,
                    s.labels,
                    labels
                );
                app.finish_and_start()?;
            }
            None => app.start_slide()?,
        }
        let tally = app.tally();
        app.show(Screen::Status {
            status: Status::Ready,
            tally,
        });
        Ok(app)
    }

    /// The counting state (for reports and tests).
    pub fn counter(&self) -> &Counter {
        &self.counter
    }

    /// Serves the review station's requests from now on, and publishes every change to it.
    pub fn attach_station(&mut self, link: StationLink) {
        link.publish_open(self.counter.open_session());
        self.station = Some(link);
    }

    /// Lets the station go: requests still queued, and any sent later, are answered at
    /// once that the daemon is stopping (rather than waiting for a loop that has ended).
    pub fn detach_station(&mut self) {
        self.station = None;
    }

    /// Makes [`App::run`] stop cleanly when one of these signals arrives.
    pub fn stop_on(&mut self, signals: StopSignals) {
        self.stop = signals;
    }

    /// Runs until a Quit event or a stop signal; either way the step under way is
    /// finished, the display shows that the daemon stopped and systemd is told.
    pub fn run(&mut self) -> Result<(), AppError> {
        let status = match self.counter.open_session() {
            Some(s) => format!("slide {}: {} cells", s.id, s.total()),
            None => "ready".to_string(),
        };
        self.service.ready(&status);
        loop {
            if let Some(signal) = self.stop.received() {
                log::info!("{signal} received: stopping");
                self.stop_cleanly();
                return Ok(());
            }
            self.service.tick();
            // In live mode, and while live mode off follows the slide, frames are taken
            // continuously: buttons are only polled.
            let wait = if self.live_active() || self.live_following() {
                Duration::ZERO
            } else {
                TICK
            };
            let event = self.devices.buttons.next_event(wait)?;
            if let Some((due, _)) = &self.pending
                && Instant::now() >= *due
                && let Some((_, screen)) = self.pending.take()
            {
                self.show(screen);
            }
            match event {
                None => {}
                Some(ButtonEvent::Quit) => {
                    log::info!("quit requested");
                    self.stop_cleanly();
                    return Ok(());
                }
                Some(event) => {
                    self.handle(event);
                }
            }
            self.live_step();
            self.serve_station();
        }
    }

    /// Tells systemd the daemon is stopping and leaves the stopped screen on the display
    /// (an OLED keeps its picture after the process ends). Every count is already on disk.
    fn stop_cleanly(&mut self) {
        self.service.notify("STOPPING=1");
        self.show(Screen::Status {
            status: Status::Stopped,
            tally: None,
        });
    }

    /// Handles one technician action; failures are shown and logged, never fatal.
    pub fn handle(&mut self, event: ButtonEvent) -> Option<CountOutcome> {
        self.pending = None;
        match event {
            ButtonEvent::Count => {
                let outcome = self.count_cell();
                self.show_outcome(&outcome);
                return Some(outcome);
            }
            ButtonEvent::Undo => self.undo(),
            ButtonEvent::NewSlide => {
                if let Err(e) = self.finish_and_start() {
                    log::error!("cannot start a new slide: {e}");
                    self.show_status(ErrorCode::JournalWrite.into());
                } else {
                    self.live_new_slide();
                    self.show_status(Status::NewSlide);
                }
            }
            ButtonEvent::ToggleLive => self.toggle_live(),
            ButtonEvent::Quit => {}
        }
        None
    }

    fn now(&self) -> Stamp {
        Stamp {
            wall_ms: crate::time::wall_ms_now(),
            mono_ms: self.started.elapsed().as_millis() as u64,
        }
    }

    /// Journals an event, then applies it: a count is confirmed only once it is on disk.
    fn commit(&mut self, event: Event) -> Result<(), StoreError> {
        // An event replay would refuse is never journaled (it would not count anyway).
        self.counter.check(&event)?;
        self.journal.append(&event)?;
        if let Err(e) = self.counter.apply(&event) {
            // The event was built from this very counter, so this is a bug; it is logged
            // rather than panicking, and replay will refuse the same line the same way.
            log::error!("journaled event refused by the counter: {e}");
        }
        if let Some(link) = &self.station {
            link.publish_open(self.counter.open_session());
            link.publish(link::Update::of(&event));
        }
        Ok(())
    }

    /// The model's classes counted outside the differential by the settings.
    fn outside_classes(&self) -> Vec<String> {
        crate::count::outside_classes(
            self.devices.classifier.labels(),
            &self.settings.outside_differential,
        )
        .0
    }

    /// Names the setting's classes the model lacks: expected for the default names with
    /// a model that predates them, a likely misspelling otherwise.
    fn log_unknown_outside_classes(&self) {
        let (_, unknown) = crate::count::outside_classes(
            self.devices.classifier.labels(),
            &self.settings.outside_differential,
        );
        for name in unknown {
            if EXPECTED_OUTSIDE_CLASSES
                .iter()
                .any(|known| known.eq_ignore_ascii_case(&name))
            {
                log::info!("counting.outside_differential: the model has no class {name}");
            } else {
                log::warn!(
                    "counting.outside_differential: {name:?} is not a class of the model ({:?}); ignored",
                    self.devices.classifier.labels()
                );
            }
        }
    }

    fn start_slide(&mut self) -> Result<(), StoreError> {
        let at = self.now();
        let id = self.journal.new_session_id(at.wall_ms);
        let labels = self.devices.classifier.labels().to_vec();
        let outside = self.outside_classes();
        let provenance = self.devices.classifier.provenance();
        match self.counter.start_event_with_outside(
            id,
            labels,
            outside,
            self.settings.target,
            self.settings.confidence_threshold,
            at,
        ) {
            Ok(event) => {
                // Which model and head count this slide, for whoever reads the journal.
                let event = event
                    .with_model(provenance.model, provenance.calibration)
                    .with_gate(provenance.gate);
                log::info!("new slide {}", event.session());
                self.commit(event)
            }
            Err(e) => {
                log::error!("cannot start a slide: {e}");
                Ok(())
            }
        }
    }

    fn finish_and_start(&mut self) -> Result<(), StoreError> {
        if let Ok(event) = self.counter.finish_event(self.now()) {
            self.commit(event)?;
        }
        self.start_slide()
    }

    fn undo(&mut self) {
        // What is taken back, read before the event removes it: the log and the screen
        // name it, so the technician sees which cell left the count.
        let removed = self
            .counter
            .open_session()
            .and_then(|s| s.cells().last())
            .cloned();
        match self.counter.undo_event(self.now()) {
            Ok(event) => match self.commit(event) {
                Ok(()) => {
                    let shown = match removed {
                        Some(cell) => {
                            log::info!(
                                "undo: cell {} {}{} ({}) removed from the count",
                                cell.seq,
                                cell.label,
                                cell.unsure_tag(),
                                cell.frame
                            );
                            if cell.identified {
                                cell.label
                            } else {
                                crate::hw::display::UNSURE_REMOVED.to_string()
                            }
                        }
                        None => String::new(),
                    };
                    self.show_status(Status::Undone(shown));
                }
                Err(e) => {
                    log::error!("undo not saved: {e}");
                    self.show_status(ErrorCode::JournalWrite.into());
                }
            },
            Err(e) => {
                log::info!("undo: {e}");
                self.show_status(Status::Ready);
            }
        }
    }

    fn count_cell(&mut self) -> CountOutcome {
        self.show_status(Status::Capturing);
        let frame = match self.grab_frame() {
            Ok(frame) => frame,
            Err(e) => {
                log::warn!("no frame: {e}");
                return CountOutcome::NoFrame(e.to_string());
            }
        };
        let Some(found) = self.devices.finder.find(&frame.image) else {
            log::info!("{}: no white cell found; nothing counted", frame.origin);
            self.keep_missed_frame(&frame);
            return CountOutcome::NoCell;
        };
        self.count_crop(&found.crop, &frame.origin, found.cells_in_view)
    }

    /// Classifies a crop and journals the count (the button's and live mode's path).
    fn count_crop(
        &mut self,
        crop: &image::RgbImage,
        origin: &str,
        cells_in_view: usize,
    ) -> CountOutcome {
        let answer = match self.devices.classifier.classify_cell(crop) {
            Ok(answer) => answer,
            Err(e) => {
                log::error!("{origin}: {e}");
                return CountOutcome::Failed(format!("classifier: {e}"));
            }
        };
        self.count_answer(answer, crop, origin, cells_in_view, false)
    }

    /// Journals a classified crop as a counted cell; its picture is kept when the
    /// settings say so, or always (`keep_crop`: an upload saved from the station).
    fn count_answer(
        &mut self,
        answer: CellAnswer,
        crop: &image::RgbImage,
        origin: &str,
        cells_in_view: usize,
        keep_crop: bool,
    ) -> CountOutcome {
        let at = self.now();
        let crop_path = self.save_crop(crop, keep_crop);
        if keep_crop && crop_path.is_none() {
            // An upload is its picture: counted without it, it could never be reviewed.
            return CountOutcome::NotSaved("the picture could not be saved".into());
        }
        let head = self.devices.classifier.provenance().head;
        let event = match self.counter.count_event_by(
            answer.probabilities,
            answer.unfamiliar,
            origin.to_string(),
            crop_path,
            head,
            at,
        ) {
            Ok(event) => event,
            Err(e) => {
                log::error!("cannot count: {e}");
                return CountOutcome::Failed(e.to_string());
            }
        };
        let Event::CellCounted { cell, .. } = &event else {
            return CountOutcome::Failed("unexpected event".into());
        };
        let cell = cell.clone();
        if let Err(e) = self.commit(event) {
            log::error!("cell not counted, the journal could not be written: {e}");
            return CountOutcome::NotSaved(e.to_string());
        }
        log::info!(
            "{}: cell {} {} {:.1}%{} ({} in view)",
            origin,
            cell.seq,
            cell.label,
            cell.confidence * 100.0,
            cell.unsure_tag(),
            cells_in_view
        );
        CountOutcome::Counted {
            cell,
            cells_in_view,
        }
    }

    /// The latest frame; a bad frame (corrupt JPEG, unreadable file) is logged and skipped
    /// in favour of the next one, a few times at most.
    fn grab_frame(&mut self) -> Result<crate::camera::Frame, crate::camera::CameraError> {
        let mut attempt = 1;
        loop {
            match self.devices.camera.latest_frame() {
                Err(crate::camera::CameraError::BadFrame { origin, reason })
                    if attempt < BAD_FRAME_ATTEMPTS =>
                {
                    log::warn!("bad frame {origin} skipped: {reason}");
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Saves the crop durably (fsync'd, then renamed into place) before the journal line
    /// that names it is written, so a counted cell never points at an empty picture.
    fn save_crop(&self, crop: &image::RgbImage, always: bool) -> Option<String> {
        if !(self.settings.save_crops || always) {
            return None;
        }
        let session = self.counter.open_session()?;
        match crate::store::write_crop(
            &self.settings.data_dir,
            &session.id,
            session.next_seq(),
            crop,
        ) {
            Ok(path) => Some(path.display().to_string()),
            Err(e) => {
                log::warn!("crop not saved: {e}");
                None
            }
        }
    }

    fn show_outcome(&mut self, outcome: &CountOutcome) {
        match outcome {
            CountOutcome::Counted {
                cell,
                cells_in_view,
            } => {
                let Some(tally) = self.tally() else { return };
                self.show(Screen::Result {
                    label: cell.label.clone(),
                    confidence: cell.confidence,
                    unsure: !cell.identified,
                    unfamiliar: cell.unfamiliar,
                    cells_in_view: *cells_in_view,
                    tally: tally.clone(),
                });
                let reached = self
                    .counter
                    .open_session()
                    .is_some_and(|s| s.target_reached());
                if reached {
                    self.pending = Some((
                        Instant::now() + TARGET_NOTICE_DELAY,
                        Screen::Status {
                            status: Status::TargetReached,
                            tally: Some(tally),
                        },
                    ));
                }
            }
            CountOutcome::NoFrame(_) => self.show_status(Status::NoCamera),
            CountOutcome::NoCell => self.show_status(Status::NoWbc),
            CountOutcome::Failed(_) => self.show_status(ErrorCode::CountFailed.into()),
            CountOutcome::NotSaved(_) => self.show_status(ErrorCode::JournalWrite.into()),
        }
    }

    fn tally(&self) -> Option<TallyView> {
        let s = self.counter.open_session()?;
        Some(TallyView {
            labels: s.labels.clone(),
            outside_differential: s.outside_differential.clone(),
            counts: s.counts().to_vec(),
            unidentified: s.unidentified(),
            target: s.target,
        })
    }

    fn show_status(&mut self, status: Status) {
        let tally = self.tally();
        self.show(Screen::Status { status, tally });
    }

    /// Draws a screen; a failing display is logged once per outage and never stops counting.
    fn show(&mut self, screen: Screen) {
        match self.devices.display.show(&screen) {
            Ok(()) => {
                if self.display_failing {
                    log::info!("display is back");
                    self.display_failing = false;
                }
            }
            Err(e) => {
                if !self.display_failing {
                    log::warn!("display: {e}; counting goes on");
                    self.display_failing = true;
                }
            }
        }
    }
}
