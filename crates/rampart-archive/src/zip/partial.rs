//! Zip archives too large to hold, read once from a stream (a multi-gigabyte PyTorch
//! checkpoint inside a compressed image layer): only the bytes a scan reads are kept.
//!
//! The stream is followed local header by local header, as it arrives. Headers, data
//! descriptors, the central directory and end records are kept, and so is every member's
//! data, whole while a byte budget lasts (then its first [`PEEK_BYTES`]), except the
//! members the caller says are never read (PyTorch's tensor storages): their bytes are
//! passed over. The kept bytes sit at their own offsets in an anonymous mapping of the
//! file's full size, so [`Archive::open_partial`](super::Archive::open_partial) reads it
//! with the same code as a whole file, and the mapping's untouched pages (the tensors)
//! cost no memory. What was not kept is known ([`Held`]), so reading it is reported as a
//! limit, never taken for zeros.

use std::io::{self, ErrorKind, Read};
use std::ops::Range;

use memchr::memmem;
use memmap2::{MmapMut, MmapOptions};

use super::records::{self, DESCRIPTOR_SIG, LOCAL_SIG};
use super::{DESCRIPTOR_MAX_LEN, FLAG_DESCRIPTOR, METHOD_STORED};

/// What is kept of a member whose whole data does not fit the budget: enough to tell its
/// format.
pub const PEEK_BYTES: usize = 64 * 1024;
/// The end of the file is always kept: the end record, a comment of up to 64 KiB and the
/// ZIP64 records before it.
const TAIL_BYTES: usize = 128 * 1024;
const SKIP_CHUNK: usize = 1 << 20;
/// A member whose length only its descriptor gives is kept this much at a time: what is
/// read past its end is kept too, so this bounds the waste.
const HOLD_CHUNK: usize = 64 * 1024;

/// The byte ranges of a partially held file that were kept, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Held {
    ranges: Vec<Range<usize>>,
}

impl Held {
    /// Appends a range after every range already added (touching ranges merge).
    fn push(&mut self, range: Range<usize>) {
        if range.is_empty() {
            return;
        }
        match self.ranges.last_mut() {
            Some(last) if last.end >= range.start => last.end = last.end.max(range.end),
            _ => self.ranges.push(range),
        }
    }

    /// Whether every byte of `range` was kept.
    pub fn covers(&self, range: Range<usize>) -> bool {
        if range.is_empty() {
            return true;
        }
        let after = self
            .ranges
            .partition_point(|held| held.start <= range.start);
        after > 0 && self.ranges[after - 1].end >= range.end
    }

    /// How many bytes were kept.
    pub fn len(&self) -> u64 {
        self.ranges.iter().map(|range| range.len() as u64).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The kept bytes that start the file.
    pub fn prefix_len(&self) -> usize {
        match self.ranges.first() {
            Some(first) if first.start == 0 => first.end,
            _ => 0,
        }
    }
}

/// A zip file of which only some bytes were kept (see the module docs).
#[derive(Debug)]
pub struct PartialZip {
    view: MmapMut,
    held: Held,
}

impl PartialZip {
    /// Reads a `size`-byte zip to its end: `head` is its start, already read, `rest` the
    /// remainder. At most `budget` bytes are kept besides the head and the tail; members
    /// for which `never_read(name)` holds keep only their headers. A stream that ends or
    /// fails early leaves the rest unheld (the caller reports the truncation). Errors only
    /// when the address space for the view cannot be had.
    pub fn capture(
        head: &[u8],
        rest: &mut dyn Read,
        size: u64,
        budget: u64,
        never_read: &dyn Fn(&[u8]) -> bool,
    ) -> io::Result<PartialZip> {
        let len = usize::try_from(size).map_err(|_| {
            io::Error::new(ErrorKind::OutOfMemory, "the file exceeds the address space")
        })?;
        // Without swap reservation: only the pages written to count against memory.
        let mut view = MmapOptions::new()
            .len(len.max(1))
            .no_reserve_swap()
            .map_anon()?;
        let kept = head.len().min(len);
        view[..kept].copy_from_slice(&head[..kept]);
        let mut capture = Capture {
            view,
            len,
            held: Held::default(),
            read_to: kept,
            stream: Stream {
                rest,
                given_back: Vec::new(),
                given_back_at: 0,
                ended: false,
            },
            budget,
            reserve: budget / 4,
            tail_start: len.saturating_sub(TAIL_BYTES),
        };
        capture.held.push(0..kept);
        capture.follow_local_headers(never_read);
        Ok(PartialZip {
            view: capture.view,
            held: capture.held,
        })
    }

    /// The file at its full size; only the [`PartialZip::held`] bytes are its content.
    pub fn data(&self) -> &[u8] {
        &self.view[..self.held_len()]
    }

