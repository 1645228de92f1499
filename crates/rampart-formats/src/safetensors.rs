//! safetensors: an 8-byte little-endian header length N, N bytes of JSON describing every
//! tensor (`dtype`, `shape`, `data_offsets` into the data buffer that follows) and an
//! optional `__metadata__` map of strings, then the data buffer.
//!
//! The format cannot execute code; what can go wrong is a header that loaders read
//! differently (duplicate keys: Python keeps the last, some Rust readers reject or keep the
//! first), offsets that overlap or leave bytes no tensor accounts for (a place to smuggle a
//! payload past a scanner), and sizes that overflow. Only the header is read.

use std::collections::HashSet;

use rampart_core::rules::{LIMIT_EXCEEDED, MALFORMED};
use rampart_core::{Finding, Limits, Location, Reference, Rule, Severity};
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::capped::CappedFindings;

const STRUCTURE_REFS: &[Reference] = &[
    Reference::Cwe(20),
    Reference::Atlas("AML.T0010.003"),
    Reference::Owasp("ML06:2023"),
];

pub static SAFETENSORS_HEADER_INVALID: Rule = Rule {
    id: "safetensors/invalid-header",
    scanner: "model",
    severity: Severity::High,
    title: "safetensors header describes a tensor or metadata incorrectly",
    description: "A tensor entry of the safetensors JSON header has an unknown dtype, a shape that is \
                  not a list of non-negative integers or overflows, `data_offsets` that are not \
                  [begin, end] with begin <= end, or a byte span that does not match dtype × shape; \
                  or `__metadata__` is not a map of strings. The official loaders reject such files, \
                  so the file was not written by them: it is corrupt or crafted to confuse tools \
                  that are more lenient.",
    remediation: "Do not load the file. Re-export the model with the official safetensors library \
                  from a trusted source.",
    references: STRUCTURE_REFS,
};

pub static SAFETENSORS_DUPLICATE_KEY: Rule = Rule {
    id: "safetensors/duplicate-key",
    scanner: "model",
    severity: Severity::High,
    title: "safetensors header repeats a JSON key",
    description: "The JSON header names the same key twice. JSON parsers disagree on which value wins \
                  (Python keeps the last, others the first or reject the file), so two tools can see \
                  different tensors or metadata in the same file: a parser differential that can hide \
                  a tensor from a reviewer or scanner.",
    remediation: "Do not load the file. Re-export it with the official safetensors library, which never \
                  writes duplicate keys.",
    references: STRUCTURE_REFS,
};

pub static SAFETENSORS_TENSOR_LAYOUT: Rule = Rule {
    id: "safetensors/tensor-layout",
    scanner: "model",
    severity: Severity::High,
    title: "safetensors tensors overlap or lie outside the data buffer",
    description: "Two tensors' `data_offsets` overlap, or a tensor ends past the end of the file. The \
                  official writer lays tensors out back to back; overlapping or out-of-range spans \
                  mean a truncated file or one crafted to make readers alias or over-read memory.",
    remediation: "Do not load the file. Obtain an intact copy from a trusted source, or re-export it \
                  with the official safetensors library.",
    references: &[
        Reference::Cwe(20),
        Reference::Cwe(125),
        Reference::Atlas("AML.T0010.003"),
        Reference::Owasp("ML06:2023"),
    ],
};

pub static SAFETENSORS_UNACCOUNTED_BYTES: Rule = Rule {
    id: "safetensors/unaccounted-bytes",
    scanner: "model",
    severity: Severity::High,
    title: "safetensors data buffer holds bytes no tensor accounts for",
    description: "Bytes of the data buffer lie between tensors or after the last one. The official \
                  writer leaves no gaps and the official library refuses such buffers (offsets \
                  must be contiguous and end at the buffer's end), so the file was not written by \
                  it; the hidden bytes can carry a smuggled payload (a pickle, an archive, a \
                  script) past tools that only check the tensors.",
    remediation: "Inspect the reported bytes. Re-export the model with the official safetensors \
                  library to drop them.",
    references: crate::rules::HIDDEN_BYTES_REFERENCES,
};

