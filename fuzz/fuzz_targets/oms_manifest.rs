#![no_main]

use rampart_integrity::ManifestDocument;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(manifest) = ManifestDocument::parse(data) {
        // A manifest that parses is self-consistent by construction.
        let _ = manifest.root_digest();
        let _ = manifest.file_count();
    }
});
