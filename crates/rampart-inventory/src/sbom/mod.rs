//! SBOM documents: CycloneDX 1.6 JSON (the default, with `modelCard` and `data`), SPDX 2.3
//! JSON (a package list) and SPDX 3.0.1 JSON-LD with AI and Dataset profile elements. The
//! output depends only on the inventory and [`SbomOptions`]: serial number and timestamp are
//! injectable for reproducible documents.

pub(crate) mod cyclonedx;
mod spdx2;
mod spdx3;
mod view;

use std::fmt;
use std::str::FromStr;

use crate::inventory::Inventory;

/// The document formats `rampart sbom --format` offers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SbomFormat {
    #[default]
    CycloneDx,
    Spdx23,
    Spdx3,
}

impl FromStr for SbomFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.to_ascii_lowercase().as_str() {
            "cyclonedx" | "cdx" => Ok(SbomFormat::CycloneDx),
            "spdx" | "spdx2" | "spdx-2.3" => Ok(SbomFormat::Spdx23),
            "spdx3" | "spdx-3.0" | "spdx-3.0.1" => Ok(SbomFormat::Spdx3),
            other => Err(format!(
                "unknown SBOM format `{other}` (cyclonedx, spdx, spdx3)"
            )),
        }
    }
}

impl fmt::Display for SbomFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SbomFormat::CycloneDx => "cyclonedx",
            SbomFormat::Spdx23 => "spdx",
            SbomFormat::Spdx3 => "spdx3",
        })
    }
}

/// What a document says about its own making.
#[derive(Clone, Debug)]
pub struct SbomOptions {
    /// rampart's version, for `metadata.tools` / the creator.
    pub tool_version: String,
    /// A UUID (`xxxxxxxx-xxxx-…`); random (v4) when `None`.
    pub serial: Option<String>,
    /// RFC 3339 UTC, whole seconds (`2024-01-02T03:04:05Z`); now when `None`.
    pub timestamp: Option<String>,
}

impl SbomOptions {
    pub fn new(tool_version: impl Into<String>) -> Self {
        SbomOptions {
            tool_version: tool_version.into(),
            serial: None,
            timestamp: None,
        }
    }

    fn serial(&self) -> String {
        self.serial.clone().unwrap_or_else(random_uuid)
    }

    fn timestamp(&self) -> String {
        self.timestamp.clone().unwrap_or_else(|| {
            jiff::Timestamp::now()
                .round(jiff::Unit::Second)
                .map(|t| t.to_string())
                .unwrap_or_else(|_| jiff::Timestamp::now().to_string())
        })
    }
}

/// Sets `key` of a JSON object built by the writers (a no-op on anything else, which the
/// writers never pass).
pub(crate) fn set(object: &mut serde_json::Value, key: &str, value: serde_json::Value) {
    if let Some(map) = object.as_object_mut() {
        map.insert(key.to_owned(), value);
    }
}

/// A version 4 UUID from the OS's random source (all zero if it fails: the serial is an
/// identifier, not a secret).
fn random_uuid() -> String {
    let mut bytes = [0u8; 16];
    let _ = getrandom::fill(&mut bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        hex.get(0..8).unwrap_or_default(),
        hex.get(8..12).unwrap_or_default(),
        hex.get(12..16).unwrap_or_default(),
        hex.get(16..20).unwrap_or_default(),
        hex.get(20..32).unwrap_or_default()
    )
}

impl Inventory {
    /// The SBOM document, pretty-printed JSON with a trailing newline.
    pub fn render(&self, format: SbomFormat, options: &SbomOptions) -> Vec<u8> {
        let document = match format {
            SbomFormat::CycloneDx => cyclonedx::write(self, options),
            SbomFormat::Spdx23 => spdx2::write(self, options),
            SbomFormat::Spdx3 => spdx3::write(self, options),
        };
        let mut bytes = serde_json::to_vec_pretty(&document).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_serials() {
        assert_eq!("SPDX".parse::<SbomFormat>(), Ok(SbomFormat::Spdx23));
        assert!("xml".parse::<SbomFormat>().is_err());
        let uuid = random_uuid();
        assert_eq!(uuid.len(), 36);
        assert_eq!(uuid.as_bytes()[14], b'4');
        assert_ne!(uuid, random_uuid());
        let stamp = SbomOptions::new("1").timestamp();
        assert!(stamp.ends_with('Z') && !stamp.contains('.'), "{stamp}");
    }
}
