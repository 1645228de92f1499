//! Compressed streams as model files use them: gzip and bzip2 wrappers, joblib's zlib,
//! lzma, xz and lz4 compression, and the deflate/bzip2/lzma/xz members of zip archives.
//!
//! Every decompression is bounded three ways: by `limits.max_decompressed_bytes`, by the
//! file's [`Budget`], and by `limits.max_compression_ratio` once 1 MiB has come out. The
//! ratio is measured against the compressed bytes actually consumed, so a bomb is stopped
//! early instead of after it has filled the cap.

use std::cell::Cell;
use std::io::{self, BufRead, Read};

use flate2::{Crc, Decompress, FlushDecompress, Status};
use rampart_core::rules::{DECOMPRESSION_BOMB, LIMIT_EXCEEDED, MALFORMED};
use rampart_core::{Finding, Limits, Location};

use crate::Budget;

/// A compression format a whole file (or a tar/zip member) may be wrapped in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Codec {
    Gzip,
    Bzip2,
    Xz,
    /// The legacy `.lzma` ("LZMA alone") format; joblib's `lzma` compression uses it.
    Lzma,
    /// A zlib stream; joblib's `zlib` compression (files starting with 0x78).
    Zlib,
    Lz4Frame,
}

impl Codec {
    pub fn name(self) -> &'static str {
        match self {
            Codec::Gzip => "gzip",
            Codec::Bzip2 => "bzip2",
            Codec::Xz => "xz",
            Codec::Lzma => "lzma",
            Codec::Zlib => "zlib",
            Codec::Lz4Frame => "lz4",
        }
    }
}

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b, 0x08];
const XZ_MAGIC: &[u8] = &[0xfd, b'7', b'z', b'X', b'Z', 0x00];
const LZ4_FRAME_MAGIC: &[u8] = &[0x04, 0x22, 0x4d, 0x18];
const BZIP2_BLOCK_MAGIC: &[u8] = &[0x31, 0x41, 0x59, 0x26, 0x53, 0x59];
const BZIP2_END_MAGIC: &[u8] = &[0x17, 0x72, 0x45, 0x38, 0x50, 0x90];

/// Recognises a compressed stream by its first bytes. Gzip, bzip2, xz and lz4 have
/// magics; zlib is recognised by its two-byte header check (deflate, window ≤ 32 KiB, no
/// preset dictionary, `(CMF*256+FLG) % 31 == 0`) and `.lzma` by the header checks
/// liblzma applies when it auto-detects the format. Those two are weak signals: confirm
/// with [`peek`] before treating a file as compressed.
pub fn sniff(prefix: &[u8]) -> Option<Codec> {
    if prefix.starts_with(GZIP_MAGIC) {
        Some(Codec::Gzip)
    } else if looks_like_bzip2(prefix) {
        Some(Codec::Bzip2)
    } else if prefix.starts_with(XZ_MAGIC) {
        Some(Codec::Xz)
    } else if prefix.starts_with(LZ4_FRAME_MAGIC) {
        Some(Codec::Lz4Frame)
    } else if looks_like_zlib(prefix) {
        Some(Codec::Zlib)
    } else if looks_like_lzma_alone(prefix) {
        Some(Codec::Lzma)
    } else {
        None
    }
}

fn looks_like_bzip2(prefix: &[u8]) -> bool {
    let level_ok = prefix.starts_with(b"BZh") && prefix.get(3).is_some_and(u8::is_ascii_digit);
    let block_ok = prefix
        .get(4..10)
        .is_none_or(|magic| magic == BZIP2_BLOCK_MAGIC || magic == BZIP2_END_MAGIC);
    level_ok && prefix.get(3) != Some(&b'0') && block_ok
}

fn looks_like_zlib(prefix: &[u8]) -> bool {
    let [cmf, flg, ..] = *prefix else {
        return false;
    };
    let deflate = cmf & 0x0f == 8 && cmf >> 4 <= 7;
    let preset_dictionary = flg & 0x20 != 0;
    deflate && !preset_dictionary && (u16::from(cmf) * 256 + u16::from(flg)) % 31 == 0
}

