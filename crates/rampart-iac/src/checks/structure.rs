//! What `terraform validate` would reject (blocks outside the schema), deprecated inline
//! forms, and credentials written into provider blocks.

use hcl_edit::Span;
use hcl_edit::structure::Block;
use rampart_core::Finding;

use crate::rules;
use crate::terraform::load::block_pos;
use crate::terraform::schema::{self, DEPRECATED, META_BLOCKS, SEPARATE_RESOURCES};
use crate::terraform::{ModuleCtx, Res};
use crate::value::V;

pub(super) fn check(ctx: &ModuleCtx, out: &mut Vec<Finding>) {
    let pre_v4 = ctx
        .inst
        .module
        .aws_version_constraint
        .as_deref()
        .is_some_and(schema::before_v4);
    for res in &ctx.resources {
        invalid_blocks(ctx, res, out);
        if !pre_v4 {
            deprecated(ctx, res, out);
        }
    }
    provider_credentials(ctx, out);
    for res in &ctx.resources {
        resource_secrets(ctx, res, out);
    }
}

/// Whether a resource argument holds a password or secret by its name
/// (`administrator_login_password`, `master_password`, `client_secret`, `auth_token`).
fn is_secret_argument(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    (name.contains("password") && !name.ends_with("_enabled") && !name.contains("policy"))
        || name.ends_with("_secret")
        || name == "secret"
        || name.ends_with("secret_key")
        || name == "auth_token"
}

/// A literal password in a resource is in the repository, its history and the state: it
/// does not need to look random to be a leak (`"AdminPassword123!"` is a weak one too).
fn resource_secrets(ctx: &ModuleCtx, res: &Res, out: &mut Vec<Finding>) {
    for attr in res.decl.block.body.attributes() {
        let name = attr.key.as_str();
        if !is_secret_argument(name) {
            continue;
        }
        // Only a literal in the code; references (var., random_password, data sources) and
        // templates are where the secret comes from, not the secret.
        let Some(secret) = attr.value.as_str() else {
            continue;
        };
        if secret.is_empty() {
            continue;
        }
        let pos = ctx
            .files
            .pos(res.decl.file, attr.span().map_or(0, |s| s.start));
        out.push(
            Finding::new(
                &rules::RESOURCE_HARDCODED_SECRET,
                ctx.files.at(pos, Some(&res.address)),
                format!(
                    "{} sets `{name}` to a literal ({} characters): the secret is in the \
                     repository, its history and the Terraform state, readable by everyone \
                     who can read any of them",
                    res.address,
                    secret.chars().count()
                ),
            )
            .with_evidence(format!(
                "{name} = <redacted, {} characters>",
                secret.chars().count()
            )),
        );
    }
}

fn block_name(block: &Block) -> Option<&str> {
    if block.ident.as_str() == "dynamic" {
        block.labels.first().map(|l| l.as_str())
    } else {
        Some(block.ident.as_str())
    }
}

fn invalid_blocks(ctx: &ModuleCtx, res: &Res, out: &mut Vec<Finding>) {
    let Some(allowed) = schema::blocks_of(res.rtype()) else {
        return;
    };
    for block in res.decl.block.body.blocks() {
        let Some(name) = block_name(block) else {
            continue;
        };
        let is_meta = block.ident.as_str() != "dynamic" && META_BLOCKS.contains(&name);
        if is_meta || allowed.contains(&name) {
            continue;
        }
        let pos = block_pos(block, res.decl.file, ctx.files);
        let meant = suggestion(res.rtype(), name);
        let mut message = format!(
            "`{name}` is not a block of {}: `terraform validate` rejects this file (Blocks of type \
             \"{name}\" are not expected here), and nothing it sets is applied",
            res.rtype()
        );
        let mut fix = None;
        if let Some(meant) = meant {
            message.push_str(&format!(
                ". The setting lives in the separate resource {meant}; without one, {} has none",
                res.address
            ));
            let body: Vec<String> = block
                .body
                .attributes()
                .map(|a| format!("  {}", ctx.files.slice(res.decl.file, a.span())))
                .collect();
            fix = Some(format!(
                "Delete the `{name}` block and add:\n\nresource \"{meant}\" \"{}\" {{\n  bucket = {}.{}.id\n{}\n}}",
                res.name(),
                res.rtype(),
                res.name(),
                body.join("\n")
            ));
        }
        let finding = ctx
            .finding(&rules::INVALID_BLOCK, pos, res, message)
            .with_evidence(name.to_owned());
        out.push(match fix {
            Some(fix) => finding.with_fix(fix),
            None => finding,
        });
    }
}

