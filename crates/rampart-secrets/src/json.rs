//! A small pull reader for JSON that keeps byte offsets: the notebook scanner walks the
//! document with it, decodes only the strings it scans, and maps every position in a
//! decoded string back to the raw file so findings get real line numbers. Values it does
//! not need are validated and skipped without allocation.

use std::borrow::Cow;

/// Nesting deeper than this is not a notebook; recursion stays bounded.
pub(crate) const MAX_DEPTH: usize = 64;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum JsonError {
    #[error("{what} at byte {offset}")]
    Syntax { offset: usize, what: &'static str },
    #[error("nesting deeper than {MAX_DEPTH} levels at byte {offset}")]
    TooDeep { offset: usize },
}

impl JsonError {
    pub fn offset(&self) -> usize {
        match self {
            JsonError::Syntax { offset, .. } | JsonError::TooDeep { offset } => *offset,
        }
    }
}

/// The raw content of a string literal, between its quotes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RawString {
    pub start: usize,
    pub end: usize,
    has_escapes: bool,
}

pub(crate) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        let pos = if data.starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            0
        };
        Reader { data, pos }
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    fn error(&self, what: &'static str) -> JsonError {
        JsonError::Syntax {
            offset: self.pos,
            what,
        }
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.data.get(self.pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// The next significant byte, without consuming it.
    pub fn peek(&mut self) -> Option<u8> {
        self.skip_whitespace();
        self.data.get(self.pos).copied()
    }

    fn expect(&mut self, byte: u8, what: &'static str) -> Result<(), JsonError> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(what))
        }
    }

    /// Reads a string literal, validating its escapes.
    pub fn string(&mut self) -> Result<RawString, JsonError> {
        self.expect(b'"', "expected a string")?;
        let start = self.pos;
        let mut has_escapes = false;
        loop {
            let rest = self.data.get(self.pos..).unwrap_or_default();
            let Some(stop) = memchr::memchr3(b'"', b'\\', b'\n', rest) else {
                self.pos = self.data.len();
                return Err(self.error("unterminated string"));
            };
            if let Some(control) = rest
                .get(..stop)
                .and_then(|s| s.iter().position(|&b| b < 0x20))
            {
                self.pos += control;
                return Err(self.error("control character in a string"));
            }
            self.pos += stop;
            match self.data.get(self.pos) {
                Some(b'"') => {
                    let end = self.pos;
                    self.pos += 1;
                    return Ok(RawString {
                        start,
                        end,
                        has_escapes,
                    });
                }
                Some(b'\\') => {
                    has_escapes = true;
                    match self.data.get(self.pos + 1) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                            self.pos += 2;
                        }
                        Some(b'u') => {
                            let hex = self.data.get(self.pos + 2..self.pos + 6);
                            if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                                return Err(self.error("bad \\u escape"));
                            }
                            self.pos += 6;
                        }
                        _ => return Err(self.error("bad escape")),
                    }
                }
                _ => return Err(self.error("control character in a string")),
            }
        }
    }

    /// Calls `member` for each key of an object, with the reader positioned at the value;
    /// `member` must consume the value.
    pub fn object(
        &mut self,
        depth: usize,
        mut member: impl FnMut(&mut Self, RawString) -> Result<(), JsonError>,
    ) -> Result<(), JsonError> {
        self.enter(depth)?;
        self.expect(b'{', "expected an object")?;
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            let key = self.string()?;
            self.expect(b':', "expected ':'")?;
            member(self, key)?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.error("expected ',' or '}'")),
            }
        }
    }

    /// Calls `element` for each element of an array with its index; `element` must
    /// consume the value.
    pub fn array(
        &mut self,
        depth: usize,
        mut element: impl FnMut(&mut Self, usize) -> Result<(), JsonError>,
    ) -> Result<(), JsonError> {
        self.enter(depth)?;
        self.expect(b'[', "expected an array")?;
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        let mut index = 0;
        loop {
            element(self, index)?;
            index += 1;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.error("expected ',' or ']'")),
            }
        }
    }

    fn enter(&mut self, depth: usize) -> Result<(), JsonError> {
        if depth > MAX_DEPTH {
            self.skip_whitespace();
            return Err(JsonError::TooDeep { offset: self.pos });
        }
        Ok(())
    }

    /// Validates and skips one value of any kind.
    pub fn skip_value(&mut self, depth: usize) -> Result<(), JsonError> {
        match self.peek() {
            Some(b'{') => self.object(depth, |r, _| r.skip_value(depth + 1)),
            Some(b'[') => self.array(depth, |r, _| r.skip_value(depth + 1)),
            Some(b'"') => self.string().map(|_| ()),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.error("unexpected character")),
            None => Err(self.error("unexpected end of input")),
        }
    }

    fn literal(&mut self, word: &'static [u8]) -> Result<(), JsonError> {
        if self.data.get(self.pos..self.pos + word.len()) == Some(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.error("bad literal"))
        }
    }

    fn number(&mut self) -> Result<(), JsonError> {
        let start = self.pos;
        if self.data.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        let digits = |r: &mut Self| {
            let from = r.pos;
            while r.data.get(r.pos).is_some_and(u8::is_ascii_digit) {
                r.pos += 1;
            }
            r.pos > from
        };
        if !digits(self) {
            return Err(self.error("bad number"));
        }
        if self.data.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if !digits(self) {
                return Err(self.error("bad number"));
            }
        }
        if matches!(self.data.get(self.pos), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.data.get(self.pos), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if !digits(self) {
                return Err(self.error("bad number"));
            }
        }
        debug_assert!(self.pos > start);
        Ok(())
    }

    /// Only whitespace may follow the document.
    pub fn finish(&mut self) -> Result<(), JsonError> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.error("data after the document")),
        }
    }

    /// The decoded text of a key, borrowed when it has no escapes.
    pub fn key(&self, raw: RawString) -> Cow<'a, [u8]> {
        let bytes = self.data.get(raw.start..raw.end).unwrap_or_default();
        if !raw.has_escapes {
            return Cow::Borrowed(bytes);
        }
        let mut decoded = Decoded::default();
        decoded.push(self.data, raw);
        Cow::Owned(decoded.text)
    }
}

