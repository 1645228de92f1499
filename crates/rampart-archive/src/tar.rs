//! Tar archives the way Python's tarfile (legacy PyTorch checkpoints, model tarballs) and
//! GNU tar read them: ustar, GNU (long names and links, base-256 sizes, old sparse files),
//! pax (`path`, `linkpath`, `size`, global headers) and old v7 headers.
//!
//! Members are zero-copy slices of the input. Where the two readers part ways, this one
//! reads the most: after a header with a bad checksum it resynchronises like GNU tar
//! (Python stops), and it looks past the end-of-archive marker for more headers.

use std::collections::HashSet;

use rampart_core::rules::{LIMIT_EXCEEDED, MALFORMED};
use rampart_core::{Finding, Limits, Location};

use crate::names;
use crate::report::Reporter;
use crate::rules::{TAR_BAD_CHECKSUM, TAR_DATA_AFTER_END, TAR_DUPLICATE_NAME, TAR_PATH_TRAVERSAL};

const BLOCK: usize = 512;
type Header = [u8; BLOCK];

/// What a member is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TarKind {
    File,
    HardLink,
    Symlink,
    CharDevice,
    BlockDevice,
    Directory,
    Fifo,
    /// A GNU sparse file: its data is the stored segments, holes not expanded.
    Sparse,
    /// A type flag Python's tarfile does not know; it reads such members as files.
    Other(u8),
}

impl TarKind {
    fn from_flag(flag: u8, name: &str) -> TarKind {
        match flag {
            b'0' | b'7' => TarKind::File,
            // Old tars mark directories only by a trailing slash.
            b'\0' if name.ends_with('/') => TarKind::Directory,
            b'\0' => TarKind::File,
            b'1' => TarKind::HardLink,
            b'2' => TarKind::Symlink,
            b'3' => TarKind::CharDevice,
            b'4' => TarKind::BlockDevice,
            b'5' => TarKind::Directory,
            b'6' => TarKind::Fifo,
            b'S' => TarKind::Sparse,
            other => TarKind::Other(other),
        }
    }

    /// Whether data blocks follow the header. Python's tarfile skips data only for these
    /// (a directory or link with a size gets its "data" read as the next header), and so
    /// does this reader, to list what Python lists.
    pub fn has_content(self) -> bool {
        matches!(self, TarKind::File | TarKind::Sparse | TarKind::Other(_))
    }
}

/// One member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TarEntry<'a> {
    /// The effective name (pax `path`, GNU long name, or ustar prefix + name).
    pub name: String,
    pub kind: TarKind,
    /// Declared content size.
    pub size: u64,
    /// The content present in the input: empty for links, devices and directories, shorter
    /// than `size` when the archive is cut short (reported).
    pub data: &'a [u8],
    /// Offset of the member's own header block.
    pub header_offset: usize,
    /// Target of a symbolic or hard link.
    pub link_target: Option<String>,
    /// Found after the end-of-archive marker (reported): most tools do not extract it.
    pub after_end: bool,
}

impl TarEntry<'_> {
    /// Whether the member holds data to scan: a regular file, a sparse file, or a type
    /// Python's tarfile reads as a file. Links, devices and directories do not.
    pub fn is_file(&self) -> bool {
        self.kind.has_content()
    }
}

/// Whether `prefix` (at least 512 bytes) starts a tar: the ustar magic at offset 257, or a
/// header whose checksum is right (old v7 archives have no magic).
pub fn looks_like_tar(prefix: &[u8]) -> bool {
    header_at(prefix, 0).is_some_and(|header| &header[257..262] == b"ustar" || checksum_ok(header))
}

/// Lists the members of the tar in `data`, reporting anomalies at `location` (bad
/// checksums, truncated members, absolute or `..` paths and links, duplicate names, pax
/// headers that do not parse, members after the end marker). Never more than
/// `limits.max_members`; long names and pax headers are bounded by `limits.max_header_bytes`.
pub fn entries<'a>(
    data: &'a [u8],
    location: &Location,
    limits: &Limits,
    out: &mut Vec<Finding>,
) -> Vec<TarEntry<'a>> {
    let mut report = Reporter::new(out, location);
    let entries = Walk {
        data,
        location,
        limits,
        report: &mut report,
        entries: Vec::new(),
        file_names: HashSet::new(),
        global: Extended::default(),
        pending: Pending::default(),
    }
    .run();
    report.finish();
    entries
}

