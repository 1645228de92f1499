//! Walking the files of every layer and applying them as a runtime would: later layers
//! replace files, whiteouts (`.wh.<name>`) delete them and opaque markers (`.wh..wh..opq`)
//! hide everything below a directory. Nothing is deleted from the walk: a file a later
//! layer removed is still in the image, and is visited with the layer that removed it.

use std::collections::{BTreeMap, HashMap};

use rampart_archive::rules::TAR_PATH_TRAVERSAL;
use rampart_archive::tar::{self, TarEntry, TarKind};
use rampart_core::rules::{ENCRYPTED, LIMIT_EXCEEDED, MALFORMED};
use rampart_core::{Finding, Limits, Location, Severity};

use crate::digest;
use crate::image::{Image, Layer};
use crate::layer::{self, Compression};
use crate::rules::{BLOB_DIGEST_MISMATCH, LAYER_PATH_TRAVERSAL};

/// Paths longer than Linux's PATH_MAX cannot exist in a running container; they are still
/// visited but do not take part in the overlay, so hostile names cannot blow up its maps.
const MAX_PATH_BYTES: usize = 4096;
const OPAQUE_MARKER: &str = ".wh..wh..opq";
/// `.wh..wh.plnk` and other AUFS bookkeeping names; runtimes ignore them.
const WHITEOUT_META_PREFIX: &str = ".wh..wh.";
const WHITEOUT_PREFIX: &str = ".wh.";

/// What a layer entry is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Directory,
    Symlink {
        target: String,
    },
    /// A hard link to `target`, a path of this or a lower layer.
    HardLink {
        target: String,
    },
    /// A device node or FIFO.
    Special,
}

/// One entry of one layer, as [`Image::walk`] hands it out.
#[derive(Debug)]
pub struct LayerEntry<'a> {
    /// Relative to the root, without `/`, `.` or `..` components (a name that had them
    /// was reported).
    pub path: &'a str,
    pub kind: &'a EntryKind,
    /// The declared size; `data` is shorter when the layer is cut short (reported).
    pub size: u64,
    /// The content, for files; valid only during the visit.
    pub data: &'a [u8],
    pub layer: &'a Layer,
    /// The index of the layer that deleted or replaced this entry (possibly its own layer,
    /// when a path appears twice in it); `None` when it is in the final filesystem.
    pub deleted_in: Option<usize>,
    /// `image!/layer <index> (sha256:<12 hex>)!/<path>` (see [`Layer::label`]): where
    /// findings about the entry point.
    pub location: &'a Location,
}

/// An entry of the merged filesystem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FinalEntry {
    /// The layer the entry comes from.
    pub layer: usize,
    pub kind: EntryKind,
    pub size: u64,
}

