//! OSV records (ossf/osv-schema) as they arrive: only the fields matching and reporting
//! use, unknown fields ignored, optional fields optional, and `null` accepted wherever a
//! list is expected (YAML-converted advisories write `versions: null`).

use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;

/// One advisory.
#[derive(Clone, Debug, Deserialize)]
pub struct Record {
    pub id: String,
    #[serde(default)]
    pub modified: Option<String>,
    #[serde(default)]
    pub published: Option<String>,
    /// Set when the advisory was retracted: it still parses, but must not be reported.
    #[serde(default)]
    pub withdrawn: Option<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub details: Option<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub severity: Vec<SeverityScore>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub affected: Vec<Affected>,
    /// Free-form; GHSA puts its `severity` label (LOW, MODERATE, HIGH, CRITICAL) here.
    #[serde(default)]
    pub database_specific: Option<serde_json::Value>,
}

/// `{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/..."}`.
#[derive(Clone, Debug, Deserialize)]
pub struct SeverityScore {
    #[serde(rename = "type")]
    pub kind: String,
    pub score: String,
}

/// The versions of one package that an advisory affects.
#[derive(Clone, Debug, Deserialize)]
pub struct Affected {
    #[serde(default)]
    pub package: Option<Package>,
    /// Per-package severity; when present, the record-level one is absent.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub severity: Vec<SeverityScore>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub ranges: Vec<Range>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub versions: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Package {
    #[serde(default)]
    pub ecosystem: String,
    #[serde(default)]
    pub name: String,
}

/// `ECOSYSTEM`, `SEMVER` or `GIT` range: a timeline of events.
#[derive(Clone, Debug, Deserialize)]
pub struct Range {
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Each event should be a one-key map (`{"introduced": "1.0"}`); anything else is
    /// kept as it came so that it can be reported rather than guessed at.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub events: Vec<BTreeMap<String, String>>,
}

/// A range event, read from its one-key map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event<'a> {
    Introduced(&'a str),
    Fixed(&'a str),
    LastAffected(&'a str),
    Limit(&'a str),
}

impl<'a> Event<'a> {
    /// `None` when the map does not hold exactly one known key.
    pub fn from_map(map: &'a BTreeMap<String, String>) -> Option<Event<'a>> {
        let mut entries = map.iter();
        let (key, value) = entries.next()?;
        if entries.next().is_some() {
            return None;
        }
        let value = value.as_str();
        match key.as_str() {
            "introduced" => Some(Event::Introduced(value)),
            "fixed" => Some(Event::Fixed(value)),
            "last_affected" => Some(Event::LastAffected(value)),
            "limit" => Some(Event::Limit(value)),
            _ => None,
        }
    }
}

/// Parses one OSV JSON document.
pub fn parse_record(bytes: &[u8]) -> Result<Record, serde_json::Error> {
    serde_json::from_slice(bytes)
}

fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerates_nulls_unknown_fields_and_missing_optionals() {
        let record = parse_record(
            br#"{"id":"X-1","affected":[{"package":{"ecosystem":"PyPI","name":"a"},
                "versions":null,"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}],
                "database_specific":{"x":1}}],"ecosystem_specific":{}}],"future_field":[1,2]}"#,
        )
        .unwrap();
        assert_eq!(record.id, "X-1");
        assert!(record.withdrawn.is_none() && record.aliases.is_empty());
        let affected = &record.affected[0];
        assert!(affected.versions.is_empty());
        assert_eq!(
            Event::from_map(&affected.ranges[0].events[0]),
            Some(Event::Introduced("0"))
        );
    }

    #[test]
    fn events_must_hold_exactly_one_known_key() {
        let two: BTreeMap<String, String> = [
            ("introduced".to_owned(), "1".to_owned()),
            ("fixed".to_owned(), "2".to_owned()),
        ]
        .into();
        assert_eq!(Event::from_map(&two), None);
        assert_eq!(Event::from_map(&BTreeMap::new()), None);
        let unknown: BTreeMap<String, String> = [("removed".to_owned(), "1".to_owned())].into();
        assert_eq!(Event::from_map(&unknown), None);
    }

    #[test]
    fn rejects_records_without_an_id_or_with_wrong_types() {
        assert!(parse_record(br#"{"affected":[]}"#).is_err());
        assert!(parse_record(br#"{"id":"X","affected":[{"versions":[0.10]}]}"#).is_err());
        assert!(parse_record(b"[]").is_err());
    }
}
