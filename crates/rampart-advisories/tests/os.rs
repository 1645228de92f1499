//! OS advisories (Debian, Ubuntu, Alpine) in OSV form, hand-written in `fixtures/os/`,
//! matched with dpkg's and apk's version orderings, from OSV files and from an imported
//! database.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use rampart_advisories::{Database, OsPackageRef, PackageVerdict};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/os")
}

fn package(ecosystem: &str, name: &str, version: &str) -> OsPackageRef {
    OsPackageRef {
        ecosystem: ecosystem.to_owned(),
        name: name.to_owned(),
        version: Some(version.to_owned()),
    }
}

fn ids(verdict: &PackageVerdict) -> Vec<&str> {
    verdict.matches.iter().map(|m| m.id.as_str()).collect()
}

fn check(database: &Database) {
    let verdicts = database.audit_os(&[
        package("Debian:12", "openssl", "3.0.11-1~deb12u2"),
        package("Debian:12", "openssl", "3.0.15-1~deb12u1"),
        package("Debian:12", "openssl", "3.0.15-1~deb12u1+b1"),
        package("Debian:11", "openssl", "1.1.1w-0+deb11u1"),
        package("Debian:13", "openssl", "3.0.11-1"),
        package("Debian:12", "libexample", "2.5-3"),
        package("Debian:12", "libexample", "1:0.9-1"),
        package("Alpine:v3.20", "openssl", "3.3.1-r0"),
        package("Alpine:v3.20", "openssl", "3.3.1-r1"),
        package("Alpine:v3.20", "openssl", "3.3.1_rc1-r5"),
        package("Ubuntu:24.04", "curl", "8.5.0-2ubuntu10.1"),
        package("Ubuntu:24.04", "curl", "8.5.0-2ubuntu10.2"),
        package("Fedora:40", "openssl", "3.2.2-3.fc40"),
    ]);
    let found: Vec<Vec<&str>> = verdicts.iter().map(ids).collect();
    assert_eq!(
        found,
        [
            vec!["DEBIAN-CVE-2024-5535"],
            vec![],
            vec![],
            vec!["DEBIAN-CVE-2024-5535"],
            vec![],
            vec!["DEBIAN-CVE-2023-0001"],
            vec![],
            vec!["ALPINE-CVE-2024-5535"],
            vec![],
            vec!["ALPINE-CVE-2024-5535"],
            vec!["UBUNTU-CVE-2024-6197"],
            vec![],
            vec![],
        ]
    );
    let vulnerable = &verdicts[0];
    assert_eq!(vulnerable.fix.as_deref(), Some("3.0.15-1~deb12u1"));
    assert_eq!(vulnerable.matches[0].fixed, ["3.0.15-1~deb12u1"]);
    assert_eq!(vulnerable.matches[0].aliases, ["CVE-2024-5535"]);
    assert!(verdicts[1].is_clean());
    assert_eq!(
        verdicts[5].fix.as_deref(),
        Some("1:0.9-1"),
        "an epoch outranks 2.5"
    );
    assert!(
        verdicts[12].unchecked.is_some(),
        "an ecosystem without an ordering is unchecked, not clean"
    );
}

#[test]
fn os_advisories_match_from_osv_files() {
    check(&Database::open_osv_dir(&fixtures()).unwrap());
}

#[test]
fn os_advisories_match_from_an_imported_database() {
    let temp = tempfile::tempdir().unwrap();
    let db = temp.path().join("db");
    let summary = Database::import(&fixtures(), &db).unwrap();
    assert!(summary.problems.is_empty(), "{:?}", summary.problems);
    check(&Database::open(&db).unwrap());
}