impl Image {
    /// Visits every entry of every layer, the top layer first (so each entry is visited
    /// knowing whether a later layer deleted it: one pass, one decompression per layer),
    /// in archive order within a layer. Whiteouts and opaque markers are not visited; they
    /// show as `deleted_in` of what they delete. Problems (digest mismatches, truncated or
    /// over-limit layers, escaping paths) are reported to `out` and the walk reads on
    /// wherever it can.
    pub fn walk(
        &self,
        limits: &Limits,
        out: &mut Vec<Finding>,
        mut visit: impl FnMut(&LayerEntry<'_>),
    ) {
        self.walk_layers(limits, out, |entries| entries.iter().for_each(&mut visit));
    }

    /// [`Image::walk`] a layer at a time: `visit` gets all entries of one layer at once
    /// (while that layer, and only that layer, is in memory), so they can be processed in
    /// parallel.
    pub fn walk_layers(
        &self,
        limits: &Limits,
        out: &mut Vec<Finding>,
        mut visit: impl FnMut(&[LayerEntry<'_>]),
    ) {
        let mut overlay = Overlay::default();
        let mut total = limits.max_total_decompressed_bytes;
        for layer in self.layers.iter().rev() {
            let walked = self.walk_layer(layer, limits, &mut total, &mut overlay, out, &mut visit);
            if !walked {
                return;
            }
        }
    }

    /// The merged filesystem: every path present after all layers are applied, with the
    /// layer it comes from. Walks (and decompresses) every layer; a caller that also needs
    /// the files should collect this from its own [`Image::walk`].
    pub fn final_view(
        &self,
        limits: &Limits,
        out: &mut Vec<Finding>,
    ) -> BTreeMap<String, FinalEntry> {
        let mut view = BTreeMap::new();
        self.walk(limits, out, |entry| {
            if entry.deleted_in.is_none() {
                // Top layer first: the first entry seen for a path is the one that counts.
                view.entry(entry.path.to_owned())
                    .or_insert_with(|| FinalEntry {
                        layer: entry.layer.index,
                        kind: entry.kind.clone(),
                        size: entry.size,
                    });
            }
        });
        view
    }

    /// Returns false when the walk must stop (the overlay grew past its limit).
    fn walk_layer(
        &self,
        layer: &Layer,
        limits: &Limits,
        total: &mut u64,
        overlay: &mut Overlay,
        out: &mut Vec<Finding>,
        visit: &mut impl FnMut(&[LayerEntry<'_>]),
    ) -> bool {
        let location = self.location.member(layer.label());
        let name = format!(
            "layer {} ({}, {})",
            layer.index,
            layer.id(),
            layer.blob_name
        );
        let blob = match self.source.member(&layer.blob_name) {
            Ok(blob) => blob,
            Err(error) => {
                out.push(Finding::new(
                    &MALFORMED,
                    location,
                    format!("{name} could not be read, so it was not scanned: {error}"),
                ));
                return true;
            }
        };
        if layer
            .media_type
            .as_deref()
            .is_some_and(|media_type| media_type.contains("+encrypted"))
        {
            out.push(Finding::new(
                &ENCRYPTED,
                location,
                format!("{name} is encrypted (ocicrypt), so its files were not scanned"),
            ));
            return true;
        }
        verify_layer(layer, &name, &blob, &location, out);
        let Some(tar_bytes) = layer::decompress(&blob, &location, limits, total, out) else {
            return true;
        };
        if let Some(diff_id) = &layer.diff_id {
            let checked_already =
                layer::sniff(&blob) == Compression::None && layer.digest.as_ref() == Some(diff_id);
            if !checked_already
                && let Err(error) = digest::verify(&layer.blob_name, &tar_bytes, diff_id, None)
            {
                out.push(
                    Finding::new(
                        &BLOB_DIGEST_MISMATCH,
                        location.clone(),
                        format!("the uncompressed tar of {name} does not match the config's diff id: {error}"),
                    )
                    .with_evidence(diff_id.to_string()),
                );
            }
        }
        let mut tar_findings = Vec::new();
        let entries = tar::entries(&tar_bytes, &location, limits, &mut tar_findings);
        // The tar reader judges paths for extraction into a directory; inside an image,
        // absolute symlink targets are normal, so layer paths are judged below instead.
        out.extend(
            tar_findings
                .into_iter()
                .filter(|f| f.rule.id != TAR_PATH_TRAVERSAL.id),
        );
        let changes: Vec<Change<'_>> = entries
            .iter()
            .filter_map(|entry| classify(entry, &location, out))
            .collect();
        let mut last_position: HashMap<&str, usize> = HashMap::new();
        for (position, change) in changes.iter().enumerate() {
            if change.tracked && matches!(change.effect, Effect::Entry(_)) {
                last_position.insert(&change.path, position);
            }
        }
        let locations: Vec<Location> = changes
            .iter()
            .map(|change| location.member(&change.path))
            .collect();
        let mut visits = Vec::with_capacity(changes.len());
        for ((position, change), entry_location) in changes.iter().enumerate().zip(&locations) {
            let Effect::Entry(kind) = &change.effect else {
                continue;
            };
            let is_dir = *kind == EntryKind::Directory;
            let replaced_here = !is_dir
                && last_position
                    .get(change.path.as_str())
                    .is_some_and(|&last| last != position);
            let deleted_in = if replaced_here {
                Some(layer.index)
            } else if change.tracked {
                overlay.fate(&change.path, is_dir)
            } else {
                None
            };
            visits.push(LayerEntry {
                path: &change.path,
                kind,
                size: change.entry.size,
                data: change.entry.data,
                layer,
                deleted_in,
                location: entry_location,
            });
        }
        visit(&visits);
        drop(visits);
        for change in changes.iter().filter(|change| change.tracked) {
            overlay.record(&change.path, &change.effect, layer.index);
        }
        if overlay.len() as u64 > limits.max_metadata_entries {
            out.push(Finding::new(
                &LIMIT_EXCEEDED,
                location,
                format!(
                    "the layers hold more than max_metadata_entries ({}) paths; {name} and the layers \
                     below it were not scanned",
                    limits.max_metadata_entries
                ),
            ));
            return false;
        }
        true
    }
}

fn verify_layer(
    layer: &Layer,
    name: &str,
    blob: &[u8],
    location: &Location,
    out: &mut Vec<Finding>,
) {
    match (&layer.digest, &layer.diff_id) {
        (Some(expected), _) => {
            if let Err(error) = digest::verify(&layer.blob_name, blob, expected, layer.size) {
                out.push(
                    Finding::new(&BLOB_DIGEST_MISMATCH, location.clone(), format!("{name}: {error}"))
                        .with_evidence(expected.to_string()),
                );
            }
        }
        (None, Some(_)) => {}
        (None, None) => out.push(Finding::new(
            &BLOB_DIGEST_MISMATCH,
            location.clone(),
            format!("{name} has neither a blob digest nor a diff id in the config, so nothing verifies it"),
        )),
    }
}

/// What an entry does to the filesystem.
enum Effect {
    Entry(EntryKind),
    /// Deletes the path (and what is below it) from lower layers.
    Whiteout,
    /// Hides everything below the directory in lower layers.
    Opaque,
}

struct Change<'e> {
    /// The entry's path; for whiteouts the deleted path, for opaque markers the directory.
    path: String,
    effect: Effect,
    entry: &'e TarEntry<'e>,
    /// Whether the path is short enough to take part in the overlay.
    tracked: bool,
}

fn classify<'e>(
    entry: &'e TarEntry<'e>,
    layer_location: &Location,
    out: &mut Vec<Finding>,
) -> Option<Change<'e>> {
    let path = clean_path(&entry.name, "entry name", layer_location, out);
    if entry.kind == TarKind::HardLink
        && let Some(target) = &entry.link_target
    {
        clean_path(
            target,
            "hard link target",
            &layer_location.member(&path),
            out,
        );
    }
    let (parent, file_name) = path.rsplit_once('/').unwrap_or(("", path.as_str()));
    let (path, effect) = if file_name == OPAQUE_MARKER {
        (parent.to_owned(), Effect::Opaque)
    } else if file_name.starts_with(WHITEOUT_META_PREFIX) {
        return None;
    } else if let Some(deleted) = file_name.strip_prefix(WHITEOUT_PREFIX) {
        let deleted = if parent.is_empty() {
            deleted.to_owned()
        } else {
            format!("{parent}/{deleted}")
        };
        (deleted, Effect::Whiteout)
    } else if path.is_empty() {
        // The root directory itself (`./`).
        return None;
    } else {
        (path.clone(), Effect::Entry(kind_of(entry)))
    };
    let tracked = path.len() <= MAX_PATH_BYTES;
    if !tracked {
        out.push(Finding::new(
            &LIMIT_EXCEEDED,
            layer_location.at(entry.header_offset as u64),
            format!(
                "the entry at offset {} has a {}-byte path, longer than any path a container can open \
                 ({MAX_PATH_BYTES}); it was scanned but left out of the merged filesystem",
                entry.header_offset,
                path.len()
            ),
        ));
    }
    Some(Change {
        path,
        effect,
        entry,
        tracked,
    })
}

fn kind_of(entry: &TarEntry<'_>) -> EntryKind {
    match entry.kind {
        TarKind::Directory => EntryKind::Directory,
        TarKind::Symlink => EntryKind::Symlink {
            target: entry.link_target.clone().unwrap_or_default(),
        },
        TarKind::HardLink => EntryKind::HardLink {
            target: entry.link_target.clone().unwrap_or_default(),
        },
        TarKind::CharDevice | TarKind::BlockDevice | TarKind::Fifo => EntryKind::Special,
        TarKind::File | TarKind::Sparse | TarKind::Other(_) => EntryKind::File,
    }
}

/// The path a runtime extracts `name` to, relative to the root: leading `/` and `..` that
/// climb above the root are dropped (as containerd does), and reported, because no builder
/// writes them and other extractors honour them.
fn clean_path(name: &str, what: &str, location: &Location, out: &mut Vec<Finding>) -> String {
    let mut parts: Vec<&str> = Vec::new();
    let mut escapes = false;
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => escapes |= parts.pop().is_none(),
            part => parts.push(part),
        }
    }
    let absolute = name.starts_with('/');
    if escapes || absolute {
        let (severity, reason) = if escapes {
            (Severity::High, "climbs above the root with `..`")
        } else {
            (Severity::Medium, "is an absolute path")
        };
        out.push(
            Finding::new(
                &LAYER_PATH_TRAVERSAL,
                location.clone(),
                format!(
                    "the {what} '{}' {reason}; runtimes place it at '/{}', other extractors write outside \
                     the target directory",
                    digest::shorten(name),
                    digest::shorten(&parts.join("/"))
                ),
            )
            .with_severity(severity)
            .with_evidence(digest::shorten(name)),
        );
    }
    parts.join("/")
}

