//! The tar reader over a stream (a decompressing reader of a container layer): members
//! come one at a time, and the caller reads as much of each one's content as it needs;
//! what it leaves is skipped, never buffered. Memory is bounded by one header and the
//! metadata limits, whatever the size of the archive or its members.
//!
//! It reads what the slice reader reads (ustar, GNU long names and links, base-256 sizes,
//! old sparse files, pax including global headers, v7), resynchronises after a bad
//! checksum and reads past the end-of-archive marker the same way, and reports the same
//! anomalies, except member paths: a stream's caller (an image layer) judges paths itself.

use std::collections::HashSet;
use std::io::{self, Read};

use rampart_core::rules::{LIMIT_EXCEEDED, MALFORMED};
use rampart_core::{Finding, Limits, Location};

use super::{
    BLOCK, Extended, Header, Pending, TarKind, apply_metadata, checksum_ok, is_zero, malformed_pax,
    metadata_kind, number, resolve, sparse_finding,
};
use crate::report::Reporter;
use crate::rules::{TAR_BAD_CHECKSUM, TAR_DATA_AFTER_END, TAR_DUPLICATE_NAME};

/// One member's header, as [`TarStream::next_entry`] hands it out; its content is read
/// from the stream itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamEntry {
    /// The effective name (pax `path`, GNU long name, or ustar prefix + name).
    pub name: String,
    pub kind: TarKind,
    /// Declared content size (0 for members without content).
    pub size: u64,
    /// Offset of the member's own header block in the stream.
    pub header_offset: u64,
    pub link_target: Option<String>,
    /// Found after the end-of-archive marker (reported).
    pub after_end: bool,
}

impl StreamEntry {
    /// Whether the member holds data to scan (see [`super::TarEntry::is_file`]).
    pub fn is_file(&self) -> bool {
        self.kind.has_content()
    }
}

/// A tar archive read front to back from `reader`. Findings collect inside and go to the
/// caller's list with [`TarStream::finish`], capped per rule like the slice reader's.
pub struct TarStream<R> {
    reader: R,
    location: Location,
    limits: Limits,
    findings: Vec<Finding>,
    /// Bytes consumed from `reader`.
    offset: u64,
    /// Content bytes of the current member not read yet, then its padding.
    content_left: u64,
    padding_left: u64,
    /// The current member, for the report when the stream ends inside its content.
    current: Option<(u64, u64)>,
    /// A header read ahead (after zero blocks or while resynchronising).
    peeked: Option<(u64, Header)>,
    global: Extended,
    pending: Pending,
    members: usize,
    file_names: HashSet<String>,
    after_end: bool,
    done: bool,
    read_failed: bool,
}

/// What [`TarStream::finish`] returns.
pub struct Finished<R> {
    pub reader: R,
    /// Reading the underlying stream failed (a corrupt compressed stream); reported.
    pub read_failed: bool,
}

impl<R: Read> TarStream<R> {
    pub fn new(reader: R, location: &Location, limits: &Limits) -> Self {
        TarStream {
            reader,
            location: location.clone(),
            limits: limits.clone(),
            findings: Vec::new(),
            offset: 0,
            content_left: 0,
            padding_left: 0,
            current: None,
            peeked: None,
            global: Extended::default(),
            pending: Pending::default(),
            members: 0,
            file_names: HashSet::new(),
            after_end: false,
            done: false,
            read_failed: false,
        }
    }

    /// The next member, after skipping what is left of the current one; `None` at the end
    /// of the archive or where reading had to stop (reported).
    pub fn next_entry(&mut self) -> Option<StreamEntry> {
        if self.done {
            return None;
        }
        if let Err(error) = self.skip_rest_of_member() {
            self.stop_on_error(error);
            return None;
        }
        loop {
            let (at, header) = match self.next_header() {
                Ok(Some(found)) => found,
                Ok(None) => {
                    self.done = true;
                    return None;
                }
                Err(error) => {
                    self.stop_on_error(error);
                    return None;
                }
            };
            match self.member(at, &header) {
                Ok(Some(entry)) => return Some(entry),
                Ok(None) if self.done => return None,
                Ok(None) => {}
                Err(error) => {
                    self.stop_on_error(error);
                    return None;
                }
            }
        }
    }

