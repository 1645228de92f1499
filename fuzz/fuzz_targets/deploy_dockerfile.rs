#![no_main]

use rampart_core::Location;
use rampart_deploy::dockerfile;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    dockerfile::scan(data, &Location::file("fuzz"), &mut out);
});
