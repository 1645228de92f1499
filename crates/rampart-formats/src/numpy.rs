//! NumPy `.npy`: magic `\x93NUMPY`, a version, a header length, and a header that is a
//! Python dict literal (`{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`),
//! then the array data.
//!
//! An array whose dtype holds Python objects stores a pickle after the header, which
//! `np.load(allow_pickle=True)` runs; [`scan`] reports where it starts so the caller runs the
//! pickle analyzer on it. Any other array must be exactly `prod(shape) * itemsize` bytes.
//! The header is parsed by a small literal parser, never evaluated.

use rampart_core::rules::{LIMIT_EXCEEDED, MALFORMED};
use rampart_core::{Finding, Limits, Location, Rule, Severity};

pub static NUMPY_TRAILING_DATA: Rule = Rule {
    id: "numpy/trailing-data",
    scanner: "model",
    severity: Severity::Medium,
    title: "NumPy file has bytes after the array data",
    description: "The file is longer than its header's shape and dtype say. `np.load` ignores the \
                  extra bytes, so they can carry a smuggled payload (a pickle, an archive, a \
                  script) past tools that only read the array.",
    remediation: "Inspect the reported bytes. Re-save the array with numpy from a trusted source to \
                  drop them.",
    references: crate::rules::HIDDEN_BYTES_REFERENCES,
};

const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// Python's own recursion limit bounds `ast.literal_eval`; real headers nest a few levels.
const MAX_NESTING: usize = 32;
const PREVIEW_BYTES: usize = 32;

/// What [`scan`] learned about a `.npy` file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NpyInfo {
    /// The parsed header, when it could be parsed.
    pub header: Option<NpyHeader>,
    /// Where the embedded pickle starts, when the dtype holds Python objects.
    pub pickle_offset: Option<usize>,
}

/// The fields of a `.npy` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NpyHeader {
    pub version: (u8, u8),
    /// `descr` as written, e.g. `<f4` or a structured `[('a', '<i4'), ...]` rendered back.
    pub descr: String,
    pub fortran_order: bool,
    pub shape: Vec<u64>,
    /// Bytes per element; `None` when the dtype holds Python objects.
    pub item_size: Option<u64>,
    /// Where the array data (or the pickle) starts.
    pub data_offset: usize,
}

/// True when `prefix` starts with the NumPy magic.
pub fn looks_like_npy(prefix: &[u8]) -> bool {
    prefix.starts_with(MAGIC)
}

/// Validates the header; returns where an embedded pickle starts when the dtype holds
/// Python objects (the engine then runs the pickle scanner on `data[offset..]` with
/// `location.at(offset)`).
pub fn scan(data: &[u8], location: &Location, limits: &Limits, out: &mut Vec<Finding>) -> NpyInfo {
    let header = match parse_header(data, limits) {
        Ok(header) => header,
        Err(problem) => {
            let rule = if problem.limit {
                &LIMIT_EXCEEDED
            } else {
                &MALFORMED
            };
            out.push(Finding::new(
                rule,
                location.at(problem.at as u64),
                problem.message,
            ));
            return NpyInfo::default();
        }
    };
    let Some(item_size) = header.item_size else {
        return NpyInfo {
            pickle_offset: Some(header.data_offset),
            header: Some(header),
        };
    };
    let available = (data.len() - header.data_offset) as u64;
    let expected = header
        .shape
        .iter()
        .try_fold(1u64, |n, &d| n.checked_mul(d))
        .and_then(|elements| elements.checked_mul(item_size));
    match expected {
        None => out.push(Finding::new(
            &MALFORMED,
            location.at(header.data_offset as u64),
            format!("shape {:?} of {item_size}-byte items overflows 64 bits", header.shape),
        )),
        Some(expected) if expected > available => out.push(Finding::new(
            &MALFORMED,
            location.at(header.data_offset as u64),
            format!("array needs {expected} bytes but only {available} follow the header: the file is truncated"),
        )),
        Some(expected) if expected < available => {
            let start = header.data_offset as u64 + expected;
            let preview_start = start as usize;
            let preview = data
                .get(preview_start..data.len().min(preview_start + PREVIEW_BYTES))
                .unwrap_or_default();
            let hex: Vec<String> = preview.iter().map(|b| format!("{b:02x}")).collect();
            out.push(
                Finding::new(
                    &NUMPY_TRAILING_DATA,
                    location.at(start),
                    format!(
                        "{} bytes follow the {expected}-byte array (file offsets {start}..{})",
                        available - expected,
                        data.len()
                    ),
                )
                .with_evidence(format!("first bytes: {}", hex.join(" "))),
            );
        }
        Some(_) => {}
    }
    NpyInfo {
        header: Some(header),
        pickle_offset: None,
    }
}

