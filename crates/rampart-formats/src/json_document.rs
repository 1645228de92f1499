//! JSON files that travel with models: Keras configs (`config.json` of a `.keras`
//! archive), tokenizer configs with chat templates, and everything else (HF `config.json`,
//! `generation_config.json`, vocabularies), which needs no check.
//!
//! What a file is gets decided from its top-level keys, read with a streaming pass that
//! skips values without building them and stops at `limits.max_header_bytes`; only a
//! file that turns out to be a Keras or tokenizer config is parsed in full, by its own
//! analyzer.

use std::fmt;

use rampart_core::rules::{LIMIT_EXCEEDED, MALFORMED};
use rampart_core::{Finding, Limits, Location};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::{chat_template, keras};

/// Label for a Keras model config.
pub const KERAS_CONFIG: &str = "keras-config";
/// Label for a tokenizer config holding a chat template.
pub const TOKENIZER_CONFIG: &str = "tokenizer-config";
/// Label for any other JSON.
pub const PLAIN_JSON: &str = "json";

/// Decides what a JSON file is by its keys and runs the matching check; returns the format
/// label for the report. A file with both Keras and chat-template keys gets both checks,
/// so adding a key cannot steer it past one of them.
pub fn scan(
    data: &[u8],
    location: &Location,
    limits: &Limits,
    out: &mut Vec<Finding>,
) -> &'static str {
    let window_len =
        usize::try_from(limits.max_header_bytes).map_or(data.len(), |max| data.len().min(max));
    let truncated = window_len < data.len();
    let (keys, parsed) = top_level_keys(&data[..window_len]);

    let is_keras = keys.class_name && (keys.config || keys.module);
    if keys.chat_template {
        chat_template::scan_tokenizer_config(data, location, limits, out);
    }
    if is_keras {
        keras::scan_config(data, location, limits, out);
        return KERAS_CONFIG;
    }
    if keys.chat_template {
        return TOKENIZER_CONFIG;
    }
    if is_named_like_model_config(location) {
        if truncated {
            out.push(Finding::new(
                &LIMIT_EXCEEDED,
                location.clone(),
                format!(
                    "Model config of {} bytes is larger than limits.max_header_bytes ({}); only \
                     its start was checked",
                    data.len(),
                    limits.max_header_bytes
                ),
            ));
        } else if let Err(e) = parsed {
            out.push(Finding::new(
                &MALFORMED,
                location.clone(),
                format!("Model config is not valid JSON: {e}"),
            ));
        }
    }
    PLAIN_JSON
}

/// File names loaders read as model configuration.
fn is_named_like_model_config(location: &Location) -> bool {
    let name = location.name();
    let name = name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(name)
        .to_ascii_lowercase();
    name == "config.json" || name == "model.json" || name.ends_with("_config.json")
}

/// Which of the interesting keys the top-level object has.
#[derive(Debug, Default, PartialEq, Eq)]
struct TopKeys {
    class_name: bool,
    config: bool,
    module: bool,
    chat_template: bool,
}

/// Reads the top-level keys, skipping values. Keys seen before a syntax error (or before
/// the end of a truncated window) are kept.
fn top_level_keys(window: &[u8]) -> (TopKeys, Result<(), serde_json::Error>) {
    let mut keys = TopKeys::default();
    let mut deserializer = serde_json::Deserializer::from_slice(window);
    let parsed = KeySniffer(&mut keys)
        .deserialize(&mut deserializer)
        .and_then(|()| deserializer.end());
    (keys, parsed)
}

struct KeySniffer<'k>(&'k mut TopKeys);

