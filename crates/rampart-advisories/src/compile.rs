//! Turns an OSV record into what matching and reporting need, per PyPI package: the
//! advisory's identity, summary and rating, and its affected versions with every version
//! string already normalised. Both the in-memory database (`--db DIR`) and the compiled
//! store hold this form, so both match the same way.
//!
//! A record is never dropped for a bad part: a version string PEP 440 cannot parse, a
//! malformed event or an unreadable CVSS vector is skipped and described in a warning, and
//! the rest of the advisory still applies.

use std::str::FromStr;

use rampart_core::Severity;
use serde::{Deserialize, Serialize};

use crate::os_version::{Scheme, os_package_key};
use crate::osv::{Event, Record, SeverityScore};
use crate::version::{normalize_name, parse_public_version};

/// What an advisory is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdvisoryKind {
    /// A vulnerability in a legitimate package (PYSEC, GHSA, CVE ids).
    Vulnerability,
    /// The package itself is malware (`MAL-` ids, ossf/malicious-packages).
    Malicious,
}

/// How severe an advisory is, and what that rests on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rating {
    pub severity: Severity,
    /// The CVSS base score, when a vector was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    pub basis: RatingBasis,
}

/// Where a [`Rating`] comes from, best first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum RatingBasis {
    /// A CVSS v4, v3 or v2 vector, scored by the `cvss` crate.
    Cvss { vector: String },
    /// The database's own label (GHSA `database_specific.severity`, Ubuntu priority).
    Label { label: String },
    /// Malicious packages are critical whatever else the record says.
    Malicious,
    /// The advisory gives no usable severity. Such advisories rate as high, so that a
    /// known vulnerability fails the default gate instead of passing for lack of a score.
    Unrated,
}

/// One advisory as it applies to one package.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct StoredAdvisory {
    pub id: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    pub summary: String,
    pub kind: AdvisoryKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    pub rating: Rating,
    /// The record's `affected[]` entries for this package.
    pub entries: Vec<StoredEntry>,
}

/// One `affected[]` entry with normalised versions.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct StoredEntry {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
    /// ECOSYSTEM and SEMVER ranges (GIT ranges name commits, not versions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<Vec<StoredEvent>>,
    /// Version strings the advisory gives that are not PEP 440, skipped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unparsed: Vec<String>,
}

/// A range event with a normalised version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum StoredEvent {
    /// `None` is OSV's `"0"`: before every version.
    Introduced(Option<String>),
    Fixed(String),
    LastAffected(String),
    /// `None` is a limit containing `*`: infinity.
    Limit(Option<String>),
}

/// A record compiled: one advisory per PyPI package it names.
#[derive(Debug, Default)]
pub(crate) struct Compiled {
    pub packages: Vec<(String, StoredAdvisory)>,
    /// What was skipped or could not be used, one sentence each.
    pub warnings: Vec<String>,
    /// Version strings skipped because PEP 440 cannot parse them.
    pub unparsed_versions: usize,
}

const PYPI: &str = "PyPI";
/// Longest summary kept when it has to be cut from `details`.
const SUMMARY_CHARS: usize = 200;
/// Skipped version strings quoted in one warning; the rest are counted.
const QUOTED_VERSIONS: usize = 5;

