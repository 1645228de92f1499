#![no_main]
//! Pickle: the symbolic machine over every opcode, nested pickles and joblib inline data,
//! plus content sniffing.

use std::sync::OnceLock;

use rampart_core::{Limits, Location};
use rampart_pickle::{PickleScanner, looks_like_pickle};

fn scanner() -> &'static PickleScanner {
    static SCANNER: OnceLock<PickleScanner> = OnceLock::new();
    SCANNER.get_or_init(|| PickleScanner::new(&Default::default()).expect("the default config is valid"))
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = looks_like_pickle(&data[..data.len().min(4096)]);
    let mut out = Vec::new();
    let info = scanner().scan(data, &Location::file("fuzz.pkl"), &Limits::default(), &mut out);
    assert!(info.end <= data.len());
});