fn header_at(data: &[u8], at: usize) -> Option<&Header> {
    data.get(at..at.checked_add(BLOCK)?)?.try_into().ok()
}

/// A NUL-terminated field.
fn field(bytes: &[u8]) -> &[u8] {
    bytes
        .iter()
        .position(|&b| b == 0)
        .map_or(bytes, |end| bytes.split_at(end).0)
}

/// A numeric header field as Python's tarfile reads it: octal text (spaces and NULs
/// around it allowed, empty is 0), or GNU base-256 when the top bit of the first byte is
/// set. Negative base-256 values are rejected.
fn number(bytes: &[u8]) -> Option<u64> {
    match bytes.split_first() {
        Some((0x80, digits)) => digits.iter().try_fold(0u64, |value, &digit| {
            value.checked_mul(256)?.checked_add(u64::from(digit))
        }),
        Some((0xff, _)) => None,
        _ => {
            let text = std::str::from_utf8(field(bytes)).ok()?.trim();
            if text.is_empty() {
                Some(0)
            } else {
                u64::from_str_radix(text, 8).ok()
            }
        }
    }
}

/// Python accepts the unsigned sum of the header (checksum field as spaces) or the signed
/// sum some old tars wrote.
fn checksum_ok(header: &Header) -> bool {
    let Some(recorded) = number(&header[148..156]) else {
        return false;
    };
    let (mut unsigned, mut signed) = (0u64, 0i64);
    for (i, &byte) in header.iter().enumerate() {
        let byte = if (148..156).contains(&i) { b' ' } else { byte };
        unsigned += u64::from(byte);
        signed += i64::from(byte as i8);
    }
    recorded == unsigned || i64::try_from(recorded).is_ok_and(|recorded| recorded == signed)
}

fn is_zero(header: &Header) -> bool {
    header.iter().all(|&b| b == 0)
}

/// Values from pax extended headers (or GNU long name/link headers) that apply to the
/// next member.
#[derive(Clone, Debug, Default)]
struct Extended {
    path: Option<String>,
    linkpath: Option<String>,
    size: Option<u64>,
    sparse: bool,
}

impl Extended {
    /// `self` with `local` values taking precedence.
    fn overlaid(&self, local: &Extended) -> Extended {
        Extended {
            path: local.path.clone().or_else(|| self.path.clone()),
            linkpath: local.linkpath.clone().or_else(|| self.linkpath.clone()),
            size: local.size.or(self.size),
            sparse: local.sparse || self.sparse,
        }
    }
}

#[derive(Debug, Default)]
struct Pending {
    pax: Extended,
    long_name: Option<String>,
    long_link: Option<String>,
}

/// Parses pax records (`"<len> <key>=<value>\n"`) into `into`.
fn parse_pax(mut records: &[u8], into: &mut Extended) -> Result<(), &'static str> {
    while !records.is_empty() && !records.iter().all(|&b| b == 0) {
        let space = records
            .iter()
            .position(|&b| b == b' ')
            .ok_or("a record has no length")?;
        let len: usize = std::str::from_utf8(&records[..space])
            .ok()
            .and_then(|text| text.parse().ok())
            .ok_or("a record length is not a number")?;
        let record = records
            .get(space + 1..len)
            .ok_or("a record runs past the header")?;
        let body = record
            .strip_suffix(b"\n")
            .ok_or("a record does not end in a newline")?;
        let equals = body
            .iter()
            .position(|&b| b == b'=')
            .ok_or("a record has no '='")?;
        let (key, value) = body.split_at(equals);
        let value = &value[1..];
        match key {
            b"path" => into.path = Some(names::display(value)),
            b"linkpath" => into.linkpath = Some(names::display(value)),
            b"size" => {
                let size = std::str::from_utf8(value)
                    .ok()
                    .and_then(|text| text.parse().ok());
                into.size = Some(size.ok_or("its size is not a number")?);
            }
            key if key.starts_with(b"GNU.sparse.") => into.sparse = true,
            _ => {}
        }
        records = &records[len..];
    }
    Ok(())
}