/// Why a `.npy` header could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Byte offset of the problem in the file.
    pub at: usize,
    pub message: String,
    /// A limit of [`Limits`] was hit rather than the header being malformed.
    pub limit: bool,
}

fn malformed(at: usize, message: impl Into<String>) -> Problem {
    Problem {
        at,
        message: message.into(),
        limit: false,
    }
}

/// Parses and validates the magic, version and header dictionary of a `.npy` file (never
/// the array data), for the scanner and for readers of plain numeric arrays.
pub fn parse_header(data: &[u8], limits: &Limits) -> Result<NpyHeader, Problem> {
    if !data.starts_with(MAGIC) {
        return Err(malformed(0, "file does not start with the NumPy magic"));
    }
    let (major, minor) = match data.get(6..8) {
        Some(&[major, minor]) => (major, minor),
        _ => return Err(malformed(6, "file ends before the format version")),
    };
    if !matches!((major, minor), (1, 0) | (2, 0) | (3, 0)) {
        return Err(malformed(
            6,
            format!("unsupported .npy format version {major}.{minor}"),
        ));
    }
    let (length, header_start): (u64, usize) = if major == 1 {
        match data.get(8..10) {
            Some(&[a, b]) => (u64::from(u16::from_le_bytes([a, b])), 10),
            _ => return Err(malformed(8, "file ends before the header length")),
        }
    } else {
        match data.get(8..12) {
            Some(&[a, b, c, d]) => (u64::from(u32::from_le_bytes([a, b, c, d])), 12),
            _ => return Err(malformed(8, "file ends before the header length")),
        }
    };
    if length > limits.max_header_bytes {
        return Err(Problem {
            at: 8,
            message: format!(
                "header length {length} exceeds max_header_bytes ({})",
                limits.max_header_bytes
            ),
            limit: true,
        });
    }
    let header_end = usize::try_from(length)
        .ok()
        .and_then(|len| header_start.checked_add(len))
        .filter(|&end| end <= data.len())
        .ok_or_else(|| {
            malformed(
                8,
                format!("header length {length} runs past the end of the file"),
            )
        })?;
    let raw = &data[header_start..header_end];
    let text: String = if major == 3 {
        std::str::from_utf8(raw)
            .map_err(|e| {
                malformed(
                    header_start + e.valid_up_to(),
                    "version 3.0 header is not valid UTF-8",
                )
            })?
            .to_owned()
    } else {
        // Versions 1 and 2 are latin-1: every byte is the code point of the same value.
        raw.iter().map(|&b| char::from(b)).collect()
    };
    let mut parser = LiteralParser {
        chars: text.char_indices().collect(),
        i: 0,
        depth: 0,
    };
    let literal = parser.parse_complete().map_err(|e| {
        let offset = text.get(..e.at).map_or(0, str::len);
        malformed(
            header_start + offset,
            format!("header is not a Python literal: {}", e.what),
        )
    })?;
    let bad = |message: String| malformed(header_start, message);
    let Literal::Dict(entries) = literal else {
        return Err(bad("header is not a dict".to_owned()));
    };
    let field = |name: &str| {
        let mut matches = entries
            .iter()
            .filter(|(k, _)| *k == Literal::Str(name.to_owned()));
        match (matches.next(), matches.next()) {
            (Some((_, value)), None) => Ok(value),
            (None, _) => Err(bad(format!("header has no '{name}' key"))),
            (Some(_), Some(_)) => Err(bad(format!("header repeats the '{name}' key"))),
        }
    };
    let descr = field("descr")?;
    let fortran_order = field("fortran_order")?;
    let shape = field("shape")?;
    if entries.len() != 3 {
        return Err(bad(
            "header must hold exactly the keys 'descr', 'fortran_order' and 'shape'".to_owned(),
        ));
    }
    let Literal::Bool(fortran_order) = *fortran_order else {
        return Err(bad("'fortran_order' is not a bool".to_owned()));
    };
    let Literal::Tuple(dims) = shape else {
        return Err(bad("'shape' is not a tuple".to_owned()));
    };
    let shape = dims
        .iter()
        .map(|d| match d {
            Literal::Int(n) => u64::try_from(*n).ok(),
            _ => None,
        })
        .collect::<Option<Vec<u64>>>()
        .ok_or_else(
            || bad("'shape' holds something other than non-negative integers".to_owned()),
        )?;
    let dtype =
        dtype_of(descr, 0).map_err(|e| bad(format!("'descr' is not a valid dtype: {e}")))?;
    Ok(NpyHeader {
        version: (major, minor),
        descr: descr.to_string(),
        fortran_order,
        shape,
        item_size: (!dtype.has_object).then_some(dtype.item_size),
        data_offset: header_end,
    })
}

