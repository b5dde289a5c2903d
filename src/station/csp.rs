//! The station's Content-Security-Policy.
//!
//! The printable report carries its stylesheet inline, so that a saved copy prints the same
//! without the station. Rather than allow every inline style, the policy names that one
//! stylesheet by its sha256, as CSP level 2 allows.

use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use super::report::REPORT_CSS;

/// The policy sent with every response: own assets only, no framing, and inline style only
/// for the report's own stylesheet; pictures also from `blob:` (the upload shown before it
/// is sent) and `data:` (the framing the model saw, sent back with the result).
pub fn policy() -> &'static str {
    static POLICY: OnceLock<String> = OnceLock::new();
    POLICY.get_or_init(|| {
        format!(
            "default-src 'self'; img-src 'self' blob: data:; style-src 'self' 'sha256-{}'; \
             script-src 'self'; frame-ancestors 'none'",
            base64(&Sha256::digest(REPORT_CSS.as_bytes()))
        )
    })
}

/// Standard base64 with padding (RFC 4648 §4), the form CSP hash sources take.
pub(super) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), expected, "{input:?}");
        }
    }

    #[test]
    fn the_policy_names_the_report_stylesheet_by_its_hash() {
        // sha256 of the empty string, in the form CSP expects.
        assert_eq!(
            base64(&Sha256::digest(b"")),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
        let expected = format!(
            "'sha256-{}'",
            base64(&Sha256::digest(REPORT_CSS.as_bytes()))
        );
        assert!(policy().contains(&expected), "{}", policy());
        assert!(!policy().contains("inline"), "{}", policy());
    }
}
