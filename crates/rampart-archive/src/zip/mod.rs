//! Zip archives the way PyTorch (miniz) and Python's zipfile (numpy, Keras) read them.
//!
//! Members are located from the central directory, their data from the local header's
//! name and extra lengths, and read with the central directory's method and sizes, as both
//! loaders do. Local headers are also walked: what only they show (hidden members, other
//! names, other sizes) is reported and made available too. Nothing here fails on an
//! anomaly a loader tolerates (bad CRC, odd flag bits, prepended data): it is reported and
//! the content is still handed out.
//!
//! Stored members, which is how PyTorch writes tensors, are borrowed slices of the input:
//! reading them copies nothing, and [`Archive::peek`] touches only the bytes it returns.

#[cfg(test)]
pub(crate) mod build;
mod partial;
mod records;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;

use memchr::memmem;
use rampart_core::rules::{ENCRYPTED, LIMIT_EXCEEDED, MALFORMED};
use rampart_core::{Finding, Limits, Location};

pub use self::partial::{Held, PartialZip};
pub use self::records::Located;
use self::records::{CentralRecord, LOCAL_SIG, LocalHeader};
use crate::compress::{self, Format};
use crate::report::Reporter;
use crate::rules::{
    ZIP_CRC_MISMATCH, ZIP_DUPLICATE_NAME, ZIP_END_RECORD_MISMATCH, ZIP_HEADER_MISMATCH,
    ZIP_HIDDEN_MEMBER, ZIP_IGNORED_FLAG_BITS, ZIP_MISSING_CENTRAL_DIRECTORY, ZIP_NAME_MISMATCH,
    ZIP_OVERLAPPING_MEMBERS, ZIP_PATH_TRAVERSAL, ZIP_ZIP64_INCONSISTENT,
};
use crate::{Budget, names};

const FLAG_ENCRYPTED: u16 = 1 << 0;
const FLAG_LZMA_END_MARKER: u16 = 1 << 1;
const FLAG_DESCRIPTOR: u16 = 1 << 3;
const FLAG_STRONG_ENCRYPTION: u16 = 1 << 6;
/// Bits benign writers set: compression options (1, 2), data descriptor (3), UTF-8
/// names (11).
const ORDINARY_FLAGS: u16 = 0b0000_1000_0000_1110;
/// Bits that only advise the decompressor; writers need not repeat them consistently.
const COMPRESSION_OPTION_FLAGS: u16 = 0b0110;

const METHOD_STORED: u16 = 0;
const METHOD_DEFLATE: u16 = 8;
const METHOD_BZIP2: u16 = 12;
const METHOD_LZMA: u16 = 14;
const METHOD_XZ: u16 = 95;
const METHOD_AES: u16 = 99;

/// Stored members up to this size get their CRC-32 checked on read (PyTorch's `data.pkl`,
/// the target of CVE-2025-10156, is far smaller). Larger ones are handed out unchecked:
/// checking would read every byte of tensors the analyzers only look at the header of.
const STORED_CRC_CHECK_LIMIT: usize = 16 << 20;

/// How much of a member flagged as encrypted must decompress cleanly for it to count as
/// plaintext with a bogus flag. Encrypted bytes fail to inflate within a few hundred bytes.
const PLAINTEXT_PROBE: u64 = 64 * 1024;

/// Finds a zip in `data`: the end of central directory record is searched from the end
/// (behind a comment of up to 64 KiB), ZIP64 aware. [`Located::start`] is > 0 when other
/// data precedes the archive (a pickle with a zip appended, a self-extracting stub), so the
/// caller can scan that prefix too. `None` when there is no end record; [`Archive::open`]
/// still reads a file that starts with a local header.
pub fn locate(data: &[u8]) -> Option<Located> {
    records::locate_with(data, &mut |_, _, _| {})
}

/// The name of a zip compression method, for messages.
pub fn method_name(method: u16) -> &'static str {
    match method {
        METHOD_STORED => "stored",
        METHOD_DEFLATE => "deflate",
        9 => "deflate64",
        METHOD_BZIP2 => "bzip2",
        METHOD_LZMA => "lzma",
        93 => "zstd",
        METHOD_XZ => "xz",
        98 => "ppmd",
        METHOD_AES => "aes-encrypted",
        _ => "unknown",
    }
}

fn is_supported(method: u16) -> bool {
    matches!(
        method,
        METHOD_STORED | METHOD_DEFLATE | METHOD_BZIP2 | METHOD_LZMA | METHOD_XZ
    )
}

