//! OSV matching, exactly as the schema's evaluation pseudocode says
//! (ossf/osv-schema `docs/schema.md`, "Evaluation"), on PEP 440 versions:
//!
//! * a version is affected when it equals an entry of `versions[]` **or** lies in one of
//!   the ranges; several `affected[]` entries for one package are alternatives;
//! * a range first checks its `limit` events (if any, the version must be below one; a
//!   limit containing `*` is infinite), then walks its events sorted by version
//!   (`introduced: "0"` first; ties keep the record's order): `introduced` (≥) switches
//!   on, `fixed` (≥) and `last_affected` (>) switch off;
//! * ECOSYSTEM and SEMVER ranges are evaluated with PEP 440 ordering; GIT ranges name
//!   commits and are ignored;
//! * versions compare as public versions: a local label is dropped on both sides;
//! * a version string PEP 440 cannot parse was skipped at compile time. A skipped `fixed`
//!   leaves its range open, so it over-reports rather than misses. (The Python oracle in
//!   `tests/oracle/expected.py` implements the same rules with `packaging`.)

use std::cmp::Ordering;
use std::fmt;

use crate::compile::{AdvisoryKind, StoredAdvisory, StoredEvent};
use crate::os_version::{ApkVersion, DpkgVersion, RpmVersion};
use crate::verdict::{AdvisoryMatch, PackageRef, PackageVerdict, Unchecked};
use crate::version::{Version, parse_public_version};

/// A version of some ecosystem's ordering: PEP 440 for PyPI, dpkg's and apk's for OS
/// packages. The OSV evaluation below is the same for all.
pub(crate) trait MatchVersion: Ord + Clone + fmt::Display {
    fn parse(raw: &str) -> Result<Self, String>;
    /// Pre-releases are fixes of last resort (pip skips them unless asked).
    fn is_prerelease(&self) -> bool;
}

impl MatchVersion for Version {
    fn parse(raw: &str) -> Result<Self, String> {
        parse_public_version(raw).map_err(|e| e.to_string())
    }

    fn is_prerelease(&self) -> bool {
        self.any_prerelease()
    }
}

impl MatchVersion for DpkgVersion {
    fn parse(raw: &str) -> Result<Self, String> {
        DpkgVersion::parse(raw)
    }

    fn is_prerelease(&self) -> bool {
        false
    }
}

impl MatchVersion for ApkVersion {
    fn parse(raw: &str) -> Result<Self, String> {
        ApkVersion::parse(raw)
    }

    fn is_prerelease(&self) -> bool {
        false
    }
}

impl MatchVersion for RpmVersion {
    fn parse(raw: &str) -> Result<Self, String> {
        RpmVersion::parse(raw)
    }

    fn is_prerelease(&self) -> bool {
        false
    }
}

/// The PyPI matcher.
pub(crate) type Matcher<'a> = VersionMatcher<'a, Version>;

/// The advisories of one package with every version parsed, ready to answer many
/// questions about many versions.
pub(crate) struct VersionMatcher<'a, V> {
    advisories: Vec<ParsedAdvisory<'a, V>>,
    /// Every version any advisory for the package names (list entries and range bounds),
    /// ascending, without duplicates: the candidates for an upgrade.
    named: Vec<V>,
}

struct ParsedAdvisory<'a, V> {
    stored: &'a StoredAdvisory,
    entries: Vec<ParsedEntry<V>>,
}

struct ParsedEntry<V> {
    /// Ascending, for binary search.
    versions: Vec<V>,
    ranges: Vec<ParsedRange<V>>,
}

