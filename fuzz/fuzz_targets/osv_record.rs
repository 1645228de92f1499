#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    rampart_advisories::fuzzing::osv_record(data);
});