/// Every dtype of the safetensors specification and its width in bits (sub-byte types pack).
const DTYPES: &[(&str, u64)] = &[
    ("BOOL", 8),
    ("U8", 8),
    ("I8", 8),
    ("F8_E5M2", 8),
    ("F8_E4M3", 8),
    ("F8_E8M0", 8),
    ("F8_E4M3FNUZ", 8),
    ("F8_E5M2FNUZ", 8),
    ("I16", 16),
    ("U16", 16),
    ("F16", 16),
    ("BF16", 16),
    ("I32", 32),
    ("U32", 32),
    ("F32", 32),
    ("F64", 64),
    ("I64", 64),
    ("U64", 64),
    ("C64", 64),
    ("F4", 4),
    ("F6_E2M3", 6),
    ("F6_E3M2", 6),
];

const LENGTH_PREFIX: usize = 8;
/// How many bytes of an unaccounted region go into the evidence.
const PREVIEW_BYTES: usize = 32;

/// True when `prefix` starts like a safetensors file: a length, then the JSON object.
pub fn looks_like_safetensors(prefix: &[u8]) -> bool {
    // The official library caps headers at 100 MB; without that bound any text with `{`
    // at byte 8 (`EMOJI = {`) would read as a header length prefix.
    const PLAUSIBLE_HEADER: u64 = 100_000_000;
    let plausible_length = prefix
        .get(..LENGTH_PREFIX)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map(u64::from_le_bytes)
        .is_some_and(|n| (2..=PLAUSIBLE_HEADER).contains(&n));
    plausible_length
        && prefix.get(LENGTH_PREFIX) == Some(&b'{')
        && matches!(
            prefix.get(LENGTH_PREFIX + 1),
            Some(b'"' | b'}' | b' ' | b'\t' | b'\r' | b'\n')
        )
}

/// Validates the header of a whole safetensors file (`data`, usually an mmap) without
/// touching tensor data beyond a short preview of unaccounted bytes.
pub fn scan(data: &[u8], location: &Location, limits: &Limits, out: &mut Vec<Finding>) {
    scan_prefix(data, data.len() as u64, location, limits, out);
}

/// How many leading bytes hold the whole header (length prefix and JSON) when `prefix`
/// starts like a safetensors file: what a streaming reader must keep for [`scan_prefix`].
pub fn header_extent(prefix: &[u8]) -> Option<u64> {
    looks_like_safetensors(prefix).then(|| {
        let declared = prefix
            .first_chunk::<LENGTH_PREFIX>()
            .map_or(0, |bytes| u64::from_le_bytes(*bytes));
        declared.saturating_add(LENGTH_PREFIX as u64)
    })
}

/// [`scan`] for a file of `total_len` bytes of which only the first bytes (`prefix`, at
/// least [`header_extent`] of them) are at hand, as when it streams out of a compressed
/// container layer: every header and layout check runs against the real length; previews
/// of unaccounted bytes beyond the prefix are empty.
pub fn scan_prefix(
    prefix: &[u8],
    total_len: u64,
    location: &Location,
    limits: &Limits,
    out: &mut Vec<Finding>,
) {
    let mut findings = CappedFindings::new(out);
    scan_header(prefix, total_len, location, limits, &mut findings);
    findings.finish();
}

