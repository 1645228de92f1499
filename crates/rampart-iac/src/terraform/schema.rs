//! Provider facts for the resource types rampart has rules for: which nested blocks
//! their schema defines, and which inline arguments are deprecated in favour of separate
//! resources. Written from the providers' documentation (hashicorp/aws 5.x and 6.x, as of
//! late 2025); resource types not listed here (including all Google and Azure ones) are
//! never judged for unknown blocks. When the provider adds a block, add it here.

/// Blocks every resource may hold (Terraform meta-arguments and `timeouts`).
pub(crate) const META_BLOCKS: &[&str] = &[
    "lifecycle",
    "provisioner",
    "connection",
    "dynamic",
    "timeouts",
];

/// (resource type, the nested blocks its schema defines).
pub(crate) const BLOCKS: &[(&str, &[&str])] = &[
    (
        "aws_s3_bucket",
        &[
            "cors_rule",
            "grant",
            "lifecycle_rule",
            "logging",
            "object_lock_configuration",
            "replication_configuration",
            "server_side_encryption_configuration",
            "versioning",
            "website",
        ],
    ),
    ("aws_s3_bucket_public_access_block", &[]),
    ("aws_s3_bucket_policy", &[]),
    ("aws_s3_bucket_versioning", &["versioning_configuration"]),
    (
        "aws_s3_bucket_server_side_encryption_configuration",
        &["rule"],
    ),
    ("aws_s3_bucket_acl", &["access_control_policy"]),
    ("aws_s3_bucket_ownership_controls", &["rule"]),
    ("aws_kms_key", &[]),
    ("aws_iam_policy", &[]),
    ("aws_iam_role", &["inline_policy"]),
    ("aws_iam_role_policy", &[]),
    ("aws_iam_user_policy", &[]),
    ("aws_iam_group_policy", &[]),
    (
        "aws_sagemaker_notebook_instance",
        &["instance_metadata_service_configuration"],
    ),
    (
        "aws_sagemaker_model",
        &[
            "primary_container",
            "container",
            "vpc_config",
            "inference_execution_config",
        ],
    ),
    (
        "aws_sagemaker_endpoint_configuration",
        &[
            "production_variants",
            "shadow_production_variants",
            "data_capture_config",
            "async_inference_config",
        ],
    ),
    (
        "aws_ecr_repository",
        &[
            "encryption_configuration",
            "image_scanning_configuration",
            "image_tag_mutability_exclusion_filter",
        ],
    ),
    (
        "aws_eks_cluster",
        &[
            "access_config",
            "compute_config",
            "control_plane_scaling_config",
            "encryption_config",
            "kubernetes_network_config",
            "outpost_config",
            "remote_network_config",
            "storage_config",
            "upgrade_policy",
            "vpc_config",
            "zonal_shift_config",
        ],
    ),
];

/// Resource types a misplaced block may have meant, for suggestions.
pub(crate) const SEPARATE_RESOURCES: &[&str] = &[
    "aws_s3_bucket_accelerate_configuration",
    "aws_s3_bucket_acl",
    "aws_s3_bucket_cors_configuration",
    "aws_s3_bucket_lifecycle_configuration",
    "aws_s3_bucket_logging",
    "aws_s3_bucket_object_lock_configuration",
    "aws_s3_bucket_ownership_controls",
    "aws_s3_bucket_policy",
    "aws_s3_bucket_public_access_block",
    "aws_s3_bucket_replication_configuration",
    "aws_s3_bucket_request_payment_configuration",
    "aws_s3_bucket_server_side_encryption_configuration",
    "aws_s3_bucket_versioning",
    "aws_s3_bucket_website_configuration",
    "aws_s3_account_public_access_block",
];

/// An inline argument or block deprecated since AWS provider v4.
pub(crate) struct Deprecated {
    pub rtype: &'static str,
    pub name: &'static str,
    pub block: bool,
    pub replacement: &'static str,
    /// The replacement's body, with `BUCKET` for the bucket reference.
    pub snippet: &'static str,
}

