//! Builds zip archives byte by byte for tests, with a knob for each field a crafted
//! archive corrupts. Defaults produce what Python's zipfile writes for the same input.

use crate::compress::tests::{bzip2, deflate};

/// One member. `content` is what a reader should get; the builder compresses it for
/// methods 8 and 12 unless `payload` gives the bytes to store instead.
#[derive(Clone, Debug)]
pub(crate) struct Member {
    pub name: Vec<u8>,
    pub content: Vec<u8>,
    pub method: u16,
    pub payload: Option<Vec<u8>>,
    pub flags: u16,
    /// Flags in the local header when they should differ from the central directory's.
    pub local_flags: Option<u16>,
    pub local_name: Option<Vec<u8>>,
    pub local_method: Option<u16>,
    /// CRC recorded in both headers instead of the real one.
    pub crc32: Option<u32>,
    /// Compressed size in the local header instead of the real one.
    pub local_compressed_size: Option<u32>,
    /// Size in the central directory instead of the real one.
    pub central_size: Option<u32>,
    /// Defer CRC and sizes to a data descriptor (flag bit 3), as PyTorch's writer does.
    pub descriptor: bool,
    /// Write 0xFFFFFFFF sizes plus a ZIP64 extra in the local header, as numpy does.
    pub zip64_local: bool,
    /// More local extra fields, e.g. PyTorch's alignment padding.
    pub local_extra: Vec<u8>,
    /// Local header offset recorded in the central directory instead of the real one.
    pub offset: Option<u32>,
    /// False: the central directory does not list it (a hidden member).
    pub listed: bool,
}

impl Member {
    pub fn stored(name: &str, content: &[u8]) -> Self {
        Member {
            name: name.as_bytes().to_vec(),
            content: content.to_vec(),
            method: 0,
            payload: None,
            flags: 0,
            local_flags: None,
            local_name: None,
            local_method: None,
            crc32: None,
            local_compressed_size: None,
            central_size: None,
            descriptor: false,
            zip64_local: false,
            local_extra: Vec::new(),
            offset: None,
            listed: true,
        }
    }

    pub fn deflated(name: &str, content: &[u8]) -> Self {
        Member {
            method: 8,
            ..Member::stored(name, content)
        }
    }

    fn payload(&self) -> Vec<u8> {
        match (&self.payload, self.method) {
            (Some(payload), _) => payload.clone(),
            (None, 8) => deflate(&self.content),
            (None, 12) => bzip2(&self.content),
            (None, _) => self.content.clone(),
        }
    }
}

pub(crate) fn crc32(data: &[u8]) -> u32 {
    let mut crc = flate2::Crc::new();
    crc.update(data);
    crc.sum()
}

