//! Pointing at the configuration text: the line of a key, and echoes kept short.

use toml::de::{DeTable, DeValue};

/// Longest line of an error message kept whole; longer ones (a pasted 10 MB value, the
/// parser quoting a huge line) are cut, saying how much was left out.
pub const MAX_ECHO_CHARS: usize = 160;
/// Lines of an error message kept.
const MAX_ECHO_LINES: usize = 12;

/// 1-based line of a byte offset in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()
        .iter()
        .take(offset)
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Line of the dotted `key` (e.g. `counting.target`) in `text`: its value, else the
/// nearest enclosing table that is written in the file; 0 when none is (a default).
pub fn line_of_key(text: &str, key: &str) -> usize {
    let Ok(root) = DeTable::parse(text) else {
        return 0;
    };
    let mut table = root.get_ref();
    let mut found = None;
    for part in key.split('.') {
        let Some((_, value)) = table.iter().find(|(k, _)| k.get_ref().as_ref() == part) else {
            break;
        };
        found = Some(value.span().start);
        match value.get_ref() {
            DeValue::Table(inner) => table = inner,
            _ => break,
        }
    }
    found.map_or(0, |offset| line_of(text, offset))
}

/// `message` with every over-long line cut and at most a dozen lines, so an error never
/// echoes a huge value whole.
pub fn cap_echo(message: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    for (i, line) in message.lines().enumerate() {
        if i == MAX_ECHO_LINES {
            out.push("…".to_string());
            break;
        }
        let chars = line.chars().count();
        if chars <= MAX_ECHO_CHARS {
            out.push(line.to_string());
        } else {
            // Head and tail: the end often says what was expected.
            let (head, tail) = (MAX_ECHO_CHARS / 2, MAX_ECHO_CHARS / 4);
            let start: String = line.chars().take(head).collect();
            let end: String = line.chars().skip(chars - tail).collect();
            out.push(format!(
                "{start}…({} characters left out)…{end}",
                chars - head - tail
            ));
        }
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_found_in_tables_and_dotted_forms() {
        let text = "# c\n[counting]\ntarget = 0\n\n[camera.v4l2]\nwidth = 5\n";
        assert_eq!(line_of_key(text, "counting.target"), 3);
        assert_eq!(line_of_key(text, "camera.v4l2.width"), 6);
        assert_eq!(line_of_key("counting.target = 0\n", "counting.target"), 1);
        // Not written: the nearest table that is, else 0.
        assert_eq!(line_of_key(text, "counting.confidence_threshold"), 2);
        assert_eq!(line_of_key(text, "model.path"), 0);
        assert_eq!(line_of_key("[broken", "a"), 0);
    }

    #[test]
    fn long_lines_are_cut_and_say_so() {
        let long = "x".repeat(10_000_000);
        let capped = cap_echo(&format!("unknown variant `{long}`"));
        assert!(
            capped.chars().count() <= MAX_ECHO_CHARS + 40,
            "{}",
            capped.len()
        );
        assert!(
            capped.contains("characters left out") && capped.ends_with("x`"),
            "{capped}"
        );
        assert_eq!(cap_echo("short\nlines"), "short\nlines");
        assert_eq!(
            cap_echo(&"a\n".repeat(100)).lines().count(),
            MAX_ECHO_LINES + 1
        );
    }
}
