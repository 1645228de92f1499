//! A minimal read-only HDF5 reader: the root group's attributes and nothing else.
//!
//! Keras 2 `.h5` files keep the model architecture in the root attributes `model_config`
//! and `training_config`; weights live in datasets, which are never read. The reader
//! follows superblock versions 0–3 to the root object header (versions 1 and 2, with
//! continuation blocks), decodes attribute messages stored in the header (compact
//! storage) and, for attributes too large for a header message (over 64 KiB, which big
//! model configs are), the dense storage: attribute-info message → v2 B-tree name index →
//! fractal heap (managed, huge and tiny objects). String values may be fixed-length or
//! variable-length (global heap).
//!
//! Every address and length is checked against the file, every loop is bounded, and
//! anything unsupported (shared messages, filtered heaps) is an error, not a skip. Layout
//! per the HDF5 File Format Specification version 3.0.

use std::cell::OnceCell;

use rampart_core::rules::{LIMIT_EXCEEDED, MALFORMED};
use rampart_core::{Finding, Limits, Location};

const SIGNATURE: &[u8; 8] = b"\x89HDF\r\n\x1a\n";
/// Continuation blocks one object header may chain (cycles are caught separately).
const MAX_HEADER_BLOCKS: usize = 4096;
/// B-tree nodes one walk may visit; a node is at most a few KiB, so this bounds work even
/// when a crafted tree points many children at the same node.
const MAX_BTREE_NODES: usize = 65_536;
/// Deepest v2 B-tree or fractal-heap indirect-block nesting accepted.
const MAX_TREE_DEPTH: u16 = 16;

const MSG_CONTINUATION: u16 = 0x0010;
const MSG_ATTRIBUTE: u16 = 0x000C;
const MSG_ATTRIBUTE_INFO: u16 = 0x0015;
/// Message flag: the message is stored in the shared-message heap, not inline.
const MSG_FLAG_SHARED: u8 = 0x02;
/// v2 B-tree record type of the attribute name index.
const BTREE_ATTRIBUTE_NAMES: u8 = 8;
/// v2 B-tree record type of indirectly addressed, unfiltered huge heap objects.
const BTREE_HUGE_OBJECTS: u8 = 1;

/// Why the root attributes could not be read. Every variant names what was being read
/// and the absolute file offset.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Hdf5Error {
    #[error("no HDF5 signature at offset 0 or at any power of two from 512")]
    NoSignature,
    #[error("{what} at offset {offset} runs past the end of the file")]
    Truncated { what: &'static str, offset: u64 },
    #[error("{what} at offset {offset} is invalid: {detail}")]
    Invalid {
        what: &'static str,
        offset: u64,
        detail: String,
    },
    #[error("{what} at offset {offset} uses an unsupported HDF5 feature: {detail}")]
    Unsupported {
        what: &'static str,
        offset: u64,
        detail: String,
    },
    #[error("{what} at offset {offset} exceeds {limit}")]
    Limit {
        what: &'static str,
        offset: u64,
        limit: String,
    },
}

impl Hdf5Error {
    pub fn offset(&self) -> Option<u64> {
        match self {
            Hdf5Error::NoSignature => None,
            Hdf5Error::Truncated { offset, .. }
            | Hdf5Error::Invalid { offset, .. }
            | Hdf5Error::Unsupported { offset, .. }
            | Hdf5Error::Limit { offset, .. } => Some(*offset),
        }
    }

    /// The fail-closed finding: malformed or unsupported structure, or a limit.
    pub fn to_finding(&self, location: &Location) -> Finding {
        let rule = match self {
            Hdf5Error::Limit { .. } => &LIMIT_EXCEEDED,
            _ => &MALFORMED,
        };
        let at = match self.offset() {
            Some(offset) => location.at(offset),
            None => location.clone(),
        };
        Finding::new(
            rule,
            at,
            format!("HDF5 root group attributes could not be fully read: {self}"),
        )
    }
}

type Result<T> = std::result::Result<T, Hdf5Error>;

/// A requested root attribute and its text, or why its value could not be decoded.
#[derive(Debug)]
pub struct TextAttribute<'a> {
    pub name: &'static str,
    /// Offset of the attribute's value (or of its message when the value is unreadable).
    pub offset: u64,
    pub text: Result<&'a [u8]>,
}

/// What [`root_text_attributes`] found; `error` is set when the walk stopped early, in
/// which case `found` holds what was read before.
#[derive(Debug)]
pub struct RootAttributes<'a> {
    pub found: Vec<TextAttribute<'a>>,
    pub error: Option<Hdf5Error>,
}

/// The offset of the superblock: HDF5 looks at 0, 512, 1024, 2048, … (after a user block).
pub fn find_superblock(data: &[u8]) -> Option<usize> {
    let mut offset = 0usize;
    loop {
        if data.get(offset..offset.checked_add(SIGNATURE.len())?)? == SIGNATURE {
            return Some(offset);
        }
        offset = if offset == 0 {
            512
        } else {
            offset.checked_mul(2)?
        };
    }
}

/// Reads the root group's attributes named in `names` as strings. Attributes with other
/// names are parsed only as far as their names.
pub fn root_text_attributes<'a>(
    data: &'a [u8],
    names: &[&'static str],
    limits: &Limits,
) -> RootAttributes<'a> {
    let mut found = Vec::new();
    let error = read_root_attributes(data, names, limits, &mut found).err();
    RootAttributes { found, error }
}

fn read_root_attributes<'a>(
    data: &'a [u8],
    names: &[&'static str],
    limits: &Limits,
    found: &mut Vec<TextAttribute<'a>>,
) -> Result<()> {
    let (file, root) = File::open(data)?;
    let mut want = |attribute: Attribute<'a>| {
        if let Some(name) = names.iter().find(|n| n.as_bytes() == attribute.name) {
            let text = attribute.text(&file);
            let offset = match &text {
                Ok((_, offset)) => *offset,
                Err(_) => attribute.offset,
            };
            found.push(TextAttribute {
                name,
                offset,
                text: text.map(|(text, _)| text),
            });
        }
    };
    let mut budget = limits.max_metadata_entries;
    let mut messages = Vec::new();
    let walk = file.header_messages(root, &mut budget, &mut messages);
    for message in messages {
        if message.flags & MSG_FLAG_SHARED != 0
            && matches!(message.kind, MSG_ATTRIBUTE | MSG_ATTRIBUTE_INFO)
        {
            return Err(unsupported(
                "root attribute message",
                message.offset,
                "stored as a shared message",
            ));
        }
        match message.kind {
            MSG_ATTRIBUTE => want(Attribute::parse(message.data, message.offset)?),
            MSG_ATTRIBUTE_INFO => {
                for attribute in file.dense_attributes(message.data, message.offset, &mut budget)? {
                    want(attribute);
                }
            }
            _ => {}
        }
    }
    walk
}

