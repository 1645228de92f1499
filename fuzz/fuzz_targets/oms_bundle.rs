#![no_main]

use rampart_integrity::bundle::{Bundle, parse_statement};

// A signature file is untrusted until verified: its JSON, base64 payload and statement must
// never panic the reader, whatever the bytes.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(bundle) = serde_json::from_slice::<Bundle>(data)
        && let Ok(payload) = bundle.dsse_envelope.payload_bytes()
    {
        let _ = parse_statement(&payload);
    }
    let _ = parse_statement(data);
});
