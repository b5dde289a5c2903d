//! Measurement tools: what scores the daemon, kept apart from what runs on the device.
//!
//! - [`model`]: a classifier on a labelled tree `DIR/CLASS/*.jpg` (`hematovision eval`),
//!   with its confusion matrix drawn as a PNG ([`write_confusion_png`]); [`outside`]: on
//!   cells of classes it does not know (`hematovision eval --outside`),
//! - [`evaluate_fields`]: the whole camera path (locate, crop, classify) on annotated fields
//!   (`hematovision eval --fields`),
//! - [`locate`]: the white-cell locator against annotated fields (`hematovision locate-eval`),
//!   and on [`shifts`] of them (seeded synthetic microscopes); [`crop`]: the locator on
//!   pictures that are already crops (centred cell, box against expert masks),
//! - [`sim`]: a slide-scan simulator with ground truth, and [`live_eval`] which scores live
//!   mode on it (`hematovision live-eval`).
//!
//! This room may import every device room (`camera`, `vision`, `model`, `live`, …); nothing
//! that runs on the device imports it. Only the command line, the examples and the tests do.

pub mod crop;
pub mod locate;
pub mod model;
pub mod outside;
pub mod shifts;
pub mod sim;

mod confusion_png;
mod fields;
mod live;
mod voc;

pub use confusion_png::{render_confusion, write_confusion_png};
pub use fields::{FieldsReport, evaluate_fields};
pub use live::{
    LiveEvalError, LiveEvalOptions, LiveEvalReport, evaluate_scenario, live_eval, print_reports,
    thread_cpu,
};
pub use locate::{LocateReport, evaluate_dir};

#[cfg(test)]
mod engine_tests;
