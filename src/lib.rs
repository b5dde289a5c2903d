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

#![warn(missing_docs)]

pub mod app;
pub mod bench;
pub mod calib;
pub mod camera;
pub mod config;
pub mod count;
pub mod doctor;
pub mod hw;
pub mod imagefile;
pub mod live;
pub mod model;
pub mod report;
pub mod service;
pub mod store;
pub mod time;
pub mod vision;
