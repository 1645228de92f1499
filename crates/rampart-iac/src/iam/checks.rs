//! The checks every policy document gets, whatever it was written in. What a statement
//! means depends on where the policy is attached ([`PolicyKind`]): `s3:*` in a KMS key
//! policy for the account root is AWS's default, in a training role it is a finding.

use rampart_core::{Finding, Severity};

use super::catalog::{self, AccessLevel, KeyType};
use super::{Condition, Effect, Item, Policy, Statement, glob_match};
use crate::rules;
use crate::sources::Files;
use crate::value::Pos;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PolicyKind {
    /// Attached to a user, group or role: says what they may do.
    Identity,
    /// Attached to a resource (bucket, key, repository ...): says who may use it. The
    /// text names the resource kind in messages.
    Resource(&'static str),
    /// A role's trust (assume-role) policy.
    Trust,
}

/// Where a policy is and what it is, for the findings it produces.
pub(crate) struct PolicyContext<'a> {
    pub files: &'a Files,
    pub resource: Option<&'a str>,
    pub kind: PolicyKind,
}

impl PolicyContext<'_> {
    fn finding(&self, rule: &'static rampart_core::Rule, pos: Pos, message: String) -> Finding {
        Finding::new(rule, self.files.at(pos, self.resource), message)
    }
}

pub(crate) fn check(policy: &Policy, ctx: &PolicyContext, out: &mut Vec<Finding>) {
    for statement in &policy.statements {
        check_conditions(statement, ctx, out);
        check_not_elements(statement, ctx, out);
        check_unknown_actions(statement, ctx, out);
        if statement.effect != Effect::Allow {
            continue;
        }
        match ctx.kind {
            PolicyKind::Identity => check_identity_scope(statement, ctx, out),
            PolicyKind::Resource(what) => check_public_principal(statement, what, ctx, out),
            PolicyKind::Trust => check_trust(statement, ctx, out),
        }
    }
    if ctx.kind == PolicyKind::Identity {
        check_privilege_escalation(policy, ctx, out);
    }
}

// ------------------------------------------------------------------ conditions

#[derive(Clone, Copy, PartialEq, Eq)]
enum OperatorType {
    String { like: bool },
    Numeric,
    Date,
    Bool,
    Binary,
    Ip,
    Arn,
    Null,
}

struct Operator<'a> {
    base: &'a str,
    set: Option<&'a str>,
    if_exists: bool,
    kind: Option<OperatorType>,
}

fn parse_operator(operator: &str) -> Operator<'_> {
    let (set, rest) = match operator.split_once(':') {
        Some((set, rest))
            if set.eq_ignore_ascii_case("ForAllValues")
                || set.eq_ignore_ascii_case("ForAnyValue") =>
        {
            (Some(set), rest)
        }
        _ => (None, operator),
    };
    let (base, if_exists) = match rest.strip_suffix("IfExists") {
        Some(base) if !base.is_empty() => (base, true),
        _ => (rest, false),
    };
    let kind = match base {
        "StringEquals"
        | "StringNotEquals"
        | "StringEqualsIgnoreCase"
        | "StringNotEqualsIgnoreCase" => Some(OperatorType::String { like: false }),
        "StringLike" | "StringNotLike" => Some(OperatorType::String { like: true }),
        "NumericEquals"
        | "NumericNotEquals"
        | "NumericLessThan"
        | "NumericLessThanEquals"
        | "NumericGreaterThan"
        | "NumericGreaterThanEquals" => Some(OperatorType::Numeric),
        "DateEquals"
        | "DateNotEquals"
        | "DateLessThan"
        | "DateLessThanEquals"
        | "DateGreaterThan"
        | "DateGreaterThanEquals" => Some(OperatorType::Date),
        "Bool" => Some(OperatorType::Bool),
        "BinaryEquals" => Some(OperatorType::Binary),
        "IpAddress" | "NotIpAddress" => Some(OperatorType::Ip),
        "ArnEquals" | "ArnLike" | "ArnNotEquals" | "ArnNotLike" => Some(OperatorType::Arn),
        "Null" => Some(OperatorType::Null),
        _ => None,
    };
    Operator {
        base,
        set,
        if_exists,
        kind,
    }
}

