//! Rules the pipeline itself reports, about how formats are combined in one file.

use rampart_core::{Reference, Rule, Severity};

pub static POLYGLOT: Rule = Rule {
    id: "format/polyglot",
    scanner: "model",
    severity: Severity::High,
    title: "File is valid as two formats at once",
    description: "The file parses as more than one format (for example a pickle with a zip \
                  archive appended). Different loaders and scanners pick different parts, which \
                  is a known way to slip a payload past a scanner (picklescan read only the zip). \
                  rampart scanned every part; findings in each are reported separately.",
    remediation: "Reject the file: no legitimate exporter writes polyglots. Re-export the model \
                  from its source in a single, data-only format.",
    references: &[
        Reference::Cwe(434),
        Reference::Atlas("AML.T0010.003"),
        Reference::Owasp("ML06:2023"),
        Reference::Advisory("CVE-2025-10155"),
    ],
};

pub static TRAILING_DATA: Rule = Rule {
    id: "format/trailing-data",
    scanner: "model",
    severity: Severity::Low,
    title: "Unexplained bytes after the end of the content",
    description: "Bytes follow the end of the file's format (for example after a pickle's STOP) \
                  that no loader reads. They are inert for standard loaders but are a common \
                  place to stash a second-stage payload.",
    remediation: "Check where the file came from; re-export it to drop the extra bytes.",
    references: &[Reference::Cwe(506), Reference::Atlas("AML.T0010.003")],
};

pub static EXTENSION_MISMATCH: Rule = Rule {
    id: "format/extension-mismatch",
    scanner: "model",
    severity: Severity::Medium,
    title: "Content does not match the file extension",
    description: "The file's name promises a data-only format (safetensors, GGUF, ONNX, NumPy), \
                  but its content is a format that can run code on load, such as a pickle. \
                  Tools that trust extensions will skip or mis-route it (CVE-2025-10155).",
    remediation: "Treat the file as its real format: it was scanned as such. Rename it or \
                  re-export it in the format its name claims.",
    references: &[
        Reference::Cwe(646),
        Reference::Atlas("AML.T0010.003"),
        Reference::Advisory("CVE-2025-10155"),
    ],
};

pub static RULES: &[&Rule] = &[&POLYGLOT, &TRAILING_DATA, &EXTENSION_MISMATCH];
