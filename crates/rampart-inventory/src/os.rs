//! OS package databases as a container image holds them: dpkg's `status` (and distroless
//! `status.d/` files), apk's `installed`, and the `os-release` file naming the distribution
//! (rpm's database is `rpm.rs`).
//! Only the fields an inventory needs are read; everything else is skipped.

use rampart_core::Location;

use crate::inventory::{Distro, Ecosystem, OsPackage, Package, SourceFormat};
use crate::problem::{Problem, ProblemKind};

/// Reads `os-release`: `ID`, `VERSION_ID`, `VERSION_CODENAME` (values may be quoted).
pub(crate) fn parse_os_release(text: &str) -> Option<Distro> {
    let mut distro = Distro::default();
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value
            .trim()
            .trim_matches(|c| c == '"' || c == '\'')
            .to_owned();
        match key.trim() {
            "ID" => distro.id = value.to_ascii_lowercase(),
            "VERSION_ID" if !value.is_empty() => distro.version_id = Some(value),
            "VERSION_CODENAME" if !value.is_empty() => distro.codename = Some(value),
            _ => {}
        }
    }
    (!distro.id.is_empty()).then_some(distro)
}

impl Distro {
    /// The purl `distro` qualifier for a package of this distribution: `debian-12` style
    /// for dpkg-based ones, the plain `VERSION_ID` for Alpine (as Trivy writes them).
    fn purl_distro(&self, ecosystem: Ecosystem) -> Option<String> {
        let version = self.version_id.as_deref()?;
        Some(match ecosystem {
            Ecosystem::Apk => version.to_owned(),
            _ => format!("{}-{version}", self.id),
        })
    }

    /// The OSV ecosystem of the distribution's advisories: `Debian:12`, `Ubuntu:22.04`,
    /// `Alpine:v3.20`, `Rocky Linux:9`, `AlmaLinux:9`, `openSUSE:Leap 15.5`,
    /// `SUSE:Linux Enterprise Server 15 SP5` (the osv-schema's ecosystem table). Red Hat's
    /// advisories are scoped by product CPE, which os-release does not name: none.
    pub(crate) fn advisory_ecosystem(&self) -> Option<String> {
        if self.id == "opensuse-tumbleweed" {
            return Some("openSUSE:Tumbleweed".to_owned());
        }
        let version = self.version_id.as_deref()?;
        let major = version.split('.').next().unwrap_or(version);
        match self.id.as_str() {
            "rocky" => Some(format!("Rocky Linux:{major}")),
            "almalinux" => Some(format!("AlmaLinux:{major}")),
            "opensuse-leap" => Some(format!("openSUSE:Leap {version}")),
            "sles" => Some(match version.split_once('.') {
                Some((major, service_pack)) if service_pack != "0" => {
                    format!("SUSE:Linux Enterprise Server {major} SP{service_pack}")
                }
                _ => format!("SUSE:Linux Enterprise Server {major}"),
            }),
            "debian" => Some(format!(
                "Debian:{}",
                version.split('.').next().unwrap_or(version)
            )),
            "ubuntu" => Some(format!("Ubuntu:{version}")),
            "alpine" => {
                let mut parts = version.split('.');
                let major = parts.next()?;
                let minor = parts.next()?;
                Some(format!("Alpine:v{major}.{minor}"))
            }
            _ => None,
        }
    }

    pub(crate) fn os_package(&self, ecosystem: Ecosystem) -> OsPackage {
        OsPackage {
            namespace: self.id.clone(),
            distro: self.purl_distro(ecosystem),
            advisory_ecosystem: self.advisory_ecosystem(),
            ..OsPackage::default()
        }
    }
}

/// The namespace used when no os-release names the distribution.
pub(crate) fn fallback_distro(ecosystem: Ecosystem) -> Distro {
    Distro {
        id: match ecosystem {
            Ecosystem::Apk => "alpine",
            // No distribution is implied by rpm itself; `redhat` is what Trivy falls back to.
            Ecosystem::Rpm => "redhat",
            _ => "debian",
        }
        .to_owned(),
        ..Distro::default()
    }
}

/// One stanza of a dpkg or apk database: `(key, value, line)` with continuation lines
/// folded into the value.
struct Stanza<'t> {
    fields: Vec<(&'t str, String, u32)>,
    line: u32,
}

