//! KMS keys, SageMaker notebooks / domains / models / endpoints, ECR repositories and EKS
//! clusters.

use rampart_core::Finding;

use super::{Unsafe, required, unsafe_setting};
use crate::rules;
use crate::terraform::{ModuleCtx, Res, Setting, setting};
use crate::value::{V, Value};

pub(super) fn check(ctx: &ModuleCtx, out: &mut Vec<Finding>) {
    for key in ctx.of_type("aws_kms_key") {
        kms_rotation(ctx, key, out);
    }
    for notebook in ctx.of_type("aws_sagemaker_notebook_instance") {
        sagemaker_notebook(ctx, notebook, out);
    }
    for domain in ctx.of_type("aws_sagemaker_domain") {
        unsafe_setting(
            ctx,
            domain,
            &Unsafe {
                path: &["app_network_access_type"],
                default: "\"PublicInternetOnly\"",
                is_safe: |v| v.as_str() == Some("VpcOnly"),
                rule: &rules::SAGEMAKER_DIRECT_INTERNET,
                consequence: "Studio apps reach the internet directly, outside the VPC's controls",
            },
            out,
        );
        required(
            ctx,
            domain,
            &["kms_key_id"],
            &rules::SAGEMAKER_NO_KMS,
            "the domain's EFS volume is encrypted with an AWS managed key",
            out,
        );
    }
    for config in ctx.of_type("aws_sagemaker_endpoint_configuration") {
        required(
            ctx,
            config,
            &["kms_key_arn"],
            &rules::SAGEMAKER_NO_KMS,
            "the ML storage volumes of the endpoint's instances use an AWS managed key",
            out,
        );
    }
    for model in ctx.of_type("aws_sagemaker_model") {
        sagemaker_model(ctx, model, out);
    }
    let registry_scanning = ctx
        .of_type("aws_ecr_registry_scanning_configuration")
        .next()
        .is_some();
    for repo in ctx.of_type("aws_ecr_repository") {
        unsafe_setting(
            ctx,
            repo,
            &Unsafe {
                path: &["image_tag_mutability"],
                default: "\"MUTABLE\"",
                is_safe: |v| v.as_str().is_some_and(|s| s.starts_with("IMMUTABLE")),
                rule: &rules::ECR_MUTABLE_TAGS,
                consequence: "anyone who can push can replace the image behind an existing tag",
            },
            out,
        );
        if !registry_scanning {
            unsafe_setting(
                ctx,
                repo,
                &Unsafe {
                    path: &["image_scanning_configuration", "scan_on_push"],
                    default: "false",
                    is_safe: |v| v.as_bool() == Some(true),
                    rule: &rules::ECR_SCAN_ON_PUSH,
                    consequence: "pushed images are not scanned for known vulnerabilities",
                },
                out,
            );
        }
    }
    for cluster in ctx.of_type("aws_eks_cluster") {
        eks(ctx, cluster, out);
    }
}

fn kms_rotation(ctx: &ModuleCtx, key: &Res, out: &mut Vec<Finding>) {
    // Only symmetric encryption keys can rotate automatically.
    for spec in ["customer_master_key_spec", "key_spec"] {
        if let Setting::Known(v) = setting(&key.value, &[spec])
            && v.as_str() != Some("SYMMETRIC_DEFAULT")
        {
            return;
        }
    }
    unsafe_setting(
        ctx,
        key,
        &Unsafe {
            path: &["enable_key_rotation"],
            default: "false",
            is_safe: |v| v.as_bool() == Some(true),
            rule: &rules::KMS_ROTATION_DISABLED,
            consequence: "its key material is never rotated",
        },
        out,
    );
}

