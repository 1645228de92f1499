//! The `audit/*` rules: what `rampart audit` reports about dependencies.

use rampart_core::{Reference, Rule, Severity};

const SUPPLY_CHAIN: [Reference; 3] = [
    Reference::Atlas("AML.T0010"),
    Reference::Owasp("ML06:2023"),
    Reference::Owasp("LLM03:2025"),
];

pub static VULNERABLE_PACKAGE: Rule = Rule {
    id: "audit/vulnerable-package",
    scanner: "audit",
    severity: Severity::High,
    title: "Dependency version has a known vulnerability",
    description: "The installed or pinned version of a Python package lies in the affected \
                  range of a published advisory (OSV: PYSEC, GHSA, CVE). Code that imports it \
                  carries the vulnerability, whether or not the ML pipeline calls the affected \
                  function today. The finding's severity is the advisory's (CVSS v4/v3 base \
                  score, else its own label); advisories without any rating count as high.",
    remediation: "Upgrade the package to the version the finding names (the least release that \
                  fixes every advisory matched for it), regenerate the lock file, and audit \
                  again. If no fix exists, remove the package or document a mitigation and \
                  waive the finding with an expiry date.",
    references: &[
        Reference::Cwe(1395),
        SUPPLY_CHAIN[0],
        SUPPLY_CHAIN[1],
        SUPPLY_CHAIN[2],
    ],
};

pub static MALICIOUS_PACKAGE: Rule = Rule {
    id: "audit/malicious-package",
    scanner: "audit",
    severity: Severity::Critical,
    title: "Dependency is a known malicious package",
    description: "A malicious-package advisory (MAL-*, OpenSSF malicious-packages) names this \
                  package and version: it was published to steal credentials, open a shell or \
                  otherwise attack whoever installs it. Installing it usually already ran its code.",
    remediation: "Remove the package, and treat every machine and CI runner where it was \
                  installed as compromised: rotate the credentials and tokens its environment \
                  could read, and check what it contacted. If a legitimate package was meant, \
                  install that one by its exact name.",
    references: &[
        Reference::Cwe(506),
        Reference::Atlas("AML.T0010"),
        Reference::Atlas("AML.T0011.001"),
        Reference::Owasp("ML06:2023"),
        Reference::Owasp("LLM03:2025"),
    ],
};

pub static TYPOSQUAT: Rule = Rule {
    id: "audit/typosquat",
    scanner: "audit",
    // A name heuristic: it flags ~0.8% of popular packages just outside the top list, so
    // it asks for a look rather than failing the default gate. Known malicious squats
    // come with a MAL advisory and are critical.
    severity: Severity::Medium,
    title: "Dependency name imitates a popular package",
    description: "The package is not among the most downloaded PyPI projects, but its name is \
                  one small trick away from one that is: a typo (one or two characters \
                  changed, two swapped), look-alike characters, added or removed separators, or \
                  a prefix or suffix such as `python-`, `py` or a digit. Attackers publish such \
                  names so that a typo in a requirements file installs their code.",
    remediation: "Check on the package index that this is the project you meant (author, \
                  history, download count). If the popular package was meant, correct the \
                  name and treat the machine as exposed to whatever the wrong one ran. If the \
                  name is right, waive the finding for this dependency.",
    references: &[
        Reference::Cwe(506),
        Reference::Atlas("AML.T0011.001"),
        SUPPLY_CHAIN[0],
        SUPPLY_CHAIN[1],
        SUPPLY_CHAIN[2],
    ],
};

pub static UNCHECKED_PACKAGE: Rule = Rule {
    id: "audit/unchecked-package",
    scanner: "audit",
    severity: Severity::High,
    title: "Dependency could not be checked for advisories",
    description: "Advisories exist for this package, but its version is missing or is not a \
                  valid PEP 440 version, or its database entry is damaged, so rampart cannot \
                  tell whether any of them applies. This is reported instead of a silent \
                  \"no known vulnerabilities\".",
    remediation: "Pin the package to an exact released version (or audit the installed \
                  environment, which records it), or re-import the advisory database if the \
                  finding says its entry is damaged, and audit again.",
    references: &[
        Reference::Cwe(1395),
        SUPPLY_CHAIN[0],
        SUPPLY_CHAIN[1],
        SUPPLY_CHAIN[2],
    ],
};

