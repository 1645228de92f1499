//! Keras model configs: the Keras 3 `config.json` of a `.keras` archive, the Keras 2
//! `model_config` / `training_config` root attributes of an `.h5` file, and the layer
//! metadata of a SavedModel's `keras_metadata.pb`.
//!
//! Loading a config instantiates whatever it names. The checks walk the whole JSON tree
//! (nested models, wrappers, initializers, optimizers, compile configs) and report:
//! `Lambda` layers carrying marshalled Python bytecode, objects whose `module` or function
//! name reaches outside Keras, custom objects that need user code, and layers that make
//! the loader open files or URLs. Bytecode is decoded only far enough to list the names
//! and strings it mentions; it is never unmarshalled or run.

use base64::Engine as _;
use rampart_core::rules::{LIMIT_EXCEEDED, MALFORMED};
use rampart_core::{Finding, Limits, Location, Reference, Rule, Severity};
use serde_json::{Map, Value};

use crate::hdf5;
use crate::protobuf::quote;

pub static KERAS_LAMBDA_LAYER: Rule = Rule {
    id: "keras/lambda-layer",
    scanner: "model",
    severity: Severity::Critical,
    title: "Keras Lambda layer carries Python bytecode",
    description: "A `Lambda` layer (Keras 2 `function` with `function_type: lambda`, or a \
                  Keras 3 `__lambda__` function) stores marshalled Python bytecode. Keras \
                  unmarshals and runs it when the model is loaded without safe mode, and \
                  before Keras 2.13 even with it (CVE-2024-3660), so the model runs arbitrary \
                  code such as `os.system`. The evidence lists the names and strings the code \
                  mentions.",
    remediation: "Do not load the model. If you own it, replace the Lambda with a registered \
                  custom layer whose code you ship and review separately, and re-export.",
    references: &[
        Reference::Cwe(94),
        Reference::Advisory("CVE-2024-3660"),
        Reference::Atlas("AML.T0010.003"),
        Reference::Atlas("AML.T0011.000"),
        Reference::Owasp("ML06:2023"),
    ],
};

pub static KERAS_UNSAFE_MODULE_REFERENCE: Rule = Rule {
    id: "keras/unsafe-module-reference",
    scanner: "model",
    severity: Severity::Critical,
    title: "Keras config imports a dangerous Python module or function",
    description: "An object in the config names a `module` such as `os`, `subprocess`, \
                  `builtins` or `importlib`, or a function such as `eval`, `system` or \
                  `keras.utils.get_file`. Keras imports the module and calls the function \
                  while deserialising, which bypassed `safe_mode` before Keras 3.9 \
                  (CVE-2025-1550) and, through Keras' own file download and configuration \
                  helpers, in later versions (CVE-2025-8747, CVE-2025-9906).",
    remediation: "Do not load the model. Configs of legitimate models only reference `keras.*` \
                  (or keras_hub / keras_cv) objects; upgrade Keras and re-export the model \
                  from a trusted source.",
    references: &[
        Reference::Cwe(502),
        Reference::Cwe(94),
        Reference::Advisory("CVE-2025-1550"),
        Reference::Advisory("CVE-2025-8747"),
        Reference::Advisory("CVE-2025-9906"),
        Reference::Atlas("AML.T0010.003"),
        Reference::Atlas("AML.T0050"),
        Reference::Owasp("ML06:2023"),
    ],
};

pub static KERAS_CUSTOM_OBJECT: Rule = Rule {
    id: "keras/custom-object",
    scanner: "model",
    severity: Severity::Medium,
    title: "Keras config needs custom code to load",
    description: "An object comes from a module outside Keras or is a registered custom object \
                  (`registered_name` / `class_name` like `MyPackage>MyLayer`). Loading the \
                  model imports that module or needs the user to supply the class, so the \
                  model's behaviour depends on code that is not in the file (medium: the code \
                  must already be installed, but whoever tells you to install it controls \
                  what runs).",
    remediation: "Find the package that defines the object, review it, and install it from a \
                  trusted source before loading; prefer models built from stock Keras layers.",
    references: &[
        Reference::Cwe(829),
        Reference::Atlas("AML.T0010.003"),
        Reference::Owasp("ML06:2023"),
    ],
};

pub static KERAS_EXTERNAL_RESOURCE: Rule = Rule {
    id: "keras/external-resource",
    scanner: "model",
    severity: Severity::High,
    title: "Keras config makes the loader open files or URLs",
    description: "A layer config points outside the model: a lookup layer whose `vocabulary` \
                  is a path or URL (read through tf.io.gfile while loading, even in safe mode: \
                  CVE-2025-12058), a `TFSMLayer` that loads a SavedModel, i.e. another graph, \
                  from `filepath` (CVE-2026-1462), or a layer name shaped like a path, which \
                  Keras uses to build file names when saving and loading weights.",
    remediation: "Do not load the model where it can reach secrets or internal services. \
                  Ship vocabularies inside the model (as lists) and re-export the model \
                  without external references.",
    references: &[
        Reference::Cwe(22),
        Reference::Cwe(918),
        Reference::Advisory("CVE-2025-12058"),
        Reference::Advisory("CVE-2026-1462"),
        Reference::Atlas("AML.T0010.003"),
        Reference::Owasp("ML06:2023"),
    ],
};

