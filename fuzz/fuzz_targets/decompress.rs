#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    use rampart_archive::fuzzing;
    fuzzing::decompress(data, &fuzzing::limits());
});
