#![no_main]

use rampart_core::{Limits, Location};
use rampart_formats::safetensors;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    safetensors::scan(data, &Location::file("fuzz"), &Limits::default(), &mut out);
});