/// The separate resource a misplaced block most likely meant.
pub(super) fn suggestion(rtype: &str, block: &str) -> Option<&'static str> {
    let stripped = block.strip_prefix("bucket_").unwrap_or(block);
    let candidates = [
        format!("{rtype}_{block}"),
        format!("{rtype}_{stripped}"),
        format!("aws_s3_{block}"),
        format!("aws_s3_bucket_{stripped}"),
    ];
    SEPARATE_RESOURCES
        .iter()
        .find(|r| candidates.iter().any(|c| c == *r))
        .copied()
}

fn deprecated(ctx: &ModuleCtx, res: &Res, out: &mut Vec<Finding>) {
    let body = &res.decl.block.body;
    for entry in DEPRECATED.iter().filter(|d| d.rtype == res.rtype()) {
        let span = if entry.block {
            body.blocks()
                .find(|b| block_name(b) == Some(entry.name))
                .and_then(|b| b.span())
        } else {
            body.get_attribute(entry.name).and_then(|a| a.span())
        };
        let Some(span) = span else {
            continue;
        };
        let pos = ctx.files.pos(res.decl.file, span.start);
        let what = if entry.block { "block" } else { "argument" };
        let fix = format!(
            "Remove the inline `{}` {what} and add:\n\nresource \"{}\" \"{}\" {{\n{}\n}}",
            entry.name,
            entry.replacement,
            res.name(),
            entry
                .snippet
                .replace("BUCKET", &format!("{}.{}.id", res.rtype(), res.name()))
        );
        out.push(
            ctx.finding(
                &rules::DEPRECATED_ARGUMENT,
                pos,
                res,
                format!(
                    "The inline `{}` {what} of aws_s3_bucket is deprecated since AWS provider v4 \
                     (read-only in 4.0-4.8, deprecated from 4.9): use the separate {} resource; \
                     keeping both forms makes plans fight over the setting",
                    entry.name, entry.replacement
                ),
            )
            .with_evidence(entry.name.to_owned())
            .with_fix(fix),
        );
    }
}

/// Provider arguments that hold secrets.
const CREDENTIAL_ARGUMENTS: &[(&str, &[&str])] = &[
    ("aws", &["access_key", "secret_key", "token"]),
    ("azurerm", &["client_secret", "client_certificate_password"]),
    ("google", &["credentials", "access_token"]),
];

fn provider_credentials(ctx: &ModuleCtx, out: &mut Vec<Finding>) {
    for provider in &ctx.inst.module.providers {
        let Some((_, names)) = CREDENTIAL_ARGUMENTS
            .iter()
            .find(|(p, _)| *p == provider.name)
        else {
            continue;
        };
        for attr in provider.block.body.attributes() {
            let name = attr.key.as_str();
            if !names.contains(&name) {
                continue;
            }
            let value = ctx
                .inst
                .eval(&attr.value, provider.file, Default::default());
            let V::Str(secret) = &value.kind else {
                continue;
            };
            // A path or file() result is not a literal credential in the code.
            let literal = attr.value.as_str().is_some() || attr.value.is_string_template();
            if secret.is_empty()
                || !literal
                || (name == "credentials" && !secret.contains("private_key"))
            {
                continue;
            }
            let alias = provider
                .block
                .body
                .get_attribute("alias")
                .and_then(|a| a.value.as_str())
                .map_or_else(
                    || provider.name.clone(),
                    |a| format!("{}.{a}", provider.name),
                );
            let redacted: String = secret.chars().take(4).collect::<String>() + "…";
            let pos = ctx
                .files
                .pos(provider.file, attr.span().map_or(0, |s| s.start));
            out.push(
                rampart_core::Finding::new(
                    &rules::PROVIDER_CREDENTIALS,
                    ctx.files.at(pos, Some(&format!("provider.{alias}"))),
                    format!(
                        "provider \"{}\" has `{name}` written in the configuration ({redacted}, {} \
                         characters): everyone with access to this repository holds it",
                        provider.name,
                        secret.chars().count()
                    ),
                )
                .with_evidence(format!("{name} = {redacted}")),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::suggestion;

    #[test]
    fn suggests_the_separate_resource() {
        assert_eq!(
            suggestion("aws_s3_bucket", "bucket_public_access_block"),
            Some("aws_s3_bucket_public_access_block")
        );
        assert_eq!(
            suggestion("aws_s3_bucket", "ownership_controls"),
            Some("aws_s3_bucket_ownership_controls")
        );
        assert_eq!(suggestion("aws_s3_bucket", "tags"), None);
    }
}