fn suggested_operator(key: KeyType) -> &'static str {
    match key {
        KeyType::String => "StringEquals (or StringLike for wildcards)",
        KeyType::Arn => "ArnLike (or ArnEquals)",
        KeyType::Numeric => "NumericEquals / NumericLessThan / NumericGreaterThan",
        KeyType::Date => "DateGreaterThan / DateLessThan",
        KeyType::Bool => "Bool",
        KeyType::IpAddress => "IpAddress / NotIpAddress",
        KeyType::ArrayOfString => "ForAnyValue:StringEquals (or ForAllValues:StringEquals)",
        KeyType::ArrayOfArn => "ForAnyValue:ArnLike",
    }
}

fn fits(operator: OperatorType, key: KeyType) -> bool {
    match operator {
        // String comparison works on every key's text form.
        OperatorType::String { .. } | OperatorType::Null | OperatorType::Binary => true,
        OperatorType::Numeric => key == KeyType::Numeric,
        OperatorType::Date => matches!(key, KeyType::Date | KeyType::Numeric),
        OperatorType::Bool => key == KeyType::Bool,
        OperatorType::Ip => key == KeyType::IpAddress,
        OperatorType::Arn => matches!(key, KeyType::Arn | KeyType::ArrayOfArn),
    }
}

fn values_text(values: &[Item]) -> String {
    values
        .iter()
        .map(|v| format!("\"{}\"", v.text))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a condition that never matches does to its statement.
fn consequence(statement: &Statement, condition: &Condition) -> (Severity, String) {
    match statement.effect {
        Effect::Deny => (
            Severity::High,
            format!(
                "so this Deny never applies: requests with {} = {} are not denied",
                condition.key,
                values_text(&condition.values)
            ),
        ),
        _ => (
            Severity::Medium,
            "so this Allow never grants anything as written".to_owned(),
        ),
    }
}

fn check_conditions(statement: &Statement, ctx: &PolicyContext, out: &mut Vec<Finding>) {
    for condition in &statement.conditions {
        // An operator Terraform computes at apply time cannot be judged.
        if condition.operator.contains("${") || condition.operator == "(unknown)" {
            continue;
        }
        let operator = parse_operator(&condition.operator);
        let Some(kind) = operator.kind else {
            out.push(
                ctx.finding(
                    &rules::IAM_CONDITION_MISMATCH,
                    condition.operator_pos,
                    format!(
                        "`{}` is not an IAM condition operator: AWS rejects the policy (or, \
                         through Terraform, the apply fails), so {} does not take effect",
                        condition.operator,
                        statement.label()
                    ),
                )
                .with_evidence(condition.operator.clone()),
            );
            continue;
        };
        let key_type = catalog::key_type(&condition.key);
        if let Some(key_type) = key_type
            && !fits(kind, key_type)
        {
            let (severity, effect) = consequence(statement, condition);
            out.push(
                ctx.finding(
                    &rules::IAM_CONDITION_MISMATCH,
                    condition.operator_pos,
                    format!(
                        "{}: `{}` compares {} values, but `{}` is a {} key; the condition never \
                         matches, {effect}. Use {} on this key",
                        statement.label(),
                        condition.operator,
                        operator_values(kind),
                        condition.key,
                        key_type.name(),
                        suggested_operator(key_type)
                    ),
                )
                .with_severity(severity)
                .with_evidence(format!(
                    "{}: {{{}: [{}]}}",
                    condition.operator,
                    condition.key,
                    values_text(&condition.values)
                )),
            );
            continue;
        }
        if kind == (OperatorType::String { like: false })
            && condition
                .values
                .iter()
                .any(|v| v.known && (v.text.contains('*') || v.text.contains('?')))
        {
            let (severity, effect) = consequence(statement, condition);
            out.push(
                ctx.finding(
                    &rules::IAM_CONDITION_MISMATCH,
                    condition.operator_pos,
                    format!(
                        "{}: `{}` takes `*` and `?` literally, so {} only matches those exact \
                         characters; {effect}. Use {} for wildcards",
                        statement.label(),
                        condition.operator,
                        values_text(&condition.values),
                        condition.operator.replace("Equals", "Like")
                    ),
                )
                .with_severity(severity),
            );
            continue;
        }
        if let (Some(set), Some(key_type)) = (operator.set, key_type)
            && set.eq_ignore_ascii_case("ForAllValues")
            && !key_type.is_multivalued()
            && statement.effect == Effect::Allow
        {
            out.push(ctx.finding(
                &rules::IAM_CONDITION_MISMATCH,
                condition.operator_pos,
                format!(
                    "{}: `ForAllValues` on the single-valued key `{}` is also true when the \
                     request does not carry the key at all, so the Allow applies to requests \
                     it was meant to exclude. Use `{}` without the set qualifier",
                    statement.label(),
                    condition.key,
                    operator.base
                ),
            ));
            continue;
        }
        if kind == OperatorType::Bool
            && !operator.if_exists
            && statement.effect == Effect::Deny
            && condition
                .key
                .eq_ignore_ascii_case("aws:MultiFactorAuthPresent")
            && condition
                .values
                .iter()
                .any(|v| v.text.eq_ignore_ascii_case("false"))
        {
            out.push(ctx.finding(
                &rules::IAM_CONDITION_MISMATCH,
                condition.operator_pos,
                format!(
                    "{}: requests signed with long-term access keys carry no \
                     aws:MultiFactorAuthPresent key at all, and `Bool` does not match a missing \
                     key, so this Deny does not stop them. Use `BoolIfExists` with \"false\"",
                    statement.label()
                ),
            ));
            continue;
        }
        if matches!(kind, OperatorType::Bool | OperatorType::Null)
            && condition.values.iter().any(|v| {
                v.known
                    && !v.text.eq_ignore_ascii_case("true")
                    && !v.text.eq_ignore_ascii_case("false")
            })
        {
            let (severity, effect) = consequence(statement, condition);
            out.push(
                ctx.finding(
                    &rules::IAM_CONDITION_MISMATCH,
                    condition.operator_pos,
                    format!(
                        "{}: `{}` only compares against \"true\" or \"false\", but the value is \
                         {}; the condition never matches, {effect}",
                        statement.label(),
                        condition.operator,
                        values_text(&condition.values)
                    ),
                )
                .with_severity(severity),
            );
        }
    }
}

fn operator_values(kind: OperatorType) -> &'static str {
    match kind {
        OperatorType::Bool => "true/false",
        OperatorType::Numeric => "numeric",
        OperatorType::Date => "date",
        OperatorType::Ip => "IP address",
        OperatorType::Arn => "ARN",
        OperatorType::String { .. } => "string",
        OperatorType::Binary => "base64 binary",
        OperatorType::Null => "key-presence",
    }
}

