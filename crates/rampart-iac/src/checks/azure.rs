//! Azure Machine Learning workspaces and compute, and Cognitive Services / Azure OpenAI
//! accounts.

use rampart_core::Finding;

use super::{Unsafe, required, unsafe_setting};
use crate::rules;
use crate::terraform::ModuleCtx;
use crate::value::Value;

fn is_false(v: &Value) -> bool {
    v.as_bool() == Some(false)
}

pub(super) fn check(ctx: &ModuleCtx, out: &mut Vec<Finding>) {
    for rtype in [
        "azurerm_machine_learning_workspace",
        "azurerm_cognitive_account",
    ] {
        for res in ctx.of_type(rtype) {
            unsafe_setting(
                ctx,
                res,
                &Unsafe {
                    path: &["public_network_access_enabled"],
                    default: "true",
                    is_safe: is_false,
                    rule: &rules::AZURE_PUBLIC_NETWORK,
                    consequence: "it accepts connections from public networks, not only private endpoints",
                },
                out,
            );
        }
    }
    for workspace in ctx.of_type("azurerm_machine_learning_workspace") {
        required(
            ctx,
            workspace,
            &["encryption", "key_id"],
            &rules::AZURE_NO_CMK,
            "workspace data is encrypted with Microsoft-managed keys",
            out,
        );
    }
    for account in ctx.of_type("azurerm_cognitive_account") {
        unsafe_setting(
            ctx,
            account,
            &Unsafe {
                path: &["local_auth_enabled"],
                default: "true",
                is_safe: is_false,
                rule: &rules::AZURE_LOCAL_AUTH,
                consequence: "the API accepts shared keys, bypassing Entra ID",
            },
            out,
        );
        required(
            ctx,
            account,
            &["customer_managed_key", "key_vault_key_id"],
            &rules::AZURE_NO_CMK,
            "the account's data is encrypted with Microsoft-managed keys",
            out,
        );
    }
    for rtype in [
        "azurerm_machine_learning_compute_cluster",
        "azurerm_machine_learning_compute_instance",
    ] {
        for compute in ctx.of_type(rtype) {
            unsafe_setting(
                ctx,
                compute,
                &Unsafe {
                    path: &["local_auth_enabled"],
                    default: "true",
                    is_safe: is_false,
                    rule: &rules::AZURE_LOCAL_AUTH,
                    consequence: "the compute accepts local (key-based) authentication",
                },
                out,
            );
            unsafe_setting(
                ctx,
                compute,
                &Unsafe {
                    path: &["node_public_ip_enabled"],
                    default: "true",
                    is_safe: is_false,
                    rule: &rules::AZURE_COMPUTE_PUBLIC_IP,
                    consequence: "its nodes get public IP addresses",
                },
                out,
            );
        }
    }
}
