//! Infrastructure-as-code analysis for ML platforms: Terraform (HCL) module directories
//! and standalone IAM policy JSON files, with rules for AWS (S3, KMS, IAM, SageMaker, ECR,
//! EKS), Google Vertex AI and Azure Machine Learning.
//!
//! Terraform is parsed with spans (`hcl-edit`) and evaluated statically — variables with
//! defaults and tfvars, locals, references, templates, `jsonencode`, conditionals, the
//! common functions, `aws_iam_policy_document` data sources and local modules — so that
//! policies written the usual way are understood. A value that cannot be known is carried
//! as unknown and reported as "not evaluated" where a rule needed it, never passed
//! silently.
//!
//! # How the engine calls this crate
//!
//! [`detect`] routes files by name (`.tf`, `.tfvars`, `.tf.json`) and, for `.json` files,
//! by content (`Version` + `Statement`). Terraform files are scanned per *directory*,
//! because a module is a directory: group every `.tf`, `.tfvars` and `.tf.json` file of a
//! directory and call [`scan_terraform_dirs`] once with all directories of the scan, so
//! that directories used as local modules are evaluated through their callers (with the
//! caller's arguments) instead of a second time on their own. Local modules outside the
//! scanned set are read from disk. IAM policy files go to [`scan_iam_policy`] one by one.
//!
//! `terraform.tfvars` and `*.auto.tfvars` apply as Terraform applies them; a variable
//! set by exactly one other `*.tfvars` file (normally passed with `-var-file`) takes that
//! value too, and is left unknown when several such files disagree.
//!
//! This crate must never run Terraform or a provider, never reach the network (registry
//! and Git modules are reported as not evaluated), never read files outside a module's
//! own directory, and never panic or loop unboundedly on hostile input.

mod checks;
mod iam;
mod json;
pub mod rules;
mod sources;
pub mod terraform;
mod value;

use rampart_core::{Finding, Location, rules as core_rules};

pub use rules::RULES;
pub use terraform::{TerraformDir, scan_terraform_dir, scan_terraform_dirs};

use iam::Policy;
use iam::checks::PolicyContext;
use sources::Files;
use value::Pos;

/// What kind of file this crate handles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `*.tf`: scanned per directory with [`scan_terraform_dirs`].
    Terraform,
    /// `*.tfvars`: variable values, passed with the directory's `.tf` files.
    TerraformVars,
    /// `*.tf.json` / `*.tfvars.json`: passed with the directory; reported as not evaluated.
    TerraformJson,
    /// A JSON document with `Version` and `Statement`: [`scan_iam_policy`].
    IamPolicy,
}

/// Routes a file by name and its first bytes. Cheap: no parsing.
pub fn detect(name: &str, head: &[u8]) -> Option<Kind> {
    match terraform::load::file_role(name) {
        terraform::load::FileRole::Config => return Some(Kind::Terraform),
        terraform::load::FileRole::Vars { .. } => return Some(Kind::TerraformVars),
        terraform::load::FileRole::Json => return Some(Kind::TerraformJson),
        terraform::load::FileRole::Other => {}
    }
    if !name.to_ascii_lowercase().ends_with(".json") {
        return None;
    }
    let text = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let first = text.iter().find(|b| !b.is_ascii_whitespace())?;
    let has = |needle: &[u8]| text.windows(needle.len()).any(|w| w == needle);
    (*first == b'{' && has(b"\"Statement\"") && (has(b"\"Version\"") || has(b"\"Effect\"")))
        .then_some(Kind::IamPolicy)
}

/// Largest IAM policy file parsed (AWS allows 6 144 characters for managed policies;
/// resource policies up to 20 KiB; this leaves ample room).
pub const MAX_POLICY_BYTES: usize = 1 << 20;

/// Scans a standalone IAM policy document (identity, resource or trust policy, told
/// apart by its `Principal` elements). A JSON file that turns out not to be a policy
/// (no `Statement`) produces no findings.
pub fn scan_iam_policy(data: &[u8], location: &Location, out: &mut Vec<Finding>) {
    if data.len() > MAX_POLICY_BYTES {
        out.push(Finding::new(
            &core_rules::LIMIT_EXCEEDED,
            location.clone(),
            format!(
                "IAM policy file of {} bytes exceeds the {MAX_POLICY_BYTES}-byte limit and was not parsed",
                data.len()
            ),
        ));
        return;
    }
    let text = match std::str::from_utf8(data) {
        Ok(text) => text.strip_prefix('\u{feff}').unwrap_or(text),
        Err(e) => {
            out.push(Finding::new(
                &core_rules::MALFORMED,
                location.at(e.valid_up_to() as u64),
                format!(
                    "IAM policy file is not valid UTF-8 (byte offset {})",
                    e.valid_up_to()
                ),
            ));
            return;
        }
    };
    let files = Files::default();
    let file = files.add(location.clone());
    let origin = Pos {
        file,
        line: 1,
        col: 1,
    };
    let doc = match json::parse(text, origin) {
        Ok(doc) => doc,
        Err(e) => {
            out.push(Finding::new(
                &core_rules::MALFORMED,
                location.at_line(e.line, Some(e.col)),
                format!("IAM policy file is not valid JSON: {e}; it was not checked"),
            ));
            return;
        }
    };
    if doc.get_ci("Statement").is_none() {
        return;
    }
    let policy = match Policy::from_value(&doc) {
        Ok(policy) => policy,
        Err(e) => {
            out.push(Finding::new(
                &core_rules::MALFORMED,
                location.at_line(1, Some(1)),
                format!("IAM policy document is not valid: {e}; it was not checked"),
            ));
            return;
        }
    };
    let kind = checks::guess_policy_kind(&policy);
    iam::checks::check(
        &policy,
        &PolicyContext {
            files: &files,
            resource: None,
            kind,
        },
        out,
    );
}

/// The fuzz entry point for Terraform: one `main.tf` in a directory that does not exist
/// (so local modules resolve to nothing).
#[doc(hidden)]
pub fn fuzz_terraform(data: &[u8], out: &mut Vec<Finding>) {
    let files = [(Location::file("fuzz/main.tf"), data.to_vec())];
    scan_terraform_dir(
        std::path::Path::new("/nonexistent/rampart-fuzz"),
        &files,
        out,
    );
}

#[cfg(test)]
mod test_support;

#[cfg(test)]
mod tests;