fn u16le(out: &mut Vec<u8>, value: u16) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn u32le(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn u64le(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn len16(len: usize) -> u16 {
    u16::try_from(len).expect("test field fits 16 bits")
}

fn len32(len: usize) -> u32 {
    u32::try_from(len).expect("test field fits 32 bits")
}

#[derive(Clone, Debug, Default)]
pub(crate) struct ZipBuilder {
    pub members: Vec<Member>,
    /// Bytes before the archive (a pickle for a polyglot).
    pub prefix: Vec<u8>,
    /// Offsets count from the start of the file, as `zip -A` leaves them, instead of from
    /// the start of the archive, as `cat prefix archive.zip` does.
    pub absolute_offsets: bool,
    /// Add ZIP64 end records, as PyTorch's writer always does.
    pub zip64_end: bool,
    pub comment: Vec<u8>,
    /// Bytes after the end record.
    pub trailing: Vec<u8>,
    /// Entry count in the end record instead of the real one.
    pub declared_entries: Option<u16>,
}

impl ZipBuilder {
    pub fn new(members: Vec<Member>) -> Self {
        ZipBuilder {
            members,
            ..ZipBuilder::default()
        }
    }

    pub fn build(&self) -> Vec<u8> {
        let mut out = self.prefix.clone();
        let origin = if self.absolute_offsets { 0 } else { out.len() };
        let mut central = Vec::new();
        let mut listed = 0usize;
        for member in &self.members {
            let payload = member.payload();
            let crc = member.crc32.unwrap_or_else(|| crc32(&member.content));
            let header_at = out.len();
            let descriptor_flag = if member.descriptor { 8 } else { 0 };
            let local_name = member.local_name.as_ref().unwrap_or(&member.name);
            let mut extra = Vec::new();
            if member.zip64_local {
                u16le(&mut extra, 1);
                u16le(&mut extra, 16);
                u64le(&mut extra, member.content.len() as u64);
                u64le(&mut extra, payload.len() as u64);
            }
            extra.extend_from_slice(&member.local_extra);

            out.extend_from_slice(b"PK\x03\x04");
            u16le(&mut out, if member.zip64_local { 45 } else { 20 });
            u16le(
                &mut out,
                member.local_flags.unwrap_or(member.flags) | descriptor_flag,
            );
            u16le(&mut out, member.local_method.unwrap_or(member.method));
            u32le(&mut out, 0); // time, date
            let (local_crc, local_compressed, local_size) = if member.descriptor {
                (0, 0, 0)
            } else if member.zip64_local {
                (crc, u32::MAX, u32::MAX)
            } else {
                (
                    crc,
                    member.local_compressed_size.unwrap_or(len32(payload.len())),
                    len32(member.content.len()),
                )
            };
            u32le(&mut out, local_crc);
            u32le(&mut out, local_compressed);
            u32le(&mut out, local_size);
            u16le(&mut out, len16(local_name.len()));
            u16le(&mut out, len16(extra.len()));
            out.extend_from_slice(local_name);
            out.extend_from_slice(&extra);
            out.extend_from_slice(&payload);
            if member.descriptor {
                out.extend_from_slice(b"PK\x07\x08");
                u32le(&mut out, crc);
                u32le(&mut out, len32(payload.len()));
                u32le(&mut out, len32(member.content.len()));
            }
            if !member.listed {
                continue;
            }
            listed += 1;
            central.extend_from_slice(b"PK\x01\x02");
            u16le(&mut central, 0x031e);
            u16le(&mut central, 20);
            u16le(&mut central, member.flags | descriptor_flag);
            u16le(&mut central, member.method);
            u32le(&mut central, 0);
            u32le(&mut central, crc);
            u32le(&mut central, len32(payload.len()));
            u32le(
                &mut central,
                member.central_size.unwrap_or(len32(member.content.len())),
            );
            u16le(&mut central, len16(member.name.len()));
            u16le(&mut central, 0); // extra
            u16le(&mut central, 0); // comment
            u16le(&mut central, 0); // disk
            u16le(&mut central, 0); // internal attributes
            u32le(&mut central, 0o100644 << 16);
            u32le(
                &mut central,
                member.offset.unwrap_or(len32(header_at - origin)),
            );
            central.extend_from_slice(&member.name);
        }
        let directory_at = out.len() - origin;
        out.extend_from_slice(&central);
        let count = self.declared_entries.unwrap_or(len16(listed));
        if self.zip64_end {
            let record_at = out.len() - origin;
            out.extend_from_slice(b"PK\x06\x06");
            u64le(&mut out, 44);
            u16le(&mut out, 45);
            u16le(&mut out, 45);
            u32le(&mut out, 0);
            u32le(&mut out, 0);
            u64le(&mut out, u64::from(count));
            u64le(&mut out, u64::from(count));
            u64le(&mut out, central.len() as u64);
            u64le(&mut out, directory_at as u64);
            out.extend_from_slice(b"PK\x06\x07");
            u32le(&mut out, 0);
            u64le(&mut out, record_at as u64);
            u32le(&mut out, 1);
        }
        out.extend_from_slice(b"PK\x05\x06");
        u16le(&mut out, 0);
        u16le(&mut out, 0);
        u16le(&mut out, count);
        u16le(&mut out, count);
        u32le(&mut out, len32(central.len()));
        u32le(&mut out, len32(directory_at));
        u16le(&mut out, len16(self.comment.len()));
        out.extend_from_slice(&self.comment);
        out.extend_from_slice(&self.trailing);
        out
    }
}
