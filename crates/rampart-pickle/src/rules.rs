//! The pickle rules. Malformed streams and exhausted limits use the shared
//! [`rampart_core::rules`] instead, so "could not fully scan" looks the same everywhere.

use rampart_core::{Reference, Rule, Severity};

const DESERIALIZATION: Reference = Reference::Cwe(502);
const UNSAFE_ARTIFACT: Reference = Reference::Atlas("AML.T0011.000");
const MODEL_SUPPLY_CHAIN: Reference = Reference::Atlas("AML.T0010.003");
const OWASP_SUPPLY_CHAIN: Reference = Reference::Owasp("ML06:2023");

pub static DISALLOWED_CALL: Rule = Rule {
    id: "pickle/disallowed-call",
    scanner: "model",
    severity: Severity::High,
    title: "Pickle calls a function outside the allowlist",
    description: "Loading the pickle calls (REDUCE, NEWOBJ, OBJ, INST) a function or class that \
                  ordinary ML pickles (PyTorch, NumPy, scikit-learn, pandas, joblib, XGBoost, \
                  LightGBM) never call. Unpickling runs such calls with attacker-chosen arguments, \
                  so the file can execute code as soon as it is loaded. Calls of known gadgets \
                  (os.system, builtins.eval, pkgutil.resolve_name, timeit, pip, nested \
                  pickle.loads, ...) are critical.",
    remediation: "Do not load the file with pickle, torch.load(weights_only=False) or joblib.load. \
                  Obtain the model in a data-only format (safetensors, ONNX, GGUF) or re-export it \
                  from a trusted source. If the callable is your own team's safe class, add it to \
                  `allow` under [pickle] in rampart.toml.",
    references: &[
        DESERIALIZATION,
        Reference::Cwe(94),
        UNSAFE_ARTIFACT,
        MODEL_SUPPLY_CHAIN,
        Reference::Atlas("AML.T0050"),
        OWASP_SUPPLY_CHAIN,
        Reference::Advisory("CVE-2025-1716"),
        Reference::Advisory("CVE-2025-10157"),
        Reference::Advisory("GHSA-vvpj-8cmc-gx39"),
        Reference::Advisory("GHSA-m273-6v24-x4m4"),
        Reference::Advisory("CVE-2026-56315"),
        Reference::Advisory("CVE-2026-56304"),
    ],
};

pub static DISALLOWED_IMPORT: Rule = Rule {
    id: "pickle/disallowed-import",
    scanner: "model",
    severity: Severity::Medium,
    title: "Pickle imports a global outside the allowlist",
    description: "The pickle names a module attribute (GLOBAL, STACK_GLOBAL) that ordinary ML \
                  pickles do not use, or instantiates such a class without calling its \
                  constructor (NEWOBJ, copyreg._reconstructor). Loading imports the module, which \
                  runs its top-level code, and restores the object's state through its class. A \
                  whole-model `torch.save(model)` of your own class looks like this; a denylisted \
                  global (os, subprocess, builtins.eval, ...) is critical.",
    remediation: "Check that the module is one you trust and that it is installed from a trusted \
                  source. Prefer saving state dicts over whole objects. To accept your own classes, \
                  add them to `allow` under [pickle] in rampart.toml (e.g. `mypkg.models.*`).",
    references: &[
        DESERIALIZATION,
        UNSAFE_ARTIFACT,
        MODEL_SUPPLY_CHAIN,
        OWASP_SUPPLY_CHAIN,
        Reference::Advisory("CVE-2025-10157"),
    ],
};

pub static DYNAMIC_GLOBAL: Rule = Rule {
    id: "pickle/dynamic-global",
    scanner: "model",
    severity: Severity::Critical,
    title: "Pickle computes the name of a global at load time",
    description: "A STACK_GLOBAL (or a resolver such as numpy's _ufunc_reconstruct) takes its \
                  module or attribute name from a value computed while loading, e.g. the result of \
                  `builtins.str.join`, rather than from a string literal. No static scanner can \
                  know what gets imported; legitimate pickles never do this. It is a known way to \
                  hide `os.system` from denylist scanners (modelscan #331).",
    remediation: "Do not load the file. Treat it as malicious and report its source.",
    references: &[
        DESERIALIZATION,
        Reference::Cwe(94),
        UNSAFE_ARTIFACT,
        MODEL_SUPPLY_CHAIN,
        OWASP_SUPPLY_CHAIN,
        Reference::Advisory("GHSA-9gvj-pp9x-gcfr"),
        Reference::Url("https://github.com/protectai/modelscan/issues/331"),
    ],
};

