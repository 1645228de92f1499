//! End-to-end tests over the real advisory data in `../shared/data/osv`: exactness against
//! the `packaging`-based oracle, import/open of the compiled store, and fail-closed cases.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::OnceLock;
use std::time::Instant;

use rampart_advisories::osv::parse_record;
use rampart_advisories::version::{Version, parse_public_version};
use rampart_advisories::{
    AdvisoryKind, Database, DbError, DbKind, PackageRef, ProblemKind, Unchecked,
};
use serde_json::Value;

fn shared(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(path)
}

fn osv_root() -> PathBuf {
    shared("osv")
}

/// The OSV data as `--db` reads it, loaded once for all tests.
fn db() -> &'static Database {
    static DB: OnceLock<Database> = OnceLock::new();
    DB.get_or_init(|| Database::open_osv_dir(&osv_root()).unwrap())
}

fn oracle() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/expected.json.gz");
    let mut json = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut json)
        .unwrap();
    serde_json::from_str(&json).unwrap()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

/// rampart must reproduce the oracle's answer for every (package, version) case: the
/// matched advisories, the withdrawn ones, the fix, and "unchecked".
///
/// Where the two could legitimately disagree: `pep440_rs` keeps version numbers in `u64`
/// and `packaging` in unbounded integers, so a release number above 2^64 would parse in one
/// and not the other; no advisory has one. Everything else (parsing, normalisation,
/// ordering, local labels, OSV semantics) is required to agree, and does.
#[test]
fn oracle_agrees_on_every_case() {
    let oracle = oracle();
    let mut cases = 0usize;
    let mut disagreements = Vec::new();
    for (name, package) in oracle["packages"].as_object().unwrap() {
        let ids = strings(&package["advisories"]);
        let expected_cases = package["cases"].as_object().unwrap();
        let refs: Vec<PackageRef> = expected_cases
            .keys()
            .map(|version| PackageRef::new(name.as_str(), version.as_str()))
            .collect();
        for (verdict, (version, expected)) in db().audit(&refs).iter().zip(expected_cases) {
            cases += 1;
            let got_unchecked = verdict.unchecked.is_some();
            let agrees = if expected == "unchecked" {
                got_unchecked
            } else {
                let index = |v: &Value| -> BTreeSet<&str> {
                    v.as_array()
                        .unwrap()
                        .iter()
                        .map(|i| ids[usize::try_from(i.as_u64().unwrap()).unwrap()].as_str())
                        .collect()
                };
                let matched: BTreeSet<&str> =
                    verdict.matches.iter().map(|m| m.id.as_str()).collect();
                let withdrawn: BTreeSet<&str> =
                    verdict.withdrawn.iter().map(String::as_str).collect();
                let fix = |f: Option<&str>| f.map(|f| Version::from_str(f).unwrap());
                !got_unchecked
                    && matched == index(&expected[0])
                    && withdrawn == index(&expected[1])
                    && fix(verdict.fix.as_deref()) == fix(expected[2].as_str())
            };
            if !agrees {
                disagreements.push(format!(
                    "{name} {version}: oracle {expected}, rampart matches {:?} withdrawn {:?} fix {:?} unchecked {:?}",
                    verdict.matches.iter().map(|m| &m.id).collect::<Vec<_>>(),
                    verdict.withdrawn,
                    verdict.fix,
                    verdict.unchecked
                ));
            }
        }
    }
    assert!(cases > 200_000, "only {cases} cases");
    assert!(
        disagreements.is_empty(),
        "{} of {cases} cases disagree, e.g.:\n{}",
        disagreements.len(),
        disagreements[..disagreements.len().min(20)].join("\n")
    );
}

