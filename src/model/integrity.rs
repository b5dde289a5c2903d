//! Checking that a model file is the one its `metadata.json` was written for.
//!
//! A few changed bytes in a `.tflite` either make LiteRT abort the process (no error to
//! catch) or silently change its answers. The exporter therefore records each model file's
//! sha256 in `metadata.json` (a map from file name to digest, since one folder holds the
//! int8 and the float32 model under one metadata file), and the loader compares it before
//! the runtime ever sees the bytes.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

/// Models whose file name starts with this are HematoVision's own: they must have their
/// `metadata.json` (preprocessing, views, sha256), never the third-party defaults.
pub const OWN_MODEL_PREFIX: &str = "hematovision";

/// The sha256 of `bytes` as 64 lowercase hexadecimal digits (as `sha256sum` prints it).
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `s` looks like a sha256 as [`sha256_hex`] writes it.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Whether a model file name claims to be a HematoVision model.
pub fn is_own_model(file_name: &str) -> bool {
    file_name.to_ascii_lowercase().starts_with(OWN_MODEL_PREFIX)
}

/// Why a model file does not match its metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// The metadata records no digest for this file name.
    NotRecorded {
        /// The digest the file has.
        found: String,
    },
    /// The file's digest differs from the recorded one: the file is damaged or replaced.
    Differs {
        /// The recorded digest.
        expected: String,
        /// The digest the file has.
        found: String,
    },
}

/// Compares `found`, the file's digest ([`sha256_hex`], computed once per load), with the
/// one `recorded` holds for `file_name`.
pub fn verify(
    recorded: &BTreeMap<String, String>,
    file_name: &str,
    found: &str,
) -> Result<(), Mismatch> {
    let found = found.to_string();
    match recorded.get(file_name) {
        None => Err(Mismatch::NotRecorded { found }),
        Some(expected) if !expected.eq_ignore_ascii_case(&found) => Err(Mismatch::Differs {
            expected: expected.clone(),
            found,
        }),
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_matches_sha256sum() {
        // `printf abc | sha256sum`
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(is_sha256_hex(&sha256_hex(b"")));
        assert!(!is_sha256_hex("abc"));
        assert!(!is_sha256_hex(&"G".repeat(64)));
    }

    #[test]
    fn verification_names_what_differs() {
        let mut recorded = BTreeMap::new();
        recorded.insert("m.tflite".to_string(), sha256_hex(b"model"));
        assert_eq!(verify(&recorded, "m.tflite", &sha256_hex(b"model")), Ok(()));
        assert!(matches!(
            verify(&recorded, "m.tflite", &sha256_hex(b"mode!")),
            Err(Mismatch::Differs { .. })
        ));
        assert!(matches!(
            verify(&recorded, "other.tflite", &sha256_hex(b"model")),
            Err(Mismatch::NotRecorded { .. })
        ));
    }

    #[test]
    fn own_models_are_recognised_by_name() {
        assert!(is_own_model("hematovision-wbc4.tflite"));
        assert!(is_own_model("HematoVision-wbc4-float32.tflite"));
        assert!(!is_own_model("mobilenet_v2_1.0_224_quant.tflite"));
    }
}
