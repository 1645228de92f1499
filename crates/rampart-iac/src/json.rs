//! A small JSON reader that records the line and column of every value, for IAM policy
//! files and policies written as JSON strings inside Terraform. `serde_json` has no
//! positions for values, and findings must point at the statement or condition at fault.
//!
//! Bounded: nesting is limited to [`MAX_DEPTH`], and the caller bounds the input size.
//! Accepts exactly RFC 8259 JSON; anything else is an error with its line and column.

use crate::value::{Pos, V, Value};

/// Deeper documents are rejected: IAM policies nest five levels.
pub(crate) const MAX_DEPTH: usize = 128;

#[derive(Debug, thiserror::Error)]
#[error("{message} at line {line}, column {col}")]
pub(crate) struct JsonError {
    pub message: String,
    pub line: u32,
    pub col: u32,
}

/// Parses `text`, placing positions as if `text` started at `origin` (same file; the
/// first line continues at `origin.col`).
pub(crate) fn parse(text: &str, origin: Pos) -> Result<Value, JsonError> {
    let mut parser = Parser {
        bytes: text.as_bytes(),
        text,
        at: 0,
        line: 1,
        line_start: 0,
        origin,
    };
    parser.skip_ws();
    let value = parser.value(0)?;
    parser.skip_ws();
    if parser.at < parser.bytes.len() {
        return Err(parser.error("unexpected data after the JSON value"));
    }
    Ok(value)
}

struct Parser<'a> {
    bytes: &'a [u8],
    text: &'a str,
    at: usize,
    line: u32,
    line_start: usize,
    origin: Pos,
}

