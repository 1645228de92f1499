//! Validation of everything a client names: namespaces, models, versions, stages, users,
//! digests and the file paths of a manifest. Anything that reaches the store or the file
//! system has passed one of these checks.

use std::collections::BTreeSet;
use std::fmt;

use crate::Error;

/// Longest namespace, model, stage or user name.
pub const MAX_NAME_LEN: usize = 64;
/// Longest version string.
pub const MAX_VERSION_LEN: usize = 128;
/// Longest file path in a manifest, in bytes.
pub const MAX_PATH_LEN: usize = 1024;
/// Most files in one version.
pub const MAX_FILES: usize = 10_000;

/// `[a-z0-9][a-z0-9._-]{0,63}`: namespaces, models, stages and users.
pub fn check_name(kind: &str, name: &str) -> Result<(), Error> {
    let mut bytes = name.bytes();
    let valid_first = bytes
        .next()
        .is_some_and(|first| first.is_ascii_lowercase() || first.is_ascii_digit());
    let valid_rest = bytes.all(|byte| {
        byte.is_ascii_lowercase() || byte.is_ascii_digit() || matches!(byte, b'.' | b'_' | b'-')
    });
    if valid_first && valid_rest && name.len() <= MAX_NAME_LEN {
        Ok(())
    } else {
        Err(Error::BadRequest(format!(
            "invalid {kind} name {name:?}: use 1 to {MAX_NAME_LEN} characters of a-z, 0-9, `.`, `_` and `-`, starting with a letter or digit"
        )))
    }
}

/// A version: `[A-Za-z0-9][A-Za-z0-9._+-]{0,127}` (semver and most other schemes fit).
pub fn check_version(version: &str) -> Result<(), Error> {
    let mut bytes = version.bytes();
    let valid_first = bytes
        .next()
        .is_some_and(|first| first.is_ascii_alphanumeric());
    let valid_rest =
        bytes.all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-' | b'+'));
    if valid_first && valid_rest && version.len() <= MAX_VERSION_LEN {
        Ok(())
    } else {
        Err(Error::BadRequest(format!(
            "invalid version {version:?}: use 1 to {MAX_VERSION_LEN} characters of A-Z, a-z, 0-9, `.`, `_`, `+` and `-`, starting with a letter or digit"
        )))
    }
}

/// A manifest file path: relative, `/`-separated, no empty, `.` or `..` components, no
/// backslash, NUL or other control characters, at most [`MAX_PATH_LEN`] bytes.
pub fn check_file_path(path: &str) -> Result<(), Error> {
    let problem = if path.is_empty() {
        Some("is empty")
    } else if path.len() > MAX_PATH_LEN {
        Some("is too long")
    } else if path.starts_with('/') {
        Some("is absolute")
    } else if path.contains('\\') {
        Some("contains a backslash")
    } else if path.chars().any(char::is_control) {
        Some("contains a control character (NUL, newline, ...)")
    } else if path
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == "..")
    {
        Some("has an empty, `.` or `..` component")
    } else if path
        .split('/')
        .next()
        .is_some_and(|first| first.ends_with(':'))
    {
        Some("looks like a drive or URL prefix")
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some(problem) => Err(Error::BadRequest(format!(
            "file path {path:?} {problem}: paths must be relative, `/`-separated and stay inside the model"
        ))),
    }
}

/// Checks a whole file list: every path valid, no duplicates, no file that is also a
/// directory of another (`a` and `a/b`), at most [`MAX_FILES`] entries, at least one.
pub fn check_file_list<'a>(paths: impl IntoIterator<Item = &'a str>) -> Result<(), Error> {
    let mut seen = BTreeSet::new();
    for path in paths {
        check_file_path(path)?;
        if !seen.insert(path) {
            return Err(Error::BadRequest(format!(
                "file path {path:?} is listed twice"
            )));
        }
        if seen.len() > MAX_FILES {
            return Err(Error::BadRequest(format!(
                "a version may have at most {MAX_FILES} files"
            )));
        }
    }
    if seen.is_empty() {
        return Err(Error::BadRequest(
            "a version needs at least one file".to_owned(),
        ));
    }
    for path in &seen {
        let mut prefix = String::new();
        for part in path.split('/') {
            if !prefix.is_empty() && seen.contains(prefix.as_str()) {
                return Err(Error::BadRequest(format!(
                    "file path {path:?} is inside {prefix:?}, which is listed as a file"
                )));
            }
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(part);
        }
    }
    Ok(())
}