/// Packages whose objects Keras deserialises without custom code.
const KERAS_PACKAGES: &[&str] = &[
    "keras",
    "keras_core",
    "keras_nlp",
    "keras_hub",
    "keras_cv",
    "keras_rs",
    "tf_keras",
    "tensorflow.keras",
    "tensorflow.python.keras",
];

/// Modules whose import or functions give code execution, file or network access. Matched
/// on the top-level package, so `os.path` and `importlib.util` count too.
const DANGEROUS_MODULES: &[&str] = &[
    "builtins",
    "__builtin__",
    "os",
    "posix",
    "nt",
    "subprocess",
    "sys",
    "importlib",
    "runpy",
    "pickle",
    "_pickle",
    "cPickle",
    "dill",
    "cloudpickle",
    "joblib",
    "marshal",
    "shutil",
    "socket",
    "pty",
    "ctypes",
    "code",
    "codeop",
    "commands",
    "platform",
    "pdb",
    "bdb",
    "timeit",
    "cProfile",
    "profile",
    "trace",
    "webbrowser",
    "urllib",
    "urllib2",
    "urllib3",
    "requests",
    "httpx",
    "http",
    "httplib",
    "ftplib",
    "smtplib",
    "telnetlib",
    "asyncio",
    "multiprocessing",
    "types",
    "pkgutil",
    "pydoc",
    "operator",
    "_operator",
    "functools",
    "io",
    "_io",
    "pathlib",
    "tempfile",
    "glob",
    "zipimport",
    "site",
    "ensurepip",
    "pip",
    "venv",
    "signal",
    "threading",
    "_thread",
    "_posixsubprocess",
];

/// Function or class names that execute, import, or touch files whatever module they are
/// taken from (including Keras' own `get_file` and `enable_unsafe_deserialization`).
const DANGEROUS_NAMES: &[&str] = &[
    "eval",
    "exec",
    "compile",
    "__import__",
    "import_module",
    "system",
    "popen",
    "Popen",
    "spawnl",
    "spawnv",
    "spawnve",
    "execl",
    "execv",
    "execve",
    "execvp",
    "fork",
    "getattr",
    "setattr",
    "delattr",
    "globals",
    "locals",
    "vars",
    "open",
    "breakpoint",
    "input",
    "run",
    "call",
    "check_call",
    "check_output",
    "getoutput",
    "getstatusoutput",
    "loads",
    "load",
    "rmtree",
    "remove",
    "unlink",
    "rename",
    "write_file",
    "read_file",
    "get_file",
    "enable_unsafe_deserialization",
    "load_model",
    "run_path",
    "run_module",
    "apply",
    "__getattribute__",
    "__reduce__",
];

/// Keras optimizers that tf.keras 2.11–2.15 registered under the `Custom>` package.
const KERAS_CUSTOM_PACKAGE_OPTIMIZERS: &[&str] = &[
    "Adam",
    "AdamW",
    "SGD",
    "RMSprop",
    "Adagrad",
    "Adadelta",
    "Adamax",
    "Nadam",
    "Ftrl",
    "Lion",
    "Adafactor",
    "LossScaleOptimizer",
];

/// Layers whose `vocabulary` may be a file path read at load time.
const LOOKUP_LAYERS: &[&str] = &[
    "StringLookup",
    "IntegerLookup",
    "IndexLookup",
    "TextVectorization",
];

/// How many names from decoded bytecode go into the evidence.
const CODE_NAMES_LISTED: usize = 24;
const QUOTE_MAX: usize = 200;

/// Scans a Keras config (Keras 3 `config.json`, Keras 2 `model_config` or
/// `training_config`, or a `keras_metadata.pb` layer record). JSON larger than
/// `limits.max_header_bytes` is not parsed and is reported as a limit.
pub fn scan_config(json: &[u8], location: &Location, limits: &Limits, out: &mut Vec<Finding>) {
    if json.len() as u64 > limits.max_header_bytes {
        out.push(Finding::new(
            &LIMIT_EXCEEDED,
            location.clone(),
            format!(
                "Keras config of {} bytes is larger than limits.max_header_bytes ({}); it was \
                 not scanned",
                json.len(),
                limits.max_header_bytes
            ),
        ));
        return;
    }
    let value: Value = match serde_json::from_slice(json) {
        Ok(value) => value,
        Err(e) => {
            let rule = if e.to_string().contains("recursion limit") {
                &LIMIT_EXCEEDED
            } else {
                &MALFORMED
            };
            out.push(Finding::new(
                rule,
                location.clone(),
                format!("Keras config is not valid JSON: {e}"),
            ));
            return;
        }
    };
    let mut walk = ConfigWalk {
        location,
        out,
        path: Vec::new(),
    };
    walk.value(&value, None);
}

/// True when `prefix` holds the HDF5 signature at offset 0 or at a user-block boundary.
pub fn looks_like_hdf5(prefix: &[u8]) -> bool {
    hdf5::find_superblock(prefix).is_some()
}