struct Dtype {
    item_size: u64,
    has_object: bool,
}

/// Size and object-ness of a `descr`: a type string or a structured list.
fn dtype_of(descr: &Literal, depth: usize) -> Result<Dtype, String> {
    if depth > MAX_NESTING {
        return Err("structured dtype nested too deeply".to_owned());
    }
    match descr {
        Literal::Str(text) => simple_dtype(text),
        Literal::List(fields) => {
            let mut dtype = Dtype {
                item_size: 0,
                has_object: false,
            };
            for field in fields {
                let Literal::Tuple(parts) = field else {
                    return Err("a structured field is not a tuple".to_owned());
                };
                let (name, field_descr, shape) = match parts.as_slice() {
                    [name, descr] => (name, descr, None),
                    [name, descr, shape] => (name, descr, Some(shape)),
                    _ => return Err("a structured field is not (name, dtype[, shape])".to_owned()),
                };
                let name_ok = match name {
                    Literal::Str(_) => true,
                    Literal::Tuple(pair) => matches!(pair.as_slice(), [_, Literal::Str(_)]),
                    _ => false,
                };
                if !name_ok {
                    return Err("a structured field name is not a string".to_owned());
                }
                let inner = dtype_of(field_descr, depth + 1)?;
                let count = match shape {
                    None => 1,
                    Some(Literal::Int(n)) => {
                        u64::try_from(*n).map_err(|_| "negative field shape".to_owned())?
                    }
                    Some(Literal::Tuple(dims)) => dims.iter().try_fold(1u64, |acc, d| match d {
                        Literal::Int(n) => u64::try_from(*n)
                            .ok()
                            .and_then(|n| acc.checked_mul(n))
                            .ok_or_else(|| "invalid field shape".to_owned()),
                        _ => Err("invalid field shape".to_owned()),
                    })?,
                    Some(_) => return Err("invalid field shape".to_owned()),
                };
                let size = inner
                    .item_size
                    .checked_mul(count)
                    .ok_or("field size overflows")?;
                dtype.item_size = dtype
                    .item_size
                    .checked_add(size)
                    .ok_or("item size overflows")?;
                dtype.has_object |= inner.has_object;
            }
            Ok(dtype)
        }
        _ => Err("neither a type string nor a list of fields".to_owned()),
    }
}

/// A type string such as `<f4`, `|b1`, `<U10`, `<M8[ns]` or `|O`.
fn simple_dtype(text: &str) -> Result<Dtype, String> {
    let unknown = || format!("unknown type string {text:?}");
    let body = text.strip_prefix(['<', '>', '|', '=']).unwrap_or(text);
    let mut chars = body.chars();
    let kind = chars.next().ok_or_else(unknown)?;
    let rest = chars.as_str();
    let (digits, unit) = match rest.find('[') {
        Some(i) => (&rest[..i], Some(&rest[i..])),
        None => (rest, None),
    };
    let size: Option<u64> = if digits.is_empty() {
        None
    } else if digits.bytes().all(|b| b.is_ascii_digit()) {
        Some(digits.parse().map_err(|_| unknown())?)
    } else {
        return Err(unknown());
    };
    let object = |has_object| Dtype {
        item_size: 8,
        has_object,
    };
    let plain = |item_size| Dtype {
        item_size,
        has_object: false,
    };
    let unit_ok = |unit: Option<&str>| {
        unit.is_none_or(|u| {
            u.len() > 2
                && u.ends_with(']')
                && u[1..u.len() - 1].bytes().all(|b| b.is_ascii_alphanumeric())
        })
    };
    match (kind, size, unit) {
        ('O', None | Some(4 | 8), None) => Ok(object(true)),
        ('?', None, None) | ('b', Some(1), None) => Ok(plain(1)),
        ('i' | 'u', Some(n @ (1 | 2 | 4 | 8)), None) => Ok(plain(n)),
        ('f', Some(n @ (2 | 4 | 8 | 12 | 16)), None) => Ok(plain(n)),
        ('c', Some(n @ (8 | 16 | 24 | 32)), None) => Ok(plain(n)),
        ('m' | 'M', Some(8), unit) if unit_ok(unit) => Ok(plain(8)),
        ('S' | 'a' | 'V', Some(n), None) => Ok(plain(n)),
        ('U', Some(n), None) => n.checked_mul(4).map(plain).ok_or_else(unknown),
        _ => Err(unknown()),
    }
}

