//! The binary records of a zip archive, and finding the archive in a buffer.
//!
//! Every reader here takes the whole buffer and an absolute offset and returns `None` (or
//! a reason) instead of reading past the end; nothing allocates from a length in the file.

use std::ops::Range;

use memchr::memmem;
use rampart_core::Rule;

use crate::rules::{ZIP_END_RECORD_MISMATCH, ZIP_TRAILING_DATA, ZIP_ZIP64_INCONSISTENT};

pub(super) const LOCAL_SIG: &[u8] = b"PK\x03\x04";
const CENTRAL_SIG: &[u8] = b"PK\x01\x02";
const END_SIG: &[u8] = b"PK\x05\x06";
const ZIP64_END_SIG: &[u8] = b"PK\x06\x06";
const ZIP64_LOCATOR_SIG: &[u8] = b"PK\x06\x07";
pub(super) const DESCRIPTOR_SIG: &[u8] = b"PK\x07\x08";

pub(super) const LOCAL_LEN: usize = 30;
const CENTRAL_LEN: usize = 46;
const END_LEN: usize = 22;
const ZIP64_END_LEN: usize = 56;
const ZIP64_LOCATOR_LEN: usize = 20;
const MAX_COMMENT: usize = 0xffff;
const ZIP64_EXTRA_ID: u16 = 0x0001;

pub(super) fn u16_at(data: &[u8], at: usize) -> Option<u16> {
    let bytes = data.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes(bytes.try_into().ok()?))
}

pub(super) fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    let bytes = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(bytes.try_into().ok()?))
}

pub(super) fn u64_at(data: &[u8], at: usize) -> Option<u64> {
    let bytes = data.get(at..at.checked_add(8)?)?;
    Some(u64::from_le_bytes(bytes.try_into().ok()?))
}

/// Where a zip archive sits in a buffer, as the end of central directory record says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located {
    /// The archive's first byte: its lowest local header, or its central directory when
    /// it has no members. Bytes before it are other data (a pickle with a zip appended, a
    /// self-extracting stub) that the caller should scan as a file of its own.
    pub start: usize,
    /// Added to every offset the archive records. It is > 0 when data was prepended
    /// without rewriting the offsets (`cat model.pkl archive.zip`); Python's zipfile
    /// reads such archives, and so does this reader.
    pub base: usize,
    /// The end of central directory record.
    pub eocd_offset: usize,
    /// The end of that record's comment (clamped to the buffer).
    pub end: usize,
    /// The central directory, `None` when it is not where the end record says.
    pub central_directory: Option<Range<usize>>,
    /// Members the end record declares (ZIP64 aware).
    pub entry_count: u64,
    /// Whether a ZIP64 end record was used.
    pub zip64: bool,
}

