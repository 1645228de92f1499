//! Layer blobs: recognising their compression and decompressing them.
//!
//! Layers are decompressed as streams ([`decoder`]), never into memory whole; a gzip- or
//! zstd-wrapped image archive is decompressed into memory by [`decompress`], within the
//! limits (`max_decompressed_bytes`, `max_total_decompressed_bytes`; beyond them it is
//! reported, `scan/limit-exceeded`, and not read).

use std::borrow::Cow;
use std::cell::RefCell;
use std::io::{self, BufRead, Read};
use std::rc::Rc;

use flate2::read::MultiGzDecoder;
use rampart_core::rules::{LIMIT_EXCEEDED, MALFORMED};
use rampart_core::{Finding, Limits, Location};
use ruzstd::decoding::StreamingDecoder;
use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};

/// How a layer blob is compressed, by its magic bytes (media types are not trusted: tools
/// disagree on them, and the bytes are what a runtime decodes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "uncompressed",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];
/// Skippable zstd frames (`zstd:chunked` starts some layers with metadata in them).
const ZSTD_SKIPPABLE_MAGIC_LOW: u8 = 0x50;
const ZSTD_SKIPPABLE_MAGIC_HIGH: &[u8] = &[0x2a, 0x4d, 0x18];

pub fn sniff(bytes: &[u8]) -> Compression {
    let skippable = bytes
        .first()
        .is_some_and(|b| b & 0xf0 == ZSTD_SKIPPABLE_MAGIC_LOW)
        && bytes.get(1..4) == Some(ZSTD_SKIPPABLE_MAGIC_HIGH);
    if bytes.starts_with(GZIP_MAGIC) {
        Compression::Gzip
    } else if bytes.starts_with(ZSTD_MAGIC) || skippable {
        Compression::Zstd
    } else {
        Compression::None
    }
}

/// A reader of the decompressed content of a `compression` stream read from `input`.
pub fn decoder<'r, R: BufRead + 'r>(compression: Compression, input: R) -> Box<dyn Read + 'r> {
    match compression {
        Compression::None => Box::new(input),
        Compression::Gzip => Box::new(MultiGzDecoder::new(input)),
        Compression::Zstd => Box::new(ZstdFrames {
            input: Rc::new(RefCell::new(input)),
            frame: None,
        }),
    }
}

/// The input of a zstd stream, shared between the frame being decoded and the reader that
/// starts the next frame (the frame decoder takes its input by value).
struct SharedInput<R>(Rc<RefCell<R>>);

impl<R: Read> Read for SharedInput<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.borrow_mut().read(buf)
    }
}

/// Every frame of a zstd stream in turn, skipping skippable frames.
struct ZstdFrames<R: Read> {
    input: Rc<RefCell<R>>,
    frame: Option<StreamingDecoder<SharedInput<R>, ruzstd::decoding::FrameDecoder>>,
}

impl<R: BufRead> Read for ZstdFrames<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if let Some(frame) = &mut self.frame {
                let read = frame.read(buf)?;
                if read > 0 {
                    return Ok(read);
                }
                self.frame = None;
            }
            if self.input.borrow_mut().fill_buf()?.is_empty() {
                return Ok(0);
            }
            match StreamingDecoder::new(SharedInput(Rc::clone(&self.input))) {
                Ok(frame) => self.frame = Some(frame),
                Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame {
                    length,
                    ..
                })) => {
                    let skipped = io::copy(
                        &mut (&mut *self.input.borrow_mut()).take(u64::from(length)),
                        &mut io::sink(),
                    )?;
                    if skipped < u64::from(length) {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "a skippable zstd frame runs past the end",
                        ));
                    }
                }
                Err(error) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        error.to_string(),
                    ));
                }
            }
        }
    }
}

/// The tar inside `blob` (a gzip- or zstd-wrapped image archive): the blob itself when
/// uncompressed, else its decompressed content, held in memory. `total` is what all
/// decompression may still produce and is spent here. A corrupt or truncated
/// stream is reported and yields what came out before the damage (a runtime that streams
/// the layer would have extracted that much); `None` when a limit was hit or nothing came
/// out.
pub fn decompress<'b>(
    blob: &'b [u8],
    location: &Location,
    limits: &Limits,
    total: &mut u64,
    out: &mut Vec<Finding>,
) -> Option<Cow<'b, [u8]>> {
    let compression = sniff(blob);
    let cap = limits.max_decompressed_bytes.min(*total);
    let decoded = match compression {
        Compression::None => return Some(Cow::Borrowed(blob)),
        Compression::Gzip => {
            let mut input = blob;
            let mut decoded = read_bounded(MultiGzDecoder::new(&mut input), cap);
            // The decoder reads ahead, so this is where the damage is to within its buffer.
            if let End::Corrupt { at, .. } = &mut decoded.end {
                *at = (blob.len() - input.len()) as u64;
            }
            decoded
        }
        Compression::Zstd => decode_zstd(blob, cap),
    };
    *total = total.saturating_sub(decoded.content.len() as u64);
    let name = compression.name();
    match decoded.end {
        End::Complete => {}
        End::OverCap => {
            let which = if cap < limits.max_decompressed_bytes {
                "max_total_decompressed_bytes (all layers together)"
            } else {
                "max_decompressed_bytes"
            };
            out.push(Finding::new(
                &LIMIT_EXCEEDED,
                location.clone(),
                format!(
                    "the {name} stream expands to more than {cap} bytes, the limit set by {which}; it was \
                     not read"
                ),
            ));
            return None;
        }
        End::Corrupt { at, reason } => {
            out.push(Finding::new(
                &MALFORMED,
                location.at(at),
                format!(
                    "the {name} stream is corrupt or truncated near compressed offset {at} ({reason}); only \
                     the {} bytes decompressed before it were read",
                    decoded.content.len()
                ),
            ));
        }
    }
    (!decoded.content.is_empty()).then_some(Cow::Owned(decoded.content))
}