pub(crate) fn compile(record: &Record) -> Compiled {
    let mut compiled = Compiled::default();
    let kind = if record.id.starts_with("MAL-") {
        AdvisoryKind::Malicious
    } else {
        AdvisoryKind::Vulnerability
    };
    let mut unparsed_quoted: Vec<String> = Vec::new();
    for (index, affected) in record.affected.iter().enumerate() {
        let Some(package) = &affected.package else {
            compiled
                .warnings
                .push(format!("affected[{index}] names no package; ignored"));
            continue;
        };
        let Some(ordering) = VersionOrdering::of_ecosystem(&package.ecosystem) else {
            continue;
        };
        if package.name.trim().is_empty() {
            compiled.warnings.push(format!(
                "affected[{index}] has an empty {} package name; ignored",
                package.ecosystem
            ));
            continue;
        }
        let Some(name) = package_key(package) else {
            continue;
        };
        let mut entry = StoredEntry::default();
        for raw in &affected.versions {
            match ordering.normalise(raw) {
                Ok(version) => entry.versions.push(version),
                Err(_) => entry.unparsed.push(raw.clone()),
            }
        }
        for (range_index, range) in affected.ranges.iter().enumerate() {
            match range.kind.as_str() {
                "ECOSYSTEM" | "SEMVER" => {}
                "GIT" => continue,
                other => {
                    compiled.warnings.push(format!(
                        "affected[{index}].ranges[{range_index}] has unknown type '{other}'; ignored"
                    ));
                    continue;
                }
            }
            let mut events = Vec::with_capacity(range.events.len());
            for (event_index, map) in range.events.iter().enumerate() {
                let Some(event) = Event::from_map(map) else {
                    compiled.warnings.push(format!(
                        "affected[{index}].ranges[{range_index}].events[{event_index}] is not one \
                         of introduced/fixed/last_affected/limit; ignored"
                    ));
                    continue;
                };
                match compile_event(event, ordering) {
                    Ok(stored) => events.push(stored),
                    Err(raw) => entry.unparsed.push(raw.to_owned()),
                }
            }
            entry.ranges.push(events);
        }
        if entry.versions.is_empty() && entry.ranges.is_empty() {
            compiled.warnings.push(format!(
                "affected[{index}] ({name}) gives no PEP 440 version and no ECOSYSTEM range, so \
                 no installed version can match it"
            ));
        }
        compiled.unparsed_versions = compiled
            .unparsed_versions
            .saturating_add(entry.unparsed.len());
        unparsed_quoted.extend(
            entry
                .unparsed
                .iter()
                .take(QUOTED_VERSIONS.saturating_sub(unparsed_quoted.len()))
                .cloned(),
        );
        match compiled.packages.iter_mut().find(|(n, _)| *n == name) {
            Some((_, advisory)) => advisory.entries.push(entry),
            None => compiled.packages.push((
                name,
                StoredAdvisory {
                    id: record.id.clone(),
                    aliases: record.aliases.clone(),
                    summary: summary(record),
                    kind,
                    withdrawn: record.withdrawn.clone(),
                    published: record.published.clone(),
                    modified: record.modified.clone(),
                    rating: Rating {
                        severity: Severity::High,
                        score: None,
                        basis: RatingBasis::Unrated,
                    },
                    entries: vec![entry],
                },
            )),
        }
    }
    if compiled.unparsed_versions > 0 {
        compiled.warnings.push(format!(
            "skipped {} version string(s) that are not PEP 440 (e.g. {}); the rest of the \
             advisory applies",
            compiled.unparsed_versions,
            unparsed_quoted
                .iter()
                .map(|raw| format!("'{raw}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for (name, advisory) in &mut compiled.packages {
        let package_scores = record
            .affected
            .iter()
            .filter(|a| {
                a.package
                    .as_ref()
                    .is_some_and(|p| package_key(p).as_ref() == Some(name))
            })
            .flat_map(|a| a.severity.iter());
        advisory.rating = rate(record, kind, package_scores, &mut compiled.warnings);
    }
    compiled
}

/// How an ecosystem's version strings are checked and stored: PEP 440 normalised, or an
/// OS package manager's version kept as written (its ordering ignores nothing that a
/// rewrite could normalise).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum VersionOrdering {
    Pep440,
    Os(Scheme),
}

impl VersionOrdering {
    fn of_ecosystem(ecosystem: &str) -> Option<VersionOrdering> {
        if ecosystem == PYPI {
            Some(VersionOrdering::Pep440)
        } else {
            Scheme::of_ecosystem(ecosystem).map(VersionOrdering::Os)
        }
    }

    fn normalise(self, raw: &str) -> Result<String, ()> {
        match self {
            VersionOrdering::Pep440 => parse_public_version(raw)
                .map(|v| v.to_string())
                .map_err(|_| ()),
            VersionOrdering::Os(scheme) => scheme
                .validate(raw)
                .map(|()| raw.to_owned())
                .map_err(|_| ()),
        }
    }
}

/// The key a package's advisories are stored under: the PEP 503 name for PyPI, the
/// ecosystem and source package name for OS packages (see `os_package_key`).
pub(crate) fn package_key(package: &crate::osv::Package) -> Option<String> {
    match VersionOrdering::of_ecosystem(&package.ecosystem)? {
        VersionOrdering::Pep440 => Some(normalize_name(&package.name)).filter(|n| !n.is_empty()),
        VersionOrdering::Os(_) => Some(os_package_key(&package.ecosystem, package.name.trim())),
    }
}

fn compile_event(event: Event<'_>, ordering: VersionOrdering) -> Result<StoredEvent, &str> {
    let normalised = |raw| ordering.normalise(raw).map_err(|()| raw);
    Ok(match event {
        Event::Introduced("0") => StoredEvent::Introduced(None),
        Event::Introduced(raw) => StoredEvent::Introduced(Some(normalised(raw)?)),
        Event::Fixed(raw) => StoredEvent::Fixed(normalised(raw)?),
        Event::LastAffected(raw) => StoredEvent::LastAffected(normalised(raw)?),
        Event::Limit(raw) if raw.contains('*') => StoredEvent::Limit(None),
        Event::Limit(raw) => StoredEvent::Limit(Some(normalised(raw)?)),
    })
}

/// The advisory's own summary, else the first line of its details, cut to one line.
fn summary(record: &Record) -> String {
    let text = record
        .summary
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .or(record.details.as_deref())
        .unwrap_or_default();
    let first_line = text
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or_default();
    let mut out: String = first_line.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Some((cut, _)) = out.char_indices().nth(SUMMARY_CHARS) {
        out.truncate(cut);
        out.push('…');
    }
    out
}

/// The package's own scores first (OSV puts them there when packages differ), then the
/// record's; within them CVSS v4 over v3 over v2 over a label.
fn rate<'a>(
    record: &Record,
    kind: AdvisoryKind,
    package_scores: impl Iterator<Item = &'a SeverityScore>,
    warnings: &mut Vec<String>,
) -> Rating {
    if kind == AdvisoryKind::Malicious {
        return Rating {
            severity: Severity::Critical,
            score: None,
            basis: RatingBasis::Malicious,
        };
    }
    let package_scores: Vec<&SeverityScore> = package_scores.collect();
    let scores = if package_scores.is_empty() {
        record.severity.iter().collect()
    } else {
        package_scores
    };
    for wanted in ["CVSS_V4", "CVSS_V3", "CVSS_V2"] {
        for score in scores.iter().filter(|s| s.kind == wanted) {
            match cvss::Cvss::from_str(score.score.trim()) {
                Ok(vector) => {
                    return Rating {
                        severity: from_cvss(vector.severity()),
                        score: Some(vector.score()),
                        basis: RatingBasis::Cvss {
                            vector: score.score.trim().to_owned(),
                        },
                    };
                }
                Err(error) => warnings.push(format!(
                    "{} vector '{}' cannot be scored ({error}); ignored",
                    score.kind, score.score
                )),
            }
        }
    }
    let labels = scores
        .iter()
        .filter(|s| s.kind == "Ubuntu")
        .map(|s| s.score.as_str())
        .chain(
            record
                .database_specific
                .as_ref()
                .and_then(|db| db.get("severity"))
                .and_then(serde_json::Value::as_str),
        );
    for label in labels {
        if let Some(severity) = from_label(label) {
            return Rating {
                severity,
                score: None,
                basis: RatingBasis::Label {
                    label: label.to_owned(),
                },
            };
        }
        warnings.push(format!("severity label '{label}' is not known; ignored"));
    }
    Rating {
        severity: Severity::High,
        score: None,
        basis: RatingBasis::Unrated,
    }
}

fn from_cvss(severity: cvss::Severity) -> Severity {
    match severity {
        cvss::Severity::None => Severity::Info,
        cvss::Severity::Low => Severity::Low,
        cvss::Severity::Medium => Severity::Medium,
        cvss::Severity::High => Severity::High,
        cvss::Severity::Critical => Severity::Critical,
    }
}

/// GHSA labels (LOW, MODERATE, HIGH, CRITICAL) and Ubuntu priorities.
fn from_label(label: &str) -> Option<Severity> {
    Some(match label.trim().to_ascii_lowercase().as_str() {
        "negligible" | "none" => Severity::Info,
        "low" => Severity::Low,
        "moderate" | "medium" => Severity::Medium,
        "high" => Severity::High,
        "critical" => Severity::Critical,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::osv::parse_record;

    fn compile_json(json: &str) -> Compiled {
        compile(&parse_record(json.as_bytes()).unwrap())
    }

    fn only(compiled: &Compiled) -> &StoredAdvisory {
        assert_eq!(compiled.packages.len(), 1, "{:?}", compiled.packages);
        &compiled.packages[0].1
    }

    #[test]
    fn normalises_versions_and_keeps_what_pep_440_rejects_apart() {
        let compiled = compile_json(
            r#"{"id":"PYSEC-1","affected":[{"package":{"ecosystem":"PyPI","name":"Joblib"},
               "versions":["0.3.2d","2.12.0.a1","0.1.2-1"],
               "ranges":[{"type":"GIT","events":[{"introduced":"0"},{"fixed":"abc"}]},
                         {"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"0.2.0-n653"},
                         {"last_affected":"1.0.beta"},{"limit":"*"}]}]}]}"#,
        );
        assert_eq!(compiled.packages[0].0, "joblib");
        let entry = &only(&compiled).entries[0];
        assert_eq!(entry.versions, ["2.12.0a1", "0.1.2.post1"]);
        assert_eq!(entry.unparsed, ["0.3.2d", "0.2.0-n653"]);
        assert_eq!(
            entry.ranges,
            [vec![
                StoredEvent::Introduced(None),
                StoredEvent::LastAffected("1.0b0".into()),
                StoredEvent::Limit(None)
            ]]
        );
        assert_eq!(compiled.unparsed_versions, 2);
        assert!(compiled.warnings[0].contains("'0.3.2d', '0.2.0-n653'"));
    }

    #[test]
    fn other_ecosystems_are_not_applicable() {
        let compiled = compile_json(
            r#"{"id":"GHSA-x","affected":[{"package":{"ecosystem":"npm","name":"left-pad"},
               "versions":["1.0.0"]}]}"#,
        );
        assert!(compiled.packages.is_empty() && compiled.warnings.is_empty());
    }

    #[test]
    fn several_entries_for_one_package_stay_one_advisory() {
        let compiled = compile_json(
            r#"{"id":"PYSEC-2","affected":[
               {"package":{"ecosystem":"PyPI","name":"a.b"},"versions":["1.0"]},
               {"package":{"ecosystem":"PyPI","name":"A_B"},"versions":["2.0"]},
               {"package":{"ecosystem":"PyPI","name":"c"},"versions":["3.0"]}]}"#,
        );
        assert_eq!(compiled.packages.len(), 2);
        assert_eq!(compiled.packages[0].1.entries.len(), 2);
    }

    #[test]
    fn cvss_v3_and_v4_vectors_are_scored_v4_first() {
        let compiled = compile_json(
            r#"{"id":"PYSEC-3","severity":[
               {"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
               {"type":"CVSS_V4","score":"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N"}],
               "affected":[{"package":{"ecosystem":"PyPI","name":"a"},"versions":["1.0"]}]}"#,
        );
        let rating = &only(&compiled).rating;
        assert_eq!(rating.severity, Severity::Medium);
        assert_eq!(rating.score, Some(6.9));
        assert!(
            matches!(&rating.basis, RatingBasis::Cvss { vector } if vector.starts_with("CVSS:4.0"))
        );

        let v3 = compile_json(
            r#"{"id":"PYSEC-4","severity":[
               {"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
               "affected":[{"package":{"ecosystem":"PyPI","name":"a"},"versions":["1.0"]}]}"#,
        );
        let rating = &only(&v3).rating;
        assert_eq!(
            (rating.severity, rating.score),
            (Severity::Critical, Some(9.8))
        );
    }

    #[test]
    fn package_scores_override_the_record_and_labels_come_last() {
        let compiled = compile_json(
            r#"{"id":"GHSA-5","database_specific":{"severity":"MODERATE"},
               "affected":[{"package":{"ecosystem":"PyPI","name":"a"},"versions":["1.0"],
               "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:N/A:N"}]},
               {"package":{"ecosystem":"PyPI","name":"b"},"versions":["1.0"]}]}"#,
        );
        assert_eq!(compiled.packages[0].1.rating.severity, Severity::Low);
        let label = &compiled.packages[1].1.rating;
        assert_eq!(label.severity, Severity::Medium);
        assert_eq!(
            label.basis,
            RatingBasis::Label {
                label: "MODERATE".into()
            }
        );
    }

    #[test]
    fn bad_vectors_are_warned_about_and_unrated_advisories_rate_high() {
        let compiled = compile_json(
            r#"{"id":"PYSEC-6","severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:X"}],
               "affected":[{"package":{"ecosystem":"PyPI","name":"a"},"versions":["1.0"]}]}"#,
        );
        let rating = &only(&compiled).rating;
        assert_eq!(
            (rating.severity, &rating.basis),
            (Severity::High, &RatingBasis::Unrated)
        );
        assert!(compiled.warnings[0].contains("cannot be scored"));
    }

    #[test]
    fn malicious_records_are_critical() {
        let compiled = compile_json(
            r#"{"id":"MAL-2026-1","summary":"Malicious code in x (PyPI)",
               "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:N/A:N"}],
               "affected":[{"package":{"ecosystem":"PyPI","name":"x"},"versions":["0.0.1"]}]}"#,
        );
        let advisory = only(&compiled);
        assert_eq!(advisory.kind, AdvisoryKind::Malicious);
        assert_eq!(advisory.rating.severity, Severity::Critical);
        assert_eq!(advisory.summary, "Malicious code in x (PyPI)");
    }

    #[test]
    fn summary_falls_back_to_the_first_line_of_details() {
        let compiled = compile_json(
            r#"{"id":"PYSEC-7","details":"\n  First   line here.\nSecond","affected":[
               {"package":{"ecosystem":"PyPI","name":"a"},"versions":["1"]}]}"#,
        );
        assert_eq!(only(&compiled).summary, "First line here.");
        let long = "é".repeat(500);
        let compiled = compile_json(&format!(
            r#"{{"id":"PYSEC-8","details":"{long}","affected":[
               {{"package":{{"ecosystem":"PyPI","name":"a"}},"versions":["1"]}}]}}"#
        ));
        assert_eq!(only(&compiled).summary.chars().count(), SUMMARY_CHARS + 1);
    }

    #[test]
    fn entries_that_can_never_match_are_warned_about() {
        let compiled = compile_json(
            r#"{"id":"PYSEC-9","affected":[{"package":{"ecosystem":"PyPI","name":"a"},
               "ranges":[{"type":"GIT","events":[{"introduced":"0"}]}]},{"versions":["1"]}]}"#,
        );
        assert!(
            compiled
                .warnings
                .iter()
                .any(|w| w.contains("no installed version can match"))
        );
        assert!(
            compiled
                .warnings
                .iter()
                .any(|w| w.contains("names no package"))
        );
    }
}