fn scan_header(
    data: &[u8],
    total_len: u64,
    location: &Location,
    limits: &Limits,
    out: &mut CappedFindings<'_>,
) {
    let malformed = |out: &mut CappedFindings<'_>, offset: u64, message: String| {
        out.push(Finding::new(&MALFORMED, location.at(offset), message));
    };
    let Some(length_bytes) = data.first_chunk::<LENGTH_PREFIX>() else {
        malformed(
            out,
            0,
            format!(
                "{} bytes is too short for a safetensors header length",
                data.len()
            ),
        );
        return;
    };
    let declared = u64::from_le_bytes(*length_bytes);
    let available = total_len.saturating_sub(LENGTH_PREFIX as u64);
    if declared > available {
        malformed(
            out,
            0,
            format!("header length {declared} exceeds the {available} bytes that follow it"),
        );
        return;
    }
    if declared > limits.max_header_bytes {
        out.push(Finding::new(
            &LIMIT_EXCEEDED,
            location.at(0),
            format!(
                "header length {declared} exceeds max_header_bytes ({}); header not analysed",
                limits.max_header_bytes
            ),
        ));
        return;
    }
    let Some(header) = usize::try_from(declared)
        .ok()
        .and_then(|declared| data.get(LENGTH_PREFIX..LENGTH_PREFIX.checked_add(declared)?))
    else {
        out.push(Finding::new(
            &LIMIT_EXCEEDED,
            location.at(0),
            format!(
                "the {declared}-byte header extends past the first {} bytes read of this \
                 {total_len}-byte file; header not analysed",
                data.len()
            ),
        ));
        return;
    };
    let header_end = LENGTH_PREFIX + header.len();
    if header.first() != Some(&b'{') {
        malformed(
            out,
            LENGTH_PREFIX as u64,
            "header does not start with `{`".to_owned(),
        );
        return;
    }
    let text = match std::str::from_utf8(header) {
        Ok(text) => text,
        Err(error) => {
            malformed(
                out,
                (LENGTH_PREFIX + error.valid_up_to()) as u64,
                "header is not valid UTF-8".to_owned(),
            );
            return;
        }
    };
    let mut duplicates = Vec::new();
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let parsed = CheckedValue {
        path: "",
        duplicates: &mut duplicates,
    }
    .deserialize(&mut deserializer)
    .and_then(|value| deserializer.end().map(|()| value));
    let root = match parsed {
        Ok(Value::Object(root)) => root,
        Ok(_) => {
            malformed(
                out,
                LENGTH_PREFIX as u64,
                "header is not a JSON object".to_owned(),
            );
            return;
        }
        Err(error) => {
            malformed(
                out,
                LENGTH_PREFIX as u64,
                format!("header is not valid JSON: {error}"),
            );
            return;
        }
    };
    let header_location = location.at(LENGTH_PREFIX as u64);
    for key in duplicates {
        out.push(
            Finding::new(
                &SAFETENSORS_DUPLICATE_KEY,
                header_location.clone(),
                format!("header key `{key}` appears more than once; readers disagree on which value wins"),
            )
            .with_evidence(key),
        );
    }
    if root.len() as u64 > limits.max_metadata_entries {
        out.push(Finding::new(
            &LIMIT_EXCEEDED,
            header_location,
            format!(
                "header lists {} entries, more than max_metadata_entries ({}); tensors not analysed",
                root.len(),
                limits.max_metadata_entries
            ),
        ));
        return;
    }
    let mut spans = Vec::new();
    for (name, entry) in &root {
        let invalid = |out: &mut CappedFindings<'_>, problem: String| {
            out.push(
                Finding::new(
                    &SAFETENSORS_HEADER_INVALID,
                    header_location.clone(),
                    format!("`{}`: {problem}", shorten(name)),
                )
                .with_evidence(shorten(&entry.to_string())),
            );
        };
        if name == "__metadata__" {
            if let Err(problem) = check_metadata(entry) {
                invalid(out, problem);
            }
            continue;
        }
        match check_tensor(entry) {
            Ok((span, size_problem)) => {
                if let Some(problem) = size_problem {
                    invalid(out, problem);
                }
                spans.push((span.0, span.1, name.as_str()));
            }
            Err(problem) => invalid(out, problem),
        }
    }
    let buffer = data.get(header_end..).unwrap_or_default();
    let buffer_len = total_len.saturating_sub(header_end as u64);
    check_layout(
        &mut spans,
        buffer,
        buffer_len,
        header_end as u64,
        location,
        out,
    );
}