/// Decoded string content with a map back to raw offsets. Several strings may be appended
/// (the lines of a notebook cell); between escapes decoded and raw bytes correspond one to
/// one, so a sorted list of anchors is enough.
#[derive(Debug, Default)]
pub(crate) struct Decoded {
    pub text: Vec<u8>,
    /// `(decoded offset, raw offset)` where a string starts or an escape ends.
    anchors: Vec<(usize, usize)>,
}

impl Decoded {
    /// Appends the decoded content of `raw` (a validated string of `data`).
    pub fn push(&mut self, data: &[u8], raw: RawString) {
        let content = data.get(raw.start..raw.end).unwrap_or_default();
        self.anchors.push((self.text.len(), raw.start));
        if !raw.has_escapes {
            self.text.extend_from_slice(content);
            return;
        }
        let mut i = 0;
        while let Some(&b) = content.get(i) {
            if b != b'\\' {
                self.text.push(b);
                i += 1;
                continue;
            }
            let consumed = match content.get(i + 1) {
                Some(b'u') => {
                    let (c, used) = decode_unicode(content.get(i..).unwrap_or_default());
                    let mut buf = [0u8; 4];
                    self.text
                        .extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                    used
                }
                Some(&e) => {
                    self.text.push(match e {
                        b'n' => b'\n',
                        b't' => b'\t',
                        b'r' => b'\r',
                        b'b' => 0x08,
                        b'f' => 0x0c,
                        other => other,
                    });
                    2
                }
                None => 1,
            };
            i += consumed;
            self.anchors.push((self.text.len(), raw.start + i));
        }
    }