fn looks_like_lzma_alone(prefix: &[u8]) -> bool {
    let (Some(&props), Some(dict), Some(size)) = (
        prefix.first(),
        prefix.get(1..5).and_then(|b| <[u8; 4]>::try_from(b).ok()),
        prefix.get(5..13).and_then(|b| <[u8; 8]>::try_from(b).ok()),
    ) else {
        return false;
    };
    if props >= 9 * 5 * 5 {
        return false;
    }
    let (lc, lp) = (props % 9, props / 9 % 5);
    let dict = u32::from_le_bytes(dict);
    // liblzma accepts 2^n and 2^n + 2^(n-1) dictionaries, and sizes below 256 GiB.
    let high = dict & dict.wrapping_sub(1);
    let dict_ok = dict == u32::MAX
        || dict.is_power_of_two()
        || (high.is_power_of_two() && dict - high == high >> 1);
    let size = u64::from_le_bytes(size);
    lc + lp <= 4 && dict_ok && (size == u64::MAX || size < 1 << 38)
}

/// The first up to `n` decompressed bytes, for format sniffing. Reads only as much input
/// as it needs, so pass the whole input: bzip2 and lz4 emit nothing until a whole block
/// (up to 900 KB / 4 MiB compressed) is there, so a short sniffing prefix may give `None`
/// even though the file is valid. `None` also when `data` does not start a valid stream.
/// A stream that breaks after producing output yields that output.
pub fn peek(codec: Codec, data: &[u8], n: usize) -> Option<Vec<u8>> {
    peek_format(Format::Codec(codec), data, n).ok()
}

/// Decompresses the whole stream (all members of a multi-member gzip, bzip2 or xz file,
/// all frames of an lz4 file).
///
/// Returns `None` with a `scan/decompression-bomb` finding when the output exceeds
/// `limits.max_compression_ratio` times the input consumed (checked from 1 MiB of output
/// on), and with `scan/limit-exceeded` when it would exceed `limits.max_decompressed_bytes`
/// or what is left of the `budget`. A corrupt or truncated stream gives a `scan/malformed`
/// finding and returns what was decompressed before the damage, because that is exactly
/// what a streaming loader (`joblib.load`, `pickle.load` on a gzip file) would already have
/// acted on; the finding says how many bytes that was. `None` when nothing came out.
pub fn decompress(
    codec: Codec,
    data: &[u8],
    budget: &mut Budget,
    location: &Location,
    limits: &Limits,
    out: &mut Vec<Finding>,
) -> Option<Vec<u8>> {
    let what = format!("{} stream", codec.name());
    let decoded = decompress_reported(
        Format::Codec(codec),
        data,
        &what,
        budget,
        location,
        limits,
        out,
    )?;
    (decoded.complete || !decoded.content.is_empty()).then_some(decoded.content)
}

/// Every stream format this crate decodes: the public codecs plus the raw forms zip
/// members use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    Codec(Codec),
    /// Deflate without zlib or gzip framing (zip method 8).
    RawDeflate,
    /// One bzip2 stream (zip method 12): bytes after its end are not another stream.
    Bzip2Member,
    /// One xz stream (zip method 95).
    XzMember,
    /// LZMA1 without the `.lzma` header (zip method 14). `size` is `None` when the stream
    /// ends with an end marker instead.
    RawLzma {
        props: u8,
        dict_size: u32,
        size: Option<u64>,
    },
}

/// Output of a decompression that was neither a bomb nor over a cap.
pub(crate) struct Decoded {
    pub content: Vec<u8>,
    /// False when the stream was corrupt or truncated (a `scan/malformed` finding was
    /// pushed) and `content` is only what came out before.
    pub complete: bool,
}