fn shorten(text: &str) -> String {
    const MAX: usize = 120;
    if text.chars().count() <= MAX {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(MAX).collect();
    short.push('…');
    short
}

fn check_metadata(entry: &Value) -> Result<(), String> {
    let Value::Object(map) = entry else {
        return Err("must be a map of strings to strings".to_owned());
    };
    match map.iter().find(|(_, v)| !v.is_string()) {
        Some((key, _)) => Err(format!(
            "value of `{}` is not a string; metadata must map strings to strings",
            shorten(key)
        )),
        None => Ok(()),
    }
}

/// The tensor's `[begin, end)` span when its offsets are usable, plus a problem with its
/// dtype or shape if there is one; `Err` when the offsets themselves are unusable.
fn check_tensor(entry: &Value) -> Result<((u64, u64), Option<String>), String> {
    let Value::Object(info) = entry else {
        return Err("tensor entry is not an object".to_owned());
    };
    let offsets = match info
        .get("data_offsets")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
    {
        Some([begin, end]) => match (begin.as_u64(), end.as_u64()) {
            (Some(begin), Some(end)) if begin <= end => (begin, end),
            (Some(begin), Some(end)) => {
                return Err(format!(
                    "data_offsets [{begin}, {end}] end before they begin"
                ));
            }
            _ => return Err("data_offsets are not non-negative integers".to_owned()),
        },
        _ => return Err("data_offsets is missing or not a [begin, end] pair".to_owned()),
    };
    let size_problem = match expected_size(info) {
        Ok(bytes) => {
            let span = offsets.1 - offsets.0;
            (span != bytes)
                .then(|| format!("data_offsets span {span} bytes but dtype and shape need {bytes}"))
        }
        Err(problem) => Some(problem),
    };
    Ok((offsets, size_problem))
}

/// Bytes that dtype × shape occupy, or what is wrong with them.
fn expected_size(info: &Map<String, Value>) -> Result<u64, String> {
    let dtype = match info.get("dtype") {
        Some(Value::String(dtype)) => dtype,
        Some(_) => return Err("dtype is not a string".to_owned()),
        None => return Err("dtype is missing".to_owned()),
    };
    let Some(&(_, bits)) = DTYPES.iter().find(|(name, _)| name == dtype) else {
        return Err(format!("unknown dtype `{}`", shorten(dtype)));
    };
    let Some(shape) = info.get("shape").and_then(Value::as_array) else {
        return Err("shape is missing or not a list".to_owned());
    };
    let mut elements: u64 = 1;
    for dim in shape {
        let Some(dim) = dim.as_u64() else {
            return Err(format!("shape entry {dim} is not a non-negative integer"));
        };
        elements = elements
            .checked_mul(dim)
            .ok_or_else(|| "number of elements overflows 64 bits".to_owned())?;
    }
    let total_bits = elements
        .checked_mul(bits)
        .ok_or_else(|| "size in bits overflows 64 bits".to_owned())?;
    if total_bits % 8 != 0 {
        return Err(format!(
            "{elements} elements of {dtype} do not end on a byte boundary"
        ));
    }
    Ok(total_bits / 8)
}

/// Overlaps, out-of-range spans, gaps and trailing bytes of the data buffer, which is
/// `buffer_len` bytes long of which `buffer` (for previews) may be only the start.
fn check_layout(
    spans: &mut [(u64, u64, &str)],
    buffer: &[u8],
    buffer_len: u64,
    buffer_start: u64,
    location: &Location,
    out: &mut CappedFindings<'_>,
) {
    spans.sort_unstable();
    let mut cursor = 0u64;
    let mut cursor_owner: Option<&str> = None;
    for &(begin, end, name) in spans.iter() {
        if end > buffer_len {
            out.push(Finding::new(
                &SAFETENSORS_TENSOR_LAYOUT,
                location.at(buffer_start.saturating_add(begin)),
                format!(
                    "tensor `{}` spans data bytes {begin}..{end}, past the end of the {buffer_len}-byte data buffer",
                    shorten(name)
                ),
            ));
        }
        if begin == end {
            continue;
        }
        if begin < cursor {
            let other = cursor_owner.unwrap_or_default();
            out.push(Finding::new(
                &SAFETENSORS_TENSOR_LAYOUT,
                location.at(buffer_start.saturating_add(begin)),
                format!(
                    "tensor `{}` (data bytes {begin}..{end}) overlaps tensor `{}`",
                    shorten(name),
                    shorten(other)
                ),
            ));
        } else if begin > cursor {
            report_unaccounted(
                buffer,
                cursor,
                begin.min(buffer_len),
                buffer_start,
                "between tensors",
                location,
                out,
            );
        }
        if end > cursor {
            cursor = end;
            cursor_owner = Some(name);
        }
    }
    if buffer_len > cursor {
        report_unaccounted(
            buffer,
            cursor,
            buffer_len,
            buffer_start,
            "after the last tensor",
            location,
            out,
        );
    }
}

fn report_unaccounted(
    buffer: &[u8],
    from: u64,
    to: u64,
    buffer_start: u64,
    where_: &str,
    location: &Location,
    out: &mut CappedFindings<'_>,
) {
    if to <= from {
        return;
    }
    let (start, end) = (
        buffer_start.saturating_add(from),
        buffer_start.saturating_add(to),
    );
    let preview_end = to.min(from.saturating_add(PREVIEW_BYTES as u64));
    let preview = usize::try_from(from)
        .ok()
        .zip(usize::try_from(preview_end).ok())
        .and_then(|(a, b)| buffer.get(a..b))
        .unwrap_or_default();
    let evidence = if preview.is_empty() {
        "first bytes: not read (beyond the part of the file that was read)".to_owned()
    } else {
        format!("first bytes: {}", hex_preview(preview))
    };
    out.push(
        Finding::new(
            &SAFETENSORS_UNACCOUNTED_BYTES,
            location.at(start),
            format!(
                "{} bytes {where_} (file offsets {start}..{end}) belong to no tensor",
                to - from
            ),
        )
        .with_evidence(evidence),
    );
}

fn hex_preview(bytes: &[u8]) -> String {
    let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let ascii: String = bytes
        .iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                char::from(b)
            } else {
                '.'
            }
        })
        .collect();
    format!("{} |{ascii}|", hex.join(" "))
}