struct ParsedRange<V> {
    /// Sorted by bound, stably.
    events: Vec<(EventKind, Bound<V>)>,
    /// `None` is infinity.
    limits: Vec<Option<V>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EventKind {
    Introduced,
    Fixed,
    LastAffected,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Bound<V> {
    /// OSV's `introduced: "0"`: before every version.
    Start,
    At(V),
}

impl<'a, V: MatchVersion> VersionMatcher<'a, V> {
    /// Parses the stored versions. They were normalised at compile time, so an error here
    /// means the stored entry is damaged.
    pub(crate) fn new(stored: &'a [StoredAdvisory]) -> Result<VersionMatcher<'a, V>, String> {
        let mut named = Vec::new();
        let mut advisories = Vec::with_capacity(stored.len());
        for advisory in stored {
            let mut entries = Vec::with_capacity(advisory.entries.len());
            for entry in &advisory.entries {
                let mut versions = entry
                    .versions
                    .iter()
                    .map(|raw| parse(raw, &advisory.id))
                    .collect::<Result<Vec<_>, _>>()?;
                named.extend(versions.iter().cloned());
                versions.sort();
                let mut ranges = Vec::with_capacity(entry.ranges.len());
                for range in &entry.ranges {
                    let mut events = Vec::with_capacity(range.len());
                    let mut limits = Vec::new();
                    for event in range {
                        let (kind, raw) = match event {
                            StoredEvent::Introduced(None) => {
                                events.push((EventKind::Introduced, Bound::Start));
                                continue;
                            }
                            StoredEvent::Limit(limit) => {
                                limits.push(
                                    limit
                                        .as_deref()
                                        .map(|l| parse(l, &advisory.id))
                                        .transpose()?,
                                );
                                continue;
                            }
                            StoredEvent::Introduced(Some(raw)) => (EventKind::Introduced, raw),
                            StoredEvent::Fixed(raw) => (EventKind::Fixed, raw),
                            StoredEvent::LastAffected(raw) => (EventKind::LastAffected, raw),
                        };
                        let version: V = parse(raw, &advisory.id)?;
                        named.push(version.clone());
                        events.push((kind, Bound::At(version)));
                    }
                    events.sort_by(|a, b| a.1.cmp(&b.1));
                    ranges.push(ParsedRange { events, limits });
                }
                entries.push(ParsedEntry { versions, ranges });
            }
            advisories.push(ParsedAdvisory {
                stored: advisory,
                entries,
            });
        }
        named.sort();
        named.dedup();
        Ok(VersionMatcher { advisories, named })
    }

    /// The audit of `package` at its version; `normalized_name` is what was looked up.
    pub(crate) fn verdict(&self, package: &PackageRef, normalized_name: String) -> PackageVerdict {
        let installed = match &package.version {
            // No advisory names the package: no version of it can match.
            _ if self.advisories.is_empty() => Ok(None),
            None => Err(Unchecked::MissingVersion),
            Some(raw) => V::parse(raw)
                .map(Some)
                .map_err(|error| Unchecked::InvalidVersion {
                    version: raw.clone(),
                    error: error.to_string(),
                }),
        };
        let (matched, withdrawn, fix, unchecked) = match installed {
            Ok(None) => (Vec::new(), Vec::new(), None, None),
            Ok(Some(version)) => {
                let (matched, withdrawn): (Vec<&ParsedAdvisory<V>>, Vec<&ParsedAdvisory<V>>) = self
                    .advisories
                    .iter()
                    .filter(|a| a.affects(&version))
                    .partition(|a| a.stored.withdrawn.is_none());
                let fix = self.smallest_fix(&version, &matched);
                (matched, withdrawn, fix, None)
            }
            Err(reason) => {
                // Fail loudly, but still say what is certain: an advisory for every version
                // (typical of malicious packages) applies whatever the version is.
                let (matched, withdrawn) = self
                    .advisories
                    .iter()
                    .filter(|a| a.affects_every_version())
                    .partition(|a| a.stored.withdrawn.is_none());
                (matched, withdrawn, None, Some(reason))
            }
        };
        let mut matches: Vec<AdvisoryMatch> = matched.iter().map(|a| a.to_match()).collect();
        matches.sort_by(|a, b| {
            b.rating
                .severity
                .cmp(&a.rating.severity)
                .then_with(|| a.id.cmp(&b.id))
        });
        PackageVerdict {
            package: package.clone(),
            normalized_name,
            matches,
            withdrawn: withdrawn.iter().map(|a| a.stored.id.clone()).collect(),
            fix: fix.map(ToString::to_string),
            unchecked,
        }
    }

    /// The least named version above `installed` that no matched advisory affects,
    /// preferring final releases: pip does not pick pre-releases unless asked.
    fn smallest_fix(&self, installed: &V, matched: &[&ParsedAdvisory<V>]) -> Option<&V> {
        if matched.is_empty()
            || matched
                .iter()
                .any(|a| a.stored.kind == AdvisoryKind::Malicious)
        {
            return None;
        }
        let start = self.named.partition_point(|c| c <= installed);
        let mut prerelease = None;
        for candidate in self.named.get(start..).unwrap_or_default() {
            if matched.iter().any(|a| a.affects(candidate)) {
                continue;
            }
            if !candidate.is_prerelease() {
                return Some(candidate);
            }
            prerelease.get_or_insert(candidate);
        }
        prerelease
    }
}

fn parse<V: MatchVersion>(raw: &str, id: &str) -> Result<V, String> {
    V::parse(raw).map_err(|e| format!("{id}: stored version '{raw}': {e}"))
}

impl<V: MatchVersion> ParsedAdvisory<'_, V> {
    fn affects(&self, version: &V) -> bool {
        self.entries.iter().any(|entry| {
            entry.versions.binary_search(version).is_ok()
                || entry.ranges.iter().any(|range| range.contains(version))
        })
    }

    fn affects_every_version(&self) -> bool {
        self.entries.iter().any(|entry| {
            entry.ranges.iter().any(|range| {
                range.limits.is_empty()
                    && range.events.iter().any(|e| e.1 == Bound::Start)
                    && range.events.iter().all(|e| e.0 == EventKind::Introduced)
            })
        })
    }

    fn to_match(&self) -> AdvisoryMatch {
        let stored = self.stored;
        let bounds = |wanted: EventKind| {
            let mut out: Vec<&V> = self
                .entries
                .iter()
                .flat_map(|e| &e.ranges)
                .flat_map(|r| &r.events)
                .filter_map(|(kind, bound)| match bound {
                    Bound::At(version) if *kind == wanted => Some(version),
                    _ => None,
                })
                .collect();
            out.sort();
            out.dedup();
            out.into_iter().map(ToString::to_string).collect()
        };
        AdvisoryMatch {
            id: stored.id.clone(),
            aliases: stored.aliases.clone(),
            summary: stored.summary.clone(),
            kind: stored.kind,
            rating: stored.rating.clone(),
            fixed: bounds(EventKind::Fixed),
            last_affected: bounds(EventKind::LastAffected),
            unparsed_versions: stored
                .entries
                .iter()
                .flat_map(|e| e.unparsed.iter().cloned())
                .collect(),
            published: stored.published.clone(),
            modified: stored.modified.clone(),
        }
    }
}

impl<V: MatchVersion> ParsedRange<V> {
    fn contains(&self, version: &V) -> bool {
        let before_limits = self.limits.is_empty()
            || self
                .limits
                .iter()
                .any(|limit| limit.as_ref().is_none_or(|l| version < l));
        if !before_limits {
            return false;
        }
        let mut vulnerable = false;
        for (kind, bound) in &self.events {
            let order = match bound {
                Bound::Start => Ordering::Greater,
                Bound::At(at) => version.cmp(at),
            };
            match kind {
                EventKind::Introduced if order.is_ge() => vulnerable = true,
                EventKind::Fixed if order.is_ge() => vulnerable = false,
                EventKind::LastAffected if order.is_gt() => vulnerable = false,
                _ => {}
            }
        }
        vulnerable
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::compile;
    use crate::osv::parse_record;

    /// Compiles `affected` entries (JSON) of one advisory for package `p`.
    fn advisories(records: &[&str]) -> Vec<StoredAdvisory> {
        records
            .iter()
            .map(|json| {
                let record = parse_record(json.as_bytes()).unwrap();
                let mut compiled = compile(&record);
                compiled.packages.remove(0).1
            })
            .collect()
    }

    fn record(id: &str, affected: &str) -> String {
        format!(r#"{{"id":"{id}","affected":[{affected}]}}"#)
    }

    fn ranges(events: &str) -> String {
        format!(
            r#"{{"package":{{"ecosystem":"PyPI","name":"p"}},"ranges":[{{"type":"ECOSYSTEM","events":{events}}}]}}"#
        )
    }

    fn verdict(stored: &[StoredAdvisory], version: &str) -> PackageVerdict {
        Matcher::new(stored)
            .unwrap()
            .verdict(&PackageRef::new("p", version), "p".into())
    }

    fn ids(stored: &[StoredAdvisory], version: &str) -> Vec<String> {
        verdict(stored, version)
            .matches
            .into_iter()
            .map(|m| m.id)
            .collect()
    }

    fn affected(events: &str, version: &str) -> bool {
        let stored = advisories(&[&record("A", &ranges(events))]);
        !ids(&stored, version).is_empty()
    }

    #[test]
    fn several_introduced_events_open_several_windows() {
        let events =
            r#"[{"introduced":"1.0"},{"fixed":"1.2"},{"introduced":"2.0"},{"fixed":"2.3"}]"#;
        for (version, expected) in [
            ("0.9", false),
            ("1.0", true),
            ("1.1.9", true),
            ("1.2", false),
            ("1.9", false),
            ("2.0", true),
            ("2.3", false),
            ("3", false),
        ] {
            assert_eq!(affected(events, version), expected, "{version}");
        }
    }

    #[test]
    fn unsorted_events_are_sorted_by_version_first() {
        let events = r#"[{"fixed":"2.3"},{"introduced":"2.0"},{"fixed":"1.2"},{"introduced":"0"}]"#;
        assert!(affected(events, "0.0.1.dev0"));
        assert!(!affected(events, "1.5"));
        assert!(affected(events, "2.1"));
    }

    #[test]
    fn last_affected_includes_its_own_version() {
        let events = r#"[{"introduced":"0"},{"last_affected":"2.1.214"}]"#;
        assert!(affected(events, "2.1.214"));
        assert!(affected(events, "2.1.214+local"));
        assert!(!affected(events, "2.1.214.post1"));
        assert!(!affected(events, "2.1.215"));
    }

    #[test]
    fn introduced_zero_precedes_even_dev_and_epoch_zero_releases() {
        let events = r#"[{"introduced":"0"},{"fixed":"1.0"}]"#;
        assert!(affected(events, "0.dev0"));
        assert!(affected(events, "0a1"));
        assert!(!affected(events, "1!0.1"), "epoch 1 sorts after 1.0");
        let literal = r#"[{"introduced":"0.0"},{"fixed":"1.0"}]"#;
        assert!(
            !affected(literal, "0.dev0"),
            "only the string \"0\" is special"
        );
    }

    #[test]
    fn limit_events_bound_the_range() {
        let events = r#"[{"introduced":"0"},{"limit":"2.0"},{"limit":"3.0"}]"#;
        assert!(affected(events, "2.5"));
        assert!(!affected(events, "3.0"));
        let infinite = r#"[{"introduced":"1.0"},{"limit":"*"}]"#;
        assert!(affected(infinite, "99"));
    }

    #[test]
    fn pre_and_post_releases_sort_around_their_release() {
        let events = r#"[{"introduced":"1.0"},{"fixed":"1.1"}]"#;
        assert!(!affected(events, "1.0rc1"));
        assert!(affected(events, "1.0.post1"));
        assert!(affected(events, "1.1.dev0"));
        assert!(affected(events, "1.1a1"));
        assert!(!affected(events, "1.1.0"));
    }

    #[test]
    fn version_lists_compare_parsed_versions() {
        let stored = advisories(&[&record(
            "A",
            r#"{"package":{"ecosystem":"PyPI","name":"p"},"versions":["2022.12.07","2.12.0.a1","0.1.2-1","0.3.2d"]}"#,
        )]);
        for version in [
            "2022.12.7",
            "2.12.0a1",
            "2.12.0-alpha1",
            "0.1.2.post1",
            "0.1.2-1+cpu",
        ] {
            assert_eq!(ids(&stored, version), ["A"], "{version}");
        }
        assert!(ids(&stored, "2.12.0").is_empty());
        assert_eq!(
            verdict(&stored, "2022.12.7").matches[0].unparsed_versions,
            ["0.3.2d"]
        );
    }

    #[test]
    fn either_the_list_or_a_range_is_enough() {
        let stored = advisories(&[&record(
            "A",
            r#"{"package":{"ecosystem":"PyPI","name":"p"},"versions":["5.0"],
                "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"1.0"},{"fixed":"2.0"}]},
                          {"type":"GIT","events":[{"introduced":"0"}]}]}"#,
        )]);
        assert_eq!(ids(&stored, "5.0"), ["A"]);
        assert_eq!(ids(&stored, "1.5"), ["A"]);
        assert!(
            ids(&stored, "3.0").is_empty(),
            "GIT ranges do not match versions"
        );
    }

    /// joblib 1.1.0 and PYSEC-2022-288, whose version list holds `0.3.2d`.
    #[test]
    fn invalid_strings_in_an_advisory_do_not_fail_it() {
        let stored = advisories(&[&record(
            "PYSEC-2022-288",
            r#"{"package":{"ecosystem":"PyPI","name":"joblib"},"versions":["0.3.2d","1.1.0"],
                "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.2.0"}]}]}"#,
        )]);
        let verdict = verdict(&stored, "1.1.0");
        assert_eq!(verdict.matches[0].id, "PYSEC-2022-288");
        assert_eq!(verdict.fix.as_deref(), Some("1.2.0"));
    }

    #[test]
    fn an_invalid_fixed_bound_leaves_the_range_open() {
        assert!(affected(
            r#"[{"introduced":"0"},{"fixed":"2019-09-12"}]"#,
            "1.4.4"
        ));
    }

    #[test]
    fn withdrawn_advisories_are_counted_apart() {
        let withdrawn = format!(
            r#"{{"id":"W","withdrawn":"2024-01-01T00:00:00Z","affected":[{}]}}"#,
            ranges(r#"[{"introduced":"0"}]"#)
        );
        let stored = advisories(&[
            &withdrawn,
            &record("A", &ranges(r#"[{"introduced":"0"},{"fixed":"2"}]"#)),
        ]);
        let verdict = verdict(&stored, "1.0");
        assert_eq!(verdict.matches.len(), 1);
        assert_eq!(verdict.withdrawn, ["W"]);
        assert_eq!(
            verdict.fix.as_deref(),
            Some("2"),
            "withdrawn advisories do not block a fix"
        );
    }

    #[test]
    fn the_fix_clears_every_matched_advisory_and_prefers_final_releases() {
        let stored = advisories(&[
            &record(
                "A",
                &ranges(
                    r#"[{"introduced":"0"},{"fixed":"1.5"},{"introduced":"2.0"},{"fixed":"2.2"}]"#,
                ),
            ),
            &record(
                "B",
                &ranges(
                    r#"[{"introduced":"1.0"},{"fixed":"1.7rc1"},{"introduced":"1.8"},{"fixed":"1.9"}]"#,
                ),
            ),
            &record("C", &ranges(r#"[{"introduced":"3.0"},{"fixed":"3.1"}]"#)),
        ]);
        let v = verdict(&stored, "1.2");
        assert_eq!(v.matches.len(), 2);
        // 1.5 is still in B; 1.7rc1 is the first clean version, 1.8 reopens B, 1.9 is final.
        assert_eq!(v.fix.as_deref(), Some("1.9"));
        assert_eq!(v.matches[1].fixed, ["1.7rc1", "1.9"]);
        let only_prerelease = advisories(&[&record(
            "A",
            &ranges(r#"[{"introduced":"0"},{"fixed":"2.0b1"}]"#),
        )]);
        assert_eq!(
            verdict(&only_prerelease, "1.0").fix.as_deref(),
            Some("2.0b1")
        );
        let open = advisories(&[&record("A", &ranges(r#"[{"introduced":"1.0"}]"#))]);
        assert_eq!(verdict(&open, "1.0").fix, None);
    }

    #[test]
    fn malicious_packages_get_no_fix_and_unparseable_versions_are_unchecked() {
        let stored = advisories(&[
            r#"{"id":"MAL-1","affected":[{"package":{"ecosystem":"PyPI","name":"p"},
                "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}]}]}"#,
            &record("A", &ranges(r#"[{"introduced":"0"},{"fixed":"9"}]"#)),
        ]);
        let v = verdict(&stored, "1.0");
        assert!(v.is_malicious() && v.fix.is_none());
        let v = verdict(&stored, "not-a-version");
        assert!(matches!(
            v.unchecked,
            Some(Unchecked::InvalidVersion { .. })
        ));
        assert_eq!(
            v.matches.len(),
            1,
            "an every-version advisory still applies"
        );
        assert_eq!(v.matches[0].id, "MAL-1");
        assert!(!v.is_clean());
        let missing = Matcher::new(&stored).unwrap().verdict(
            &PackageRef {
                name: "p".into(),
                version: None,
            },
            "p".into(),
        );
        assert_eq!(missing.unchecked, Some(Unchecked::MissingVersion));
    }

    #[test]
    fn matches_are_sorted_most_severe_first() {
        let critical = format!(
            r#"{{"id":"Z","severity":[{{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}}],"affected":[{}]}}"#,
            ranges(r#"[{"introduced":"0"}]"#)
        );
        let low = format!(
            r#"{{"id":"A","severity":[{{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:N/A:N"}}],"affected":[{}]}}"#,
            ranges(r#"[{"introduced":"0"}]"#)
        );
        let stored = advisories(&[&low, &critical]);
        assert_eq!(ids(&stored, "1"), ["Z", "A"]);
    }
}
