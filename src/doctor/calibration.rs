//! The `calibration` line of `doctor`: which head the daemon will answer with.

use std::path::Path;

use crate::model::TfliteClassifier;

use super::Check;

/// Loads `calibration` (from `model.calibration`) into `classifier` and says which head
/// answers: none set is OK (the shipped head); a file the daemon would refuse fails with
/// the fix, since the daemon would then count with the shipped head.
pub fn check_calibration(classifier: &mut TfliteClassifier, calibration: Option<&Path>) -> Check {
    let Some(path) = calibration else {
        return Check::ok("calibration", "none: the model's shipped head answers");
    };
    match classifier.load_calibration(path) {
        Ok(active) => Check::ok("calibration", active.to_string()),
        Err(e) => Check::fail(
            "calibration",
            format!("{e}; the daemon counts with the model's shipped head instead"),
            "run `hematovision calibrate` again with this model, or delete model.calibration",
        ),
    }
}
