#![no_main]

use rampart_core::{Limits, Location};
use rampart_formats::chat_template;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let location = Location::file("fuzz");
    let mut out = Vec::new();
    chat_template::scan_template(&String::from_utf8_lossy(data), &location, &mut out);
    chat_template::scan_tokenizer_config(data, &location, &Limits::default(), &mut out);
});
