//! Rules for integrity checks run inside `rampart scan` (`--verify-signature`).

use rampart_core::{Reference, Rule, Severity};

static REFERENCES: &[Reference] = &[
    Reference::Cwe(345),
    Reference::Cwe(347),
    Reference::Atlas("AML.T0010.003"),
    Reference::Owasp("ML06:2023"),
    Reference::Owasp("LLM03:2025"),
];

pub static SIGNATURE_INVALID: Rule = Rule {
    id: "integrity/signature-invalid",
    scanner: "integrity",
    severity: Severity::Critical,
    title: "Model signature does not verify",
    description: "The model's signature (an OpenSSF Model Signing bundle) could not be verified: it is malformed, was made by another key or an untrusted certificate, its signature does not match its statement, or its statement is not a consistent OMS v1.0 manifest. Nothing in the model can be trusted to be what the signer published.",
    remediation: "Obtain the model and its signature again from the publisher, and check you verify with the publisher's public key or certificate anchors. Do not load the model until it verifies.",
    references: REFERENCES,
};

pub static CONTENT_MISMATCH: Rule = Rule {
    id: "integrity/content-mismatch",
    scanner: "integrity",
    severity: Severity::Critical,
    title: "Model file differs from its signed manifest",
    description: "A file of the model was modified, added, removed or renamed after the model was signed: the files on disk are not the ones the signer published. A swapped checkpoint or an injected file is how a supply-chain attack on a model looks.",
    remediation: "Do not load the model. Restore the signed files (download the model again) or, if the change is intended, have the publisher sign the new version.",
    references: REFERENCES,
};

pub static RULES: &[&Rule] = &[&SIGNATURE_INVALID, &CONTENT_MISMATCH];