/// Receives anomalies found while locating: rule, absolute offset, message.
pub(super) type Note<'n> = &'n mut dyn FnMut(&'static Rule, usize, String);

/// The last end of central directory signature with room for the record, within the
/// last 64 KiB + 22 bytes: what both miniz and Python's zipfile settle on.
fn find_end_record(data: &[u8]) -> Option<usize> {
    let from = data.len().saturating_sub(END_LEN + MAX_COMMENT);
    let tail = data.get(from..)?;
    memmem::rfind_iter(tail, END_SIG)
        .find(|&at| tail.len() - at >= END_LEN)
        .map(|at| from + at)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct EndFields {
    disk: u32,
    directory_disk: u32,
    entries_here: u64,
    entries: u64,
    directory_size: u64,
    directory_offset: u64,
}

struct Zip64End {
    at: usize,
    fields: EndFields,
    locator_points_to: u64,
}

fn parse_zip64_end(data: &[u8], at: usize) -> Option<Zip64End> {
    let record = data.get(at..at.checked_add(ZIP64_END_LEN)?)?;
    if !record.starts_with(ZIP64_END_SIG) {
        return None;
    }
    Some(Zip64End {
        at,
        fields: EndFields {
            disk: u32_at(record, 16)?,
            directory_disk: u32_at(record, 20)?,
            entries_here: u64_at(record, 24)?,
            entries: u64_at(record, 32)?,
            directory_size: u64_at(record, 40)?,
            directory_offset: u64_at(record, 48)?,
        },
        locator_points_to: 0,
    })
}

/// The ZIP64 end record for the end record at `end_at`, if its locator is there. Python
/// reads the record right before the locator, miniz where the locator points; when both
/// exist and differ, that is reported and Python's is used.
fn find_zip64_end(data: &[u8], end_at: usize, note: Note) -> Option<Zip64End> {
    let locator_at = end_at.checked_sub(ZIP64_LOCATOR_LEN)?;
    if !data.get(locator_at..)?.starts_with(ZIP64_LOCATOR_SIG) {
        return None;
    }
    let points_to = u64_at(data, locator_at + 8)?;
    let adjacent = locator_at
        .checked_sub(ZIP64_END_LEN)
        .and_then(|at| parse_zip64_end(data, at));
    let pointed = usize::try_from(points_to)
        .ok()
        .and_then(|at| parse_zip64_end(data, at));
    let chosen = match (adjacent, pointed) {
        (Some(adjacent), Some(pointed)) => {
            if adjacent.fields != pointed.fields {
                note(
                    &ZIP_ZIP64_INCONSISTENT,
                    locator_at,
                    format!(
                        "two ZIP64 end records disagree: the one before the locator (offset {}) \
                         and the one the locator points to (offset {}); Python reads the first, \
                         miniz the second",
                        adjacent.at, pointed.at
                    ),
                );
            }
            adjacent
        }
        (Some(adjacent), None) => adjacent,
        (None, Some(pointed)) => {
            note(
                &ZIP_ZIP64_INCONSISTENT,
                locator_at,
                format!(
                    "the ZIP64 end record at offset {} is not directly before its locator, \
                     so Python's zipfile ignores it and uses the 32-bit end record",
                    pointed.at
                ),
            );
            pointed
        }
        (None, None) => {
            note(
                &ZIP_ZIP64_INCONSISTENT,
                locator_at,
                format!(
                    "the ZIP64 locator points to offset {points_to}, but there is no ZIP64 end record there"
                ),
            );
            return None;
        }
    };
    Some(Zip64End {
        locator_points_to: points_to,
        ..chosen
    })
}

/// Reports 32-bit end record fields that are neither the ZIP64 placeholder nor the value
/// the ZIP64 record gives.
fn compare_with_zip64(narrow: &EndFields, wide: &EndFields, at: usize, note: Note) {
    let pairs = [
        (
            "entries on this disk",
            narrow.entries_here,
            wide.entries_here,
            0xffff,
        ),
        ("entries", narrow.entries, wide.entries, 0xffff),
        (
            "central directory size",
            narrow.directory_size,
            wide.directory_size,
            0xffff_ffff,
        ),
        (
            "central directory offset",
            narrow.directory_offset,
            wide.directory_offset,
            0xffff_ffff,
        ),
    ];
    let differences: Vec<String> = pairs
        .iter()
        .filter(|(_, narrow, wide, placeholder)| narrow != placeholder && narrow != wide)
        .map(|(what, narrow, wide, _)| format!("{what} {narrow} vs {wide}"))
        .collect();
    if !differences.is_empty() {
        note(
            &ZIP_ZIP64_INCONSISTENT,
            at,
            format!(
                "the end record and the ZIP64 end record disagree ({}); readers that ignore \
                 ZIP64 see another archive",
                differences.join(", ")
            ),
        );
    }
}

fn directory_plausible(data: &[u8], at: usize, fields: &EndFields) -> bool {
    if fields.entries == 0 && fields.directory_size == 0 {
        return at <= data.len();
    }
    data.get(at..)
        .is_some_and(|rest| rest.starts_with(CENTRAL_SIG))
}

/// Finds the archive in `data`, reporting anomalies of the end records through `note`.
pub(super) fn locate_with(data: &[u8], note: Note) -> Option<Located> {
    let eocd_offset = find_end_record(data)?;
    let record = data.get(eocd_offset..eocd_offset + END_LEN)?;
    let narrow = EndFields {
        disk: u32::from(u16_at(record, 4)?),
        directory_disk: u32::from(u16_at(record, 6)?),
        entries_here: u64::from(u16_at(record, 8)?),
        entries: u64::from(u16_at(record, 10)?),
        directory_size: u64::from(u32_at(record, 12)?),
        directory_offset: u64::from(u32_at(record, 16)?),
    };
    let comment_len = usize::from(u16_at(record, 20)?);
    let comment_end = eocd_offset + END_LEN + comment_len;
    if comment_end < data.len() {
        note(
            &ZIP_TRAILING_DATA,
            comment_end,
            format!(
                "{} bytes follow the end of central directory record and its comment",
                data.len() - comment_end
            ),
        );
    }

    let zip64 = find_zip64_end(data, eocd_offset, note);
    let (fields, record_at) = match &zip64 {
        Some(wide) => {
            compare_with_zip64(&narrow, &wide.fields, eocd_offset, note);
            (wide.fields, wide.at)
        }
        None => (narrow, eocd_offset),
    };
    if fields.disk != 0 || fields.directory_disk != 0 {
        note(
            &ZIP_END_RECORD_MISMATCH,
            eocd_offset,
            format!(
                "the end record claims a multi-disk archive (this disk {}, central directory on \
                 disk {}); single-disk readers disagree on how to treat it",
                fields.disk, fields.directory_disk
            ),
        );
    }
    if fields.entries_here != fields.entries {
        note(
            &ZIP_END_RECORD_MISMATCH,
            eocd_offset,
            format!(
                "the end record counts {} entries on this disk but {} in total",
                fields.entries_here, fields.entries
            ),
        );
    }

    // Python's zipfile expects the directory right before the end record and treats any
    // difference from the recorded offset as prepended data; miniz trusts the offset. A
    // directory right before the end record whose recorded offset is wrong (a ZIP64
    // placeholder without a ZIP64 record, as streaming writers leave it) is still read,
    // with the offsets its entries record, and reported.
    let size = usize::try_from(fields.directory_size).ok();
    let recorded = usize::try_from(fields.directory_offset).ok();
    let adjacent = size.and_then(|size| record_at.checked_sub(size));
    let python = adjacent.and_then(|at| Some((at, at.checked_sub(recorded?)?)));
    let miniz = recorded.map(|at| (at, 0));
    let found = [python, miniz]
        .into_iter()
        .flatten()
        .find(|&(at, _)| directory_plausible(data, at, &fields))
        .or_else(|| {
            let at = adjacent.filter(|&at| directory_plausible(data, at, &fields))?;
            let (rule, what) = if fields.directory_offset == u64::from(u32::MAX) && zip64.is_none()
            {
                (
                    &ZIP_ZIP64_INCONSISTENT,
                    "the ZIP64 placeholder 0xFFFFFFFF, but there is no ZIP64 end record",
                )
            } else {
                (&ZIP_END_RECORD_MISMATCH, "an offset where it is not")
            };
            note(
                rule,
                eocd_offset,
                format!(
                    "the end record gives the central directory's offset as {what}; the directory \
                     right before the end record (offset {at}) was read, which Python's zipfile \
                     also finds but cannot use"
                ),
            );
            Some((at, 0))
        });
    let Some((directory_at, base)) = found else {
        return Some(Located {
            start: 0,
            base: 0,
            eocd_offset,
            end: comment_end.min(data.len()),
            central_directory: None,
            entry_count: fields.entries,
            zip64: zip64.is_some(),
        });
    };
    let directory = directory_at..directory_at.saturating_add(size.unwrap_or(usize::MAX));
    if let Some(wide) = &zip64
        && usize::try_from(wide.locator_points_to)
            .ok()
            .and_then(|to| to.checked_add(base))
            != Some(wide.at)
    {
        note(
            &ZIP_ZIP64_INCONSISTENT,
            eocd_offset,
            format!(
                "the ZIP64 locator points to offset {}, but the ZIP64 end record is at {}",
                wide.locator_points_to, wide.at
            ),
        );
    }

    let lowest_member = central_records(data, directory.clone())
        .map_while(Result::ok)
        .filter_map(|record| usize::try_from(record.local_offset).ok()?.checked_add(base))
        .min();
    Some(Located {
        start: lowest_member.map_or(directory.start, |lowest| lowest.min(directory.start)),
        base,
        eocd_offset,
        end: comment_end.min(data.len()),
        central_directory: Some(directory),
        entry_count: fields.entries,
        zip64: zip64.is_some(),
    })
}

/// The values a ZIP64 extended information extra field supplies for the fields that hold
/// the 0xFFFFFFFF placeholder, in the order the format fixes: size, compressed size, local
/// header offset. The string says what is wrong with the field, if anything.
fn zip64_values(extra: &[u8], wanted: [bool; 3]) -> ([Option<u64>; 3], Option<&'static str>) {
    let mut values = [None; 3];
    if !wanted.contains(&true) {
        return (values, None);
    }
    let Some((_, body)) = extra_fields(extra).find(|&(id, _)| id == ZIP64_EXTRA_ID) else {
        return (
            values,
            Some(
                "a size or offset holds the ZIP64 placeholder 0xFFFFFFFF, but there is no ZIP64 extra field",
            ),
        );
    };
    let mut at = 0;
    for (value, wanted) in values.iter_mut().zip(wanted) {
        if wanted {
            match u64_at(body, at) {
                Some(wide) => *value = Some(wide),
                None => {
                    return (
                        values,
                        Some("the ZIP64 extra field is too short for the values it must hold"),
                    );
                }
            }
            at += 8;
        }
    }
    (values, None)
}

/// The (id, body) pairs of an extra field block, up to the first malformed one.
fn extra_fields(mut extra: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        let id = u16_at(extra, 0)?;
        let len = usize::from(u16_at(extra, 2)?);
        let body = extra.get(4..4 + len)?;
        extra = extra.get(4 + len..)?;
        Some((id, body))
    })
}

