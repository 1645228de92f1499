#![no_main]

use rampart_core::{Limits, Location};
use rampart_formats::numpy;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    let info = numpy::scan(data, &Location::file("fuzz"), &Limits::default(), &mut out);
    if let Some(offset) = info.pickle_offset {
        assert!(offset <= data.len(), "pickle offset past the end of the input");
    }
});
