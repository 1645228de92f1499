#![no_main]

use rampart_integrity::{SigningKey, VerifyingKey};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = SigningKey::from_pem(data, Some(b"password"));
    let _ = VerifyingKey::from_pem(data);
    let _ = VerifyingKey::from_spki_der(data);
});
