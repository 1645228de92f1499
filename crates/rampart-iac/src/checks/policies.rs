//! IAM policy documents attached through Terraform: identity policies, trust policies and
//! resource policies, whether written as heredoc JSON, `jsonencode(...)`, `file(...)` or
//! an `aws_iam_policy_document` data source. Documents defined but attached to nothing
//! rampart knows are analysed on their own.

use std::collections::HashSet;

use rampart_core::{Finding, rules as core_rules};

use crate::iam::checks::{PolicyContext, PolicyKind, check as check_policy};
use crate::iam::{Policy, PolicyError};
use crate::json;
use crate::terraform::{ModuleCtx, Res};
use crate::value::{V, Value};

/// Where policies are attached: (resource type, nested block or "", attribute, kind).
const ATTACHMENTS: &[(&str, &str, &str, PolicyKind)] = &[
    ("aws_iam_policy", "", "policy", PolicyKind::Identity),
    ("aws_iam_role_policy", "", "policy", PolicyKind::Identity),
    ("aws_iam_user_policy", "", "policy", PolicyKind::Identity),
    ("aws_iam_group_policy", "", "policy", PolicyKind::Identity),
    (
        "aws_iam_role",
        "inline_policy",
        "policy",
        PolicyKind::Identity,
    ),
    ("aws_iam_role", "", "assume_role_policy", PolicyKind::Trust),
    (
        "aws_s3_bucket_policy",
        "",
        "policy",
        PolicyKind::Resource("S3 bucket policy"),
    ),
    (
        "aws_s3_bucket",
        "",
        "policy",
        PolicyKind::Resource("S3 bucket policy"),
    ),
    (
        "aws_kms_key",
        "",
        "policy",
        PolicyKind::Resource("KMS key policy"),
    ),
    (
        "aws_kms_key_policy",
        "",
        "policy",
        PolicyKind::Resource("KMS key policy"),
    ),
    (
        "aws_ecr_repository_policy",
        "",
        "policy",
        PolicyKind::Resource("ECR repository policy"),
    ),
    (
        "aws_ecr_registry_policy",
        "",
        "policy",
        PolicyKind::Resource("ECR registry policy"),
    ),
    (
        "aws_sagemaker_model_package_group_policy",
        "",
        "resource_policy",
        PolicyKind::Resource("SageMaker model package group policy"),
    ),
    (
        "aws_elasticsearch_domain_policy",
        "",
        "access_policies",
        PolicyKind::Resource("domain access policy"),
    ),
    (
        "aws_elasticsearch_domain",
        "",
        "access_policies",
        PolicyKind::Resource("domain access policy"),
    ),
    (
        "aws_opensearch_domain_policy",
        "",
        "access_policies",
        PolicyKind::Resource("domain access policy"),
    ),
    (
        "aws_opensearch_domain",
        "",
        "access_policies",
        PolicyKind::Resource("domain access policy"),
    ),
    (
        "aws_sqs_queue_policy",
        "",
        "policy",
        PolicyKind::Resource("SQS queue policy"),
    ),
    (
        "aws_sqs_queue",
        "",
        "policy",
        PolicyKind::Resource("SQS queue policy"),
    ),
    (
        "aws_sns_topic_policy",
        "",
        "policy",
        PolicyKind::Resource("SNS topic policy"),
    ),
    (
        "aws_sns_topic",
        "",
        "policy",
        PolicyKind::Resource("SNS topic policy"),
    ),
    (
        "aws_secretsmanager_secret_policy",
        "",
        "policy",
        PolicyKind::Resource("secret policy"),
    ),
    (
        "aws_secretsmanager_secret",
        "",
        "policy",
        PolicyKind::Resource("secret policy"),
    ),
    (
        "aws_efs_file_system_policy",
        "",
        "policy",
        PolicyKind::Resource("EFS file system policy"),
    ),
    (
        "aws_glacier_vault",
        "",
        "access_policy",
        PolicyKind::Resource("Glacier vault policy"),
    ),
];

/// A policy value turned into a document, or why it is not one.
pub(crate) enum Parsed {
    Policy(Policy),
    Unknown,
    Absent,
    Invalid(String, u32, u32),
}

