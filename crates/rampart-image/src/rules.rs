//! Rules for what is wrong with an image's structure. Layer contents (models, secrets,
//! packages) are the business of the scanners the files are handed to.

use rampart_core::{Reference, Rule, Severity};

pub static BLOB_DIGEST_MISMATCH: Rule = Rule {
    id: "image/blob-digest-mismatch",
    scanner: "model",
    severity: Severity::High,
    title: "Image layer does not match its digest",
    description: "A layer's bytes (or its uncompressed tar) do not hash to the digest the manifest or \
                  the image config records for it, or no digest covers it at all. The layer was \
                  altered after the image was built, or the image was assembled by hand: what a \
                  registry or runtime verifies is not what this layer contains.",
    remediation: "Do not run the image. Pull or rebuild it from a trusted source and compare digests \
                  with the ones your registry or signature records.",
    references: &[
        Reference::Cwe(354),
        Reference::Atlas("AML.T0010"),
        Reference::Owasp("ML06:2023"),
        Reference::Owasp("LLM03:2025"),
    ],
};

pub static LAYER_PATH_TRAVERSAL: Rule = Rule {
    id: "image/layer-path-traversal",
    scanner: "model",
    severity: Severity::High,
    title: "Image layer entry escapes the root filesystem",
    description: "A layer's tar entry (or hard link target) is an absolute path or climbs out of the \
                  root with `..`. Image builders never write such names; container runtimes clamp \
                  them to the root, but other extractors (`tar -x`, older engines, CI tooling) write \
                  outside the target directory.",
    remediation: "Do not extract or run the image. Rebuild it with a standard builder from a \
                  trusted Dockerfile.",
    references: &[
        Reference::Cwe(22),
        Reference::Atlas("AML.T0010"),
        Reference::Owasp("ML06:2023"),
    ],
};

/// Every rule of this crate, for `rampart rules`.
pub static RULES: &[&Rule] = &[&BLOB_DIGEST_MISMATCH, &LAYER_PATH_TRAVERSAL];