/// Decompresses within the limits and the budget, reports what went wrong at `location`,
/// and spends what was produced from the budget. `what` names the stream in messages.
pub(crate) fn decompress_reported(
    format: Format,
    data: &[u8],
    what: &str,
    budget: &mut Budget,
    location: &Location,
    limits: &Limits,
    out: &mut Vec<Finding>,
) -> Option<Decoded> {
    let cap = limits.max_decompressed_bytes.min(budget.remaining());
    let drained = drain(format, data, cap, limits.max_compression_ratio);
    let produced = drained.content.len() as u64;
    budget.spend(produced);
    match drained.end {
        End::Complete => Some(Decoded {
            content: drained.content,
            complete: true,
        }),
        End::Corrupt(error) => {
            let kept = if produced == 0 {
                "nothing could be decompressed".to_owned()
            } else {
                format!("the {produced} bytes decompressed before that were scanned")
            };
            out.push(
                Finding::new(
                    &MALFORMED,
                    location.clone(),
                    format!(
                        "{what} is corrupt or truncated after {} compressed bytes ({error}); \
                         {kept}",
                        drained.consumed
                    ),
                )
                .with_evidence(error.to_string()),
            );
            Some(Decoded {
                content: drained.content,
                complete: false,
            })
        }
        End::OverCap => {
            let limit = if cap < limits.max_decompressed_bytes {
                format!(
                    "the {} bytes left of this file's decompression budget \
                     (max_total_decompressed_bytes)",
                    cap
                )
            } else {
                format!("max_decompressed_bytes ({cap})")
            };
            out.push(Finding::new(
                &LIMIT_EXCEEDED,
                location.clone(),
                format!(
                    "{what} decompresses to more than {limit}; decompression stopped and its \
                     content was not scanned"
                ),
            ));
            None
        }
        End::Bomb => {
            out.push(
                Finding::new(
                    &DECOMPRESSION_BOMB,
                    location.clone(),
                    format!(
                        "{what} expanded {produced} bytes out of {} compressed bytes, more than \
                         max_compression_ratio ({}:1); decompression stopped and its content \
                         was not scanned",
                        drained.consumed, limits.max_compression_ratio
                    ),
                )
                .with_evidence(format!(
                    "ratio > {}:1 after {produced} bytes",
                    limits.max_compression_ratio
                )),
            );
            None
        }
    }
}

/// The first up to `n` decompressed bytes. Output produced before an error counts; the
/// error is returned only when nothing came out.
pub(crate) fn peek_format(format: Format, data: &[u8], n: usize) -> io::Result<Vec<u8>> {
    let consumed = Cell::new(0);
    let reader = open(format, data, &consumed)?;
    let mut content = Vec::new();
    match reader.take(n as u64).read_to_end(&mut content) {
        Err(error) if content.is_empty() => Err(error),
        _ => Ok(content),
    }
}

/// Whether the first `n` bytes (or the whole stream, if shorter) decode without error.
pub(crate) fn decodes_cleanly(format: Format, data: &[u8], n: u64) -> bool {
    let consumed = Cell::new(0);
    open(format, data, &consumed)
        .is_ok_and(|reader| reader.take(n).read_to_end(&mut Vec::new()).is_ok())
}

/// Ratios are only judged from this much output on: tiny streams have wild ratios.
const BOMB_MIN_OUTPUT: u64 = 1 << 20;
const CHUNK: usize = 64 * 1024;

enum End {
    Complete,
    Corrupt(io::Error),
    OverCap,
    Bomb,
}

struct Drained {
    content: Vec<u8>,
    end: End,
    /// Compressed bytes consumed (for decoders that read ahead, handed to them).
    consumed: u64,
}

fn drain(format: Format, data: &[u8], cap: u64, max_ratio: u64) -> Drained {
    let consumed = Cell::new(0);
    let mut content = Vec::new();
    let end = match open(format, data, &consumed) {
        Ok(mut reader) => fill(&mut reader, &mut content, &consumed, cap, max_ratio),
        Err(error) => End::Corrupt(error),
    };
    Drained {
        content,
        end,
        consumed: consumed.get(),
    }
}