    pub fn held(&self) -> &Held {
        &self.held
    }

    fn held_len(&self) -> usize {
        self.held.ranges.last().map_or(0, |last| last.end)
    }
}

struct Capture<'r> {
    view: MmapMut,
    len: usize,
    held: Held,
    /// The position of the next byte `stream` yields: everything before it is either held
    /// or was passed over on purpose.
    read_to: usize,
    stream: Stream<'r>,
    budget: u64,
    /// What member data may not spend of the budget: headers, descriptors and the
    /// directory need it.
    reserve: u64,
    tail_start: usize,
}

/// The member's bytes as they arrive, with room to give some back: a descriptor search
/// reads past the end of the data it searches.
struct Stream<'r> {
    rest: &'r mut dyn Read,
    /// Bytes given back, to be read again from `given_back_at` on (a cursor, so that many
    /// small reads of a large give-back do not shift it each time).
    given_back: Vec<u8>,
    given_back_at: usize,
    ended: bool,
}

impl Stream<'_> {
    fn read(&mut self, buf: &mut [u8]) -> usize {
        let pending = &self.given_back[self.given_back_at..];
        if !pending.is_empty() {
            let n = buf.len().min(pending.len());
            buf[..n].copy_from_slice(&pending[..n]);
            self.given_back_at += n;
            return n;
        }
        while !buf.is_empty() && !self.ended {
            match self.rest.read(buf) {
                Ok(0) => self.ended = true,
                Ok(n) => return n,
                Err(error) if error.kind() == ErrorKind::Interrupted => {}
                Err(_) => self.ended = true,
            }
        }
        0
    }

    /// Fills `buf` unless the stream ends first; how much was read.
    fn read_full(&mut self, buf: &mut [u8]) -> usize {
        let mut filled = 0;
        while filled < buf.len() {
            let n = self.read(&mut buf[filled..]);
            if n == 0 {
                break;
            }
            filled += n;
        }
        filled
    }

    fn give_back(&mut self, bytes: &[u8]) {
        let mut back = bytes.to_vec();
        back.extend_from_slice(&self.given_back[self.given_back_at..]);
        self.given_back = back;
        self.given_back_at = 0;
    }

    fn ended(&self) -> bool {
        self.ended && self.given_back_at == self.given_back.len()
    }
}

