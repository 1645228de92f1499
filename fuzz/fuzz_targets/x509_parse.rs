#![no_main]

use rampart_x509::{PathPolicy, parse_certificates, verify_path};

// Parses the input as PEM or DER certificates, then validates whatever it holds: the
// first certificate as signing certificate, the rest as intermediates, the last as anchor.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(certificates) = parse_certificates(data) else {
        return;
    };
    for certificate in &certificates {
        let _ = (
            certificate.subject(),
            certificate.issuer(),
            certificate.serial_hex(),
            certificate.identities(),
        );
    }
    if let (Some(leaf), Some(anchor)) = (certificates.first(), certificates.last()) {
        let rest = certificates.get(1..).unwrap_or_default();
        let _ = verify_path(
            leaf,
            rest,
            std::slice::from_ref(anchor),
            &PathPolicy::default(),
        );
    }
});