fn truncated(what: &'static str, offset: u64) -> Hdf5Error {
    Hdf5Error::Truncated { what, offset }
}

fn invalid(what: &'static str, offset: u64, detail: impl Into<String>) -> Hdf5Error {
    Hdf5Error::Invalid {
        what,
        offset,
        detail: detail.into(),
    }
}

fn unsupported(what: &'static str, offset: u64, detail: impl Into<String>) -> Hdf5Error {
    Hdf5Error::Unsupported {
        what,
        offset,
        detail: detail.into(),
    }
}

/// Sequential little-endian reads over a slice that sits at `start` in the file.
#[derive(Clone)]
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
    start: u64,
    what: &'static str,
}

impl<'a> Cursor<'a> {
    fn new(data: &'a [u8], start: u64, what: &'static str) -> Self {
        Cursor {
            data,
            pos: 0,
            start,
            what,
        }
    }

    fn offset(&self) -> u64 {
        self.start.saturating_add(self.pos as u64)
    }

    fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let bytes = self
            .pos
            .checked_add(n)
            .and_then(|end| self.data.get(self.pos..end))
            .ok_or_else(|| truncated(self.what, self.offset()))?;
        self.pos += n;
        Ok(bytes)
    }

    fn skip(&mut self, n: usize) -> Result<()> {
        self.take(n).map(|_| ())
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16> {
        Ok(self.uint(2)? as u16)
    }

    fn u32(&mut self) -> Result<u32> {
        Ok(self.uint(4)? as u32)
    }

    /// An unsigned little-endian integer of `size` bytes (1..=8).
    fn uint(&mut self, size: usize) -> Result<u64> {
        Ok(le_uint(self.take(size)?))
    }

    fn signature(&mut self, expected: &[u8; 4]) -> Result<()> {
        let offset = self.offset();
        if self.take(4)? != expected {
            return Err(invalid(
                self.what,
                offset,
                format!("missing signature {}", String::from_utf8_lossy(expected)),
            ));
        }
        Ok(())
    }
}

/// Little-endian value of up to 8 bytes; longer inputs use their first 8.
fn le_uint(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .take(8)
        .rev()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
}

/// Bytes needed to encode values up to `n` (HDF5's `H5VM_limit_enc_size`).
fn encoded_size(n: u64) -> usize {
    (n.checked_ilog2().unwrap_or(0) / 8 + 1) as usize
}

fn round_up_8(n: usize) -> Option<usize> {
    n.checked_add(7).map(|n| n & !7)
}

/// One header message: its type, flags and payload (which starts at `offset`).
struct Message<'a> {
    kind: u16,
    flags: u8,
    data: &'a [u8],
    offset: u64,
}

struct File<'a> {
    data: &'a [u8],
    /// Absolute position that addresses are relative to (the superblock's position).
    base: u64,
    offset_size: usize,
    length_size: usize,
}

impl<'a> File<'a> {
    /// Parses the superblock; returns the file and the root object header address.
    fn open(data: &'a [u8]) -> Result<(Self, u64)> {
        let superblock = find_superblock(data).ok_or(Hdf5Error::NoSignature)?;
        let mut c = Cursor::new(&data[superblock..], superblock as u64, "superblock");
        c.skip(SIGNATURE.len())?;
        let version_offset = c.offset();
        let version = c.u8()?;
        let (offset_size, length_size) = match version {
            0 | 1 => {
                // Free-space, root symbol table entry and shared header versions, reserved.
                c.skip(4)?;
                let sizes = (c.u8()?, c.u8()?);
                // Reserved, group leaf and internal node K, consistency flags.
                c.skip(1 + 2 + 2 + 4)?;
                if version == 1 {
                    // Indexed storage internal node K, reserved.
                    c.skip(4)?;
                }
                sizes
            }
            2 | 3 => {
                let sizes = (c.u8()?, c.u8()?);
                c.skip(1)?; // consistency flags
                sizes
            }
            v => {
                return Err(unsupported(
                    "superblock",
                    version_offset,
                    format!("version {v}"),
                ));
            }
        };
        for size in [offset_size, length_size] {
            if !matches!(size, 2 | 4 | 8) {
                return Err(invalid(
                    "superblock",
                    version_offset,
                    format!("offset/length size {size}"),
                ));
            }
        }
        let file = File {
            data,
            // libhdf5 treats the superblock's position as the base address when the
            // stored one differs (files with a user block), and so do we.
            base: superblock as u64,
            offset_size: usize::from(offset_size),
            length_size: usize::from(length_size),
        };
        let root = match version {
            0 | 1 => {
                // Base, free-space info, end of file and driver info addresses, then the
                // root symbol table entry: link name offset, object header address.
                c.skip(4 * file.offset_size)?;
                c.skip(file.offset_size)?;
                c.uint(file.offset_size)?
            }
            _ => {
                // Base, superblock extension and end of file addresses.
                c.skip(3 * file.offset_size)?;
                c.uint(file.offset_size)?
            }
        };
        Ok((file, root))
    }

    fn is_undefined(&self, address: u64) -> bool {
        address == le_uint(&[0xff; 8][..self.offset_size])
    }