// ------------------------------------------------------------------ elements

/// An element is judged only when something in it is known: an element that is
/// entirely an apply-time value (`not_actions = try(each.value.not_actions, null)`)
/// may well be absent.
fn present(items: &[Item]) -> bool {
    items.iter().any(|i| i.known)
}

fn check_not_elements(statement: &Statement, ctx: &PolicyContext, out: &mut Vec<Finding>) {
    if statement.effect != Effect::Allow {
        return;
    }
    let mut report = |element: &str, pos: Pos, meaning: &str| {
        out.push(ctx.finding(
            &rules::IAM_ALLOW_NOT_ACTION,
            pos,
            format!("{}: Allow with {element} {meaning}", statement.label()),
        ));
    };
    if let Some(items) = statement.not_action.as_deref().filter(|i| present(i)) {
        report(
            "NotAction",
            statement.action_pos,
            &format!(
                "grants every action of every AWS service except {}, including actions added \
                 later",
                values_text(items)
            ),
        );
    }
    if statement.not_resource.as_deref().is_some_and(present) {
        report(
            "NotResource",
            statement.resource_pos,
            "applies to every resource except the listed ones, including resources created later",
        );
    }
    if let Some(principal) = statement
        .not_principal
        .as_ref()
        .filter(|p| p.star || p.entries.iter().any(|(_, i)| i.known))
    {
        report(
            "NotPrincipal",
            principal.pos,
            "grants access to every principal except the listed ones, including anonymous users",
        );
    }
}

