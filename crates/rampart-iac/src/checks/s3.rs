//! S3 buckets: public access block, public ACLs, versioning and TLS-only policies. Side
//! resources (`aws_s3_bucket_public_access_block`, `_acl`, `_versioning`, `_policy`) join
//! their bucket by reference (`aws_s3_bucket.x.id`) or by the same literal name.

use rampart_core::Finding;

use super::policies::{Parsed, parse_policy};
use crate::iam::{Effect, Statement, glob_match};
use crate::rules;
use crate::terraform::{ModuleCtx, Res, Setting, setting};
use crate::value::Value;

const PUBLIC_ACLS: &[&str] = &["public-read", "public-read-write", "authenticated-read"];
const PUBLIC_GRANTEES: &[&str] = &["global/AllUsers", "global/AuthenticatedUsers"];
const BLOCK_FLAGS: &[&str] = &[
    "block_public_acls",
    "block_public_policy",
    "ignore_public_acls",
    "restrict_public_buckets",
];

pub(super) fn check(ctx: &ModuleCtx, out: &mut Vec<Finding>) {
    let account_block = ctx
        .of_type("aws_s3_account_public_access_block")
        .next()
        .is_some();
    for bucket in ctx.of_type("aws_s3_bucket") {
        let ignores_acls = public_access_block(ctx, bucket, account_block, out);
        if !ignores_acls {
            acl(ctx, bucket, out);
        }
        versioning(ctx, bucket, out);
        tls(ctx, bucket, out);
    }
}

fn joined<'c, 'a>(ctx: &'c ModuleCtx<'a>, bucket: &'c Res<'a>, rtype: &'c str) -> Vec<&'c Res<'a>> {
    ctx.of_type(rtype)
        .filter(|r| ctx.refers_to(r, "bucket", bucket, "bucket"))
        .collect()
}

/// Reports a missing or incomplete block; returns whether public ACLs are ignored.
fn public_access_block(
    ctx: &ModuleCtx,
    bucket: &Res,
    account_block: bool,
    out: &mut Vec<Finding>,
) -> bool {
    let blocks = joined(ctx, bucket, "aws_s3_bucket_public_access_block");
    let Some(block) = blocks.first() else {
        if account_block {
            return false;
        }
        let inline = bucket
            .decl
            .block
            .body
            .blocks()
            .find(|b| b.ident.as_str().contains("public_access_block"));
        let why = match inline {
            Some(b) => format!(
                ": the inline `{}` block at line {} is not a Terraform argument and creates \
                 nothing",
                b.ident.as_str(),
                crate::terraform::load::block_pos(b, bucket.decl.file, ctx.files).line
            ),
            None => String::new(),
        };
        out.push(ctx.finding(
            &rules::S3_NO_PUBLIC_ACCESS_BLOCK,
            bucket.pos,
            bucket,
            format!(
                "No aws_s3_bucket_public_access_block resource (and no account-level block) \
                 applies to {}{why}, so a public ACL or bucket policy added later takes effect",
                bucket.address
            ),
        ));
        return false;
    };
    let mut off = Vec::new();
    for flag in BLOCK_FLAGS {
        match setting(&block.value, &[flag]) {
            Setting::Known(v) if v.as_bool() == Some(true) => {}
            Setting::Unknown(v) => out.push(ctx.not_evaluated(
                block,
                flag,
                v,
                rules::S3_PUBLIC_ACCESS_BLOCK_INCOMPLETE.id,
            )),
            Setting::Missing => off.push(format!("{flag} (omitted, defaults to false)")),
            Setting::Known(_) => off.push(format!("{flag} = false")),
        }
    }
    if !off.is_empty() {
        out.push(ctx.finding(
            &rules::S3_PUBLIC_ACCESS_BLOCK_INCOMPLETE,
            block.pos,
            block,
            format!(
                "The public access block of {} leaves {} off, so public access through that path \
                 is still possible",
                bucket.address,
                off.join(", ")
            ),
        ));
    }
    matches!(setting(&block.value, &["ignore_public_acls"]), Setting::Known(v) if v.as_bool() == Some(true))
}