/// One member, as the central directory describes it (or, for a hidden member, its local
/// header).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The central directory's name, which is what loaders look members up by. Bytes that
    /// are not UTF-8 are shown as `\xNN`.
    pub name: String,
    /// The local header's name when it differs from [`Entry::name`] (CVE-2025-1944).
    pub local_name: Option<String>,
    /// Compression method (0 stored, 8 deflate, 12 bzip2, 14 lzma, 95 xz, …).
    pub method: u16,
    /// General-purpose flags from the central directory.
    pub flags: u16,
    pub compressed_size: u64,
    /// Uncompressed size as recorded.
    pub size: u64,
    /// CRC-32 as recorded.
    pub crc32: u32,
    /// Absolute offset of the local header in the buffer given to [`Archive::open`].
    pub header_offset: u64,
    /// Absolute offset of the member's data; `None` when its local header is missing.
    pub data_offset: Option<usize>,
    /// A directory: the name ends with `/` and no data is recorded. A "directory" with data
    /// is listed as a file, so that its data is scanned.
    pub is_dir: bool,
    /// Found by walking local headers only: the central directory does not list it.
    pub hidden: bool,
    access: Access,
    /// Compressed bytes present from `data_offset` (less than `compressed_size` when the
    /// file is cut short).
    available: usize,
    /// False for a local-only member whose sizes and CRC were deferred to a data
    /// descriptor that could not be found: nothing to check them against.
    sizes_known: bool,
}

impl Entry {
    /// Whether the content can be read at all (not encrypted, a supported method, a local
    /// header present). [`Archive::open`] reported the reason when not.
    pub fn is_readable(&self) -> bool {
        self.access == Access::Readable
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Access {
    Readable,
    Encrypted,
    UnsupportedMethod,
    NoLocalHeader,
    /// The local header lies in a part of a [`PartialZip`] that was not kept.
    NotHeld,
}

/// Why a member's content cannot be peeked at.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MemberError {
    #[error("the member is encrypted")]
    Encrypted,
    #[error("compression method {0} ({name}) is not supported", name = method_name(*.0))]
    UnsupportedMethod(u16),
    #[error("there is no local file header at offset {0}")]
    NoLocalHeader(u64),
    #[error("the compressed data is corrupt: {0}")]
    Corrupt(String),
    #[error(
        "its data lies in the part of the file that was not kept in memory (a file read from a \
         stream that is larger than max_decompressed_bytes keeps only what scanners read, within \
         that many bytes)"
    )]
    NotHeld,
}

/// A zip archive over a borrowed buffer.
#[derive(Debug)]
pub struct Archive<'a> {
    data: &'a [u8],
    /// For a [`PartialZip`]: the bytes of `data` that are content.
    held: Option<&'a Held>,
    entries: Vec<Entry>,
    located: Option<Located>,
}