impl Parser<'_> {
    fn pos(&self) -> Pos {
        let col = u32::try_from(
            self.text
                .get(self.line_start..self.at)
                .map_or(0, |s| s.chars().count()),
        )
        .unwrap_or(u32::MAX)
        .saturating_add(1);
        if self.line == 1 {
            Pos {
                file: self.origin.file,
                line: self.origin.line.max(1),
                col: self.origin.col.max(1).saturating_add(col - 1),
            }
        } else {
            Pos {
                file: self.origin.file,
                line: self.origin.line.max(1).saturating_add(self.line - 1),
                col,
            }
        }
    }

    fn error(&self, message: &str) -> JsonError {
        let pos = self.pos();
        JsonError {
            message: message.to_owned(),
            line: pos.line,
            col: pos.col,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b) = self.peek() {
            match b {
                b'\n' => {
                    self.at += 1;
                    self.line = self.line.saturating_add(1);
                    self.line_start = self.at;
                }
                b' ' | b'\t' | b'\r' => self.at += 1,
                _ => break,
            }
        }
    }

    fn expect(&mut self, byte: u8, what: &str) -> Result<(), JsonError> {
        if self.peek() == Some(byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.error(&format!("expected {what}")))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, JsonError> {
        if depth >= MAX_DEPTH {
            return Err(self.error("JSON nested too deeply"));
        }
        let pos = self.pos();
        match self.peek() {
            Some(b'{') => {
                self.at += 1;
                let mut entries = Vec::new();
                self.skip_ws();
                if self.peek() == Some(b'}') {
                    self.at += 1;
                    return Ok(Value::new(V::Object(entries), pos));
                }
                loop {
                    self.skip_ws();
                    if self.peek() != Some(b'"') {
                        return Err(self.error("expected a string key"));
                    }
                    let key = self.string()?;
                    self.skip_ws();
                    self.expect(b':', "':'")?;
                    self.skip_ws();
                    let value = self.value(depth + 1)?;
                    entries.push((key, value));
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.at += 1,
                        Some(b'}') => {
                            self.at += 1;
                            return Ok(Value::new(V::Object(entries), pos));
                        }
                        _ => return Err(self.error("expected ',' or '}'")),
                    }
                }
            }
            Some(b'[') => {
                self.at += 1;
                let mut items = Vec::new();
                self.skip_ws();
                if self.peek() == Some(b']') {
                    self.at += 1;
                    return Ok(Value::new(V::List(items), pos));
                }
                loop {
                    self.skip_ws();
                    items.push(self.value(depth + 1)?);
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.at += 1,
                        Some(b']') => {
                            self.at += 1;
                            return Ok(Value::new(V::List(items), pos));
                        }
                        _ => return Err(self.error("expected ',' or ']'")),
                    }
                }
            }
            Some(b'"') => Ok(Value::str(self.string()?, pos)),
            Some(b't') => self.literal("true", V::Bool(true), pos),
            Some(b'f') => self.literal("false", V::Bool(false), pos),
            Some(b'n') => self.literal("null", V::Null, pos),
            Some(b'-' | b'0'..=b'9') => self.number(pos),
            Some(_) => Err(self.error("unexpected character")),
            None => Err(self.error("unexpected end of input")),
        }
    }

    fn literal(&mut self, word: &str, kind: V, pos: Pos) -> Result<Value, JsonError> {
        if self
            .bytes
            .get(self.at..)
            .is_some_and(|rest| rest.starts_with(word.as_bytes()))
        {
            self.at += word.len();
            Ok(Value::new(kind, pos))
        } else {
            Err(self.error("invalid literal"))
        }
    }

    fn number(&mut self, pos: Pos) -> Result<Value, JsonError> {
        let start = self.at;
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        let digits = |p: &mut Self| {
            let from = p.at;
            while matches!(p.peek(), Some(b'0'..=b'9')) {
                p.at += 1;
            }
            p.at > from
        };
        if !digits(self) {
            return Err(self.error("invalid number"));
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            if !digits(self) {
                return Err(self.error("invalid number"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if !digits(self) {
                return Err(self.error("invalid number"));
            }
        }
        let text = self.text.get(start..self.at).unwrap_or("");
        text.parse::<f64>()
            .map(|n| Value::new(V::Number(n), pos))
            .map_err(|_| self.error("invalid number"))
    }

    /// Reads a string starting at the opening quote.
    fn string(&mut self) -> Result<String, JsonError> {
        self.at += 1;
        let mut out = String::new();
        loop {
            let start = self.at;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.at += 1;
            }
            out.push_str(self.text.get(start..self.at).unwrap_or(""));
            match self.peek() {
                Some(b'"') => {
                    self.at += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.at += 1;
                    let escaped = self
                        .peek()
                        .ok_or_else(|| self.error("unterminated string"))?;
                    self.at += 1;
                    match escaped {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let first = self.hex4()?;
                            let c = if (0xD800..0xDC00).contains(&first) {
                                if self.bytes.get(self.at..self.at + 2) != Some(b"\\u") {
                                    return Err(self.error("unpaired surrogate in string"));
                                }
                                self.at += 2;
                                let second = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&second) {
                                    return Err(self.error("unpaired surrogate in string"));
                                }
                                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                            } else {
                                first
                            };
                            out.push(
                                char::from_u32(c)
                                    .ok_or_else(|| self.error("invalid \\u escape"))?,
                            );
                        }
                        _ => return Err(self.error("invalid escape in string")),
                    }
                }
                Some(_) => return Err(self.error("control character in string")),
                None => return Err(self.error("unterminated string")),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let digits = self
            .text
            .get(self.at..self.at + 4)
            .ok_or_else(|| self.error("truncated \\u escape"))?;
        let value =
            u32::from_str_radix(digits, 16).map_err(|_| self.error("invalid \\u escape"))?;
        self.at += 4;
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn origin() -> Pos {
        Pos {
            file: 0,
            line: 1,
            col: 1,
        }
    }

    #[test]
    fn records_lines_and_columns() {
        let v = parse(
            "{\n  \"a\": [1, \"x\\u00e9\"],\n  \"b\": {\"c\": null}\n}",
            origin(),
        )
        .unwrap();
        let a = v.get("a").unwrap();
        assert_eq!((a.pos.line, a.pos.col), (2, 8));
        let items = a.items();
        assert_eq!(items[1].as_str(), Some("xé"));
        assert_eq!((items[1].pos.line, items[1].pos.col), (2, 12));
        assert!(v.get("b").unwrap().get("c").unwrap().is_null());
    }

    #[test]
    fn offsets_positions_by_origin() {
        let v = parse(
            "[\n 1]",
            Pos {
                file: 3,
                line: 10,
                col: 5,
            },
        )
        .unwrap();
        assert_eq!((v.pos.file, v.pos.line, v.pos.col), (3, 10, 5));
        assert_eq!((v.items()[0].pos.line, v.items()[0].pos.col), (11, 2));
    }

    #[test]
    fn rejects_malformed_input_with_position() {
        for bad in [
            "{",
            "[1,]",
            "{\"a\" 1}",
            "\"\\x\"",
            "01x",
            "[1] 2",
            "\"\\ud800\"",
        ] {
            assert!(parse(bad, origin()).is_err(), "{bad}");
        }
        let err = parse("{\n  \"a\": tru\n}", origin()).unwrap_err();
        assert_eq!(err.line, 2);
        let deep = "[".repeat(MAX_DEPTH + 1);
        assert!(
            parse(&deep, origin())
                .unwrap_err()
                .message
                .contains("deeply")
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,200}") {
            let _ = parse(&s, origin());
        }

        #[test]
        fn structured_noise_never_panics(s in "[\\[\\]{}\",:0-9a-z\\\\ \n.eE+-]{0,300}") {
            let _ = parse(&s, origin());
        }
    }
}
