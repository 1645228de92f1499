//! GGUF metadata for the inventory: the `general.*` keys (name, architecture, license,
//! source repository) and a few shape facts, read from the key/value section only. Tensor
//! descriptors and data are never touched; values are bounded by the input length and
//! `max_metadata_entries`.

use crate::names::huggingface_repository;

const TYPE_STRING: u32 = 8;
const TYPE_ARRAY: u32 = 9;
/// Longest string value copied into a property.
const MAX_VALUE: usize = 200;

/// Facts read from a GGUF header.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct GgufFacts {
    /// `rampart:gguf.<key>` properties.
    pub properties: Vec<(String, String)>,
    pub architecture: Option<String>,
    pub name: Option<String>,
    pub license: Option<String>,
    /// A Hugging Face repository named by `general.source.huggingface.repository` or a
    /// `general.source.url` / `general.base_model.0.repo_url` on the Hub.
    pub repository: Option<String>,
}

/// Why reading stopped: the offset and what was expected there.
#[derive(Debug, PartialEq)]
pub(crate) struct GgufError {
    pub offset: u64,
    pub message: String,
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    big_endian: bool,
    version_1: bool,
}

impl<'a> Reader<'a> {
    fn error(&self, message: impl Into<String>) -> GgufError {
        GgufError {
            offset: self.pos as u64,
            message: message.into(),
        }
    }

    fn take(&mut self, len: u64, what: &str) -> Result<&'a [u8], GgufError> {
        let bytes = usize::try_from(len)
            .ok()
            .and_then(|len| self.pos.checked_add(len))
            .and_then(|end| self.data.get(self.pos..end))
            .ok_or_else(|| self.error(format!("file ends inside {what}")))?;
        self.pos += bytes.len();
        Ok(bytes)
    }

    fn u32(&mut self, what: &str) -> Result<u32, GgufError> {
        let bytes: [u8; 4] = self
            .take(4, what)?
            .try_into()
            .map_err(|_| self.error(what.to_owned()))?;
        Ok(if self.big_endian {
            u32::from_be_bytes(bytes)
        } else {
            u32::from_le_bytes(bytes)
        })
    }

    fn u64(&mut self, what: &str) -> Result<u64, GgufError> {
        let bytes: [u8; 8] = self
            .take(8, what)?
            .try_into()
            .map_err(|_| self.error(what.to_owned()))?;
        Ok(if self.big_endian {
            u64::from_be_bytes(bytes)
        } else {
            u64::from_le_bytes(bytes)
        })
    }

    fn count(&mut self, what: &str) -> Result<u64, GgufError> {
        if self.version_1 {
            self.u32(what).map(u64::from)
        } else {
            self.u64(what)
        }
    }

    fn string(&mut self, what: &str) -> Result<&'a [u8], GgufError> {
        let len = self.count(what)?;
        self.take(len, what)
    }

    /// Reads a scalar as text, or skips an array; returns the text for scalars.
    fn value(&mut self, value_type: u32, budget: &mut u64) -> Result<Option<String>, GgufError> {
        Ok(Some(match value_type {
            0 => self
                .take(1, "a u8")?
                .first()
                .copied()
                .unwrap_or(0)
                .to_string(),
            1 => i8::from_le_bytes([self.take(1, "an i8")?.first().copied().unwrap_or(0)])
                .to_string(),
            2 | 3 => {
                self.take(2, "a 16-bit value")?;
                return Ok(None);
            }
            4 => self.u32("a u32")?.to_string(),
            5 => (self.u32("an i32")? as i32).to_string(),
            6 => f32::from_bits(self.u32("an f32")?).to_string(),
            7 => (self.take(1, "a bool")?.first() != Some(&0)).to_string(),
            TYPE_STRING => String::from_utf8_lossy(self.string("a string value")?).into_owned(),
            10 => self.u64("a u64")?.to_string(),
            11 => (self.u64("an i64")? as i64).to_string(),
            12 => f64::from_bits(self.u64("an f64")?).to_string(),
            TYPE_ARRAY => {
                let element_type = self.u32("an array element type")?;
                let count = self.count("an array length")?;
                *budget = budget
                    .checked_sub(count)
                    .ok_or_else(|| self.error("more array elements than max_metadata_entries"))?;
                if element_type == TYPE_ARRAY {
                    return Err(self.error("nested arrays are not read"));
                }
                if let Some(size) = fixed_size(element_type) {
                    let total = count
                        .checked_mul(size)
                        .ok_or_else(|| self.error("array size overflows"))?;
                    self.take(total, "an array")?;
                } else if element_type == TYPE_STRING {
                    for _ in 0..count {
                        self.string("an array string")?;
                    }
                } else {
                    return Err(self.error(format!("undefined array element type {element_type}")));
                }
                return Ok(None);
            }
            other => return Err(self.error(format!("undefined value type {other}"))),
        }))
    }
}

fn fixed_size(value_type: u32) -> Option<u64> {
    match value_type {
        0 | 1 | 7 => Some(1),
        2 | 3 => Some(2),
        4..=6 => Some(4),
        10..=12 => Some(8),
        _ => None,
    }
}

/// Keys copied into properties besides `general.*`; `{arch}` is the architecture.
const SHAPE_KEYS: &[&str] = &[
    "{arch}.context_length",
    "{arch}.embedding_length",
    "{arch}.block_count",
    "tokenizer.ggml.model",
];

