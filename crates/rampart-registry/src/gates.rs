//! The gates every new version passes through, run over the version's files materialised
//! read-only in a private directory: `rampart scan` (same scanner and defaults as the CLI),
//! the OMS signature against the namespace's trusted keys (the signed manifest must match the
//! files exactly), and SLSA provenance naming the model as its product.

use std::path::{Path, PathBuf};

use rampart_core::{Report, Severity};
use rampart_integrity::provenance::{Artifact, Attestation};
use rampart_integrity::{Trust, VerifyOptions, VerifyingKey, verify_bundle};
use rampart_scan::{Config, Scanner, WalkOptions, walk};

use crate::Error;
use crate::types::{GateResult, GateStatus, Gates, State};

/// Runs the gates; configured once.
pub struct GateRunner {
    scanner: Scanner,
}

fn result(status: GateStatus, detail: impl Into<String>) -> GateResult {
    GateResult {
        status,
        detail: detail.into(),
    }
}

impl GateRunner {
    /// A runner with the scanner's default configuration, as `rampart scan --no-config`.
    pub fn new() -> Result<Self, Error> {
        let scanner = Scanner::new(&Config::default(), Path::new("(registry defaults)"))
            .map_err(|error| Error::Internal(format!("cannot configure the scanner: {error}")))?;
        Ok(GateRunner { scanner })
    }

    /// Runs every gate over `model` (the version's files and nothing else).
    pub fn run(
        &self,
        model: &Path,
        signature: Option<&[u8]>,
        provenance: Option<&[u8]>,
        trusted_keys: &[String],
    ) -> Gates {
        let (scan, scan_report) = self.scan(model);
        Gates {
            scan,
            scan_report,
            signature: signature_gate(model, signature, trusted_keys),
            provenance: provenance_gate(model, provenance, trusted_keys),
        }
    }

    fn scan(&self, model: &Path) -> (GateResult, serde_json::Value) {
        let inputs = match walk(&[model.to_path_buf()], &WalkOptions::default()) {
            Ok(inputs) => inputs,
            Err(error) => {
                return (
                    result(
                        GateStatus::Failed,
                        format!("the scan could not run: {error}"),
                    ),
                    serde_json::Value::Null,
                );
            }
        };
        let prefix = format!("{}/", model.display());
        let relative = |path: &mut String| {
            if let Some(stripped) = path.strip_prefix(&prefix) {
                *path = stripped.to_owned();
            }
        };
        let mut files = Vec::with_capacity(inputs.len());
        let mut findings = Vec::new();
        let mut notices = Vec::new();
        for output in self.scanner.scan_all(&inputs, &|_| {}) {
            files.push(output.verdict);
            findings.extend(output.findings);
            notices.extend(output.notices);
        }
        files.iter_mut().for_each(|file| relative(&mut file.path));
        findings
            .iter_mut()
            .for_each(|finding| relative(&mut finding.location.path));
        let report = Report::new(
            "scan",
            env!("CARGO_PKG_VERSION"),
            Severity::High,
            files,
            findings,
            notices,
        );
        let status = if report.summary.failed {
            GateStatus::Failed
        } else {
            GateStatus::Passed
        };
        let detail = match status {
            GateStatus::Failed => {
                let worst: Vec<String> = report
                    .findings
                    .iter()
                    .filter(|finding| finding.severity >= Severity::High)
                    .take(5)
                    .map(|finding| {
                        format!(
                            "{} in {}: {}",
                            finding.rule.id, finding.location.path, finding.message
                        )
                    })
                    .collect();
                format!(
                    "rampart scan found {} finding(s) at or above high: {}",
                    report
                        .findings
                        .iter()
                        .filter(|finding| finding.severity >= Severity::High)
                        .count(),
                    worst.join("; ")
                )
            }
            _ => format!(
                "rampart scan: {} file(s), {} finding(s), none at or above high",
                report.summary.files,
                report.findings.len()
            ),
        };
        let json = serde_json::to_value(&report).unwrap_or(serde_json::Value::Null);
        (result(status, detail), json)
    }
}

fn parse_keys(trusted_keys: &[String]) -> Vec<VerifyingKey> {
    trusted_keys
        .iter()
        .filter_map(|pem| VerifyingKey::from_pem(pem.as_bytes()).ok())
        .collect()
}

fn signature_gate(model: &Path, bundle: Option<&[u8]>, trusted_keys: &[String]) -> GateResult {
    let Some(bundle) = bundle else {
        return result(GateStatus::Absent, "no signature was given");
    };
    let keys = parse_keys(trusted_keys);
    if keys.is_empty() {
        return result(
            GateStatus::Failed,
            "the namespace trusts no keys, so no signature can verify: an admin adds trusted_keys to its policy",
        );
    }
    let mut reasons = Vec::new();
    for key in keys {
        let hint = key.hint();
        match verify_bundle(model, bundle, &Trust::Key(key), &VerifyOptions::default()) {
            Ok(verified) => {
                return result(
                    GateStatus::Passed,
                    format!(
                        "signed by the trusted key {hint}; the signed manifest ({} file(s)) matches the version's files",
                        verified.manifest.file_count()
                    ),
                );
            }
            Err(error) => reasons.push(format!("key {hint}: {error}")),
        }
    }
    result(
        GateStatus::Failed,
        format!(
            "no trusted key verifies the signature: {}",
            reasons.join("; ")
        ),
    )
}

