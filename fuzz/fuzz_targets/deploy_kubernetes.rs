#![no_main]

use rampart_core::Location;
use rampart_deploy::kubernetes;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    kubernetes::scan(data, &Location::file("fuzz"), &mut out);
});