fn check_unknown_actions(statement: &Statement, ctx: &PolicyContext, out: &mut Vec<Finding>) {
    let all = statement
        .action
        .iter()
        .chain(statement.not_action.iter())
        .flatten();
    for item in all.filter(|i| i.known && i.text != "*") {
        let Some((service, name)) = item.text.split_once(':') else {
            out.push(
                ctx.finding(
                    &rules::IAM_UNKNOWN_ACTION,
                    item.pos,
                    format!(
                        "\"{}\" is not of the form service:Action; IAM rejects or ignores it, so \
                         {} does not cover what was meant",
                        item.text,
                        statement.label()
                    ),
                )
                .with_evidence(item.text.clone()),
            );
            continue;
        };
        if !catalog::covers_service(service) || name.is_empty() {
            continue;
        }
        let known = if name.contains('*') || name.contains('?') {
            !catalog::matching_actions(&item.text).is_empty()
        } else {
            catalog::action(&item.text).is_some()
        };
        if known {
            continue;
        }
        let effect = match statement.effect {
            Effect::Deny => "this Deny protects nothing for it",
            _ => "this grants nothing for it",
        };
        let finding = ctx
            .finding(
                &rules::IAM_UNKNOWN_ACTION,
                item.pos,
                format!(
                    "\"{}\" is not an action of {service} (IAM accepts it silently): {effect}; \
                     check the spelling",
                    item.text
                ),
            )
            .with_evidence(item.text.clone());
        out.push(if statement.effect == Effect::Deny {
            finding.with_severity(Severity::Medium)
        } else {
            finding
        });
    }
}

fn is_any_resource(item: &Item) -> bool {
    item.known && item.text == "*"
}

fn check_identity_scope(statement: &Statement, ctx: &PolicyContext, out: &mut Vec<Finding>) {
    let on_everything = statement.resources().iter().any(is_any_resource);
    let scope = if on_everything {
        "on every resource (\"*\")".to_owned()
    } else {
        format!("on {}", values_text(statement.resources()))
    };
    let actions = statement.actions();
    if let Some(star) = actions.iter().find(|a| a.known && a.text == "*") {
        if on_everything {
            out.push(ctx.finding(
                &rules::IAM_FULL_ADMIN,
                star.pos,
                format!(
                    "{} allows every action on every resource: full administrator access to \
                     the account",
                    statement.label()
                ),
            ));
        } else {
            out.push(ctx.finding(
                &rules::IAM_WILDCARD_ACTION,
                star.pos,
                format!(
                    "{} allows every action of every service {scope}",
                    statement.label()
                ),
            ));
        }
        return;
    }
    let wildcards: Vec<&Item> = actions
        .iter()
        .filter(|a| a.known && a.text.split_once(':').is_some_and(|(_, n)| n == "*"))
        .collect();
    if let Some(first) = wildcards.first() {
        let names = wildcards
            .iter()
            .map(|w| w.text.as_str())
            .collect::<Vec<_>>();
        let examples = names
            .iter()
            .filter_map(|w| dangerous_example(w))
            .collect::<Vec<_>>();
        let examples = if examples.is_empty() {
            String::new()
        } else {
            format!(" (including {})", examples.join(", "))
        };
        out.push(
            ctx.finding(
                &rules::IAM_WILDCARD_ACTION,
                first.pos,
                format!(
                    "{} allows all actions of {}{examples} {scope}",
                    statement.label(),
                    names.join(", ")
                ),
            )
            .with_evidence(names.join(", ")),
        );
        return;
    }
    if !on_everything {
        return;
    }
    let broad: Vec<&Item> = actions
        .iter()
        .filter(|a| a.known)
        .filter(|a| {
            catalog::matching_actions(&a.text).iter().any(|info| {
                info.restrictable
                    && (matches!(info.level, AccessLevel::Write | AccessLevel::Permissions)
                        || info.name.eq_ignore_ascii_case("s3:GetObject"))
            })
        })
        .collect();
    if !broad.is_empty() {
        let names = broad
            .iter()
            .map(|a| a.text.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        out.push(
            ctx.finding(
                &rules::IAM_RESOURCE_WILDCARD,
                statement.resource_pos,
                format!(
                    "{} allows {names} on every resource (\"*\"), though these actions can be \
                     limited to specific ARNs",
                    statement.label()
                ),
            )
            .with_evidence(names),
        );
    }
}

fn dangerous_example(wildcard: &str) -> Option<&'static str> {
    let service = wildcard.split_once(':')?.0.to_ascii_lowercase();
    Some(match service.as_str() {
        "s3" => "s3:PutBucketPolicy, s3:DeleteBucket",
        "iam" => "iam:CreateAccessKey, iam:AttachRolePolicy",
        "sagemaker" => "sagemaker:CreatePresignedNotebookInstanceUrl",
        "kms" => "kms:ScheduleKeyDeletion, kms:PutKeyPolicy",
        "ec2" => "ec2:RunInstances, ec2:ModifyInstanceAttribute",
        "lambda" => "lambda:UpdateFunctionCode",
        "ecr" => "ecr:PutImage",
        "eks" => "eks:CreateAccessEntry",
        _ => return None,
    })
}

