//! The fuzz targets' bodies (`fuzz/fuzz_targets/{zip,tar,decompress}.rs`), here so the
//! corpus replay test drives the parsers exactly as the fuzzer does. Each one panics only
//! when a reader breaks its contract (a cap exceeded, a slice out of place).

use rampart_core::{Limits, Location};

use crate::{Budget, compress, tar, zip};

/// Limits small enough to keep each fuzz run fast; the bodies check they hold.
pub fn limits() -> Limits {
    Limits {
        max_decompressed_bytes: 4 << 20,
        max_total_decompressed_bytes: 8 << 20,
        max_members: 1024,
        max_header_bytes: 1 << 20,
        ..Limits::default()
    }
}

/// Locates, opens, peeks at and reads every member; then reads the same bytes as a zip
/// that arrives as a stream ([`zip::PartialZip`]): with room for everything it must read
/// exactly like the whole file, with little room it must never read what it did not keep.
pub fn zip(data: &[u8], limits: &Limits) {
    let location = Location::file("fuzz.zip");
    if let Some(located) = zip::locate(data) {
        assert!(located.start <= data.len() && located.eocd_offset < data.len());
    }
    let whole = read_every_member(data, None, &location, limits);

    let len = data.len() as u64;
    let (head, mut rest) = data.split_at(data.len() / 3);
    let everything = zip::PartialZip::capture(head, &mut rest, len, u64::MAX, &|_| false)
        .expect("address space for a fuzz input");
    assert!(everything.held().covers(0..data.len()));
    let streamed = read_every_member(everything.data(), Some(&everything), &location, limits);
    assert_eq!(format!("{whole:?}"), format!("{streamed:?}"));

    let (head, mut rest) = data.split_at(data.len() / 2);
    let is_storage = |name: &[u8]| name.windows(5).any(|part| part == b"data/");
    let some = zip::PartialZip::capture(head, &mut rest, len, len / 4, &is_storage)
        .expect("address space for a fuzz input");
    for range in read_every_member(some.data(), Some(&some), &location, limits).1 {
        assert!(
            some.held().covers(range),
            "a member was read from bytes not kept"
        );
    }
}

/// Opens `data` (a [`zip::PartialZip`]'s when `partial`), peeks at and reads every member:
/// the findings, and where each stored member handed out lies in `data`.
fn read_every_member(
    data: &[u8],
    partial: Option<&zip::PartialZip>,
    location: &Location,
    limits: &Limits,
) -> (Vec<rampart_core::Finding>, Vec<std::ops::Range<usize>>) {
    let mut out = Vec::new();
    let mut stored = Vec::new();
    let opened = match partial {
        Some(partial) => zip::Archive::open_partial(partial, location, limits, &mut out),
        None => zip::Archive::open(data, location, limits, &mut out),
    };
    let Some(archive) = opened else {
        assert!(
            !out.is_empty(),
            "an archive that cannot be opened must be reported"
        );
        return (out, stored);
    };
    let mut budget = Budget::new(limits);
    let base = data.as_ptr() as usize;
    for entry in archive.entries() {
        if let Ok(head) = archive.peek(entry, 64) {
            assert!(head.len() <= 64);
        }
        let member = location.member(&entry.name);
        let before = budget.remaining();
        if let Some(content) = archive.read(entry, &mut budget, &member, limits, &mut out) {
            if entry.method == 0 {
                let start = (content.as_ptr() as usize).wrapping_sub(base);
                stored.push(start..start + content.len());
            } else {
                assert!(content.len() as u64 <= limits.max_decompressed_bytes.min(before));
            }
        }
    }
    (out, stored)
}

/// Lists the members, checks that each one's data lies inside the input and that the
/// streaming reader agrees.
pub fn tar(data: &[u8], limits: &Limits) {
    let _ = tar::looks_like_tar(data);
    let mut out = Vec::new();
    let entries = tar::entries(data, &Location::file("fuzz.tar"), limits, &mut out);
    assert!(entries.len() <= limits.max_members);
    for entry in &entries {
        assert!(
            entry.data.len() as u64 <= entry.size && (entry.is_file() || entry.data.is_empty())
        );
        let start = entry.data.as_ptr() as usize;
        let input = data.as_ptr() as usize..data.as_ptr() as usize + data.len();
        assert!(
            entry.data.is_empty()
                || (input.contains(&start) && start + entry.data.len() <= input.end)
        );
    }
    // The streaming reader lists the same members with the same content.
    let mut stream = tar::stream::TarStream::new(data, &Location::file("fuzz.tar"), limits);
    let mut streamed = Vec::new();
    while let Some(entry) = stream.next_entry() {
        let mut content = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stream, &mut content);
        streamed.push((entry.name, content));
    }
    stream.finish(&mut out);
    assert!(
        streamed
            .iter()
            .map(|(name, content)| (name.as_str(), content.as_slice()))
            .eq(entries
                .iter()
                .map(|entry| (entry.name.as_str(), entry.data)))
    );
}

/// Sniffs; if nothing matches, the first byte picks a codec for the rest.
pub fn decompress(data: &[u8], limits: &Limits) {
    const CODECS: [compress::Codec; 6] = [
        compress::Codec::Gzip,
        compress::Codec::Bzip2,
        compress::Codec::Xz,
        compress::Codec::Lzma,
        compress::Codec::Zlib,
        compress::Codec::Lz4Frame,
    ];
    let (codec, stream) = match (compress::sniff(data), data.split_first()) {
        (Some(codec), _) => (codec, data),
        (None, Some((&pick, rest))) => (CODECS[usize::from(pick) % CODECS.len()], rest),
        (None, None) => return,
    };
    if let Some(head) = compress::peek(codec, stream, 32) {
        assert!(head.len() <= 32);
    }
    let mut budget = Budget::new(limits);
    let mut out = Vec::new();
    let location = Location::file("fuzz.bin");
    if let Some(content) =
        compress::decompress(codec, stream, &mut budget, &location, limits, &mut out)
    {
        assert!(content.len() as u64 <= limits.max_decompressed_bytes);
    }
}