/// What a header that carries metadata for the next member is, by its type flag.
fn metadata_kind(flag: u8) -> Option<&'static str> {
    match flag {
        b'L' => Some("GNU long name"),
        b'K' => Some("GNU long link name"),
        b'x' | b'X' | b'g' => Some("pax header"),
        _ => None,
    }
}

/// Applies a GNU long name/link (`L`/`K`) or pax (`x`/`X`/`g`) header's content.
fn apply_metadata(
    flag: u8,
    content: &[u8],
    pending: &mut Pending,
    global: &mut Extended,
) -> Result<(), &'static str> {
    match flag {
        b'L' => pending.long_name = Some(names::display(field(content))),
        b'K' => pending.long_link = Some(names::display(field(content))),
        b'g' => parse_pax(content, global)?,
        _ => parse_pax(content, &mut pending.pax)?,
    }
    Ok(())
}

fn malformed_pax(location: &Location, at: u64, why: &str) -> Finding {
    Finding::new(
        &MALFORMED,
        location.at(at),
        format!("the pax header at offset {at} is malformed ({why}); the rest of it was ignored"),
    )
}

fn sparse_finding(location: &Location, name: &str) -> Finding {
    Finding::new(
        &MALFORMED,
        location.member(name),
        "this is a GNU sparse file: its stored data segments were scanned as they are, without \
         the holes that extraction puts between them",
    )
}

/// A member header with the pending extended values applied.
struct Resolved {
    name: String,
    kind: TarKind,
    size: u64,
    link_target: Option<String>,
    sparse: bool,
}

fn resolve(header: &Header, recorded_size: u64, global: &Extended, pending: Pending) -> Resolved {
    let flag = header[156];
    let extended = global.overlaid(&pending.pax);
    let mut name = names::display(field(&header[..100]));
    let prefix = field(&header[345..500]);
    if !prefix.is_empty() && flag != b'S' {
        name = format!("{}/{name}", names::display(prefix));
    }
    let name = extended.path.or(pending.long_name).unwrap_or(name);
    let kind = TarKind::from_flag(flag, &name);
    // Python's tarfile (and every writer) marks directories with a trailing slash and
    // strips it on reading.
    let name = if kind == TarKind::Directory {
        name.trim_end_matches('/').to_owned()
    } else {
        name
    };
    let size = extended.size.unwrap_or(recorded_size);
    let link_target = matches!(kind, TarKind::HardLink | TarKind::Symlink).then(|| {
        extended
            .linkpath
            .or(pending.long_link)
            .unwrap_or_else(|| names::display(field(&header[157..257])))
    });
    Resolved {
        name,
        kind,
        size,
        link_target,
        sparse: kind == TarKind::Sparse || extended.sparse,
    }
}

struct Walk<'a, 'r, 'o> {
    data: &'a [u8],
    location: &'r Location,
    limits: &'r Limits,
    report: &'r mut Reporter<'o>,
    entries: Vec<TarEntry<'a>>,
    file_names: HashSet<String>,
    global: Extended,
    pending: Pending,
}

/// What to do after a header.
enum Next {
    At(usize),
    Stop,
}

