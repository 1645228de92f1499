#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = rampart_redteam::npy::read_npy(data);
});