fn acl(ctx: &ModuleCtx, bucket: &Res, out: &mut Vec<Finding>) {
    let acl_resources = joined(ctx, bucket, "aws_s3_bucket_acl");
    let owners = std::iter::once(bucket).chain(acl_resources.iter().copied());
    for owner in owners {
        if let Setting::Known(v) = setting(&owner.value, &["acl"])
            && let Some(acl) = v.as_str()
            && PUBLIC_ACLS.contains(&acl)
        {
            out.push(
                ctx.finding(
                    &rules::S3_PUBLIC_ACL,
                    v.pos,
                    owner,
                    format!(
                        "{} sets the canned ACL \"{acl}\" on {}: {}",
                        owner.address,
                        bucket.address,
                        match acl {
                            "public-read" => "anyone on the internet can list and read its objects",
                            "public-read-write" =>
                                "anyone on the internet can list, read and write its objects",
                            _ => "every AWS account in the world can list and read its objects",
                        }
                    ),
                )
                .with_evidence(acl.to_owned()),
            );
        }
        let grants = owner
            .get("grant")
            .map(Value::items)
            .unwrap_or_default()
            .into_iter()
            .chain(
                owner
                    .get("access_control_policy")
                    .and_then(Value::first_block)
                    .and_then(|p| p.get("grant"))
                    .map(Value::items)
                    .unwrap_or_default(),
            );
        for grant in grants {
            let uri = grant
                .get("uri")
                .or_else(|| {
                    grant
                        .get("grantee")
                        .and_then(Value::first_block)
                        .and_then(|g| g.get("uri"))
                })
                .and_then(Value::as_str);
            if let Some(uri) = uri
                && PUBLIC_GRANTEES.iter().any(|g| uri.ends_with(g))
            {
                out.push(ctx.finding(
                    &rules::S3_PUBLIC_ACL,
                    grant.pos,
                    owner,
                    format!(
                        "{} grants {} access on {} to the group {uri}",
                        owner.address,
                        permissions(grant),
                        bucket.address
                    ),
                ));
            }
        }
    }
}

fn permissions(grant: &Value) -> String {
    grant
        .get("permissions")
        .or_else(|| grant.get("permission"))
        .map(Value::display)
        .unwrap_or_else(|| "some".into())
}

fn versioning(ctx: &ModuleCtx, bucket: &Res, out: &mut Vec<Finding>) {
    let rule = &rules::S3_VERSIONING_DISABLED;
    match setting(&bucket.value, &["versioning", "enabled"]) {
        Setting::Known(v) if v.as_bool() == Some(true) => return,
        Setting::Known(v) => {
            out.push(ctx.finding(
                rule,
                v.pos,
                bucket,
                format!(
                    "Versioning of {} is disabled (enabled = false)",
                    bucket.address
                ),
            ));
            return;
        }
        Setting::Unknown(v) => {
            out.push(ctx.not_evaluated(bucket, "versioning.enabled", v, rule.id));
            return;
        }
        Setting::Missing => {}
    }
    for resource in joined(ctx, bucket, "aws_s3_bucket_versioning") {
        match setting(&resource.value, &["versioning_configuration", "status"]) {
            Setting::Known(v) if v.as_str() == Some("Enabled") => return,
            Setting::Known(v) => {
                out.push(ctx.finding(
                    rule,
                    v.pos,
                    resource,
                    format!(
                        "{} sets the versioning of {} to {}",
                        resource.address,
                        bucket.address,
                        v.display()
                    ),
                ));
                return;
            }
            Setting::Unknown(v) => {
                out.push(ctx.not_evaluated(
                    resource,
                    "versioning_configuration.status",
                    v,
                    rule.id,
                ));
                return;
            }
            Setting::Missing => {}
        }
    }
    out.push(ctx.finding(
        rule,
        bucket.pos,
        bucket,
        format!(
            "{} has no versioning (no aws_s3_bucket_versioning with status \"Enabled\"): an \
             overwritten or deleted object cannot be recovered",
            bucket.address
        ),
    ));
}

fn is_tls_deny(statement: &Statement) -> bool {
    statement.effect == Effect::Deny
        && statement.conditions.iter().any(|c| {
            c.key.eq_ignore_ascii_case("aws:SecureTransport")
                && c.values
                    .iter()
                    .any(|v| v.text.eq_ignore_ascii_case("false"))
        })
}

