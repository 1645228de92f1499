#![no_main]
//! TensorFlow SavedModel / GraphDef protobufs and Keras `keras_metadata.pb`.

use rampart_core::{Limits, Location};
use rampart_formats::savedmodel;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = savedmodel::looks_like_saved_model(data);
    let limits = Limits::default();
    // The file name picks the SavedModel or the Keras metadata reading.
    for name in ["saved_model.pb", "keras_metadata.pb"] {
        let mut out = Vec::new();
        savedmodel::scan(data, &Location::file(name), &limits, &mut out);
    }
});