/// Scans a Keras 2 `.h5` file: reads only the root group's `model_config` and
/// `training_config` attributes and checks them as Keras configs. Datasets (weights) are
/// never read. An HDF5 file without these attributes (a weights-only file) is clean.
pub fn scan_hdf5(data: &[u8], location: &Location, limits: &Limits, out: &mut Vec<Finding>) {
    let attributes = hdf5::root_text_attributes(data, &["model_config", "training_config"], limits);
    for attribute in attributes.found {
        let at = location.at(attribute.offset);
        match attribute.text {
            Ok(text) => scan_config(text, &at, limits, out),
            Err(e) => out.push(Finding::new(
                &MALFORMED,
                at,
                format!(
                    "HDF5 root attribute `{}` could not be read: {e}",
                    attribute.name
                ),
            )),
        }
    }
    if let Some(e) = attributes.error {
        out.push(e.to_finding(location));
    }
}

#[derive(Clone, Copy)]
enum Segment<'v> {
    Key(&'v str),
    Index(usize),
}

struct ConfigWalk<'v, 'o> {
    location: &'o Location,
    out: &'o mut Vec<Finding>,
    path: Vec<Segment<'v>>,
}

impl<'v> ConfigWalk<'v, '_> {
    /// `owner` is the name of the innermost enclosing layer, for messages.
    fn value(&mut self, value: &'v Value, owner: Option<&'v str>) {
        match value {
            Value::Object(map) => {
                let owner = map
                    .get("config")
                    .and_then(|c| c.get("name"))
                    .and_then(Value::as_str)
                    .or(owner);
                self.object(map, owner);
                for (key, child) in map {
                    self.path.push(Segment::Key(key));
                    self.value(child, owner);
                    self.path.pop();
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    self.path.push(Segment::Index(i));
                    self.value(child, owner);
                    self.path.pop();
                }
            }
            _ => {}
        }
    }

    fn path_text(&self) -> String {
        let mut out = String::new();
        for segment in &self.path {
            match segment {
                Segment::Key(key) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(&quote(key, 64));
                }
                Segment::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        if out.is_empty() {
            out.push_str("(top level)");
        }
        out
    }

    fn report(&mut self, rule: &'static Rule, message: String, evidence: String) {
        self.out
            .push(Finding::new(rule, self.location.clone(), message).with_evidence(evidence));
    }

    fn object(&mut self, map: &'v Map<String, Value>, owner: Option<&'v str>) {
        let class_name = map.get("class_name").and_then(Value::as_str);
        let config = map.get("config");
        let config_field = |key: &str| config.and_then(|c| c.get(key));
        let layer = owner
            .map(|o| quote(o, QUOTE_MAX))
            .unwrap_or_else(|| "?".to_owned());

        match class_name {
            Some("__lambda__") => {
                let code = config_field("code").and_then(Value::as_str);
                self.lambda(&layer, &[code], "Keras 3");
            }
            Some("Lambda") => self.keras2_lambda(map, &layer),
            _ => {}
        }

        if let (Some(module), Some(class_name)) =
            (map.get("module").and_then(Value::as_str), class_name)
        {
            let name = if class_name == "function" {
                config
                    .and_then(Value::as_str)
                    .or_else(|| map.get("registered_name").and_then(Value::as_str))
                    .unwrap_or(class_name)
            } else {
                class_name
            };
            if self.module_reference(module, name, class_name) {
                return;
            }
        }
        if let Some(class_name) = class_name {
            self.file_references(class_name, &config_field, &layer);
        }
        let registered = map
            .get("registered_name")
            .and_then(Value::as_str)
            .filter(|r| r.contains('>'))
            .or(class_name.filter(|c| c.contains('>')));
        if let Some(registered) = registered
            && let Some((package, name)) = registered.split_once('>')
            && !is_keras_package(package)
            && !(package == "Custom" && KERAS_CUSTOM_PACKAGE_OPTIMIZERS.contains(&name))
        {
            let message = format!(
                "Object at `{}` is the registered custom object `{}`: loading the model needs \
                 the code that defines it",
                self.path_text(),
                quote(registered, QUOTE_MAX)
            );
            self.report(
                &KERAS_CUSTOM_OBJECT,
                message,
                format!("registered_name={}", quote(registered, QUOTE_MAX)),
            );
        }
    }

    /// Checks a Keras 3 `{module, class_name}` reference; returns whether it was reported.
    fn module_reference(&mut self, module: &str, name: &str, class_name: &str) -> bool {
        let top = module.split('.').next().unwrap_or(module);
        let dangerous_name = DANGEROUS_NAMES.contains(&name);
        let evidence = format!(
            "module={} name={}",
            quote(module, QUOTE_MAX),
            quote(name, QUOTE_MAX)
        );
        if dangerous_name || DANGEROUS_MODULES.contains(&top) {
            let message = format!(
                "Object at `{}` makes Keras import `{}` and use `{}` while loading the model",
                self.path_text(),
                quote(module, QUOTE_MAX),
                quote(name, QUOTE_MAX)
            );
            self.report(&KERAS_UNSAFE_MODULE_REFERENCE, message, evidence);
            return true;
        }
        // Keras 3 records a TypeSpec's own TensorFlow module.
        let is_type_spec = class_name == "__typespec__" && top == "tensorflow";
        if is_keras_package(module) || is_type_spec {
            return false;
        }
        let message = format!(
            "Object at `{}` comes from module `{}`, outside Keras: loading the model imports it",
            self.path_text(),
            quote(module, QUOTE_MAX)
        );
        self.report(&KERAS_CUSTOM_OBJECT, message, evidence);
        true
    }

    /// Keras 2 `Lambda`: `function` is base64 bytecode (a string or a `[code, defaults,
    /// closure]` list) when `function_type` is `lambda`, or a function name otherwise.
    /// Keras 3 Lambdas hold a `__lambda__` object instead, handled where it is visited.
    fn keras2_lambda(&mut self, map: &'v Map<String, Value>, layer: &str) {
        let Some(config) = map.get("config") else {
            return;
        };
        let field = |key: &str| config.get(key);
        let code_of = |value: Option<&'v Value>| match value {
            Some(Value::String(s)) => Some(s.as_str()),
            Some(Value::Array(items)) => items.first().and_then(Value::as_str),
            _ => None,
        };
        let function = field("function");
        if !matches!(function, Some(Value::String(_) | Value::Array(_))) {
            return;
        }
        let function_type = field("function_type").and_then(Value::as_str);
        let output_type = field("output_shape_type").and_then(Value::as_str);
        let mut codes = Vec::new();
        if function_type == Some("lambda")
            || (function_type.is_none() && function.is_some_and(Value::is_array))
        {
            codes.push(code_of(function));
        }
        if output_type == Some("lambda") {
            codes.push(code_of(field("output_shape")));
        }
        if !codes.is_empty() {
            self.lambda(layer, &codes, "Keras 2");
        } else if let Some(name) = function.and_then(Value::as_str) {
            let module = field("module").and_then(Value::as_str).unwrap_or("?");
            let dangerous = DANGEROUS_NAMES.contains(&name);
            let rule = if dangerous {
                &KERAS_UNSAFE_MODULE_REFERENCE
            } else {
                &KERAS_CUSTOM_OBJECT
            };
            let message = format!(
                "Lambda layer `{layer}` at `{}` calls the function `{}` looked up by name when \
                 the model is loaded",
                self.path_text(),
                quote(name, QUOTE_MAX)
            );
            let evidence = format!(
                "layer={layer} module={} function={}",
                quote(module, QUOTE_MAX),
                quote(name, QUOTE_MAX)
            );
            self.report(rule, message, evidence);
        }
    }

    fn lambda(&mut self, layer: &str, codes: &[Option<&str>], flavour: &str) {
        let mut names: Vec<String> = Vec::new();
        let mut undecodable = false;
        for code in codes {
            match code.and_then(decode_base64) {
                Some(bytes) => {
                    for name in marshal_strings(&bytes) {
                        if !names.contains(&name) {
                            names.push(name);
                        }
                    }
                }
                None => undecodable = true,
            }
        }
        let alarming: Vec<&str> = names
            .iter()
            .map(String::as_str)
            .filter(|n| DANGEROUS_NAMES.contains(n) || DANGEROUS_MODULES.contains(n))
            .collect();
        let mut message = format!(
            "{flavour} Lambda layer `{layer}` at `{}` carries marshalled Python bytecode that \
             runs when the model is loaded",
            self.path_text()
        );
        if !alarming.is_empty() {
            message.push_str(&format!("; the code references {}", alarming.join(", ")));
        }
        let mut listed: Vec<String> = names.iter().take(CODE_NAMES_LISTED).cloned().collect();
        if names.len() > CODE_NAMES_LISTED {
            listed.push("…".to_owned());
        }
        let mut evidence = format!("layer={layer} code names=[{}]", listed.join(", "));
        if undecodable {
            evidence.push_str(" (some code is not valid base64)");
        }
        self.report(&KERAS_LAMBDA_LAYER, message, evidence);
    }

    fn file_references(
        &mut self,
        class_name: &str,
        config_field: &dyn Fn(&str) -> Option<&'v Value>,
        layer: &str,
    ) {
        let path = self.path_text();
        if LOOKUP_LAYERS.contains(&class_name)
            && let Some(vocabulary) = config_field("vocabulary").and_then(Value::as_str)
            && !vocabulary.is_empty()
        {
            let vocabulary = quote(vocabulary, QUOTE_MAX);
            self.report(
                &KERAS_EXTERNAL_RESOURCE,
                format!(
                    "{class_name} layer `{layer}` at `{path}` reads its vocabulary from \
                     `{vocabulary}` while the model loads"
                ),
                format!("layer={layer} vocabulary={vocabulary}"),
            );
        }
        if class_name == "TFSMLayer" {
            let filepath = config_field("filepath")
                .and_then(Value::as_str)
                .map(|p| quote(p, QUOTE_MAX))
                .unwrap_or_default();
            self.report(
                &KERAS_EXTERNAL_RESOURCE,
                format!(
                    "TFSMLayer `{layer}` at `{path}` loads a TensorFlow SavedModel (its graph \
                     runs as part of this model) from `{filepath}`"
                ),
                format!("layer={layer} filepath={filepath}"),
            );
        }
        if let Some(name) = config_field("name").and_then(Value::as_str)
            && looks_like_path(name)
        {
            let name = quote(name, QUOTE_MAX);
            self.report(
                &KERAS_EXTERNAL_RESOURCE,
                format!(
                    "Layer at `{path}` is named `{name}`, a path: Keras builds weight file \
                     names from layer names"
                ),
                format!("layer name={name}"),
            );
        }
    }
}

