//! The config and secret checks: per file, Kubernetes/Docker/CI configuration
//! (rampart-deploy), IAM policy JSON (rampart-iac) and leaked credentials (rampart-secrets);
//! per directory, Terraform modules (rampart-iac), which only make sense whole.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use rampart_core::{Finding, Location, rules as core_rules};
use rampart_iac::TerraformDir;

use crate::analyze::ScanOutput;
use crate::config::Scanners;
use crate::detect::SNIFF_LEN;
use crate::{Input, InputKind};

/// Runs the per-file config and secret checks on a file's bytes. Returns the label the file
/// should carry when a config check recognised it (`kubernetes`, `iam-policy`, …), or when
/// only secrets were looked for.
pub fn scan_file(
    scanners: Scanners,
    data: &[u8],
    location: &Location,
    out: &mut Vec<Finding>,
) -> Option<&'static str> {
    let head = &data[..data.len().min(SNIFF_LEN)];
    // A file on disk is named by its path, a layer or archive member by its own path.
    let name = location.name();
    let mut label = None;
    if scanners.config {
        if let Some(kind) = rampart_deploy::detect(name, head) {
            guarded(location, out, |out| {
                rampart_deploy::scan(kind, data, location, out)
            });
            label = Some(match kind {
                rampart_deploy::Kind::Kubernetes => "kubernetes",
                rampart_deploy::Kind::Dockerfile => "dockerfile",
                rampart_deploy::Kind::GithubWorkflow => "github-workflow",
                rampart_deploy::Kind::GitlabCi => "gitlab-ci",
            });
        } else {
            match rampart_iac::detect(name, head) {
                Some(rampart_iac::Kind::IamPolicy) => {
                    guarded(location, out, |out| {
                        rampart_iac::scan_iam_policy(data, location, out)
                    });
                    label = Some("iam-policy");
                }
                // Scanned with the rest of their directory, see `scan_terraform`.
                Some(_) => label = Some("terraform"),
                None => {}
            }
        }
    }
    if scanners.secret
        && let Some(kind) = rampart_secrets::detect(name, head)
    {
        guarded(location, out, |out| {
            rampart_secrets::scan(kind, data, location, out)
        });
        if kind == rampart_secrets::Kind::Notebook {
            label.get_or_insert("notebook");
        } else if !scanners.model {
            label.get_or_insert("text");
        }
    }
    label
}

/// The files of one Terraform directory, with their bytes.
type SourceFiles = Vec<(Location, Vec<u8>)>;

/// Terraform, a directory at a time (variables, locals and modules span files). Findings go
/// to the output of the file they point at, inline suppressions included.
pub fn scan_terraform(inputs: &[Input], outputs: &mut [ScanOutput]) {
    let mut by_dir: BTreeMap<PathBuf, Vec<usize>> = BTreeMap::new();
    for (index, input) in inputs.iter().enumerate() {
        if input.kind == InputKind::File
            && rampart_iac::detect(&input.display, b"")
                .is_some_and(|kind| kind != rampart_iac::Kind::IamPolicy)
        {
            let dir = input.path.parent().map(PathBuf::from).unwrap_or_default();
            by_dir.entry(dir).or_default().push(index);
        }
    }
    if by_dir.is_empty() {
        return;
    }
    // Unreadable files already carry `scan/unreadable` from the per-file pass.
    let groups: Vec<(PathBuf, SourceFiles)> = by_dir
        .iter()
        .map(|(dir, indices)| {
            let files = indices
                .iter()
                .filter_map(|&index| {
                    let input = &inputs[index];
                    std::fs::read(&input.path)
                        .ok()
                        .map(|bytes| (Location::file(&input.display), bytes))
                })
                .collect();
            (dir.clone(), files)
        })
        .collect();
    let dirs: Vec<TerraformDir<'_>> = groups
        .iter()
        .map(|(dir, files)| TerraformDir { dir, files })
        .collect();
    let mut findings = Vec::new();
    let anchor = Location::file(
        by_dir
            .values()
            .flatten()
            .next()
            .map(|&i| inputs[i].display.as_str())
            .unwrap_or_default(),
    );
    guarded(&anchor, &mut findings, |out| {
        rampart_iac::scan_terraform_dirs(&dirs, out)
    });

    let position: BTreeMap<&str, usize> = inputs
        .iter()
        .enumerate()
        .map(|(index, input)| (input.display.as_str(), index))
        .collect();
    let first = by_dir.values().flatten().copied().min().unwrap_or_default();
    let mut touched: BTreeMap<usize, usize> = BTreeMap::new();
    for finding in findings {
        let index = position
            .get(finding.location.path.as_str())
            .copied()
            .unwrap_or(first);
        let before = outputs[index].findings.len();
        touched.entry(index).or_insert(before);
        outputs[index].findings.push(finding);
    }
    for (index, start) in touched {
        let Some((_, bytes)) = groups
            .iter()
            .flat_map(|(_, files)| files)
            .find(|(location, _)| location.path == inputs[index].display)
        else {
            continue;
        };
        let output = &mut outputs[index];
        let notices = crate::suppress::apply_inline(
            bytes,
            &inputs[index].display,
            &mut output.findings[start..],
        );
        output.notices.extend(notices);
    }
}

/// Runs a check, turning a panic into a finding: one broken analyzer never loses a file.
fn guarded(location: &Location, out: &mut Vec<Finding>, check: impl FnOnce(&mut Vec<Finding>)) {
    let mut produced = Vec::new();
    let result = catch_unwind(AssertUnwindSafe(|| check(&mut produced)));
    out.append(&mut produced);
    if let Err(panic) = result {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        out.push(
            Finding::new(
                &core_rules::INTERNAL_ERROR,
                location.clone(),
                "a config or secret check failed on this file; it was not fully checked",
            )
            .with_evidence(what),
        );
    }
}