fn sagemaker_notebook(ctx: &ModuleCtx, notebook: &Res, out: &mut Vec<Finding>) {
    let in_vpc = notebook.get("subnet_id").is_some_and(|v| !v.is_null());
    let direct = if in_vpc {
        "code in the notebook can reach the internet through SageMaker's network instead of your VPC"
    } else {
        "the notebook has no subnet_id either, so it runs outside your VPC with direct internet access"
    };
    unsafe_setting(
        ctx,
        notebook,
        &Unsafe {
            path: &["direct_internet_access"],
            default: "\"Enabled\"",
            is_safe: |v| {
                v.as_str()
                    .is_some_and(|s| s.eq_ignore_ascii_case("Disabled"))
            },
            rule: &rules::SAGEMAKER_DIRECT_INTERNET,
            consequence: direct,
        },
        out,
    );
    unsafe_setting(
        ctx,
        notebook,
        &Unsafe {
            path: &["root_access"],
            default: "\"Enabled\"",
            is_safe: |v| {
                v.as_str()
                    .is_some_and(|s| s.eq_ignore_ascii_case("Disabled"))
            },
            rule: &rules::SAGEMAKER_ROOT_ACCESS,
            consequence: "every notebook user is root on the instance",
        },
        out,
    );
    required(
        ctx,
        notebook,
        &["kms_key_id"],
        &rules::SAGEMAKER_NO_KMS,
        "the notebook's storage volume is encrypted with an AWS managed key",
        out,
    );
    unsafe_setting(
        ctx,
        notebook,
        &Unsafe {
            path: &[
                "instance_metadata_service_configuration",
                "minimum_instance_metadata_service_version",
            ],
            default: "\"1\"",
            is_safe: |v| v.as_str() == Some("2") || matches!(v.kind, V::Number(n) if n == 2.0),
            rule: &rules::SAGEMAKER_IMDSV1,
            consequence: "IMDSv1 answers unauthenticated GET requests, so an SSRF can read the notebook role's credentials",
        },
        out,
    );
}

fn sagemaker_model(ctx: &ModuleCtx, model: &Res, out: &mut Vec<Finding>) {
    unsafe_setting(
        ctx,
        model,
        &Unsafe {
            path: &["enable_network_isolation"],
            default: "false",
            is_safe: |v| v.as_bool() == Some(true),
            rule: &rules::SAGEMAKER_NETWORK_ISOLATION,
            consequence: "the model container can open network connections from inside the endpoint",
        },
        out,
    );
    if model.get("vpc_config").is_none() {
        out.push(ctx.finding(
            &rules::SAGEMAKER_NO_VPC,
            model.pos,
            model,
            format!(
                "{} has no vpc_config: its containers run outside your VPC",
                model.address
            ),
        ));
    }
    for block in ["primary_container", "container"] {
        for container in model.get(block).map(Value::items).unwrap_or_default() {
            if let Some(image) = container.get("image") {
                mutable_image(ctx, model, image, out);
            }
        }
    }
}

fn mutable_image(ctx: &ModuleCtx, model: &Res, image: &Value, out: &mut Vec<Finding>) {
    let Some(text) = image.interpolate() else {
        return;
    };
    if text.contains("@sha256:") {
        return;
    }
    // An ECR repository of this module with immutable tags makes a tag a fixed name.
    let immutable_repo = ctx.of_type("aws_ecr_repository").find(|repo| {
        let by_reference = text.contains(&format!("aws_ecr_repository.{}.", repo.name()));
        let by_name = repo
            .get("name")
            .and_then(Value::as_str)
            .is_some_and(|name| text.contains(&format!("/{name}:")) || text.ends_with(&format!("/{name}")));
        (by_reference || by_name)
            && matches!(setting(&repo.value, &["image_tag_mutability"]), Setting::Known(v) if v.as_str().is_some_and(|s| s.starts_with("IMMUTABLE")))
    });
    if immutable_repo.is_some() {
        return;
    }
    let last = text.rsplit('/').next().unwrap_or(&text);
    let tag = match last.rsplit_once(':') {
        Some((_, tag)) => format!("the tag \"{tag}\""),
        None if image.is_unknown() && text.starts_with("${") && text.ends_with('}') => {
            out.push(ctx.not_evaluated(
                model,
                "container image",
                image,
                rules::SAGEMAKER_MUTABLE_IMAGE.id,
            ));
            return;
        }
        None => "no tag (i.e. \"latest\")".to_owned(),
    };
    out.push(
        ctx.finding(
            &rules::SAGEMAKER_MUTABLE_IMAGE,
            image.pos,
            model,
            format!(
                "{} runs the image {} by {tag}, not by digest: a push to that tag changes what the \
                 endpoint serves on its next deployment",
                model.address,
                image.display()
            ),
        )
        .with_evidence(text),
    );
}