/// A SHA-256 digest, written `sha256:<64 lower-case hex>`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// Parses `sha256:<64 lower-case hex digits>`.
    pub fn parse(text: &str) -> Result<Digest, Error> {
        let invalid = || {
            Error::BadRequest(format!(
                "invalid digest {text:?}: expected `sha256:` and 64 lower-case hex digits"
            ))
        };
        let hex_part = text.strip_prefix("sha256:").ok_or_else(invalid)?;
        if hex_part.len() != 64 || hex_part.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(invalid());
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut bytes).map_err(|_| invalid())?;
        Ok(Digest(bytes))
    }

    /// The 64 hex digits without the algorithm prefix.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Digest::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> Digest {
    use sha2::Digest as _;
    Digest(sha2::Sha256::digest(bytes).into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_accept_the_documented_alphabet_only() {
        for good in ["a", "fraud-detector", "team.ml_2", "0"] {
            assert!(check_name("model", good).is_ok(), "{good}");
        }
        for bad in ["", "A", "-a", ".a", "a/b", "a b", "é", &"a".repeat(65)] {
            assert!(check_name("model", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn versions_allow_semver_and_reject_path_characters() {
        for good in ["1.0.0", "1.0.0-rc.1+build.5", "v2", "2026_11_23"] {
            assert!(check_version(good).is_ok(), "{good}");
        }
        for bad in ["", "-1", "1/2", "..", "1 0", "1\0"] {
            assert!(check_version(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn file_paths_cannot_leave_the_model() {
        for good in [
            "model.safetensors",
            "a/b/c.bin",
            "weird name.txt",
            "..a/b..",
        ] {
            assert!(check_file_path(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a/./b",
            "a//b",
            "a/",
            "a\\b",
            "a\0b",
            "c:/x",
            "a\nb",
        ] {
            assert!(check_file_path(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn file_lists_reject_duplicates_and_file_directory_clashes() {
        assert!(check_file_list(["a", "b/c"]).is_ok());
        assert!(check_file_list(["a", "a"]).is_err());
        assert!(check_file_list(["a", "a/b"]).is_err());
        assert!(check_file_list(["x/a", "x/a/b"]).is_err());
        assert!(check_file_list(std::iter::empty()).is_err());
    }

    #[test]
    fn digests_round_trip_and_reject_other_forms() {
        let digest = sha256(b"hello");
        assert_eq!(Digest::parse(&digest.to_string()).ok(), Some(digest));
        for bad in [
            "sha256:abc",
            "sha512:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
            "sha256:2CF24DBA5FB0A30E26E83B2AC5B9E29E1B161E5C1FA7425E73043362938B9824",
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
        ] {
            assert!(Digest::parse(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn accepted_paths_never_escape(path in "[a-z./\\\\:\\x00]{0,12}") {
            if check_file_path(&path).is_ok() {
                let joined = std::path::Path::new("/base").join(&path);
                let mut depth = 0i32;
                for component in joined.components().skip(2) {
                    match component {
                        std::path::Component::Normal(_) => depth += 1,
                        _ => depth -= 1,
                    }
                    prop_assert!(depth >= 0);
                }
                prop_assert!(joined.starts_with("/base"));
            }
        }

        #[test]
        fn validators_never_panic(text in "\\PC{0,80}") {
            let _ = check_name("x", &text);
            let _ = check_version(&text);
            let _ = check_file_path(&text);
            let _ = Digest::parse(&text);
        }
    }
}