    /// A cursor at file address `address` (relative to the base) to the end of the file.
    fn cursor(&self, address: u64, what: &'static str) -> Result<Cursor<'a>> {
        if self.is_undefined(address) {
            return Err(invalid(what, address, "undefined address"));
        }
        let position = self
            .base
            .checked_add(address)
            .filter(|&p| p < self.data.len() as u64)
            .ok_or_else(|| truncated(what, address))?;
        // Checked against the length just above.
        let position = position as usize;
        Ok(Cursor::new(&self.data[position..], position as u64, what))
    }

    /// `len` bytes at file address `address`.
    fn bytes(&self, address: u64, len: u64, what: &'static str) -> Result<(&'a [u8], u64)> {
        let mut c = self.cursor(address, what)?;
        let offset = c.offset();
        let len = usize::try_from(len).map_err(|_| truncated(what, offset))?;
        Ok((c.take(len)?, offset))
    }

    /// Collects the messages of the object header at `address`, following continuation
    /// blocks. On error, `out` keeps what was collected before it.
    fn header_messages(
        &self,
        address: u64,
        budget: &mut u64,
        out: &mut Vec<Message<'a>>,
    ) -> Result<()> {
        let mut c = self.cursor(address, "root object header")?;
        let header_offset = c.offset();
        let mut blocks: Vec<(Cursor<'a>, bool)> = Vec::new();
        let version2 = c.data.starts_with(b"OHDR");
        let mut track_order = false;
        if version2 {
            c.skip(4)?;
            let version = c.u8()?;
            if version != 2 {
                return Err(unsupported(
                    "root object header",
                    header_offset,
                    format!("version {version}"),
                ));
            }
            let flags = c.u8()?;
            track_order = flags & 0x04 != 0;
            if flags & 0x20 != 0 {
                c.skip(16)?; // access, modification, change and birth times
            }
            if flags & 0x10 != 0 {
                c.skip(4)?; // attribute storage phase change values
            }
            let chunk_size = c.uint(1 << (flags & 0x03))?;
            let chunk_size =
                usize::try_from(chunk_size).map_err(|_| truncated(c.what, c.offset()))?;
            let start = c.offset();
            blocks.push((
                Cursor::new(c.take(chunk_size)?, start, "root object header"),
                true,
            ));
        } else {
            let version = c.u8()?;
            if version != 1 {
                return Err(invalid(
                    "root object header",
                    header_offset,
                    format!("version {version} (expected 1, or an OHDR signature)"),
                ));
            }
            c.skip(1 + 2 + 4)?; // reserved, message count, reference count
            let size = c.u32()? as usize;
            c.skip(4)?; // padding to an 8-byte boundary
            let start = c.offset();
            blocks.push((
                Cursor::new(c.take(size)?, start, "root object header"),
                false,
            ));
        }

        let mut visited = vec![address];
        while let Some((mut block, v2)) = blocks.pop() {
            let header_len = if v2 {
                4 + usize::from(track_order) * 2
            } else {
                8
            };
            while block.remaining() >= header_len {
                let offset = block.offset();
                let (kind, size, flags) = if v2 {
                    let kind = u16::from(block.u8()?);
                    let size = block.u16()?;
                    let flags = block.u8()?;
                    if track_order {
                        block.skip(2)?;
                    }
                    (kind, size, flags)
                } else {
                    let kind = block.u16()?;
                    let size = block.u16()?;
                    let flags = block.u8()?;
                    block.skip(3)?;
                    (kind, size, flags)
                };
                let data_offset = block.offset();
                let data = block.take(usize::from(size))?;
                *budget = budget.checked_sub(1).ok_or_else(|| Hdf5Error::Limit {
                    what: "root object header",
                    offset,
                    limit: "limits.max_metadata_entries messages".to_owned(),
                })?;
                if kind == MSG_CONTINUATION {
                    let mut m = Cursor::new(data, data_offset, "continuation message");
                    let next = m.uint(self.offset_size)?;
                    let length = m.uint(self.length_size)?;
                    if visited.contains(&next) {
                        return Err(invalid(
                            "continuation message",
                            data_offset,
                            "continuation blocks form a cycle",
                        ));
                    }
                    if visited.len() >= MAX_HEADER_BLOCKS {
                        return Err(Hdf5Error::Limit {
                            what: "root object header",
                            offset: data_offset,
                            limit: format!("{MAX_HEADER_BLOCKS} continuation blocks"),
                        });
                    }
                    visited.push(next);
                    let (bytes, start) = self.bytes(next, length, "object header continuation")?;
                    let mut next_block = Cursor::new(bytes, start, "object header continuation");
                    if v2 {
                        next_block.signature(b"OCHK")?;
                        // The block ends with a checksum.
                        let body = next_block
                            .remaining()
                            .checked_sub(4)
                            .ok_or_else(|| truncated("object header continuation", start))?;
                        let body_start = next_block.offset();
                        next_block =
                            Cursor::new(next_block.take(body)?, body_start, next_block.what);
                    }
                    // Messages keep file order: continuation blocks are read after the
                    // rest of the current block.
                    blocks.insert(0, (next_block, v2));
                } else {
                    out.push(Message {
                        kind,
                        flags,
                        data,
                        offset: data_offset,
                    });
                }
            }
        }
        Ok(())
    }

    /// The attributes of an attribute-info message's dense storage.
    fn dense_attributes(
        &self,
        info: &'a [u8],
        info_offset: u64,
        budget: &mut u64,
    ) -> Result<Vec<Attribute<'a>>> {
        let mut c = Cursor::new(info, info_offset, "attribute info message");
        let version = c.u8()?;
        if version != 0 {
            return Err(unsupported(
                "attribute info message",
                info_offset,
                format!("version {version}"),
            ));
        }
        let flags = c.u8()?;
        if flags & 0x01 != 0 {
            c.skip(2)?; // maximum creation index
        }
        let heap_address = c.uint(self.offset_size)?;
        let names_address = c.uint(self.offset_size)?;
        if self.is_undefined(heap_address) || self.is_undefined(names_address) {
            return Ok(Vec::new()); // attributes are all in the header
        }
        let heap = FractalHeap::open(self, heap_address)?;
        let records = self.btree_records(names_address, BTREE_ATTRIBUTE_NAMES, budget)?;
        let mut attributes = Vec::with_capacity(records.len());
        for (record, record_offset) in records {
            // Heap ID, message flags (1), creation order (4), name hash (4).
            let id_len = record.len().checked_sub(9).ok_or_else(|| {
                invalid("attribute name index", record_offset, "record too short")
            })?;
            let (id, rest) = record.split_at(id_len);
            if rest[0] & MSG_FLAG_SHARED != 0 {
                return Err(unsupported(
                    "dense attribute",
                    record_offset,
                    "stored as a shared message",
                ));
            }
            let (message, offset) = heap.object(id, record_offset, budget)?;
            attributes.push(Attribute::parse(message, offset)?);
        }
        Ok(attributes)
    }

    /// All records of the v2 B-tree at `address`, which must hold records of `kind`.
    fn btree_records(
        &self,
        address: u64,
        kind: u8,
        budget: &mut u64,
    ) -> Result<Vec<(&'a [u8], u64)>> {
        let mut c = self.cursor(address, "v2 B-tree header")?;
        let header_offset = c.offset();
        c.signature(b"BTHD")?;
        let version = c.u8()?;
        let record_kind = c.u8()?;
        if version != 0 || record_kind != kind {
            return Err(invalid(
                "v2 B-tree header",
                header_offset,
                format!("version {version}, record type {record_kind} (expected 0, {kind})"),
            ));
        }
        let node_size = c.u32()? as u64;
        let record_size = u64::from(c.u16()?);
        let depth = c.u16()?;
        c.skip(2)?; // split and merge percentages
        let root = c.uint(self.offset_size)?;
        let root_records = c.u16()?;
        // Node prefix: signature, version, type and checksum.
        const PREFIX: u64 = 10;
        if record_size == 0 || node_size < PREFIX + record_size || depth > MAX_TREE_DEPTH {
            return Err(invalid(
                "v2 B-tree header",
                header_offset,
                format!("node size {node_size}, record size {record_size}, depth {depth}"),
            ));
        }
        if self.is_undefined(root) || root_records == 0 {
            return Ok(Vec::new());
        }

        // Field widths of child pointers, per libhdf5's H5B2__hdr_init.
        let offset_size = self.offset_size as u64;
        let leaf_max = (node_size - PREFIX) / record_size;
        let count_size = encoded_size(leaf_max);
        let mut cumulative = vec![leaf_max];
        let mut cumulative_size = vec![0usize];
        for level in 1..=usize::from(depth) {
            let pointer = offset_size
                + count_size as u64
                + if level > 1 {
                    cumulative_size[level - 1] as u64
                } else {
                    0
                };
            let max = (node_size - PREFIX).saturating_sub(pointer) / (record_size + pointer);
            let total = (max + 1)
                .saturating_mul(cumulative[level - 1])
                .saturating_add(max);
            cumulative.push(total);
            cumulative_size.push(encoded_size(total));
        }

        let record_size = record_size as usize;
        let mut records = Vec::new();
        let mut stack = vec![(root, usize::from(root_records), usize::from(depth))];
        let mut nodes = 0usize;
        while let Some((node, count, level)) = stack.pop() {
            nodes += 1;
            // Nodes count against the entry budget too, so empty nodes cannot make
            // repeated walks free.
            *budget = budget.checked_sub(1).ok_or_else(|| Hdf5Error::Limit {
                what: "v2 B-tree",
                offset: header_offset,
                limit: "limits.max_metadata_entries nodes and records".to_owned(),
            })?;
            if nodes > MAX_BTREE_NODES {
                return Err(Hdf5Error::Limit {
                    what: "v2 B-tree",
                    offset: header_offset,
                    limit: format!("{MAX_BTREE_NODES} nodes"),
                });
            }
            let mut n = self.cursor(node, "v2 B-tree node")?;
            let node_offset = n.offset();
            n.signature(if level == 0 { b"BTLF" } else { b"BTIN" })?;
            n.skip(2)?; // version, type
            for _ in 0..count {
                *budget = budget.checked_sub(1).ok_or_else(|| Hdf5Error::Limit {
                    what: "v2 B-tree",
                    offset: node_offset,
                    limit: "limits.max_metadata_entries records".to_owned(),
                })?;
                let offset = n.offset();
                records.push((n.take(record_size)?, offset));
            }
            if level > 0 {
                for _ in 0..=count {
                    let child = n.uint(self.offset_size)?;
                    let child_count = n.uint(count_size)?;
                    if level > 1 {
                        n.skip(cumulative_size[level - 1])?;
                    }
                    let child_count = usize::try_from(child_count)
                        .ok()
                        .filter(|&c| c as u64 <= cumulative[0].max(1) * 2)
                        .ok_or_else(|| {
                            invalid(
                                "v2 B-tree node",
                                node_offset,
                                "child record count too large",
                            )
                        })?;
                    stack.push((child, child_count, level - 1));
                }
            }
        }
        Ok(records)
    }
}

/// An attribute message: name, datatype, dataspace and raw value.
struct Attribute<'a> {
    name: &'a [u8],
    datatype: Cursor<'a>,
    dataspace: Cursor<'a>,
    value: Cursor<'a>,
    offset: u64,
}

