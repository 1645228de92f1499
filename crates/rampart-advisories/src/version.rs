//! Package names and versions as PyPI compares them: PEP 503 names, PEP 440 versions.

use std::str::FromStr;

pub use pep440_rs::Version;

/// The PEP 503 form of a project name: lower case, every run of `-`, `_` and `.` one `-`.
/// `zope.interface`, `Zope_Interface` and `zope-interface` are the same project.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_separator = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_separator {
                out.push('-');
            }
            in_separator = true;
        } else {
            out.extend(c.to_lowercase());
            in_separator = false;
        }
    }
    out
}

/// Parses a PEP 440 version (non-normalised spellings such as `2.12.0.a1`, `1.0-beta` or
/// `0.1.2-1` included) and drops its local label: advisories are about public releases,
/// so `2.1.0+cu118` is checked as `2.1.0`.
pub fn parse_public_version(raw: &str) -> Result<Version, pep440_rs::VersionParseError> {
    Version::from_str(raw).map(Version::without_local)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(raw: &str) -> Version {
        parse_public_version(raw).unwrap()
    }

    #[test]
    fn names_normalise_per_pep_503() {
        assert_eq!(normalize_name("zope.interface"), "zope-interface");
        assert_eq!(normalize_name("PyYAML"), "pyyaml");
        assert_eq!(normalize_name("typing__extensions"), "typing-extensions");
        assert_eq!(normalize_name("a-_.b"), "a-b");
        assert_eq!(normalize_name(" Django "), "django");
    }

    /// The spellings notes §7 found in real advisories.
    #[test]
    fn non_normalised_spellings_parse_to_their_normal_form() {
        for (raw, normal) in [
            ("2.12.0.a1", "2.12.0a1"),
            ("2.12.0c1", "2.12.0rc1"),
            ("1.2.0-rc2", "1.2.0rc2"),
            ("0.1.2-1", "0.1.2.post1"),
            ("1.0.beta", "1.0b0"),
            ("1.1alpha", "1.1a0"),
            ("1.0preview2", "1.0rc2"),
            ("1.0pre1", "1.0rc1"),
            ("0.12.01", "0.12.1"),
            ("v1.0", "1.0"),
        ] {
            assert_eq!(v(raw).to_string(), normal, "{raw}");
        }
        assert_eq!(v("2022.12.07"), v("2022.12.7"));
    }

    #[test]
    fn invalid_versions_are_errors() {
        for raw in [
            "0.3.2d",
            "0.3.2d.dev",
            "3.0.0b3-",
            "0.2.0-n653",
            "2019-09-12",
            "",
            "x",
        ] {
            assert!(parse_public_version(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn ordering_follows_pep_440() {
        let ordered = [
            "1.0.dev0",
            "1.0a1",
            "1.0b2",
            "1.0rc1",
            "1.0",
            "1.0.post1",
            "1.1",
            "3.0",
            "1!0.1",
        ];
        for pair in ordered.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
        assert_eq!(v("1.0"), v("1.0.0"));
        assert_eq!(v("2023.3.post1").post(), Some(1));
    }

    #[test]
    fn local_versions_compare_as_their_public_version() {
        assert_eq!(v("2.1.0+cu118"), v("2.1.0"));
        assert_eq!(v("1.0+cpu").to_string(), "1.0");
    }
}