impl<'de> DeserializeSeed<'de> for KeySniffer<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeySniffer<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON document")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "class_name" => self.0.class_name = true,
                "config" => self.0.config = true,
                "module" => self.0.module = true,
                "chat_template" => self.0.chat_template = true,
                _ => {}
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The label and the rule ids found.
    fn scan_named(json: &str, name: &str) -> (&'static str, Vec<&'static str>) {
        let mut out = Vec::new();
        let label = scan(
            json.as_bytes(),
            &Location::file(name),
            &Limits::default(),
            &mut out,
        );
        (label, ids(&out))
    }

    fn ids(findings: &[Finding]) -> Vec<&'static str> {
        findings.iter().map(|f| f.rule.id).collect()
    }

    const NONE: Vec<&'static str> = Vec::new();

    const KERAS3_LAMBDA: &str = r#"{"module": "keras", "class_name": "Sequential", "config": {"name": "s", "layers": [
        {"module": "keras.layers", "class_name": "Lambda", "config": {"name": "l", "function": {"class_name": "__lambda__", "config": {"code": "4wEAAAAAAAAA", "defaults": null, "closure": null}}}, "registered_name": null}]},
        "registered_name": "Sequential"}"#;

    #[test]
    fn keras_configs_are_recognised_and_scanned() {
        let (label, findings) = scan_named(KERAS3_LAMBDA, "model.keras!/config.json");
        assert_eq!(label, KERAS_CONFIG);
        assert_eq!(findings, ["keras/lambda-layer"]);

        let keras2 = r#"{"class_name": "Sequential", "config": {"name": "s", "layers": [{"class_name": "Dense", "config": {"name": "d", "units": 1}}]}}"#;
        assert_eq!(scan_named(keras2, "anything.json"), (KERAS_CONFIG, NONE));
        let module_first = r#"{"module": "keras.layers", "class_name": "Dense"}"#;
        assert_eq!(scan_named(module_first, "x.json").0, KERAS_CONFIG);
    }

    #[test]
    fn tokenizer_configs_go_to_the_chat_template_check() {
        let tokenizer = r#"{"bos_token": "<s>", "chat_template": "{% for m in messages %}{{ m['content'] }}{% endfor %}", "model_max_length": 2048}"#;
        let (label, findings) = scan_named(tokenizer, "tokenizer_config.json");
        assert_eq!(label, TOKENIZER_CONFIG);
        assert!(findings.is_empty(), "{findings:?}");

        // Adding a chat template does not steer a Keras config past the Keras check.
        let both = KERAS3_LAMBDA.replacen('{', r#"{"chat_template": "hi", "#, 1);
        let (label, findings) = scan_named(&both, "config.json");
        assert_eq!(label, KERAS_CONFIG);
        assert!(findings.contains(&"keras/lambda-layer"));
    }

    #[test]
    fn other_json_is_plain_and_clean() {
        let hf = r#"{"architectures": ["LlamaForCausalLM"], "hidden_size": 4096, "model_type": "llama", "torch_dtype": "bfloat16"}"#;
        assert_eq!(scan_named(hf, "config.json"), (PLAIN_JSON, NONE));
        assert_eq!(
            scan_named("[1, 2, {\"class_name\": 1, \"config\": 2}]", "x.json"),
            (PLAIN_JSON, NONE)
        );
        // A nested class_name/config pair does not make a Keras config.
        assert_eq!(
            scan_named(r#"{"a": {"class_name": "X", "config": {}}}"#, "x.json").0,
            PLAIN_JSON
        );
    }

    #[test]
    fn invalid_json_is_malformed_only_for_model_configs() {
        for name in ["config.json", "dir/adapter_config.json", "MODEL.JSON"] {
            let (label, findings) = scan_named("{\"hidden_size\": 4096,", name);
            assert_eq!(label, PLAIN_JSON);
            assert_eq!(findings, ["scan/malformed"], "{name}");
        }
        assert_eq!(scan_named("{\"a\": 1} trailing", "config.json").1.len(), 1);
        assert_eq!(scan_named("{\"a\": ", "vocab.json"), (PLAIN_JSON, NONE));
        // A broken Keras config is reported by the Keras check.
        let (label, findings) =
            scan_named("{\"class_name\": \"Sequential\", \"config\": {", "x.json");
        assert_eq!(label, KERAS_CONFIG);
        assert_eq!(findings, ["scan/malformed"]);
    }

    #[test]
    fn only_the_header_window_is_sniffed() {
        let limits = Limits {
            max_header_bytes: 64,
            ..Limits::default()
        };
        let big = format!(r#"{{"model_type": "llama", "pad": "{}"}}"#, "x".repeat(200));
        let mut out = Vec::new();
        assert_eq!(
            scan(
                big.as_bytes(),
                &Location::file("vocab.json"),
                &limits,
                &mut out
            ),
            PLAIN_JSON
        );
        assert!(out.is_empty());
        assert_eq!(
            scan(
                big.as_bytes(),
                &Location::file("config.json"),
                &limits,
                &mut out
            ),
            PLAIN_JSON
        );
        assert_eq!(ids(&out), ["scan/limit-exceeded"]);
        // Keys before the cut still identify a Keras config, whose own check reports the limit.
        let keras = format!(
            r#"{{"class_name": "Sequential", "config": {{"name": "{}"}}}}"#,
            "x".repeat(200)
        );
        let mut out = Vec::new();
        assert_eq!(
            scan(
                keras.as_bytes(),
                &Location::file("config.json"),
                &limits,
                &mut out
            ),
            KERAS_CONFIG
        );
        assert_eq!(ids(&out), ["scan/limit-exceeded"]);
    }

    #[test]
    fn sniffs_keys() {
        let (keys, parsed) =
            top_level_keys(br#"{"module": 1, "x": [1, {"config": 2}], "class_name": "A"}"#);
        assert!(parsed.is_ok());
        assert_eq!(
            keys,
            TopKeys {
                class_name: true,
                config: false,
                module: true,
                chat_template: false
            }
        );
        let (keys, parsed) = top_level_keys(br#"{"chat_template": "x", "#);
        assert!(parsed.is_err());
        assert!(keys.chat_template);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut out = Vec::new();
            let _ = scan(&data, &Location::file("config.json"), &Limits::default(), &mut out);
        }
    }
}