impl Stanza<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v, _)| v.as_str())
    }
}

/// Splits `text` at blank lines into stanzas of `separator`-separated fields (`: ` for
/// dpkg, `:` for apk). At most `max` stanzas are returned; the flag says more were cut.
fn stanzas(text: &str, separator: char, max: u64) -> (Vec<Stanza<'_>>, bool) {
    let mut out: Vec<Stanza<'_>> = Vec::new();
    let mut current: Option<Stanza<'_>> = None;
    for (index, line) in text.lines().enumerate() {
        let number = u32::try_from(index + 1).unwrap_or(u32::MAX);
        if line.trim().is_empty() {
            if let Some(stanza) = current.take() {
                if out.len() as u64 >= max {
                    return (out, true);
                }
                out.push(stanza);
            }
            continue;
        }
        let stanza = current.get_or_insert_with(|| Stanza {
            fields: Vec::new(),
            line: number,
        });
        if line.starts_with([' ', '\t']) {
            // A continuation (dpkg descriptions, conffiles): only the first line matters.
            continue;
        }
        if let Some((key, value)) = line.split_once(separator) {
            stanza
                .fields
                .push((key.trim(), value.trim().to_owned(), number));
        }
    }
    if let Some(stanza) = current {
        if out.len() as u64 >= max {
            return (out, true);
        }
        out.push(stanza);
    }
    (out, false)
}

/// Packages of a dpkg `status` file (only those whose `Status` says installed) or of a
/// distroless `status.d/` file (no `Status` field: installed by construction).
pub(crate) fn parse_dpkg(
    text: &str,
    location: &Location,
    distro: Option<&Distro>,
    max_entries: u64,
    problems: &mut Vec<Problem>,
) -> Vec<Package> {
    let fallback = fallback_distro(Ecosystem::Deb);
    let distro = distro.unwrap_or(&fallback);
    let (stanzas, cut) = stanzas(text, ':', max_entries);
    if cut {
        problems.push(limit_problem(location, max_entries));
    }
    let mut packages = Vec::new();
    for stanza in stanzas {
        let here = location.at_line(stanza.line, None);
        let installed = stanza.get("Status").is_none_or(|status| {
            let mut words = status.split_whitespace();
            words.nth(2) == Some("installed")
        });
        if !installed {
            continue;
        }
        let non_empty = |key| stanza.get(key).filter(|value| !value.is_empty());
        let (Some(name), Some(version)) = (non_empty("Package"), non_empty("Version")) else {
            problems.push(Problem::new(
                ProblemKind::Malformed,
                here,
                "dpkg entry without Package or Version; it was not inventoried".to_owned(),
            ));
            continue;
        };
        let mut package = Package::named(name, SourceFormat::DpkgStatus, here);
        // Debian names are already lower case; PEP 503 normalisation would merge `-`/`.`.
        package.normalized_name = name.to_ascii_lowercase();
        package.ecosystem = Ecosystem::Deb;
        package.version = Some(version.to_owned());
        package.summary = stanza.get("Description").map(str::to_owned);
        package.homepage = stanza.get("Homepage").map(str::to_owned);
        let mut os = distro.os_package(Ecosystem::Deb);
        os.arch = stanza.get("Architecture").map(str::to_owned);
        // `Source: openssl` or `Source: gcc-12 (12.2.0-14)` when the versions differ.
        let (source_name, source_version) = match stanza.get("Source") {
            Some(source) => match source.split_once('(') {
                Some((source_name, rest)) => (
                    source_name.trim().to_owned(),
                    Some(rest.trim_end_matches(')').trim().to_owned()),
                ),
                None => (source.trim().to_owned(), None),
            },
            None => (name.to_owned(), None),
        };
        os.source_name = Some(source_name);
        os.source_version = source_version;
        package.os = Some(os);
        packages.push(package);
    }
    packages
}

