//! Just enough of Rust's lexical grammar to find paths: identifiers, `::` and single
//! punctuation, with comments, string and character literals dropped (a path in a comment
//! or a message is not a dependency), and every token inside a `#[cfg(test)]` item marked.

/// One token of the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// An identifier or keyword, `::`, a number, or one punctuation character.
    pub text: String,
    /// 1-based line, for messages.
    pub line: usize,
    /// Inside an item marked `#[cfg(test)]` (or `#[cfg(all(test, …))]`).
    pub test: bool,
}

impl Token {
    /// Whether this is an identifier (or keyword), not punctuation or a number.
    pub fn is_ident(&self) -> bool {
        self.text
            .chars()
            .next()
            .is_some_and(|c| c == '_' || c.is_alphabetic())
    }
}

/// The tokens of `source`, test items marked.
pub fn tokens(source: &str) -> Vec<Token> {
    let mut tokens = Lexer::new(source).run();
    mark_test_items(&mut tokens);
    tokens
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
    line: usize,
    out: Vec<Token>,
}

impl Lexer {
    fn new(source: &str) -> Self {
        Lexer {
            chars: source.chars().collect(),
            pos: 0,
            line: 1,
            out: Vec::new(),
        }
    }

    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek(0)?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn push(&mut self, text: String, line: usize) {
        self.out.push(Token {
            text,
            line,
            test: false,
        });
    }

    fn run(mut self) -> Vec<Token> {
        while let Some(c) = self.peek(0) {
            let line = self.line;
            match c {
                _ if c.is_whitespace() => {
                    self.bump();
                }
                '/' if self.peek(1) == Some('/') => self.skip_line(),
                '/' if self.peek(1) == Some('*') => self.skip_block_comment(),
                '"' => self.skip_string(),
                '\'' => self.quote(line),
                ':' if self.peek(1) == Some(':') => {
                    self.pos += 2;
                    self.push("::".into(), line);
                }
                _ if c == '_' || c.is_alphanumeric() => self.word(line),
                _ => {
                    self.bump();
                    self.push(c.to_string(), line);
                }
            }
        }
        self.out
    }

    fn skip_line(&mut self) {
        while self.peek(0).is_some_and(|c| c != '\n') {
            self.bump();
        }
    }

    /// Block comments nest in Rust.
    fn skip_block_comment(&mut self) {
        let mut depth = 0usize;
        while let Some(c) = self.bump() {
            if c == '/' && self.peek(0) == Some('*') {
                self.bump();
                depth += 1;
            } else if c == '*' && self.peek(0) == Some('/') {
                self.bump();
                depth -= 1;
                if depth == 0 {
                    return;
                }
            }
        }
    }

    /// A `"…"` literal with escapes; the opening quote is at `pos`.
    fn skip_string(&mut self) {
        self.bump();
        while let Some(c) = self.bump() {
            match c {
                '\\' => {
                    self.bump();
                }
                '"' => return,
                _ => {}
            }
        }
    }

    /// `r#…#"…"#…#`: `pos` is at the first `#` or the quote.
    fn skip_raw_string(&mut self) {
        let mut hashes = 0;
        while self.peek(0) == Some('#') {
            self.bump();
            hashes += 1;
        }
        self.bump(); // the opening quote
        while let Some(c) = self.bump() {
            if c == '"' && (0..hashes).all(|i| self.peek(i) == Some('#')) {
                self.pos += hashes;
                return;
            }
        }
    }

    /// A character literal (dropped) or a lifetime or label (kept as `'` and its name).
    fn quote(&mut self, line: usize) {
        let is_char = self.peek(1) == Some('\\') || self.peek(2) == Some('\'');
        self.bump();
        if !is_char {
            self.push("'".into(), line);
            return;
        }
        while let Some(c) = self.bump() {
            match c {
                '\\' => {
                    self.bump();
                }
                '\'' => return,
                _ => {}
            }
        }
    }

