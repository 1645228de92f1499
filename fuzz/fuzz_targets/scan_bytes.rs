//! The whole engine on arbitrary bytes: detection, every analyzer, container recursion.
//! Any `scan/internal-error` finding means an analyzer panicked, which is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(output) = rampart_scan::scan_bytes_default("input", data) {
        assert!(output.findings.iter().all(|f| f.rule.id != "scan/internal-error"));
    }
});