/// Packages of apk's `installed` database (`P:` name, `V:` version, `A:` arch, `o:` origin).
pub(crate) fn parse_apk(
    text: &str,
    location: &Location,
    distro: Option<&Distro>,
    max_entries: u64,
    problems: &mut Vec<Problem>,
) -> Vec<Package> {
    let fallback = fallback_distro(Ecosystem::Apk);
    let distro = distro.unwrap_or(&fallback);
    let (stanzas, cut) = stanzas(text, ':', max_entries);
    if cut {
        problems.push(limit_problem(location, max_entries));
    }
    let mut packages = Vec::new();
    for stanza in stanzas {
        let here = location.at_line(stanza.line, None);
        // apk keys are case-sensitive single letters (`P` name, `p` provides).
        let get = |key: &str| {
            stanza
                .fields
                .iter()
                .find(|(k, _, _)| *k == key)
                .map(|(_, v, _)| v.as_str())
                .filter(|value| !value.is_empty())
        };
        let (Some(name), Some(version)) = (get("P"), get("V")) else {
            problems.push(Problem::new(
                ProblemKind::Malformed,
                here,
                "apk entry without P: (name) or V: (version); it was not inventoried".to_owned(),
            ));
            continue;
        };
        let mut package = Package::named(name, SourceFormat::ApkInstalled, here);
        package.normalized_name = name.to_ascii_lowercase();
        package.ecosystem = Ecosystem::Apk;
        package.version = Some(version.to_owned());
        package.summary = get("T").map(str::to_owned);
        package.homepage = get("U").map(str::to_owned);
        package.license_name = get("L").map(str::to_owned);
        let mut os = distro.os_package(Ecosystem::Apk);
        os.arch = get("A").map(str::to_owned);
        os.source_name = Some(get("o").unwrap_or(name).to_owned());
        package.os = Some(os);
        packages.push(package);
    }
    packages
}

