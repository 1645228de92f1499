//! Turning the paths a user names into the list of files to scan, once.

use std::path::{Path, PathBuf};

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use walkdir::WalkDir;

use crate::{Input, InputKind};

#[derive(Clone, Debug, Default)]
pub struct WalkOptions {
    /// Follow symlinks that lead outside the scanned tree (and into directories).
    pub follow_symlinks: bool,
    /// Paths not to read or enter.
    pub exclude: Exclude,
}

/// Exclusion globs. A pattern with a `/` matches the path relative to the walked root
/// (`models/cache/**`); one without matches a file or directory name at any depth
/// (`node_modules`, `*.min.js`), as in `.gitignore`.
#[derive(Clone, Debug, Default)]
pub struct Exclude {
    by_path: Option<GlobSet>,
    by_name: Option<GlobSet>,
    patterns: Vec<String>,
}

impl Exclude {
    pub fn new(patterns: &[String]) -> Result<Exclude, globset::Error> {
        let mut by_path = GlobSetBuilder::new();
        let mut by_name = GlobSetBuilder::new();
        for pattern in patterns {
            let trimmed = pattern.trim_end_matches('/');
            if trimmed.contains('/') {
                by_path.add(
                    GlobBuilder::new(trimmed.trim_start_matches('/'))
                        .literal_separator(true)
                        .build()?,
                );
            } else {
                by_name.add(Glob::new(trimmed)?);
            }
        }
        Ok(Exclude {
            by_path: Some(by_path.build()?),
            by_name: Some(by_name.build()?),
            patterns: patterns.to_vec(),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    fn matches(&self, relative: &Path) -> bool {
        let by_name = relative
            .file_name()
            .is_some_and(|name| self.by_name.as_ref().is_some_and(|set| set.is_match(name)));
        by_name
            || self
                .by_path
                .as_ref()
                .is_some_and(|set| set.is_match(relative))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WalkError {
    #[error("path `{0}` does not exist")]
    NotFound(PathBuf),
    #[error("cannot read `{path}`: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Lists every file under `roots` in a stable order. Directories are walked without
/// following symlinks (unless asked); a symlink found on the way becomes an input of its
/// own kind so it still gets a verdict. A path that does not exist is an error (exit 2);
/// `.git` directories are version-control internals and are not walked.
pub fn walk(roots: &[PathBuf], options: &WalkOptions) -> Result<Vec<Input>, WalkError> {
    let mut inputs = Vec::new();
    for root in roots {
        let meta = std::fs::metadata(root).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                WalkError::NotFound(root.clone())
            } else {
                WalkError::Io {
                    path: root.clone(),
                    source,
                }
            }
        })?;
        if !meta.is_dir() {
            // A file the user named is scanned even through a symlink: they chose it.
            inputs.push(input(root, kind_of_named(&meta)));
            continue;
        }
        let canonical_root = root.canonicalize().map_err(|source| WalkError::Io {
            path: root.clone(),
            source,
        })?;
        let mut walker = WalkDir::new(root)
            .follow_links(options.follow_symlinks)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| !(e.file_type().is_dir() && e.file_name() == ".git"));
        while let Some(entry) = walker.next() {
            let entry = entry.map_err(|e| {
                let path = e.path().map(Path::to_owned).unwrap_or_else(|| root.clone());
                WalkError::Io {
                    path,
                    source: e.into(),
                }
            })?;
            let relative = entry.path().strip_prefix(root).unwrap_or(entry.path());
            if entry.depth() > 0 && options.exclude.matches(relative) {
                inputs.push(input(entry.path(), InputKind::Excluded));
                if entry.file_type().is_dir() {
                    walker.skip_current_dir();
                }
                continue;
            }
            let file_type = entry.file_type();
            if file_type.is_dir() {
                continue;
            }
            let kind = if file_type.is_symlink() {
                symlink_kind(entry.path(), &canonical_root)
            } else if file_type.is_file() {
                InputKind::File
            } else {
                InputKind::Special
            };
            inputs.push(input(entry.path(), kind));
        }
    }
    Ok(inputs)
}

fn kind_of_named(meta: &std::fs::Metadata) -> InputKind {
    if meta.is_file() {
        InputKind::File
    } else {
        InputKind::Special
    }
}

fn symlink_kind(link: &Path, canonical_root: &Path) -> InputKind {
    match link.canonicalize() {
        // The target is walked where it lives, so nothing is lost by not reading the link.
        Ok(target) if target.starts_with(canonical_root) => InputKind::SymlinkInsideTree { target },
        Ok(target) => InputKind::SymlinkOutsideTree { target },
        Err(_) => InputKind::SymlinkOutsideTree {
            target: std::fs::read_link(link).unwrap_or_default(),
        },
    }
}

fn input(path: &Path, kind: InputKind) -> Input {
    let display = path.to_string_lossy();
    let display = display.strip_prefix("./").unwrap_or(&display).to_owned();
    Input {
        path: path.to_owned(),
        display,
        kind,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_sorted_skips_git_and_classifies_symlinks() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("blob"), b"x").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::create_dir_all(root.join(".git/objects")).unwrap();
        std::fs::write(root.join(".git/objects/x"), b"x").unwrap();
        std::fs::write(root.join("b.pkl"), b"x").unwrap();
        std::fs::write(root.join("sub/a.pt"), b"x").unwrap();
        std::os::unix::fs::symlink(root.join("b.pkl"), root.join("inside")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("blob"), root.join("outside")).unwrap();

        let inputs = walk(&[root.to_owned()], &WalkOptions::default()).unwrap();
        let names: Vec<_> = inputs
            .iter()
            .map(|i| {
                i.path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(names, ["b.pkl", "inside", "outside", "sub/a.pt"]);
        assert!(matches!(
            inputs[1].kind,
            InputKind::SymlinkInsideTree { .. }
        ));
        assert!(matches!(
            inputs[2].kind,
            InputKind::SymlinkOutsideTree { .. }
        ));

        let followed = walk(
            &[root.to_owned()],
            &WalkOptions {
                follow_symlinks: true,
                ..WalkOptions::default()
            },
        )
        .unwrap();
        assert!(followed.iter().all(|i| i.kind == InputKind::File));
    }

    #[test]
    fn missing_path_is_an_error() {
        let err = walk(
            &[PathBuf::from("/nonexistent/rampart")],
            &WalkOptions::default(),
        );
        assert!(matches!(err, Err(WalkError::NotFound(_))));
    }

    #[test]
    fn excluded_paths_get_a_verdict_and_are_not_entered() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("node_modules/pkg")).unwrap();
        std::fs::write(root.join("node_modules/pkg/index.js"), b"x").unwrap();
        std::fs::create_dir_all(root.join("models/cache")).unwrap();
        std::fs::write(root.join("models/cache/a.bin"), b"x").unwrap();
        std::fs::write(root.join("models/model.pt"), b"x").unwrap();
        std::fs::write(root.join("app.min.js"), b"x").unwrap();
        let exclude = Exclude::new(&[
            "node_modules".into(),
            "models/cache".into(),
            "*.min.js".into(),
        ])
        .unwrap();
        let options = WalkOptions {
            exclude,
            ..WalkOptions::default()
        };
        let inputs = walk(&[root.to_owned()], &options).unwrap();
        let listed: Vec<(String, bool)> = inputs
            .iter()
            .map(|i| {
                let name = i
                    .path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                (name, i.kind == InputKind::Excluded)
            })
            .collect();
        assert_eq!(
            listed,
            [
                ("app.min.js".to_owned(), true),
                ("models/cache".to_owned(), true),
                ("models/model.pt".to_owned(), false),
                ("node_modules".to_owned(), true),
            ]
        );
    }
}
