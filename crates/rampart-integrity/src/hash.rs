//! Walking a model or dataset the way OMS does and hashing its files in parallel: one task
//! per file (files mode) or per shard (shards mode), largest first, each over a read-only map
//! of the file so no bytes are copied and memory stays flat whatever the file size.

use std::fs::{self, File};
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use rampart_core::mapped::FileBytes;
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use walkdir::WalkDir;

use crate::Error;
use crate::manifest::{GIT_PATHS, HashAlgorithm, Manifest, Resource, ResourceKey, Serialization};

/// What to hash and how.
#[derive(Debug, Clone)]
pub struct HashOptions {
    pub serialization: Serialization,
    /// Leave out `.git`, `.gitattributes`, `.github` and `.gitignore` (the OMS default).
    pub ignore_git_paths: bool,
    /// Further paths to leave out, relative to the model root, `/`-separated.
    pub ignore_paths: Vec<String>,
    /// Hash a symlink to a file as its target's content; otherwise any symlink is an error.
    pub allow_symlinks: bool,
}

impl HashOptions {
    pub fn new(serialization: Serialization) -> Self {
        HashOptions {
            serialization,
            ignore_git_paths: true,
            ignore_paths: Vec::new(),
            allow_symlinks: false,
        }
    }

    /// Every path left out, normalised and sorted, as recorded in the manifest.
    pub fn effective_ignore_paths(&self) -> Vec<String> {
        let mut paths: Vec<String> = self
            .ignore_paths
            .iter()
            .filter_map(|path| normalize_relative(path))
            .collect();
        if self.ignore_git_paths {
            paths.extend(GIT_PATHS.iter().map(|path| (*path).to_owned()));
        }
        paths.sort();
        paths.dedup();
        paths
    }
}

/// `./a//b/` → `a/b`; `None` for the root itself or a path that leaves it.
pub(crate) fn normalize_relative(path: &str) -> Option<String> {
    let mut parts = Vec::new();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(part) => parts.push(part.to_str()?.to_owned()),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

fn is_ignored(relative: &str, ignore_paths: &[String]) -> bool {
    ignore_paths.iter().any(|ignored| {
        relative == ignored
            || relative
                .strip_prefix(ignored.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
    })
}

/// The model's name as OMS records it: its last path component, resolved for `.` and `..`.
pub fn model_name(model: &Path) -> String {
    let named = match model.file_name() {
        Some(name) => Some(name.to_string_lossy().into_owned()),
        None => fs::canonicalize(model).ok().and_then(|path| {
            path.file_name()
                .map(|name| name.to_string_lossy().into_owned())
        }),
    };
    named.unwrap_or_else(|| model.display().to_string())
}

/// One file to hash, with what it looked like before hashing started.
struct FileToHash {
    key_path: String,
    path: PathBuf,
    len: u64,
    modified: Option<SystemTime>,
}

/// Hashes every file of `model` (a directory or a single file).
pub fn hash_model(model: &Path, options: &HashOptions) -> Result<Manifest, Error> {
    let ignore_paths = options.effective_ignore_paths();
    let files = enumerate(model, &ignore_paths, options.allow_symlinks)?;
    let resources = hash_files(&files, options.serialization)?;
    Ok(Manifest {
        name: model_name(model),
        serialization: options.serialization,
        allow_symlinks: options.allow_symlinks,
        ignore_paths,
        resources,
    })
}

/// Hashes only the named files of `model` (`--ignore-unsigned-files`). A named file that is
/// missing is left out of the result, so comparing shows it as removed; files on disk that are
/// not named are not looked at.
pub fn hash_named(
    model: &Path,
    names: &[String],
    options: &HashOptions,
) -> Result<Manifest, Error> {
    let mut files = Vec::new();
    for name in names {
        let path = if name == "." {
            model.to_path_buf()
        } else {
            model.join(name)
        };
        if let Some(Kind::File) = classify(&path, options.allow_symlinks)? {
            files.push(describe(name.clone(), path)?);
        }
    }
    let resources = hash_files(&files, options.serialization)?;
    Ok(Manifest {
        name: model_name(model),
        serialization: options.serialization,
        allow_symlinks: options.allow_symlinks,
        ignore_paths: options.effective_ignore_paths(),
        resources,
    })
}

enum Kind {
    File,
    Directory,
}

/// What `path` is, applying the symlink rule; `None` if it does not exist.
fn classify(path: &Path, allow_symlinks: bool) -> Result<Option<Kind>, Error> {
    let metadata = match fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(Error::Io {
                path: path.to_owned(),
                source,
            });
        }
    };
    let file_type = metadata.file_type();
    if file_type.is_symlink() {
        if !allow_symlinks {
            return Err(Error::Symlink(path.to_owned()));
        }
        return match fs::metadata(path) {
            Ok(target) if target.is_file() => Ok(Some(Kind::File)),
            Ok(target) if target.is_dir() => Ok(Some(Kind::Directory)),
            _ => Err(Error::SpecialFile(path.to_owned())),
        };
    }
    if file_type.is_file() {
        Ok(Some(Kind::File))
    } else if file_type.is_dir() {
        Ok(Some(Kind::Directory))
    } else {
        Err(Error::SpecialFile(path.to_owned()))
    }
}

