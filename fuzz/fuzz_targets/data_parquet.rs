#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    rampart_data::fuzzing::read_bytes(data, "parquet");
});
