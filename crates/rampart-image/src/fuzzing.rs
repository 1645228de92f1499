//! The body of the `image_archive` fuzz target, here so the corpus replay test drives the
//! reader exactly as the fuzzer does. It panics only when the reader breaks its contract.

use rampart_core::Limits;

use crate::{FileDigests, Image};

/// Limits small enough to keep each fuzz run fast.
pub fn limits() -> Limits {
    Limits {
        max_decompressed_bytes: 4 << 20,
        max_total_decompressed_bytes: 8 << 20,
        max_members: 1024,
        max_header_bytes: 1 << 20,
        max_metadata_entries: 4096,
        ..Limits::default()
    }
}

/// Opens `data` as an image archive, checks its config and walks every layer.
pub fn image_archive(data: &[u8]) {
    let limits = limits();
    let Ok(image) = Image::from_archive_bytes(data.to_vec(), "fuzz.tar", None, &limits) else {
        return;
    };
    let mut out = Vec::new();
    image.check_config(&mut out);
    image.walk(&limits, FileDigests::Wanted, &mut out, |entry| {
        assert!(entry.data.len() as u64 <= entry.size);
        assert!(
            entry
                .deleted_in
                .is_none_or(|deleted| deleted >= entry.layer.index)
        );
        assert!(!entry.path.starts_with('/') && !entry.path.split('/').any(|part| part == ".."));
    });
    let view = image.final_view(&limits, &mut out);
    assert!(view.values().all(|entry| entry.layer < image.layers.len()));
}