// ------------------------------------------------------------------ principals

/// Keys that limit who can use a resource policy granted to `*` to an account,
/// organisation, network path or calling resource.
const RESTRICTING_KEYS: &[&str] = &[
    "aws:sourcearn",
    "aws:sourceaccount",
    "aws:sourceowner",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:sourceip",
    "aws:vpcsourceip",
    "aws:sourceorgid",
    "aws:sourceorgpaths",
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:principalservicename",
    "aws:principalisawsservice",
    "aws:userid",
    "aws:username",
    "kms:calleraccount",
    "s3:dataaccesspointaccount",
    "s3:dataaccesspointarn",
    "sts:externalid",
    "token.actions.githubusercontent.com:sub",
];

fn has_restricting_condition(statement: &Statement) -> bool {
    statement.conditions.iter().any(|c| {
        let negated = c.operator.contains("Not");
        !negated
            && RESTRICTING_KEYS.contains(&c.key.to_ascii_lowercase().as_str())
            && !c.values.iter().any(|v| v.known && v.text == "*")
    })
}

fn check_public_principal(
    statement: &Statement,
    what: &'static str,
    ctx: &PolicyContext,
    out: &mut Vec<Finding>,
) {
    let Some(principal) = &statement.principal else {
        return;
    };
    if !principal.is_anyone() || has_restricting_condition(statement) {
        return;
    }
    let actions = statement.action.as_deref().map_or_else(
        || "every action except the NotAction list".to_owned(),
        values_text,
    );
    let writes = statement.actions().iter().any(|a| {
        a.text == "*"
            || catalog::matching_actions(&a.text)
                .iter()
                .any(|i| matches!(i.level, AccessLevel::Write | AccessLevel::Permissions))
            || a.text.ends_with(":*")
    });
    let finding = ctx.finding(
        &rules::IAM_PUBLIC_RESOURCE_POLICY,
        principal.pos,
        format!(
            "{} of this {what} allows {actions} to any principal (\"*\") with no condition \
             limiting the caller's account, organisation or network: anyone with an AWS account \
             can do this",
            statement.label()
        ),
    );
    out.push(if writes {
        finding.with_severity(Severity::Critical)
    } else {
        finding
    });
}

fn check_trust(statement: &Statement, ctx: &PolicyContext, out: &mut Vec<Finding>) {
    let Some(principal) = &statement.principal else {
        return;
    };
    if principal.is_anyone() && !has_restricting_condition(statement) {
        out.push(ctx.finding(
            &rules::IAM_TRUST_ANY_PRINCIPAL,
            principal.pos,
            format!(
                "{} lets any AWS principal (\"*\") assume this role, with no condition on the \
                 caller's account or organisation: anyone can obtain its permissions",
                statement.label()
            ),
        ));
        return;
    }
    let github = principal.entries.iter().find(|(kind, item)| {
        kind.eq_ignore_ascii_case("Federated")
            && item.text.contains("token.actions.githubusercontent.com")
    });
    if let Some((_, item)) = github {
        let pins_subject = statement.conditions.iter().any(|c| {
            c.key
                .eq_ignore_ascii_case("token.actions.githubusercontent.com:sub")
                && !c.operator.contains("Not")
                && c.values
                    .iter()
                    .all(|v| !v.known || !matches!(v.text.as_str(), "*" | "repo:*"))
        });
        if !pins_subject {
            out.push(ctx.finding(
                &rules::IAM_TRUST_ANY_PRINCIPAL,
                item.pos,
                format!(
                    "{} trusts GitHub's OIDC provider without a condition on \
                     token.actions.githubusercontent.com:sub: a workflow in any repository on \
                     GitHub can assume this role",
                    statement.label()
                ),
            ));
        }
    }
}

