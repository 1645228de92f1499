//! GGUF (llama.cpp): magic `GGUF`, a version, tensor and key/value counts, the key/value
//! metadata, the tensor descriptors, then the aligned tensor data.
//!
//! GGUF holds no code, but two things in it are dangerous. Its metadata carries the chat
//! template (`tokenizer.chat_template*`), a Jinja2 program that llama-cpp-python once
//! rendered unsandboxed (CVE-2024-34359); every template goes through
//! [`crate::chat_template`]. And its counts and lengths drove the 2024 heap overflows in
//! ggml's parser; every count is checked against the bytes that remain before anything is
//! read or allocated. Tensor data is never read.

use std::collections::HashSet;

use rampart_core::rules::{LIMIT_EXCEEDED, MALFORMED};
use rampart_core::{Finding, Limits, Location, Reference, Rule, Severity};

use crate::capped::CappedFindings;
use crate::chat_template;

const STRUCTURE_REFS: &[Reference] = &[
    Reference::Cwe(20),
    Reference::Atlas("AML.T0010.003"),
    Reference::Owasp("ML06:2023"),
];

pub static GGUF_OVERSIZED_COUNT: Rule = Rule {
    id: "gguf/oversized-count",
    scanner: "model",
    severity: Severity::High,
    title: "GGUF count or length larger than the file",
    description: "A GGUF key/value count, tensor count, string length, array length or dimension \
                  count declares more entries or bytes than the whole file could hold. Unchecked \
                  counts like these caused the 2024 heap overflows in ggml's GGUF parser; no writer \
                  produces them, so the file is truncated or crafted to corrupt a loader's memory.",
    remediation: "Do not load the file with llama.cpp or bindings built on it. Obtain the model \
                  from a trusted source and update llama.cpp-based tools.",
    references: &[
        Reference::Cwe(122),
        Reference::Cwe(190),
        Reference::Atlas("AML.T0010.003"),
        Reference::Owasp("ML06:2023"),
        Reference::Advisory("CVE-2024-21802"),
        Reference::Advisory("CVE-2024-21836"),
        Reference::Advisory("CVE-2024-23605"),
        Reference::Advisory("CVE-2024-25664"),
        Reference::Advisory("CVE-2024-25665"),
        Reference::Advisory("CVE-2024-25666"),
    ],
};

pub static GGUF_INVALID_TYPE: Rule = Rule {
    id: "gguf/invalid-type",
    scanner: "model",
    severity: Severity::High,
    title: "GGUF value or tensor type is not defined",
    description: "A metadata value has a type id outside the GGUF specification, or a tensor has a \
                  ggml type id that does not exist (or whose support was removed). Loaders index \
                  type tables with these ids; an undefined one is corrupt or crafted input.",
    remediation: "Do not load the file. Re-convert the model with current llama.cpp tools from a \
                  trusted source.",
    references: STRUCTURE_REFS,
};

pub static GGUF_DUPLICATE_KEY: Rule = Rule {
    id: "gguf/duplicate-key",
    scanner: "model",
    severity: Severity::High,
    title: "GGUF metadata key or tensor name appears twice",
    description: "Two metadata entries share a key, or two tensors share a name. Readers disagree on \
                  which one wins (llama.cpp rejects the file, other readers keep the first or the \
                  last), so a second chat template or tensor can hide behind the one a reviewer sees.",
    remediation: "Do not load the file. Re-convert the model with the official gguf tools from a \
                  trusted source.",
    references: STRUCTURE_REFS,
};

pub static GGUF_TENSOR_LAYOUT: Rule = Rule {
    id: "gguf/tensor-layout",
    scanner: "model",
    severity: Severity::High,
    title: "GGUF tensors are misaligned, overlap or lie outside the file",
    description: "A tensor descriptor is inconsistent: more than 4 dimensions, a dimension that is \
                  negative as a signed integer, an element count that overflows, a row length that \
                  is not a multiple of its quantization block, an offset that breaks the file's \
                  alignment, data that overlaps another tensor or extends past the end of the file, \
                  or an invalid `general.alignment`. llama.cpp rejects such files; lenient readers \
                  may over-read or alias memory.",
    remediation: "Do not load the file. Obtain an intact copy from a trusted source, or re-convert \
                  the model with current llama.cpp tools.",
    references: &[
        Reference::Cwe(20),
        Reference::Cwe(125),
        Reference::Atlas("AML.T0010.003"),
        Reference::Owasp("ML06:2023"),
    ],
};

pub static GGUF_INVALID_UTF8: Rule = Rule {
    id: "gguf/invalid-utf8",
    scanner: "model",
    severity: Severity::Medium,
    title: "GGUF string is not UTF-8",
    description: "The GGUF specification requires keys, string values and tensor names to be UTF-8. \
                  Invalid bytes are decoded differently by different readers (replaced, rejected or \
                  passed through), which can make a key or chat template look different to a \
                  reviewer than to the loader.",
    remediation: "Inspect the reported string. Re-convert the model with the official gguf tools.",
    references: STRUCTURE_REFS,
};

pub static GGUF_UNACCOUNTED_BYTES: Rule = Rule {
    id: "gguf/unaccounted-bytes",
    scanner: "model",
    severity: Severity::Medium,
    title: "GGUF data section holds bytes no tensor accounts for",
    description: "Bytes lie between tensors (beyond alignment padding) or after the last tensor. \
                  Writers leave nothing there and loaders never read it, so the bytes can carry a \
                  smuggled payload (a pickle, an archive, a script) past tools that only check \
                  tensors.",
    remediation: "Inspect the reported bytes. Re-convert the model with the official gguf tools to \
                  drop them.",
    references: crate::rules::HIDDEN_BYTES_REFERENCES,
};