// ---------------------------------------------------------------------------------------
// The subset of Python literals `ast.literal_eval` accepts that headers use.

#[derive(Clone, Debug, PartialEq)]
enum Literal {
    Str(String),
    Bool(bool),
    Int(i128),
    None,
    Tuple(Vec<Literal>),
    List(Vec<Literal>),
    Dict(Vec<(Literal, Literal)>),
}

impl std::fmt::Display for Literal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let join = |f: &mut std::fmt::Formatter<'_>, items: &[Literal]| -> std::fmt::Result {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{item}")?;
            }
            Ok(())
        };
        match self {
            Literal::Str(s) => write!(f, "'{s}'"),
            Literal::Bool(b) => f.write_str(if *b { "True" } else { "False" }),
            Literal::Int(n) => write!(f, "{n}"),
            Literal::None => f.write_str("None"),
            Literal::Tuple(items) if items.len() == 1 => write!(f, "({},)", items[0]),
            Literal::Tuple(items) => {
                f.write_str("(")?;
                join(f, items)?;
                f.write_str(")")
            }
            Literal::List(items) => {
                f.write_str("[")?;
                join(f, items)?;
                f.write_str("]")
            }
            Literal::Dict(entries) => {
                f.write_str("{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                f.write_str("}")
            }
        }
    }
}

struct LiteralError {
    /// Byte offset in the header text.
    at: usize,
    what: String,
}

struct LiteralParser {
    chars: Vec<(usize, char)>,
    i: usize,
    depth: usize,
}

impl LiteralParser {
    fn at(&self) -> usize {
        self.chars.get(self.i).map_or_else(
            || self.chars.last().map_or(0, |(i, c)| i + c.len_utf8()),
            |(i, _)| *i,
        )
    }