fn provenance_gate(model: &Path, envelope: Option<&[u8]>, trusted_keys: &[String]) -> GateResult {
    let Some(envelope) = envelope else {
        return result(GateStatus::Absent, "no provenance was given");
    };
    let keys = parse_keys(trusted_keys);
    if keys.is_empty() {
        return result(
            GateStatus::Failed,
            "the namespace trusts no keys, so no provenance can verify",
        );
    }
    let products = match products(model) {
        Ok(products) => products,
        Err(error) => {
            return result(
                GateStatus::Failed,
                format!("cannot hash the model: {error}"),
            );
        }
    };
    let mut reasons = Vec::new();
    for key in keys {
        let hint = key.hint();
        match Attestation::verify(envelope, &key) {
            Ok(attestation) => {
                for product in &products {
                    match attestation.check_product(product) {
                        Ok(subject) => {
                            return result(
                                GateStatus::Passed,
                                format!(
                                    "attested by the trusted key {hint}: the model is subject {subject:?}"
                                ),
                            );
                        }
                        Err(error) => reasons.push(error.to_string()),
                    }
                }
            }
            Err(error) => reasons.push(format!("key {hint}: {error}")),
        }
    }
    result(
        GateStatus::Failed,
        format!("the provenance does not verify: {}", reasons.join("; ")),
    )
}

/// What an attestation may name as its product: the model directory (OMS root digest) or,
/// for a one-file model, that file.
fn products(model: &Path) -> Result<Vec<Artifact>, rampart_integrity::Error> {
    let mut products = vec![Artifact::of(model)?];
    let files: Vec<PathBuf> = std::fs::read_dir(model)
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .collect()
        })
        .unwrap_or_default();
    if let [only] = files.as_slice()
        && only.is_file()
    {
        products.push(Artifact::of(only)?);
    }
    Ok(products)
}

/// The state a new version reaches after its gates, and the reason if it stays quarantined.
pub fn outcome(gates: &Gates) -> (State, Option<String>) {
    let failed: Vec<String> = [
        ("scan", &gates.scan),
        ("signature", &gates.signature),
        ("provenance", &gates.provenance),
    ]
    .into_iter()
    .filter(|(_, gate)| gate.status == GateStatus::Failed)
    .map(|(name, gate)| format!("{name} gate failed: {}", gate.detail))
    .collect();
    if !failed.is_empty() {
        return (State::Quarantined, Some(failed.join(" | ")));
    }
    if gates.signature.status == GateStatus::Passed {
        (State::Verified, None)
    } else {
        (State::Scanned, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gates(scan: GateStatus, signature: GateStatus) -> Gates {
        Gates {
            scan: result(scan, ""),
            scan_report: serde_json::Value::Null,
            signature: result(signature, ""),
            provenance: result(GateStatus::Absent, ""),
        }
    }

    #[test]
    fn any_failed_gate_quarantines() {
        assert_eq!(
            outcome(&gates(GateStatus::Failed, GateStatus::Passed)).0,
            State::Quarantined
        );
        assert_eq!(
            outcome(&gates(GateStatus::Passed, GateStatus::Failed)).0,
            State::Quarantined
        );
        assert_eq!(
            outcome(&gates(GateStatus::Passed, GateStatus::Absent)).0,
            State::Scanned
        );
        assert_eq!(
            outcome(&gates(GateStatus::Passed, GateStatus::Passed)).0,
            State::Verified
        );
    }

    #[test]
    fn a_malicious_pickle_fails_the_scan_and_a_text_file_passes() {
        let runner = GateRunner::new().expect("runner");
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("README.md"), "a model\n").expect("write");
        let clean = runner.run(dir.path(), None, None, &[]);
        assert_eq!(
            clean.scan.status,
            GateStatus::Passed,
            "{}",
            clean.scan.detail
        );
        // GLOBAL 'os system', the argument, TUPLE1, REDUCE, STOP: os.system('id') on load.
        std::fs::write(
            dir.path().join("model.pkl"),
            b"\x80\x02cos\nsystem\nX\x02\x00\x00\x00id\x85R.",
        )
        .expect("write");
        let bad = runner.run(dir.path(), None, None, &[]);
        assert_eq!(bad.scan.status, GateStatus::Failed, "{}", bad.scan.detail);
        assert!(bad.scan.detail.contains("model.pkl"), "{}", bad.scan.detail);
        assert!(!bad.scan.detail.contains(&dir.path().display().to_string()));
    }

    #[test]
    fn a_signature_without_trusted_keys_fails() {
        let dir = tempfile::tempdir().expect("tempdir");
        let gate = signature_gate(dir.path(), Some(b"{}"), &[]);
        assert_eq!(gate.status, GateStatus::Failed);
        let gate = provenance_gate(dir.path(), Some(b"{}"), &["not a key".to_owned()]);
        assert_eq!(gate.status, GateStatus::Failed);
    }
}
