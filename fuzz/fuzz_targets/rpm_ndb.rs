#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    rampart_inventory::fuzzing::rpm_ndb(data);
});