    /// The raw offset of decoded offset `at`.
    pub fn raw_offset(&self, at: usize) -> usize {
        let index = self.anchors.partition_point(|&(decoded, _)| decoded <= at);
        match index.checked_sub(1).and_then(|i| self.anchors.get(i)) {
            Some(&(decoded, raw)) => raw + (at - decoded),
            None => at,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
}

/// Decodes `\uXXXX` (and a following low surrogate) at the start of `escape`; lone
/// surrogates become U+FFFD. Returns the character and the bytes consumed.
fn decode_unicode(escape: &[u8]) -> (char, usize) {
    let unit = |at: usize| -> Option<u32> {
        let hex = escape.get(at + 2..at + 6)?;
        u32::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()
    };
    let Some(first) = unit(0) else {
        return (char::REPLACEMENT_CHARACTER, 2);
    };
    if (0xD800..0xDC00).contains(&first)
        && escape.get(6..8) == Some(b"\\u")
        && let Some(second) = unit(6)
        && (0xDC00..0xE000).contains(&second)
    {
        let combined = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
        return (
            char::from_u32(combined).unwrap_or(char::REPLACEMENT_CHARACTER),
            12,
        );
    }
    (
        char::from_u32(first).unwrap_or(char::REPLACEMENT_CHARACTER),
        6,
    )
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Escapes `text` as JSON, writing characters outside ASCII as `\u` escapes (with
    /// surrogate pairs) when `ascii_only`.
    fn escape(text: &str, ascii_only: bool) -> String {
        let mut out = String::from("\"");
        for c in text.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if (c as u32) < 0x20 || (ascii_only && !c.is_ascii()) => {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        out.push_str(&format!("\\u{unit:04x}"));
                    }
                }
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn strings_round_trip_and_map_inside_the_literal(text in "\\PC{0,40}", ascii in any::<bool>()) {
            let json = escape(&text, ascii);
            let mut reader = Reader::new(json.as_bytes());
            let raw = reader.string().unwrap();
            let mut decoded = Decoded::default();
            decoded.push(json.as_bytes(), raw);
            prop_assert_eq!(&decoded.text, text.as_bytes());
            for at in 0..decoded.text.len() {
                let offset = decoded.raw_offset(at);
                prop_assert!(offset >= raw.start && offset < raw.end.max(raw.start + 1) + 12);
            }
        }

        #[test]
        fn arbitrary_bytes_are_rejected_or_skipped_without_panic(data in prop::collection::vec(any::<u8>(), 0..512)) {
            let mut reader = Reader::new(&data);
            if reader.skip_value(0).is_ok() {
                let _ = reader.finish();
            }
            prop_assert!(reader.position() <= data.len());
        }
    }

    fn decode(json: &str) -> Decoded {
        let mut reader = Reader::new(json.as_bytes());
        let raw = reader.string().unwrap();
        let mut decoded = Decoded::default();
        decoded.push(json.as_bytes(), raw);
        decoded
    }

    #[test]
    fn strings_decode_with_offsets_back_to_the_raw_text() {
        let json = r#""a\nb\u00e9\ud83d\ude00c""#;
        let decoded = decode(json);
        assert_eq!(decoded.text, "a\nbé😀c".as_bytes());
        // 'c' is the last decoded byte; in the raw text it sits before the closing quote.
        let c = decoded.text.len() - 1;
        assert_eq!(decoded.raw_offset(c), json.len() - 2);
        assert_eq!(decoded.raw_offset(0), 1);
        assert_eq!(decode(r#""\ud800x""#).text, "\u{FFFD}x".as_bytes());
    }

    #[test]
    fn documents_are_validated_and_skipped() {
        for good in [
            r#"{"a": [1, -2.5e3, true, false, null, {"b": "c"}]}"#,
            "[]",
            " {} ",
        ] {
            let mut reader = Reader::new(good.as_bytes());
            reader.skip_value(0).unwrap();
            reader.finish().unwrap();
        }
        for bad in [
            r#"{"a" 1}"#,
            r#"{"a": 1,}"#,
            "[1 2]",
            r#""unterminated"#,
            "\"tab\tinside\"",
            r#""\x""#,
            "01x",
            "-",
            "tru",
            "{} {}",
        ] {
            let mut reader = Reader::new(bad.as_bytes());
            let result = reader.skip_value(0).and_then(|()| reader.finish());
            assert!(result.is_err(), "{bad}");
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = "[".repeat(MAX_DEPTH + 2);
        let mut reader = Reader::new(deep.as_bytes());
        assert!(matches!(
            reader.skip_value(0),
            Err(JsonError::TooDeep { .. })
        ));
    }
}