    /// Skips the rest of the archive and hands the findings to `out`. Returns the reader
    /// and whether reading it failed (reported).
    pub fn finish(mut self, out: &mut Vec<Finding>) -> Finished<R> {
        while self.next_entry().is_some() {}
        let mut report = Reporter::new(out, &self.location);
        for finding in self.findings {
            report.push(finding);
        }
        report.finish();
        Finished {
            reader: self.reader,
            read_failed: self.read_failed,
        }
    }

    fn stop_on_error(&mut self, error: io::Error) {
        self.done = true;
        self.read_failed = true;
        self.findings.push(Finding::new(
            &MALFORMED,
            self.location.at(self.offset),
            format!(
                "reading the archive failed at offset {} ({error}); the rest was not read",
                self.offset
            ),
        ));
    }

    fn skip_rest_of_member(&mut self) -> io::Result<()> {
        let content = self.content_left;
        let skipped = io::copy(&mut self.by_ref().take(content), &mut io::sink())?;
        if skipped < content {
            return Ok(());
        }
        let padding = self.padding_left;
        let skipped = self.raw_skip(padding)?;
        self.padding_left = 0;
        if skipped < padding {
            // Zero padding cut off at the very end: nothing is missing.
            self.done = true;
        }
        Ok(())
    }

    fn raw_skip(&mut self, len: u64) -> io::Result<u64> {
        let skipped = io::copy(&mut (&mut self.reader).take(len), &mut io::sink())?;
        self.offset += skipped;
        Ok(skipped)
    }