fn describe(key_path: String, path: PathBuf) -> Result<FileToHash, Error> {
    let metadata = fs::metadata(&path).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    Ok(FileToHash {
        key_path,
        len: metadata.len(),
        modified: metadata.modified().ok(),
        path,
    })
}

fn enumerate(
    model: &Path,
    ignore_paths: &[String],
    allow_symlinks: bool,
) -> Result<Vec<FileToHash>, Error> {
    match classify(model, allow_symlinks)? {
        None => {
            return Err(Error::Io {
                path: model.to_owned(),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            });
        }
        Some(Kind::File) => return Ok(vec![describe(".".to_owned(), model.to_owned())?]),
        Some(Kind::Directory) => {}
    }
    let mut files = Vec::new();
    // Ignored directories are not entered at all: `.git` can hold far more files than the model.
    let walker = WalkDir::new(model)
        .min_depth(1)
        .follow_links(false)
        .into_iter()
        .filter_entry(|entry| match relative_name(model, entry.path()) {
            Some(relative) => !is_ignored(&relative, ignore_paths),
            None => true,
        });
    for entry in walker {
        let entry = entry.map_err(|error| {
            let path = error.path().unwrap_or(model).to_owned();
            Error::Io {
                path,
                source: error.into(),
            }
        })?;
        let path = entry.path();
        let file_type = entry.file_type();
        if file_type.is_dir() {
            continue;
        }
        let relative =
            relative_name(model, path).ok_or_else(|| Error::NonUnicodePath(path.to_owned()))?;
        // The walk already knows regular files; only links and odd entries need a closer look.
        let is_file =
            file_type.is_file() || matches!(classify(path, allow_symlinks)?, Some(Kind::File));
        if is_file {
            files.push(describe(relative, path.to_owned())?);
        }
    }
    Ok(files)
}

/// `/`-separated path of `path` below `root`.
fn relative_name(root: &Path, path: &Path) -> Option<String> {
    let relative = path.strip_prefix(root).ok()?;
    let parts: Option<Vec<&str>> = relative
        .components()
        .map(|part| part.as_os_str().to_str())
        .collect();
    Some(parts?.join("/"))
}

/// One unit of parallel work.
struct Task<'a> {
    file: &'a FileToHash,
    range: Option<(u64, u64)>,
}

impl Task<'_> {
    fn len(&self) -> u64 {
        match self.range {
            Some((start, end)) => end - start,
            None => self.file.len,
        }
    }
}