impl Capture<'_> {
    fn follow_local_headers(&mut self, never_read: &dyn Fn(&[u8]) -> bool) {
        let mut at = 0usize;
        while let Some(next) = self.keep_member(at, never_read) {
            at = next;
        }
        // The central directory and end records (or whatever the walk could not follow),
        // whole if the budget allows; the tail in any case.
        let remaining = self.len.saturating_sub(at.max(self.read_to));
        if self.spend(remaining as u64) {
            self.hold_to(self.len);
        }
        self.skip_to(self.len);
    }

    /// Keeps the member whose local header is at `at`; where the next header should start,
    /// or `None` where the walk cannot go on (no header there, a compressed member whose
    /// length only its data descriptor gives, budget spent, stream ended).
    fn keep_member(&mut self, at: usize, never_read: &dyn Fn(&[u8]) -> bool) -> Option<usize> {
        let fixed_end = at.checked_add(records::LOCAL_LEN)?;
        if fixed_end > self.len {
            return None;
        }
        if !self.spend(records::LOCAL_LEN as u64) || !self.hold_to(fixed_end) {
            return None;
        }
        if !self.view[at..].starts_with(LOCAL_SIG) {
            return None;
        }
        let name_len = records::u16_at(&self.view, at + 26)?;
        let extra_len = records::u16_at(&self.view, at + 28)?;
        let header_end = fixed_end + usize::from(name_len) + usize::from(extra_len);
        if !self.spend((header_end - fixed_end) as u64) || !self.hold_to(header_end) {
            return None;
        }
        let local = records::parse_local(&self.view, at)?;
        let (data_start, flags, zip64) = (local.data_offset, local.flags, local.zip64);
        let expected = (local.compressed_size, local.size);
        let wanted = !never_read(local.name);
        if flags & FLAG_DESCRIPTOR != 0 && local.compressed_size == 0 {
            // PyTorch's writer defers every member's sizes to a signed descriptor.
            if local.method != METHOD_STORED {
                return None;
            }
            return self.find_stored_end(data_start, wanted);
        }
        let data_len = usize::try_from(local.compressed_size).ok()?;
        let data_end = data_start.checked_add(data_len)?;
        let kept = if !wanted {
            0
        } else if self.spend_on_data(data_len as u64) {
            data_len
        } else {
            let peek = data_len.min(PEEK_BYTES);
            if self.spend_on_data(peek as u64) {
                peek
            } else {
                0
            }
        };
        self.hold_to(data_start + kept);
        self.skip_to(data_end);
        if self.stream.ended() || data_end >= self.len {
            return None;
        }
        if flags & FLAG_DESCRIPTOR == 0 {
            return Some(data_end);
        }
        if !self.spend(DESCRIPTOR_MAX_LEN as u64) || !self.hold_to(data_end + DESCRIPTOR_MAX_LEN) {
            return None;
        }
        let descriptor = records::parse_descriptor(&self.view, data_end, expected, zip64)?;
        Some(data_end + descriptor.len)
    }

    /// Reads a stored member whose sizes follow its data up to its signed descriptor: the
    /// first one whose sizes equal the bytes before it and that a zip record follows.
    /// Holds the data while `hold` and the budget allow; returns where the next header is.
    fn find_stored_end(&mut self, data_start: usize, hold: bool) -> Option<usize> {
        // A candidate needs this many bytes from its first to be judged.
        const NEEDED: usize = DESCRIPTOR_MAX_LEN + 2;
        // Candidates before `checked` were rejected.
        let mut checked = data_start;
        let mut window = Vec::new();
        // Read-ahead grows from small, so that a member of a few bytes does not read (and
        // give back) a megabyte.
        let mut read_ahead_len = HOLD_CHUNK;
        loop {
            // Near the tail everything is kept anyway.
            let near_tail = self.read_to + NEEDED >= self.tail_start;
            let room = if hold && !near_tail {
                let affordable = self.budget.saturating_sub(self.reserve);
                let affordable = usize::try_from(affordable).unwrap_or(usize::MAX);
                HOLD_CHUNK
                    .min(affordable)
                    .min(self.tail_start - self.read_to)
            } else {
                0
            };
            let holding = room >= NEEDED;
            if holding {
                self.spend(room as u64);
                self.hold_to(self.read_to + room);
            } else if near_tail {
                self.hold_to(self.len);
            }
            // Held bytes not yet judged, then (when not holding) more read without keeping.
            if !self.held.covers(checked..self.read_to) {
                return None;
            }
            window.clear();
            window.extend_from_slice(&self.view[checked..self.read_to]);
            let read_ahead = !holding && !near_tail;
            if read_ahead {
                let before = window.len();
                window.resize(
                    before + read_ahead_len.min(self.tail_start - self.read_to),
                    0,
                );
                let got = self.stream.read_full(&mut window[before..]);
                window.truncate(before + got);
                self.read_to += got;
            }
            let at_end = self.stream.ended() || self.read_to >= self.len;
            let judged = if at_end {
                window.len()
            } else {
                window.len().saturating_sub(NEEDED - 1)
            };
            let found = memmem::find_iter(&window[..judged], DESCRIPTOR_SIG).find_map(|offset| {
                let distance = (checked + offset - data_start) as u64;
                descriptor_len(&window, offset, distance).map(|len| (offset, len))
            });
            if let Some((offset, len)) = found {
                let (data_end, next) = (checked + offset, checked + offset + len);
                if next < self.read_to {
                    self.stream.give_back(&window[offset + len..]);
                    self.read_to = next;
                }
                self.view[data_end..next].copy_from_slice(&window[offset..offset + len]);
                self.held.push(data_end..next);
                return Some(next);
            }
            if at_end {
                return None;
            }
            if read_ahead {
                // The unjudged end of the window is searched again with what follows.
                self.stream.give_back(&window[judged..]);
                self.read_to = checked + judged;
            }
            checked += judged;
            read_ahead_len = (read_ahead_len * 2).min(SKIP_CHUNK);
        }
    }

    fn spend_on_data(&mut self, bytes: u64) -> bool {
        self.budget.saturating_sub(bytes) >= self.reserve && self.spend(bytes)
    }

    fn spend(&mut self, bytes: u64) -> bool {
        let affordable = bytes <= self.budget;
        if affordable {
            self.budget -= bytes;
        }
        affordable
    }

    /// Reads on up to `end`, keeping the bytes; whether all of them are held now.
    fn hold_to(&mut self, end: usize) -> bool {
        let end = end.min(self.len);
        while self.read_to < end && !self.stream.ended() {
            let n = self.stream.read(&mut self.view[self.read_to..end]);
            self.held.push(self.read_to..self.read_to + n);
            self.read_to += n;
        }
        self.read_to >= end
    }

    /// Reads on up to `end`, keeping only what lies in the tail.
    fn skip_to(&mut self, end: usize) {
        let end = end.min(self.len);
        let mut scratch = Vec::new();
        while self.read_to < end.min(self.tail_start) && !self.stream.ended() {
            let want = (end.min(self.tail_start) - self.read_to).min(SKIP_CHUNK);
            scratch.resize(want, 0);
            self.read_to += self.stream.read_full(&mut scratch);
        }
        self.hold_to(end);
    }
}

