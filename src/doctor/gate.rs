//! The `gate` line of `doctor`: whether cells unlike the model's classes are kept out of
//! the differential.

use crate::model::TfliteClassifier;

use super::Check;

/// Turns the model's unfamiliar-cell gate on or off as `model.unfamiliar_gate` says and
/// reports it: in use, or no gate in this model, is OK; a gate the configuration turns off,
/// or one the metadata names but that did not load, is a warning with the fix.
pub fn check_gate(classifier: &mut TfliteClassifier, wanted: bool) -> Check {
    let named = classifier
        .bundle()
        .metadata()
        .and_then(|m| m.gate.as_ref())
        .map(|g| g.file.clone());
    let in_use = classifier.use_gate(wanted);
    match (classifier.gate(), named) {
        (Some(gate), _) if in_use => Check::ok(
            "gate",
            format!(
                "{} in use: cells unlike the model's classes are counted as unidentified",
                gate.identity()
            ),
        ),
        (_, Some(file)) if !wanted => Check::warn(
            "gate",
            format!(
                "off (model.unfamiliar_gate = false): cells unlike the model's classes \
                 (basophils, immature granulocytes, erythroblasts) are counted as one of them, \
                 although the model ships {file}"
            ),
            "set model.unfamiliar_gate = true",
        ),
        (_, Some(file)) => Check::warn(
            "gate",
            format!(
                "{file} is named by the model's metadata.json but missing: cells unlike the \
                 model's classes are counted as one of them"
            ),
            "reinstall the model files (apt install --reinstall hematovision)",
        ),
        (_, None) => Check::ok(
            "gate",
            "the model ships none: only the confidence threshold sends cells to unidentified",
        ),
    }
}