/// Every version string in the data parses (or fails) and normalises exactly as
/// `packaging` does it.
#[test]
fn version_strings_in_the_data_normalise_as_packaging_does() {
    let oracle = oracle();
    let irregular = oracle["normalised_versions"].as_object().unwrap();
    let mut raws = BTreeSet::new();
    for dir in ["PyPI", "malicious-PyPI"] {
        for entry in std::fs::read_dir(osv_root().join(dir)).unwrap() {
            let record = parse_record(&std::fs::read(entry.unwrap().path()).unwrap()).unwrap();
            for affected in record.affected {
                raws.extend(affected.versions);
                for range in affected.ranges.iter().filter(|r| r.kind != "GIT") {
                    raws.extend(range.events.iter().flat_map(|e| e.values().cloned()));
                }
            }
        }
    }
    assert!(raws.len() > 10_000, "{}", raws.len());
    let mut invalid = 0;
    for raw in &raws {
        let ours = Version::from_str(raw).ok().map(|v| v.to_string());
        let theirs = match irregular.get(raw) {
            Some(Value::Null) => None,
            Some(normal) => Some(normal.as_str().unwrap().to_owned()),
            None => Some(raw.clone()),
        };
        invalid += usize::from(theirs.is_none());
        assert_eq!(ours, theirs, "{raw}");
    }
    // notes §7: 108 invalid list entries and 2 invalid events (some strings repeat).
    assert!(invalid >= 50, "{invalid}");
}

fn audit_one(db: &Database, name: &str, version: &str) -> rampart_advisories::PackageVerdict {
    db.audit(&[PackageRef::new(name, version)]).remove(0)
}

#[test]
fn the_pitfalls_of_real_data_are_handled() {
    let db = db();
    // joblib 1.1.0: PYSEC-2022-288 lists `0.3.2d` and must still match.
    let joblib = audit_one(db, "joblib", "1.1.0");
    let advisory = joblib
        .matches
        .iter()
        .find(|m| m.id == "PYSEC-2022-288")
        .unwrap();
    assert_eq!(advisory.aliases, ["CVE-2022-21797"]);
    assert!(advisory.unparsed_versions.iter().any(|v| v == "0.3.2d"));
    assert_eq!(joblib.fix.as_deref(), Some("1.2.0"));
    // Local builds match on their public version; names match whatever the spelling.
    let plain: Vec<String> = audit_one(db, "tensorflow", "2.4.0")
        .matches
        .into_iter()
        .map(|m| m.id)
        .collect();
    let local: Vec<String> = audit_one(db, "TensorFlow", "2.4.0+cu118")
        .matches
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert!(!plain.is_empty());
    assert_eq!(plain, local);
    let yaml = audit_one(db, "PyYAML", "5.3");
    assert_eq!(yaml.normalized_name, "pyyaml");
    assert!(!yaml.matches.is_empty());
    // An unparseable installed version is "could not check", never "clean".
    let bad = audit_one(db, "django", "not-a-version");
    assert!(matches!(
        bad.unchecked,
        Some(Unchecked::InvalidVersion { .. })
    ));
    assert!(!bad.is_clean());
    // A package no advisory names is clean.
    assert!(audit_one(db, "rampart-no-such-package", "1.0").is_clean());
}

#[test]
fn malicious_packages_are_critical_whatever_the_version_syntax() {
    let db = db();
    let squat = audit_one(db, "0requests", "0.0.1");
    assert!(squat.is_malicious());
    assert_eq!(squat.matches[0].id, "MAL-2026-15859");
    assert_eq!(squat.matches[0].kind, AdvisoryKind::Malicious);
    assert_eq!(
        squat.matches[0].rating.severity,
        rampart_core::Severity::Critical
    );
    assert_eq!(squat.fix, None);
    // a-oder's record has `introduced: 0` in an origin only; the affected entry lists 8.0.0.
    assert!(audit_one(db, "a_oder", "8.0.0").is_malicious());
    assert!(audit_one(db, "a-oder", "1.0").is_clean());
}