    fn fail<T>(&self, what: &str) -> Result<T, LiteralError> {
        Err(LiteralError {
            at: self.at(),
            what: what.to_owned(),
        })
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).map(|(_, c)| *c)
    }

    fn skip_space(&mut self) {
        while let Some(c) = self.peek() {
            if c == '#' {
                while self.peek().is_some_and(|c| c != '\n') {
                    self.i += 1;
                }
            } else if c.is_whitespace() {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_space();
        let hit = self.peek() == Some(c);
        if hit {
            self.i += 1;
        }
        hit
    }

    fn parse_complete(&mut self) -> Result<Literal, LiteralError> {
        let value = self.parse_value()?;
        self.skip_space();
        if self.peek().is_some() {
            return self.fail("unexpected text after the literal");
        }
        Ok(value)
    }

    fn parse_value(&mut self) -> Result<Literal, LiteralError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return self.fail("literal nested too deeply");
        }
        self.skip_space();
        let value = match self.peek() {
            Some('{') => {
                self.i += 1;
                let mut entries = Vec::new();
                while !self.eat('}') {
                    if !entries.is_empty() && !self.eat(',') {
                        return self.fail("expected `,` or `}`");
                    }
                    if self.eat('}') {
                        break;
                    }
                    let key = self.parse_value()?;
                    if !self.eat(':') {
                        return self.fail("expected `:`");
                    }
                    entries.push((key, self.parse_value()?));
                }
                Literal::Dict(entries)
            }
            Some(open @ ('(' | '[')) => {
                self.i += 1;
                let close = if open == '(' { ')' } else { ']' };
                let mut items = Vec::new();
                let mut trailing_comma = false;
                while !self.eat(close) {
                    if !items.is_empty() && !self.eat(',') {
                        return self.fail("expected `,` or a closing bracket");
                    }
                    trailing_comma = true;
                    if self.eat(close) {
                        break;
                    }
                    trailing_comma = false;
                    items.push(self.parse_value()?);
                }
                match (open, items.len(), trailing_comma) {
                    ('(', 1, false) => items.remove(0),
                    ('(', _, _) => Literal::Tuple(items),
                    _ => Literal::List(items),
                }
            }
            Some('\'' | '"') => Literal::Str(self.parse_string()?),
            Some('u' | 'U') if matches!(self.chars.get(self.i + 1), Some((_, '\'' | '"'))) => {
                self.i += 1;
                Literal::Str(self.parse_string()?)
            }
            Some(c) if c.is_ascii_digit() || c == '-' || c == '+' => self.parse_int()?,
            Some(c) if c.is_alphabetic() || c == '_' => {
                let start = self.i;
                while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    self.i += 1;
                }
                let word: String = self.chars[start..self.i].iter().map(|(_, c)| c).collect();
                match word.as_str() {
                    "True" => Literal::Bool(true),
                    "False" => Literal::Bool(false),
                    "None" => Literal::None,
                    _ => {
                        self.i = start;
                        return self.fail("names and calls are not literals");
                    }
                }
            }
            _ => return self.fail("expected a literal"),
        };
        self.depth -= 1;
        Ok(value)
    }

    fn parse_int(&mut self) -> Result<Literal, LiteralError> {
        let negative = if self.peek() == Some('-') {
            self.i += 1;
            true
        } else {
            if self.peek() == Some('+') {
                self.i += 1;
            }
            false
        };
        self.skip_space();
        let mut digits = String::new();
        while let Some(c) = self.peek() {
            if c.is_ascii_digit() {
                digits.push(c);
            } else if c != '_' {
                break;
            }
            self.i += 1;
        }
        // Python 2 headers wrote longs as `3L`.
        if matches!(self.peek(), Some('L' | 'l')) {
            self.i += 1;
        }
        if self.peek().is_some_and(|c| c.is_alphanumeric() || c == '.') {
            return self.fail("only integers are allowed here");
        }
        let value: i128 = match digits.parse() {
            Ok(value) => value,
            Err(_) => return self.fail("integer missing or too large"),
        };
        Ok(Literal::Int(if negative { -value } else { value }))
    }

    fn parse_string(&mut self) -> Result<String, LiteralError> {
        let Some(quote) = self.peek() else {
            return self.fail("expected a string");
        };
        self.i += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return self.fail("string is never closed");
            };
            self.i += 1;
            if c == quote {
                return Ok(out);
            }
            if c == '\n' {
                return self.fail("newline inside a string");
            }
            if c != '\\' {
                out.push(c);
                continue;
            }
            let Some(escaped) = self.peek() else {
                return self.fail("string ends with a backslash");
            };
            self.i += 1;
            match escaped {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                '0' => out.push('\0'),
                '\\' | '\'' | '"' => out.push(escaped),
                'x' | 'u' => {
                    let width = if escaped == 'x' { 2 } else { 4 };
                    let hex: String = self
                        .chars
                        .iter()
                        .skip(self.i)
                        .take(width)
                        .map(|(_, c)| c)
                        .collect();
                    let code = u32::from_str_radix(&hex, 16)
                        .ok()
                        .filter(|_| hex.len() == width);
                    match code.and_then(char::from_u32) {
                        Some(ch) => out.push(ch),
                        None => return self.fail("invalid escape in string"),
                    }
                    self.i += width;
                }
                other => {
                    out.push('\\');
                    out.push(other);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(header: &str, data: &[u8]) -> Vec<u8> {
        let mut text = header.to_owned();
        while !(10 + text.len() + 1).is_multiple_of(64) {
            text.push(' ');
        }
        text.push('\n');
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&(text.len() as u16).to_le_bytes());
        out.extend_from_slice(text.as_bytes());
        out.extend_from_slice(data);
        out
    }

    fn run(data: &[u8]) -> (NpyInfo, Vec<&'static str>) {
        let mut out = Vec::new();
        let info = scan(data, &Location::file("a.npy"), &Limits::default(), &mut out);
        (info, out.iter().map(|f| f.rule.id).collect())
    }

    #[test]
    fn plain_arrays_are_checked_for_size() {
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }";
        let file = npy(header, &[0; 48]);
        let (info, ids) = run(&file);
        assert!(ids.is_empty(), "{ids:?}");
        let header = info.header.unwrap();
        assert_eq!(header.shape, [3, 4]);
        assert_eq!(header.item_size, Some(4));
        assert_eq!(header.data_offset, file.len() - 48);
        assert_eq!(info.pickle_offset, None);

        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }";
        assert_eq!(run(&npy(header, &[0; 40])).1, ["scan/malformed"]);
        assert_eq!(run(&npy(header, &[0; 50])).1, ["numpy/trailing-data"]);
        let huge = "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }";
        assert_eq!(run(&npy(huge, &[])).1, ["scan/malformed"]);
    }

    #[test]
    fn object_dtypes_anywhere_return_the_pickle_offset() {
        for descr in [
            "'|O'",
            "'O'",
            "'<O8'",
            "[('a', '<i4'), ('b', '|O')]",
            "[('a', [('x', 'O')], (2,))]",
        ] {
            let header = format!("{{'descr': {descr}, 'fortran_order': False, 'shape': (2,), }}");
            let file = npy(&header, b"\x80\x04K\x01.");
            let (info, ids) = run(&file);
            assert!(ids.is_empty(), "{descr}: {ids:?}");
            assert_eq!(info.pickle_offset, Some(file.len() - 5), "{descr}");
        }
    }

    #[test]
    fn dtype_strings_and_structured_sizes() {
        for (descr, size) in [
            ("'|b1'", 1),
            ("'<i8'", 8),
            ("'>u2'", 2),
            ("'<f2'", 2),
            ("'<c16'", 16),
            ("'<M8[ns]'", 8),
            ("'<m8'", 8),
            ("'|S5'", 5),
            ("'<U3'", 12),
            ("'|V16'", 16),
            (
                "[('a', '<i4'), ('b', '<f8', (2, 3)), (('title', 'c'), 'u1', 2)]",
                4 + 48 + 2,
            ),
            ("[('', '|V4'), ('x', [('y', '<f2')])]", 6),
        ] {
            let header = format!("{{'descr': {descr}, 'fortran_order': True, 'shape': (), }}");
            let (info, ids) = run(&npy(&header, &vec![0; size]));
            assert!(ids.is_empty(), "{descr}: {ids:?}");
            assert_eq!(info.header.unwrap().item_size, Some(size as u64), "{descr}");
        }
    }

    #[test]
    fn bad_headers_fail_closed() {
        for header in [
            "{'descr': '<f5', 'fortran_order': False, 'shape': (1,), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': [1], }",
            "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }",
            "{'descr': '<f4', 'fortran_order': False, }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'shape': (1,)}",
            "{'descr': __import__('os').system('id'), 'fortran_order': False, 'shape': (1,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1.5,)}",
            "{'descr': '<f4' 'fortran_order': False, 'shape': (1,)}",
            "['descr']",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x",
        ] {
            assert_eq!(run(&npy(header, &[0; 8])).1, ["scan/malformed"], "{header}");
        }
        let deep = format!("{{'descr': {}'<f4'{}}}", "[(".repeat(100), ")]".repeat(100));
        assert_eq!(run(&npy(&deep, &[])).1, ["scan/malformed"]);
        assert_eq!(run(b"\x93NUMPY\x01").1, ["scan/malformed"]);
        assert_eq!(run(b"\x93NUMPY\x04\x00\x00\x00").1, ["scan/malformed"]);
        assert_eq!(run(b"\x93NUMPY\x01\x00\xff\xff{").1, ["scan/malformed"]);
        let limits = Limits {
            max_header_bytes: 10,
            ..Limits::default()
        };
        let mut out = Vec::new();
        scan(&npy("{}", &[]), &Location::file("a"), &limits, &mut out);
        assert_eq!(out[0].rule, &LIMIT_EXCEEDED);
    }

    #[test]
    fn python2_and_commented_headers_parse() {
        let header =
            "{u'descr': u'<i8', # written by python 2\n 'fortran_order': False, 'shape': (2L, 1L)}";
        let (info, ids) = run(&npy(header, &[0; 16]));
        assert!(ids.is_empty(), "{ids:?}");
        assert_eq!(info.header.unwrap().shape, [2, 1]);
    }
}
