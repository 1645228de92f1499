#![no_main]

use rampart_core::Location;
use rampart_deploy::gitlab;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    gitlab::scan(data, &Location::file("fuzz"), &mut out);
});