impl<'a> Walk<'a, '_, '_> {
    fn run(mut self) -> Vec<TarEntry<'a>> {
        let data = self.data;
        let mut at = 0;
        let mut after_end = false;
        while let Some(header) = header_at(data, at) {
            let next = if is_zero(header) {
                self.past_end_marker(at, &mut after_end)
            } else if !checksum_ok(header) {
                self.resynchronise(at)
            } else {
                self.member(at, header, after_end)
            };
            match next {
                Next::At(next) if next > at => at = next,
                _ => return self.entries,
            }
        }
        if at < data.len()
            && data
                .get(at..)
                .is_some_and(|rest| rest.iter().any(|&b| b != 0))
        {
            self.report.push(Finding::new(
                &MALFORMED,
                self.location.at(at as u64),
                format!("the archive ends inside a header block at offset {at}"),
            ));
        }
        self.entries
    }

    /// Zero blocks end the archive (Python stops at the first, GNU tar at two). If a valid
    /// header follows the zeros, some tools (`tar -i`) read on, so this reader does too.
    fn past_end_marker(&mut self, at: usize, after_end: &mut bool) -> Next {
        let data = self.data;
        let mut next = at;
        while header_at(data, next).is_some_and(is_zero) {
            next += BLOCK;
        }
        if !header_at(data, next).is_some_and(checksum_ok) {
            return Next::Stop;
        }
        if !*after_end {
            *after_end = true;
            self.report.push(Finding::new(
                &TAR_DATA_AFTER_END,
                self.location.at(next as u64),
                format!(
                    "a tar header at offset {next} follows the end-of-archive marker at offset {at}; \
                     Python's tarfile and GNU tar stop at the marker, `tar --ignore-zeros` reads on, \
                     and so did rampart"
                ),
            ));
        }
        Next::At(next)
    }

    /// After a bad checksum, GNU tar skips block by block to the next valid header.
    fn resynchronise(&mut self, at: usize) -> Next {
        let data = self.data;
        let resume = (1..)
            .map(|blocks| at + blocks * BLOCK)
            .take_while(|&next| next < data.len())
            .find(|&next| {
                header_at(data, next).is_some_and(|header| !is_zero(header) && checksum_ok(header))
            });
        let python = if at == 0 {
            "Python's tarfile refuses the archive"
        } else {
            "Python's tarfile stops reading here"
        };
        let message = match resume {
            Some(next) => format!(
                "the tar header at offset {at} has a bad checksum; {python}, GNU tar skips to the next \
                 valid header, at offset {next}, and so did rampart"
            ),
            None => format!(
                "the tar header at offset {at} has a bad checksum; {python}, and no valid header follows"
            ),
        };
        self.report.push(Finding::new(
            &TAR_BAD_CHECKSUM,
            self.location.at(at as u64),
            message,
        ));
        resume.map_or(Next::Stop, Next::At)
    }

    /// The content of a header's data blocks, bounded for metadata (long names, pax).
    fn metadata(&mut self, at: usize, size: u64, what: &str) -> Option<&'a [u8]> {
        if size > self.limits.max_header_bytes {
            self.report.push(Finding::new(
                &LIMIT_EXCEEDED,
                self.location.at(at as u64),
                format!(
                    "the {what} at offset {at} is {size} bytes, more than max_header_bytes ({}); it was \
                     ignored",
                    self.limits.max_header_bytes
                ),
            ));
            return None;
        }
        let start = at + BLOCK;
        let end = usize::try_from(size)
            .ok()
            .and_then(|size| start.checked_add(size));
        let content = end.and_then(|end| self.data.get(start..end));
        if content.is_none() {
            self.report.push(Finding::new(
                &MALFORMED,
                self.location.at(at as u64),
                format!("the {what} at offset {at} is cut off by the end of the archive"),
            ));
        }
        content
    }

    fn member(&mut self, at: usize, header: &Header, after_end: bool) -> Next {
        let Some(recorded_size) = number(&header[124..136]) else {
            self.report.push(Finding::new(
                &MALFORMED,
                self.location.at(at as u64),
                format!(
                    "the tar header at offset {at} has an unreadable size field; reading stopped"
                ),
            ));
            return Next::Stop;
        };
        let flag = header[156];
        let after_data = |size: u64| {
            let blocks = size.div_ceil(BLOCK as u64);
            usize::try_from(blocks)
                .ok()
                .and_then(|blocks| blocks.checked_mul(BLOCK))
                .and_then(|len| (at + BLOCK).checked_add(len))
                .map_or(Next::Stop, Next::At)
        };
        if let Some(what) = metadata_kind(flag) {
            if let Some(content) = self.metadata(at, recorded_size, what)
                && let Err(why) = apply_metadata(flag, content, &mut self.pending, &mut self.global)
            {
                self.report
                    .push(malformed_pax(self.location, at as u64, why));
            }
            return after_data(recorded_size);
        }
        if self.entries.len() >= self.limits.max_members {
            self.report.push(Finding::new(
                &LIMIT_EXCEEDED,
                self.location.at(at as u64),
                format!(
                    "the archive holds more than max_members ({}) members; the rest were not read or \
                     scanned",
                    self.limits.max_members
                ),
            ));
            return Next::Stop;
        }

        let Resolved {
            name,
            kind,
            size,
            link_target,
            sparse,
        } = resolve(
            header,
            recorded_size,
            &self.global,
            std::mem::take(&mut self.pending),
        );

        let mut data_start = at + BLOCK;
        if sparse {
            data_start = self.skip_sparse_extensions(header, data_start);
            self.report.push(sparse_finding(self.location, &name));
        }
        let content_len = if kind.has_content() { size } else { 0 };
        let wanted_end = usize::try_from(content_len)
            .ok()
            .and_then(|len| data_start.checked_add(len));
        let available_end = wanted_end.map_or(self.data.len(), |end| end.min(self.data.len()));
        let content = self
            .data
            .get(data_start.min(available_end)..available_end)
            .unwrap_or_default();
        let truncated = (content.len() as u64) < content_len;

        self.check_paths(&name, kind, link_target.as_deref());
        if kind.has_content() && !self.file_names.insert(name.clone()) {
            self.report.push(Finding::new(
                &TAR_DUPLICATE_NAME,
                self.location.member(&name),
                format!(
                    "'{name}' appears more than once; extraction and Python's getmember keep the last \
                     copy, so every copy was listed for scanning"
                ),
            ));
        }
        if truncated {
            self.report.push(Finding::new(
                &MALFORMED,
                self.location.member(&name),
                format!(
                    "the member at offset {at} declares {content_len} bytes, but the archive ends after {}; \
                     only those were scanned",
                    content.len()
                ),
            ));
        }
        self.entries.push(TarEntry {
            name,
            kind,
            size,
            data: content,
            header_offset: at,
            link_target,
            after_end,
        });
        if truncated {
            return Next::Stop;
        }
        let padded = content_len
            .div_ceil(BLOCK as u64)
            .saturating_mul(BLOCK as u64);
        usize::try_from(padded)
            .ok()
            .and_then(|padded| data_start.checked_add(padded))
            .map_or(Next::Stop, Next::At)
    }

    /// Old GNU sparse headers may chain extension blocks (flag at 482, then 504 in each
    /// extension) before the data.
    fn skip_sparse_extensions(&self, header: &Header, mut data_start: usize) -> usize {
        let mut extended = header[482] != 0;
        while extended {
            match header_at(self.data, data_start) {
                Some(extension) => {
                    extended = extension[504] != 0;
                    data_start += BLOCK;
                }
                None => break,
            }
        }
        data_start
    }

    fn check_paths(&mut self, name: &str, kind: TarKind, link_target: Option<&str>) {
        let member = self.location.member(name);
        if let Some(problem) = names::path_problem(name) {
            self.report.push(
                Finding::new(
                    &TAR_PATH_TRAVERSAL,
                    member.clone(),
                    format!("member name '{name}' {}", problem.reason),
                )
                .with_severity(problem.severity)
                .with_evidence(name.to_owned()),
            );
        }
        let Some(target) = link_target else {
            return;
        };
        let escapes = match kind {
            TarKind::Symlink => names::link_escapes(name, target),
            _ => names::path_problem(target).is_some(),
        };
        if escapes {
            let what = if kind == TarKind::Symlink {
                "symbolic link"
            } else {
                "hard link"
            };
            self.report.push(
                Finding::new(
                    &TAR_PATH_TRAVERSAL,
                    member,
                    format!(
                        "{what} '{name}' points to '{target}', outside the extraction directory; writing \
                         through it after extraction overwrites files elsewhere"
                    ),
                )
                .with_evidence(format!("{name} -> {target}")),
            );
        }
    }
}

pub mod stream;

#[cfg(test)]
mod tests;