fn hash_files(files: &[FileToHash], serialization: Serialization) -> Result<Vec<Resource>, Error> {
    let mut tasks = Vec::new();
    for file in files {
        match serialization {
            Serialization::Files { .. } => tasks.push(Task { file, range: None }),
            // An empty file is one zero-length shard, so adding or removing one is detected
            // (model_signing records nothing for it; verification accounts for that).
            Serialization::Shards { .. } if file.len == 0 => {
                tasks.push(Task {
                    file,
                    range: Some((0, 0)),
                });
            }
            Serialization::Shards { shard_size, .. } => {
                let mut start = 0;
                while start < file.len {
                    let end = start.saturating_add(shard_size).min(file.len);
                    tasks.push(Task {
                        file,
                        range: Some((start, end)),
                    });
                    start = end;
                }
            }
        }
    }
    // Largest first, so the longest task does not start last and leave a core idle.
    tasks.sort_by_key(|task| std::cmp::Reverse(task.len()));
    let algorithm = serialization.resource_algorithm();
    let hash = serialization.hash();
    let mut resources = tasks
        .par_iter()
        .map(|task| {
            let digest = hash_task(task, hash)?;
            Ok(Resource {
                key: ResourceKey {
                    path: task.file.key_path.clone(),
                    range: task.range,
                },
                algorithm: algorithm.clone(),
                digest,
                size: Some(task.len()),
            })
        })
        .collect::<Result<Vec<Resource>, Error>>()?;
    for file in files {
        let now = fs::metadata(&file.path).map_err(|source| Error::Io {
            path: file.path.clone(),
            source,
        })?;
        if now.len() != file.len || now.modified().ok() != file.modified {
            return Err(Error::Changed(file.path.clone()));
        }
    }
    resources.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(resources)
}

/// Files are read through windows of this size: big enough that mapping costs nothing,
/// small enough that memory stays flat however large the file (each core holds one).
const WINDOW: u64 = 64 << 20;

fn hash_task(task: &Task<'_>, hash: HashAlgorithm) -> Result<Vec<u8>, Error> {
    let path = &task.file.path;
    let io_error = |source| Error::Io {
        path: path.clone(),
        source,
    };
    let file = File::open(path).map_err(io_error)?;
    let len = file.metadata().map_err(io_error)?.len();
    if len != task.file.len {
        return Err(Error::Changed(path.clone()));
    }
    let (start, end) = task.range.unwrap_or((0, len));
    let mut hasher = StreamHasher::new(hash);
    let mut position = start;
    while position < end {
        let window = (end - position).min(WINDOW);
        let window_len = usize::try_from(window).map_err(|_| Error::Changed(path.clone()))?;
        let bytes = FileBytes::open_window(&file, position, window_len).map_err(io_error)?;
        if bytes.len() != window_len {
            return Err(Error::Changed(path.clone()));
        }
        hasher.update(&bytes);
        position += window;
    }
    Ok(hasher.finalize())
}

/// One of the supported hashes, fed piece by piece.
enum StreamHasher {
    Sha256(Sha256),
    Blake2b(Box<blake2::Blake2b512>),
    Blake3(Box<blake3::Hasher>),
}

/// Below this, threading a single BLAKE3 input costs more than it saves.
const BLAKE3_PARALLEL_THRESHOLD: usize = 1 << 20;

