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
//! Raw calls into C sit in a few named files, each of which opts out of the crate-wide
//! ban below with its own `allow`: the LiteRT bindings (`model/litert/`: `ffi`, `library`,
//! `runtime`, `model`, `compiled`, `buffer`), the V4L2 queries ([`camera::ioctl`]), the I2C
//! adapter query ([`hw::display::ioctl`]) and the plain system calls ([`sys`]).

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
