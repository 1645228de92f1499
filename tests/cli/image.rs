//! `rampart scan/sbom/audit IMAGE`: OCI layouts, OCI archives and `docker save` archives
//! assembled in the tests from files (layers are tars, the rest JSON with computed digests).

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use rampart_image::test_support::{
    Blobs, Item, Spec, archive, docker_save, oci_layout, tar, write_dir,
};
use serde_json::{Value, json};

/// `os.system('id')` as a protocol 2 pickle.
const MALICIOUS_PICKLE: &[u8] =
    b"\x80\x02cposix\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03.";

fn rampart_in(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("rampart").unwrap();
    cmd.current_dir(dir)
        .env("NO_COLOR", "1")
        .env("XDG_CACHE_HOME", dir.join("cache"));
    cmd
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, bytes).unwrap();
    path
}

fn scan_json(dir: &Path, args: &[&str]) -> (i32, Value) {
    let output = rampart_in(dir)
        .args(["scan", "--no-config", "--format", "json"])
        .args(args)
        .output()
        .unwrap();
    let report = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code().unwrap(), report)
}

fn findings_of<'a>(report: &'a Value, rule: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == rule)
        .collect()
}

fn rule_ids(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_pickle_deleted_in_a_later_layer_is_found_in_its_layer() {
    let temp = tempfile::tempdir().unwrap();
    let spec = Spec::new(vec![
        tar(&[Item::Dir("etc/"), Item::File("etc/hostname", b"box\n")]),
        tar(&[
            Item::Dir("app/"),
            Item::File("app/model.pkl", MALICIOUS_PICKLE),
        ]),
        tar(&[
            Item::File("app/.wh.model.pkl", b""),
            Item::File("app/serve.py", b"print('serving')\n"),
        ]),
    ]);
    let image = write(temp.path(), "image.tar", &docker_save(&spec));
    let (code, report) = scan_json(temp.path(), &[image.to_str().unwrap()]);
    assert_eq!(code, 1, "{report:#}");
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"].as_str().unwrap().starts_with("pickle/"))
        .unwrap_or_else(|| panic!("no pickle finding: {report:#}"));
    let members = finding["location"]["members"].as_array().unwrap();
    assert!(
        members[0].as_str().unwrap().starts_with("layer 1 (sha256:"),
        "{members:?}"
    );
    assert_eq!(members[1], "app/model.pkl");
    assert!(finding["message"].as_str().unwrap().contains("deleted"));
    // The image and its three regular files; the pickle's findings count against it.
    assert_eq!(report["summary"]["files"], 4, "{:#}", report["files"]);
    let verdicts: Vec<(&str, &Value, &str)> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let path = f["path"].as_str().unwrap();
            let name = path.rsplit("!/").next().unwrap();
            (name, &f["findings"], f["verdict"].as_str().unwrap())
        })
        .collect();
    assert!(
        verdicts
            .iter()
            .any(|(name, count, verdict)| *name == "app/model.pkl"
                && count.as_u64() >= Some(1)
                && *verdict == "fail"),
        "{verdicts:?}"
    );
    assert!(
        verdicts.contains(&("app/serve.py", &json!(0), "pass")),
        "{verdicts:?}"
    );
    assert_eq!(
        report["summary"]["failed_files"], 1,
        "{:#}",
        report["summary"]
    );
}

