#![no_main]

use rampart_redteam::model::{ModelOptions, OnnxClassifier};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(model) = OnnxClassifier::from_bytes(data, &ModelOptions::default()) {
        // Evaluate the pruned graph once: the evaluator must fail with an error, not a panic.
        let _ = model.logits(&[0.5; 4], &[4]);
    }
});