    /// Reads one block; `None` at a clean end, and a report when the stream ends inside
    /// a block that is not all zeros.
    fn read_block(&mut self) -> io::Result<Option<(u64, Header)>> {
        if let Some(peeked) = self.peeked.take() {
            return Ok(Some(peeked));
        }
        let at = self.offset;
        let mut block = [0u8; BLOCK];
        let mut filled = 0;
        while filled < BLOCK {
            match self.reader.read(&mut block[filled..]) {
                Ok(0) => break,
                Ok(read) => filled += read,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        self.offset += filled as u64;
        if filled == BLOCK {
            return Ok(Some((at, block)));
        }
        if block[..filled].iter().any(|&b| b != 0) {
            self.findings.push(Finding::new(
                &MALFORMED,
                self.location.at(at),
                format!("the archive ends inside a header block at offset {at}"),
            ));
        }
        Ok(None)
    }

    /// The next header that is not zeros and has a good checksum, with the slice reader's
    /// reports for zero blocks followed by more headers and for bad checksums.
    fn next_header(&mut self) -> io::Result<Option<(u64, Header)>> {
        let Some((at, header)) = self.read_block()? else {
            return Ok(None);
        };
        if is_zero(&header) {
            let marker = at;
            let next = loop {
                match self.read_block()? {
                    None => return Ok(None),
                    Some((_, block)) if is_zero(&block) => {}
                    Some(found) => break found,
                }
            };
            if !checksum_ok(&next.1) {
                return Ok(None);
            }
            if !self.after_end {
                self.after_end = true;
                self.findings.push(Finding::new(
                    &TAR_DATA_AFTER_END,
                    self.location.at(next.0),
                    format!(
                        "a tar header at offset {} follows the end-of-archive marker at offset {marker}; \
                         Python's tarfile and GNU tar stop at the marker, `tar --ignore-zeros` reads \
                         on, and so did rampart",
                        next.0
                    ),
                ));
            }
            return Ok(Some(next));
        }
        if checksum_ok(&header) {
            return Ok(Some((at, header)));
        }
        let python = if at == 0 {
            "Python's tarfile refuses the archive"
        } else {
            "Python's tarfile stops reading here"
        };
        loop {
            match self.read_block()? {
                None => {
                    self.findings.push(Finding::new(
                        &TAR_BAD_CHECKSUM,
                        self.location.at(at),
                        format!(
                            "the tar header at offset {at} has a bad checksum; {python}, and no valid \
                             header follows"
                        ),
                    ));
                    return Ok(None);
                }
                Some((next, block)) if !is_zero(&block) && checksum_ok(&block) => {
                    self.findings.push(Finding::new(
                        &TAR_BAD_CHECKSUM,
                        self.location.at(at),
                        format!(
                            "the tar header at offset {at} has a bad checksum; {python}, GNU tar skips \
                             to the next valid header, at offset {next}, and so did rampart"
                        ),
                    ));
                    return Ok(Some((next, block)));
                }
                Some(_) => {}
            }
        }
    }

    /// Handles one valid header: metadata headers are applied (`None`), members returned.
    fn member(&mut self, at: u64, header: &Header) -> io::Result<Option<StreamEntry>> {
        let Some(recorded_size) = number(&header[124..136]) else {
            self.findings.push(Finding::new(
                &MALFORMED,
                self.location.at(at),
                format!(
                    "the tar header at offset {at} has an unreadable size field; reading stopped"
                ),
            ));
            self.done = true;
            return Ok(None);
        };
        let flag = header[156];
        if let Some(what) = metadata_kind(flag) {
            self.metadata(at, flag, what, recorded_size)?;
            return Ok(None);
        }
        if self.members >= self.limits.max_members {
            self.findings.push(Finding::new(
                &LIMIT_EXCEEDED,
                self.location.at(at),
                format!(
                    "the archive holds more than max_members ({}) members; the rest were not read or \
                     scanned",
                    self.limits.max_members
                ),
            ));
            self.done = true;
            return Ok(None);
        }
        self.members += 1;
        let resolved = resolve(
            header,
            recorded_size,
            &self.global,
            std::mem::take(&mut self.pending),
        );
        if resolved.sparse {
            self.skip_sparse_extensions(header)?;
            self.findings
                .push(sparse_finding(&self.location, &resolved.name));
        }
        let content_len = if resolved.kind.has_content() {
            resolved.size
        } else {
            0
        };
        if resolved.kind.has_content() && !self.file_names.insert(resolved.name.clone()) {
            self.findings.push(Finding::new(
                &TAR_DUPLICATE_NAME,
                self.location.member(&resolved.name),
                format!(
                    "'{}' appears more than once; extraction and Python's getmember keep the last \
                     copy, so every copy was listed for scanning",
                    resolved.name
                ),
            ));
        }
        self.content_left = content_len;
        self.padding_left = padding(content_len);
        self.current = Some((at, content_len));
        Ok(Some(StreamEntry {
            name: resolved.name,
            kind: resolved.kind,
            size: resolved.size,
            header_offset: at,
            link_target: resolved.link_target,
            after_end: self.after_end,
        }))
    }

    fn metadata(&mut self, at: u64, flag: u8, what: &str, size: u64) -> io::Result<()> {
        let padded = size.saturating_add(padding(size));
        if size > self.limits.max_header_bytes {
            self.findings.push(Finding::new(
                &LIMIT_EXCEEDED,
                self.location.at(at),
                format!(
                    "the {what} at offset {at} is {size} bytes, more than max_header_bytes ({}); it was \
                     ignored",
                    self.limits.max_header_bytes
                ),
            ));
            if self.raw_skip(padded)? < padded {
                self.done = true;
            }
            return Ok(());
        }
        // Bounded by max_header_bytes just above.
        let mut content = Vec::new();
        (&mut self.reader).take(size).read_to_end(&mut content)?;
        self.offset += content.len() as u64;
        if (content.len() as u64) < size {
            self.findings.push(Finding::new(
                &MALFORMED,
                self.location.at(at),
                format!("the {what} at offset {at} is cut off by the end of the archive"),
            ));
            self.done = true;
            return Ok(());
        }
        self.raw_skip(padding(size))?;
        if let Err(why) = apply_metadata(flag, &content, &mut self.pending, &mut self.global) {
            self.findings.push(malformed_pax(&self.location, at, why));
        }
        Ok(())
    }

    /// Old GNU sparse headers may chain extension blocks (flag at 482, then 504 in each).
    fn skip_sparse_extensions(&mut self, header: &Header) -> io::Result<()> {
        let mut extended = header[482] != 0;
        while extended {
            match self.read_block()? {
                Some((_, extension)) => extended = extension[504] != 0,
                None => break,
            }
        }
        Ok(())
    }
}

/// Zero bytes after `len` content bytes up to the next block boundary.
fn padding(len: u64) -> u64 {
    (BLOCK as u64 - len % BLOCK as u64) % BLOCK as u64
}

/// Reads the current member's content (ends where the member ends). A stream that ends
/// inside the content is reported, once, as the slice reader reports a cut member.
impl<R: Read> Read for TarStream<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf
            .len()
            .min(usize::try_from(self.content_left).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let read = self.reader.read(&mut buf[..want])?;
        self.offset += read as u64;
        self.content_left -= read as u64;
        if read == 0 {
            self.done = true;
            self.content_left = 0;
            if let Some((at, declared)) = self.current.take() {
                let got = self.offset - at - BLOCK as u64;
                let name = self.location.clone();
                self.findings.push(Finding::new(
                    &MALFORMED,
                    name.at(at),
                    format!(
                        "the member at offset {at} declares {declared} bytes, but the archive ends after \
                         {got}; only those were scanned"
                    ),
                ));
            }
        }
        Ok(read)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::tar::entries;

    /// What the slice reader lists: (name, kind, size, content, link target).
    type Listed = Vec<(String, TarKind, u64, Vec<u8>, Option<String>)>;

    fn by_slice(data: &[u8]) -> (Listed, Vec<Finding>) {
        let mut out = Vec::new();
        let listed = entries(data, &Location::file("t.tar"), &Limits::default(), &mut out)
            .into_iter()
            .map(|e| (e.name, e.kind, e.size, e.data.to_vec(), e.link_target))
            .collect();
        (listed, out)
    }

    fn by_stream(data: &[u8]) -> (Listed, Vec<Finding>) {
        let mut stream = TarStream::new(data, &Location::file("t.tar"), &Limits::default());
        let mut listed = Vec::new();
        while let Some(entry) = stream.next_entry() {
            let mut content = Vec::new();
            assert!(stream.read_to_end(&mut content).is_ok());
            listed.push((
                entry.name,
                entry.kind,
                entry.size,
                content,
                entry.link_target,
            ));
        }
        let mut out = Vec::new();
        stream.finish(&mut out);
        (listed, out)
    }

    fn header(name: &str, flag: u8, size: u64) -> Vec<u8> {
        let mut block = vec![0u8; BLOCK];
        block[..name.len()].copy_from_slice(name.as_bytes());
        block[100..107].copy_from_slice(b"0000644");
        block[124..135].copy_from_slice(format!("{size:011o}").as_bytes());
        block[156] = flag;
        block[257..263].copy_from_slice(b"ustar\0");
        block[148..156].copy_from_slice(b"        ");
        let sum: u32 = block.iter().map(|&b| u32::from(b)).sum();
        block[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        block
    }

    fn member(name: &str, flag: u8, content: &[u8]) -> Vec<u8> {
        let mut bytes = header(name, flag, content.len() as u64);
        bytes.extend_from_slice(content);
        bytes.resize(bytes.len().next_multiple_of(BLOCK), 0);
        bytes
    }

    fn sample() -> Vec<u8> {
        let long = format!("{}/model.pkl", "d".repeat(150));
        let mut tar = member("a.txt", b'0', b"hello");
        tar.extend(member("dir/", b'5', b""));
        tar.extend(member(
            "././@LongLink",
            b'L',
            format!("{long}\0").as_bytes(),
        ));
        tar.extend(member("short", b'0', &[7u8; 1500]));
        tar.extend(member("pax", b'x', b"20 path=renamed.bin\n"));
        tar.extend(member("orig", b'0', b"xyz"));
        tar.extend(member("a.txt", b'0', b"again"));
        tar.extend(vec![0u8; 2 * BLOCK]);
        tar
    }

    fn ids(findings: &[Finding]) -> Vec<&str> {
        let mut ids: Vec<&str> = findings.iter().map(|f| f.rule.id).collect();
        ids.sort_unstable();
        ids
    }

    #[test]
    fn lists_what_the_slice_reader_lists() {
        let tar = sample();
        let (slice, slice_findings) = by_slice(&tar);
        let (stream, stream_findings) = by_stream(&tar);
        assert_eq!(stream, slice);
        assert_eq!(stream.len(), 5);
        assert!(stream[2].0.ends_with("/model.pkl") && stream[2].0.len() > 150);
        assert_eq!(stream[3].0, "renamed.bin");
        assert_eq!(ids(&stream_findings), ids(&slice_findings));
        assert_eq!(ids(&stream_findings), vec!["tar/duplicate-name"]);
    }

    #[test]
    fn resynchronises_reads_past_the_end_and_reports_cut_members() {
        let mut tar = member("a", b'0', b"1");
        tar.extend(vec![0u8; 2 * BLOCK]);
        tar.extend(member("c", b'0', b"3"));
        let mut bad = member("b", b'0', b"2");
        bad[0] = b'X';
        tar.extend(bad);
        tar.extend(member("e", b'0', b"4"));
        let (slice, slice_findings) = by_slice(&tar);
        let (stream, stream_findings) = by_stream(&tar);
        assert_eq!(stream, slice);
        assert_eq!(stream.len(), 3);
        assert_eq!(ids(&stream_findings), ids(&slice_findings));
        assert!(ids(&stream_findings).contains(&"tar/bad-checksum"));
        assert!(ids(&stream_findings).contains(&"tar/data-after-end"));

        let short_content_at = 6 * BLOCK;
        let cut = &sample()[..short_content_at + 700];
        let (stream, findings) = by_stream(cut);
        assert_eq!(by_slice(cut).0, stream);
        assert_eq!(stream.last().map(|e| e.3.len()), Some(700));
        assert!(
            findings
                .iter()
                .any(|f| f.message.contains("declares 1500 bytes")),
            "{findings:#?}"
        );
    }

    #[test]
    fn unread_content_is_skipped() {
        let tar = sample();
        let mut stream = TarStream::new(&tar[..], &Location::file("t"), &Limits::default());
        let mut names = Vec::new();
        while let Some(entry) = stream.next_entry() {
            names.push(entry.name);
        }
        assert_eq!(names.len(), 5);
        let mut out = Vec::new();
        stream.finish(&mut out);
        assert_eq!(ids(&out), vec!["tar/duplicate-name"]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn stream_and_slice_agree_on_mutated_archives(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut tar = sample();
            for (at, byte) in edits {
                let at = at.index(tar.len());
                tar[at] = byte;
            }
            let tar = &tar[..cut.index(tar.len() + 1)];
            let (stream, _) = by_stream(tar);
            let (slice, _) = by_slice(tar);
            prop_assert_eq!(stream, slice);
        }

        #[test]
        fn arbitrary_bytes_do_not_panic(data in proptest::collection::vec(any::<u8>(), 0..4096)) {
            by_stream(&data);
        }
    }
}