impl<'a> Attribute<'a> {
    fn parse(message: &'a [u8], offset: u64) -> Result<Self> {
        let what = "attribute message";
        let mut c = Cursor::new(message, offset, what);
        let version = c.u8()?;
        let flags = c.u8()?; // reserved in version 1
        let name_size = usize::from(c.u16()?);
        let datatype_size = usize::from(c.u16()?);
        let dataspace_size = usize::from(c.u16()?);
        let padded = |n: usize| -> Result<usize> {
            if version == 1 {
                round_up_8(n).ok_or_else(|| invalid(what, offset, "size overflow"))
            } else {
                Ok(n)
            }
        };
        match version {
            1 => {}
            2 | 3 => {
                if flags & 0x03 != 0 {
                    return Err(unsupported(what, offset, "shared datatype or dataspace"));
                }
                if version == 3 {
                    c.skip(1)?; // name character set
                }
            }
            v => return Err(unsupported(what, offset, format!("version {v}"))),
        }
        let name_field = c.take(padded(name_size)?)?;
        let name = &name_field[..name_size];
        let name = name.split(|&b| b == 0).next().unwrap_or(name);
        let part = |c: &mut Cursor<'a>, size: usize, what: &'static str| -> Result<Cursor<'a>> {
            let start = c.offset();
            let bytes = c.take(padded(size)?)?;
            Ok(Cursor::new(&bytes[..size], start, what))
        };
        let datatype = part(&mut c, datatype_size, "attribute datatype")?;
        let dataspace = part(&mut c, dataspace_size, "attribute dataspace")?;
        let value_offset = c.offset();
        let value = Cursor::new(c.take(c.remaining())?, value_offset, "attribute value");
        Ok(Attribute {
            name,
            datatype,
            dataspace,
            value,
            offset,
        })
    }

    /// How many elements the dataspace holds.
    fn elements(&self, length_size: usize) -> Result<u64> {
        let mut c = self.dataspace.clone();
        let offset = c.offset();
        let version = c.u8()?;
        let rank = c.u8()?;
        let _flags = c.u8()?;
        match version {
            1 => c.skip(5)?,
            2 => match c.u8()? {
                0 => return Ok(1),
                1 => {}
                2 => return Ok(0),
                t => return Err(invalid(c.what, offset, format!("dataspace type {t}"))),
            },
            v => {
                return Err(unsupported(
                    c.what,
                    offset,
                    format!("dataspace version {v}"),
                ));
            }
        }
        let mut count: u64 = 1;
        for _ in 0..rank {
            count = count
                .checked_mul(c.uint(length_size)?)
                .ok_or_else(|| invalid(c.what, offset, "element count overflows"))?;
        }
        Ok(count)
    }

    /// The attribute's value as one string, and where the string's bytes are.
    fn text(&self, file: &File<'a>) -> Result<(&'a [u8], u64)> {
        let elements = self.elements(file.length_size)?;
        if elements != 1 {
            return Err(unsupported(
                "attribute value",
                self.value.offset(),
                format!("{elements} elements instead of one string"),
            ));
        }
        let mut t = self.datatype.clone();
        let offset = t.offset();
        let class_and_version = t.u8()?;
        let bits = t.take(3)?;
        let size = t.u32()? as usize;
        let mut value = self.value.clone();
        match class_and_version & 0x0f {
            // Fixed-length string: padding type in the low nibble.
            3 => {
                let start = value.offset();
                let bytes = value.take(size)?;
                let text = match bits[0] & 0x0f {
                    0 => bytes.split(|&b| b == 0).next().unwrap_or(bytes),
                    1 => trim_end(bytes, 0),
                    _ => trim_end(bytes, b' '),
                };
                Ok((text, start))
            }
            // Variable-length: a string (type 1) stored in a global heap.
            9 => {
                if bits[0] & 0x0f != 1 {
                    return Err(unsupported(
                        "attribute datatype",
                        offset,
                        "variable-length sequence instead of string",
                    ));
                }
                let length = u64::from(value.u32()?);
                let collection = value.uint(file.offset_size)?;
                let index = value.u32()?;
                let (object, object_offset) = global_heap_object(file, collection, index)?;
                let length = usize::try_from(length)
                    .ok()
                    .filter(|&l| l <= object.len())
                    .ok_or_else(|| {
                        invalid(
                            "global heap object",
                            object_offset,
                            "string longer than its object",
                        )
                    })?;
                Ok((&object[..length], object_offset))
            }
            class => Err(unsupported(
                "attribute datatype",
                offset,
                format!("class {class}, not a string"),
            )),
        }
    }
}

