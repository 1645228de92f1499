//! Walking the files of every layer and applying them as a runtime would: later layers
//! replace files, whiteouts (`.wh.<name>`) delete them and opaque markers (`.wh..wh..opq`)
//! hide everything below a directory. Nothing is deleted from the walk: a file a later
//! layer removed is still in the image, and is visited with the layer that removed it.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufReader, Read};
use std::thread::Scope;

use rampart_archive::rules::TAR_PATH_TRAVERSAL;
use rampart_archive::tar::stream::TarStream;
use rampart_archive::tar::{self, TarKind};
use rampart_archive::zip::PartialZip;
use rampart_core::rules::{ENCRYPTED, LIMIT_EXCEEDED, MALFORMED};
use rampart_core::{Finding, Limits, Location, Severity};

use crate::digest::{self, Digest, HashingReader, ThreadedHashingReader};
use crate::image::{Image, Layer};
use crate::layer::{self, Compression};
use crate::rules::{BLOB_DIGEST_MISMATCH, LAYER_PATH_TRAVERSAL};
use crate::source::{Blob, BlobReader};

/// Paths longer than Linux's PATH_MAX cannot exist in a running container; they are still
/// visited but do not take part in the overlay, so hostile names cannot blow up its maps.
const MAX_PATH_BYTES: usize = 4096;
const OPAQUE_MARKER: &str = ".wh..wh..opq";
/// `.wh..wh.plnk` and other AUFS bookkeeping names; runtimes ignore them.
const WHITEOUT_META_PREFIX: &str = ".wh..wh.";
const WHITEOUT_PREFIX: &str = ".wh.";
/// How much of a file too large to hold in memory is kept for the consumer (format
/// detection, the header of header-only formats).
const PREFIX_BYTES: u64 = 64 * 1024;
/// A compressed layer's files go to the visitor in batches of about this many bytes or
/// entries (files are scanned in parallel within a batch).
const BATCH_BYTES: u64 = 64 << 20;
const BATCH_ENTRIES: usize = 16_384;

