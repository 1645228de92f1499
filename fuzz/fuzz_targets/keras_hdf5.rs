#![no_main]
//! Keras 2 `.h5`: the HDF5 reader of root attributes (object headers, dense attribute
//! storage, global heap) and the config check behind it.

use rampart_core::{Limits, Location};
use rampart_formats::keras;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = keras::looks_like_hdf5(data);
    let mut out = Vec::new();
    keras::scan_hdf5(
        data,
        &Location::file("fuzz.h5"),
        &Limits::default(),
        &mut out,
    );
});