impl<'a> Archive<'a> {
    /// Parses the central directory and walks the local headers, reporting anomalies as
    /// findings at `location` (the archive's own location). Members that cannot be read
    /// (encrypted, unsupported method, no local header, cut short) are reported here, once,
    /// with the shared `scan/*` rules; [`Archive::read`] adds only what reading reveals.
    ///
    /// Without a usable central directory the local headers are walked from the start and
    /// reported. `None` only when nothing usable is there (a `scan/malformed` finding was
    /// pushed).
    pub fn open(
        data: &'a [u8],
        location: &Location,
        limits: &Limits,
        out: &mut Vec<Finding>,
    ) -> Option<Archive<'a>> {
        Self::open_held(data, None, location, limits, out)
    }

    /// [`Archive::open`] for a zip of which only some bytes were kept: what lies outside
    /// them is never read. Members whose headers or data were not kept are reported
    /// (`scan/limit-exceeded`) when they are needed, and a central directory that was not
    /// kept makes the archive unreadable (reported too).
    pub fn open_partial(
        zip: &'a PartialZip,
        location: &Location,
        limits: &Limits,
        out: &mut Vec<Finding>,
    ) -> Option<Archive<'a>> {
        Self::open_held(zip.data(), Some(zip.held()), location, limits, out)
    }

    fn open_held(
        data: &'a [u8],
        held: Option<&'a Held>,
        location: &Location,
        limits: &Limits,
        out: &mut Vec<Finding>,
    ) -> Option<Archive<'a>> {
        let mut report = Reporter::new(out, location);
        let archive = Opening {
            data,
            held,
            not_held: Vec::new(),
            location,
            limits,
            report: &mut report,
            entries: Vec::new(),
            spans: Vec::new(),
            member_limit_hit: false,
        }
        .run();
        report.finish();
        archive
    }

    /// Every member: the central directory's in order, then hidden ones.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Where the archive sits in the buffer; `None` when it was read from local headers
    /// only.
    pub fn located(&self) -> Option<&Located> {
        self.located.as_ref()
    }

    /// The first up to `n` bytes of the member's content, for format sniffing: a borrowed
    /// slice for stored members, otherwise only as much is decompressed as `n` needs.
    pub fn peek(&self, entry: &Entry, n: usize) -> Result<Cow<'a, [u8]>, MemberError> {
        if entry.method == METHOD_STORED {
            let len = n.min(stored_len(entry, entry.available));
            return self.compressed_part(entry, len).map(Cow::Borrowed);
        }
        let compressed = self.compressed(entry)?;
        let (format, stream) = member_format(entry, compressed)?;
        compress::peek_format(format, stream, n)
            .map(Cow::Owned)
            .map_err(|error| MemberError::Corrupt(error.to_string()))
    }

    /// The member's whole content: a borrowed slice of the input for stored members (no
    /// copy, no budget), otherwise decompressed within `limits.max_decompressed_bytes`, the
    /// `budget` and the ratio limit. Findings go to `location`, the member's location.
    ///
    /// A CRC-32 or size that does not match is reported and the content is still returned,
    /// as PyTorch would load it. (The CRC of stored members over 16 MiB is not checked, so
    /// that handing out a tensor never reads it.) A corrupt stream is reported and what came out before the
    /// damage is returned. `None` when the member is unreadable (already reported by
    /// [`Archive::open`]), a bomb, or over a limit (reported here).
    pub fn read(
        &self,
        entry: &Entry,
        budget: &mut Budget,
        location: &Location,
        limits: &Limits,
        out: &mut Vec<Finding>,
    ) -> Option<Cow<'a, [u8]>> {
        let compressed = match self.compressed(entry) {
            Ok(compressed) => compressed,
            Err(error @ MemberError::NotHeld) => {
                out.push(Finding::new(
                    &LIMIT_EXCEEDED,
                    location.clone(),
                    format!(
                        "member '{}' ({} bytes) was not scanned: {error}; raise [limits] \
                         max_decompressed_bytes ({}) to hold it",
                        entry.name, entry.size, limits.max_decompressed_bytes
                    ),
                ));
                return None;
            }
            Err(_) => return None,
        };
        let cut_short = (compressed.len() as u64) < entry.compressed_size;
        let (content, complete) = if entry.method == METHOD_STORED {
            let content = compressed.get(..stored_len(entry, compressed.len()))?;
            (Cow::Borrowed(content), !cut_short)
        } else {
            let (format, stream) = match member_format(entry, compressed) {
                Ok(found) => found,
                Err(error) => {
                    out.push(Finding::new(
                        &MALFORMED,
                        location.clone(),
                        format!("member '{}': {error}", entry.name),
                    ));
                    return None;
                }
            };
            let what = format!("member '{}' ({})", entry.name, method_name(entry.method));
            let decoded = compress::decompress_reported(
                format, stream, &what, budget, location, limits, out,
            )?;
            if decoded.content.is_empty() && !decoded.complete {
                return None;
            }
            (Cow::Owned(decoded.content), decoded.complete && !cut_short)
        };
        let worth_checking =
            entry.method != METHOD_STORED || content.len() <= STORED_CRC_CHECK_LIMIT;
        if complete && entry.sizes_known && worth_checking {
            check_content(entry, &content, location, out);
        }
        Some(content)
    }

    fn compressed(&self, entry: &Entry) -> Result<&'a [u8], MemberError> {
        self.compressed_part(entry, usize::MAX)
    }

    /// The first up to `len` compressed bytes of the member.
    fn compressed_part(&self, entry: &Entry, len: usize) -> Result<&'a [u8], MemberError> {
        match entry.access {
            Access::Readable => {}
            Access::Encrypted => return Err(MemberError::Encrypted),
            Access::UnsupportedMethod => return Err(MemberError::UnsupportedMethod(entry.method)),
            Access::NoLocalHeader => return Err(MemberError::NoLocalHeader(entry.header_offset)),
            Access::NotHeld => return Err(MemberError::NotHeld),
        }
        let bytes = member_bytes(self.data, entry)
            .ok_or(MemberError::NoLocalHeader(entry.header_offset))?;
        let part = &bytes[..len.min(bytes.len())];
        let start = entry.data_offset.unwrap_or_default();
        if self
            .held
            .is_some_and(|held| !held.covers(start..start + part.len()))
        {
            return Err(MemberError::NotHeld);
        }
        Ok(part)
    }
}

/// Reports a decompressed size or CRC-32 that differs from the recorded one.
fn check_content(entry: &Entry, content: &[u8], location: &Location, out: &mut Vec<Finding>) {
    if entry.method != METHOD_STORED && content.len() as u64 != entry.size {
        out.push(Finding::new(
            &ZIP_HEADER_MISMATCH,
            location.clone(),
            format!(
                "member '{}' decompresses to {} bytes, but the central directory declares {}; all \
                 of it was scanned",
                entry.name,
                content.len(),
                entry.size
            ),
        ));
    }
    let mut crc = flate2::Crc::new();
    crc.update(content);
    if crc.sum() != entry.crc32 {
        out.push(
            Finding::new(
                &ZIP_CRC_MISMATCH,
                location.clone(),
                format!(
                    "the CRC-32 of member '{}' is {:#010x}, the central directory records {:#010x}; \
                     PyTorch loads members without checking, so the content was scanned anyway",
                    entry.name,
                    crc.sum(),
                    entry.crc32
                ),
            )
            .with_evidence(format!("crc32 {:#010x} != recorded {:#010x}", crc.sum(), entry.crc32)),
        );
    }
}

/// The compressed bytes present for a member.
fn member_bytes<'d>(data: &'d [u8], entry: &Entry) -> Option<&'d [u8]> {
    let start = entry.data_offset?;
    data.get(start..start.checked_add(entry.available)?)
}

/// How much of a stored member's bytes are content: Python stops at the recorded size.
fn stored_len(entry: &Entry, available: usize) -> usize {
    if entry.sizes_known {
        usize::try_from(entry.size).map_or(available, |size| size.min(available))
    } else {
        available
    }
}

