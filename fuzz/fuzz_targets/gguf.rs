#![no_main]

use rampart_core::{Limits, Location};
use rampart_formats::gguf;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    gguf::scan(data, &Location::file("fuzz"), &Limits::default(), &mut out);
});