pub(crate) fn parse_policy(value: &Value) -> Parsed {
    let invalid = |e: PolicyError| Parsed::Invalid(e.to_string(), value.pos.line, value.pos.col);
    match &value.kind {
        V::Null => Parsed::Absent,
        // A template with apply-time parts (`"Resource": "${aws_s3_bucket.x.arn}/*"`) is
        // still JSON around them.
        V::Unknown(text) => match json::parse(text, value.pos) {
            Ok(doc) if doc.get_ci("Statement").is_some() => {
                Policy::from_value(&doc).map_or(Parsed::Unknown, Parsed::Policy)
            }
            _ => Parsed::Unknown,
        },
        V::Str(text) => match json::parse(text, value.pos) {
            Ok(doc) => Policy::from_value(&doc).map_or_else(invalid, Parsed::Policy),
            Err(e) => Parsed::Invalid(format!("not valid JSON: {}", e.message), e.line, e.col),
        },
        _ if !value.is_known() && !matches!(value.kind, V::Json(_) | V::Object(_)) => {
            Parsed::Unknown
        }
        _ => Policy::from_value(value).map_or_else(invalid, Parsed::Policy),
    }
}

pub(super) fn check(ctx: &ModuleCtx, out: &mut Vec<Finding>) {
    let mut attached_docs: HashSet<String> = HashSet::new();
    for (rtype, block, attr, kind) in ATTACHMENTS {
        for res in ctx.of_type(rtype) {
            let text = ctx
                .files
                .slice(res.decl.file, hcl_edit::Span::span(&res.decl.block));
            attached_docs.extend(document_references(&text));
            let values: Vec<&Value> = if block.is_empty() {
                res.get(attr).into_iter().collect()
            } else {
                res.get(block)
                    .map(|blocks| {
                        blocks
                            .items()
                            .into_iter()
                            .filter_map(|b| b.get(attr))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            for value in values {
                analyse(ctx, res, attr, value, *kind, out);
            }
        }
    }
    for doc in &ctx.data {
        if doc.rtype() != "aws_iam_policy_document" || attached_docs.contains(doc.name()) {
            continue;
        }
        let Some(json) = doc.get("json") else {
            continue;
        };
        if let Parsed::Policy(policy) = parse_policy(json) {
            let kind = guess_kind(&policy);
            check_policy(
                &policy,
                &PolicyContext {
                    files: ctx.files,
                    resource: Some(&doc.address),
                    kind,
                },
                out,
            );
        }
    }
}

/// `data.aws_iam_policy_document.NAME` references in a block's text.
fn document_references(text: &str) -> Vec<String> {
    const PREFIX: &str = "data.aws_iam_policy_document.";
    text.match_indices(PREFIX)
        .filter_map(|(i, _)| {
            let rest = text.get(i + PREFIX.len()..)?;
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
                .collect();
            (!name.is_empty()).then_some(name)
        })
        .collect()
}

/// A document on its own: principals make it a resource or trust policy.
pub(crate) fn guess_kind(policy: &Policy) -> PolicyKind {
    let with_principal: Vec<_> = policy
        .statements
        .iter()
        .filter(|s| s.principal.is_some())
        .collect();
    if with_principal.is_empty() {
        PolicyKind::Identity
    } else if with_principal.iter().all(|s| {
        s.actions()
            .iter()
            .all(|a| a.text.to_ascii_lowercase().starts_with("sts:assumerole"))
    }) {
        PolicyKind::Trust
    } else {
        PolicyKind::Resource("resource policy")
    }
}

fn analyse(
    ctx: &ModuleCtx,
    res: &Res,
    attr: &str,
    value: &Value,
    kind: PolicyKind,
    out: &mut Vec<Finding>,
) {
    match parse_policy(value) {
        Parsed::Policy(policy) => check_policy(
            &policy,
            &PolicyContext {
                files: ctx.files,
                resource: Some(&res.address),
                kind,
            },
            out,
        ),
        Parsed::Absent => {}
        Parsed::Unknown => out.push(ctx.not_evaluated(res, attr, value, "the IAM policy rules")),
        Parsed::Invalid(reason, line, col) => {
            let pos = crate::value::Pos {
                line,
                col,
                ..value.pos
            };
            out.push(ctx.finding(
                &core_rules::MALFORMED,
                pos,
                res,
                format!(
                    "{attr} of {} is not a valid IAM policy document ({reason}); AWS rejects it \
                         and rampart could not check it",
                    res.address
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_document_references() {
        assert_eq!(
            document_references(
                "policy = data.aws_iam_policy_document.a-b.json\n x = data.aws_iam_policy_document.c.json"
            ),
            vec!["a-b", "c"]
        );
    }
}