/// The decoder for a compressed member, and the bytes it decodes.
fn member_format<'d>(
    entry: &Entry,
    compressed: &'d [u8],
) -> Result<(Format, &'d [u8]), MemberError> {
    match entry.method {
        METHOD_DEFLATE => Ok((Format::RawDeflate, compressed)),
        METHOD_BZIP2 => Ok((Format::Bzip2Member, compressed)),
        METHOD_XZ => Ok((Format::XzMember, compressed)),
        METHOD_LZMA => {
            // LZMA SDK version (2 bytes), properties size (2), properties: the lc/lp/pb
            // byte and the dictionary size (4).
            let truncated = || MemberError::Corrupt("the LZMA header is truncated".to_owned());
            let props_len = usize::from(records::u16_at(compressed, 2).ok_or_else(truncated)?);
            let props = *compressed.get(4).ok_or_else(truncated)?;
            let dict_size = records::u32_at(compressed, 5).ok_or_else(truncated)?;
            let stream = compressed.get(4 + props_len..).ok_or_else(truncated)?;
            let size = (entry.flags & FLAG_LZMA_END_MARKER == 0 && entry.sizes_known)
                .then_some(entry.size);
            Ok((
                Format::RawLzma {
                    props,
                    dict_size,
                    size,
                },
                stream,
            ))
        }
        method => Err(MemberError::UnsupportedMethod(method)),
    }
}