// ------------------------------------------------------------------ escalation

struct Method {
    name: &'static str,
    actions: &'static [&'static str],
    how: &'static str,
}

/// Privilege-escalation combinations: cloudsplaining's list (after Rhino Security Labs)
/// plus the SageMaker paths, where a passed role runs code the caller controls.
const METHODS: &[Method] = &[
    Method {
        name: "CreateAccessKey",
        actions: &["iam:CreateAccessKey"],
        how: "create access keys for any user",
    },
    Method {
        name: "CreateLoginProfile",
        actions: &["iam:CreateLoginProfile"],
        how: "set a console password for any user",
    },
    Method {
        name: "UpdateLoginProfile",
        actions: &["iam:UpdateLoginProfile"],
        how: "reset any user's console password",
    },
    Method {
        name: "AddUserToGroup",
        actions: &["iam:AddUserToGroup"],
        how: "join an administrators group",
    },
    Method {
        name: "CreatePolicyVersion",
        actions: &["iam:CreatePolicyVersion"],
        how: "rewrite a managed policy it holds",
    },
    Method {
        name: "SetDefaultPolicyVersion",
        actions: &["iam:SetDefaultPolicyVersion"],
        how: "switch a managed policy to a broader old version",
    },
    Method {
        name: "AttachUserPolicy",
        actions: &["iam:AttachUserPolicy"],
        how: "attach AdministratorAccess to a user",
    },
    Method {
        name: "AttachGroupPolicy",
        actions: &["iam:AttachGroupPolicy"],
        how: "attach AdministratorAccess to a group",
    },
    Method {
        name: "AttachRolePolicy",
        actions: &["iam:AttachRolePolicy", "sts:AssumeRole"],
        how: "attach AdministratorAccess to a role and assume it",
    },
    Method {
        name: "PutUserPolicy",
        actions: &["iam:PutUserPolicy"],
        how: "write an inline admin policy on a user",
    },
    Method {
        name: "PutGroupPolicy",
        actions: &["iam:PutGroupPolicy"],
        how: "write an inline admin policy on a group",
    },
    Method {
        name: "PutRolePolicy",
        actions: &["iam:PutRolePolicy", "sts:AssumeRole"],
        how: "write an inline admin policy on a role and assume it",
    },
    Method {
        name: "UpdateAssumeRolePolicy",
        actions: &["iam:UpdateAssumeRolePolicy", "sts:AssumeRole"],
        how: "make a privileged role trust itself and assume it",
    },
    Method {
        name: "PassRole to EC2",
        actions: &["iam:PassRole", "ec2:RunInstances"],
        how: "start an instance with a privileged role",
    },
    Method {
        name: "PassRole to Lambda",
        actions: &[
            "iam:PassRole",
            "lambda:CreateFunction",
            "lambda:InvokeFunction",
        ],
        how: "run a function with a privileged role",
    },
    Method {
        name: "PassRole to Lambda event source",
        actions: &[
            "iam:PassRole",
            "lambda:CreateFunction",
            "lambda:CreateEventSourceMapping",
        ],
        how: "run a function with a privileged role from an event source",
    },
    Method {
        name: "UpdateFunctionCode",
        actions: &["lambda:UpdateFunctionCode"],
        how: "replace the code of a function that has a privileged role",
    },
    Method {
        name: "PassRole to Glue",
        actions: &["iam:PassRole", "glue:CreateDevEndpoint"],
        how: "open a Glue dev endpoint with a privileged role",
    },
    Method {
        name: "UpdateDevEndpoint",
        actions: &["glue:UpdateDevEndpoint"],
        how: "add its SSH key to a Glue dev endpoint with a privileged role",
    },
    Method {
        name: "PassRole to CloudFormation",
        actions: &["iam:PassRole", "cloudformation:CreateStack"],
        how: "create a stack that acts with a privileged role",
    },
    Method {
        name: "PassRole to Data Pipeline",
        actions: &[
            "iam:PassRole",
            "datapipeline:CreatePipeline",
            "datapipeline:PutPipelineDefinition",
        ],
        how: "run a pipeline with a privileged role",
    },
    Method {
        name: "PassRole to SageMaker notebook",
        actions: &[
            "iam:PassRole",
            "sagemaker:CreateNotebookInstance",
            "sagemaker:CreatePresignedNotebookInstanceUrl",
        ],
        how: "create a notebook with a privileged role and open a shell in it",
    },
    Method {
        name: "PassRole to SageMaker training job",
        actions: &["iam:PassRole", "sagemaker:CreateTrainingJob"],
        how: "run a training container it chooses with a privileged role",
    },
    Method {
        name: "PassRole to SageMaker processing job",
        actions: &["iam:PassRole", "sagemaker:CreateProcessingJob"],
        how: "run a processing container it chooses with a privileged role",
    },
    Method {
        name: "PassRole to SageMaker tuning job",
        actions: &["iam:PassRole", "sagemaker:CreateHyperParameterTuningJob"],
        how: "run training containers it chooses with a privileged role",
    },
    Method {
        name: "Presigned notebook URL",
        actions: &["sagemaker:CreatePresignedNotebookInstanceUrl"],
        how: "open a shell in any existing notebook and act with its role",
    },
    Method {
        name: "Notebook lifecycle configuration",
        actions: &[
            "sagemaker:CreateNotebookInstanceLifecycleConfig",
            "sagemaker:UpdateNotebookInstance",
        ],
        how: "attach a start-up script that runs as root with an existing notebook's role",
    },
];