fn trim_end(bytes: &[u8], pad: u8) -> &[u8] {
    let end = bytes.iter().rposition(|&b| b != pad).map_or(0, |i| i + 1);
    &bytes[..end]
}

/// Object `index` of the global heap collection at `address`.
fn global_heap_object<'a>(file: &File<'a>, address: u64, index: u32) -> Result<(&'a [u8], u64)> {
    let what = "global heap collection";
    let mut c = file.cursor(address, what)?;
    let start = c.offset();
    c.signature(b"GCOL")?;
    c.skip(4)?; // version, reserved
    let size = c.uint(file.length_size)?;
    let header = 8 + file.length_size;
    let body = usize::try_from(size)
        .ok()
        .and_then(|s| s.checked_sub(header))
        .ok_or_else(|| invalid(what, start, "collection smaller than its header"))?;
    let body_start = c.offset();
    let mut objects = Cursor::new(c.take(body)?, body_start, what);
    // Each object has a 16-byte-or-more header, so this loop ends within the collection.
    while objects.remaining() >= 8 + file.length_size {
        let object_index = objects.u16()?;
        objects.skip(2 + 4)?; // reference count, reserved
        let object_size = objects.uint(file.length_size)?;
        if object_index == 0 {
            break; // free space runs to the end of the collection
        }
        let object_offset = objects.offset();
        let object_size =
            usize::try_from(object_size).map_err(|_| truncated(what, object_offset))?;
        let data = objects.take(object_size)?;
        if u32::from(object_index) == index {
            return Ok((data, object_offset));
        }
        let padding = round_up_8(object_size).map_or(0, |p| p - object_size);
        objects.skip(padding.min(objects.remaining()))?;
    }
    Err(invalid(what, start, format!("has no object {index}")))
}

/// A fractal heap header: where dense attribute messages live.
struct FractalHeap<'f, 'a> {
    file: &'f File<'a>,
    address: u64,
    id_len: usize,
    filtered: bool,
    huge_btree: u64,
    width: u64,
    start_block: u64,
    root: u64,
    root_rows: u64,
    max_direct_rows: u64,
    offset_size: usize,
    length_size: usize,
    checksummed_blocks: bool,
    /// `(id, address, length)` of huge objects, read from their B-tree on first use.
    huge_index: OnceCell<Vec<(u64, u64, u64)>>,
}

