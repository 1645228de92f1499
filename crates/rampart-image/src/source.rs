//! Where an image's files come from: a directory (OCI layout, or an extracted docker save)
//! or a tar archive of one. Archives are mapped (or, when gzip-wrapped, decompressed once
//! within the limits) and their members are zero-copy slices; what is read whole (layers,
//! for hashing and decompressing) is read with `read(2)` from the file instead, so the
//! pages of a multi-gigabyte layer are not mapped into the process.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::ops::{Deref, Range};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use rampart_archive::tar;
use rampart_core::mapped::FileBytes;
use rampart_core::{Finding, Limits, Location};

use crate::error::{ImageError, Result};
use crate::layer::{self, Compression};

/// Bytes that are either mapped from a file or owned.
pub(crate) enum Bytes {
    Mapped(FileBytes),
    Owned(Vec<u8>),
}

impl Deref for Bytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(map) => map,
            Bytes::Owned(bytes) => bytes,
        }
    }
}

/// One file of the image, borrowed from an archive or mapped from a directory. When it
/// comes from a file on disk it also knows where, so that reading it front to back (hashing,
/// decompressing) goes through `read(2)` and leaves no mapped pages resident.
pub(crate) enum Blob<'s> {
    Borrowed {
        bytes: &'s [u8],
        /// The archive file and the offset of `bytes` in it.
        file: Option<(&'s File, u64)>,
    },
    Mapped {
        bytes: FileBytes,
        file: File,
    },
}

impl Deref for Blob<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Blob::Borrowed { bytes, .. } => bytes,
            Blob::Mapped { bytes, .. } => bytes,
        }
    }
}

impl Blob<'_> {
    /// The file the blob lies in and its offset there, when it comes from disk.
    pub fn file_at(&self) -> Option<(&File, u64)> {
        match self {
            Blob::Borrowed { file, .. } => *file,
            Blob::Mapped { file, .. } => Some((file, 0)),
        }
    }

    /// Reads the blob front to back without touching its mapping.
    pub fn reader(&self) -> BlobReader<'_> {
        BlobReader::of(self, self.file_at())
    }
}

/// A reader of bytes that lie in a file (positioned reads) or in memory.
pub(crate) enum BlobReader<'b> {
    File { file: &'b File, at: u64, end: u64 },
    Memory(&'b [u8]),
}

impl<'b> BlobReader<'b> {
    /// Reads `bytes`, which lie at `file_at` in a file when that is given.
    pub fn of(bytes: &'b [u8], file_at: Option<(&'b File, u64)>) -> BlobReader<'b> {
        match file_at {
            Some((file, at)) => BlobReader::File {
                file,
                at,
                end: at.saturating_add(bytes.len() as u64),
            },
            None => BlobReader::Memory(bytes),
        }
    }
}

impl Read for BlobReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            BlobReader::Memory(bytes) => bytes.read(buf),
            BlobReader::File { file, at, end } => {
                let want =
                    usize::try_from(*end - *at).map_or(buf.len(), |left| left.min(buf.len()));
                let read = file.read_at(&mut buf[..want], *at)?;
                *at += read as u64;
                Ok(read)
            }
        }
    }
}

pub(crate) enum Source {
    Directory(PathBuf),
    Archive {
        bytes: Bytes,
        /// The file `bytes` are mapped from (not for gzip-wrapped or in-memory archives).
        file: Option<File>,
        /// Normalised member name → where its content lies in `bytes`.
        members: HashMap<String, Range<usize>>,
    },
}

impl Source {
    /// Opens a directory as it is, or a (possibly gzip-wrapped) tar archive. Anomalies of
    /// the archive itself go to `out`.
    pub fn open(path: &Path, limits: &Limits, out: &mut Vec<Finding>) -> Result<Source> {
        let io_error = |source| ImageError::Io {
            path: path.display().to_string(),
            source,
        };
        let metadata = std::fs::metadata(path).map_err(io_error)?;
        if metadata.is_dir() {
            return Ok(Source::Directory(path.to_owned()));
        }
        let file = File::open(path).map_err(io_error)?;
        let bytes = FileBytes::open(&file, metadata.len()).map_err(io_error)?;
        let mut source = Source::archive(
            Bytes::Mapped(bytes),
            &path.display().to_string(),
            limits,
            out,
        )?;
        if let Source::Archive {
            bytes: Bytes::Mapped(_),
            file: mapped_from,
            ..
        } = &mut source
        {
            *mapped_from = Some(file);
        }
        Ok(source)
    }