/// Whether a walk's consumer asks [`LayerEntry::sha256`] of the files too large to hold
/// that come from compressed layers: those are hashed as they stream, or not at all.
/// (Other files are hashed when asked.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileDigests {
    Wanted,
    NotWanted,
}

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
    /// The content, for files; valid only during the visit. The whole content when
    /// `complete`; otherwise (a file of a compressed layer larger than
    /// `max_decompressed_bytes`, which is not held in memory) its first 64 KiB.
    pub data: &'a [u8],
    pub complete: bool,
    content: &'a Content<'a>,
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
        digests: FileDigests,
        out: &mut Vec<Finding>,
        mut visit: impl FnMut(&LayerEntry<'_>),
    ) {
        self.walk_layers(limits, digests, out, |entries| {
            entries.iter().for_each(&mut visit)
        });
    }

    /// [`Image::walk`] a layer at a time: `visit` gets all entries of one layer at once
    /// (while that layer, and only that layer, is in memory), so they can be processed in
    /// parallel.
    pub fn walk_layers(
        &self,
        limits: &Limits,
        digests: FileDigests,
        out: &mut Vec<Finding>,
        mut visit: impl FnMut(&[LayerEntry<'_>]),
    ) {
        let mut overlay = Overlay::default();
        let mut total = limits.max_total_decompressed_bytes;
        for layer in self.layers.iter().rev() {
            let walked = self.walk_layer(
                layer,
                limits,
                digests,
                &mut total,
                &mut overlay,
                out,
                &mut visit,
            );
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
        self.walk(limits, FileDigests::NotWanted, out, |entry| {
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
    #[allow(clippy::too_many_arguments)]
    fn walk_layer(
        &self,
        layer: &Layer,
        limits: &Limits,
        digests: FileDigests,
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
        let mut walk = LayerWalk {
            layer,
            location: &location,
            pending: Vec::new(),
            pending_bytes: 0,
            changes: Vec::new(),
        };
        let head = blob.get(..4).unwrap_or(&blob);
        match layer::sniff(head) {
            Compression::None => {
                walk_uncompressed(&blob, &name, &mut walk, limits, overlay, out, visit)
            }
            compression => walk_compressed(
                &blob,
                compression,
                &name,
                &mut walk,
                limits,
                digests,
                total,
                overlay,
                out,
                visit,
            ),
        }
        for (path, effect) in walk.changes {
            overlay.record(&path, &effect, layer.index);
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

/// An uncompressed layer: its members are slices of the (mapped) blob, which the consumer
/// touches only where it reads; the blob is hashed with `read(2)`, not through the map, on
/// a thread of its own while the members are visited (a visitor that hashes a model reads
/// the same bytes: two passes side by side instead of one after the other).
fn walk_uncompressed<'b>(
    blob: &'b Blob<'_>,
    name: &str,
    walk: &mut LayerWalk<'b>,
    limits: &Limits,
    overlay: &Overlay,
    out: &mut Vec<Finding>,
    visit: &mut impl FnMut(&[LayerEntry<'_>]),
) {
    let layer = walk.layer;
    let location = walk.location;
    let mut member_findings = Vec::new();
    let digest = std::thread::scope(|scope| {
        let hashing = scope.spawn(|| HashingReader::new(blob.reader()).finish());
        visit_members(blob, walk, limits, overlay, &mut member_findings, visit);
        hashing.join()
    });
    match digest {
        Ok(Ok((actual, len))) => {
            verify_blob(layer, name, &actual, len, location, out);
            if let Some(diff_id) = &layer.diff_id
                && layer.digest.as_ref() != Some(diff_id)
            {
                verify_diff_id(layer, name, &actual, len, diff_id, location, out);
            }
        }
        Ok(Err(error)) => out.push(Finding::new(
            &MALFORMED,
            location.clone(),
            format!("{name} could not be read to verify its digest: {error}"),
        )),
        Err(panic) => std::panic::resume_unwind(panic),
    }
    out.extend(member_findings);
}

fn visit_members<'b>(
    blob: &'b Blob<'_>,
    walk: &mut LayerWalk<'b>,
    limits: &Limits,
    overlay: &Overlay,
    out: &mut Vec<Finding>,
    visit: &mut impl FnMut(&[LayerEntry<'_>]),
) {
    let mut tar_findings = Vec::new();
    let entries = tar::entries(blob, walk.location, limits, &mut tar_findings);
    out.extend(without_tar_path_findings(tar_findings));
    let file = blob.file_at();
    let base = blob.as_ptr() as usize;
    for entry in &entries {
        let header = Header {
            name: &entry.name,
            kind: entry.kind,
            link_target: entry.link_target.as_deref(),
            header_offset: entry.header_offset as u64,
            size: entry.size,
        };
        // Members are slices of `blob`; their offset in the file is where they lie in it.
        let file_at = file.map(|(file, at)| {
            let offset = (entry.data.as_ptr() as usize).saturating_sub(base) as u64;
            (file, at.saturating_add(offset))
        });
        walk.push(
            &header,
            Content::Mapped {
                data: entry.data,
                file_at,
            },
            out,
        );
    }
    walk.flush(overlay, visit);
}

/// A compressed layer, decompressed as a stream and read once: small files are held in
/// memory a batch at a time, files over `max_decompressed_bytes` only as a prefix and
/// a digest, so memory does not grow with the layer or with its largest file.
#[allow(clippy::too_many_arguments)]
fn walk_compressed(
    blob: &Blob<'_>,
    compression: Compression,
    name: &str,
    walk: &mut LayerWalk<'_>,
    limits: &Limits,
    digests: FileDigests,
    total: &mut u64,
    overlay: &Overlay,
    out: &mut Vec<Finding>,
    visit: &mut impl FnMut(&[LayerEntry<'_>]),
) {
    let layer = walk.layer;
    let location = walk.location.clone();
    let cap = *total;
    // The diff id is hashed on a thread of its own while this one decompresses.
    std::thread::scope(|scope| {
        let mut raw = HashingReader::new(blob.reader());
        let decoded = layer::decoder(compression, BufReader::with_capacity(1 << 16, &mut raw));
        let mut tar_input = ThreadedHashingReader::new(scope, decoded.take(cap.saturating_add(1)));
        let mut stream = TarStream::new(&mut tar_input, &location, limits);
        while let Some(entry) = stream.next_entry() {
            let header = Header {
                name: &entry.name,
                kind: entry.kind,
                link_target: entry.link_target.as_deref(),
                header_offset: entry.header_offset,
                size: entry.size,
            };
            let content = if entry.is_file() {
                read_member(&mut stream, entry.size, limits, digests, scope)
            } else {
                Content::Memory(Vec::new())
            };
            walk.push(&header, content, out);
            if walk.pending_bytes >= BATCH_BYTES || walk.pending.len() >= BATCH_ENTRIES {
                walk.flush(overlay, visit);
            }
        }
        walk.flush(overlay, visit);
        let mut tar_findings = Vec::new();
        let finished = stream.finish(&mut tar_findings);
        out.extend(without_tar_path_findings(tar_findings));
        // The rest of the decompressed stream (zeros after the tar), then of the blob, so the
        // digests cover all of it.
        let decoded = (!finished.read_failed).then(|| tar_input.finish());
        match raw.finish() {
            Ok((actual, len)) => verify_blob(layer, name, &actual, len, &location, out),
            Err(error) => out.push(Finding::new(
                &MALFORMED,
                location.clone(),
                format!("{name} could not be read to verify its digest: {error}"),
            )),
        }
        let (actual, len) = match decoded {
            Some(Ok(decoded)) => decoded,
            Some(Err(error)) => {
                out.push(Finding::new(
                    &MALFORMED,
                    location,
                    format!(
                        "the {} stream of {name} is corrupt or truncated after the end of its tar ({error})",
                        compression.name()
                    ),
                ));
                return;
            }
            // Reported by the tar reader, with the offset where reading stopped.
            None => return,
        };
        *total = total.saturating_sub(len);
        if len > cap {
            out.push(Finding::new(
                &LIMIT_EXCEEDED,
                location,
                format!(
                    "the compressed layers expand to more than max_total_decompressed_bytes ({}) together; \
                     {name} was read up to that point, the rest of it and the layers below were not; raise \
                     [limits] max_total_decompressed_bytes to read them",
                    limits.max_total_decompressed_bytes
                ),
            ));
            return;
        }
        if let Some(diff_id) = &layer.diff_id {
            verify_diff_id(layer, name, &actual, len, diff_id, &location, out);
        }
    });
}

/// Reads one member's content from the stream: whole when it fits `max_decompressed_bytes`,
/// else what its checks read ([`kept_parts`]) and, when `digests` wants it, the digest of
/// all of it, hashed as it streams on a thread of `scope`.
fn read_member<'scope>(
    stream: &mut impl Read,
    size: u64,
    limits: &Limits,
    digests: FileDigests,
    scope: &'scope Scope<'scope, '_>,
) -> Content<'static> {
    if size <= limits.max_decompressed_bytes {
        let mut data = Vec::new();
        // A read error ends the stream and is reported by the tar reader; what came
        // before it is kept, as an extraction would have written it.
        let _ = stream.take(size).read_to_end(&mut data);
        return Content::Memory(data);
    }
    match digests {
        FileDigests::Wanted => {
            let mut hashing = ThreadedHashingReader::new(scope, stream.take(size));
            let kept = kept_parts(&mut hashing, size, limits);
            let sha256 = hashing
                .finish()
                .ok()
                .and_then(|(digest, read)| (read == size).then_some(digest));
            kept.with_digest(sha256)
        }
        FileDigests::NotWanted => {
            let mut member = stream.take(size);
            let kept = kept_parts(&mut member, size, limits);
            // The rest goes unread by anyone: passed over (errors are the tar reader's).
            let _ = std::io::copy(&mut member, &mut std::io::sink());
            kept
        }
    }
}

/// What the checks of a file too large to hold read, from its stream: a zip's headers,
/// directory and non-tensor members ([`PartialZip`]), a safetensors file's whole header, a
/// GGUF file's first `max_header_bytes` (its header has no declared length), otherwise the
/// first [`PREFIX_BYTES`]. Without a digest yet.
fn kept_parts(member: &mut impl Read, size: u64, limits: &Limits) -> Content<'static> {
    let bound = limits.max_decompressed_bytes;
    let mut head = Vec::new();
    let _ = member.take(PREFIX_BYTES).read_to_end(&mut head);
    if head.starts_with(b"PK\x03\x04") {
        let never_read = |name: &[u8]| {
            std::str::from_utf8(name).is_ok_and(rampart_formats::torchscript::is_storage_member)
        };
        let budget = bound.saturating_sub(head.len() as u64);
        if let Ok(zip) = PartialZip::capture(&head, member, size, budget, &never_read) {
            return Content::PartialZip {
                zip,
                sha256: None,
                bound,
            };
        }
    }
    let header_extent = if rampart_formats::gguf::looks_like_gguf(&head) {
        Some(limits.max_header_bytes)
    } else {
        rampart_formats::safetensors::header_extent(&head)
    };
    if let Some(extent) = header_extent {
        let wanted = extent.min(limits.max_header_bytes.saturating_add(8));
        let more = wanted.saturating_sub(head.len() as u64);
        let _ = member.take(more).read_to_end(&mut head);
    }
    Content::Prefix {
        head,
        sha256: None,
        bound,
    }
}

fn without_tar_path_findings(findings: Vec<Finding>) -> impl Iterator<Item = Finding> {
    // The tar reader judges paths for extraction into a directory; inside an image,
    // absolute symlink targets are normal, so layer paths are judged by `clean_path`.
    findings
        .into_iter()
        .filter(|f| f.rule.id != TAR_PATH_TRAVERSAL.id)
}

/// A layer's entries on their way to the visitor, and what they do to the overlay.
struct LayerWalk<'w> {
    layer: &'w Layer,
    location: &'w Location,
    pending: Vec<(Change, Content<'w>)>,
    /// Bytes of content held by `pending`.
    pending_bytes: u64,
    /// Every tracked change of the layer, applied to the overlay once the layer is done
    /// (an entry is judged only by the layers above its own).
    changes: Vec<(String, Effect)>,
}

impl<'w> LayerWalk<'w> {
    fn push(&mut self, header: &Header<'_>, content: Content<'w>, out: &mut Vec<Finding>) {
        if let Some(change) = classify(header, self.location, out) {
            self.pending_bytes += content.held_bytes();
            self.pending.push((change, content));
        }
    }

    /// Visits the pending entries together. A path that appears twice in the layer marks
    /// its first copy as replaced when both are in the same batch; a whole uncompressed
    /// layer is one batch, a compressed one is cut every [`BATCH_BYTES`] or
    /// [`BATCH_ENTRIES`] (the tar reader reports every repeated name regardless).
    fn flush(&mut self, overlay: &Overlay, visit: &mut impl FnMut(&[LayerEntry<'_>])) {
        let pending = std::mem::take(&mut self.pending);
        self.pending_bytes = 0;
        let mut last_position: HashMap<&str, usize> = HashMap::new();
        for (position, (change, _)) in pending.iter().enumerate() {
            if change.tracked && matches!(change.effect, Effect::Entry(_)) {
                last_position.insert(&change.path, position);
            }
        }
        let locations: Vec<Location> = pending
            .iter()
            .map(|(change, _)| self.location.member(&change.path))
            .collect();
        let mut visits = Vec::with_capacity(pending.len());
        for ((position, (change, content)), entry_location) in
            pending.iter().enumerate().zip(&locations)
        {
            let Effect::Entry(kind) = &change.effect else {
                continue;
            };
            let is_dir = *kind == EntryKind::Directory;
            let replaced_here = !is_dir
                && last_position
                    .get(change.path.as_str())
                    .is_some_and(|&last| last != position);
            let deleted_in = if replaced_here {
                Some(self.layer.index)
            } else if change.tracked {
                overlay.fate(&change.path, is_dir)
            } else {
                None
            };
            visits.push(LayerEntry {
                path: &change.path,
                kind,
                size: change.size,
                data: content.data(),
                complete: content.exceeded_bound().is_none(),
                content,
                layer: self.layer,
                deleted_in,
                location: entry_location,
            });
        }
        if !visits.is_empty() {
            visit(&visits);
        }
        drop(visits);
        self.changes.extend(
            pending
                .into_iter()
                .filter(|(change, _)| change.tracked)
                .map(|(change, _)| (change.path, change.effect)),
        );
    }
}

/// What a layer entry's content is, and where it comes from.
#[derive(Debug)]
pub(crate) enum Content<'b> {
    /// The whole content, a slice of the blob (mapped), at this offset of this file when
    /// the blob is on disk.
    Mapped {
        data: &'b [u8],
        file_at: Option<(&'b File, u64)>,
    },
    /// The whole content, read from a stream.
    Memory(Vec<u8>),
    /// A file larger than `bound` from a stream: its first bytes and its digest (`None`
    /// when the stream ended inside it).
    Prefix {
        head: Vec<u8>,
        sha256: Option<Digest>,
        bound: u64,
    },
    /// A zip larger than `bound` from a stream: the parts its checks read, and its digest.
    PartialZip {
        zip: PartialZip,
        sha256: Option<Digest>,
        bound: u64,
    },
}

impl Content<'_> {
    /// The content, or (when it was not held whole) its first bytes.
    fn data(&self) -> &[u8] {
        match self {
            Content::Mapped { data, .. } => data,
            Content::Memory(data) => data,
            Content::Prefix { head, .. } => head,
            Content::PartialZip { zip, .. } => &zip.data()[..zip.held().prefix_len()],
        }
    }

    /// The bytes it holds in memory (a mapped member holds none).
    fn held_bytes(&self) -> u64 {
        match self {
            Content::Mapped { .. } => 0,
            Content::PartialZip { zip, .. } => zip.held().len(),
            content => content.data().len() as u64,
        }
    }

    fn with_digest(mut self, digest: Option<Digest>) -> Self {
        if let Content::Prefix { sha256, .. } | Content::PartialZip { sha256, .. } = &mut self {
            *sha256 = digest;
        }
        self
    }

    fn exceeded_bound(&self) -> Option<u64> {
        match self {
            Content::Prefix { bound, .. } | Content::PartialZip { bound, .. } => Some(*bound),
            Content::Mapped { .. } | Content::Memory(_) => None,
        }
    }
}

impl LayerEntry<'_> {
    /// The SHA-256 of the entry's content, read with `read(2)` when it lies in a file on
    /// disk (hashing a multi-gigabyte model through the map would keep it all resident).
    /// `None` when the content could not be read whole (a layer cut short: reported), or
    /// was streamed by a walk that did not want [`FileDigests`].
    pub fn sha256(&self) -> Option<Digest> {
        match self.content {
            Content::Mapped {
                data,
                file_at: Some(file_at),
            } => HashingReader::new(BlobReader::of(data, Some(*file_at)))
                .finish()
                .ok()
                .map(|(digest, _)| digest),
            Content::Mapped {
                data,
                file_at: None,
            } => Some(Digest::of(data)),
            Content::Memory(data) => Some(Digest::of(data)),
            Content::Prefix { sha256, .. } | Content::PartialZip { sha256, .. } => sha256.clone(),
        }
    }

    /// When `data` is only a prefix: the per-file bound the content exceeded
    /// (`max_decompressed_bytes`).
    pub fn exceeded_bound(&self) -> Option<u64> {
        self.content.exceeded_bound()
    }

    /// A zip too large to hold (see [`LayerEntry::exceeded_bound`]): the parts of it that
    /// its checks read.
    pub fn partial_zip(&self) -> Option<&PartialZip> {
        match self.content {
            Content::PartialZip { zip, .. } => Some(zip),
            _ => None,
        }
    }
}

fn verify_blob(
    layer: &Layer,
    name: &str,
    actual: &Digest,
    len: u64,
    location: &Location,
    out: &mut Vec<Finding>,
) {
    match (&layer.digest, &layer.diff_id) {
        (Some(expected), _) => {
            if let Err(error) = digest::check(&layer.blob_name, actual, len, expected, layer.size) {
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

fn verify_diff_id(
    layer: &Layer,
    name: &str,
    actual: &Digest,
    len: u64,
    diff_id: &Digest,
    location: &Location,
    out: &mut Vec<Finding>,
) {
    if let Err(error) = digest::check(&layer.blob_name, actual, len, diff_id, None) {
        out.push(
            Finding::new(
                &BLOB_DIGEST_MISMATCH,
                location.clone(),
                format!(
                    "the uncompressed tar of {name} does not match the config's diff id: {error}"
                ),
            )
            .with_evidence(diff_id.to_string()),
        );
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

/// A member header, from the slice or the stream tar reader.
struct Header<'h> {
    name: &'h str,
    kind: TarKind,
    link_target: Option<&'h str>,
    header_offset: u64,
    size: u64,
}

struct Change {
    /// The entry's path; for whiteouts the deleted path, for opaque markers the directory.
    path: String,
    effect: Effect,
    size: u64,
    /// Whether the path is short enough to take part in the overlay.
    tracked: bool,
}

fn classify(
    entry: &Header<'_>,
    layer_location: &Location,
    out: &mut Vec<Finding>,
) -> Option<Change> {
    let path = clean_path(entry.name, "entry name", layer_location, out);
    if entry.kind == TarKind::HardLink
        && let Some(target) = entry.link_target
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
            layer_location.at(entry.header_offset),
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
        size: entry.size,
        tracked,
    })
}

fn kind_of(entry: &Header<'_>) -> EntryKind {
    let target = || entry.link_target.unwrap_or_default().to_owned();
    match entry.kind {
        TarKind::Directory => EntryKind::Directory,
        TarKind::Symlink => EntryKind::Symlink { target: target() },
        TarKind::HardLink => EntryKind::HardLink { target: target() },
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