const MAGIC: &[u8; 4] = b"GGUF";
const DEFAULT_ALIGNMENT: u64 = 32;
/// ggml's `GGML_MAX_DIMS`.
const MAX_DIMS: u32 = 4;
/// Arrays of arrays are legal; nothing real nests them deeper than this.
const MAX_ARRAY_NESTING: usize = 8;
const PREVIEW_BYTES: usize = 32;

/// ggml type ids with their name, block size (elements) and block size in bytes, from
/// ggml's `type_traits` table. Ids 4, 5, 31–33 and 36–38 were removed and are unknown.
const GGML_TYPES: &[(u32, &str, u64, u64)] = &[
    (0, "F32", 1, 4),
    (1, "F16", 1, 2),
    (2, "Q4_0", 32, 18),
    (3, "Q4_1", 32, 20),
    (6, "Q5_0", 32, 22),
    (7, "Q5_1", 32, 24),
    (8, "Q8_0", 32, 34),
    (9, "Q8_1", 32, 36),
    (10, "Q2_K", 256, 84),
    (11, "Q3_K", 256, 110),
    (12, "Q4_K", 256, 144),
    (13, "Q5_K", 256, 176),
    (14, "Q6_K", 256, 210),
    (15, "Q8_K", 256, 292),
    (16, "IQ2_XXS", 256, 66),
    (17, "IQ2_XS", 256, 74),
    (18, "IQ3_XXS", 256, 98),
    (19, "IQ1_S", 256, 50),
    (20, "IQ4_NL", 32, 18),
    (21, "IQ3_S", 256, 110),
    (22, "IQ2_S", 256, 82),
    (23, "IQ4_XS", 256, 136),
    (24, "I8", 1, 1),
    (25, "I16", 1, 2),
    (26, "I32", 1, 4),
    (27, "I64", 1, 8),
    (28, "F64", 1, 8),
    (29, "IQ1_M", 256, 56),
    (30, "BF16", 1, 2),
    (34, "TQ1_0", 256, 54),
    (35, "TQ2_0", 256, 66),
    (39, "MXFP4", 32, 17),
    (40, "NVFP4", 64, 36),
    (41, "Q1_0", 128, 18),
    (42, "Q2_0", 64, 18),
];

/// GGUF metadata value types.
const TYPE_STRING: u32 = 8;
const TYPE_ARRAY: u32 = 9;
const TYPE_U32: u32 = 4;

/// Size in bytes of a fixed-size metadata value type.
fn fixed_value_size(value_type: u32) -> Option<u64> {
    match value_type {
        0 | 1 | 7 => Some(1),
        2 | 3 => Some(2),
        4..=6 => Some(4),
        10..=12 => Some(8),
        _ => None,
    }
}

/// True when `prefix` starts with the GGUF magic.
pub fn looks_like_gguf(prefix: &[u8]) -> bool {
    prefix.starts_with(MAGIC)
}

/// Validates a whole GGUF file (`data`, usually an mmap): header, metadata, tensor
/// descriptors and the layout of the data section, and analyses its chat templates.
pub fn scan(data: &[u8], location: &Location, limits: &Limits, out: &mut Vec<Finding>) {
    scan_prefix(data, data.len() as u64, location, limits, out);
}

/// [`scan`] for a file of `total_len` bytes of which only the first bytes (`prefix`) are at
/// hand, as when it streams out of a compressed container layer: metadata, chat templates
/// and tensor descriptors are checked as far as the prefix holds them (a `LIMIT_EXCEEDED`
/// finding says where it ended), the layout against the real length.
pub fn scan_prefix(
    data: &[u8],
    total_len: u64,
    location: &Location,
    limits: &Limits,
    out: &mut Vec<Finding>,
) {
    let mut templates = Vec::new();
    {
        let mut findings = CappedFindings::new(out);
        let mut scan = Scan {
            reader: Reader {
                data,
                total_len: total_len.max(data.len() as u64),
                pos: 0,
                big_endian: false,
                version_1: false,
            },
            location,
            limits,
            out: &mut findings,
            templates: &mut templates,
            entries_seen: 0,
        };
        if let Err(stop) = scan.file() {
            scan.report_stop(stop);
        }
        findings.finish();
    }
    for (offset, template) in templates {
        chat_template::scan_template(&template, &location.at(offset as u64), out);
    }
}

/// Why parsing could not go on.
enum Stop {
    /// The file ends inside a structure.
    Truncated { at: usize, what: String },
    /// A count or length no file of this size could satisfy.
    Oversized { at: usize, what: String },
    /// A configured limit.
    Limit { at: usize, what: String },
    /// An undefined value type: the size of what follows is unknown.
    InvalidType { at: usize, what: String },
    /// Not a GGUF file rampart can read.
    Unsupported { at: usize, what: String },
}

