//! Resource checks on one evaluated module instance. Each module owns a service; every
//! check knows the provider's default for an omitted setting, and reports a setting it
//! cannot evaluate as `terraform/value-not-evaluated` rather than passing it.

mod aws;
mod azure;
mod gcp;
mod policies;
mod s3;
mod structure;

use rampart_core::Finding;

use crate::terraform::ModuleCtx;

pub(crate) use policies::guess_kind as guess_policy_kind;

pub(crate) fn run(ctx: &ModuleCtx, out: &mut Vec<Finding>) {
    structure::check(ctx, out);
    policies::check(ctx, out);
    s3::check(ctx, out);
    aws::check(ctx, out);
    gcp::check(ctx, out);
    azure::check(ctx, out);
}

use rampart_core::Rule;

use crate::terraform::{Res, Setting, setting};
use crate::value::Value;

/// A setting whose omission means the unsafe provider default.
pub(super) struct Unsafe<'s> {
    pub path: &'s [&'s str],
    /// What an omitted setting defaults to, as written in messages (`"Enabled"`).
    pub default: &'s str,
    pub is_safe: fn(&Value) -> bool,
    pub rule: &'static Rule,
    /// What the unsafe value allows, for messages.
    pub consequence: &'s str,
}

pub(super) fn unsafe_setting(ctx: &ModuleCtx, res: &Res, check: &Unsafe, out: &mut Vec<Finding>) {
    let path = check.path.join(".");
    match setting(&res.value, check.path) {
        Setting::Known(v) if (check.is_safe)(v) => {}
        Setting::Known(v) => out.push(
            ctx.finding(
                check.rule,
                v.pos,
                res,
                format!(
                    "{} sets {path} = {}: {}",
                    res.address,
                    v.display(),
                    check.consequence
                ),
            )
            .with_evidence(format!("{path} = {}", v.display())),
        ),
        Setting::Unknown(v) => out.push(ctx.not_evaluated(res, &path, v, check.rule.id)),
        Setting::Missing => out.push(
            ctx.finding(
                check.rule,
                res.pos,
                res,
                format!(
                    "{} does not set {path}, which defaults to {}: {}",
                    res.address, check.default, check.consequence
                ),
            )
            .with_evidence(format!("{path} omitted")),
        ),
    }
}

/// A setting that must be present (a key, a block) for the resource to be safe. A value
/// known only at apply time (`aws_kms_key.x.arn`) is present: it is not reported.
pub(super) fn required(
    ctx: &ModuleCtx,
    res: &Res,
    path: &[&str],
    rule: &'static Rule,
    consequence: &str,
    out: &mut Vec<Finding>,
) {
    match setting(&res.value, path) {
        Setting::Known(v) if v.as_str() != Some("") => {}
        Setting::Unknown(_) => {}
        _ => out.push(
            ctx.finding(
                rule,
                res.pos,
                res,
                format!(
                    "{} does not set {}: {consequence}",
                    res.address,
                    path.join(".")
                ),
            )
            .with_evidence(format!("{} omitted", path.join("."))),
        ),
    }
}
