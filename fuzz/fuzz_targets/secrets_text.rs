#![no_main]

use rampart_core::Location;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    let _ = rampart_secrets::detect("fuzz.txt", data);
    rampart_secrets::scan_text(data, &Location::file("fuzz.txt"), &mut out);
    let lines = data.iter().filter(|&&b| b == b'\n').count() + 1;
    for finding in &out {
        let line = finding.location.line.expect("text findings carry a line") as usize;
        assert!((1..=lines).contains(&line), "line {line} outside the input");
    }
});