/// A resource element that does not narrow the target: `*`, or every role/user/policy.
fn unrestricted(resources: &[Item]) -> bool {
    resources.iter().any(|r| {
        r.known
            && (r.text == "*"
                || r.text.ends_with(":*")
                || r.text.rsplit_once(':').is_some_and(|(_, last)| {
                    last.split_once('/').is_some_and(|(_, rest)| rest == "*")
                }))
    })
}

/// The position of the item that allows `action` on an unrestricted resource, unless a
/// Deny on every resource takes it away.
fn allowed_anywhere(policy: &Policy, action: &str) -> Option<Pos> {
    let denied = policy.statements.iter().any(|s| {
        s.effect == Effect::Deny
            && s.conditions.is_empty()
            && s.resources().iter().any(is_any_resource)
            && s.actions()
                .iter()
                .any(|a| a.known && glob_match(&a.text, action, true))
    });
    if denied {
        return None;
    }
    policy.statements.iter().find_map(|s| {
        if s.effect != Effect::Allow || !unrestricted(s.resources()) {
            return None;
        }
        if let Some(not_action) = &s.not_action {
            let excluded = not_action
                .iter()
                .any(|a| a.known && glob_match(&a.text, action, true));
            return (!excluded).then_some(s.action_pos);
        }
        s.actions()
            .iter()
            .find(|a| a.known && glob_match(&a.text, action, true))
            .map(|a| a.pos)
    })
}

fn check_privilege_escalation(policy: &Policy, ctx: &PolicyContext, out: &mut Vec<Finding>) {
    // Full admin (`*`) is reported as such; every method would match it. Only `*`
    // matches an action of a service that does not exist.
    if allowed_anywhere(policy, "rampart-probe:NoSuchAction").is_some() {
        return;
    }
    let mut found: Vec<(&Method, Pos)> = Vec::new();
    for method in METHODS {
        let positions: Option<Vec<Pos>> = method
            .actions
            .iter()
            .map(|a| allowed_anywhere(policy, a))
            .collect();
        if let Some(positions) = positions
            && let Some(first) = positions.first()
        {
            found.push((method, *first));
        }
    }
    let Some((_, pos)) = found.first() else {
        return;
    };
    let shown: Vec<String> = found
        .iter()
        .take(4)
        .map(|(m, _)| format!("{} ({}: {})", m.name, m.actions.join(" + "), m.how))
        .collect();
    let more = if found.len() > shown.len() {
        format!(" and {} more", found.len() - shown.len())
    } else {
        String::new()
    };
    out.push(
        ctx.finding(
            &rules::IAM_PRIVILEGE_ESCALATION,
            *pos,
            format!(
                "The policy allows, on any resource: {}{more}. Whoever holds it can gain \
                 permissions beyond the ones it grants",
                shown.join("; ")
            ),
        )
        .with_evidence(
            found
                .iter()
                .map(|(m, _)| m.name)
                .collect::<Vec<_>>()
                .join(", "),
        ),
    );
}
