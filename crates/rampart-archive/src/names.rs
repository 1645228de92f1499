//! Member names: how they are shown, and whether extracting them could write outside the
//! target directory. Shared by the zip and tar readers.

use rampart_core::Severity;

/// A raw member name as text: valid UTF-8 is kept, bytes that are not UTF-8 and control
/// characters are shown as `\xNN`, so names that differ in bytes do not look the same in a
/// report, and a name cannot smuggle terminal escape sequences into one.
pub(crate) fn display(raw: &[u8]) -> String {
    let mut text = String::with_capacity(raw.len());
    for chunk in raw.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() {
                text.push_str(&format!("\\x{:02x}", u32::from(c)));
            } else {
                text.push(c);
            }
        }
        for byte in chunk.invalid() {
            text.push_str(&format!("\\x{byte:02x}"));
        }
    }
    text
}

/// How [`display`] shows a NUL byte.
const SHOWN_NUL: &str = "\\x00";

/// Why a member path is unsafe to extract, with how much it matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PathProblem {
    pub severity: Severity,
    pub reason: &'static str,
}

/// Checks a member path (as [`display`] shows it) the way an extractor would resolve it:
/// absolute paths, drive letters and `..` that climb above the target escape it; a
/// backslash is a directory separator on Windows; a NUL makes tools disagree on the name
/// (Python cuts it there).
pub(crate) fn path_problem(name: &str) -> Option<PathProblem> {
    if name.contains(SHOWN_NUL) {
        return Some(PathProblem {
            severity: Severity::High,
            reason: "contains a NUL byte; Python's zipfile and C tools cut the name there, so \
                     tools disagree on which file this is",
        });
    }
    if name.starts_with('/') || name.starts_with('\\') {
        return Some(PathProblem {
            severity: Severity::High,
            reason: "is an absolute path; extracting it writes outside the target directory",
        });
    }
    let bytes = name.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return Some(PathProblem {
            severity: Severity::High,
            reason: "starts with a Windows drive letter; extracting it on Windows writes \
                     outside the target directory",
        });
    }
    if escapes_root(name) {
        return Some(PathProblem {
            severity: Severity::High,
            reason: "climbs out of the target directory with `..`",
        });
    }
    if name.contains('\\') {
        return Some(PathProblem {
            severity: Severity::Medium,
            reason: "uses a backslash, which Windows extractors treat as a directory \
                     separator",
        });
    }
    None
}

/// Whether the relative path `path` (separators `/` or `\`) resolves above its root.
pub(crate) fn escapes_root(path: &str) -> bool {
    let mut depth: usize = 0;
    for component in path.split(['/', '\\']) {
        match component {
            "" | "." => {}
            ".." => match depth.checked_sub(1) {
                Some(up) => depth = up,
                None => return true,
            },
            _ => depth += 1,
        }
    }
    false
}

/// Whether a symlink at `link` pointing to `target` leads outside the extraction root.
pub(crate) fn link_escapes(link: &str, target: &str) -> bool {
    if target.starts_with('/') || target.starts_with('\\') {
        return true;
    }
    let parent = link
        .trim_end_matches('/')
        .rsplit_once('/')
        .map_or("", |(dir, _)| dir);
    escapes_root(&format!("{parent}/{target}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_invalid_utf8_escaped() {
        assert_eq!(display(b"archive/data.pkl"), "archive/data.pkl");
        assert_eq!(display("caf\u{e9}".as_bytes()), "caf\u{e9}");
        assert_eq!(display(b"a\xff\xfeb"), "a\\xff\\xfeb");
        assert_eq!(display(b"red\x1b[31m\0"), "red\\x1b[31m\\x00");
    }

    #[test]
    fn flags_escaping_paths_only() {
        for bad in [
            "/etc/passwd",
            "\\evil",
            "../x",
            "a/../../x",
            "C:/x",
            "a\\..\\..\\x",
            &display(b"data.pkl\0.txt"),
        ] {
            assert!(path_problem(bad).is_some(), "{bad}");
        }
        for fine in [
            "archive/data.pkl",
            "a/../b",
            "./a/b",
            "dir/",
            "..a/b",
            "a..b",
        ] {
            assert_eq!(path_problem(fine), None, "{fine}");
        }
        assert_eq!(
            path_problem("a\\b").map(|p| p.severity),
            Some(Severity::Medium)
        );
    }

    #[test]
    fn resolves_link_targets_from_the_link_directory() {
        assert!(!link_escapes("a/b/link", "../c"));
        assert!(link_escapes("a/link", "../../c"));
        assert!(link_escapes("link", "/etc/passwd"));
        assert!(!link_escapes("link", "target"));
        assert!(link_escapes("link", ".."));
    }
}