impl<'f, 'a> FractalHeap<'f, 'a> {
    fn open(file: &'f File<'a>, address: u64) -> Result<Self> {
        let what = "fractal heap header";
        let mut c = file.cursor(address, what)?;
        let start = c.offset();
        c.signature(b"FRHP")?;
        let version = c.u8()?;
        if version != 0 {
            return Err(unsupported(what, start, format!("version {version}")));
        }
        let id_len = usize::from(c.u16()?);
        let filter_len = c.u16()?;
        let flags = c.u8()?;
        let max_managed = u64::from(c.u32()?);
        c.skip(file.length_size)?; // next huge object ID
        let huge_btree = c.uint(file.offset_size)?;
        c.skip(file.length_size)?; // free space in managed blocks
        c.skip(file.offset_size)?; // free-space manager address
        // Managed space, allocated managed space, allocation iterator offset, managed
        // object count, huge size and count, tiny size and count.
        c.skip(8 * file.length_size)?;
        let width = u64::from(c.u16()?);
        let start_block = c.uint(file.length_size)?;
        let max_direct = c.uint(file.length_size)?;
        let max_heap_bits = c.u16()?;
        c.skip(2)?; // starting rows in the root indirect block
        let root = c.uint(file.offset_size)?;
        let root_rows = u64::from(c.u16()?);
        let sane = id_len > 1
            && width.is_power_of_two()
            && start_block.is_power_of_two()
            && max_direct.is_power_of_two()
            && max_direct >= start_block
            && (1..=64).contains(&max_heap_bits)
            && root_rows <= 64;
        if !sane {
            return Err(invalid(
                what,
                start,
                format!(
                    "ID length {id_len}, table width {width}, block sizes {start_block}..{max_direct}, \
                     heap size bits {max_heap_bits}, root rows {root_rows}"
                ),
            ));
        }
        let max_direct_rows = u64::from(max_direct.ilog2()) - u64::from(start_block.ilog2()) + 2;
        let offset_size = usize::from(max_heap_bits).div_ceil(8);
        let length_size = (max_direct.ilog2() as usize)
            .div_ceil(8)
            .min(encoded_size(max_managed));
        Ok(FractalHeap {
            file,
            address,
            id_len,
            filtered: filter_len > 0,
            huge_btree,
            width,
            start_block,
            root,
            root_rows,
            max_direct_rows,
            offset_size,
            length_size,
            checksummed_blocks: flags & 0x02 != 0,
            huge_index: OnceCell::new(),
        })
    }

    /// The bytes of the object a heap ID names, and their file offset.
    fn object(&self, id: &'a [u8], id_offset: u64, budget: &mut u64) -> Result<(&'a [u8], u64)> {
        let what = "fractal heap ID";
        if id.len() != self.id_len {
            return Err(invalid(
                what,
                id_offset,
                format!("length {} (heap uses {})", id.len(), self.id_len),
            ));
        }
        let flags = id[0];
        if flags >> 6 != 0 {
            return Err(unsupported(
                what,
                id_offset,
                format!("ID version {}", flags >> 6),
            ));
        }
        let mut c = Cursor::new(&id[1..], id_offset + 1, what);
        match (flags >> 4) & 0x03 {
            0 => {
                let offset = c.uint(self.offset_size)?;
                let length = c.uint(self.length_size)?;
                self.managed_object(offset, length, id_offset)
            }
            1 => self.huge_object(&mut c, id_offset, budget),
            2 => {
                let length = if self.id_len <= 18 {
                    usize::from(flags & 0x0f) + 1
                } else {
                    ((usize::from(flags & 0x0f) << 8) | usize::from(c.u8()?)) + 1
                };
                let offset = c.offset();
                Ok((c.take(length)?, offset))
            }
            kind => Err(invalid(what, id_offset, format!("object type {kind}"))),
        }
    }

    fn huge_object(
        &self,
        id: &mut Cursor<'a>,
        id_offset: u64,
        budget: &mut u64,
    ) -> Result<(&'a [u8], u64)> {
        if self.filtered {
            return Err(unsupported(
                "fractal heap",
                id_offset,
                "filtered (compressed) huge objects",
            ));
        }
        // Large enough IDs hold the object's address and length themselves.
        let direct = self.id_len > self.file.offset_size + self.file.length_size;
        if direct {
            let address = id.uint(self.file.offset_size)?;
            let length = id.uint(self.file.length_size)?;
            return self.file.bytes(address, length, "huge heap object");
        }
        let key = id.uint((self.id_len - 1).min(8))?;
        if self.huge_index.get().is_none() {
            let mut index = Vec::new();
            for (record, offset) in
                self.file
                    .btree_records(self.huge_btree, BTREE_HUGE_OBJECTS, budget)?
            {
                let mut r = Cursor::new(record, offset, "huge object record");
                let address = r.uint(self.file.offset_size)?;
                let length = r.uint(self.file.length_size)?;
                index.push((r.uint(self.file.length_size)?, address, length));
            }
            // Read once per heap: every huge attribute looks itself up here.
            let _ = self.huge_index.set(index);
        }
        let found = self
            .huge_index
            .get()
            .and_then(|index| index.iter().find(|(k, _, _)| *k == key));
        if let Some(&(_, address, length)) = found {
            return self.file.bytes(address, length, "huge heap object");
        }
        Err(invalid(
            "fractal heap ID",
            id_offset,
            format!("huge object {key} not in its index"),
        ))
    }