struct Reader<'a> {
    /// The file, or only its first bytes.
    data: &'a [u8],
    /// The file's length (at least `data.len()`).
    total_len: u64,
    pos: usize,
    big_endian: bool,
    /// GGUF v1 used 32-bit counts and lengths.
    version_1: bool,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    fn take(&mut self, len: usize, what: &str) -> Result<&'a [u8], Stop> {
        match self
            .pos
            .checked_add(len)
            .and_then(|end| self.data.get(self.pos..end))
        {
            Some(bytes) => {
                self.pos += len;
                Ok(bytes)
            }
            None => Err(Stop::Truncated {
                at: self.pos,
                what: what.to_owned(),
            }),
        }
    }

    fn u32(&mut self, what: &str) -> Result<u32, Stop> {
        let bytes = self.take(4, what)?;
        let array = [bytes[0], bytes[1], bytes[2], bytes[3]];
        Ok(if self.big_endian {
            u32::from_be_bytes(array)
        } else {
            u32::from_le_bytes(array)
        })
    }

    fn u64(&mut self, what: &str) -> Result<u64, Stop> {
        let bytes = self.take(8, what)?;
        let mut array = [0u8; 8];
        array.copy_from_slice(bytes);
        Ok(if self.big_endian {
            u64::from_be_bytes(array)
        } else {
            u64::from_le_bytes(array)
        })
    }

    /// A count or length: 64-bit since v2, 32-bit in v1.
    fn count(&mut self, what: &str) -> Result<u64, Stop> {
        if self.version_1 {
            self.u32(what).map(u64::from)
        } else {
            self.u64(what)
        }
    }

    fn count_width(&self) -> u64 {
        if self.version_1 { 4 } else { 8 }
    }

    /// Checks that `count` items of at least `min_size` bytes each can follow, before
    /// anything is read or allocated for them.
    fn ensure_fits(&self, count: u64, min_size: u64, at: usize, what: &str) -> Result<(), Stop> {
        let needed = count.checked_mul(min_size);
        let fits = |bytes: u64| needed.is_some_and(|n| n <= bytes);
        if fits(self.remaining() as u64) {
            return Ok(());
        }
        if fits(self.total_len.saturating_sub(self.pos as u64)) || fits(self.total_len) {
            return Err(Stop::Truncated {
                at,
                what: format!("{what} ({count} declared)"),
            });
        }
        Err(Stop::Oversized {
            at,
            what: format!(
                "{what} declares {count}, which needs at least {} bytes, but only {} remain",
                needed.map_or_else(|| "2^64".to_owned(), |n| n.to_string()),
                self.total_len.saturating_sub(self.pos as u64)
            ),
        })
    }

    /// A length-prefixed string: its bytes and where they start.
    fn string(&mut self, what: &str) -> Result<(&'a [u8], usize), Stop> {
        let at = self.pos;
        let len = self.count(what)?;
        self.ensure_fits(len, 1, at, &format!("length of {what}"))?;
        let start = self.pos;
        // ensure_fits proved len <= remaining, a usize.
        let bytes = self.take(len as usize, what)?;
        Ok((bytes, start))
    }
}

struct TensorInfo<'a> {
    name: &'a [u8],
    /// Where the descriptor starts, for locations.
    at: usize,
    offset: u64,
    /// Data size in bytes when the descriptor is valid enough to compute it.
    size: Option<u64>,
}

