//! Turning the paths a user names into the list of files to scan, once.

use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use crate::{Input, InputKind};

#[derive(Clone, Copy, Debug, Default)]
pub struct WalkOptions {
    /// Follow symlinks that lead outside the scanned tree (and into directories).
    pub follow_symlinks: bool,
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
pub fn walk(roots: &[PathBuf], options: WalkOptions) -> Result<Vec<Input>, WalkError> {
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
        let walker = WalkDir::new(root)
            .follow_links(options.follow_symlinks)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| !(e.file_type().is_dir() && e.file_name() == ".git"));
        for entry in walker {
            let entry = entry.map_err(|e| {
                let path = e.path().map(Path::to_owned).unwrap_or_else(|| root.clone());
                WalkError::Io {
                    path,
                    source: e.into(),
                }
            })?;
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

        let inputs = walk(&[root.to_owned()], WalkOptions::default()).unwrap();
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
            WalkOptions {
                follow_symlinks: true,
            },
        )
        .unwrap();
        assert!(followed.iter().all(|i| i.kind == InputKind::File));
    }

    #[test]
    fn missing_path_is_an_error() {
        let err = walk(
            &[PathBuf::from("/nonexistent/rampart")],
            WalkOptions::default(),
        );
        assert!(matches!(err, Err(WalkError::NotFound(_))));
    }
}
