//! Telling a container image from any other directory or tar archive, by content: an OCI
//! layout has an `oci-layout` file (or `index.json` beside `blobs/`), a `docker save`
//! archive a `manifest.json` listing configs and layers.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;
use rampart_archive::tar;
use rampart_core::mapped::FileBytes;
use ruzstd::decoding::StreamingDecoder;
use serde::Deserialize;

use crate::layer::{self, Compression};
use crate::source::normalise_member;

/// A `manifest.json` larger than this is not sniffed (real ones are a few hundred bytes per
/// image).
const MAX_SNIFFED_MANIFEST: u64 = 1 << 20;
/// A compressed archive is sniffed for at most this many decompressed bytes: image
/// archives put their small JSON members first or are read anyway when scanned.
const MAX_SNIFFED_BYTES: u64 = 64 << 30;
const BLOCK: usize = 512;

/// Whether `path` is a container image `Image::open` reads: an OCI layout directory, an
/// OCI archive or a `docker save` archive (plain, gzip- or zstd-wrapped). Anything that
/// cannot be read is not an image (the caller's own read reports the error).
pub fn looks_like_image(path: &Path) -> bool {
    let Ok(metadata) = std::fs::metadata(path) else {
        return false;
    };
    if metadata.is_dir() {
        return path.join("oci-layout").is_file()
            || (path.join("index.json").is_file() && path.join("blobs").is_dir())
            || std::fs::read(path.join("manifest.json"))
                .is_ok_and(|bytes| is_docker_manifest(&bytes));
    }
    let Ok(file) = File::open(path) else {
        return false;
    };
    let Ok(bytes) = FileBytes::open(&file, metadata.len()) else {
        return false;
    };
    match layer::sniff(&bytes) {
        Compression::None => archive_is_image(&bytes),
        Compression::Gzip => stream_is_image(MultiGzDecoder::new(&bytes[..])),
        Compression::Zstd => match StreamingDecoder::new(&bytes[..]) {
            Ok(decoder) => stream_is_image(decoder),
            Err(_) => false,
        },
    }
}

fn is_marker(name: &str) -> bool {
    matches!(normalise_member(name), "oci-layout" | "index.json")
}

fn is_manifest(name: &str) -> bool {
    normalise_member(name) == "manifest.json"
}

fn archive_is_image(bytes: &[u8]) -> bool {
    if !tar::looks_like_tar(bytes) {
        return false;
    }
    let mut ignored = Vec::new();
    let limits = rampart_core::Limits::default();
    let location = rampart_core::Location::file("");
    tar::entries(bytes, &location, &limits, &mut ignored)
        .iter()
        .any(|entry| {
            entry.is_file()
                && (is_marker(&entry.name)
                    || (is_manifest(&entry.name) && is_docker_manifest(entry.data)))
        })
}

/// Walks the tar headers of a decompressing stream, skipping content, until a marker shows.
fn stream_is_image(mut stream: impl Read) -> bool {
    let mut header = [0u8; BLOCK];
    let mut read_so_far: u64 = 0;
    while read_so_far < MAX_SNIFFED_BYTES {
        if stream.read_exact(&mut header).is_err() || header.iter().all(|&b| b == 0) {
            return false;
        }
        read_so_far = read_so_far.saturating_add(BLOCK as u64);
        let Some(size) = octal(header.get(124..136).unwrap_or_default()) else {
            return false;
        };
        let name = header_name(&header);
        let padded = size.div_ceil(BLOCK as u64).saturating_mul(BLOCK as u64);
        let regular = matches!(header.get(156), Some(b'0' | 0));
        if regular && is_marker(&name) {
            return true;
        }
        if regular && is_manifest(&name) && size <= MAX_SNIFFED_MANIFEST {
            let mut content = Vec::new();
            if (&mut stream)
                .take(padded)
                .read_to_end(&mut content)
                .is_err()
            {
                return false;
            }
            content.truncate(usize::try_from(size).unwrap_or(usize::MAX));
            if is_docker_manifest(&content) {
                return true;
            }
        } else if io::copy(&mut (&mut stream).take(padded), &mut io::sink()).is_err() {
            return false;
        }
        read_so_far = read_so_far.saturating_add(padded);
    }
    false
}

/// The ustar name (with its prefix field).
fn header_name(header: &[u8; BLOCK]) -> String {
    let field = |range: std::ops::Range<usize>| {
        let bytes = header.get(range).unwrap_or_default();
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        String::from_utf8_lossy(bytes.get(..end).unwrap_or_default()).into_owned()
    };
    let name = field(0..100);
    let prefix = if header.get(257..262) == Some(b"ustar") {
        field(345..500)
    } else {
        String::new()
    };
    if prefix.is_empty() {
        name
    } else {
        format!("{prefix}/{name}")
    }
}

fn octal(field: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(field).ok()?;
    let text = text.trim_matches(|c: char| c == '\0' || c == ' ');
    if text.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(text, 8).ok()
}

/// Only the presence and types of the fields identify the format.
#[derive(Deserialize)]
struct DockerEntry {
    #[serde(rename = "Config")]
    _config: String,
    #[serde(rename = "Layers")]
    _layers: Vec<String>,
}

/// `manifest.json` as `docker save` writes it: a list of `{Config, Layers, …}`.
fn is_docker_manifest(bytes: &[u8]) -> bool {
    bytes.len() as u64 <= MAX_SNIFFED_MANIFEST
        && serde_json::from_slice::<Vec<DockerEntry>>(bytes).is_ok_and(|list| !list.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{Item, Spec, archive, docker_save, gzip, oci_layout, tar, write_dir};

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, bytes).expect("write");
        path
    }

    #[test]
    fn recognises_images_and_nothing_else() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spec = Spec::new(vec![tar(&[Item::File("a", b"a")])]);
        let layout = oci_layout(&spec);
        let oci = write(dir.path(), "oci.tar", &archive(&layout));
        let docker = write(dir.path(), "docker.tar", &docker_save(&spec));
        let docker_gz = write(dir.path(), "docker.tar.gz", &gzip(&docker_save(&spec)));
        let oci_gz = write(dir.path(), "oci.tar.gz", &gzip(&archive(&layout)));
        for image in [&oci, &docker, &docker_gz, &oci_gz] {
            assert!(looks_like_image(image), "{}", image.display());
        }
        let layout_dir = dir.path().join("layout");
        write_dir(&layout, &layout_dir);
        assert!(looks_like_image(&layout_dir));

        let plain = write(
            dir.path(),
            "plain.tar",
            &tar(&[Item::File("manifest.json", br#"{"name":"extension"}"#)]),
        );
        let plain_gz = write(
            dir.path(),
            "plain.tar.gz",
            &gzip(&tar(&[
                Item::File("model.pkl", b"x"),
                Item::File("manifest.json", b"[]"),
            ])),
        );
        let text = write(dir.path(), "notes.txt", b"hello");
        for other in [&plain, &plain_gz, &text, &dir.path().join("missing")] {
            assert!(!looks_like_image(other), "{}", other.display());
        }
        assert!(!looks_like_image(dir.path()));
    }
}