#[test]
fn withdrawn_advisories_are_counted_not_reported() {
    let db = db();
    let withdrawn = db.info().counts.withdrawn;
    assert_eq!(withdrawn, 10);
    let oracle = oracle();
    let (name, version) = oracle["packages"]
        .as_object()
        .unwrap()
        .iter()
        .find_map(|(name, p)| {
            p["cases"].as_object().unwrap().iter().find_map(|(v, r)| {
                r.get(1)
                    .and_then(Value::as_array)
                    .filter(|w| !w.is_empty())
                    .map(|_| (name.clone(), v.clone()))
            })
        })
        .unwrap();
    let verdict = audit_one(db, &name, &version);
    assert!(!verdict.withdrawn.is_empty());
    assert!(
        verdict
            .matches
            .iter()
            .all(|m| !verdict.withdrawn.contains(&m.id))
    );
}

#[test]
fn osv_directory_info_counts_by_kind() {
    let info = db().info();
    assert_eq!(info.kind, DbKind::OsvFiles);
    assert_eq!(info.imported_at, None);
    assert_eq!(info.age(jiff::Timestamp::now()), None);
    let counts = &info.counts;
    assert_eq!(counts.files, 2664);
    assert_eq!(counts.rejected, 0);
    assert_eq!(counts.advisories, 2664);
    assert_eq!(counts.malicious, 3);
    assert_eq!(counts.vulnerabilities, 2661 - 10);
    assert_eq!(counts.by_prefix["PYSEC"], 2661);
    assert_eq!(counts.by_prefix["MAL"], 3);
    assert!(counts.unparsed_versions >= 110);
    assert_eq!(
        info.newest_modified.unwrap().to_string(),
        "2026-09-04T00:47:46.156672516Z"
    );
    // The invalid-version warnings name their file.
    assert!(
        db().problems()
            .iter()
            .any(|p| p.kind == ProblemKind::Partial
                && p.file.ends_with("PYSEC-2022-288.json")
                && p.reason.contains("'0.3.2d'"))
    );
}

/// The old ML environment the oracle also audits, with its notable results.
fn environment() -> Vec<PackageRef> {
    strings_pairs(&oracle()["environment"])
}

fn strings_pairs(value: &Value) -> Vec<PackageRef> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| PackageRef::new(pair[0].as_str().unwrap(), pair[1].as_str().unwrap()))
        .collect()
}

fn summary(verdicts: &[rampart_advisories::PackageVerdict]) -> BTreeMap<String, Vec<String>> {
    verdicts
        .iter()
        .map(|v| {
            (
                format!(
                    "{} {}",
                    v.package.name,
                    v.package.version.as_deref().unwrap_or("")
                ),
                v.matches.iter().map(|m| m.id.clone()).collect(),
            )
        })
        .collect()
}

#[test]
fn import_then_open_gives_the_same_answers_fast() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("cache/rampart/db");
    let imported = Database::import(&osv_root(), &db_path).unwrap();
    assert_eq!(imported.info.kind, DbKind::Imported);
    assert_eq!(imported.info.counts, db().info().counts);
    assert_eq!(imported.problems, db().problems());
    let age = imported.info.age(jiff::Timestamp::now()).unwrap();
    assert!(age.as_secs() < 600, "{age:?}");

    // The old environment, topped up to 75 packages with popular names.
    let top = std::fs::read_to_string(shared("pypi-top.txt")).unwrap();
    let mut env = environment();
    let popular = top
        .lines()
        .filter_map(|l| l.split('\t').nth(1))
        .take(75 - env.len());
    env.extend(popular.map(|name| PackageRef::new(name, "1.0")));
    assert_eq!(env.len(), 75);
    let started = Instant::now();
    let opened = Database::open(&db_path).unwrap();
    let verdicts = opened.audit(&env);
    let audited = started.elapsed();
    let squats =
        rampart_advisories::Typosquats::from_top_list_file(&shared("pypi-top.txt")).unwrap();
    let flagged = env.iter().filter_map(|p| squats.check(&p.name)).count();
    // Timing is for the benchmark, not a gate (`cargo test --release` to measure).
    eprintln!(
        "open + audit of {} packages: {audited:?}; + typosquat list load and checks: {:?} ({flagged} flagged)",
        env.len(),
        started.elapsed()
    );
    assert_eq!(
        flagged, 1,
        "0requests (a-oder and notapackage are far from any popular name)"
    );
    assert_eq!(summary(&verdicts), summary(&db().audit(&env)));
    assert_eq!(opened.info().counts, db().info().counts);
    assert_eq!(opened.info().imported_at, imported.info.imported_at);
    let vulnerable = verdicts.iter().filter(|v| !v.matches.is_empty()).count();
    assert!(vulnerable >= 20, "{vulnerable}");

    // Importing again replaces the database atomically and leaves no staging behind.
    Database::import(&osv_root().join("malicious-PyPI"), &db_path).unwrap();
    let replaced = Database::open(&db_path).unwrap();
    assert_eq!(replaced.info().counts.advisories, 3);
    let leftovers: Vec<_> = std::fs::read_dir(db_path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, ["db"]);
}

