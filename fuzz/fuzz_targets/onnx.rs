#![no_main]
//! ONNX: the protobuf walk over graphs, subgraphs, functions and external-data entries.

use rampart_core::{Limits, Location};
use rampart_formats::onnx;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = onnx::looks_like_onnx(data);
    let mut out = Vec::new();
    onnx::scan(
        data,
        &Location::file("fuzz.onnx"),
        &Limits::default(),
        &mut out,
    );
});