fn limit_problem(location: &Location, max_entries: u64) -> Problem {
    Problem::new(
        ProblemKind::LimitExceeded,
        location.clone(),
        format!(
            "the package database has more than max_metadata_entries ({max_entries}) entries; the \
             rest were not inventoried"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const DPKG_STATUS: &str = "\
Package: openssl
Status: install ok installed
Priority: optional
Architecture: amd64
Multi-Arch: foreign
Source: openssl
Version: 3.0.15-1~deb12u1
Depends: libc6 (>= 2.34), libssl3 (>= 3.0.9)
Conffiles:
 /etc/ssl/openssl.cnf 1234
Description: Secure Sockets Layer toolkit - cryptographic utility
 This package is part of the OpenSSL project's implementation.
Homepage: https://www.openssl.org/

Package: libgcc-s1
Status: install ok installed
Architecture: amd64
Source: gcc-12 (12.2.0-14)
Version: 12.2.0-14
Description: GCC support library

Package: removed-thing
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0-1
Description: gone
";

    fn debian() -> Distro {
        parse_os_release(
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n",
        )
        .expect("parses")
    }

    #[test]
    fn reads_installed_dpkg_packages_with_source_names() {
        let mut problems = Vec::new();
        let packages = parse_dpkg(
            DPKG_STATUS,
            &Location::file("status"),
            Some(&debian()),
            100,
            &mut problems,
        );
        assert!(problems.is_empty(), "{problems:?}");
        let names: Vec<&str> = packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["openssl", "libgcc-s1"]);
        let openssl = &packages[0];
        assert_eq!(openssl.version.as_deref(), Some("3.0.15-1~deb12u1"));
        assert_eq!(openssl.location.line, Some(1));
        let os = openssl.os.as_ref().expect("os facts");
        assert_eq!(os.distro.as_deref(), Some("debian-12"));
        assert_eq!(os.arch.as_deref(), Some("amd64"));
        assert_eq!(os.advisory_ecosystem.as_deref(), Some("Debian:12"));
        assert_eq!(
            openssl.summary.as_deref(),
            Some("Secure Sockets Layer toolkit - cryptographic utility")
        );
        let gcc = packages[1].os.as_ref().expect("os facts");
        assert_eq!(gcc.source_name.as_deref(), Some("gcc-12"));
        assert_eq!(gcc.source_version.as_deref(), Some("12.2.0-14"));
        assert_eq!(packages[1].location.line, Some(15));
    }

    #[test]
    fn reads_apk_installed_and_alpine_ecosystem() {
        let text = "C:Q1abc=\nP:musl\nV:1.2.5-r0\nA:x86_64\nS:383152\nT:the musl c library (libc) implementation\nU:https://musl.libc.org/\nL:MIT\no:musl\n\nC:Q1def=\nP:libcrypto3\nV:3.3.2-r1\nA:x86_64\no:openssl\np:so:libcrypto.so.3=3\n\nP:broken\n";
        let alpine = parse_os_release("NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.20.3\n")
            .expect("parses");
        assert_eq!(alpine.advisory_ecosystem().as_deref(), Some("Alpine:v3.20"));
        let mut problems = Vec::new();
        let packages = parse_apk(
            text,
            &Location::file("installed"),
            Some(&alpine),
            100,
            &mut problems,
        );
        assert_eq!(packages.len(), 2);
        assert_eq!(problems.len(), 1, "the entry without a version is reported");
        let os = packages[1].os.as_ref().expect("os");
        assert_eq!(os.source_name.as_deref(), Some("openssl"));
        assert_eq!(os.distro.as_deref(), Some("3.20.3"));
        assert_eq!(packages[0].license_name.as_deref(), Some("MIT"));
    }

    #[test]
    fn limits_and_garbage_are_reported_not_panics() {
        let mut problems = Vec::new();
        let many = "Package: a\nVersion: 1\n\n".repeat(10);
        let packages = parse_dpkg(&many, &Location::file("s"), None, 3, &mut problems);
        assert_eq!(packages.len(), 3);
        assert_eq!(problems.len(), 1);
        assert_eq!(
            packages[0]
                .os
                .as_ref()
                .and_then(|o| o.advisory_ecosystem.clone()),
            None,
            "no os-release, no advisory ecosystem"
        );
        for text in [
            "",
            ":::\n\n\n",
            "\u{0}\u{1}",
            "Package:\nVersion:\n",
            "P:\nV",
        ] {
            let mut problems = Vec::new();
            let _ = parse_dpkg(text, &Location::file("s"), None, 10, &mut problems);
            let _ = parse_apk(text, &Location::file("s"), None, 10, &mut problems);
        }
        assert!(parse_os_release("NAME=x\n").is_none());
    }

    #[test]
    fn rpm_distributions_map_to_their_osv_ecosystems() {
        for (os_release, ecosystem) in [
            ("ID=\"rocky\"\nVERSION_ID=\"9.3\"\n", Some("Rocky Linux:9")),
            (
                "ID=\"almalinux\"\nVERSION_ID=\"8.10\"\n",
                Some("AlmaLinux:8"),
            ),
            (
                "ID=\"opensuse-leap\"\nVERSION_ID=\"15.5\"\n",
                Some("openSUSE:Leap 15.5"),
            ),
            (
                "ID=\"opensuse-tumbleweed\"\nVERSION_ID=\"20241120\"\n",
                Some("openSUSE:Tumbleweed"),
            ),
            (
                "ID=\"sles\"\nVERSION_ID=\"15.5\"\n",
                Some("SUSE:Linux Enterprise Server 15 SP5"),
            ),
            (
                "ID=\"sles\"\nVERSION_ID=\"15\"\n",
                Some("SUSE:Linux Enterprise Server 15"),
            ),
            // Red Hat's advisories are scoped by product CPE; Fedora has no OSV ecosystem.
            ("ID=\"rhel\"\nVERSION_ID=\"9.4\"\n", None),
            ("ID=fedora\nVERSION_ID=40\n", None),
        ] {
            let distro = parse_os_release(os_release).expect("parses");
            assert_eq!(
                distro.advisory_ecosystem().as_deref(),
                ecosystem,
                "{os_release}"
            );
        }
    }

    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_and_mutated_databases_never_panic(
            text in "\\PC{0,400}",
            cut in 0usize..400,
            insert in "[:\\n P-Vo]{0,4}",
        ) {
            let mut mutated = DPKG_STATUS.to_owned();
            let at = mutated.char_indices().map(|(i, _)| i).nth(cut).unwrap_or(mutated.len());
            mutated.insert_str(at, &insert);
            for input in [text.as_str(), mutated.as_str()] {
                let mut problems = Vec::new();
                let location = Location::file("db");
                let dpkg = parse_dpkg(input, &location, None, 50, &mut problems);
                let apk = parse_apk(input, &location, None, 50, &mut problems);
                prop_assert!(dpkg.len() <= 50 && apk.len() <= 50);
                prop_assert!(dpkg.iter().chain(&apk).all(|p| !p.name.is_empty()));
                let _ = parse_os_release(input);
            }
        }
    }
}
