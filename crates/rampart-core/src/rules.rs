//! The fail-closed rules every analyzer shares: a file that could not be fully scanned is
//! a finding, never a silent pass. All of them live under `scan/`, which is how
//! [`crate::Finding::marks_incomplete`] recognises them.

use crate::{Reference, Rule, Severity};

const UNSCANNED_REFS: &[Reference] = &[
    Reference::Cwe(693),
    Reference::Atlas("AML.T0010"),
    Reference::Owasp("ML06:2023"),
];

pub static MALFORMED: Rule = Rule {
    id: "scan/malformed",
    scanner: "model",
    severity: Severity::High,
    title: "File could not be parsed",
    description: "The file (or a member of it) is truncated or does not follow its format, so it \
                  could not be fully analysed. Loaders are often more lenient than scanners: a \
                  file that confuses the scanner may still load and run code.",
    remediation: "Do not load the file. Re-export it from a trusted source, or inspect it by hand \
                  before accepting it.",
    references: UNSCANNED_REFS,
};

pub static ENCRYPTED: Rule = Rule {
    id: "scan/encrypted",
    scanner: "model",
    severity: Severity::High,
    title: "Encrypted content cannot be scanned",
    description: "The file holds encrypted data, so its contents could not be inspected.",
    remediation: "Obtain the unencrypted artifact, scan it, and distribute it through a signed \
                  channel instead of an encrypted archive.",
    references: UNSCANNED_REFS,
};

pub static LIMIT_EXCEEDED: Rule = Rule {
    id: "scan/limit-exceeded",
    scanner: "model",
    severity: Severity::High,
    title: "A scan limit was reached",
    description: "The file exceeds a configured limit (size, nesting depth, member count, \
                  opcode count, metadata entries), so part of it was not scanned.",
    remediation: "Inspect why the file is so large or deep. If it is legitimate, raise the limit \
                  in rampart.toml under [limits] and scan again.",
    references: UNSCANNED_REFS,
};

pub static DECOMPRESSION_BOMB: Rule = Rule {
    id: "scan/decompression-bomb",
    scanner: "model",
    severity: Severity::High,
    title: "Decompression bomb",
    description: "A compressed stream expands far beyond plausible ratios or sizes; loading it \
                  would exhaust memory or disk.",
    remediation: "Reject the file. If it is legitimate, raise max_compression_ratio or \
                  max_decompressed_bytes under [limits].",
    references: &[Reference::Cwe(409), Reference::Atlas("AML.T0029")],
};

pub static UNKNOWN_FORMAT: Rule = Rule {
    id: "scan/unknown-format",
    scanner: "model",
    severity: Severity::High,
    title: "Model file of unknown format",
    description: "The file name says model (by extension), but its content matches no format \
                  rampart knows, so nothing in it was checked.",
    remediation: "Find out what produced the file. Convert models to a data-only format such as \
                  safetensors or GGUF.",
    references: UNSCANNED_REFS,
};

pub static UNREADABLE: Rule = Rule {
    id: "scan/unreadable",
    scanner: "model",
    severity: Severity::High,
    title: "File could not be read",
    description: "An I/O error (permissions, a file that vanished or changed during the scan) \
                  kept rampart from reading the file.",
    remediation: "Fix the permissions or re-run the scan when the file is stable.",
    references: UNSCANNED_REFS,
};

pub static INTERNAL_ERROR: Rule = Rule {
    id: "scan/internal-error",
    scanner: "model",
    severity: Severity::High,
    title: "Analyzer failed on this file",
    description: "An analyzer stopped unexpectedly on this file. The file was not fully scanned. \
                  This is a bug in rampart; the file may be crafted to trigger it.",
    remediation: "Treat the file as untrusted and report the problem to the rampart maintainers \
                  with the file if you can share it.",
    references: UNSCANNED_REFS,
};

pub static SYMLINK_OUTSIDE_TREE: Rule = Rule {
    id: "scan/symlink-outside-tree",
    scanner: "model",
    severity: Severity::High,
    title: "Symlink leads outside the scanned tree",
    description: "A symbolic link inside the scanned directory points outside it. rampart does not \
                  follow it, so whatever a loader would read through it was not scanned.",
    remediation: "Scan the link's target too (name it on the command line), or pass \
                  --follow-symlinks if the target is trusted to be part of the artifact.",
    references: UNSCANNED_REFS,
};

/// Every rule in this module, for `rampart rules`.
pub static RULES: &[&Rule] = &[
    &MALFORMED,
    &ENCRYPTED,
    &LIMIT_EXCEEDED,
    &DECOMPRESSION_BOMB,
    &UNKNOWN_FORMAT,
    &UNREADABLE,
    &INTERNAL_ERROR,
    &SYMLINK_OUTSIDE_TREE,
];