/// What a metadata value turned out to be, as far as the checks care.
enum KvValue<'a> {
    U32(u32),
    String(&'a [u8], usize),
    Array(StringStats<'a>),
    Other { value_type: u32 },
}

/// The strings of an array (nested arrays included): kept only for chat templates,
/// otherwise just counted and validated.
#[derive(Default)]
struct StringStats<'a> {
    kept: Vec<(&'a [u8], usize)>,
    total: u64,
    invalid: u64,
    /// Index and offset of the first string that is not UTF-8.
    first_invalid: Option<(u64, usize)>,
}

struct Scan<'a, 'o> {
    reader: Reader<'a>,
    location: &'a Location,
    limits: &'a Limits,
    out: &'a mut CappedFindings<'o>,
    /// Chat templates found (value offset, text), analysed after the structure.
    templates: &'a mut Vec<(usize, String)>,
    /// Metadata entries and string/array elements visited, against max_metadata_entries.
    entries_seen: u64,
}

impl<'a> Scan<'a, '_> {
    fn finding(&mut self, rule: &'static Rule, at: usize, message: String) {
        self.out
            .push(Finding::new(rule, self.location.at(at as u64), message));
    }

    fn report_stop(&mut self, stop: Stop) {
        let not_analysed = |at: usize| {
            format!("GGUF parsing stopped at offset {at}; the rest of the file was not analysed")
        };
        let read = self.reader.data.len();
        match stop {
            Stop::Truncated { at, what } if (read as u64) < self.reader.total_len => {
                let total = self.reader.total_len;
                self.finding(
                    &LIMIT_EXCEEDED,
                    at,
                    format!(
                        "{what} extends past the first {read} bytes read of this {total}-byte file; \
                         the rest of the header was not analysed"
                    ),
                );
            }
            Stop::Truncated { at, what } => {
                self.finding(
                    &MALFORMED,
                    at,
                    format!("file ends inside {what} at offset {at}; the rest was not analysed"),
                );
            }
            Stop::Oversized { at, what } => {
                self.finding(&GGUF_OVERSIZED_COUNT, at, what);
                self.finding(&MALFORMED, at, not_analysed(at));
            }
            Stop::Limit { at, what } => self.finding(&LIMIT_EXCEEDED, at, what),
            Stop::InvalidType { at, what } => {
                self.finding(&GGUF_INVALID_TYPE, at, what);
                self.finding(&MALFORMED, at, not_analysed(at));
            }
            Stop::Unsupported { at, what } => self.finding(&MALFORMED, at, what),
        }
    }

    fn count_entries(&mut self, n: u64, at: usize) -> Result<(), Stop> {
        self.entries_seen = self.entries_seen.saturating_add(n);
        if self.entries_seen > self.limits.max_metadata_entries {
            return Err(Stop::Limit {
                at,
                what: format!(
                    "more than max_metadata_entries ({}) metadata entries and array elements; the rest was not analysed",
                    self.limits.max_metadata_entries
                ),
            });
        }
        Ok(())
    }

    fn check_utf8(&mut self, bytes: &[u8], at: usize, what: &str) -> bool {
        if std::str::from_utf8(bytes).is_ok() {
            return true;
        }
        self.finding(
            &GGUF_INVALID_UTF8,
            at,
            format!(
                "{what} `{}` is not valid UTF-8",
                String::from_utf8_lossy(bytes)
                    .chars()
                    .take(120)
                    .collect::<String>()
            ),
        );
        false
    }

    fn file(&mut self) -> Result<(), Stop> {
        let magic = self.reader.take(4, "the magic")?;
        if magic != MAGIC {
            return Err(Stop::Unsupported {
                at: 0,
                what: "file does not start with the GGUF magic".to_owned(),
            });
        }
        let raw_version = self.reader.u32("the version")?;
        let version = if raw_version & 0xFFFF == 0 && (1..=3).contains(&raw_version.swap_bytes()) {
            self.reader.big_endian = true;
            raw_version.swap_bytes()
        } else {
            raw_version
        };
        if !(1..=3).contains(&version) {
            return Err(Stop::Unsupported {
                at: 4,
                what: format!("unsupported GGUF version {raw_version}"),
            });
        }
        self.reader.version_1 = version == 1;
        let counts_at = self.reader.pos;
        let tensor_count = self.reader.count("the tensor count")?;
        let kv_count = self.reader.count("the metadata count")?;
        let width = self.reader.count_width();
        if tensor_count.saturating_add(kv_count) > self.limits.max_metadata_entries {
            // Only a limit when the counts are otherwise plausible; absurd ones are reported below.
            self.reader
                .ensure_fits(kv_count, width + 4 + 1, counts_at, "the metadata count")?;
            self.reader.ensure_fits(
                tensor_count,
                width + 4 + 4 + 8,
                counts_at,
                "the tensor count",
            )?;
            return Err(Stop::Limit {
                at: counts_at,
                what: format!(
                    "{kv_count} metadata entries and {tensor_count} tensors exceed max_metadata_entries ({})",
                    self.limits.max_metadata_entries
                ),
            });
        }
        // Each key/value pair needs a key length, a type and one value byte; each tensor
        // descriptor a name length, a dimension count, a type and an offset.
        self.reader
            .ensure_fits(kv_count, width + 4 + 1, counts_at, "the metadata count")?;
        self.reader.ensure_fits(
            tensor_count,
            width + 4 + 4 + 8,
            counts_at + width as usize,
            "the tensor count",
        )?;
        self.entries_seen = tensor_count.saturating_add(kv_count);

        let alignment = self.metadata(kv_count)?;
        let tensors = self.tensor_infos(tensor_count)?;
        self.layout(&tensors, alignment);
        Ok(())
    }

    /// Reads every key/value pair; returns the data alignment.
    fn metadata(&mut self, kv_count: u64) -> Result<u64, Stop> {
        let mut keys: HashSet<&'a [u8]> = HashSet::new();
        let mut alignment = DEFAULT_ALIGNMENT;
        for _ in 0..kv_count {
            let entry_at = self.reader.pos;
            let (key, key_at) = self.reader.string("a metadata key")?;
            let key_is_text = self.check_utf8(key, key_at, "metadata key");
            if !keys.insert(key) {
                self.finding(
                    &GGUF_DUPLICATE_KEY,
                    entry_at,
                    format!(
                        "metadata key `{}` appears more than once",
                        String::from_utf8_lossy(key)
                    ),
                );
            }
            let type_at = self.reader.pos;
            let value_type = self.reader.u32("a metadata value type")?;
            let is_template = key_is_text && is_chat_template_key(key);
            let value = self.value(value_type, type_at, is_template)?;
            let key_text = String::from_utf8_lossy(key);
            match value {
                KvValue::String(bytes, at) => {
                    if std::str::from_utf8(bytes).is_err() {
                        self.finding(
                            &GGUF_INVALID_UTF8,
                            at,
                            format!("value of `{key_text}` is not valid UTF-8"),
                        );
                    }
                    if is_template {
                        self.templates
                            .push((at, String::from_utf8_lossy(bytes).into_owned()));
                    }
                }
                KvValue::Array(stats) => {
                    if let Some((index, at)) = stats.first_invalid {
                        let message = format!(
                            "{} of the {} strings of `{key_text}` are not valid UTF-8 (first: element {index})",
                            stats.invalid, stats.total
                        );
                        self.finding(&GGUF_INVALID_UTF8, at, message);
                    }
                    if is_template {
                        for (bytes, at) in stats.kept {
                            self.templates
                                .push((at, String::from_utf8_lossy(bytes).into_owned()));
                        }
                    }
                }
                KvValue::U32(value) if key == b"general.alignment" => {
                    if value.is_power_of_two() {
                        alignment = u64::from(value);
                    } else {
                        self.finding(
                            &GGUF_TENSOR_LAYOUT,
                            entry_at,
                            format!("general.alignment is {value}, not a power of two; assuming {DEFAULT_ALIGNMENT}"),
                        );
                    }
                }
                KvValue::U32(_) => {}
                KvValue::Other { value_type } if key == b"general.alignment" => {
                    self.finding(
                        &GGUF_TENSOR_LAYOUT,
                        entry_at,
                        format!("general.alignment has value type {value_type}, not u32; assuming {DEFAULT_ALIGNMENT}"),
                    );
                }
                KvValue::Other { .. } => {}
            }
        }
        Ok(alignment)
    }

    /// Reads one value of `value_type`. Array strings are kept only when `keep_strings`
    /// (chat templates); otherwise they are validated as they are walked.
    fn value(
        &mut self,
        value_type: u32,
        type_at: usize,
        keep_strings: bool,
    ) -> Result<KvValue<'a>, Stop> {
        if let Some(size) = fixed_value_size(value_type) {
            let bytes = self.reader.take(size as usize, "a metadata value")?;
            if value_type == TYPE_U32 {
                let array = [bytes[0], bytes[1], bytes[2], bytes[3]];
                let value = if self.reader.big_endian {
                    u32::from_be_bytes(array)
                } else {
                    u32::from_le_bytes(array)
                };
                return Ok(KvValue::U32(value));
            }
            return Ok(KvValue::Other { value_type });
        }
        match value_type {
            TYPE_STRING => {
                let (bytes, at) = self.reader.string("a string value")?;
                Ok(KvValue::String(bytes, at))
            }
            TYPE_ARRAY => {
                let mut stats = StringStats::default();
                self.array(0, keep_strings, &mut stats)?;
                Ok(KvValue::Array(stats))
            }
            _ => Err(Stop::InvalidType {
                at: type_at,
                what: format!(
                    "metadata value type {value_type} is not defined by the GGUF specification"
                ),
            }),
        }
    }

    fn array(
        &mut self,
        depth: usize,
        keep_strings: bool,
        stats: &mut StringStats<'a>,
    ) -> Result<(), Stop> {
        let at = self.reader.pos;
        if depth >= MAX_ARRAY_NESTING {
            return Err(Stop::Limit {
                at,
                what: format!(
                    "metadata arrays nested deeper than {MAX_ARRAY_NESTING} levels; the rest was not analysed"
                ),
            });
        }
        let element_type = self.reader.u32("an array element type")?;
        let count = self.reader.count("an array length")?;
        let width = self.reader.count_width();
        if let Some(size) = fixed_value_size(element_type) {
            self.reader
                .ensure_fits(count, size, at, "an array length")?;
            // ensure_fits proved count * size <= remaining.
            self.reader.take((count * size) as usize, "an array")?;
            return Ok(());
        }
        match element_type {
            TYPE_STRING => {
                self.reader
                    .ensure_fits(count, width, at, "an array of strings")?;
                self.count_entries(count, at)?;
                for _ in 0..count {
                    let (bytes, string_at) = self.reader.string("an array string")?;
                    if std::str::from_utf8(bytes).is_err() {
                        stats.invalid += 1;
                        stats.first_invalid.get_or_insert((stats.total, string_at));
                    }
                    stats.total += 1;
                    if keep_strings {
                        stats.kept.push((bytes, string_at));
                    }
                }
                Ok(())
            }
            TYPE_ARRAY => {
                self.reader
                    .ensure_fits(count, 4 + width, at, "an array of arrays")?;
                self.count_entries(count, at)?;
                for _ in 0..count {
                    self.array(depth + 1, keep_strings, stats)?;
                }
                Ok(())
            }
            _ => Err(Stop::InvalidType {
                at,
                what: format!(
                    "array element type {element_type} is not defined by the GGUF specification"
                ),
            }),
        }
    }

    fn tensor_infos(&mut self, tensor_count: u64) -> Result<Vec<TensorInfo<'a>>, Stop> {
        let mut tensors: Vec<TensorInfo<'a>> = Vec::new();
        let mut names: HashSet<&'a [u8]> = HashSet::new();
        for _ in 0..tensor_count {
            let at = self.reader.pos;
            let (name, name_at) = self.reader.string("a tensor name")?;
            self.check_utf8(name, name_at, "tensor name");
            let shown = String::from_utf8_lossy(name)
                .chars()
                .take(120)
                .collect::<String>();
            if !names.insert(name) {
                self.finding(
                    &GGUF_DUPLICATE_KEY,
                    at,
                    format!("tensor name `{shown}` appears more than once"),
                );
            }
            let dims_at = self.reader.pos;
            let n_dims = self.reader.u32("a tensor's dimension count")?;
            let width = self.reader.count_width();
            self.reader.ensure_fits(
                u64::from(n_dims),
                width,
                dims_at,
                "a tensor's dimension count",
            )?;
            let mut problems: Vec<String> = Vec::new();
            if n_dims > MAX_DIMS {
                problems.push(format!(
                    "has {n_dims} dimensions, more than ggml's {MAX_DIMS}"
                ));
            }
            let mut elements: Option<u64> = Some(1);
            let mut row = 1u64;
            for index in 0..n_dims {
                let dim = self.reader.count("a tensor dimension")?;
                if dim > i64::MAX as u64 {
                    problems.push(format!(
                        "has dimension {index} = {dim}, negative as a signed 64-bit count"
                    ));
                }
                if index == 0 {
                    row = dim;
                }
                elements = elements
                    .and_then(|e| e.checked_mul(dim))
                    .filter(|&e| e <= i64::MAX as u64);
            }
            if elements.is_none() {
                problems
                    .push("has an element count that overflows a signed 64-bit integer".to_owned());
            }
            let type_at = self.reader.pos;
            let ggml_type = self.reader.u32("a tensor type")?;
            let offset = self.reader.u64("a tensor offset")?;
            let mut size = None;
            match GGML_TYPES.iter().find(|(id, ..)| *id == ggml_type) {
                None => self.finding(
                    &GGUF_INVALID_TYPE,
                    type_at,
                    format!("tensor `{shown}` has ggml type {ggml_type}, which does not exist or is no longer supported"),
                ),
                Some(&(_, type_name, block, block_bytes)) => {
                    if !row.is_multiple_of(block) {
                        problems.push(format!(
                            "has rows of {row} elements, not a multiple of the {type_name} block size {block}"
                        ));
                    } else if let Some(elements) = elements {
                        size = (elements / block).checked_mul(block_bytes);
                        if size.is_none() {
                            problems.push("has a size in bytes that overflows".to_owned());
                        }
                    }
                }
            }
            if !problems.is_empty() {
                self.finding(
                    &GGUF_TENSOR_LAYOUT,
                    at,
                    format!("tensor `{shown}` {}", problems.join("; ")),
                );
                size = None;
            }
            tensors.push(TensorInfo {
                name,
                at,
                offset,
                size,
            });
        }
        Ok(tensors)
    }

    /// Alignment, bounds, overlaps and unaccounted bytes of the data section.
    fn layout(&mut self, tensors: &[TensorInfo<'a>], alignment: u64) {
        let data_len = self.reader.total_len;
        let Some(data_start) = align_up(self.reader.pos as u64, alignment) else {
            return;
        };
        // Bytes cannot be called unaccounted while some tensor's size is unknown.
        let all_sized = tensors.iter().all(|t| t.size.is_some());
        let mut spans: Vec<(u64, u64, &TensorInfo<'a>)> = Vec::new();
        for tensor in tensors {
            let shown = String::from_utf8_lossy(tensor.name)
                .chars()
                .take(120)
                .collect::<String>();
            if tensor.offset % alignment != 0 {
                self.finding(
                    &GGUF_TENSOR_LAYOUT,
                    tensor.at,
                    format!("tensor `{shown}` starts at data offset {}, not a multiple of the alignment {alignment}", tensor.offset),
                );
            }
            let Some(size) = tensor.size else { continue };
            let end = tensor.offset.checked_add(size);
            let absolute_end = end.and_then(|e| e.checked_add(data_start));
            if absolute_end.is_none_or(|e| e > data_len) {
                self.finding(
                    &GGUF_TENSOR_LAYOUT,
                    tensor.at,
                    format!(
                        "tensor `{shown}` ({size} bytes at data offset {}) extends past the end of the file ({data_len} bytes, data section at {data_start})",
                        tensor.offset
                    ),
                );
            }
            if let Some(end) = end {
                spans.push((tensor.offset, end, tensor));
            }
        }
        spans.sort_unstable_by_key(|&(begin, end, _)| (begin, end));
        let mut cursor = 0u64;
        let mut cursor_owner: Option<&TensorInfo<'a>> = None;
        for &(begin, end, tensor) in &spans {
            if begin == end {
                continue;
            }
            if begin < cursor {
                let other = cursor_owner
                    .map(|t| String::from_utf8_lossy(t.name).into_owned())
                    .unwrap_or_default();
                self.finding(
                    &GGUF_TENSOR_LAYOUT,
                    tensor.at,
                    format!(
                        "tensor `{}` (data bytes {begin}..{end}) overlaps tensor `{other}`",
                        String::from_utf8_lossy(tensor.name)
                    ),
                );
            } else if let Some(padded) =
                align_up(cursor, alignment).filter(|&p| all_sized && begin > p)
            {
                self.unaccounted(
                    data_start,
                    padded,
                    begin.min(data_len.saturating_sub(data_start)),
                    "between tensors",
                );
            }
            if end > cursor {
                cursor = end;
                cursor_owner = Some(tensor);
            }
        }
        let padded_end = align_up(cursor, alignment).and_then(|p| p.checked_add(data_start));
        if let Some(padded_end) = padded_end.filter(|&p| all_sized && data_len > p) {
            self.unaccounted(
                data_start,
                padded_end - data_start,
                data_len - data_start,
                "after the last tensor",
            );
        }
    }

    fn unaccounted(&mut self, data_start: u64, from: u64, to: u64, where_: &str) {
        if to <= from {
            return;
        }
        let (start, end) = (
            data_start.saturating_add(from),
            data_start.saturating_add(to),
        );
        let preview = usize::try_from(start)
            .ok()
            .and_then(|s| {
                self.reader
                    .data
                    .get(s..s.saturating_add(PREVIEW_BYTES).min(end as usize))
            })
            .unwrap_or_default();
        let hex: Vec<String> = preview.iter().map(|b| format!("{b:02x}")).collect();
        self.out.push(
            Finding::new(
                &GGUF_UNACCOUNTED_BYTES,
                self.location.at(start),
                format!(
                    "{} bytes {where_} (file offsets {start}..{end}) belong to no tensor",
                    end - start
                ),
            )
            .with_evidence(if hex.is_empty() {
                "first bytes: not read (beyond the part of the file that was read)".to_owned()
            } else {
                format!("first bytes: {}", hex.join(" "))
            }),
        );
    }
}

fn align_up(value: u64, alignment: u64) -> Option<u64> {
    let rem = value % alignment;
    if rem == 0 {
        Some(value)
    } else {
        value.checked_add(alignment - rem)
    }
}

fn is_chat_template_key(key: &[u8]) -> bool {
    key == b"tokenizer.chat_template" || key.starts_with(b"tokenizer.chat_template.")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(s: &[u8]) -> Vec<u8> {
        let mut out = (s.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(s);
        out
    }

    fn kv(key: &str, value_type: u32, value: &[u8]) -> Vec<u8> {
        let mut out = string(key.as_bytes());
        out.extend_from_slice(&value_type.to_le_bytes());
        out.extend_from_slice(value);
        out
    }

    /// A GGUF v3 file; tensors are (name, dims, type, offset).
    fn file(kvs: &[Vec<u8>], tensors: &[(&str, &[u64], u32, u64)], data: &[u8]) -> Vec<u8> {
        let mut out = b"GGUF".to_vec();
        out.extend_from_slice(&3u32.to_le_bytes());
        out.extend_from_slice(&(tensors.len() as u64).to_le_bytes());
        out.extend_from_slice(&(kvs.len() as u64).to_le_bytes());
        for kv in kvs {
            out.extend_from_slice(kv);
        }
        for (name, dims, ggml_type, offset) in tensors {
            out.extend_from_slice(&string(name.as_bytes()));
            out.extend_from_slice(&(dims.len() as u32).to_le_bytes());
            for d in *dims {
                out.extend_from_slice(&d.to_le_bytes());
            }
            out.extend_from_slice(&ggml_type.to_le_bytes());
            out.extend_from_slice(&offset.to_le_bytes());
        }
        while !out.len().is_multiple_of(32) {
            out.push(0);
        }
        out.extend_from_slice(data);
        out
    }

    fn scan_ids(data: &[u8]) -> Vec<&'static str> {
        let mut out = Vec::new();
        scan(
            data,
            &Location::file("m.gguf"),
            &Limits::default(),
            &mut out,
        );
        out.iter().map(|f| f.rule.id).collect()
    }

    #[test]
    fn a_consistent_file_is_clean() {
        let name = kv("general.name", 8, &string(b"tiny"));
        let tensors: &[(&str, &[u64], u32, u64)] = &[("a", &[8], 0, 0), ("q", &[32, 2], 8, 32)];
        let data = file(&[name], tensors, &[0; 32 + 68 + 28]);
        assert!(looks_like_gguf(&data));
        assert!(scan_ids(&data).is_empty(), "{:?}", scan_ids(&data));
    }

    #[test]
    fn absurd_counts_fail_closed_without_allocating() {
        let mut huge_kv = b"GGUF".to_vec();
        huge_kv.extend_from_slice(&3u32.to_le_bytes());
        huge_kv.extend_from_slice(&0u64.to_le_bytes());
        huge_kv.extend_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(
            scan_ids(&huge_kv),
            ["gguf/oversized-count", "scan/malformed"]
        );

        let array = kv(
            "tokenizer.ggml.tokens",
            9,
            &[8u32.to_le_bytes().as_slice(), &(1u64 << 62).to_le_bytes()].concat(),
        );
        assert_eq!(
            scan_ids(&file(&[array], &[], &[])),
            ["gguf/oversized-count", "scan/malformed"]
        );
        let fixed = kv(
            "x",
            9,
            &[0u32.to_le_bytes().as_slice(), &u64::MAX.to_le_bytes()].concat(),
        );
        assert_eq!(
            scan_ids(&file(&[fixed], &[], &[])),
            ["gguf/oversized-count", "scan/malformed"]
        );
        let long_key = [u64::MAX.to_le_bytes().as_slice(), b"k"].concat();
        assert_eq!(
            scan_ids(&file(&[long_key], &[], &[])),
            ["gguf/oversized-count", "scan/malformed"]
        );

        let limits = Limits {
            max_metadata_entries: 2,
            ..Limits::default()
        };
        let name = kv("general.name", 8, &string(b"x"));
        let mut out = Vec::new();
        scan(
            &file(&[name.clone(), name.clone(), name], &[], &[]),
            &Location::file("m"),
            &limits,
            &mut out,
        );
        assert_eq!(out[0].rule, &LIMIT_EXCEEDED);
    }

    #[test]
    fn versions_and_endianness() {
        let mut v1 = b"GGUF".to_vec();
        v1.extend_from_slice(&1u32.to_le_bytes());
        v1.extend_from_slice(&0u32.to_le_bytes());
        v1.extend_from_slice(&1u32.to_le_bytes());
        v1.extend_from_slice(&4u32.to_le_bytes());
        v1.extend_from_slice(b"name");
        v1.extend_from_slice(&TYPE_U32.to_le_bytes());
        v1.extend_from_slice(&7u32.to_le_bytes());
        assert!(scan_ids(&v1).is_empty(), "{:?}", scan_ids(&v1));

        let mut big = b"GGUF".to_vec();
        big.extend_from_slice(&3u32.to_be_bytes());
        big.extend_from_slice(&0u64.to_be_bytes());
        big.extend_from_slice(&1u64.to_be_bytes());
        big.extend_from_slice(&4u64.to_be_bytes());
        big.extend_from_slice(b"name");
        big.extend_from_slice(&TYPE_U32.to_be_bytes());
        big.extend_from_slice(&7u32.to_be_bytes());
        assert!(scan_ids(&big).is_empty(), "{:?}", scan_ids(&big));

        let mut v9 = b"GGUF".to_vec();
        v9.extend_from_slice(&9u32.to_le_bytes());
        assert_eq!(scan_ids(&v9), ["scan/malformed"]);
        assert_eq!(scan_ids(b"GGUF\x03\x00"), ["scan/malformed"]);
    }

    #[test]
    fn metadata_problems() {
        let name = kv("general.name", 8, &string(b"x"));
        assert_eq!(
            scan_ids(&file(&[name.clone(), name.clone()], &[], &[])),
            ["gguf/duplicate-key"]
        );
        assert_eq!(
            scan_ids(&file(&[kv("a", 13, &[])], &[], &[])),
            ["gguf/invalid-type", "scan/malformed"]
        );
        assert_eq!(
            scan_ids(&file(&[kv("a", 8, &string(b"\xff"))], &[], &[])),
            ["gguf/invalid-utf8"]
        );
        let tokens = kv(
            "tokenizer.ggml.tokens",
            9,
            &[
                TYPE_STRING.to_le_bytes().as_slice(),
                &2u64.to_le_bytes(),
                &string(b"ok"),
                &string(b"\xfe"),
            ]
            .concat(),
        );
        assert_eq!(scan_ids(&file(&[tokens], &[], &[])), ["gguf/invalid-utf8"]);
        let alignment = kv("general.alignment", TYPE_U32, &48u32.to_le_bytes());
        assert_eq!(
            scan_ids(&file(&[alignment], &[], &[])),
            ["gguf/tensor-layout"]
        );
        let mut nested = TYPE_ARRAY.to_le_bytes().to_vec();
        nested.extend_from_slice(&1u64.to_le_bytes());
        for _ in 0..20 {
            nested.extend_from_slice(&TYPE_ARRAY.to_le_bytes());
            nested.extend_from_slice(&1u64.to_le_bytes());
        }
        nested.extend_from_slice(&[0; 64]);
        assert_eq!(
            scan_ids(&file(&[kv("deep", 9, &nested)], &[], &[])),
            ["scan/limit-exceeded"]
        );
    }

    #[test]
    fn tensor_layout_problems() {
        let layout = |tensors: &[(&str, &[u64], u32, u64)], data: usize| {
            scan_ids(&file(&[], tensors, &vec![0; data]))
        };
        assert_eq!(layout(&[("t", &[8], 99, 0)], 32), ["gguf/invalid-type"]);
        assert_eq!(
            layout(&[("a", &[8], 0, 0), ("b", &[8], 0, 0)], 32),
            ["gguf/tensor-layout"]
        );
        assert_eq!(
            layout(&[("a", &[8], 0, 0), ("a", &[8], 0, 32)], 64),
            ["gguf/duplicate-key"]
        );
        assert_eq!(
            layout(&[("a", &[8], 0, 4)], 64),
            ["gguf/tensor-layout", "gguf/unaccounted-bytes"]
        );
        assert_eq!(layout(&[("a", &[1024], 0, 0)], 64), ["gguf/tensor-layout"]);
        assert_eq!(layout(&[("a", &[16], 2, 0)], 32), ["gguf/tensor-layout"]);
        assert_eq!(
            layout(&[("a", &[1, 1, 1, 1, 1], 0, 0)], 32),
            ["gguf/tensor-layout"]
        );
        assert_eq!(
            layout(&[("a", &[u64::MAX], 0, 0)], 32),
            ["gguf/tensor-layout"]
        );
        assert_eq!(
            layout(&[("a", &[1 << 40, 1 << 40], 0, 0)], 32),
            ["gguf/tensor-layout"]
        );
        // A gap beyond the padding and bytes after the last tensor.
        assert_eq!(
            layout(&[("a", &[8], 0, 0), ("b", &[8], 0, 64)], 96),
            ["gguf/unaccounted-bytes"]
        );
        assert_eq!(layout(&[("a", &[8], 0, 0)], 64), ["gguf/unaccounted-bytes"]);
        // Padding after the last tensor is fine, and so is its absence.
        assert!(layout(&[("a", &[4], 0, 0)], 32).is_empty());
        assert!(layout(&[("a", &[4], 0, 0)], 16).is_empty());
    }

    #[test]
    fn chat_templates_are_analysed_at_their_offset() {
        let payload = b"{{ cycler.__init__.__globals__.os.popen('id').read() }}";
        let template = kv("tokenizer.chat_template.rag", 8, &string(payload));
        let data = file(&[kv("general.name", 8, &string(b"x")), template], &[], &[]);
        let mut out = Vec::new();
        scan(
            &data,
            &Location::file("m.gguf"),
            &Limits::default(),
            &mut out,
        );
        let internals = out
            .iter()
            .find(|f| f.rule.id == "template/python-internals")
            .unwrap();
        let at = internals.location.offset.unwrap() as usize;
        assert!(data[at..].starts_with(b"{{ cycler"));
        assert!(internals.message.contains("template line 1"));
    }

    #[test]
    fn a_streamed_prefix_is_checked_as_far_as_it_goes_and_against_the_real_length() {
        let payload = b"{{ cycler.__init__.__globals__.os.popen('id').read() }}";
        let template = kv("tokenizer.chat_template", 8, &string(payload));
        let tensors: &[(&str, &[u64], u32, u64)] = &[("a", &[8], 0, 0)];
        let whole = file(
            &[kv("general.name", 8, &string(b"x")), template],
            tensors,
            &[0; 32],
        );
        let header_len = whole.len() - 32;
        let run = |prefix: &[u8], total: u64| {
            let mut out = Vec::new();
            let location = Location::file("m.gguf");
            scan_prefix(prefix, total, &location, &Limits::default(), &mut out);
            out
        };
        let ids = |out: &[Finding]| out.iter().map(|f| f.rule.id).collect::<Vec<_>>();
        let header_only = ids(&run(&whole[..header_len], whole.len() as u64));
        assert!(
            header_only.contains(&"template/python-internals"),
            "{header_only:?}"
        );
        assert!(
            header_only.iter().all(|id| id.starts_with("template/")),
            "the template is checked, nothing else is wrong: {header_only:?}"
        );
        let longer = run(&whole[..header_len], whole.len() as u64 + 64);
        let unaccounted: Vec<&Finding> = longer
            .iter()
            .filter(|f| !f.rule.id.starts_with("template/"))
            .collect();
        assert_eq!(unaccounted.len(), 1, "{longer:#?}");
        assert_eq!(unaccounted[0].rule.id, "gguf/unaccounted-bytes");
        assert!(
            unaccounted[0]
                .evidence
                .as_deref()
                .unwrap_or_default()
                .contains("not read")
        );
        let cut = run(&whole[..40], whole.len() as u64);
        assert_eq!(
            ids(&cut),
            ["scan/limit-exceeded"],
            "not a truncated file: {cut:#?}"
        );
        assert!(
            cut[0].message.contains("first 40 bytes read"),
            "{}",
            cut[0].message
        );
    }
}