impl StreamHasher {
    fn new(hash: HashAlgorithm) -> Self {
        match hash {
            HashAlgorithm::Sha256 => StreamHasher::Sha256(Sha256::new()),
            HashAlgorithm::Blake2b => StreamHasher::Blake2b(Box::default()),
            HashAlgorithm::Blake3 => StreamHasher::Blake3(Box::default()),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        match self {
            StreamHasher::Sha256(hasher) => hasher.update(bytes),
            StreamHasher::Blake2b(hasher) => hasher.update(bytes),
            StreamHasher::Blake3(hasher) if bytes.len() >= BLAKE3_PARALLEL_THRESHOLD => {
                hasher.update_rayon(bytes);
            }
            StreamHasher::Blake3(hasher) => {
                hasher.update(bytes);
            }
        }
    }

    fn finalize(self) -> Vec<u8> {
        match self {
            StreamHasher::Sha256(hasher) => hasher.finalize().to_vec(),
            StreamHasher::Blake2b(hasher) => hasher.finalize().to_vec(),
            StreamHasher::Blake3(hasher) => hasher.finalize().as_bytes().to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_normalise_and_refuse_to_escape() {
        assert_eq!(normalize_relative("./a//b/").as_deref(), Some("a/b"));
        assert_eq!(normalize_relative("."), None);
        assert_eq!(normalize_relative("../x"), None);
        assert_eq!(normalize_relative("/etc"), None);
    }

    #[test]
    fn ignore_is_a_component_prefix() {
        let ignored = vec!["sub".to_owned(), ".git".to_owned()];
        assert!(is_ignored("sub", &ignored));
        assert!(is_ignored("sub/x/y", &ignored));
        assert!(!is_ignored("subway", &ignored));
        assert!(!is_ignored(".gitignore", &ignored));
    }

    #[test]
    fn shards_cover_every_byte_and_record_empty_files() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("big"), vec![7u8; 2500]).unwrap();
        fs::write(dir.path().join("empty"), b"").unwrap();
        let options = HashOptions::new(Serialization::Shards {
            hash: HashAlgorithm::Sha256,
            shard_size: 1000,
        });
        let manifest = hash_model(dir.path(), &options).unwrap();
        let names: Vec<String> = manifest.resources.iter().map(|r| r.key.name()).collect();
        assert_eq!(
            names,
            ["big:0:1000", "big:1000:2000", "big:2000:2500", "empty:0:0"]
        );
        assert_eq!(
            manifest.resources[2].digest,
            Sha256::digest([7u8; 500]).to_vec()
        );
        let files = hash_model(
            dir.path(),
            &HashOptions::new(Serialization::Files {
                hash: HashAlgorithm::Sha256,
            }),
        )
        .unwrap();
        assert_eq!(files.resources.len(), 2);
    }

    #[test]
    fn a_single_file_model_is_the_resource_dot() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.bin");
        fs::write(&path, b"weights").unwrap();
        let manifest = hash_model(
            &path,
            &HashOptions::new(Serialization::Files {
                hash: HashAlgorithm::Blake3,
            }),
        )
        .unwrap();
        assert_eq!(manifest.name, "model.bin");
        assert_eq!(manifest.resources[0].key.name(), ".");
        assert_eq!(
            manifest.resources[0].digest,
            blake3::hash(b"weights").as_bytes().to_vec()
        );
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_refused_unless_allowed() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("target"), b"x").unwrap();
        std::os::unix::fs::symlink("target", dir.path().join("link")).unwrap();
        let mut options = HashOptions::new(Serialization::Files {
            hash: HashAlgorithm::Sha256,
        });
        assert!(matches!(
            hash_model(dir.path(), &options),
            Err(Error::Symlink(_))
        ));
        options.allow_symlinks = true;
        let manifest = hash_model(dir.path(), &options).unwrap();
        assert_eq!(manifest.resources.len(), 2);
        assert_eq!(manifest.resources[0].digest, manifest.resources[1].digest);
    }

    #[test]
    fn a_file_that_changes_while_hashing_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("growing.bin");
        fs::write(&path, b"before").unwrap();
        let before = describe("growing.bin".to_owned(), path.clone()).unwrap();
        fs::write(&path, b"after, longer").unwrap();
        let serialization = Serialization::Files {
            hash: HashAlgorithm::Sha256,
        };
        assert!(
            matches!(hash_files(&[before], serialization), Err(Error::Changed(p)) if p == path)
        );
    }

    #[test]
    fn streamed_digests_equal_one_shot_digests() {
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        for (hash, expected) in [
            (HashAlgorithm::Sha256, Sha256::digest(&data).to_vec()),
            (
                HashAlgorithm::Blake2b,
                blake2::Blake2b512::digest(&data).to_vec(),
            ),
            (
                HashAlgorithm::Blake3,
                blake3::hash(&data).as_bytes().to_vec(),
            ),
        ] {
            let mut hasher = StreamHasher::new(hash);
            for piece in data.chunks(1_100_000) {
                hasher.update(piece);
            }
            assert_eq!(hasher.finalize(), expected, "{hash}");
        }
    }

    #[test]
    fn windows_cover_files_larger_than_one_window() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.bin");
        let data: Vec<u8> = (0..(WINDOW as usize + 12_345))
            .map(|i| (i % 253) as u8)
            .collect();
        fs::write(&path, &data).unwrap();
        let file = describe("big.bin".to_owned(), path).unwrap();
        let whole = hash_task(
            &Task {
                file: &file,
                range: None,
            },
            HashAlgorithm::Sha256,
        )
        .unwrap();
        assert_eq!(whole, Sha256::digest(&data).to_vec());
        let range = Some((5, data.len() as u64));
        let tail = hash_task(&Task { file: &file, range }, HashAlgorithm::Sha256).unwrap();
        assert_eq!(tail, Sha256::digest(&data[5..]).to_vec());
    }
}