/// Which flag bits, named, for messages.
fn describe_flags(bits: u16) -> String {
    (0..16)
        .filter(|bit| bits & (1 << bit) != 0)
        .map(|bit| match bit {
            0 => "0 (encrypted, but the data is plaintext)".to_owned(),
            4 => "4 (enhanced deflate, reserved)".to_owned(),
            5 => "5 (compressed patched data)".to_owned(),
            6 => "6 (strong encryption, but the data is plaintext)".to_owned(),
            13 => "13 (central directory encrypted)".to_owned(),
            bit => format!("{bit} (unused)"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// How far before the end an end of central directory record can start: its 22 bytes and
/// a comment of up to 64 KiB.
const END_RECORD_REACH: usize = 22 + u16::MAX as usize;
/// The longest data descriptor: signature, CRC-32 and two 8-byte sizes.
const DESCRIPTOR_MAX_LEN: usize = 24;

/// A part of a [`PartialZip`] that [`Archive::open_partial`] needed and was not kept.
enum NotHeld {
    /// The local header of this member.
    Header(String),
    /// Bytes between or after members.
    Span(Range<usize>),
}

/// State while an archive is being opened.
struct Opening<'a, 'r, 'o> {
    data: &'a [u8],
    held: Option<&'a Held>,
    /// Members whose local header was not kept (a [`PartialZip`]), and byte ranges between
    /// members that were not searched for hidden ones, for one summary finding.
    not_held: Vec<NotHeld>,
    location: &'r Location,
    limits: &'r Limits,
    report: &'r mut Reporter<'o>,
    entries: Vec<Entry>,
    /// Bytes each located central-directory member occupies (local header through data
    /// descriptor), with its index in `entries`.
    spans: Vec<(Range<usize>, usize)>,
    member_limit_hit: bool,
}

impl<'a> Opening<'a, '_, '_> {
    fn run(mut self) -> Option<Archive<'a>> {
        let (data, location) = (self.data, self.location);
        if !self.holds(data.len().saturating_sub(END_RECORD_REACH)..data.len()) {
            self.report_unreadable_partial("its end was not kept");
            return None;
        }
        let mut notes = Vec::new();
        let located = records::locate_with(data, &mut |rule, at, message| {
            notes.push(Finding::new(rule, location.at(at as u64), message));
        });
        if self.held.is_some() {
            let from = located.as_ref().and_then(|found| {
                let directory = found.central_directory.as_ref()?;
                Some(directory.start.min(found.eocd_offset))
            });
            match from {
                Some(from) if self.holds(from..data.len()) => {}
                None if self.holds(0..data.len()) => {}
                Some(_) => {
                    self.report_unreadable_partial("its central directory was not kept");
                    return None;
                }
                None => {
                    self.report_unreadable_partial(
                        "its central directory was not kept, or it has none (a file this large \
                         cannot be walked by its local headers from a stream)",
                    );
                    return None;
                }
            }
        }
        for note in notes {
            self.report.push(note);
        }
        match &located {
            Some(Located {
                central_directory: Some(directory),
                base,
                entry_count,
                ..
            }) => {
                self.read_directory(directory.clone(), *base, *entry_count);
                self.check_layout(directory.clone(), *base);
            }
            Some(found) => {
                self.report.push(Finding::new(
                    &ZIP_MISSING_CENTRAL_DIRECTORY,
                    location.at(found.eocd_offset as u64),
                    format!(
                        "the end record at offset {} does not lead to a central directory; the local \
                         headers were walked instead",
                        found.eocd_offset
                    ),
                ));
                self.walk_local_headers(0..found.eocd_offset, false);
            }
            None if data.starts_with(LOCAL_SIG) => {
                self.report.push(Finding::new(
                    &ZIP_MISSING_CENTRAL_DIRECTORY,
                    location.at(0),
                    "the file starts with a zip local header but has no end of central directory \
                     record; the local headers were walked instead",
                ));
                self.walk_local_headers(0..data.len(), false);
            }
            None => {
                self.report.push(Finding::new(
                    &MALFORMED,
                    location.clone(),
                    "no zip end of central directory record in the last 64 KiB of the file, and no \
                     local header at its start",
                ));
                return None;
            }
        }
        let directory_read = located
            .as_ref()
            .is_some_and(|l| l.central_directory.is_some());
        if !directory_read && self.entries.is_empty() {
            self.report.push(Finding::new(
                &MALFORMED,
                location.clone(),
                "no readable zip local header either: nothing in the archive could be read",
            ));
            return None;
        }
        self.check_names();
        self.report_not_held();
        Some(Archive {
            data,
            held: self.held,
            entries: self.entries,
            located,
        })
    }

    /// Whether `range` of the data is content (always, unless this is a [`PartialZip`]).
    fn holds(&self, range: Range<usize>) -> bool {
        self.held.is_none_or(|held| held.covers(range))
    }

    fn report_unreadable_partial(&mut self, why: &str) {
        self.report.push(Finding::new(
            &LIMIT_EXCEEDED,
            self.location.clone(),
            format!(
                "the zip was read from a stream and is larger than max_decompressed_bytes ({}), so only \
                 the parts scanners read were kept, but {why}: none of its members were scanned. Raise \
                 [limits] max_decompressed_bytes to hold it whole",
                self.limits.max_decompressed_bytes
            ),
        ));
    }

    fn report_not_held(&mut self) {
        if self.not_held.is_empty() {
            return;
        }
        let headers: Vec<&str> = self
            .not_held
            .iter()
            .filter_map(|part| match part {
                NotHeld::Header(name) => Some(name.as_str()),
                NotHeld::Span(_) => None,
            })
            .collect();
        let span_bytes: usize = self
            .not_held
            .iter()
            .map(|part| match part {
                NotHeld::Span(range) => range.len(),
                NotHeld::Header(_) => 0,
            })
            .sum();
        let mut parts = Vec::new();
        if let Some(first) = headers.first() {
            parts.push(format!(
                "the local headers of {} members (the first: '{first}'), which therefore could not be \
                 read",
                headers.len()
            ));
        }
        if span_bytes > 0 {
            parts.push(format!(
                "{span_bytes} bytes between members (data descriptors, room for hidden members), which \
                 could not be checked"
            ));
        }
        let message = format!(
            "the zip was read from a stream and is larger than max_decompressed_bytes ({}); of the \
             parts scanners read, these were not kept: {}. Raise [limits] max_decompressed_bytes to \
             hold it whole",
            self.limits.max_decompressed_bytes,
            parts.join("; ")
        );
        self.report.push(Finding::new(
            &LIMIT_EXCEEDED,
            self.location.clone(),
            message,
        ));
    }

    /// Whether another member may be listed; reports the limit once.
    fn has_room(&mut self) -> bool {
        if self.entries.len() < self.limits.max_members {
            return true;
        }
        if !self.member_limit_hit {
            self.member_limit_hit = true;
            self.report.push(Finding::new(
                &LIMIT_EXCEEDED,
                self.location.clone(),
                format!(
                    "the archive holds more than max_members ({}) members; the rest were not read \
                     or scanned",
                    self.limits.max_members
                ),
            ));
        }
        false
    }

    fn read_directory(&mut self, directory: Range<usize>, base: usize, declared: u64) {
        let data = self.data;
        if directory.end > data.len() {
            self.report.push(Finding::new(
                &MALFORMED,
                self.location.at(directory.start as u64),
                format!(
                    "the central directory at offset {} runs past the end of the file",
                    directory.start
                ),
            ));
        }
        let mut count = 0u64;
        for record in records::central_records(data, directory.clone()) {
            match record {
                Ok(record) => {
                    if !self.has_room() {
                        return;
                    }
                    count += 1;
                    self.add_central(&record, base);
                }
                Err((at, why)) if count < declared => {
                    self.report.push(Finding::new(
                        &MALFORMED,
                        self.location.at(at as u64),
                        format!(
                            "central directory record at offset {at}: {why}; the {count} members \
                             listed before it were read"
                        ),
                    ));
                    return;
                }
                Err((at, _)) => {
                    self.report.push(Finding::new(
                        &ZIP_END_RECORD_MISMATCH,
                        self.location.at(at as u64),
                        format!(
                            "{} bytes of the central directory follow its last declared entry; \
                             Python's zipfile fails on them, miniz ignores them",
                            directory.end.min(data.len()).saturating_sub(at)
                        ),
                    ));
                    return;
                }
            }
        }
        if count != declared {
            self.report.push(Finding::new(
                &ZIP_END_RECORD_MISMATCH,
                self.location.at(directory.start as u64),
                format!(
                    "the end record declares {declared} members, the central directory holds \
                     {count}; Python's zipfile lists {count}, miniz expects {declared}"
                ),
            ));
        }
    }

    fn add_central(&mut self, record: &CentralRecord<'_>, base: usize) {
        let data = self.data;
        let name = names::display(record.name);
        let member = self.location.member(&name);
        let mut entry = Entry {
            is_dir: name.ends_with('/') && record.size == 0 && record.compressed_size == 0,
            name,
            local_name: None,
            method: record.method,
            flags: record.flags,
            compressed_size: record.compressed_size,
            size: record.size,
            crc32: record.crc32,
            header_offset: record.local_offset.saturating_add(base as u64),
            data_offset: None,
            hidden: false,
            access: Access::Readable,
            available: 0,
            sizes_known: true,
        };
        if let Some(problem) = record.zip64_problem {
            self.report.push(Finding::new(
                &ZIP_ZIP64_INCONSISTENT,
                member.clone(),
                format!("central directory entry at offset {}: {problem}", record.at),
            ));
        }
        let header_at = usize::try_from(entry.header_offset).ok();
        let local = header_at.and_then(|at| records::parse_local(data, at));
        let header_held = match (header_at, &local) {
            (_, Some(local)) => self.holds(local.at..local.data_offset),
            (Some(at), None) => at
                .checked_add(records::LOCAL_LEN)
                .is_none_or(|end| end > data.len() || self.holds(at..end)),
            (None, None) => true,
        };
        if !header_held {
            entry.access = Access::NotHeld;
            self.not_held.push(NotHeld::Header(entry.name.clone()));
            self.entries.push(entry);
            return;
        }
        let Some(local) = local else {
            self.report.push(Finding::new(
                &MALFORMED,
                member,
                format!(
                    "there is no complete local file header at offset {}, where the central \
                     directory entry points; the member cannot be read (loaders fail on it too)",
                    entry.header_offset
                ),
            ));
            entry.access = Access::NoLocalHeader;
            self.entries.push(entry);
            return;
        };
        if local.name != record.name {
            let local_name = names::display(local.name);
            self.report.push(
                Finding::new(
                    &ZIP_NAME_MISMATCH,
                    member.clone(),
                    format!(
                        "the local header at offset {} names this member '{local_name}', the central \
                         directory '{}'; it was scanned under the central name, as PyTorch reads it",
                        local.at, entry.name
                    ),
                )
                .with_evidence(format!("local '{local_name}' vs central '{}'", entry.name)),
            );
            entry.local_name = Some(local_name);
        }
        if let Some(problem) = local.zip64_problem {
            self.report.push(Finding::new(
                &ZIP_ZIP64_INCONSISTENT,
                member.clone(),
                format!("local header at offset {}: {problem}", local.at),
            ));
        }

        let mut differences = header_differences(record, &local);
        entry.data_offset = Some(local.data_offset);
        let room = data.len().saturating_sub(local.data_offset);
        entry.available =
            usize::try_from(record.compressed_size).map_or(room, |size| size.min(room));
        let data_end = local.data_offset + entry.available;
        let mut span_end = data_end;
        if (entry.available as u64) < record.compressed_size {
            self.report.push(Finding::new(
                &MALFORMED,
                member.clone(),
                format!(
                    "the member's {} bytes of data at offset {} run past the end of the file, which \
                     holds only {} of them; only those can be read",
                    record.compressed_size, local.data_offset, entry.available
                ),
            ));
        } else if (local.flags | record.flags) & FLAG_DESCRIPTOR != 0
            && !self.holds(data_end..(data_end + DESCRIPTOR_MAX_LEN).min(data.len()))
        {
            self.not_held
                .push(NotHeld::Span(data_end..data_end + DESCRIPTOR_MAX_LEN));
        } else if (local.flags | record.flags) & FLAG_DESCRIPTOR != 0 {
            let expected = (record.compressed_size, record.size);
            let zip64 = local.zip64 || record.compressed_size >= u64::from(u32::MAX);
            match records::parse_descriptor(data, data_end, expected, zip64) {
                Some(descriptor) => {
                    span_end += descriptor.len;
                    for (what, found, recorded) in [
                        (
                            "CRC-32",
                            u64::from(descriptor.crc32),
                            u64::from(record.crc32),
                        ),
                        (
                            "compressed size",
                            descriptor.compressed_size,
                            record.compressed_size,
                        ),
                        ("size", descriptor.size, record.size),
                    ] {
                        if found != recorded {
                            differences.push(format!(
                                "{what}: data descriptor {found}, central {recorded}"
                            ));
                        }
                    }
                }
                None => differences
                    .push("the data descriptor flag bit 3 announces is cut off".to_owned()),
            }
        }
        if !differences.is_empty() {
            self.report.push(
                Finding::new(
                    &ZIP_HEADER_MISMATCH,
                    member,
                    format!(
                        "the local header at offset {} and the central directory entry at offset {} \
                         disagree ({}); the member was read as the central directory describes it",
                        local.at,
                        record.at,
                        differences.join("; ")
                    ),
                )
                .with_evidence(differences.join("; ")),
            );
        }
        self.spans.push((local.at..span_end, self.entries.len()));
        self.classify(&mut entry, local.flags);
        self.entries.push(entry);
    }

    /// Walks `range` for local headers and lists each as a local-only member; `hidden`
    /// when a central directory exists that does not list them.
    fn walk_local_headers(&mut self, range: Range<usize>, hidden: bool) {
        let data = self.data;
        let mut at = range.start;
        while at < range.end {
            let Some(found) = data
                .get(at..range.end)
                .and_then(|window| memmem::find(window, LOCAL_SIG))
            else {
                break;
            };
            let header_at = at + found;
            let Some(local) =
                records::parse_local(data, header_at).filter(|local| !local.name.is_empty())
            else {
                at = header_at + 1;
                continue;
            };
            if !self.has_room() {
                break;
            }
            let next = self.add_local_only(&local, range.end, hidden);
            at = next.max(header_at + 1);
        }
    }

    /// Lists a member known only from its local header; returns where to search on.
    fn add_local_only(&mut self, local: &LocalHeader<'_>, limit: usize, hidden: bool) -> usize {
        let data = self.data;
        let name = names::display(local.name);
        let member = self.location.member(&name);
        let mut entry = Entry {
            is_dir: name.ends_with('/') && local.size == 0 && local.compressed_size == 0,
            name,
            local_name: None,
            method: local.method,
            flags: local.flags,
            compressed_size: local.compressed_size,
            size: local.size,
            crc32: local.crc32,
            header_offset: local.at as u64,
            data_offset: Some(local.data_offset),
            hidden,
            access: Access::Readable,
            available: 0,
            sizes_known: true,
        };
        let limit = limit.max(local.data_offset);
        let deferred = local.flags & FLAG_DESCRIPTOR != 0 && local.compressed_size == 0;
        let next = if !deferred {
            let room = data.len().saturating_sub(local.data_offset);
            entry.available =
                usize::try_from(local.compressed_size).map_or(room, |size| size.min(room));
            if (entry.available as u64) < local.compressed_size {
                self.report.push(Finding::new(
                    &MALFORMED,
                    member.clone(),
                    format!(
                        "the member's {} bytes of data at offset {} run past the end of the file, \
                         which holds only {} of them; only those can be read",
                        local.compressed_size, local.data_offset, entry.available
                    ),
                ));
            }
            local.data_offset + entry.available
        } else if let Some((length, descriptor)) = (local.method == METHOD_STORED)
            .then(|| records::find_stored_descriptor(data, local.data_offset..limit))
            .flatten()
        {
            entry.available = length;
            entry.compressed_size = descriptor.compressed_size;
            entry.size = descriptor.size;
            entry.crc32 = descriptor.crc32;
            local.data_offset + length + descriptor.len
        } else {
            // Where the data ends is known only to a decompressor (or to a descriptor that
            // is not there): offer everything up to the limit; compressed streams end
            // themselves, and the walk goes on right after the header.
            entry.available = limit - local.data_offset;
            entry.compressed_size = entry.available as u64;
            entry.sizes_known = false;
            if local.method == METHOD_STORED {
                limit
            } else {
                local.data_offset
            }
        };
        if hidden {
            self.report.push(Finding::new(
                &ZIP_HIDDEN_MEMBER,
                member,
                format!(
                    "a local file header at offset {} holds this member, but the central directory \
                     does not list it; tools that walk local headers extract it. It was listed for \
                     scanning",
                    local.at
                ),
            ));
        }
        self.classify(&mut entry, local.flags);
        self.entries.push(entry);
        next
    }

    /// Decides whether the member can be read, and reports flag bits loaders ignore.
    fn classify(&mut self, entry: &mut Entry, local_flags: u16) {
        let member = self.location.member(&entry.name);
        let flags = entry.flags | local_flags;
        let mut ignored = flags & !ORDINARY_FLAGS;
        let claims_encryption = flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION) != 0;
        if entry.method == METHOD_AES || (claims_encryption && !self.decodes_as_plaintext(entry)) {
            entry.access = Access::Encrypted;
            ignored &= !(FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION);
            self.report.push(Finding::new(
                &ENCRYPTED,
                member.clone(),
                format!(
                    "member '{}' is encrypted ({}); its content cannot be scanned",
                    entry.name,
                    if entry.method == METHOD_AES {
                        "AES, method 99"
                    } else {
                        "flag bits say so and the data is not plaintext"
                    }
                ),
            ));
        } else if !is_supported(entry.method) {
            entry.access = Access::UnsupportedMethod;
            self.report.push(Finding::new(
                &MALFORMED,
                member.clone(),
                format!(
                    "member '{}' uses compression method {} ({}), which rampart cannot decompress; its \
                     content was not scanned",
                    entry.name,
                    entry.method,
                    method_name(entry.method)
                ),
            ));
        }
        if ignored != 0 {
            self.report.push(
                Finding::new(
                    &ZIP_IGNORED_FLAG_BITS,
                    member,
                    format!(
                        "member '{}' sets general-purpose flag bits {}; loaders such as PyTorch ignore \
                         them, so it was read and scanned as they read it",
                        entry.name,
                        describe_flags(ignored)
                    ),
                )
                .with_evidence(format!("flags local {local_flags:#06x}, central {:#06x}", entry.flags)),
            );
        }
    }

    /// Whether a member flagged as encrypted is in fact plaintext: stored with equal sizes
    /// (PKWARE encryption adds a 12-byte header), or compressed data that decodes cleanly.
    fn decodes_as_plaintext(&self, entry: &Entry) -> bool {
        let Some(compressed) = member_bytes(self.data, entry) else {
            return false;
        };
        if entry.method == METHOD_STORED {
            return entry.compressed_size == entry.size;
        }
        let probe = if entry.sizes_known {
            entry.size.clamp(1, PLAINTEXT_PROBE)
        } else {
            PLAINTEXT_PROBE
        };
        member_format(entry, compressed)
            .is_ok_and(|(format, stream)| compress::decodes_cleanly(format, stream, probe))
    }

    /// Reports overlapping members, then walks the gaps between members for local headers
    /// the central directory does not list.
    fn check_layout(&mut self, directory: Range<usize>, base: usize) {
        let mut spans: Vec<(Range<usize>, Option<usize>)> = self
            .spans
            .iter()
            .map(|(range, index)| (range.clone(), Some(*index)))
            .collect();
        spans.push((directory.clone(), None));
        spans.sort_by_key(|(range, _)| (range.start, range.end));

        let mut reach: Option<(usize, Option<usize>)> = None;
        for (range, owner) in &spans {
            if let Some((end, holder)) = reach
                && range.start < end
            {
                let message = format!(
                    "{} (bytes {}..{}) overlaps {}; overlapping members are how zip bombs multiply \
                     their output and how one archive shows different content to different tools",
                    self.describe(*owner),
                    range.start,
                    range.end,
                    self.describe(holder)
                );
                self.report.push(Finding::new(
                    &ZIP_OVERLAPPING_MEMBERS,
                    self.location.at(range.start as u64),
                    message,
                ));
            }
            if reach.is_none_or(|(end, _)| range.end > end) {
                reach = Some((range.end, *owner));
            }
        }

        let mut gaps = Vec::new();
        let mut cursor = base;
        for (range, _) in &spans {
            let gap_end = range.start.min(directory.start);
            if gap_end > cursor {
                gaps.push(cursor..gap_end);
            }
            cursor = cursor.max(range.end);
        }
        for gap in gaps {
            if self.holds(gap.clone()) {
                self.walk_local_headers(gap, true);
            } else {
                self.not_held.push(NotHeld::Span(gap));
            }
        }
    }

    fn describe(&self, owner: Option<usize>) -> String {
        match owner.and_then(|index| self.entries.get(index)) {
            Some(entry) => format!("member '{}'", entry.name),
            None => "the central directory".to_owned(),
        }
    }

    /// Duplicate names and names that escape the extraction directory.
    fn check_names(&mut self) {
        let mut findings = Vec::new();
        let mut copies: HashMap<&str, usize> = HashMap::new();
        for entry in self
            .entries
            .iter()
            .filter(|entry| !entry.hidden && !entry.is_dir)
        {
            let count = copies.entry(entry.name.as_str()).or_insert(0);
            *count += 1;
            if *count == 2 {
                findings.push(Finding::new(
                    &ZIP_DUPLICATE_NAME,
                    self.location.member(&entry.name),
                    format!(
                        "the central directory lists '{}' more than once; Python's zipfile reads the \
                         last copy, other tools the first, so every copy was listed for scanning",
                        entry.name
                    ),
                ));
            }
        }
        for entry in &self.entries {
            for name in std::iter::once(&entry.name).chain(&entry.local_name) {
                if let Some(problem) = names::path_problem(name) {
                    findings.push(
                        Finding::new(
                            &ZIP_PATH_TRAVERSAL,
                            self.location.member(&entry.name),
                            format!("member name '{name}' {}", problem.reason),
                        )
                        .with_severity(problem.severity)
                        .with_evidence(name.clone()),
                    );
                }
            }
        }
        for finding in findings {
            self.report.push(finding);
        }
    }
}

/// Where the local header and the central directory disagree on method, flags, CRC or
/// sizes. Zero CRC and sizes are what a local header with a data descriptor should hold.
fn header_differences(record: &CentralRecord<'_>, local: &LocalHeader<'_>) -> Vec<String> {
    let mut differences = Vec::new();
    if local.method != record.method {
        differences.push(format!(
            "compression method: local {} ({}), central {} ({})",
            local.method,
            method_name(local.method),
            record.method,
            method_name(record.method)
        ));
    }
    if (local.flags ^ record.flags) & !COMPRESSION_OPTION_FLAGS != 0 {
        differences.push(format!(
            "flags: local {:#06x}, central {:#06x}",
            local.flags, record.flags
        ));
    }
    let deferred = (local.flags | record.flags) & FLAG_DESCRIPTOR != 0;
    for (what, in_local, in_central) in [
        ("CRC-32", u64::from(local.crc32), u64::from(record.crc32)),
        (
            "compressed size",
            local.compressed_size,
            record.compressed_size,
        ),
        ("size", local.size, record.size),
    ] {
        if in_local != in_central && !(deferred && in_local == 0) {
            differences.push(format!("{what}: local {in_local}, central {in_central}"));
        }
    }
    if record.method == METHOD_STORED && record.compressed_size != record.size {
        differences.push(format!(
            "stored, yet the compressed size {} differs from the size {}",
            record.compressed_size, record.size
        ));
    }
    differences
}