    /// An identifier, keyword or number, or the prefix of a string literal.
    fn word(&mut self, line: usize) {
        let start = self.pos;
        while self
            .peek(0)
            .is_some_and(|c| c == '_' || c.is_alphanumeric())
        {
            self.bump();
        }
        let word: String = self.chars[start..self.pos].iter().collect();
        let next = self.peek(0);
        let raw = matches!(word.as_str(), "r" | "br" | "cr");
        if raw
            && (next == Some('"') || (next == Some('#') && matches!(self.peek(1), Some('"' | '#'))))
        {
            self.skip_raw_string();
        } else if matches!(word.as_str(), "b" | "c") && next == Some('"') {
            self.skip_string();
        } else if word == "b" && next == Some('\'') {
            self.quote(line);
            // A byte literal is never a lifetime: drop the stray quote token if any.
            if self.out.last().is_some_and(|t| t.text == "'") {
                self.out.pop();
            }
        } else if word == "r" && next == Some('#') {
            self.bump(); // raw identifier `r#name`: keep `name`
        } else {
            self.push(word, line);
        }
    }
}

/// Marks the tokens of every item carrying a test-only `cfg` attribute.
fn mark_test_items(tokens: &mut [Token]) {
    let mut i = 0;
    while i < tokens.len() {
        if tokens[i].text == "#" && tokens.get(i + 1).is_some_and(|t| t.text == "[") {
            let close = matching(tokens, i + 1);
            if is_test_cfg(&tokens[i + 2..close]) {
                let end = item_end(tokens, close + 1);
                for t in &mut tokens[i..end] {
                    t.test = true;
                }
                i = end;
                continue;
            }
            i = close + 1;
            continue;
        }
        i += 1;
    }
}

/// `cfg(test)` or `cfg(all(test, …))`: compiled only into the unit-test binary.
fn is_test_cfg(attr: &[Token]) -> bool {
    let text: Vec<&str> = attr.iter().map(|t| t.text.as_str()).collect();
    matches!(text.as_slice(), ["cfg", "(", "test", ")"])
        || text.starts_with(&["cfg", "(", "all", "(", "test"])
}

/// Index of the bracket closing the one at `open` (or the end).
pub fn matching(tokens: &[Token], open: usize) -> usize {
    let mut depth = 0usize;
    for (i, t) in tokens.iter().enumerate().skip(open) {
        match t.text.as_str() {
            "(" | "[" | "{" => depth += 1,
            ")" | "]" | "}" => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    tokens.len()
}

/// One past the last token of the item starting at `start` (after its attributes): a `use`
/// ends at its `;`, anything else at its first top-level `;` or closing brace.
fn item_end(tokens: &[Token], start: usize) -> usize {
    let mut i = start;
    let is_use = tokens[start..]
        .iter()
        .take(8)
        .take_while(|t| t.text != "{" && t.text != ";")
        .any(|t| t.text == "use");
    while i < tokens.len() {
        match tokens[i].text.as_str() {
            "#" if tokens.get(i + 1).is_some_and(|t| t.text == "[") => i = matching(tokens, i + 1),
            ";" => return i + 1,
            "(" | "[" => i = matching(tokens, i),
            "{" => {
                let close = matching(tokens, i);
                if !is_use {
                    return close + 1;
                }
                i = close;
            }
            _ => {}
        }
        i += 1;
    }
    tokens.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(source: &str) -> Vec<String> {
        tokens(source).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn comments_strings_and_chars_are_dropped() {
        let src = "// use crate::alpha;\n/* use /* nested */ crate::beta; */ let s = \"crate::gamma\"; \
                   let r = r#\"crate::delta\"#; let c = '\"'; let b = b'x'; fn f<'life>() {}";
        let t = texts(src);
        for gone in ["alpha", "beta", "gamma", "delta", "x"] {
            assert!(!t.contains(&gone.to_string()), "{gone} in {t:?}");
        }
        assert!(t.contains(&"'".to_string()), "the lifetime stays: {t:?}");
    }

    #[test]
    fn test_items_are_marked_and_others_not() {
        let src = "use crate::a;\n#[cfg(test)]\nmod tests {\n use crate::b;\n}\nuse crate::c;";
        let marked: Vec<(String, bool)> =
            tokens(src).into_iter().map(|t| (t.text, t.test)).collect();
        assert!(marked.contains(&("a".into(), false)));
        assert!(marked.contains(&("b".into(), true)));
        assert!(marked.contains(&("c".into(), false)));
    }

    #[test]
    fn a_test_use_ends_at_its_semicolon() {
        let src = "#[cfg(test)]\nuse crate::{a, b};\nuse crate::c;";
        let c = tokens(src).into_iter().find(|t| t.text == "c");
        assert_eq!(c.map(|t| t.test), Some(false));
    }
}