fn is_keras_package(module: &str) -> bool {
    KERAS_PACKAGES.iter().any(|package| {
        module == *package
            || module
                .strip_prefix(package)
                .is_some_and(|rest| rest.starts_with('.'))
    })
}

/// A layer name that would climb out of a directory when used as a file name.
fn looks_like_path(name: &str) -> bool {
    let name = name.replace('\\', "/");
    name.starts_with('/') || name.split('/').any(|segment| segment == "..")
}

fn decode_base64(text: &str) -> Option<Vec<u8>> {
    // `func_dump` uses codecs' base64, which wraps lines every 76 characters.
    let cleaned: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(cleaned)
        .ok()
}

/// The printable strings in a marshalled code object: names (`os`, `system`), constants
/// (`'id'`), file and function names. The marshal stream is scanned for string records
/// (`z`/`Z` short ASCII, `a`/`A`/`u`/`t` with a 32-bit length; `0x80` marks a reference
/// slot) rather than unmarshalled, so it works across Python versions and never builds
/// objects. Non-printable payloads (the bytecode itself) are skipped.
fn marshal_strings(code: &[u8]) -> Vec<String> {
    const MAX_STRING: usize = 256;
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < code.len() {
        let kind = code[i] & 0x7f;
        let (header, length) = match kind {
            b'z' | b'Z' => (2, code.get(i + 1).map(|&n| usize::from(n))),
            b'a' | b'A' | b'u' | b't' => (
                5,
                code.get(i + 1..i + 5)
                    .and_then(|b| <[u8; 4]>::try_from(b).ok())
                    .map(|b| u32::from_le_bytes(b) as usize),
            ),
            _ => (1, None),
        };
        let text = length
            .filter(|&n| (1..=MAX_STRING).contains(&n))
            .and_then(|n| code.get(i + header..i + header + n))
            .filter(|bytes| bytes.iter().all(|b| (0x20..0x7f).contains(b)))
            .and_then(|bytes| std::str::from_utf8(bytes).ok());
        match text {
            Some(text) => {
                if !out.iter().any(|s| s == text) {
                    out.push(text.to_owned());
                }
                i += header + text.len();
            }
            None => i += 1,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::fixture;
    use proptest::prelude::*;
    use std::path::PathBuf;

    fn scan_json(json: &str) -> Vec<Finding> {
        let mut out = Vec::new();
        scan_config(
            json.as_bytes(),
            &Location::file("config.json"),
            &Limits::default(),
            &mut out,
        );
        out
    }

    fn scan_h5(data: &[u8]) -> Vec<Finding> {
        let mut out = Vec::new();
        scan_hdf5(
            data,
            &Location::file("model.h5"),
            &Limits::default(),
            &mut out,
        );
        out
    }

    fn ids(findings: &[Finding]) -> Vec<&'static str> {
        findings.iter().map(|f| f.rule.id).collect()
    }

    /// A Keras 3 `config.json` as `model.save("m.keras")` writes it for a small functional
    /// model: input, conv, batch norm, LSTM via Reshape, dense with regularizer, compile
    /// config with optimizer, loss and metrics objects.
    const KERAS3_FUNCTIONAL: &str = r#"{
      "module": "keras.src.models.functional", "class_name": "Functional", "registered_name": "Functional",
      "config": {"name": "functional", "trainable": true, "layers": [
        {"module": "keras.layers", "class_name": "InputLayer", "registered_name": null,
         "config": {"batch_shape": [null, 8, 8, 1], "dtype": "float32", "sparse": false, "name": "input_layer"}, "inbound_nodes": []},
        {"module": "keras.layers", "class_name": "Conv2D", "registered_name": null, "name": "conv2d",
         "config": {"name": "conv2d", "trainable": true,
           "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null},
           "filters": 4, "kernel_size": [3, 3], "strides": [1, 1], "padding": "valid", "data_format": "channels_last",
           "dilation_rate": [1, 1], "groups": 1, "activation": "relu", "use_bias": true,
           "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null}, "registered_name": null},
           "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null},
           "kernel_regularizer": {"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.01}, "registered_name": null},
           "bias_regularizer": null, "activity_regularizer": null, "kernel_constraint": null, "bias_constraint": null},
         "build_config": {"input_shape": [null, 8, 8, 1]},
         "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"shape": [null, 8, 8, 1], "dtype": "float32", "keras_history": ["input_layer", 0, 0]}}], "kwargs": {}}]},
        {"module": "keras.layers", "class_name": "BatchNormalization", "registered_name": null,
         "config": {"name": "batch_normalization", "axis": -1, "momentum": 0.99, "epsilon": 0.001, "center": true, "scale": true,
           "beta_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null},
           "gamma_initializer": {"module": "keras.initializers", "class_name": "Ones", "config": {}, "registered_name": null},
           "moving_mean_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null},
           "moving_variance_initializer": {"module": "keras.initializers", "class_name": "Ones", "config": {}, "registered_name": null}}},
        {"module": "keras.layers", "class_name": "Reshape", "registered_name": null,
         "config": {"name": "reshape", "target_shape": {"class_name": "__tuple__", "config": {"value": [36, 4]}}}},
        {"module": "keras.layers", "class_name": "Bidirectional", "registered_name": null,
         "config": {"name": "bidirectional", "merge_mode": "concat",
           "layer": {"module": "keras.layers", "class_name": "LSTM", "registered_name": null,
             "config": {"name": "forward_lstm", "units": 8, "activation": "tanh", "recurrent_activation": "sigmoid",
               "recurrent_initializer": {"module": "keras.initializers", "class_name": "Orthogonal", "config": {"seed": null, "gain": 1.0}, "registered_name": null}}}}},
        {"module": "keras.layers", "class_name": "Dense", "registered_name": null,
         "config": {"name": "dense", "units": 3, "activation": "softmax",
           "kernel_initializer": {"module": "keras.initializers", "class_name": "HeNormal", "config": {"seed": 42}, "registered_name": null}}}
      ],
      "input_layers": [["input_layer", 0, 0]], "output_layers": [["dense", 0, 0]]},
      "build_config": {"input_shape": null},
      "compile_config": {
        "optimizer": {"module": "keras.optimizers", "class_name": "Adam", "config": {"name": "adam", "learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": false}, "registered_name": null},
        "loss": {"module": "keras.losses", "class_name": "CategoricalCrossentropy", "config": {"name": "categorical_crossentropy", "reduction": "sum_over_batch_size", "from_logits": false}, "registered_name": null},
        "loss_weights": null,
        "metrics": [{"module": "keras.metrics", "class_name": "function", "config": "categorical_accuracy", "registered_name": "categorical_accuracy"}],
        "weighted_metrics": null, "run_eagerly": false, "steps_per_execution": 1, "jit_compile": false},
      "preprocessing": {"module": "keras_hub.src.models.gemma.gemma_causal_lm_preprocessor", "class_name": "GemmaCausalLMPreprocessor", "registered_name": "keras_hub>GemmaCausalLMPreprocessor", "config": {"name": "p"}},
      "spec": {"class_name": "__typespec__", "spec_name": "TensorSpec", "module": "tensorflow.python.framework.tensor", "config": [[null, 4], "float32", null], "registered_name": null}
    }"#;

    /// A tf.keras 2.x `model_config` for a Sequential model with a nested Sequential and a
    /// TimeDistributed wrapper, plus the `training_config` tf 2.11+ writes (`Custom>Adam`).
    const KERAS2_SEQUENTIAL: &str = r#"{"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 5, 4], "dtype": "float32", "sparse": false, "ragged": false, "name": "input_1"}},
        {"class_name": "TimeDistributed", "config": {"name": "td", "layer": {"class_name": "Dense", "config": {"name": "dense", "units": 4, "activation": "relu",
          "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": null}}, "kernel_regularizer": {"class_name": "L1L2", "config": {"l1": 0.0, "l2": 0.01}}}}}},
        {"class_name": "Sequential", "config": {"name": "inner", "layers": [{"class_name": "Dropout", "config": {"name": "dropout", "rate": 0.5}}]}},
        {"class_name": "Flatten", "config": {"name": "flatten", "data_format": "channels_last"}},
        {"class_name": "StringLookup", "config": {"name": "lookup", "vocabulary": null, "num_oov_indices": 1}},
        {"class_name": "Activation", "config": {"name": "act", "activation": "softmax"}}
      ]}, "keras_version": "2.15.0", "backend": "tensorflow"}"#;

    const KERAS2_TRAINING: &str = r#"{"loss": "categorical_crossentropy", "metrics": [[{"class_name": "MeanMetricWrapper", "config": {"name": "accuracy", "dtype": "float32", "fn": "categorical_accuracy"}}]],
        "optimizer_config": {"class_name": "Custom>Adam", "config": {"name": "Adam", "learning_rate": 0.001, "is_legacy_optimizer": false}}}"#;

    #[test]
    fn benign_configs_are_clean() {
        for json in [KERAS3_FUNCTIONAL, KERAS2_SEQUENTIAL, KERAS2_TRAINING] {
            let findings = scan_json(json);
            assert!(findings.is_empty(), "{findings:?}");
        }
    }

    #[test]
    fn keras3_lambda_fixture_is_critical_with_names() {
        let findings =
            scan_json(std::str::from_utf8(&fixture("keras", "keras3_lambda_layer.json")).unwrap());
        assert_eq!(ids(&findings), ["keras/lambda-layer"]);
        let f = &findings[0];
        assert_eq!(f.severity, Severity::Critical);
        assert!(f.message.contains("config.function"), "{}", f.message);
        assert!(
            f.message
                .ends_with("the code references os, __import__, system"),
            "{}",
            f.message
        );
        let evidence = f.evidence.as_deref().unwrap();
        assert!(
            evidence
                == "layer=lambda code names=[os, id, __import__, system, x, <rampart-fixture>, <lambda>]",
            "{evidence}"
        );
    }

    #[test]
    fn keras2_lambda_forms() {
        let code = base64::engine::general_purpose::STANDARD
            .encode(b"\xe3\x00\x00\x00\xda\x02osZ\x06system\xfa\x02id");
        let as_list = format!(
            r#"{{"class_name": "Lambda", "config": {{"name": "l", "function": ["{code}", null, null], "function_type": "lambda", "module": "__main__"}}}}"#
        );
        let findings = scan_json(&as_list);
        assert_eq!(ids(&findings), ["keras/lambda-layer"]);
        assert!(findings[0].message.contains("os, system"));
        assert!(
            findings[0]
                .evidence
                .as_deref()
                .unwrap()
                .contains("code names=[os, system, id]")
        );

        let as_string = format!(
            r#"{{"class_name": "Lambda", "config": {{"name": "l", "function": "{code}", "function_type": "lambda"}}}}"#
        );
        assert_eq!(ids(&scan_json(&as_string)), ["keras/lambda-layer"]);

        let output_shape = format!(
            r#"{{"class_name": "Lambda", "config": {{"name": "l", "function": "relu", "function_type": "function", "output_shape": ["{code}", null, null], "output_shape_type": "lambda"}}}}"#
        );
        assert_eq!(ids(&scan_json(&output_shape)), ["keras/lambda-layer"]);

        let named = r#"{"class_name": "Lambda", "config": {"name": "l", "function": "my_fn", "function_type": "function", "module": "mylib"}}"#;
        assert_eq!(ids(&scan_json(named)), ["keras/custom-object"]);
        let named = r#"{"class_name": "Lambda", "config": {"name": "l", "function": "system", "function_type": "function", "module": "os"}}"#;
        assert_eq!(ids(&scan_json(named)), ["keras/unsafe-module-reference"]);

        let garbage = r#"{"class_name": "__lambda__", "config": {"code": "%%%"}}"#;
        let findings = scan_json(garbage);
        assert_eq!(ids(&findings), ["keras/lambda-layer"]);
        assert!(
            findings[0]
                .evidence
                .as_deref()
                .unwrap()
                .contains("not valid base64")
        );
    }

    #[test]
    fn cve_2025_1550_module_references() {
        // The published PoC shape: a function object naming an arbitrary module.
        let poc = r#"{"module": "keras.models", "class_name": "Sequential", "config": {"name": "s", "layers": [
            {"module": "keras.layers", "class_name": "Dense", "registered_name": null, "config": {"name": "d", "units": 1,
              "activation": {"module": "os", "class_name": "function", "config": "system", "registered_name": null}}}]}}"#;
        let findings = scan_json(poc);
        assert_eq!(ids(&findings), ["keras/unsafe-module-reference"]);
        assert_eq!(findings[0].severity, Severity::Critical);
        assert!(
            findings[0]
                .message
                .contains("config.layers[0].config.activation")
        );
        assert_eq!(
            findings[0].evidence.as_deref(),
            Some("module=os name=system")
        );

        for (module, class_name, config) in [
            ("subprocess", "Popen", r#"{"args": "id"}"#),
            ("builtins", "function", r#""exec""#),
            ("importlib.util", "function", r#""find_spec""#),
            ("keras.src.utils.file_utils", "function", r#""get_file""#),
            (
                "keras.config",
                "function",
                r#""enable_unsafe_deserialization""#,
            ),
            ("mylib", "function", r#""eval""#),
        ] {
            let json = format!(
                r#"{{"module": "{module}", "class_name": "{class_name}", "config": {config}}}"#
            );
            assert_eq!(
                ids(&scan_json(&json)),
                ["keras/unsafe-module-reference"],
                "{json}"
            );
        }
    }

    #[test]
    fn custom_objects_are_medium() {
        let custom = r#"{"module": "my_project.layers", "class_name": "CustomDense", "registered_name": "MyLayers>CustomDense", "config": {"name": "c"}}"#;
        let findings = scan_json(custom);
        assert_eq!(ids(&findings), ["keras/custom-object"]);
        assert_eq!(findings[0].severity, Severity::Medium);

        let keras2 = r#"{"class_name": "Addons>GELU", "config": {"name": "gelu"}}"#;
        assert_eq!(ids(&scan_json(keras2)), ["keras/custom-object"]);
        let custom_optimizer = r#"{"class_name": "Custom>MyOptimizer", "config": {}}"#;
        assert_eq!(ids(&scan_json(custom_optimizer)), ["keras/custom-object"]);
        // A module whose name only starts like keras is not keras.
        let lookalike = r#"{"module": "kerasx.layers", "class_name": "Dense", "config": {}}"#;
        assert_eq!(ids(&scan_json(lookalike)), ["keras/custom-object"]);
        let typespec_elsewhere =
            r#"{"module": "evil", "class_name": "__typespec__", "config": {}}"#;
        assert_eq!(ids(&scan_json(typespec_elsewhere)), ["keras/custom-object"]);
    }

    #[test]
    fn external_resources() {
        let vocabulary = r#"{"module": "keras.layers", "class_name": "StringLookup", "config": {"name": "s", "vocabulary": "/etc/passwd"}}"#;
        let findings = scan_json(vocabulary);
        assert_eq!(ids(&findings), ["keras/external-resource"]);
        assert!(findings[0].message.contains("/etc/passwd"));
        let list = r#"{"module": "keras.layers", "class_name": "StringLookup", "config": {"name": "s", "vocabulary": ["a", "b"]}}"#;
        assert!(scan_json(list).is_empty());

        let tfsm = r#"{"module": "keras.layers", "class_name": "TFSMLayer", "config": {"name": "t", "filepath": "/tmp/evil_savedmodel"}}"#;
        assert_eq!(ids(&scan_json(tfsm)), ["keras/external-resource"]);

        let name = r#"{"module": "keras.layers", "class_name": "Dense", "config": {"name": "../../../home/user/.bashrc"}}"#;
        assert_eq!(ids(&scan_json(name)), ["keras/external-resource"]);
    }

    #[test]
    fn invalid_and_oversized_json_fail_closed() {
        assert_eq!(ids(&scan_json("{\"class_name\": ")), ["scan/malformed"]);
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert_eq!(ids(&scan_json(&deep)), ["scan/limit-exceeded"]);
        let limits = Limits {
            max_header_bytes: 10,
            ..Limits::default()
        };
        let mut out = Vec::new();
        scan_config(
            KERAS2_TRAINING.as_bytes(),
            &Location::file("c.json"),
            &limits,
            &mut out,
        );
        assert_eq!(ids(&out), ["scan/limit-exceeded"]);
    }

    #[test]
    fn marshal_strings_skip_bytecode() {
        let code = b"\xe3\x01\x00\x00\x00\xa9\x00s\x08\x00\x00\x00\x97\x00t\x01\x00\x00\xda\x02osZ\x06system\xfa\x08<lambda>u\x03\x00\x00\x00x y";
        assert_eq!(marshal_strings(code), ["os", "system", "<lambda>", "x y"]);
        assert!(marshal_strings(b"z\x05ab").is_empty());
        assert!(marshal_strings(b"").is_empty());
    }

    #[test]
    fn hdf5_benign_files_are_clean() {
        for name in [
            "benign_keras2.h5",
            "benign_keras2_str_attrs.h5",
            "benign_keras2_latest.h5",
            "benign_userblock.h5",
        ] {
            let data = fixture("keras", name);
            assert!(looks_like_hdf5(&data[..data.len().min(2048)]), "{name}");
            let findings = scan_h5(&data);
            assert!(findings.is_empty(), "{name}: {findings:?}");
        }
    }

    #[test]
    fn hdf5_lambda_is_found_in_compact_and_dense_attributes() {
        for name in [
            "lambda_keras2.h5",
            "lambda_dense_attributes.h5",
            "many_attributes.h5",
        ] {
            let findings = scan_h5(&fixture("keras", name));
            assert_eq!(
                ids(&findings),
                ["keras/lambda-layer"],
                "{name}: {findings:?}"
            );
            assert!(
                findings[0]
                    .message
                    .contains("references os, __import__, system"),
                "{name}"
            );
            assert!(findings[0].location.offset.is_some(), "{name}");
        }
    }

    #[test]
    fn hdf5_truncated_and_garbage_fail_closed() {
        let findings = scan_h5(&fixture("keras", "truncated.h5"));
        assert_eq!(ids(&findings), ["scan/malformed"], "{findings:?}");
        assert_eq!(ids(&scan_h5(b"not hdf5 at all")), ["scan/malformed"]);
        assert!(!looks_like_hdf5(b"not hdf5 at all"));
    }

    /// Replays the seeds (and any kept crash reproducers) of this crate's graph-format fuzz
    /// targets, the way the targets call the parsers.
    #[test]
    fn fuzz_corpus_replays_without_panic() {
        let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
        let limits = Limits::default();
        let mut replayed = 0;
        for target in ["onnx", "savedmodel", "keras_hdf5", "keras_config"] {
            let dir = corpus.join(target);
            let entries =
                std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
            for entry in entries {
                let data = std::fs::read(entry.unwrap().path()).unwrap();
                let mut out = Vec::new();
                match target {
                    "onnx" => {
                        let _ = crate::onnx::looks_like_onnx(&data);
                        crate::onnx::scan(&data, &Location::file("f.onnx"), &limits, &mut out);
                    }
                    "savedmodel" => {
                        let _ = crate::savedmodel::looks_like_saved_model(&data);
                        for name in ["saved_model.pb", "keras_metadata.pb"] {
                            crate::savedmodel::scan(
                                &data,
                                &Location::file(name),
                                &limits,
                                &mut out,
                            );
                        }
                    }
                    "keras_hdf5" => {
                        let _ = looks_like_hdf5(&data);
                        scan_hdf5(&data, &Location::file("f.h5"), &limits, &mut out);
                    }
                    _ => scan_config(&data, &Location::file("config.json"), &limits, &mut out),
                }
                replayed += 1;
            }
        }
        assert!(replayed >= 11, "only {replayed} corpus files");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn arbitrary_config_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut out = Vec::new();
            scan_config(&data, &Location::file("c.json"), &Limits::default(), &mut out);
        }

        #[test]
        fn arbitrary_json_values_never_panic(json in r#"\{("(class_name|module|config|registered_name|function|function_type|name|code|vocabulary)": ("[a-z_.>]{0,12}"|\[\]|\{\}|null|"Lambda"|"__lambda__"|"lambda"), ){0,6}"x": 1\}"#) {
            let _ = scan_json(&json);
        }

        #[test]
        fn marshal_strings_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = marshal_strings(&data);
        }
    }
}