fn has_zip64_field(extra: &[u8]) -> bool {
    extra_fields(extra).any(|(id, _)| id == ZIP64_EXTRA_ID)
}

/// A central directory file header, with ZIP64 values resolved.
pub(super) struct CentralRecord<'a> {
    pub at: usize,
    pub flags: u16,
    pub method: u16,
    pub crc32: u32,
    pub compressed_size: u64,
    pub size: u64,
    pub local_offset: u64,
    pub name: &'a [u8],
    pub zip64_problem: Option<&'static str>,
    pub len: usize,
}

fn parse_central(data: &[u8], at: usize) -> Result<CentralRecord<'_>, &'static str> {
    let fixed = data
        .get(at..at.saturating_add(CENTRAL_LEN))
        .ok_or("the central directory ends inside a record")?;
    if !fixed.starts_with(CENTRAL_SIG) {
        return Err("no central directory record signature");
    }
    let field16 = |offset| usize::from(u16_at(fixed, offset).unwrap_or(0));
    let field32 = |offset| u32_at(fixed, offset).unwrap_or(0);
    let name_at = at + CENTRAL_LEN;
    let extra_at = name_at + field16(28);
    let comment_at = extra_at + field16(30);
    let end = comment_at + field16(32);
    let (Some(name), Some(extra)) = (data.get(name_at..extra_at), data.get(extra_at..comment_at))
    else {
        return Err("the central directory ends inside a record's name or extra field");
    };
    if end > data.len() {
        return Err("the central directory ends inside a record's comment");
    }
    let (size32, compressed32, offset32) = (field32(24), field32(20), field32(42));
    let (values, zip64_problem) = zip64_values(
        extra,
        [
            size32 == u32::MAX,
            compressed32 == u32::MAX,
            offset32 == u32::MAX,
        ],
    );
    Ok(CentralRecord {
        at,
        flags: u16_at(fixed, 8).unwrap_or(0),
        method: u16_at(fixed, 10).unwrap_or(0),
        crc32: field32(16),
        size: values[0].unwrap_or(u64::from(size32)),
        compressed_size: values[1].unwrap_or(u64::from(compressed32)),
        local_offset: values[2].unwrap_or(u64::from(offset32)),
        name,
        zip64_problem,
        len: end - at,
    })
}

