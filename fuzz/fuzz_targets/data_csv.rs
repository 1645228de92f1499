#![no_main]

// CSV, JSON Lines and Arrow IPC share this target: the format is recognised from the content.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    rampart_data::fuzzing::read_bytes(data, "csv");
});