    /// A managed object at heap offset `offset`: find the direct block holding it through
    /// the doubling table of (nested) indirect blocks.
    fn managed_object(&self, offset: u64, length: u64, id_offset: u64) -> Result<(&'a [u8], u64)> {
        if self.filtered {
            return Err(unsupported(
                "fractal heap",
                id_offset,
                "filtered (compressed) blocks",
            ));
        }
        let mut block = self.root;
        let mut block_offset = 0u64;
        let mut rows = self.root_rows;
        let mut block_size = self.start_block;
        for _ in 0..MAX_TREE_DEPTH {
            if rows == 0 {
                return self.direct_object(block, block_offset, block_size, offset, length);
            }
            let relative = offset
                .checked_sub(block_offset)
                .ok_or_else(|| invalid("fractal heap ID", id_offset, "offset outside its block"))?;
            let (row, column, start, size) = self.locate(relative, id_offset)?;
            if row >= rows {
                return Err(invalid(
                    "fractal heap ID",
                    id_offset,
                    "offset beyond the heap",
                ));
            }
            // Entries of direct rows are addresses; filtered heaps (rejected above) would
            // add sizes and masks.
            let entry = row * self.width + column;
            let mut c = self.file.cursor(block, "fractal heap indirect block")?;
            c.signature(b"FHIB")?;
            c.skip(1 + self.file.offset_size + self.offset_size)?;
            let skip = usize::try_from(entry)
                .ok()
                .and_then(|e| e.checked_mul(self.file.offset_size))
                .ok_or_else(|| truncated("fractal heap indirect block", c.offset()))?;
            c.skip(skip)?;
            let child = c.uint(self.file.offset_size)?;
            block = child;
            block_offset = block_offset
                .checked_add(start)
                .ok_or_else(|| invalid("fractal heap ID", id_offset, "offset beyond the heap"))?;
            block_size = size;
            rows = if row < self.max_direct_rows {
                0
            } else {
                // A child indirect block spans `size` bytes of the heap.
                let first_row_bits =
                    u64::from(self.start_block.ilog2()) + u64::from(self.width.ilog2());
                (u64::from(size.ilog2()) + 1).saturating_sub(first_row_bits)
            };
        }
        Err(Hdf5Error::Limit {
            what: "fractal heap",
            offset: id_offset,
            limit: format!("{MAX_TREE_DEPTH} levels of indirect blocks"),
        })
    }

    /// Row, column, relative start and size of the block holding heap offset `relative`.
    fn locate(&self, relative: u64, id_offset: u64) -> Result<(u64, u64, u64, u64)> {
        let too_far = || invalid("fractal heap ID", id_offset, "offset beyond the heap");
        let row_span = self
            .width
            .checked_mul(self.start_block)
            .ok_or_else(too_far)?;
        if relative < row_span {
            let column = relative / self.start_block;
            return Ok((0, column, column * self.start_block, self.start_block));
        }
        // Row r >= 1 starts at width * start * 2^(r-1); all sizes are powers of two, so
        // these shifts are exact.
        let row = u64::from((relative / row_span).ilog2()) + 1;
        let row_start = row_span.checked_shl((row - 1) as u32).ok_or_else(too_far)?;
        let size = self
            .start_block
            .checked_shl((row - 1) as u32)
            .ok_or_else(too_far)?;
        let within_row = relative.checked_sub(row_start).ok_or_else(too_far)?;
        let column = within_row / size;
        Ok((row, column, row_start + column * size, size))
    }

    fn direct_object(
        &self,
        block: u64,
        block_offset: u64,
        block_size: u64,
        offset: u64,
        length: u64,
    ) -> Result<(&'a [u8], u64)> {
        let what = "fractal heap direct block";
        let mut c = self.file.cursor(block, what)?;
        let start = c.offset();
        c.signature(b"FHDB")?;
        c.skip(1)?; // version
        if c.uint(self.file.offset_size)? != self.address {
            return Err(invalid(what, start, "belongs to another heap"));
        }
        c.skip(self.offset_size)?;
        if self.checksummed_blocks {
            c.skip(4)?;
        }
        let header = c.offset() - start;
        let outside = || invalid(what, start, "object outside the block");
        let within = offset.checked_sub(block_offset).ok_or_else(outside)?;
        let end = within.checked_add(length);
        if within < header || end.is_none_or(|e| e > block_size) {
            return Err(outside());
        }
        let address = block.checked_add(within).ok_or_else(outside)?;
        self.file.bytes(address, length, "heap object")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::fixture;
    use proptest::prelude::*;

    fn read(data: &[u8]) -> RootAttributes<'_> {
        root_text_attributes(
            data,
            &["model_config", "keras_version", "training_config"],
            &Limits::default(),
        )
    }