/// The length of the signed data descriptor at `at` of a stored member with `distance`
/// bytes of data, when its sizes say so (narrow or ZIP64-wide) and a zip record follows
/// it; `None` for tensor bytes that only look like one.
fn descriptor_len(window: &[u8], at: usize, distance: u64) -> Option<usize> {
    if !window.get(at..)?.starts_with(DESCRIPTOR_SIG) {
        return None;
    }
    let followed_by_record = |len: usize| {
        window
            .get(at + len..at + len + 2)
            .is_some_and(|next| next == b"PK")
    };
    let narrow = records::u32_at(window, at + 8).map(u64::from) == Some(distance)
        && records::u32_at(window, at + 12).map(u64::from) == Some(distance);
    if narrow && followed_by_record(16) {
        return Some(16);
    }
    let wide = records::u64_at(window, at + 8) == Some(distance)
        && records::u64_at(window, at + 16) == Some(distance);
    (wide && followed_by_record(24)).then_some(24)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zip::build::{Member, ZipBuilder};

    fn capture(
        zip: &[u8],
        head: usize,
        budget: u64,
        never_read: &dyn Fn(&[u8]) -> bool,
    ) -> PartialZip {
        let (head, mut rest) = zip.split_at(head.min(zip.len()));
        PartialZip::capture(head, &mut rest, zip.len() as u64, budget, never_read).expect("maps")
    }

    fn storage(name: &[u8]) -> bool {
        name.starts_with(b"archive/data/")
    }

    #[test]
    fn keeps_headers_small_members_and_the_directory_but_not_storages() {
        let tensor = vec![0xAB_u8; 3 << 20];
        let zip = ZipBuilder::new(vec![
            Member::stored("archive/data.pkl", b"\x80\x02}q\x00."),
            Member::stored("archive/data/0", &tensor),
            Member::stored("archive/version", b"3\n"),
        ])
        .build();
        let partial = capture(&zip, 40, 1 << 20, &storage);
        assert_eq!(partial.data().len(), zip.len());
        let held = partial.held();
        let tensor_at = memchr::memmem::find(&zip, &tensor[..64]).expect("tensor present");
        assert!(
            !held.covers(tensor_at..tensor_at + 1),
            "tensor bytes are passed over: {held:?}"
        );
        assert!(held.len() < 200_000, "held {} bytes", held.len());
        // Everything outside the tensor's data is held and equal to the file.
        assert!(held.covers(0..tensor_at));
        let after = tensor_at + tensor.len();
        assert!(held.covers(after..zip.len()));
        assert_eq!(&partial.data()[after..], &zip[after..]);
        assert_eq!(&partial.data()[..tensor_at], &zip[..tensor_at]);
    }

    #[test]
    fn a_member_over_the_budget_keeps_only_its_first_bytes() {
        let big = vec![b'x'; 200_000];
        let zip = ZipBuilder::new(vec![
            Member::stored("a.bin", &big),
            Member::stored("b.txt", b"small"),
        ])
        .build();
        let partial = capture(&zip, 10, 100_000, &|_| false);
        let data_at = 30 + "a.bin".len();
        assert!(partial.held().covers(data_at..data_at + PEEK_BYTES));
        assert!(!partial.held().covers(data_at..data_at + PEEK_BYTES + 1));
        let small_at = memchr::memmem::find(&zip, b"small").expect("present");
        assert!(partial.held().covers(small_at..small_at + 5));
    }

    #[test]
    fn a_stream_cut_short_leaves_the_rest_unheld() {
        let zip = ZipBuilder::new(vec![Member::stored("a.txt", &vec![b'a'; 500_000])]).build();
        let (head, rest) = zip.split_at(100);
        let mut cut = &rest[..1000];
        let partial = PartialZip::capture(head, &mut cut, zip.len() as u64, u64::MAX, &|_| false)
            .expect("maps");
        assert_eq!(partial.held().prefix_len(), 1100);
        assert!(!partial.held().covers(0..zip.len()));
    }

    #[test]
    fn held_ranges_merge_and_answer_coverage() {
        let mut held = Held::default();
        held.push(0..10);
        held.push(10..20);
        held.push(30..40);
        assert_eq!(held.ranges, [0..20, 30..40]);
        assert!(held.covers(5..20));
        assert!(!held.covers(15..31));
        assert!(held.covers(30..40));
        assert!(!held.covers(39..41));
        assert!(held.covers(25..25));
        assert_eq!(held.len(), 30);
        assert_eq!(held.prefix_len(), 20);
    }
}
