#![no_main]
//! Keras config JSON, directly and through the JSON document sniffer.

use rampart_core::{Limits, Location};
use rampart_formats::{json_document, keras};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let location = Location::file("config.json");
    let limits = Limits::default();
    let mut out = Vec::new();
    keras::scan_config(data, &location, &limits, &mut out);
    out.clear();
    let _ = json_document::scan(data, &location, &limits, &mut out);
});