    pub fn archive(
        bytes: Bytes,
        display: &str,
        limits: &Limits,
        out: &mut Vec<Finding>,
    ) -> Result<Source> {
        let location = Location::file(display);
        let bytes = match layer::sniff(&bytes) {
            Compression::None => bytes,
            Compression::Gzip | Compression::Zstd => {
                let mut total = limits.max_total_decompressed_bytes;
                let reported = out.len();
                let decoded = layer::decompress(&bytes, &location, limits, &mut total, out);
                match decoded {
                    Some(decoded) => Bytes::Owned(decoded.into_owned()),
                    None => {
                        let why: Vec<&str> = out[reported..]
                            .iter()
                            .map(|finding| finding.message.as_str())
                            .collect();
                        return Err(ImageError::Undecompressed {
                            what: display.to_owned(),
                            reason: format!(
                                "{}. A compressed image archive is decompressed into memory: \
                                 decompress it first (`gunzip -k` or `zstd -d`; an uncompressed \
                                 archive is read in place whatever its size, and its compressed \
                                 layers are streamed) or raise [limits] max_decompressed_bytes",
                                if why.is_empty() {
                                    "its compressed stream holds nothing".to_owned()
                                } else {
                                    why.join("; ")
                                }
                            ),
                        });
                    }
                }
            }
        };
        if !bytes.is_empty() && !tar::looks_like_tar(&bytes) {
            return Err(ImageError::NotAnImage {
                path: display.to_owned(),
            });
        }
        let mut members = HashMap::new();
        let base = bytes.as_ptr() as usize;
        for entry in tar::entries(&bytes, &location, limits, out) {
            if !entry.is_file() {
                continue;
            }
            // Members are slices of `bytes`; keep their ranges, not the borrows.
            let start = (entry.data.as_ptr() as usize).saturating_sub(base);
            members.insert(
                normalise_member(&entry.name).to_owned(),
                start..start + entry.data.len(),
            );
        }
        Ok(Source::Archive {
            bytes,
            file: None,
            members,
        })
    }

    pub fn has(&self, name: &str) -> bool {
        match self {
            Source::Directory(root) => root.join(name).is_file(),
            Source::Archive { members, .. } => members.contains_key(name),
        }
    }

    /// The member `name` (a relative path from the image's own JSON, so checked first).
    pub fn member(&self, name: &str) -> Result<Blob<'_>> {
        let name = normalise_member(name);
        let missing = || ImageError::Missing {
            what: format!("'{}'", crate::digest::shorten(name)),
        };
        if name.is_empty() || name.split('/').any(|part| part == ".." || part.is_empty()) {
            return Err(ImageError::Malformed {
                what: format!("member name '{}'", crate::digest::shorten(name)),
                reason: "it is not a plain relative path inside the image".to_owned(),
            });
        }
        match self {
            Source::Archive {
                bytes,
                file,
                members,
            } => members
                .get(name)
                .and_then(|range| {
                    Some(Blob::Borrowed {
                        bytes: bytes.get(range.clone())?,
                        file: file.as_ref().map(|file| (file, range.start as u64)),
                    })
                })
                .ok_or_else(missing),
            Source::Directory(root) => {
                let path = root.join(name);
                let io_error = |source| ImageError::Io {
                    path: path.display().to_string(),
                    source,
                };
                let file = File::open(&path).map_err(|error| match error.kind() {
                    std::io::ErrorKind::NotFound => missing(),
                    _ => io_error(error),
                })?;
                let metadata = file.metadata().map_err(io_error)?;
                if !metadata.is_file() {
                    return Err(missing());
                }
                Ok(Blob::Mapped {
                    bytes: FileBytes::open(&file, metadata.len()).map_err(io_error)?,
                    file,
                })
            }
        }
    }

    /// A JSON document of the image, bounded by `limits.max_header_bytes`.
    pub fn json_member(&self, name: &str, limits: &Limits) -> Result<Blob<'_>> {
        let blob = self.member(name)?;
        check_json_size(name, &blob, limits)?;
        Ok(blob)
    }
}

pub(crate) fn check_json_size(name: &str, bytes: &[u8], limits: &Limits) -> Result<()> {
    if bytes.len() as u64 > limits.max_header_bytes {
        return Err(ImageError::Limit {
            what: format!("'{}'", crate::digest::shorten(name)),
            limit: "max_header_bytes",
            size: bytes.len() as u64,
            max: limits.max_header_bytes,
        });
    }
    Ok(())
}

/// `./a/b` and `/a/b` name the same member as `a/b`.
pub(crate) fn normalise_member(name: &str) -> &str {
    let mut name = name;
    loop {
        let trimmed = name.trim_start_matches('/');
        let trimmed = trimmed.strip_prefix("./").unwrap_or(trimmed);
        if trimmed.len() == name.len() {
            return name;
        }
        name = trimmed;
    }
}
