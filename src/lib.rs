//! HematoVision: a white-blood-cell differential counter for a microscope camera.
//!
//! The crate is split by concern. Pure logic (counting, sessions, the cell locator)
//! lives apart from the devices, which all sit behind small traits with a real and a
//! simulated implementation:
//!
//! - [`camera::FrameSource`]: the latest camera frame,
//! - [`model::Classifier`]: RGB image to class probabilities,
//! - [`hw::display::Display`]: draws one screen,
//! - [`hw::button::Buttons`]: a stream of technician actions.
//!
//! # The map
//!
//! Each top-level module is a room on a floor. A room may import only the rooms its row
//! names (a floor in *italics* stands for all of its rooms), never one on a higher floor
//! and never in a circle. `tests/architecture.rs` reads this table as the rule, resolves
//! every reference in `src/` (test code included) to the file defining it, and fails on an
//! arrow the table does not allow; a new room needs a row here first.
//!
//! | floor | room | may import | holds |
//! |---|---|---|---|
//! | ground | [`time`] | nothing | wall-clock formatting |
//! | ground | [`sys`] | nothing | the plain system calls: monotonic clock, free disk space, user id, thread priority |
//! | ground | [`invalid`] | nothing | [`invalid::Invalid`], the one error of a setting out of range |
//! | ground | [`imagefile`] | nothing | reading picture files, refusing damaged and oversized ones |
//! | devices | [`count`] | *ground* | the counting core: slides, classes, undo, as pure events |
//! | devices | [`vision`] | *ground* | the white-cell locator and the crop framed like the training images |
//! | devices | [`store`] | *ground*, [`count`] | the journal of count events and its recovery |
//! | devices | [`camera`] | *ground* | frame sources (V4L2, replay, a simulated slide scan) and pixel formats to RGB |
//! | devices | [`hw`] | *ground* | the OLED (over the `ssd1306` crate) and the buttons (GPIO) |
//! | devices | [`model`] | *ground*, [`vision`], [`calib`] | [`model::ModelBundle`] and the classifier on LiteRT, answering through a recalibrated head when one is loaded |
//! | devices | [`live`] | *ground*, [`vision`] | live mode: motion, tracking, counting each cell once |
//! | devices | [`calib`] | *ground* | recalibration: a softmax head fitted to reviewed cells, its guard and file |
//! | upper | [`config`] | *ground*, *devices* | the TOML file, checked strictly, and its sections |
//! | upper | [`report`] | *ground*, *devices* | the differential of a slide, for people and programs |
//! | upper | [`service`] | *ground* | systemd readiness and watchdog |
//! | upper | [`app`] | *ground*, *devices*, [`service`] | the daemon's event loop, owner of all state |
//! | upper | [`station`] | *ground*, *devices*, [`config`], [`report`], [`app`] | the review station: web pages and API to classify, review, sign off and print (inside the daemon it talks to the loop through [`app::LoopHandle`]) |
//! | tools | [`eval`] | *ground*, *devices* | measurement: model accuracy, locator, live-mode simulator |
//! | tools | [`bench`](mod@bench) | *ground*, *devices*, [`app`], [`station`] | speed: preprocessing, inference, press to display (also with the station served: it times the station's HTTP path) |
//! | tools | [`doctor`] | *ground*, *devices*, [`config`] | an installation's health, one line per check |
//! | binary | `cli` | every room | `src/main.rs` and `src/cli/`: the commands (a crate of its own) |
//!
//! Within a room, files must not import each other in a circle, directly or through a
//! longer loop. The one exception is a module's facade: a `mod.rs` (or `x.rs` with an `x/`
//! folder) declares its children and re-exports them (`pub use child::X`), and a child may
//! use what its parent defines (`use super::PixelBox`), so arrows between a module's file
//! and its own submodules' files both ways are allowed. A re-export is followed to the file
//! that defines the name, so a facade cannot hide a loop between siblings. Test code
//! (`#[cfg(test)]`) is left out of the circle check only.
//!
//! # Raw code
//!
//! Raw calls into C and raw memory sit in a few named files, each of which opts out of the
//! crate-wide ban below with its own `allow`; the architecture test checks that these are
//! exactly the files that do, and that each one needs it:
//!
//! - `src/model/litert/ffi.rs`, `src/model/litert/library.rs`,
//!   `src/model/litert/runtime.rs`, `src/model/litert/model.rs`,
//!   `src/model/litert/compiled.rs`: the LiteRT bindings, loaded with `dlopen`,
//! - `src/model/litert/buffer.rs`: the aligned tensor memory,
//! - `src/camera/ioctl.rs`: the V4L2 queries ([`camera::ioctl`]),
//! - `src/hw/display/ioctl.rs`: the I2C adapter query ([`hw::display::ioctl`]),
//! - `src/sys.rs`: the plain system calls ([`sys`]).

#![warn(missing_docs)]
#![deny(unsafe_code)]

pub mod app;
pub mod bench;
pub mod calib;
pub mod camera;
pub mod config;
pub mod count;
pub mod doctor;
pub mod eval;
pub mod hw;
pub mod imagefile;
pub mod invalid;
pub mod live;
pub mod model;
pub mod report;
pub mod service;
pub mod station;
pub mod store;
pub mod sys;
pub mod time;
pub mod vision;