fn small_db(dir: &Path) -> PathBuf {
    let db_path = dir.join("db");
    Database::import(&osv_root().join("malicious-PyPI"), &db_path).unwrap();
    db_path
}

#[test]
fn a_damaged_store_is_an_error_not_a_smaller_database() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = small_db(dir.path());
    let store = db_path.join("advisories.tsv");
    let original = std::fs::read(&store).unwrap();

    let mut flipped = original.clone();
    let last = flipped.len() - 2;
    flipped[last] ^= 1;
    std::fs::write(&store, &flipped).unwrap();
    let error = Database::open(&db_path).err().unwrap();
    assert!(matches!(error, DbError::Corrupt { .. }), "{error}");
    assert!(error.to_string().contains("SHA-256"), "{error}");

    let cut = original
        .rsplitn(3, |&b| b == b'\n')
        .nth(2)
        .unwrap()
        .to_vec();
    std::fs::write(&store, &cut).unwrap();
    let error = Database::open(&db_path).err().unwrap();
    assert!(matches!(error, DbError::Corrupt { .. }), "{error}");

    std::fs::write(&store, &original).unwrap();
    let meta_path = db_path.join("meta.json");
    let meta = std::fs::read_to_string(&meta_path).unwrap();
    std::fs::write(
        &meta_path,
        meta.replace("\"schema_version\": 1", "\"schema_version\": 99"),
    )
    .unwrap();
    let error = Database::open(&db_path).err().unwrap();
    assert!(
        matches!(error, DbError::UnsupportedSchema { found: 99, .. }),
        "{error}"
    );

    std::fs::remove_file(&meta_path).unwrap();
    assert!(matches!(Database::open(&db_path), Err(DbError::Io { .. })));
}

#[test]
fn import_never_replaces_a_directory_that_is_not_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let precious = dir.path().join("documents");
    std::fs::create_dir(&precious).unwrap();
    std::fs::write(precious.join("thesis.txt"), "irreplaceable").unwrap();
    let error = Database::import(&osv_root().join("malicious-PyPI"), &precious)
        .err()
        .unwrap();
    assert!(matches!(error, DbError::RefuseToReplace { .. }), "{error}");
    assert_eq!(
        std::fs::read_to_string(precious.join("thesis.txt")).unwrap(),
        "irreplaceable"
    );
    // An empty directory is fine.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    Database::import(&osv_root().join("malicious-PyPI"), &empty).unwrap();
}

#[test]
fn empty_or_useless_sources_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("osv");
    std::fs::create_dir(&source).unwrap();
    assert!(matches!(
        Database::open_osv_dir(&source),
        Err(DbError::Empty { rejected: 0, .. })
    ));
    std::fs::write(source.join("bad.json"), "{ not json").unwrap();
    std::fs::write(
        source.join("npm.json"),
        r#"{"id":"GHSA-1","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"npm","name":"x"},"versions":["1"]}]}"#,
    )
    .unwrap();
    let error = Database::import(&source, &dir.path().join("db"))
        .err()
        .unwrap();
    assert!(
        matches!(error, DbError::Empty { rejected: 1, .. }),
        "{error}"
    );
    assert!(!dir.path().join("db").exists());
    assert!(matches!(
        Database::open_osv_dir(&dir.path().join("missing")),
        Err(DbError::Io { .. })
    ));
}