#[test]
fn an_aws_key_in_the_env_and_root_are_reported_from_the_config() {
    let temp = tempfile::tempdir().unwrap();
    let mut spec = Spec::new(vec![tar(&[Item::File("app/serve.py", b"print(1)\n")])]);
    spec.run_config = Some(json!({
        "Env": ["PATH=/usr/bin", concat!("AWS_ACCESS_KEY_ID=AKIA", "Z7VRSQ5TLHX4MNQW"),
                concat!("AWS_SECRET_ACCESS_KEY=q8Vd2kR7pLm3Xn9Tz4", "Bw6Yc1Hf5Js0Ga8Ue2Wi7O")],
        "Cmd": ["python", "/app/serve.py"],
    }));
    let layout = temp.path().join("layout");
    write_dir(&oci_layout(&spec), &layout);
    let (code, report) = scan_json(temp.path(), &[layout.to_str().unwrap()]);
    assert_eq!(code, 1, "{report:#}");
    let ids = rule_ids(&report);
    assert!(ids.contains(&"image/runs-as-root".to_owned()), "{ids:?}");
    let secret = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["rule_id"].as_str().unwrap().starts_with("secret/")
                && f["location"]["resource"]
                    .as_str()
                    .is_some_and(|r| r.contains("AWS_"))
        })
        .unwrap_or_else(|| panic!("no Env secret: {report:#}"));
    assert!(
        secret["location"]["members"][0]
            .as_str()
            .unwrap()
            .starts_with("config (sha256:")
    );
    assert!(
        !report
            .to_string()
            .contains(concat!("q8Vd2kR7pLm3Xn9Tz4", "Bw6Yc1Hf5Js0Ga8Ue2Wi7O"))
    );
}

#[test]
fn a_clean_image_with_a_non_root_user_passes() {
    let temp = tempfile::tempdir().unwrap();
    let spec = Spec::new(vec![tar(&[
        Item::Dir("app/"),
        Item::File("app/serve.py", b"print('serving')\n"),
    ])]);
    let image = write(temp.path(), "oci.tar", &archive(&oci_layout(&spec)));
    let (code, report) = scan_json(temp.path(), &[image.to_str().unwrap()]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["findings"], json!([]));
}

fn multi_arch(dir: &Path) -> PathBuf {
    let mut amd64 = Spec::new(vec![tar(&[Item::File("app/serve.py", b"print(1)\n")])]);
    amd64.user = "1000";
    let mut arm64 = Spec::new(vec![tar(&[Item::File("app/model.pkl", MALICIOUS_PICKLE)])]);
    arm64.platform = ("linux", "arm64");
    let mut blobs = Blobs::default();
    let manifests = vec![blobs.add_image(&amd64), blobs.add_image(&arm64)];
    write(dir, "multi.tar", &archive(&blobs.layout(manifests)))
}

#[test]
fn platform_selects_from_a_multi_arch_index() {
    let temp = tempfile::tempdir().unwrap();
    let image = multi_arch(temp.path());
    let path = image.to_str().unwrap();
    rampart_in(temp.path())
        .args(["scan", "--no-config", path])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--platform"))
        .stderr(predicate::str::contains("linux/arm64"));
    let (code, _) = scan_json(temp.path(), &["--platform", "linux/amd64", path]);
    assert_eq!(code, 0);
    let (code, report) = scan_json(temp.path(), &["--platform", "linux/arm64", path]);
    assert_eq!(code, 1);
    assert!(
        rule_ids(&report).iter().any(|id| id.starts_with("pickle/")),
        "{report:#}"
    );
    rampart_in(temp.path())
        .args(["scan", "--no-config", "--platform", "linux/s390x", path])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "no manifest for platform linux/s390x",
        ));
    rampart_in(temp.path())
        .args(["scan", "--no-config", "--platform", "linux/amd64", "."])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no PATH is an image"));
}