/// Deserialises a JSON value like `serde_json::Value` (the last duplicate wins, as in
/// Python), recording the path of every duplicated object key.
struct CheckedValue<'a, 'p> {
    /// Where this value is: `tensor.dtype`, `list[]` for any element of `list`.
    path: &'p str,
    duplicates: &'a mut Vec<String>,
}

impl<'de> DeserializeSeed<'de> for CheckedValue<'_, '_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for CheckedValue<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        let element_path = format!("{}[]", self.path);
        while let Some(item) = seq.next_element_seed(CheckedValue {
            path: &element_path,
            duplicates: &mut *self.duplicates,
        })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        let mut seen: HashSet<String> = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = if self.path.is_empty() {
                key.clone()
            } else {
                format!("{}.{key}", self.path)
            };
            if !seen.insert(key.clone()) {
                self.duplicates.push(path.clone());
            }
            let value = map.next_value_seed(CheckedValue {
                path: &path,
                duplicates: &mut *self.duplicates,
            })?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(header: &str, buffer: &[u8]) -> Vec<u8> {
        let mut data = (header.len() as u64).to_le_bytes().to_vec();
        data.extend_from_slice(header.as_bytes());
        data.extend_from_slice(buffer);
        data
    }

    fn ids(data: &[u8]) -> Vec<&'static str> {
        let mut out = Vec::new();
        scan(
            data,
            &Location::file("m.safetensors"),
            &Limits::default(),
            &mut out,
        );
        out.iter().map(|f| f.rule.id).collect()
    }

    #[test]
    fn a_well_formed_file_with_padding_is_clean() {
        let header = r#"{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F4","shape":[4],"data_offsets":[8,10]}}   "#;
        let data = file(header, &[0; 10]);
        assert!(looks_like_safetensors(&data));
        assert!(ids(&data).is_empty());
        let empty = file("{}", &[]);
        assert!(ids(&empty).is_empty());
    }

    #[test]
    fn a_streamed_prefix_is_checked_against_the_real_length() {
        let header = r#"{"a":{"dtype":"F32","shape":[1048576],"data_offsets":[0,4194304]}}"#;
        let head = file(header, &[0; 16]);
        let extent = header_extent(&head).expect("a safetensors prefix");
        assert_eq!(extent, 8 + header.len() as u64);
        let whole = extent + 4_194_304;
        let run = |prefix: &[u8], total: u64| {
            let mut out = Vec::new();
            let location = Location::file("m.safetensors");
            scan_prefix(prefix, total, &location, &Limits::default(), &mut out);
            out
        };
        assert!(
            run(&head, whole).is_empty(),
            "the whole file, seen from its header"
        );
        let trailing = run(&head, whole + 100);
        assert_eq!(trailing.len(), 1, "{trailing:#?}");
        assert_eq!(trailing[0].rule.id, "safetensors/unaccounted-bytes");
        assert!(
            trailing[0]
                .evidence
                .as_deref()
                .unwrap_or_default()
                .contains("not read")
        );
        let short = run(&head, extent + 10);
        assert_eq!(short.len(), 1, "{short:#?}");
        assert_eq!(short[0].rule.id, "safetensors/tensor-layout");
        let cut = run(&head[..20], whole);
        assert_eq!(cut.len(), 1, "{cut:#?}");
        assert_eq!(cut[0].rule, &LIMIT_EXCEEDED);
        assert!(header_extent(b"not a model").is_none());
    }

    #[test]
    fn header_problems_fail_closed() {
        assert_eq!(ids(b"\x01\x02"), ["scan/malformed"]);
        let mut too_long = u64::MAX.to_le_bytes().to_vec();
        too_long.extend_from_slice(b"{}");
        assert_eq!(ids(&too_long), ["scan/malformed"]);
        assert_eq!(ids(&file(" {}", &[])), ["scan/malformed"]);
        assert_eq!(ids(&file("[1]", &[])), ["scan/malformed"]);
        assert_eq!(ids(&file("{\"a\":", &[])), ["scan/malformed"]);
        assert_eq!(ids(&file("{} x", &[])), ["scan/malformed"]);
        let mut bad_utf8 = file("{\"a\":\"xx\"}", &[]);
        bad_utf8[14] = 0xff;
        assert_eq!(ids(&bad_utf8), ["scan/malformed"]);
        let limits = Limits {
            max_header_bytes: 4,
            ..Limits::default()
        };
        let mut out = Vec::new();
        scan(
            &file("{\"__metadata__\":{}}", &[]),
            &Location::file("m"),
            &limits,
            &mut out,
        );
        assert_eq!(out[0].rule, &LIMIT_EXCEEDED);
    }

    #[test]
    fn duplicate_keys_at_any_depth_are_reported() {
        let header = r#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"U8","dtype":"F32","shape":[1],"data_offsets":[1,2]}}"#;
        let mut out = Vec::new();
        scan(
            &file(header, &[0, 0]),
            &Location::file("m"),
            &Limits::default(),
            &mut out,
        );
        let dups: Vec<_> = out
            .iter()
            .filter(|f| f.rule == &SAFETENSORS_DUPLICATE_KEY)
            .collect();
        assert_eq!(dups.len(), 2, "{out:#?}");
        assert_eq!(dups[1].evidence.as_deref(), Some("b.dtype"));
    }

    #[test]
    fn invalid_tensor_entries_are_reported() {
        for (entry, expected) in [
            (
                r#"{"dtype":"F33","shape":[1],"data_offsets":[0,4]}"#,
                "unknown dtype",
            ),
            (
                r#"{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}"#,
                "not a non-negative integer",
            ),
            (
                r#"{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}"#,
                "not a non-negative integer",
            ),
            (
                r#"{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,4]}"#,
                "overflows",
            ),
            (
                r#"{"dtype":"F32","shape":[2],"data_offsets":[0,4]}"#,
                "need 8",
            ),
            (
                r#"{"dtype":"F4","shape":[3],"data_offsets":[0,2]}"#,
                "byte boundary",
            ),
            (
                r#"{"dtype":"F32","shape":[1],"data_offsets":[4,0]}"#,
                "end before",
            ),
            (r#"{"dtype":"F32","shape":[1]}"#, "data_offsets is missing"),
            (r#"{"shape":[1],"data_offsets":[0,4]}"#, "dtype is missing"),
            (r#"[1]"#, "not an object"),
        ] {
            let header = format!(r#"{{"t":{entry}}}"#);
            let mut out = Vec::new();
            scan(
                &file(&header, &[0; 4]),
                &Location::file("m"),
                &Limits::default(),
                &mut out,
            );
            assert!(
                out.iter()
                    .any(|f| f.rule == &SAFETENSORS_HEADER_INVALID && f.message.contains(expected)),
                "{entry}: {out:#?}"
            );
        }
        let header = r#"{"__metadata__":{"a":1}}"#;
        assert_eq!(ids(&file(header, &[])), ["safetensors/invalid-header"]);
    }

    #[test]
    fn overlaps_out_of_range_gaps_and_trailing_bytes() {
        let header = r#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}"#;
        assert_eq!(ids(&file(header, &[0; 6])), ["safetensors/tensor-layout"]);

        let header = r#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}"#;
        assert_eq!(ids(&file(header, &[0; 2])), ["safetensors/tensor-layout"]);

        let header = r#"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[6,8]}}"#;
        let mut out = Vec::new();
        let data = file(header, b"..PK\x03\x04..");
        scan(&data, &Location::file("m"), &Limits::default(), &mut out);
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(out[0].rule, &SAFETENSORS_UNACCOUNTED_BYTES);
        assert_eq!(out[0].location.offset, Some(8 + header.len() as u64 + 2));
        assert!(out[0].message.starts_with("4 bytes between tensors"));
        assert!(out[0].evidence.as_deref().unwrap().contains("50 4b 03 04"));

        let header = r#"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}"#;
        let mut out = Vec::new();
        scan(
            &file(header, b"..evil"),
            &Location::file("m"),
            &Limits::default(),
            &mut out,
        );
        assert!(
            out[0].message.starts_with("4 bytes after the last tensor"),
            "{out:#?}"
        );
    }

    #[test]
    fn sniffing_needs_the_json_object() {
        assert!(!looks_like_safetensors(b"\x80\x02}q\x00(X\x01\x00"));
        assert!(!looks_like_safetensors(b"short"));
        assert!(looks_like_safetensors(b"\x10\0\0\0\0\0\0\0{\"a\""));
    }
}