fn fill(
    reader: &mut dyn Read,
    content: &mut Vec<u8>,
    consumed: &Cell<u64>,
    cap: u64,
    max_ratio: u64,
) -> End {
    let mut chunk = vec![0u8; CHUNK];
    loop {
        // One byte more than the cap allows tells "exactly at the cap" from "over it".
        let room = cap.saturating_sub(content.len() as u64).saturating_add(1);
        let want = usize::try_from(room).map_or(CHUNK, |room| room.min(CHUNK));
        let Some(buf) = chunk.get_mut(..want) else {
            return End::Corrupt(io::Error::other("read buffer out of range"));
        };
        match reader.read(buf) {
            Ok(0) => return End::Complete,
            Ok(n) => {
                let Some(fresh) = buf.get(..n) else {
                    return End::Corrupt(io::Error::other("decoder reported more than it wrote"));
                };
                content.extend_from_slice(fresh);
                let produced = content.len() as u64;
                if produced > cap {
                    return End::OverCap;
                }
                if produced >= BOMB_MIN_OUTPUT
                    && produced > max_ratio.saturating_mul(consumed.get().max(1))
                {
                    return End::Bomb;
                }
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return End::Corrupt(error),
        }
    }
}

/// A decoder for `format` over `data`; `consumed` counts the compressed bytes it takes.
fn open<'a>(
    format: Format,
    data: &'a [u8],
    consumed: &'a Cell<u64>,
) -> io::Result<Box<dyn Read + 'a>> {
    if data.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "empty compressed stream",
        ));
    }
    let input = Input {
        rest: data,
        consumed,
    };
    Ok(match format {
        Format::Codec(Codec::Gzip) => Box::new(Inflate::new(input, Framing::Gzip)),
        Format::Codec(Codec::Zlib) => Box::new(Inflate::new(input, Framing::Zlib)),
        Format::RawDeflate => Box::new(Inflate::new(input, Framing::Raw)),
        Format::Codec(Codec::Bzip2) => Box::new(bzip2::bufread::MultiBzDecoder::new(input)),
        Format::Bzip2Member => Box::new(bzip2::bufread::BzDecoder::new(input)),
        Format::Codec(Codec::Xz) => Box::new(lzma_rust2::XzReader::new(input, true)),
        Format::XzMember => Box::new(lzma_rust2::XzReader::new(input, false)),
        Format::Codec(Codec::Lzma) => Box::new(lzma_rust2::LzmaReader::new_mem_limit(
            input,
            u32::MAX,
            None,
        )?),
        Format::RawLzma {
            props,
            dict_size,
            size,
        } => Box::new(lzma_rust2::LzmaReader::new_with_props(
            input,
            size.unwrap_or(u64::MAX),
            props,
            dict_size,
            None,
        )?),
        Format::Codec(Codec::Lz4Frame) => {
            Box::new(Lz4Frames(lz4_flex::frame::FrameDecoder::new(input)))
        }
    })
}

/// Compressed input: the unread rest of a slice, counting what decoders take.
struct Input<'a> {
    rest: &'a [u8],
    consumed: &'a Cell<u64>,
}

impl Input<'_> {
    fn advance(&mut self, n: usize) {
        let n = n.min(self.rest.len());
        self.rest = self.rest.split_at(n).1;
        self.consumed
            .set(self.consumed.get().saturating_add(n as u64));
    }
}

impl Read for Input<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.rest.len());
        let (head, _) = self.rest.split_at(n);
        let (dest, _) = buf.split_at_mut(n);
        dest.copy_from_slice(head);
        self.advance(n);
        Ok(n)
    }
}

impl BufRead for Input<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        Ok(self.rest)
    }

    fn consume(&mut self, amount: usize) {
        self.advance(amount);
    }
}

/// lz4_flex decodes one frame per end-of-stream; an lz4 file may hold several.
struct Lz4Frames<'a>(lz4_flex::frame::FrameDecoder<Input<'a>>);

impl Read for Lz4Frames<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let before = self.0.get_ref().rest.len();
            let n = self.0.read(buf)?;
            let after = self.0.get_ref().rest.len();
            if n > 0 || buf.is_empty() || after == 0 {
                return Ok(n);
            }
            if after == before {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "bytes after the last lz4 frame",
                ));
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Framing {
    Raw,
    Zlib,
    Gzip,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    GzipHeader,
    Body,
    Done,
}

