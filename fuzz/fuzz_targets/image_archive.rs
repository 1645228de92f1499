#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    rampart_image::fuzzing::image_archive(data);
});