fn tls(ctx: &ModuleCtx, bucket: &Res, out: &mut Vec<Finding>) {
    let mut sources: Vec<(&Res, &Value)> = Vec::new();
    if let Some(inline) = bucket.get("policy") {
        sources.push((bucket, inline));
    }
    for policy in joined(ctx, bucket, "aws_s3_bucket_policy") {
        if let Some(v) = policy.get("policy") {
            sources.push((policy, v));
        }
    }
    let arn = bucket
        .get("arn")
        .and_then(Value::interpolate)
        .unwrap_or_else(|| format!("${{{}.{}.arn}}", bucket.rtype(), bucket.name()));
    let object = format!("{arn}/example-object-key");
    let mut candidates: Vec<(&Res, Statement)> = Vec::new();
    for (owner, value) in sources {
        match parse_policy(value) {
            Parsed::Policy(policy) => {
                candidates.extend(
                    policy
                        .statements
                        .into_iter()
                        .filter(is_tls_deny)
                        .map(|s| (owner, s)),
                );
            }
            Parsed::Unknown => {
                out.push(ctx.not_evaluated(owner, "policy", value, rules::S3_TLS_NOT_ENFORCED.id));
                return;
            }
            Parsed::Absent | Parsed::Invalid(..) => {}
        }
    }
    let Some((first_owner, first)) = candidates.first() else {
        out.push(ctx.finding(
            &rules::S3_TLS_NOT_ENFORCED,
            bucket.pos,
            bucket,
            format!(
                "No bucket policy of {} denies requests without TLS (aws:SecureTransport = \
                 false), so data can be read and written over plain HTTP",
                bucket.address
            ),
        ));
        return;
    };
    let covers = |s: &Statement, target: &str| {
        s.resources()
            .iter()
            .any(|r| glob_match(&r.text, target, false))
    };
    let complete = |s: &Statement| {
        let all_actions = s.not_action.is_some()
            || s.actions()
                .iter()
                .any(|a| a.text == "*" || a.text.eq_ignore_ascii_case("s3:*"));
        let everyone = s.principal.as_ref().is_some_and(|p| p.is_anyone());
        all_actions && everyone && covers(s, &arn) && covers(s, &object)
    };
    if candidates.iter().any(|(_, s)| complete(s)) {
        return;
    }
    let actions: Vec<&str> = first.actions().iter().map(|a| a.text.as_str()).collect();
    let resources: Vec<String> = first
        .resources()
        .iter()
        .map(|r| format!("\"{}\"", r.text))
        .collect();
    let all_actions = first.not_action.is_some()
        || first
            .actions()
            .iter()
            .any(|a| a.text == "*" || a.text.eq_ignore_ascii_case("s3:*"));
    let mut gaps = Vec::new();
    if !all_actions {
        gaps.push(format!(
            "it covers only {} on {}, so uploads (s3:PutObject), deletes (s3:DeleteObject), \
             listing (s3:ListBucket) and every other request still succeed over plain HTTP",
            actions.join(", "),
            resources.join(", ")
        ));
    }
    if !covers(first, &arn) {
        gaps.push(format!("it does not cover the bucket itself (\"{arn}\"), so bucket-level requests are not denied"));
    }
    if !covers(first, &object) {
        gaps.push(format!("it does not cover the objects (\"{arn}/*\")"));
    }
    if !first.principal.as_ref().is_some_and(|p| p.is_anyone()) {
        gaps.push("it does not apply to every principal (Principal \"*\")".to_owned());
    }
    let pos = if all_actions {
        first.resource_pos
    } else {
        first.action_pos
    };
    out.push(
        ctx.finding(
            &rules::S3_TLS_DENY_INCOMPLETE,
            pos,
            first_owner,
            format!(
                "The Deny on aws:SecureTransport = false in {} of the policy for {}: {}. Deny \
                 \"s3:*\" on both \"{arn}\" and \"{arn}/*\"",
                first.label(),
                bucket.address,
                gaps.join("; ")
            ),
        )
        .with_evidence(format!("Action = {}", actions.join(", "))),
    );
}
