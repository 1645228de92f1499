//! Vertex AI: Workbench / user-managed notebooks, endpoints and the CMEK-capable
//! resources.

use rampart_core::Finding;

use super::{Unsafe, required, unsafe_setting};
use crate::rules;
use crate::terraform::ModuleCtx;

/// Vertex AI resources that take `encryption_spec { kms_key_name }`.
const ENCRYPTION_SPEC: &[&str] = &[
    "google_vertex_ai_dataset",
    "google_vertex_ai_endpoint",
    "google_vertex_ai_featurestore",
    "google_vertex_ai_metadata_store",
    "google_vertex_ai_tensorboard",
];

pub(super) fn check(ctx: &ModuleCtx, out: &mut Vec<Finding>) {
    for instance in ctx.of_type("google_workbench_instance") {
        unsafe_setting(
            ctx,
            instance,
            &Unsafe {
                path: &["gce_setup", "disable_public_ip"],
                default: "false",
                is_safe: |v| v.as_bool() == Some(true),
                rule: &rules::GCP_VERTEX_PUBLIC_IP,
                consequence: "the notebook VM gets an external IP address",
            },
            out,
        );
        unsafe_setting(
            ctx,
            instance,
            &Unsafe {
                path: &["gce_setup", "boot_disk", "disk_encryption"],
                default: "\"GMEK\" (Google-managed)",
                is_safe: |v| v.as_str().is_some_and(|s| s.eq_ignore_ascii_case("CMEK")),
                rule: &rules::GCP_VERTEX_NO_CMEK,
                consequence: "the boot disk is encrypted with a Google-managed key",
            },
            out,
        );
    }
    for notebook in ctx.of_type("google_notebooks_instance") {
        unsafe_setting(
            ctx,
            notebook,
            &Unsafe {
                path: &["no_public_ip"],
                default: "false",
                is_safe: |v| v.as_bool() == Some(true),
                rule: &rules::GCP_VERTEX_PUBLIC_IP,
                consequence: "the notebook VM gets an external IP address",
            },
            out,
        );
        unsafe_setting(
            ctx,
            notebook,
            &Unsafe {
                path: &["disk_encryption"],
                default: "\"GMEK\" (Google-managed)",
                is_safe: |v| v.as_str().is_some_and(|s| s.eq_ignore_ascii_case("CMEK")),
                rule: &rules::GCP_VERTEX_NO_CMEK,
                consequence: "the notebook's disks are encrypted with a Google-managed key",
            },
            out,
        );
    }
    for rtype in ENCRYPTION_SPEC {
        for res in ctx.of_type(rtype) {
            required(
                ctx,
                res,
                &["encryption_spec", "kms_key_name"],
                &rules::GCP_VERTEX_NO_CMEK,
                "its data is encrypted with a Google-managed key",
                out,
            );
        }
    }
    for endpoint in ctx.of_type("google_vertex_ai_endpoint") {
        let private = endpoint.get("network").is_some_and(|v| !v.is_null())
            || endpoint.get("private_service_connect_config").is_some();
        if !private {
            out.push(ctx.finding(
                &rules::GCP_VERTEX_PUBLIC_ENDPOINT,
                endpoint.pos,
                endpoint,
                format!(
                    "{} sets neither network nor private_service_connect_config: predictions are \
                     served on a public address",
                    endpoint.address
                ),
            ));
        }
    }
}