/// Reads the GGUF header and key/value section of `data`.
pub(crate) fn read(data: &[u8], max_entries: u64) -> Result<GgufFacts, GgufError> {
    let mut reader = Reader {
        data,
        pos: 0,
        big_endian: false,
        version_1: false,
    };
    if reader.take(4, "the magic")? != b"GGUF" {
        return Err(GgufError {
            offset: 0,
            message: "not a GGUF file".to_owned(),
        });
    }
    let mut version = reader.u32("the version")?;
    if !(1..=3).contains(&version) && (1..=3).contains(&version.swap_bytes()) {
        reader.big_endian = true;
        version = version.swap_bytes();
    }
    if !(1..=3).contains(&version) {
        return Err(GgufError {
            offset: 4,
            message: format!("GGUF version {version} is not one rampart reads (1-3)"),
        });
    }
    reader.version_1 = version == 1;
    let _tensor_count = reader.count("the tensor count")?;
    let kv_count = reader.count("the metadata count")?;
    if kv_count > max_entries {
        return Err(reader.error(format!(
            "{kv_count} metadata entries, more than max_metadata_entries ({max_entries})"
        )));
    }
    let mut budget = max_entries;
    let mut values: Vec<(String, String)> = Vec::new();
    for _ in 0..kv_count {
        let key = String::from_utf8_lossy(reader.string("a metadata key")?).into_owned();
        let value_type = reader.u32("a value type")?;
        let keep = key.starts_with("general.")
            || key.contains("context_length")
            || key.contains("embedding_length")
            || key.contains("block_count")
            || key == "tokenizer.ggml.model"
            || key == "tokenizer.chat_template";
        let value = reader.value(value_type, &mut budget)?;
        if keep && let Some(value) = value {
            values.push((key, value));
        }
    }
    Ok(facts(values))
}

fn facts(values: Vec<(String, String)>) -> GgufFacts {
    let get = |key: &str| {
        values
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    let architecture = get("general.architecture");
    let mut out = GgufFacts {
        name: get("general.name"),
        license: get("general.license"),
        repository: get("general.source.huggingface.repository")
            .or_else(|| get("general.source.url"))
            .and_then(|r| huggingface_repository(&r)),
        architecture: architecture.clone(),
        properties: Vec::new(),
    };
    let shape_keys: Vec<String> = SHAPE_KEYS
        .iter()
        .map(|k| k.replace("{arch}", architecture.as_deref().unwrap_or("general")))
        .collect();
    for (key, value) in &values {
        if key == "tokenizer.chat_template" {
            out.properties.push((
                "rampart:gguf.chat_template".to_owned(),
                "present".to_owned(),
            ));
        } else if key.starts_with("general.") || shape_keys.contains(key) {
            out.properties.push((
                format!("rampart:gguf.{key}"),
                crate::text::excerpt(value, MAX_VALUE),
            ));
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A GGUF v3 header with the given string key/values and a u32 and an array entry.
    pub(crate) fn gguf_bytes(strings: &[(&str, &str)]) -> Vec<u8> {
        let mut out = b"GGUF".to_vec();
        out.extend(3u32.to_le_bytes());
        out.extend(0u64.to_le_bytes());
        out.extend((strings.len() as u64 + 2).to_le_bytes());
        let string = |out: &mut Vec<u8>, s: &str| {
            out.extend((s.len() as u64).to_le_bytes());
            out.extend(s.as_bytes());
        };
        for (key, value) in strings {
            string(&mut out, key);
            out.extend(TYPE_STRING.to_le_bytes());
            string(&mut out, value);
        }
        string(&mut out, "llama.context_length");
        out.extend(4u32.to_le_bytes());
        out.extend(4096u32.to_le_bytes());
        string(&mut out, "tokenizer.ggml.tokens");
        out.extend(TYPE_ARRAY.to_le_bytes());
        out.extend(TYPE_STRING.to_le_bytes());
        out.extend(2u64.to_le_bytes());
        string(&mut out, "<s>");
        string(&mut out, "</s>");
        out
    }

    #[test]
    fn reads_general_keys_and_skips_arrays() {
        let data = gguf_bytes(&[
            ("general.architecture", "llama"),
            ("general.name", "Tiny"),
            ("general.license", "apache-2.0"),
            ("general.source.huggingface.repository", "org/tiny"),
        ]);
        let facts = read(&data, 1000).unwrap();
        assert_eq!(facts.architecture.as_deref(), Some("llama"));
        assert_eq!(facts.repository.as_deref(), Some("org/tiny"));
        assert!(facts.properties.contains(&(
            "rampart:gguf.llama.context_length".to_owned(),
            "4096".to_owned()
        )));
        assert!(!facts.properties.iter().any(|(k, _)| k.contains("tokens")));
    }

    #[test]
    fn truncation_and_limits_are_errors() {
        let data = gguf_bytes(&[("general.name", "x")]);
        for cut in 0..data.len() {
            assert!(read(&data[..cut], 1000).is_err(), "cut at {cut}");
        }
        assert!(read(&data, 2).is_err());
        let mut huge = b"GGUF".to_vec();
        huge.extend(3u32.to_le_bytes());
        huge.extend(0u64.to_le_bytes());
        huge.extend(u64::MAX.to_le_bytes());
        assert!(read(&huge, 1000).is_err());
    }
}
