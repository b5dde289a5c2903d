//! The text of an error and its causes, as printed when a command fails.

/// The error and its chain of causes joined with `: `, leaving out a cause whose text the
/// message already holds (many errors quote their source in their own message).
pub fn describe(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("{path} is not usable: {source}")]
    struct Quoting {
        path: String,
        source: std::io::Error,
    }

    #[test]
    fn a_cause_quoted_by_its_error_is_not_repeated() {
        let inner = Quoting {
            path: "m.tflite".into(),
            source: std::io::Error::other("empty (0 bytes)"),
        };
        let e = anyhow::Error::new(inner).context("cannot load the model m.tflite");
        assert_eq!(
            describe(&e),
            "cannot load the model m.tflite: m.tflite is not usable: empty (0 bytes)"
        );
        let plain = anyhow::anyhow!("root").context("outer");
        assert_eq!(describe(&plain), "outer: root");
    }
}