    fn texts<'a>(attributes: &RootAttributes<'a>) -> Vec<(&'static str, &'a [u8])> {
        attributes
            .found
            .iter()
            .map(|a| (a.name, *a.text.as_ref().unwrap()))
            .collect()
    }

    #[test]
    fn finds_the_superblock_after_a_user_block() {
        assert_eq!(
            find_superblock(&fixture("keras", "benign_keras2.h5")),
            Some(0)
        );
        assert_eq!(
            find_superblock(&fixture("keras", "benign_userblock.h5")),
            Some(512)
        );
        assert_eq!(find_superblock(b"\x89HDF\r\n\x1a"), None);
        let mut late = vec![0u8; 4096];
        late.extend_from_slice(SIGNATURE);
        assert_eq!(find_superblock(&late), Some(4096));
        late[2048..2056].copy_from_slice(SIGNATURE);
        assert_eq!(find_superblock(&late), Some(2048));
    }

    #[test]
    fn reads_fixed_and_variable_length_string_attributes() {
        for name in [
            "benign_keras2.h5",
            "benign_keras2_str_attrs.h5",
            "benign_keras2_latest.h5",
            "benign_userblock.h5",
        ] {
            let data = fixture("keras", name);
            let attributes = read(&data);
            assert_eq!(attributes.error, None, "{name}");
            let found = texts(&attributes);
            let names: Vec<_> = found.iter().map(|(n, _)| *n).collect();
            assert_eq!(
                names,
                ["keras_version", "model_config", "training_config"],
                "{name}"
            );
            assert_eq!(found[0].1, b"2.15.0", "{name}");
            let config: serde_json::Value = serde_json::from_slice(found[1].1).unwrap();
            assert_eq!(config["class_name"], "Sequential", "{name}");
            assert!(
                attributes
                    .found
                    .iter()
                    .all(|a| a.offset > 0 && (a.offset as usize) < data.len())
            );
        }
    }

    #[test]
    fn reads_dense_attribute_storage() {
        let data = fixture("keras", "lambda_dense_attributes.h5");
        let attributes = read(&data);
        assert_eq!(attributes.error, None);
        let found = texts(&attributes);
        let config = found.iter().find(|(n, _)| *n == "model_config").unwrap().1;
        assert!(config.len() > 65_536);
        let config: serde_json::Value = serde_json::from_slice(config).unwrap();
        assert_eq!(config["config"]["layers"].as_array().unwrap().len(), 261);
        assert!(
            found
                .iter()
                .any(|(n, t)| *n == "keras_version" && *t == b"2.15.0")
        );
    }

    #[test]
    fn reads_multi_level_name_index_and_indirect_heap_blocks() {
        let data = fixture("keras", "many_attributes.h5");
        let mut names: Vec<&'static str> = vec!["model_config"];
        let wanted: Vec<String> = (0..1500).map(|i| format!("a{i:04}")).collect();
        names.extend(wanted.iter().map(|n| &*n.clone().leak()));
        let attributes = root_text_attributes(&data, &names, &Limits::default());
        assert_eq!(attributes.error, None);
        assert_eq!(attributes.found.len(), 1501);
        for attribute in &attributes.found {
            let text = attribute.text.as_ref().unwrap();
            if let Some(i) = attribute.name.strip_prefix('a') {
                let i: usize = i.parse().unwrap();
                assert_eq!(*text, format!("v{i}").as_bytes());
            } else {
                assert!(text.starts_with(b"{\"class_name\": \"Sequential\""));
            }
        }
    }

    #[test]
    fn truncated_file_is_an_error() {
        let data = fixture("keras", "truncated.h5");
        let attributes = read(&data);
        assert!(
            matches!(attributes.error, Some(Hdf5Error::Truncated { .. })),
            "{:?}",
            attributes.error
        );
        assert_eq!(read(b"nothing").error, Some(Hdf5Error::NoSignature));
    }

    #[test]
    fn hand_built_v0_file_with_a_continuation_block() {
        // Superblock v0 (8-byte offsets/lengths), a v1 root object header whose only
        // message is a continuation to a block holding a fixed-length string attribute.
        let mut file = Vec::new();
        file.extend_from_slice(SIGNATURE);
        file.extend_from_slice(&[0, 0, 0, 0, 0, 8, 8, 0, 4, 0, 16, 0, 0, 0, 0, 0]);
        let header_address = 200u64;
        for address in [0u64, u64::MAX, 1000, u64::MAX, 0, header_address] {
            file.extend_from_slice(&address.to_le_bytes());
        }
        file.resize(header_address as usize, 0);
        // v1 header: version 1, reserved, 2 messages, refcount 1, header size 24, padding.
        file.extend_from_slice(&[1, 0, 2, 0, 1, 0, 0, 0, 24, 0, 0, 0, 0, 0, 0, 0]);
        let block_address = 300u64;
        let text = b"{\"class_name\": \"Dense\"}";
        let mut attribute = vec![1, 0];
        attribute.extend_from_slice(&13u16.to_le_bytes()); // "model_config\0"
        attribute.extend_from_slice(&8u16.to_le_bytes());
        attribute.extend_from_slice(&8u16.to_le_bytes());
        attribute.extend_from_slice(b"model_config\0\0\0\0");
        attribute.extend_from_slice(&[0x13, 0x01, 0, 0]); // string v1, null-padded
        attribute.extend_from_slice(&(text.len() as u32).to_le_bytes());
        attribute.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]); // dataspace v1, scalar
        attribute.extend_from_slice(text);
        attribute.resize(round_up_8(attribute.len()).unwrap(), 0);
        // Continuation message: type 0x10, size 16, flags, reserved.
        file.extend_from_slice(&[0x10, 0, 16, 0, 0, 0, 0, 0]);
        file.extend_from_slice(&block_address.to_le_bytes());
        file.extend_from_slice(&((attribute.len() + 8) as u64).to_le_bytes());
        file.resize(block_address as usize, 0);
        file.extend_from_slice(&[0x0c, 0]);
        file.extend_from_slice(&(attribute.len() as u16).to_le_bytes());
        file.extend_from_slice(&[0; 4]);
        file.extend_from_slice(&attribute);

        let attributes = read(&file);
        assert_eq!(attributes.error, None);
        assert_eq!(texts(&attributes), [("model_config", &text[..])]);

        // A continuation pointing back at itself is a cycle, not an endless loop.
        let mut cyclic = file.clone();
        let at = header_address as usize + 16 + 8;
        cyclic[at..at + 8].copy_from_slice(&header_address.to_le_bytes());
        assert!(matches!(
            read(&cyclic).error,
            Some(Hdf5Error::Invalid { .. })
        ));

        // A message size past the block end.
        let mut bad = file.clone();
        bad[block_address as usize + 2] = 0xff;
        assert!(matches!(
            read(&bad).error,
            Some(Hdf5Error::Truncated { .. })
        ));

        // A value that is not a string is reported per attribute.
        let mut integer = file.clone();
        let class_at = block_address as usize + 8 + 8 + 16;
        integer[class_at] = 0x10;
        let attributes = read(&integer);
        assert!(matches!(
            attributes.found[0].text,
            Err(Hdf5Error::Unsupported { .. })
        ));
    }

    #[test]
    fn limits_bound_the_walk() {
        let data = fixture("keras", "lambda_dense_attributes.h5");
        let limits = Limits {
            max_metadata_entries: 3,
            ..Limits::default()
        };
        let attributes = root_text_attributes(&data, &["model_config"], &limits);
        assert!(matches!(attributes.error, Some(Hdf5Error::Limit { .. })));
    }

    #[test]
    fn encoded_sizes_match_libhdf5() {
        assert_eq!(encoded_size(0), 1);
        assert_eq!(encoded_size(255), 1);
        assert_eq!(encoded_size(256), 2);
        assert_eq!(encoded_size(4096), 2);
        assert_eq!(encoded_size(u64::MAX), 8);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn arbitrary_bytes_after_a_signature_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..1024)) {
            let mut data = SIGNATURE.to_vec();
            data.extend(tail);
            let _ = read(&data);
        }

        #[test]
        fn mutated_files_never_panic(
            which in 0usize..3,
            flips in proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>()), 1..16),
            cut in any::<proptest::sample::Index>(),
        ) {
            let name = ["benign_keras2.h5", "benign_keras2_latest.h5", "lambda_dense_attributes.h5"][which];
            let mut data = fixture("keras", name);
            for (index, byte) in flips {
                // Aim at metadata: the first 4 KiB and the dense heap region alike.
                let i = index.index(data.len());
                data[i] = byte;
            }
            let len = cut.index(data.len() + 1).max(data.len() / 2);
            let _ = read(&data[..len]);
        }
    }
}