pub(crate) const DEPRECATED: &[Deprecated] = &[
    Deprecated {
        rtype: "aws_s3_bucket",
        name: "server_side_encryption_configuration",
        block: true,
        replacement: "aws_s3_bucket_server_side_encryption_configuration",
        snippet: "  bucket = BUCKET\n  rule {\n    apply_server_side_encryption_by_default {\n      sse_algorithm = \"aws:kms\"\n    }\n  }",
    },
    Deprecated {
        rtype: "aws_s3_bucket",
        name: "versioning",
        block: true,
        replacement: "aws_s3_bucket_versioning",
        snippet: "  bucket = BUCKET\n  versioning_configuration {\n    status = \"Enabled\"\n  }",
    },
    Deprecated {
        rtype: "aws_s3_bucket",
        name: "logging",
        block: true,
        replacement: "aws_s3_bucket_logging",
        snippet: "  bucket        = BUCKET\n  target_bucket = aws_s3_bucket.logs.id\n  target_prefix = \"log/\"",
    },
    Deprecated {
        rtype: "aws_s3_bucket",
        name: "lifecycle_rule",
        block: true,
        replacement: "aws_s3_bucket_lifecycle_configuration",
        snippet: "  bucket = BUCKET\n  rule {\n    id     = \"expire\"\n    status = \"Enabled\"\n  }",
    },
    Deprecated {
        rtype: "aws_s3_bucket",
        name: "cors_rule",
        block: true,
        replacement: "aws_s3_bucket_cors_configuration",
        snippet: "  bucket = BUCKET\n  cors_rule {\n    allowed_methods = [\"GET\"]\n    allowed_origins = [\"https://example.com\"]\n  }",
    },
    Deprecated {
        rtype: "aws_s3_bucket",
        name: "grant",
        block: true,
        replacement: "aws_s3_bucket_acl",
        snippet: "  bucket = BUCKET\n  access_control_policy {\n    # grants\n  }",
    },
    Deprecated {
        rtype: "aws_s3_bucket",
        name: "object_lock_configuration",
        block: true,
        replacement: "aws_s3_bucket_object_lock_configuration",
        snippet: "  bucket = BUCKET\n  rule {\n    default_retention {\n      mode = \"GOVERNANCE\"\n      days = 30\n    }\n  }",
    },
    Deprecated {
        rtype: "aws_s3_bucket",
        name: "replication_configuration",
        block: true,
        replacement: "aws_s3_bucket_replication_configuration",
        snippet: "  bucket = BUCKET\n  role   = aws_iam_role.replication.arn\n  # rule { ... }",
    },
    Deprecated {
        rtype: "aws_s3_bucket",
        name: "website",
        block: true,
        replacement: "aws_s3_bucket_website_configuration",
        snippet: "  bucket = BUCKET\n  index_document {\n    suffix = \"index.html\"\n  }",
    },
    Deprecated {
        rtype: "aws_s3_bucket",
        name: "acl",
        block: false,
        replacement: "aws_s3_bucket_acl",
        snippet: "  bucket = BUCKET\n  acl    = \"private\"",
    },
    Deprecated {
        rtype: "aws_s3_bucket",
        name: "policy",
        block: false,
        replacement: "aws_s3_bucket_policy",
        snippet: "  bucket = BUCKET\n  policy = data.aws_iam_policy_document.bucket.json",
    },
    Deprecated {
        rtype: "aws_s3_bucket",
        name: "acceleration_status",
        block: false,
        replacement: "aws_s3_bucket_accelerate_configuration",
        snippet: "  bucket = BUCKET\n  status = \"Enabled\"",
    },
    Deprecated {
        rtype: "aws_s3_bucket",
        name: "request_payer",
        block: false,
        replacement: "aws_s3_bucket_request_payment_configuration",
        snippet: "  bucket = BUCKET\n  payer  = \"Requester\"",
    },
];

pub(crate) fn blocks_of(rtype: &str) -> Option<&'static [&'static str]> {
    BLOCKS.iter().find(|(t, _)| *t == rtype).map(|(_, b)| *b)
}

/// True when an AWS provider version constraint only admits versions before 4.0, where
/// the inline S3 forms were the only ones.
pub(crate) fn before_v4(constraint: &str) -> bool {
    constraint.split(',').any(|part| {
        let part = part.trim();
        let (operator, version) = match part.find(|c: char| c.is_ascii_digit()) {
            Some(i) => (
                part.get(..i).unwrap_or("").trim(),
                part.get(i..).unwrap_or(""),
            ),
            None => return false,
        };
        let mut numbers = version.split('.').map(|n| n.parse::<u32>().ok());
        let major = numbers.next().flatten().unwrap_or(u32::MAX);
        let minor = numbers.next().flatten().unwrap_or(0);
        match operator {
            "~>" | "=" | "" => major < 4,
            "<" => major < 4 || (major == 4 && minor == 0),
            "<=" => major < 4,
            _ => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_version_constraints() {
        assert!(before_v4("~> 3.74"));
        assert!(before_v4("< 4.0"));
        assert!(before_v4(">= 3.0, < 4.0"));
        assert!(!before_v4(">= 3.0"));
        assert!(!before_v4("~> 5.0"));
        assert!(!before_v4("nonsense"));
        assert!(blocks_of("aws_s3_bucket").unwrap().contains(&"versioning"));
        assert!(blocks_of("aws_lambda_function").is_none());
    }
}