/// The records of the central directory in `directory`, as Python's zipfile walks them
/// (by size, not by the declared count), ending after the first broken one, which is
/// yielded as its offset and what is wrong.
pub(super) fn central_records(
    data: &[u8],
    directory: Range<usize>,
) -> impl Iterator<Item = Result<CentralRecord<'_>, (usize, &'static str)>> {
    let bounded = data
        .get(..directory.end.min(data.len()))
        .unwrap_or_default();
    let mut at = directory.start;
    let mut broken = false;
    std::iter::from_fn(move || {
        if broken || at >= bounded.len() {
            return None;
        }
        match parse_central(bounded, at) {
            Ok(record) => {
                at += record.len;
                Some(Ok(record))
            }
            Err(why) => {
                broken = true;
                Some(Err((at, why)))
            }
        }
    })
}

/// A local file header, with ZIP64 values resolved.
pub(super) struct LocalHeader<'a> {
    pub at: usize,
    pub flags: u16,
    pub method: u16,
    pub crc32: u32,
    pub compressed_size: u64,
    pub size: u64,
    pub name: &'a [u8],
    pub data_offset: usize,
    pub zip64: bool,
    pub zip64_problem: Option<&'static str>,
}

/// The local header at `at`, or `None` when there is no complete one.
pub(super) fn parse_local(data: &[u8], at: usize) -> Option<LocalHeader<'_>> {
    let fixed = data.get(at..at.checked_add(LOCAL_LEN)?)?;
    if !fixed.starts_with(LOCAL_SIG) {
        return None;
    }
    let name_at = at + LOCAL_LEN;
    let extra_at = name_at + usize::from(u16_at(fixed, 26)?);
    let data_offset = extra_at + usize::from(u16_at(fixed, 28)?);
    let name = data.get(name_at..extra_at)?;
    let extra = data.get(extra_at..data_offset)?;
    let (size32, compressed32) = (u32_at(fixed, 22)?, u32_at(fixed, 18)?);
    let (values, zip64_problem) =
        zip64_values(extra, [size32 == u32::MAX, compressed32 == u32::MAX, false]);
    Some(LocalHeader {
        at,
        flags: u16_at(fixed, 6)?,
        method: u16_at(fixed, 8)?,
        crc32: u32_at(fixed, 14)?,
        size: values[0].unwrap_or(u64::from(size32)),
        compressed_size: values[1].unwrap_or(u64::from(compressed32)),
        name,
        data_offset,
        zip64: has_zip64_field(extra),
        zip64_problem,
    })
}

