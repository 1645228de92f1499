#![no_main]
// Standalone IAM policy JSON: the spanned JSON reader and every policy check.
use rampart_core::Location;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    rampart_iac::scan_iam_policy(data, &Location::file("policy.json"), &mut out);
});
