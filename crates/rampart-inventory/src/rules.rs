//! The `inventory/*` rules. Files that cannot be parsed at all use the shared `scan/*`
//! rules of `rampart_core::rules`.

use rampart_core::{Reference, Rule, Severity};

pub static UNSUPPORTED_ENTRY: Rule = Rule {
    id: "inventory/unsupported-entry",
    scanner: "audit",
    severity: Severity::Medium,
    title: "Dependency declaration rampart cannot inventory",
    description: "A manifest, lock file or SBOM holds an entry rampart understands but cannot \
                  follow or audit: a requirements include or index given by URL (never \
                  fetched), a component of another ecosystem in an SBOM, a lock-file version \
                  it does not know. Whatever the entry brings in is missing from the \
                  inventory, so an audit of it cannot be complete.",
    remediation: "Make the dependency visible locally: vendor the included file, lock the \
                  environment with a supported tool (uv.lock, poetry.lock, pylock.toml, \
                  pip-compile), or audit the other ecosystem with its own tool. Waive the \
                  finding if the entry is known to be harmless.",
    references: &[
        Reference::Cwe(1357),
        Reference::Atlas("AML.T0010"),
        Reference::Owasp("ML06:2023"),
        Reference::Owasp("LLM03:2025"),
    ],
};

/// Every rule of this crate, for `rampart rules`.
pub static RULES: &[&Rule] = &[&UNSUPPORTED_ENTRY];