struct Decoded {
    content: Vec<u8>,
    end: End,
}

enum End {
    Complete,
    OverCap,
    Corrupt { at: u64, reason: String },
}

/// Reads `reader` to its end, but never more than `cap` bytes into memory.
fn read_bounded(reader: impl Read, cap: u64) -> Decoded {
    let mut content = Vec::new();
    let result = reader.take(cap.saturating_add(1)).read_to_end(&mut content);
    let end = match result {
        _ if content.len() as u64 > cap => End::OverCap,
        Ok(_) => End::Complete,
        Err(error) => End::Corrupt {
            at: 0,
            reason: error.to_string(),
        },
    };
    Decoded { content, end }
}

/// All frames of a zstd stream, skipping skippable frames, never more than `cap` bytes.
fn decode_zstd(blob: &[u8], cap: u64) -> Decoded {
    let mut input = blob;
    let mut content = Vec::new();
    while !input.is_empty() {
        let at = (blob.len() - input.len()) as u64;
        let corrupt = |reason: String, content| Decoded {
            content,
            end: End::Corrupt { at, reason },
        };
        match StreamingDecoder::new(&mut input) {
            Ok(decoder) => {
                let room = cap.saturating_sub(content.len() as u64).saturating_add(1);
                let result = decoder.take(room).read_to_end(&mut content);
                if content.len() as u64 > cap {
                    return Decoded {
                        content,
                        end: End::OverCap,
                    };
                }
                if let Err(error) = result {
                    return corrupt(error.to_string(), content);
                }
            }
            Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame {
                length,
                ..
            })) => match usize::try_from(length)
                .ok()
                .and_then(|length| input.get(length..))
            {
                Some(rest) => input = rest,
                None => return corrupt("a skippable frame runs past the end".to_owned(), content),
            },
            Err(error) => return corrupt(error.to_string(), content),
        }
    }
    Decoded {
        content,
        end: End::Complete,
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        assert!(encoder.write_all(bytes).is_ok());
        encoder.finish().unwrap_or_default()
    }

    fn zstd(bytes: &[u8]) -> Vec<u8> {
        ruzstd::encoding::compress_to_vec(bytes, ruzstd::encoding::CompressionLevel::Fastest)
    }

    fn run(blob: &[u8], limits: &Limits) -> (Option<Vec<u8>>, Vec<Finding>, u64) {
        let mut out = Vec::new();
        let mut total = limits.max_total_decompressed_bytes;
        let decoded = decompress(blob, &Location::file("l"), limits, &mut total, &mut out);
        (decoded.map(Cow::into_owned), out, total)
    }

    #[test]
    fn decodes_gzip_and_multi_frame_zstd_with_skippable_frames() {
        let data = b"hello layer".repeat(100);
        let limits = Limits::default();
        assert_eq!(run(&gzip(&data), &limits).0.as_deref(), Some(&data[..]));
        let mut two_frames = vec![0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3];
        two_frames.extend(zstd(&data));
        two_frames.extend(zstd(b"tail"));
        let (decoded, findings, total) = run(&two_frames, &limits);
        let mut expected = data.clone();
        expected.extend(b"tail");
        assert_eq!(decoded, Some(expected.clone()));
        assert!(findings.is_empty());
        assert_eq!(
            total,
            limits.max_total_decompressed_bytes - expected.len() as u64
        );
        assert_eq!(run(b"plain", &limits).0.as_deref(), Some(&b"plain"[..]));
    }

    #[test]
    fn caps_and_truncation_are_reported() {
        let data = vec![0u8; 10_000];
        let small = Limits {
            max_decompressed_bytes: 1000,
            ..Limits::default()
        };
        for blob in [gzip(&data), zstd(&data)] {
            let (decoded, findings, _) = run(&blob, &small);
            assert!(decoded.is_none());
            assert!(findings.iter().any(|f| f.rule.id == "scan/limit-exceeded"));
        }
        let text: Vec<u8> = (0..20_000u32).flat_map(|n| n.to_le_bytes()).collect();
        for blob in [gzip(&text), zstd(&text)] {
            let cut = &blob[..blob.len() / 2];
            let (_, findings, _) = run(cut, &Limits::default());
            assert!(
                findings.iter().any(|f| f.rule.id == "scan/malformed"),
                "{findings:?}"
            );
        }
    }
}