pub static UNPINNED_REQUIREMENT: Rule = Rule {
    id: "audit/unpinned-requirement",
    scanner: "audit",
    severity: Severity::Medium,
    title: "Requirement is not pinned to one version",
    description: "A requirement allows a range of versions (or any version), and no lock file \
                  fixes it, so every install may resolve to a different release, including one \
                  published by an attacker who took over the project, and the audit cannot say \
                  which version will run.",
    remediation: "Pin exact versions (`name==1.2.3`), ideally through a lock file (uv.lock, \
                  poetry.lock, pylock.toml, or `pip-compile --generate-hashes`).",
    references: &[
        Reference::Cwe(1357),
        Reference::Cwe(829),
        SUPPLY_CHAIN[0],
        SUPPLY_CHAIN[1],
        SUPPLY_CHAIN[2],
    ],
};

pub static UNHASHED_REQUIREMENT: Rule = Rule {
    id: "audit/unhashed-requirement",
    scanner: "audit",
    severity: Severity::Low,
    title: "Pinned requirement has no hash",
    description: "A requirements file pins a version but gives no `--hash`, and no lock file \
                  records one, so a replaced or tampered distribution file would install \
                  without complaint.",
    remediation: "Add hashes (`pip-compile --generate-hashes`, or `uv pip compile \
                  --generate-hashes`) and install with `pip install --require-hashes`.",
    references: &[
        Reference::Cwe(494),
        SUPPLY_CHAIN[0],
        SUPPLY_CHAIN[1],
        SUPPLY_CHAIN[2],
    ],
};

pub static DIRECT_URL_DEPENDENCY: Rule = Rule {
    id: "audit/direct-url-dependency",
    scanner: "audit",
    severity: Severity::Medium,
    title: "Dependency is installed from a URL or a VCS checkout",
    description: "The package comes from a direct URL, a local path or a version-control \
                  reference rather than the package index, so no advisory database knows its \
                  version, its content can change under the same name, and index-side \
                  protections (malware removal, yanking) do not apply.",
    remediation: "Install a released version from the package index, or pin the URL to an \
                  immutable artifact with a hash (a commit id for VCS, `#sha256=` for archives).",
    references: &[
        Reference::Cwe(494),
        Reference::Cwe(829),
        SUPPLY_CHAIN[0],
        SUPPLY_CHAIN[1],
        SUPPLY_CHAIN[2],
    ],
};

/// Every rule in this crate, for `rampart rules`.
pub static RULES: &[&Rule] = &[
    &VULNERABLE_PACKAGE,
    &MALICIOUS_PACKAGE,
    &TYPOSQUAT,
    &UNCHECKED_PACKAGE,
    &UNPINNED_REQUIREMENT,
    &UNHASHED_REQUIREMENT,
    &DIRECT_URL_DEPENDENCY,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_complete_and_ids_unique() {
        let mut ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
        for rule in RULES {
            assert!(rule.id.starts_with("audit/") && rule.id == rule.id.to_lowercase());
            assert_eq!(rule.scanner, "audit");
            assert!(!rule.title.is_empty() && !rule.description.is_empty());
            assert!(!rule.remediation.is_empty());
            assert!(
                rule.references
                    .iter()
                    .any(|r| matches!(r, Reference::Cwe(_)))
            );
            assert!(
                rule.references
                    .iter()
                    .any(|r| matches!(r, Reference::Atlas(_)))
            );
            assert!(
                rule.references
                    .iter()
                    .any(|r| matches!(r, Reference::Owasp(_)))
            );
        }
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), RULES.len());
    }
}
