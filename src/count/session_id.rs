//! Slide (session) identifiers: names a journal file and a crop folder, so only a fixed
//! safe alphabet is accepted wherever an id is read.

/// Longest accepted session id, in characters.
pub const MAX_SESSION_ID_LEN: usize = 64;

/// Why a session id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "session id {shown:?} is not valid: {why} (a session id is 1 to {MAX_SESSION_ID_LEN} of A-Z a-z 0-9 _ -, not starting with '-'; hematovision report --list shows the sessions)"
)]
pub struct BadSessionId {
    /// The id as given, shortened for the message.
    pub shown: String,
    /// What is wrong with it.
    pub why: &'static str,
}

/// Checks that `id` can safely name a file and a folder in the data directory: 1 to
/// [`MAX_SESSION_ID_LEN`] ASCII letters, digits, `_` or `-`, not starting with `-`
/// (so it is never a path, never hidden, never taken for a command-line option).
pub fn validate_session_id(id: &str) -> Result<(), BadSessionId> {
    let why = if id.is_empty() {
        Some("it is empty")
    } else if id.len() > MAX_SESSION_ID_LEN {
        Some("it is too long")
    } else if id.starts_with('-') {
        Some("it starts with '-'")
    } else if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        Some("it has a character outside the safe alphabet")
    } else {
        None
    };
    match why {
        None => Ok(()),
        Some(why) => Err(BadSessionId {
            shown: id.chars().take(MAX_SESSION_ID_LEN + 8).collect(),
            why,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemon_ids_pass_and_paths_do_not() {
        for ok in ["20261130-224010", "20261130-224010-2", "s1", "a_b"] {
            assert!(validate_session_id(ok).is_ok(), "{ok}");
        }
        let long = "a".repeat(MAX_SESSION_ID_LEN + 1);
        for bad in [
            "",
            "../../x",
            "/etc/passwd",
            "a/b",
            ".hidden",
            "..",
            "-rf",
            "a b",
            "é",
            "a\0b",
            long.as_str(),
        ] {
            assert!(validate_session_id(bad).is_err(), "{bad:?}");
        }
    }
}