/// Deflate driven directly (not through flate2's readers, which report a truncated
/// stream as a clean end), with gzip framing done here: several members, NUL padding
/// between them as Python's gzip allows, and each member's CRC and size checked.
struct Inflate<'a> {
    input: Input<'a>,
    framing: Framing,
    phase: Phase,
    inflater: Decompress,
    crc: Crc,
    /// An error found after output was produced: reported on the next read, so the output
    /// is not lost with it.
    deferred: Option<io::Error>,
}

impl<'a> Inflate<'a> {
    fn new(input: Input<'a>, framing: Framing) -> Self {
        Inflate {
            input,
            framing,
            phase: if framing == Framing::Gzip {
                Phase::GzipHeader
            } else {
                Phase::Body
            },
            inflater: Decompress::new(framing == Framing::Zlib),
            crc: Crc::new(),
            deferred: None,
        }
    }

    fn start_gzip_member(&mut self) -> io::Result<()> {
        let header_len = gzip_header_len(self.input.rest)?;
        self.input.advance(header_len);
        self.inflater.reset(false);
        self.crc.reset();
        self.phase = Phase::Body;
        Ok(())
    }

    fn finish_member(&mut self) -> io::Result<()> {
        if self.framing != Framing::Gzip {
            self.phase = Phase::Done;
            return Ok(());
        }
        let trailer =
            self.input.rest.get(..8).ok_or_else(|| {
                io::Error::new(io::ErrorKind::UnexpectedEof, "gzip trailer missing")
            })?;
        let (crc, size) = trailer.split_at(4);
        if le_u32(crc) != Some(self.crc.sum()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "gzip member CRC-32 mismatch",
            ));
        }
        // The trailer holds the size modulo 2^32.
        if le_u32(size) != Some(self.inflater.total_out() as u32) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "gzip member size mismatch",
            ));
        }
        self.input.advance(8);
        let padding = self.input.rest.iter().take_while(|&&b| b == 0).count();
        self.input.advance(padding);
        self.phase = if self.input.rest.is_empty() {
            Phase::Done
        } else {
            Phase::GzipHeader
        };
        Ok(())
    }
}

impl Read for Inflate<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(error) = self.deferred.take() {
            return Err(error);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            match self.phase {
                Phase::Done => return Ok(0),
                Phase::GzipHeader => self.start_gzip_member()?,
                Phase::Body => {
                    let (in_before, out_before) =
                        (self.inflater.total_in(), self.inflater.total_out());
                    let status = self
                        .inflater
                        .decompress(self.input.rest, buf, FlushDecompress::None)
                        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                    let taken =
                        usize::try_from(self.inflater.total_in() - in_before).unwrap_or(usize::MAX);
                    let produced =
                        usize::try_from(self.inflater.total_out() - out_before).unwrap_or(0);
                    self.input.advance(taken);
                    let fresh = buf.get(..produced).unwrap_or_default();
                    self.crc.update(fresh);
                    if status == Status::StreamEnd {
                        if let Err(error) = self.finish_member() {
                            if produced == 0 {
                                return Err(error);
                            }
                            self.deferred = Some(error);
                        }
                    } else if produced == 0 && taken == 0 {
                        return Err(if self.input.rest.is_empty() {
                            io::Error::new(
                                io::ErrorKind::UnexpectedEof,
                                "stream ends before its end marker",
                            )
                        } else {
                            io::Error::new(
                                io::ErrorKind::InvalidData,
                                "deflate stream makes no progress",
                            )
                        });
                    }
                    if produced > 0 {
                        return Ok(produced);
                    }
                }
            }
        }
    }
}

fn le_u32(bytes: &[u8]) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?))
}