pub static DUNDER_ACCESS: Rule = Rule {
    id: "pickle/dunder-access",
    scanner: "model",
    severity: Severity::Critical,
    title: "Pickle reaches through dunder attributes or attribute chains",
    description: "A global's dotted name walks attributes instead of naming a module-level \
                  class or function: a dunder component (`numpy.__builtins__`, `__globals__`, \
                  `__subclasses__`, `__class__`) or a chain through a function or method \
                  (`numpy.size.shape`, `builtins.dict.get`). These walks lead from an innocent \
                  module to eval/exec and are known scanner bypasses (modelscan #89, #330).",
    remediation: "Do not load the file. Treat it as malicious and report its source.",
    references: &[
        DESERIALIZATION,
        Reference::Cwe(94),
        UNSAFE_ARTIFACT,
        MODEL_SUPPLY_CHAIN,
        OWASP_SUPPLY_CHAIN,
        Reference::Url("https://github.com/protectai/modelscan/issues/89"),
        Reference::Url("https://github.com/protectai/modelscan/issues/330"),
    ],
};

pub static BUILD_HIJACK: Rule = Rule {
    id: "pickle/build-hijack",
    scanner: "model",
    severity: Severity::Critical,
    title: "Pickle rewires an object through BUILD or mutates a module",
    description: "A BUILD sets state on a module or class object instead of a freshly created \
                  instance, a state dictionary assigns dunder attributes such as `__setstate__`, \
                  `__reduce__` or `__class__` (the next BUILD then calls the attacker's function), \
                  or SETITEM/APPEND mutate a module-level object. Legitimate pickles only restore \
                  plain attributes of new objects (modelscan #85).",
    remediation: "Do not load the file. Treat it as malicious and report its source.",
    references: &[
        DESERIALIZATION,
        Reference::Cwe(94),
        UNSAFE_ARTIFACT,
        MODEL_SUPPLY_CHAIN,
        OWASP_SUPPLY_CHAIN,
        Reference::Url("https://github.com/protectai/modelscan/issues/85"),
    ],
};

pub static EXTENSION_REGISTRY: Rule = Rule {
    id: "pickle/extension-registry",
    scanner: "model",
    severity: Severity::High,
    title: "Pickle imports through the copyreg extension registry",
    description: "EXT1/EXT2/EXT4 opcodes import whatever global is registered under a numeric \
                  code in copyreg's extension registry. A stock Python registry is empty, so no \
                  ordinary pickle uses them; in a process where some library registered codes, \
                  the code hides which global is imported.",
    remediation: "Do not load the file. Re-export it from a trusted source with a standard \
                  pickler, or better in a data-only format such as safetensors.",
    references: &[
        DESERIALIZATION,
        UNSAFE_ARTIFACT,
        MODEL_SUPPLY_CHAIN,
        OWASP_SUPPLY_CHAIN,
    ],
};

pub static NESTED_PICKLE: Rule = Rule {
    id: "pickle/nested-pickle",
    scanner: "model",
    severity: Severity::Info,
    title: "Pickle contains a nested pickle",
    description: "A bytes literal passed to pickle.loads (or an object array inlined by joblib) \
                  is itself a pickle, which loading unpickles too. rampart scanned it; findings \
                  inside it are reported at their own offsets. Nesting is a known way to hide a \
                  payload from scanners that read only the outer stream.",
    remediation: "Review the inner pickle's findings; nothing else to do if there are none.",
    references: &[
        DESERIALIZATION,
        UNSAFE_ARTIFACT,
        Reference::Advisory("GHSA-84r2-jw7c-4r5q"),
        Reference::Url("https://github.com/protectai/modelscan/issues/267"),
    ],
};

/// Every rule this crate reports, for `rampart rules`.
pub static RULES: &[&Rule] = &[
    &DISALLOWED_CALL,
    &DISALLOWED_IMPORT,
    &DYNAMIC_GLOBAL,
    &DUNDER_ACCESS,
    &BUILD_HIJACK,
    &EXTENSION_REGISTRY,
    &NESTED_PICKLE,
];