#[test]
fn a_corrupt_image_is_an_input_error_not_a_panic() {
    let temp = tempfile::tempdir().unwrap();
    let spec = Spec::new(vec![tar(&[Item::File("a", b"a")])]);
    let mut files = oci_layout(&spec);
    for (name, bytes) in &mut files {
        if name.starts_with("blobs/") && bytes.starts_with(b"{") && bytes.len() > 10 {
            bytes.truncate(bytes.len() / 2);
        }
    }
    let image = write(temp.path(), "broken.tar", &archive(&files));
    rampart_in(temp.path())
        .args(["scan", "--no-config", image.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read the container image"))
        .stderr(predicate::str::contains("panicked").not());
    // A layer cut short: the image opens, the damage is a fail-closed finding.
    let mut files = oci_layout(&spec);
    for (name, bytes) in &mut files {
        if name.starts_with("blobs/") && bytes.starts_with(&[0x1f, 0x8b]) {
            bytes.truncate(bytes.len() / 2);
        }
    }
    let image = write(temp.path(), "cut.tar", &archive(&files));
    let (code, report) = scan_json(temp.path(), &[image.to_str().unwrap()]);
    assert_eq!(code, 1, "{report:#}");
    assert!(!findings_of(&report, "image/blob-digest-mismatch").is_empty());
}

const OS_RELEASE: &[u8] =
    b"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nID=debian\n";

fn dpkg_status(openssl: &str) -> Vec<u8> {
    format!(
        "Package: openssl\nStatus: install ok installed\nArchitecture: amd64\nVersion: {openssl}\nDescription: Secure Sockets Layer toolkit\n\n\
         Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\nSource: openssl\nVersion: {openssl}\nDescription: Secure Sockets Layer toolkit - shared libraries\n\n\
         Package: zlib1g\nStatus: install ok installed\nArchitecture: amd64\nSource: zlib\nVersion: 1:1.2.13.dfsg-1\nDescription: compression library - runtime\n"
    )
    .into_bytes()
}

/// A Debian 12 image with a dpkg database and one Python distribution in site-packages.
fn debian_image(dir: &Path, name: &str, openssl: &str) -> PathBuf {
    let status = dpkg_status(openssl);
    let spec = Spec::new(vec![
        tar(&[
            Item::File("usr/lib/os-release", OS_RELEASE),
            Item::Symlink("etc/os-release", "../usr/lib/os-release"),
            Item::File("var/lib/dpkg/status", &status),
        ]),
        tar(&[Item::File(
            "usr/local/lib/python3.12/site-packages/requests-2.32.3.dist-info/METADATA",
            b"Metadata-Version: 2.1\nName: requests\nVersion: 2.32.3\nSummary: Python HTTP for Humans.\n",
        )]),
    ]);
    write(dir, name, &docker_save(&spec))
}

#[test]
fn sbom_of_an_image_lists_debian_and_python_packages() {
    let temp = tempfile::tempdir().unwrap();
    let image = debian_image(temp.path(), "server.tar", "3.0.15-1~deb12u1");
    let output = rampart_in(temp.path())
        .args(["sbom", image.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let document: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(document["specVersion"], "1.6");
    let purls: Vec<&str> = document["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["purl"].as_str())
        .collect();
    for wanted in [
        "pkg:deb/debian/openssl@3.0.15-1~deb12u1?arch=amd64&distro=debian-12",
        "pkg:deb/debian/libssl3@3.0.15-1~deb12u1?arch=amd64&distro=debian-12",
        "pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1?arch=amd64&distro=debian-12",
        "pkg:pypi/requests@2.32.3",
    ] {
        assert!(purls.contains(&wanted), "{wanted} missing: {purls:#?}");
    }
    let root = &document["metadata"]["component"];
    assert_eq!(root["type"], "container");
    assert!(
        root["purl"]
            .as_str()
            .unwrap()
            .starts_with("pkg:oci/model-server@sha256%3A")
    );
    let spdx = rampart_in(temp.path())
        .args(["sbom", "--format", "spdx", image.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(spdx.status.success());
    let spdx: Value = serde_json::from_slice(&spdx.stdout).unwrap();
    assert_eq!(spdx["packages"][0]["primaryPackagePurpose"], "CONTAINER");
}

fn os_advisories() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/rampart-advisories/tests/fixtures/os")
}

fn audit_json(dir: &Path, image: &Path) -> (i32, Value) {
    let output = rampart_in(dir)
        .args(["audit", "--no-config", "--format", "json", "--db"])
        .arg(os_advisories())
        .arg(image)
        .output()
        .unwrap();
    let report = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr)));
    (output.status.code().unwrap(), report)
}

#[test]
fn audit_of_an_image_matches_debian_advisories_by_source_package() {
    let temp = tempfile::tempdir().unwrap();
    let vulnerable = debian_image(temp.path(), "old.tar", "3.0.11-1~deb12u2");
    let (code, report) = audit_json(temp.path(), &vulnerable);
    assert_eq!(code, 1, "{report:#}");
    let vulnerabilities = findings_of(&report, "audit/vulnerable-package");
    assert_eq!(
        vulnerabilities.len(),
        2,
        "openssl and libssl3 (source openssl): {report:#}"
    );
    for finding in &vulnerabilities {
        let message = finding["message"].as_str().unwrap();
        assert!(message.contains("DEBIAN-CVE-2024-5535"), "{message}");
        assert!(
            finding["remediation"]
                .as_str()
                .unwrap()
                .contains("3.0.15-1~deb12u1"),
            "{finding:#}"
        );
    }
    assert!(vulnerabilities.iter().any(|f| {
        f["message"]
            .as_str()
            .unwrap()
            .contains("libssl3 (source openssl)")
    }));
    assert!(findings_of(&report, "audit/typosquat").is_empty());

    // The image's SBOM audits the same way.
    let sbom = temp.path().join("old.cdx.json");
    rampart_in(temp.path())
        .args(["sbom", "-o"])
        .arg(&sbom)
        .arg(&vulnerable)
        .assert()
        .success();
    let (code, report) = audit_json(temp.path(), &sbom);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(findings_of(&report, "audit/vulnerable-package").len(), 2);

    let fixed = debian_image(temp.path(), "new.tar", "3.0.15-1~deb12u1");
    let (code, report) = audit_json(temp.path(), &fixed);
    assert_eq!(code, 0, "{report:#}");
    assert!(findings_of(&report, "audit/vulnerable-package").is_empty());
    assert!(
        findings_of(&report, "audit/unchecked-package").is_empty(),
        "{report:#}"
    );
}

/// A Rocky Linux 9 image whose rpm database (`rpmdb.sqlite`, WAL mode as rpm leaves it)
/// holds `openssl-libs` at `openssl_release` (epoch 1), `bash` and an imported signing key.
fn rocky_image(dir: &Path, name: &str, openssl_release: &str) -> PathBuf {
    use rampart_inventory::fuzzing::{rpm_header_blob, rpmdb_sqlite};
    let source_rpm = format!("openssl-3.0.7-{openssl_release}.src.rpm");
    let openssl = rpm_header_blob(
        &[
            (1000, "openssl-libs"),
            (1001, "3.0.7"),
            (1002, openssl_release),
            (1014, "ASL 2.0"),
            (1022, "x86_64"),
            (1044, &source_rpm),
        ],
        Some(1),
    );
    let bash = rpm_header_blob(
        &[
            (1000, "bash"),
            (1001, "5.1.8"),
            (1002, "9.el9"),
            (1014, "GPLv3+"),
            (1022, "x86_64"),
            (1044, "bash-5.1.8-9.el9.src.rpm"),
        ],
        None,
    );
    let key = rpm_header_blob(
        &[(1000, "gpg-pubkey"), (1001, "350d275d"), (1002, "6279464b")],
        None,
    );
    let database = rpmdb_sqlite(&[openssl, bash, key], true);
    assert!(!database.is_empty());
    let spec = Spec::new(vec![tar(&[
        Item::File(
            "etc/os-release",
            b"NAME=\"Rocky Linux\"\nVERSION=\"9.3 (Blue Onyx)\"\nID=\"rocky\"\nVERSION_ID=\"9.3\"\n",
        ),
        Item::File("var/lib/rpm/rpmdb.sqlite", &database),
        // What rpm leaves after a clean close: an empty write-ahead log.
        Item::File("var/lib/rpm/rpmdb.sqlite-wal", b""),
    ])]);
    write(dir, name, &docker_save(&spec))
}

#[test]
fn rpm_packages_are_inventoried_and_audited_by_source_package() {
    let temp = tempfile::tempdir().unwrap();
    let old = rocky_image(temp.path(), "rocky-old.tar", "24.el9");
    let output = rampart_in(temp.path())
        .args(["sbom", old.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let document: Value = serde_json::from_slice(&output.stdout).unwrap();
    let components = document["components"].as_array().unwrap();
    let purls: Vec<&str> = components
        .iter()
        .filter_map(|c| c["purl"].as_str())
        .collect();
    assert!(
        purls.contains(
            &"pkg:rpm/rocky/openssl-libs@3.0.7-24.el9?arch=x86_64&distro=rocky-9.3&epoch=1"
        ),
        "{purls:#?}"
    );
    assert!(
        purls.contains(&"pkg:rpm/rocky/bash@5.1.8-9.el9?arch=x86_64&distro=rocky-9.3"),
        "{purls:#?}"
    );
    assert!(
        !purls.iter().any(|p| p.contains("gpg-pubkey")),
        "{purls:#?}"
    );

    let advisories = temp.path().join("osv");
    fs::create_dir(&advisories).unwrap();
    fs::write(
        advisories.join("RLSA-2024-0001.json"),
        json!({
            "id": "RLSA-2024:0001",
            "modified": "2024-01-10T00:00:00Z",
            "aliases": ["CVE-2023-5678"],
            "summary": "openssl: excessive time spent in DH check",
            "affected": [{
                "package": {"ecosystem": "Rocky Linux:9", "name": "openssl"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1:3.0.7-25.el9"}]}]
            }]
        })
        .to_string(),
    )
    .unwrap();
    let audit = |image: &Path| -> (i32, Value) {
        let output = rampart_in(temp.path())
            .args(["audit", "--no-config", "--format", "json", "--db"])
            .arg(&advisories)
            .arg(image)
            .output()
            .unwrap();
        let report = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr)));
        (output.status.code().unwrap(), report)
    };
    let (code, report) = audit(&old);
    assert_eq!(code, 1, "{report:#}");
    let vulnerable = findings_of(&report, "audit/vulnerable-package");
    assert_eq!(vulnerable.len(), 1, "{report:#}");
    let message = vulnerable[0]["message"].as_str().unwrap();
    assert!(message.contains("RLSA-2024:0001"), "{message}");
    assert!(
        message.contains("openssl-libs (source openssl)"),
        "{message}"
    );
    assert_eq!(
        rule_ids(&report),
        ["audit/vulnerable-package"],
        "{report:#}"
    );

    // The image's SBOM audits the same way (the epoch comes back from the version field).
    let sbom = temp.path().join("rocky-old.cdx.json");
    rampart_in(temp.path())
        .args(["sbom", "-o"])
        .arg(&sbom)
        .arg(&old)
        .assert()
        .success();
    let (code, report) = audit(&sbom);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(
        findings_of(&report, "audit/vulnerable-package").len(),
        1,
        "{report:#}"
    );

    // The fixed release (`-27` > `-25` with the same epoch) passes.
    let fixed = rocky_image(temp.path(), "rocky-new.tar", "27.el9");
    let (code, report) = audit(&fixed);
    assert_eq!(code, 0, "{report:#}");
    assert!(
        findings_of(&report, "audit/vulnerable-package").is_empty(),
        "{report:#}"
    );
}

#[test]
fn an_rpm_database_that_cannot_be_read_is_a_finding_naming_it() {
    let temp = tempfile::tempdir().unwrap();
    let spec = Spec::new(vec![tar(&[
        Item::File("etc/os-release", b"ID=\"almalinux\"\nVERSION_ID=\"9.4\"\n"),
        Item::File(
            "usr/lib/sysimage/rpm/rpmdb.sqlite",
            b"SQLite format 3\0truncated",
        ),
        Item::File("var/lib/rpm/Packages", b"\0\0\0\0\x61\x15\x06\0"),
    ])]);
    let image = write(temp.path(), "alma.tar", &docker_save(&spec));
    let (_, report) = audit_json(temp.path(), &image);
    let messages: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{} {} {}", f["rule_id"], f["location"], f["message"]))
        .collect();
    assert!(
        messages.iter().any(|m| m.contains("rpmdb.sqlite")
            && m.contains("the rpm database could not be read")),
        "{messages:#?}"
    );
    // A BerkeleyDB database cut short after its magic: read as one, and malformed at its start.
    assert!(
        messages.iter().any(|m| m.contains("scan/malformed")
            && m.contains("var/lib/rpm/Packages@0")
            && m.contains("no BerkeleyDB metadata page")),
        "{messages:#?}"
    );
}