#[test]
fn malformed_records_are_reported_with_file_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("osv");
    std::fs::create_dir_all(source.join("nested/.git")).unwrap();
    std::fs::copy(
        osv_root().join("malicious-PyPI/MAL-2026-15859.json"),
        source.join("nested/MAL-2026-15859.json"),
    )
    .unwrap();
    std::fs::write(
        source.join("truncated.json"),
        r#"{"id":"PYSEC-X","affected":["#,
    )
    .unwrap();
    std::fs::write(source.join("nested/.git/ignored.json"), "garbage").unwrap();
    std::fs::copy(
        osv_root().join("malicious-PyPI/MAL-2026-15859.json"),
        source.join("duplicate.json"),
    )
    .unwrap();
    let db = Database::open_osv_dir(&source).unwrap();
    let counts = &db.info().counts;
    assert_eq!(
        (counts.files, counts.rejected, counts.advisories),
        (3, 2, 1)
    );
    let rejected: HashMap<String, &str> = db
        .problems()
        .iter()
        .filter(|p| p.kind == ProblemKind::Rejected)
        .map(|p| {
            (
                Path::new(&p.file)
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
                p.reason.as_str(),
            )
        })
        .collect();
    assert!(rejected["truncated.json"].contains("EOF"), "{rejected:?}");
    assert!(rejected.contains_key("duplicate.json") ^ rejected.contains_key("MAL-2026-15859.json"));
}

#[test]
fn an_osv_export_zip_is_read_like_a_directory() {
    let zip = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/osv-export.zip");
    let db = Database::open_osv_dir(&zip).unwrap();
    let counts = &db.info().counts;
    assert_eq!(
        (counts.files, counts.rejected, counts.advisories),
        (4, 1, 3)
    );
    let broken = db
        .problems()
        .iter()
        .find(|p| p.kind == ProblemKind::Rejected)
        .unwrap();
    assert!(
        broken.file.ends_with("osv-export.zip!/BROKEN-1.json"),
        "{}",
        broken.file
    );
    assert!(audit_one(&db, "0requests", "0.0.1").is_malicious());
    // steam's only fixed bound is `2019-09-12`: the range stays open, so it over-reports.
    let steam = audit_one(&db, "steam", "1.4.4");
    assert_eq!(steam.matches[0].id, "PYSEC-2019-125");
    assert_eq!(steam.matches[0].unparsed_versions, ["2019-09-12"]);
    assert_eq!(steam.fix, None);

    let dir = tempfile::tempdir().unwrap();
    let summary = Database::import(&zip, &dir.path().join("db")).unwrap();
    assert_eq!(summary.info.counts.advisories, 3);
    assert!(
        summary
            .problems
            .iter()
            .any(|p| p.file.ends_with("BROKEN-1.json"))
    );
}

#[test]
fn a_file_that_is_neither_zip_nor_record_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("all.zip");
    std::fs::write(&fake, b"PK\x03\x04 this is no zip at all").unwrap();
    let error = Database::open_osv_dir(&fake).err().unwrap();
    assert!(
        matches!(error, DbError::NotOsv { .. } | DbError::Empty { .. }),
        "{error}"
    );
    let single = osv_root().join("PyPI/PYSEC-2022-288.json");
    let db = Database::open_osv_dir(&single).unwrap();
    assert_eq!(db.info().counts.advisories, 1);
}

#[test]
fn unpinned_packages_are_unchecked_when_advisories_exist() {
    let verdicts = db().audit(&[
        PackageRef {
            name: "django".into(),
            version: None,
        },
        PackageRef {
            name: "rampart-no-such-package".into(),
            version: None,
        },
    ]);
    assert_eq!(verdicts[0].unchecked, Some(Unchecked::MissingVersion));
    assert!(verdicts[1].is_clean());
    assert!(parse_public_version("1.0").is_ok());
}