fn eks(ctx: &ModuleCtx, cluster: &Res, out: &mut Vec<Finding>) {
    let public = setting(&cluster.value, &["vpc_config", "endpoint_public_access"]);
    let cidrs = setting(&cluster.value, &["vpc_config", "public_access_cidrs"]);
    match (&public, &cidrs) {
        (Setting::Known(v), _) if v.as_bool() == Some(false) => {}
        (Setting::Unknown(v), _) => out.push(ctx.not_evaluated(
            cluster,
            "vpc_config.endpoint_public_access",
            v,
            rules::EKS_PUBLIC_ENDPOINT.id,
        )),
        (_, Setting::Unknown(v)) => out.push(ctx.not_evaluated(
            cluster,
            "vpc_config.public_access_cidrs",
            v,
            rules::EKS_PUBLIC_ENDPOINT.id,
        )),
        (_, Setting::Known(list))
            if !list.items().iter().any(|c| c.as_str() == Some("0.0.0.0/0")) => {}
        _ => {
            let how = match (&public, &cidrs) {
                (Setting::Missing, Setting::Missing) => {
                    "endpoint_public_access and public_access_cidrs are omitted (defaults: true, [\"0.0.0.0/0\"])"
                }
                (Setting::Missing, _) => {
                    "endpoint_public_access is omitted (default true) and public_access_cidrs includes 0.0.0.0/0"
                }
                (_, Setting::Missing) => "public_access_cidrs is omitted (default [\"0.0.0.0/0\"])",
                _ => "public_access_cidrs includes 0.0.0.0/0",
            };
            let pos = match &cidrs {
                Setting::Known(v) => v.pos,
                _ => cluster.pos,
            };
            out.push(ctx.finding(
                &rules::EKS_PUBLIC_ENDPOINT,
                pos,
                cluster,
                format!(
                    "The Kubernetes API of {} is reachable from the whole internet: {how}",
                    cluster.address
                ),
            ));
        }
    }
    let encrypts_secrets = cluster.get("encryption_config").is_some_and(|blocks| {
        blocks.items().iter().any(|b| {
            b.get("resources").is_some_and(|r| {
                r.items()
                    .iter()
                    .any(|i| i.as_str() == Some("secrets") || i.is_unknown())
            })
        })
    });
    if !encrypts_secrets {
        out.push(ctx.finding(
            &rules::EKS_SECRETS_ENCRYPTION,
            cluster.pos,
            cluster,
            format!("{} has no encryption_config for \"secrets\": Kubernetes secrets are not envelope-encrypted with a key you control", cluster.address),
        ));
    }
    match setting(&cluster.value, &["enabled_cluster_log_types"]) {
        Setting::Unknown(v) => out.push(ctx.not_evaluated(
            cluster,
            "enabled_cluster_log_types",
            v,
            rules::EKS_LOGGING.id,
        )),
        found => {
            let enabled: Vec<String> = match &found {
                Setting::Known(v) => v
                    .items()
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_owned))
                    .collect(),
                _ => Vec::new(),
            };
            let missing: Vec<&str> = ["audit", "authenticator"]
                .into_iter()
                .filter(|t| !enabled.iter().any(|e| e == t))
                .collect();
            if !missing.is_empty() {
                let pos = match &found {
                    Setting::Known(v) => v.pos,
                    _ => cluster.pos,
                };
                out.push(ctx.finding(
                    &rules::EKS_LOGGING,
                    pos,
                    cluster,
                    format!(
                        "{} does not send the {} control-plane logs to CloudWatch",
                        cluster.address,
                        missing.join(" and ")
                    ),
                ));
            }
        }
    }
}
