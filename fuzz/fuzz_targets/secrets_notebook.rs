#![no_main]

use rampart_core::Location;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    rampart_secrets::scan_notebook(data, &Location::file("fuzz.ipynb"), &mut out);
    let lines = data.iter().filter(|&&b| b == b'\n').count() + 1;
    for finding in &out {
        let line = finding.location.line.expect("notebook findings carry a line") as usize;
        assert!((1..=lines).contains(&line), "line {line} outside the input");
    }
});