/// Length of the gzip member header at the start of `data` (RFC 1952).
fn gzip_header_len(data: &[u8]) -> io::Result<usize> {
    const FHCRC: u8 = 0x02;
    const FEXTRA: u8 = 0x04;
    const FNAME: u8 = 0x08;
    const FCOMMENT: u8 = 0x10;
    let truncated = || io::Error::new(io::ErrorKind::UnexpectedEof, "gzip header truncated");
    let fixed = data.get(..10).ok_or_else(truncated)?;
    if !fixed.starts_with(GZIP_MAGIC) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "data after a gzip member is not another gzip member",
        ));
    }
    let flags = fixed[3];
    let mut len = 10usize;
    if flags & FEXTRA != 0 {
        let xlen = data.get(len..len + 2).ok_or_else(truncated)?;
        len += 2 + usize::from(u16::from_le_bytes([xlen[0], xlen[1]]));
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            let text = data.get(len..).ok_or_else(truncated)?;
            len += text.iter().position(|&b| b == 0).ok_or_else(truncated)? + 1;
        }
    }
    if flags & FHCRC != 0 {
        len += 2;
    }
    if len > data.len() {
        return Err(truncated());
    }
    Ok(len)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::Write;

    use super::*;
    use rampart_core::rules::{DECOMPRESSION_BOMB, LIMIT_EXCEEDED, MALFORMED};

    pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    pub(crate) fn deflate(data: &[u8]) -> Vec<u8> {
        let mut encoder =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut encoder =
            flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    pub(crate) fn bzip2(data: &[u8]) -> Vec<u8> {
        let mut encoder = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    fn xz(data: &[u8]) -> Vec<u8> {
        let mut encoder =
            lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::default()).unwrap();
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    fn lz4(data: &[u8]) -> Vec<u8> {
        let mut encoder = lz4_flex::frame::FrameEncoder::new(Vec::new());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    fn fixture(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// What the Python fixtures hold (see tests/fixtures/generate.py).
    fn fixture_payload() -> Vec<u8> {
        let mut payload = Vec::new();
        for i in 0..2000u32 {
            payload.extend_from_slice(format!("rampart fixture line {i}\n").as_bytes());
        }
        payload
    }

    fn run(codec: Codec, data: &[u8], limits: &Limits) -> (Option<Vec<u8>>, Vec<Finding>) {
        let mut out = Vec::new();
        let mut budget = Budget::new(limits);
        let result = decompress(
            codec,
            data,
            &mut budget,
            &Location::file("x"),
            limits,
            &mut out,
        );
        (result, out)
    }

    /// Compressible like real data, far from bomb ratios: text over a pseudo-random walk.
    fn payload() -> Vec<u8> {
        let mut state = 0x2545_f491_u32;
        (0..300_000)
            .map(|_| {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                b"abcdefghij \n"[(state >> 16) as usize % 12]
            })
            .collect()
    }

    #[test]
    fn every_codec_round_trips_and_is_sniffed() {
        let payload = payload();
        for (codec, compressed) in [
            (Codec::Gzip, gzip(&payload)),
            (Codec::Zlib, zlib(&payload)),
            (Codec::Bzip2, bzip2(&payload)),
            (Codec::Xz, xz(&payload)),
            (Codec::Lz4Frame, lz4(&payload)),
        ] {
            assert_eq!(sniff(&compressed), Some(codec), "{codec:?}");
            let (content, findings) = run(codec, &compressed, &Limits::default());
            assert!(findings.is_empty(), "{codec:?}: {findings:?}");
            assert_eq!(content.as_deref(), Some(&payload[..]), "{codec:?}");
            assert_eq!(
                peek(codec, &compressed, 10).as_deref(),
                Some(&payload[..10])
            );
        }
    }

    #[test]
    fn python_written_streams_decode() {
        let payload = fixture_payload();
        for (file, codec) in [
            ("payload.gz", Codec::Gzip),
            ("payload.zlib", Codec::Zlib),
            ("payload.bz2", Codec::Bzip2),
            ("payload.xz", Codec::Xz),
            ("payload.lzma", Codec::Lzma),
            ("payload.lz4", Codec::Lz4Frame),
        ] {
            let data = fixture(file);
            assert_eq!(sniff(&data), Some(codec), "{file}");
            let (content, findings) = run(codec, &data, &Limits::default());
            assert!(findings.is_empty(), "{file}: {findings:?}");
            assert_eq!(content.as_deref(), Some(&payload[..]), "{file}");
        }
    }

    #[test]
    fn multi_member_and_padded_gzip_decode_whole() {
        let mut data = gzip(b"first ");
        data.extend(gzip(b"second"));
        data.extend([0, 0, 0, 0]);
        let (content, findings) = run(Codec::Gzip, &data, &Limits::default());
        assert!(findings.is_empty(), "{findings:?}");
        assert_eq!(content.as_deref(), Some(&b"first second"[..]));

        let mut frames = lz4(b"one ");
        frames.extend(lz4(b"two"));
        assert_eq!(
            run(Codec::Lz4Frame, &frames, &Limits::default())
                .0
                .as_deref(),
            Some(&b"one two"[..])
        );
    }

    #[test]
    fn bomb_is_stopped_by_ratio() {
        let zeros = vec![0u8; 100 << 20];
        let compressed = gzip(&zeros);
        let limits = Limits {
            max_compression_ratio: 100,
            ..Limits::default()
        };
        let (content, findings) = run(Codec::Gzip, &compressed, &limits);
        assert_eq!(content, None);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].rule.id, DECOMPRESSION_BOMB.id);
    }

    #[test]
    fn caps_are_enforced_exactly() {
        let data = vec![7u8; 4096];
        let compressed = gzip(&data);
        let exact = Limits {
            max_decompressed_bytes: 4096,
            ..Limits::default()
        };
        let (content, findings) = run(Codec::Gzip, &compressed, &exact);
        assert_eq!(content.map(|c| c.len()), Some(4096));
        assert!(findings.is_empty());

        let under = Limits {
            max_decompressed_bytes: 4095,
            ..Limits::default()
        };
        let (content, findings) = run(Codec::Gzip, &compressed, &under);
        assert_eq!(content, None);
        assert_eq!(findings[0].rule.id, LIMIT_EXCEEDED.id);
        assert!(findings[0].message.contains("max_decompressed_bytes"));
    }

    #[test]
    fn budget_is_shared_and_spent() {
        let compressed = gzip(&[1u8; 3000]);
        let limits = Limits {
            max_total_decompressed_bytes: 5000,
            ..Limits::default()
        };
        let mut budget = Budget::new(&limits);
        let mut out = Vec::new();
        let location = Location::file("x");
        assert!(
            decompress(
                Codec::Gzip,
                &compressed,
                &mut budget,
                &location,
                &limits,
                &mut out
            )
            .is_some()
        );
        assert_eq!(budget.remaining(), 2000);
        assert!(
            decompress(
                Codec::Gzip,
                &compressed,
                &mut budget,
                &location,
                &limits,
                &mut out
            )
            .is_none()
        );
        assert_eq!(out.len(), 1);
        assert!(out[0].message.contains("budget"), "{}", out[0].message);
    }

    #[test]
    fn truncated_streams_report_and_keep_the_prefix() {
        let payload = payload();
        for (codec, compressed) in [
            (Codec::Gzip, gzip(&payload)),
            (Codec::Zlib, zlib(&payload)),
            (Codec::Bzip2, bzip2(&payload)),
            (Codec::Xz, xz(&payload)),
            (Codec::Lz4Frame, lz4(&payload)),
        ] {
            let cut = &compressed[..compressed.len() - 5];
            let (content, findings) = run(codec, cut, &Limits::default());
            assert_eq!(findings.len(), 1, "{codec:?}");
            assert_eq!(findings[0].rule.id, MALFORMED.id, "{codec:?}");
            if let Some(content) = content {
                assert!(payload.starts_with(&content), "{codec:?}");
            }
        }
        // Only the gzip trailer is missing: all content came out and is returned.
        let compressed = gzip(b"hello");
        let (content, findings) = run(
            Codec::Gzip,
            &compressed[..compressed.len() - 8],
            &Limits::default(),
        );
        assert_eq!(content.as_deref(), Some(&b"hello"[..]));
        assert!(
            findings[0].message.contains("5 bytes decompressed"),
            "{}",
            findings[0].message
        );
    }

    #[test]
    fn corrupt_crc_and_garbage_after_gzip_are_malformed() {
        let mut compressed = gzip(b"hello world");
        let crc_at = compressed.len() - 8;
        compressed[crc_at] ^= 0xff;
        let (_, findings) = run(Codec::Gzip, &compressed, &Limits::default());
        assert_eq!(findings[0].rule.id, MALFORMED.id);

        let mut trailing = gzip(b"hello");
        trailing.extend_from_slice(b"junk");
        let (content, findings) = run(Codec::Gzip, &trailing, &Limits::default());
        assert_eq!(content.as_deref(), Some(&b"hello"[..]));
        assert_eq!(findings[0].rule.id, MALFORMED.id);
    }

    #[test]
    fn sniff_rejects_lookalikes() {
        assert_eq!(sniff(b"x\x9c"), Some(Codec::Zlib));
        assert_eq!(sniff(b"x\x9d"), None);
        assert_eq!(sniff(b"hello world"), None);
        assert_eq!(sniff(b"BZh0"), None);
        assert_eq!(sniff(b"BZh9notblock"), None);
        assert_eq!(sniff(b"\x80\x04\x95"), None);
        let mut lzma_header = vec![0x5d, 0, 0, 0x80, 0];
        lzma_header.extend_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(sniff(&lzma_header), Some(Codec::Lzma));
        lzma_header[2] = 0x13;
        assert_eq!(sniff(&lzma_header), None);
        assert_eq!(peek(Codec::Gzip, b"\x1f\x8b\x08garbage", 16), None);
        assert_eq!(peek(Codec::Zlib, b"x\x9c", 16), None);
    }

    #[test]
    fn empty_input_is_malformed_not_empty_content() {
        for codec in [
            Codec::Gzip,
            Codec::Zlib,
            Codec::Bzip2,
            Codec::Xz,
            Codec::Lzma,
            Codec::Lz4Frame,
        ] {
            let (content, findings) = run(codec, b"", &Limits::default());
            assert_eq!(content, None, "{codec:?}");
            assert_eq!(findings.len(), 1, "{codec:?}");
        }
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        fn limits() -> Limits {
            Limits {
                max_decompressed_bytes: 256 * 1024,
                max_total_decompressed_bytes: 512 * 1024,
                ..Limits::default()
            }
        }

        fn codecs() -> impl Strategy<Value = Codec> {
            prop::sample::select(vec![
                Codec::Gzip,
                Codec::Zlib,
                Codec::Bzip2,
                Codec::Xz,
                Codec::Lzma,
                Codec::Lz4Frame,
            ])
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn arbitrary_bytes_never_panic_or_exceed_caps(codec in codecs(), data in prop::collection::vec(any::<u8>(), 0..2048)) {
                let limits = limits();
                let mut budget = Budget::new(&limits);
                let mut out = Vec::new();
                let result = decompress(codec, &data, &mut budget, &Location::file("x"), &limits, &mut out);
                prop_assert!(result.is_none_or(|c| c.len() as u64 <= limits.max_decompressed_bytes));
                let _ = sniff(&data);
                prop_assert!(peek(codec, &data, 32).is_none_or(|c| c.len() <= 32));
            }

            #[test]
            fn mutated_streams_never_panic_or_exceed_caps(
                which in 0usize..5,
                flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
            ) {
                let payload: Vec<u8> = (0..20_000u32).map(|i| (i % 7) as u8).collect();
                let (codec, mut data) = match which {
                    0 => (Codec::Gzip, gzip(&payload)),
                    1 => (Codec::Zlib, zlib(&payload)),
                    2 => (Codec::Bzip2, bzip2(&payload)),
                    3 => (Codec::Xz, xz(&payload)),
                    _ => (Codec::Lz4Frame, lz4(&payload)),
                };
                for (at, value) in flips {
                    let i = at.index(data.len());
                    data[i] = value;
                }
                let limits = limits();
                let mut budget = Budget::new(&limits);
                let mut out = Vec::new();
                let result = decompress(codec, &data, &mut budget, &Location::file("x"), &limits, &mut out);
                prop_assert!(result.is_none_or(|c| c.len() as u64 <= limits.max_decompressed_bytes));
            }
        }
    }
}