/// What the layers above the one being walked did, per path, as the lowest layer index
/// that did it (layers are walked top down, so each record overwrites a higher one).
#[derive(Default)]
struct Overlay {
    /// A whiteout or a non-directory at the path: the path and everything below it go.
    removes_path: HashMap<String, usize>,
    /// An opaque marker on the directory: everything below it goes.
    removes_children: HashMap<String, usize>,
    /// A directory at the path: replaces a non-directory there.
    directory_at: HashMap<String, usize>,
}

impl Overlay {
    fn len(&self) -> usize {
        self.removes_path.len() + self.removes_children.len() + self.directory_at.len()
    }

    fn record(&mut self, path: &str, effect: &Effect, layer: usize) {
        let map = match effect {
            Effect::Entry(EntryKind::Directory) => &mut self.directory_at,
            Effect::Entry(_) | Effect::Whiteout => &mut self.removes_path,
            Effect::Opaque => &mut self.removes_children,
        };
        map.insert(path.to_owned(), layer);
    }

    /// The lowest layer above that deletes or replaces `path`.
    fn fate(&self, path: &str, is_dir: bool) -> Option<usize> {
        let mut fates = vec![self.removes_children.get("")];
        for (slash, _) in path.match_indices('/') {
            let ancestor = &path[..slash];
            fates.push(self.removes_path.get(ancestor));
            fates.push(self.removes_children.get(ancestor));
        }
        fates.push(self.removes_path.get(path));
        if !is_dir {
            fates.push(self.directory_at.get(path));
        }
        fates.into_iter().flatten().copied().min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(name: &str) -> (String, Vec<Finding>) {
        let mut out = Vec::new();
        let path = clean_path(name, "entry name", &Location::file("l"), &mut out);
        (path, out)
    }

    #[test]
    fn cleans_paths_and_reports_escapes() {
        assert_eq!(clean("./usr/bin/python3").0, "usr/bin/python3");
        assert!(clean("./usr//lib/./x").1.is_empty());
        assert_eq!(clean("a/../b").0, "b");
        assert!(clean("a/../b").1.is_empty());
        let (path, findings) = clean("../../etc/passwd");
        assert_eq!(path, "etc/passwd");
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].severity, Severity::High);
        let (path, findings) = clean("/etc/shadow");
        assert_eq!(path, "etc/shadow");
        assert_eq!(findings[0].severity, Severity::Medium);
    }

    #[test]
    fn overlay_applies_whiteouts_opaque_dirs_and_replacements() {
        let mut overlay = Overlay::default();
        overlay.record("etc/secret", &Effect::Whiteout, 3);
        overlay.record("opt/cache", &Effect::Opaque, 2);
        overlay.record(
            "bin",
            &Effect::Entry(EntryKind::Symlink {
                target: "usr/bin".into(),
            }),
            5,
        );
        overlay.record("data", &Effect::Entry(EntryKind::Directory), 4);
        assert_eq!(overlay.fate("etc/secret", false), Some(3));
        assert_eq!(overlay.fate("etc/secret/inner", false), Some(3));
        assert_eq!(overlay.fate("etc/other", false), None);
        assert_eq!(overlay.fate("opt/cache", true), None);
        assert_eq!(overlay.fate("opt/cache/model.bin", false), Some(2));
        assert_eq!(overlay.fate("bin/sh", false), Some(5));
        assert_eq!(overlay.fate("data", false), Some(4));
        assert_eq!(overlay.fate("data", true), None);
        overlay.record("", &Effect::Opaque, 1);
        assert_eq!(overlay.fate("anything", false), Some(1));
        assert_eq!(overlay.fate("etc/secret", false), Some(1));
    }
}
