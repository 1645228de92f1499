//! The body of the `osv_record` fuzz target (`fuzz/fuzz_targets/osv_record.rs`), here so
//! that the corpus replay test drives the code exactly as the fuzzer does. It panics only
//! when matching breaks one of its own promises.

use crate::compile::{StoredAdvisory, compile};
use crate::matching::{MatchVersion, VersionMatcher};
use crate::os_version::{ApkVersion, DpkgVersion, RpmVersion, Scheme};
use crate::osv::parse_record;
use crate::store::parse_line;
use crate::verdict::PackageRef;
use crate::version::Version;

/// Versions asked about besides the ones the record names.
const PROBES: [&str; 8] = [
    "0",
    "0.dev0",
    "1.0",
    "1.0.post1+local",
    "99!1",
    "not a version",
    "1:2.0-1~deb12u1",
    "1.2.3-r4",
];

/// Parses a record, compiles it, round-trips each package through the store format, and
/// audits the versions the record names (and a few more) against it.
#[allow(
    clippy::panic,
    reason = "a fuzz target reports a broken promise by panicking"
)]
pub fn osv_record(data: &[u8]) {
    let Ok(record) = parse_record(data) else {
        return;
    };
    let compiled = compile(&record);
    let named = record
        .affected
        .iter()
        .flat_map(|a| {
            a.versions.iter().chain(
                a.ranges
                    .iter()
                    .flat_map(|r| r.events.iter().flat_map(|e| e.values())),
            )
        })
        .map(String::as_str)
        .take(64);
    let probes: Vec<&str> = PROBES.into_iter().chain(named).collect();
    for (name, advisory) in &compiled.packages {
        let line = serde_json::to_vec(std::slice::from_ref(advisory))
            .unwrap_or_else(|e| panic!("compiled advisory does not serialise: {e}"));
        let stored = parse_line(&line).unwrap_or_else(|e| panic!("store line does not parse: {e}"));
        // OS packages are keyed `<ecosystem>|<source name>` and ordered by their scheme.
        let scheme = name
            .split_once('|')
            .map(|(ecosystem, _)| Scheme::of_ecosystem(ecosystem));
        match scheme {
            None => check_matcher::<Version>(&stored, name, &probes),
            Some(Some(Scheme::Dpkg)) => check_matcher::<DpkgVersion>(&stored, name, &probes),
            Some(Some(Scheme::Apk)) => check_matcher::<ApkVersion>(&stored, name, &probes),
            Some(Some(Scheme::Rpm)) => check_matcher::<RpmVersion>(&stored, name, &probes),
            Some(None) => panic!("{name} is stored under an ecosystem without an ordering"),
        }
    }
}

/// Audits every probe against one package's advisories, checking that a fix is unaffected.
#[allow(
    clippy::panic,
    reason = "a fuzz target reports a broken promise by panicking"
)]
fn check_matcher<V: MatchVersion>(stored: &[StoredAdvisory], name: &str, probes: &[&str]) {
    let matcher =
        VersionMatcher::<V>::new(stored).unwrap_or_else(|e| panic!("stored versions: {e}"));
    for probe in probes {
        let verdict = matcher.verdict(&PackageRef::new(name, *probe), name.to_owned());
        assert!(verdict.matches.len() + verdict.withdrawn.len() <= 1);
        if let Some(fix) = &verdict.fix {
            let after = matcher.verdict(&PackageRef::new(name, fix.as_str()), name.to_owned());
            assert!(
                after
                    .matches
                    .iter()
                    .all(|m| verdict.matches.iter().all(|b| b.id != m.id)),
                "the fix {fix} for {probe} is itself affected"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use proptest::prelude::*;

    use super::*;
    use crate::typosquat::Typosquats;
    use crate::version::parse_public_version;

    /// Replays the fuzz seeds (and any crash reproducers kept there) the way the fuzz
    /// target drives the code.
    #[test]
    fn fuzz_corpus_replays_without_panic() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/osv_record");
        let mut seeds = 0;
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            osv_record(&std::fs::read(entry.unwrap().path()).unwrap());
            seeds += 1;
        }
        assert!(seeds >= 3, "only {seeds} seeds in {}", dir.display());
    }

    const VERSION_PATTERN: &str = "[0-9]{0,3}([.!+_-]?[0-9a-z]{0,3}){0,4}|\\PC{0,12}";

    fn record_json(versions: Vec<String>, events: Vec<(usize, String)>, withdrawn: bool) -> String {
        const KINDS: [&str; 5] = ["introduced", "fixed", "last_affected", "limit", "other"];
        let events: Vec<serde_json::Value> = events
            .into_iter()
            .map(|(kind, v)| serde_json::json!({ KINDS[kind % KINDS.len()]: v }))
            .collect();
        serde_json::json!({
            "id": if withdrawn { "MAL-1" } else { "PYSEC-1" },
            "withdrawn": withdrawn.then_some("2024-01-01T00:00:00Z"),
            "affected": [{
                "package": {"ecosystem": "PyPI", "name": "Pkg_name"},
                "versions": versions,
                "ranges": [{"type": "ECOSYSTEM", "events": events}],
            }],
        })
        .to_string()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            osv_record(&data);
        }

        #[test]
        fn arbitrary_version_strings_never_panic(raw in VERSION_PATTERN) {
            let _ = parse_public_version(&raw);
        }

        /// Structurally valid records with arbitrary version strings and event mixes: the
        /// fuzz body checks that every fix it finds clears the advisories it was found for.
        #[test]
        fn generated_records_match_consistently(
            versions in proptest::collection::vec(VERSION_PATTERN, 0..6),
            events in proptest::collection::vec((0usize..5, VERSION_PATTERN), 0..8),
            withdrawn in any::<bool>(),
        ) {
            osv_record(record_json(versions, events, withdrawn).as_bytes());
        }

        #[test]
        fn mutated_real_records_never_panic(
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
            cut in any::<usize>(),
        ) {
            let mut data = std::fs::read(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../../../shared/data/osv/PyPI/PYSEC-2022-288.json"),
            )
            .unwrap();
            for (at, byte) in flips {
                let len = data.len();
                data[at % len] = byte;
            }
            data.truncate(cut % (data.len() + 1));
            osv_record(&data);
        }

        #[test]
        fn typosquat_checks_never_panic(name in "\\PC{0,24}") {
            let squats = Typosquats::from_top_list("requests\nnumpy\npython-dateutil\nboto3\n");
            if let Some(squat) = squats.check(&name) {
                prop_assert!(!squats.is_popular(&squat.name));
            }
        }
    }
}