/// A data descriptor: what follows a member's data when flag bit 3 is set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Descriptor {
    pub crc32: u32,
    pub compressed_size: u64,
    pub size: u64,
    pub len: usize,
}

/// The descriptor at `at`. Its signature is optional and its sizes are 4 or 8 bytes wide
/// depending on the writer; the reading that matches `expected` (compressed size, size)
/// wins, otherwise the width the member's ZIP64-ness implies.
pub(super) fn parse_descriptor(
    data: &[u8],
    at: usize,
    expected: (u64, u64),
    zip64: bool,
) -> Option<Descriptor> {
    let signed = data.get(at..)?.starts_with(DESCRIPTOR_SIG);
    let body = if signed { at + 4 } else { at };
    let crc32 = u32_at(data, body)?;
    let narrow = match (u32_at(data, body + 4), u32_at(data, body + 8)) {
        (Some(compressed), Some(size)) => Some((u64::from(compressed), u64::from(size), 12)),
        _ => None,
    };
    let wide = match (u64_at(data, body + 4), u64_at(data, body + 12)) {
        (Some(compressed), Some(size)) => Some((compressed, size, 20)),
        _ => None,
    };
    let matches =
        |reading: &Option<(u64, u64, usize)>| reading.is_some_and(|(c, s, _)| (c, s) == expected);
    let (compressed_size, size, body_len) = if matches(&narrow) {
        narrow
    } else if matches(&wide) {
        wide
    } else if zip64 {
        wide.or(narrow)
    } else {
        narrow
    }?;
    Some(Descriptor {
        crc32,
        compressed_size,
        size,
        len: body - at + body_len,
    })
}

/// For a stored member whose sizes were deferred to a descriptor and that no central
/// directory describes: the first descriptor in `window` whose compressed size equals its
/// distance from the start of the data.
pub(super) fn find_stored_descriptor(
    data: &[u8],
    window: Range<usize>,
) -> Option<(usize, Descriptor)> {
    let bytes = data.get(window.clone())?;
    memmem::find_iter(bytes, DESCRIPTOR_SIG).find_map(|distance| {
        let at = window.start + distance;
        let expected = (distance as u64, u64::from(u32_at(data, at + 12)?));
        let descriptor = parse_descriptor(data, at, expected, false)
            .filter(|d| d.compressed_size == distance as u64)
            .or_else(|| {
                let wide = (distance as u64, u64_at(data, at + 16)?);
                parse_descriptor(data, at, wide, true)
                    .filter(|d| d.compressed_size == distance as u64)
            })?;
        Some((distance, descriptor))
    })
}
