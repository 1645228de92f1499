//! Crate-level tests: the seed examples, one must-fire and one near-miss input per rule,
//! hardened configurations that must stay silent, evaluator features, modules, limits,
//! property tests and the fuzz corpus.

use std::path::Path;

use proptest::prelude::*;
use rampart_core::{Finding, Location};

use crate::test_support::*;
use crate::{Kind, RULES, detect};

fn scan(input: &str) -> Vec<Finding> {
    match input.strip_prefix("json:") {
        Some(json) => scan_json(json),
        None => scan_tf(input),
    }
}

/// (rule, input that must fire it, near-miss that must not). Inputs starting with
/// `json:` are standalone IAM policy files; the rest are Terraform.
const CASES: &[(&str, &str, &str)] = &[
    (
        "terraform/invalid-block",
        r#"resource "aws_s3_bucket" "b" {
  bucket = "b"
  bucket_public_access_block { block_public_acls = true }
}"#,
        r#"resource "aws_s3_bucket" "b" {
  bucket = "b"
  dynamic "cors_rule" {
    for_each = []
    content { allowed_methods = ["GET"] }
  }
  timeouts { create = "5m" }
}
resource "aws_lambda_function" "f" {
  anything { x = 1 }
}"#,
    ),
    (
        "terraform/deprecated-argument",
        r#"resource "aws_s3_bucket" "b" {
  bucket = "b"
  acl    = "private"
}"#,
        r#"terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "~> 3.74" }
  }
}
resource "aws_s3_bucket" "b" {
  bucket = "b"
  acl    = "private"
}"#,
    ),
    (
        "terraform/not-evaluated",
        r#"module "data" {
  source = "terraform-aws-modules/s3-bucket/aws"
}"#,
        r#"module "data" {
  count  = 0
  source = "./does-not-matter"
}
"#,
    ),
    (
        "terraform/value-not-evaluated",
        r#"variable "internet" {}
resource "aws_sagemaker_notebook_instance" "nb" {
  name                   = "nb"
  direct_internet_access = var.internet
}"#,
        r#"variable "internet" { default = "Disabled" }
resource "aws_sagemaker_notebook_instance" "nb" {
  name                   = "nb"
  subnet_id              = "subnet-1"
  direct_internet_access = var.internet
  root_access            = "Disabled"
  kms_key_id             = "arn:aws:kms:us-east-1:111122223333:key/k"
  instance_metadata_service_configuration {
    minimum_instance_metadata_service_version = "2"
  }
}"#,
    ),
    (
        "terraform/hardcoded-secret",
        r#"resource "azurerm_mssql_server" "db" {
  name                         = "db"
  administrator_login          = "admin"
  administrator_login_password = "AdminPassword123!"
}"#,
        r#"resource "random_password" "db" { length = 32 }
variable "client_secret" { sensitive = true }
resource "azurerm_mssql_server" "db" {
  name                         = "db"
  administrator_login_password = random_password.db.result
  password_enabled             = "true"
}
resource "azuread_application_password" "app" { display_name = var.client_secret }"#,
    ),
    (
        "terraform/provider-hardcoded-credentials",
        r#"provider "aws" {
  region     = "us-east-1"
  access_key = "AKIAQWERTYUIOPASDFGH"
  secret_key = "abcdefghijklmnopqrstuvwxyz0123456789ABCD"
}"#,
        r#"variable "key" {}
provider "aws" {
  region     = "us-east-1"
  access_key = var.key
}
provider "google" { credentials = file("sa.json") }"#,
    ),
    (
        "iam/condition-operator-mismatch",
        r#"json:{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:PutObject",
 "Resource": "*", "Condition": {"Bool": {"s3:x-amz-acl": "public-read"}}}]}"#,
        r#"json:{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:PutObject",
 "Resource": "*", "Condition": {"StringEquals": {"s3:x-amz-acl": ["public-read"]},
 "Bool": {"aws:SecureTransport": "false"}, "ArnLike": {"aws:SourceArn": "arn:aws:s3:::*"}}}]}"#,
    ),
    (
        "iam/allow-with-not-element",
        r#"json:{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}"#,
        r#"json:{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "NotAction": "iam:ChangePassword",
 "Resource": "*", "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}]}"#,
    ),
    (
        "iam/unknown-action",
        r#"json:{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObjekt"],
 "Resource": "arn:aws:s3:::b/*"}]}"#,
        r#"json:{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
 "Action": ["s3:GetObject", "s3:Get*", "sagemaker:CreateTrainingJob", "lambda:NoSuchThingButUncovered"],
 "Resource": "arn:aws:s3:::b/*"}]}"#,
    ),
    (
        "iam/full-admin",
        r#"json:{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}"#,
        r#"json:{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}"#,
    ),
    (
        "iam/wildcard-action",
        r#"resource "aws_iam_policy" "p" {
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sagemaker:*", Resource = "*" }]
  })
}"#,
        r#"resource "aws_iam_policy" "p" {
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = ["sagemaker:DescribeTrainingJob"], Resource = "*" }]
  })
}"#,
    ),
    (
        "iam/resource-wildcard",
        r#"json:{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": "*"}]}"#,
        r#"json:{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:ListAllMyBuckets", "ecr:GetAuthorizationToken"], "Resource": "*"},
 {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::models/out/*"}]}"#,
    ),
    (
        "iam/privilege-escalation",
        r#"json:{"Version": "2012-10-17", "Statement": [
 {"Effect": "Allow", "Action": ["iam:PassRole"], "Resource": "*"},
 {"Effect": "Allow", "Action": ["sagemaker:CreateTrainingJob"], "Resource": "*"}]}"#,
        r#"json:{"Version": "2012-10-17", "Statement": [
 {"Effect": "Allow", "Action": ["iam:PassRole"], "Resource": "arn:aws:iam::111122223333:role/sagemaker-training",
  "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}},
 {"Effect": "Allow", "Action": ["sagemaker:CreateTrainingJob"], "Resource": "*"}]}"#,
    ),
    (
        "iam/resource-policy-public",
        // checkov misses this one: the Resource is a reference inside jsonencode.
        r#"resource "aws_s3_bucket" "models" { bucket = "models" }
resource "aws_s3_bucket_policy" "models" {
  bucket = aws_s3_bucket.models.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = "*"
      Action    = "s3:GetObject"
      Resource  = ["${aws_s3_bucket.models.arn}/*"]
    }]
  })
}"#,
        r#"resource "aws_s3_bucket_policy" "models" {
  bucket = "models"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = "*"
      Action    = "s3:GetObject"
      Resource  = ["arn:aws:s3:::models/*"]
      Condition = { StringEquals = { "aws:PrincipalOrgID" = "o-abc123" } }
    }]
  })
}"#,
    ),
    (
        "iam/trust-any-principal",
        r#"resource "aws_iam_role" "ci" {
  name = "ci"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRoleWithWebIdentity"
      Principal = { Federated = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com" }
      Condition = { StringEquals = { "token.actions.githubusercontent.com:aud" = "sts.amazonaws.com" } }
    }]
  })
}"#,
        r#"resource "aws_iam_role" "ci" {
  name = "ci"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRoleWithWebIdentity"
      Principal = { Federated = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com" }
      Condition = {
        StringEquals = { "token.actions.githubusercontent.com:aud" = "sts.amazonaws.com" }
        StringLike   = { "token.actions.githubusercontent.com:sub" = "repo:acme/train:ref:refs/heads/main" }
      }
    }]
  })
}"#,
    ),
    (
        "aws/s3-no-public-access-block",
        r#"resource "aws_s3_bucket" "b" { bucket = "b" }"#,
        r#"resource "aws_s3_bucket" "b" { bucket = "b" }
resource "aws_s3_bucket_public_access_block" "b" {
  bucket                  = aws_s3_bucket.b.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}"#,
    ),
    (
        "aws/s3-public-access-block-incomplete",
        r#"resource "aws_s3_bucket" "b" { bucket = "b" }
resource "aws_s3_bucket_public_access_block" "b" {
  bucket            = aws_s3_bucket.b.id
  block_public_acls = true
}"#,
        r#"resource "aws_s3_bucket" "b" { bucket = "b" }
resource "aws_s3_bucket_public_access_block" "b" {
  bucket                  = "b"
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}"#,
    ),
    (
        "aws/s3-public-acl",
        r#"resource "aws_s3_bucket" "b" { bucket = "b" }
resource "aws_s3_bucket_acl" "b" {
  bucket = aws_s3_bucket.b.id
  acl    = "public-read"
}"#,
        r#"resource "aws_s3_bucket" "b" { bucket = "b" }
resource "aws_s3_bucket_acl" "b" {
  bucket = aws_s3_bucket.b.id
  acl    = "private"
}"#,
    ),
    (
        "aws/s3-tls-not-enforced",
        r#"resource "aws_s3_bucket" "b" { bucket = "b" }"#,
        r#"resource "aws_s3_bucket" "b" { bucket = "b" }
data "aws_iam_policy_document" "tls" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.b.arn, "${aws_s3_bucket.b.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}
resource "aws_s3_bucket_policy" "b" {
  bucket = aws_s3_bucket.b.id
  policy = data.aws_iam_policy_document.tls.json
}"#,
    ),
    (
        "aws/s3-tls-deny-incomplete",
        r#"resource "aws_s3_bucket" "b" { bucket = "b" }
resource "aws_s3_bucket_policy" "b" {
  bucket = aws_s3_bucket.b.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect = "Deny", Principal = "*", Action = "s3:*"
      Resource = "${aws_s3_bucket.b.arn}/*"
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })
}"#,
        r#"resource "aws_s3_bucket" "b" { bucket_prefix = "b-" }
resource "aws_s3_bucket_policy" "b" {
  bucket = aws_s3_bucket.b.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect = "Deny", Principal = { AWS = "*" }, Action = "s3:*"
      Resource = [aws_s3_bucket.b.arn, "${aws_s3_bucket.b.arn}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })
}"#,
    ),
    (
        "aws/s3-versioning-disabled",
        r#"resource "aws_s3_bucket" "b" { bucket = "b" }
resource "aws_s3_bucket_versioning" "b" {
  bucket = "b"
  versioning_configuration { status = "Suspended" }
}"#,
        r#"resource "aws_s3_bucket" "b" { bucket = "b" }
resource "aws_s3_bucket_versioning" "b" {
  bucket = "b"
  versioning_configuration { status = "Enabled" }
}"#,
    ),
    (
        "aws/kms-rotation-disabled",
        r#"resource "aws_kms_key" "k" { description = "data" }"#,
        r#"resource "aws_kms_key" "k" { enable_key_rotation = true }
resource "aws_kms_key" "signing" { customer_master_key_spec = "ECC_NIST_P256" }"#,
    ),
    (
        "aws/sagemaker-direct-internet-access",
        r#"resource "aws_sagemaker_domain" "d" { domain_name = "d" }"#,
        r#"resource "aws_sagemaker_domain" "d" {
  domain_name             = "d"
  app_network_access_type = "VpcOnly"
  kms_key_id              = "arn:aws:kms:us-east-1:111122223333:key/k"
}"#,
    ),
    (
        "aws/sagemaker-notebook-root-access",
        r#"resource "aws_sagemaker_notebook_instance" "nb" { root_access = "Enabled" }"#,
        r#"resource "aws_sagemaker_notebook_instance" "nb" { root_access = "Disabled" }"#,
    ),
    (
        "aws/sagemaker-notebook-imdsv1",
        r#"resource "aws_sagemaker_notebook_instance" "nb" { name = "nb" }"#,
        r#"resource "aws_sagemaker_notebook_instance" "nb" {
  instance_metadata_service_configuration {
    minimum_instance_metadata_service_version = "2"
  }
}"#,
    ),
    (
        "aws/sagemaker-no-kms",
        r#"resource "aws_sagemaker_endpoint_configuration" "e" {
  production_variants {
    variant_name = "v"
    model_name   = "m"
  }
}"#,
        r#"resource "aws_sagemaker_endpoint_configuration" "e" {
  kms_key_arn = "arn:aws:kms:us-east-1:111122223333:key/k"
  production_variants {
    variant_name = "v"
    model_name   = "m"
  }
}"#,
    ),
    (
        "aws/sagemaker-model-network-isolation",
        r#"resource "aws_sagemaker_model" "m" { enable_network_isolation = false }"#,
        r#"resource "aws_sagemaker_model" "m" { enable_network_isolation = true }"#,
    ),
    (
        "aws/sagemaker-model-no-vpc",
        r#"resource "aws_sagemaker_model" "m" { name = "m" }"#,
        r#"resource "aws_sagemaker_model" "m" {
  vpc_config {
    subnets            = ["subnet-1"]
    security_group_ids = ["sg-1"]
  }
}"#,
    ),
    (
        "aws/sagemaker-image-mutable-tag",
        r#"resource "aws_sagemaker_model" "m" {
  primary_container { image = "111122223333.dkr.ecr.us-east-1.amazonaws.com/serve:latest" }
}"#,
        r#"resource "aws_ecr_repository" "serve" {
  name                 = "serve"
  image_tag_mutability = "IMMUTABLE"
}
resource "aws_sagemaker_model" "m" {
  primary_container { image = "${aws_ecr_repository.serve.repository_url}:v1.2.0" }
  container { image = "111122223333.dkr.ecr.us-east-1.amazonaws.com/other@sha256:0123456789abcdef" }
}"#,
    ),
    (
        "aws/ecr-mutable-tags",
        r#"resource "aws_ecr_repository" "r" { name = "r" }"#,
        r#"resource "aws_ecr_repository" "r" {
  name                 = "r"
  image_tag_mutability = "IMMUTABLE"
}"#,
    ),
    (
        "aws/ecr-scan-on-push-disabled",
        r#"resource "aws_ecr_repository" "r" {
  image_scanning_configuration { scan_on_push = false }
}"#,
        r#"resource "aws_ecr_repository" "r" {
  image_scanning_configuration { scan_on_push = true }
}"#,
    ),
    (
        "aws/eks-public-endpoint",
        r#"resource "aws_eks_cluster" "c" {
  vpc_config {
    subnet_ids          = ["subnet-1"]
    public_access_cidrs = ["0.0.0.0/0"]
  }
}"#,
        r#"resource "aws_eks_cluster" "c" {
  vpc_config {
    subnet_ids          = ["subnet-1"]
    public_access_cidrs = ["203.0.113.0/24"]
  }
}"#,
    ),
    (
        "aws/eks-secrets-not-encrypted",
        r#"resource "aws_eks_cluster" "c" {
  vpc_config { endpoint_public_access = false }
}"#,
        r#"resource "aws_eks_cluster" "c" {
  vpc_config { endpoint_public_access = false }
  encryption_config {
    resources = ["secrets"]
    provider { key_arn = "arn:aws:kms:us-east-1:111122223333:key/k" }
  }
}"#,
    ),
    (
        "aws/eks-control-plane-logging",
        r#"resource "aws_eks_cluster" "c" { enabled_cluster_log_types = ["api"] }"#,
        r#"resource "aws_eks_cluster" "c" { enabled_cluster_log_types = ["api", "audit", "authenticator"] }"#,
    ),
    (
        "gcp/vertex-notebook-public-ip",
        r#"resource "google_workbench_instance" "w" {
  name     = "w"
  location = "us-central1-a"
}"#,
        r#"resource "google_workbench_instance" "w" {
  gce_setup {
    disable_public_ip = true
    boot_disk {
      disk_encryption = "CMEK"
      kms_key         = "projects/p/locations/l/keyRings/r/cryptoKeys/k"
    }
  }
}"#,
    ),
    (
        "gcp/vertex-no-cmek",
        r#"resource "google_vertex_ai_dataset" "d" { display_name = "d" }"#,
        r#"resource "google_vertex_ai_dataset" "d" {
  encryption_spec { kms_key_name = "projects/p/locations/l/keyRings/r/cryptoKeys/k" }
}"#,
    ),
    (
        "gcp/vertex-endpoint-public",
        r#"resource "google_vertex_ai_endpoint" "e" { name = "e" }"#,
        r#"resource "google_vertex_ai_endpoint" "e" {
  name    = "e"
  network = "projects/123/global/networks/vpc"
  encryption_spec { kms_key_name = "k" }
}"#,
    ),
    (
        "azure/ai-public-network-access",
        r#"resource "azurerm_machine_learning_workspace" "w" { name = "w" }"#,
        r#"resource "azurerm_machine_learning_workspace" "w" {
  public_network_access_enabled = false
  encryption {
    key_vault_id = "kv"
    key_id       = "key"
  }
}"#,
    ),
    (
        "azure/ai-local-auth-enabled",
        r#"resource "azurerm_cognitive_account" "openai" {
  kind                          = "OpenAI"
  public_network_access_enabled = false
}"#,
        r#"resource "azurerm_cognitive_account" "openai" {
  kind                          = "OpenAI"
  public_network_access_enabled = false
  local_auth_enabled            = false
  customer_managed_key { key_vault_key_id = "key" }
}"#,
    ),
    (
        "azure/ai-no-cmk",
        r#"resource "azurerm_machine_learning_workspace" "w" { public_network_access_enabled = false }"#,
        r#"resource "azurerm_machine_learning_workspace" "w" {
  public_network_access_enabled = false
  encryption {
    key_vault_id = "kv"
    key_id       = "key"
  }
}"#,
    ),
    (
        "azure/ml-compute-public-ip",
        r#"resource "azurerm_machine_learning_compute_cluster" "c" { local_auth_enabled = false }"#,
        r#"resource "azurerm_machine_learning_compute_cluster" "c" {
  local_auth_enabled     = false
  node_public_ip_enabled = false
}"#,
    ),
];

#[test]
fn every_rule_fires_on_its_fixture_and_not_on_its_near_miss() {
    for (rule, fire, near_miss) in CASES {
        let fired = scan(fire);
        assert!(
            fired.iter().any(|f| f.rule.id == *rule),
            "{rule} did not fire on its fixture:\n{}",
            dump(&fired)
        );
        let quiet = scan(near_miss);
        assert!(
            !quiet.iter().any(|f| f.rule.id == *rule),
            "{rule} fired on its near miss:\n{}",
            dump(&quiet)
        );
        assert!(
            !quiet.iter().chain(&fired).any(Finding::marks_incomplete),
            "{rule}: a fixture failed to parse:\n{}{}",
            dump(&fired),
            dump(&quiet)
        );
    }
}

#[test]
fn every_rule_has_a_case() {
    for rule in RULES {
        assert!(
            CASES.iter().any(|(id, _, _)| id == &rule.id),
            "{} has no fire/near-miss case",
            rule.id
        );
    }
}

#[test]
fn seed_main_tf_produces_exactly_the_issue_findings() {
    let text = std::fs::read_to_string(seed("main.tf")).unwrap();
    let findings = scan_tf(&text);
    assert_eq!(
        ids(&findings),
        [
            "aws/s3-no-public-access-block@1",
            "aws/s3-tls-deny-incomplete@52",
            "terraform/deprecated-argument@12",
            "terraform/deprecated-argument@4",
            "terraform/invalid-block@16",
        ],
        "{}",
        dump(&findings)
    );
    let message = |rule: &str| {
        findings
            .iter()
            .find(|f| f.rule.id == rule)
            .map(|f| {
                (
                    f.message.clone(),
                    f.location.resource.clone().unwrap_or_default(),
                )
            })
            .unwrap()
    };
    let (invalid, address) = message("terraform/invalid-block");
    assert!(
        invalid.contains("terraform validate")
            && invalid.contains("aws_s3_bucket_public_access_block")
    );
    assert_eq!(address, "aws_s3_bucket.ai_data_lake");
    let (no_block, _) = message("aws/s3-no-public-access-block");
    assert!(no_block.contains("line 16"), "{no_block}");
    let (tls, address) = message("aws/s3-tls-deny-incomplete");
    assert!(
        tls.contains("only s3:GetObject")
            && tls.contains("s3:PutObject")
            && tls.contains("\"s3:*\""),
        "{tls}"
    );
    assert_eq!(address, "aws_s3_bucket_policy.ai_data_lake_policy");
    let deprecated: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.rule.id == "terraform/deprecated-argument")
        .collect();
    assert!(
        deprecated
            .iter()
            .any(|f| f.message.contains("aws_s3_bucket_versioning"))
    );
    assert!(deprecated.iter().any(|f| {
        f.message
            .contains("aws_s3_bucket_server_side_encryption_configuration")
    }));
    assert!(
        findings
            .iter()
            .find(|f| f.rule.id == "terraform/invalid-block")
            .unwrap()
            .fix
            .as_ref()
            .unwrap()
            .contains("restrict_public_buckets = true")
    );
}

#[test]
fn seed_iam_policy_produces_exactly_the_issue_finding() {
    let text = std::fs::read_to_string(seed("iam_policy.json")).unwrap();
    let findings = scan_json(&text);
    assert_eq!(
        ids(&findings),
        ["iam/condition-operator-mismatch@28"],
        "{}",
        dump(&findings)
    );
    let f = &findings[0];
    assert_eq!(f.severity, rampart_core::Severity::High);
    for needle in [
        "`Bool`",
        "s3:x-amz-acl",
        "String key",
        "never matches",
        "public-read",
        "not denied",
        "StringEquals",
    ] {
        assert!(
            f.message.contains(needle),
            "{needle} missing: {}",
            f.message
        );
    }
}

#[test]
fn hardened_ml_platform_is_silent() {
    let text = r#"
terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = ">= 5.0" }
  }
}
variable "prefix" { default = "acme-ml" }
locals {
  bucket = "${var.prefix}-training-data"
  kms    = aws_kms_key.data.arn
}
resource "aws_kms_key" "data" {
  enable_key_rotation = true
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid = "Root", Effect = "Allow", Action = "kms:*", Resource = "*"
      Principal = { AWS = "arn:aws:iam::111122223333:root" }
    }]
  })
}
resource "aws_s3_bucket" "data" { bucket = local.bucket }
resource "aws_s3_bucket_public_access_block" "data" {
  bucket                  = aws_s3_bucket.data.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}
resource "aws_s3_bucket_versioning" "data" {
  bucket = aws_s3_bucket.data.id
  versioning_configuration { status = "Enabled" }
}
resource "aws_s3_bucket_server_side_encryption_configuration" "data" {
  bucket = aws_s3_bucket.data.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = local.kms
    }
  }
}
resource "aws_s3_bucket_policy" "data" {
  bucket = aws_s3_bucket.data.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "TLSOnly"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = [aws_s3_bucket.data.arn, "${aws_s3_bucket.data.arn}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })
}
resource "aws_iam_role" "training" {
  name = "training"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect = "Allow", Action = "sts:AssumeRole"
      Principal = { Service = "sagemaker.amazonaws.com" }
    }]
  })
}
data "aws_iam_policy_document" "training" {
  statement {
    actions   = ["s3:GetObject", "s3:ListBucket"]
    resources = [aws_s3_bucket.data.arn, "${aws_s3_bucket.data.arn}/*"]
  }
  dynamic "statement" {
    for_each = ["out", "checkpoints"]
    content {
      actions   = ["s3:PutObject"]
      resources = ["${aws_s3_bucket.data.arn}/${statement.value}/*"]
    }
  }
  statement {
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.data.arn]
  }
}
resource "aws_iam_role_policy" "training" {
  role   = aws_iam_role.training.id
  policy = data.aws_iam_policy_document.training.json
}
resource "aws_sagemaker_notebook_instance" "nb" {
  name                   = "nb"
  role_arn               = aws_iam_role.training.arn
  instance_type          = "ml.t3.medium"
  subnet_id              = "subnet-1"
  security_groups        = ["sg-1"]
  direct_internet_access = "Disabled"
  root_access            = "Disabled"
  kms_key_id             = aws_kms_key.data.arn
  instance_metadata_service_configuration {
    minimum_instance_metadata_service_version = "2"
  }
}
resource "aws_ecr_repository" "serve" {
  name                 = "serve"
  image_tag_mutability = "IMMUTABLE"
  image_scanning_configuration { scan_on_push = true }
}
resource "aws_sagemaker_model" "m" {
  name                     = "m"
  execution_role_arn       = aws_iam_role.training.arn
  enable_network_isolation = true
  primary_container { image = "${aws_ecr_repository.serve.repository_url}:1.0.0" }
  vpc_config {
    subnets            = ["subnet-1"]
    security_group_ids = ["sg-1"]
  }
}
resource "aws_sagemaker_endpoint_configuration" "e" {
  kms_key_arn = aws_kms_key.data.arn
  production_variants {
    variant_name           = "v"
    model_name             = aws_sagemaker_model.m.name
    initial_instance_count = 1
    instance_type          = "ml.m5.large"
  }
}
resource "aws_eks_cluster" "c" {
  name                      = "c"
  role_arn                  = aws_iam_role.training.arn
  enabled_cluster_log_types = ["api", "audit", "authenticator"]
  vpc_config {
    subnet_ids              = ["subnet-1"]
    endpoint_private_access = true
    endpoint_public_access  = false
  }
  encryption_config {
    resources = ["secrets"]
    provider { key_arn = aws_kms_key.data.arn }
  }
}
"#;
    let findings = scan_tf(text);
    assert!(findings.is_empty(), "{}", dump(&findings));
}

#[test]
fn variables_tfvars_conditionals_and_count_are_evaluated() {
    let main = r#"
variable "public" { default = false }
variable "access" {}
variable "unused_manual" {}
locals { mode = var.public ? "Enabled" : "Disabled" }
resource "aws_sagemaker_notebook_instance" "a" {
  direct_internet_access = local.mode
  root_access            = var.access
}
resource "aws_ecr_repository" "gone" {
  count = 0
  name  = "gone"
}
"#;
    let findings = scan_tf_in(
        Path::new("mem"),
        &[
            ("main.tf", main),
            ("terraform.tfvars", "access = \"Enabled\"\npublic = true\n"),
        ],
    );
    let rules = rules(&findings);
    assert!(
        rules.contains(&"aws/sagemaker-direct-internet-access"),
        "{}",
        dump(&findings)
    );
    assert!(
        rules.contains(&"aws/sagemaker-notebook-root-access"),
        "{}",
        dump(&findings)
    );
    assert!(
        !rules.iter().any(|r| r.starts_with("aws/ecr")),
        "count = 0 resource was checked"
    );
    // Without tfvars the default (false → "Disabled") applies.
    let findings = scan_tf_in(
        Path::new("mem"),
        &[("main.tf", main), ("dev.tfvars", "access = \"Disabled\"")],
    );
    let rules = crate::test_support::rules(&findings);
    assert!(
        !rules.contains(&"aws/sagemaker-direct-internet-access"),
        "{}",
        dump(&findings)
    );
    assert!(
        !rules.contains(&"aws/sagemaker-notebook-root-access"),
        "single manual tfvars applies: {}",
        dump(&findings)
    );
}

#[test]
fn policies_from_heredoc_file_and_templatefile_point_into_their_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("admin.json"),
        "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\"Effect\": \"Allow\", \"Action\": \"*\", \"Resource\": \"*\"}\n  ]\n}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("trust.json.tpl"),
        "{\"Version\": \"2012-10-17\", \"Statement\": [{\"Effect\": \"Allow\",\n \"Action\": \"sts:AssumeRole\", \"Principal\": {\"AWS\": \"${who}\"}}]}",
    )
    .unwrap();
    let main = r#"
resource "aws_iam_policy" "admin" { policy = file("admin.json") }
resource "aws_iam_role" "r" {
  assume_role_policy = templatefile("${path.module}/trust.json.tpl", { who = "*" })
}
resource "aws_iam_policy" "heredoc" {
  policy = <<EOF
{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}
  ]
}
EOF
}
resource "aws_iam_policy" "outside" { policy = file("../../etc/passwd") }
"#;
    let findings = scan_tf_in(dir.path(), &[("main.tf", main)]);
    let find = |rule: &str| {
        findings
            .iter()
            .find(|f| f.rule.id == rule)
            .unwrap_or_else(|| panic!("{rule}:\n{}", dump(&findings)))
    };
    let admin = find("iam/full-admin");
    assert!(
        admin.location.path.ends_with("admin.json") && admin.location.line == Some(4),
        "{}",
        dump(&findings)
    );
    assert_eq!(
        admin.location.resource.as_deref(),
        Some("aws_iam_policy.admin")
    );
    let heredoc = find("iam/wildcard-action");
    assert_eq!(
        (
            heredoc.location.line,
            heredoc.location.path.ends_with("main.tf")
        ),
        (Some(11), true),
        "{}",
        dump(&findings)
    );
    assert!(
        find("iam/trust-any-principal")
            .location
            .path
            .ends_with("trust.json.tpl")
    );
    let outside = find("terraform/value-not-evaluated");
    assert_eq!(
        outside.location.resource.as_deref(),
        Some("aws_iam_policy.outside")
    );
}

#[test]
fn local_modules_are_instantiated_with_their_arguments_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("envs/prod");
    let module = dir.path().join("modules/notebook");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(&module).unwrap();
    let module_tf = r#"
variable "internet" { default = "Disabled" }
resource "aws_sagemaker_notebook_instance" "this" {
  direct_internet_access = var.internet
  root_access            = "Disabled"
  kms_key_id             = "k"
  subnet_id              = "s"
  instance_metadata_service_configuration { minimum_instance_metadata_service_version = "2" }
}
"#;
    std::fs::write(module.join("main.tf"), module_tf).unwrap();
    let root_tf = r#"
module "open" {
  source   = "../../modules/notebook"
  internet = "Enabled"
}
module "closed" {
  source = "../../modules/notebook"
}
"#;
    std::fs::write(root.join("main.tf"), root_tf).unwrap();
    // The engine hands over every directory; the module one must not be scanned as a root.
    let root_files = vec![(
        Location::file("envs/prod/main.tf"),
        root_tf.as_bytes().to_vec(),
    )];
    let module_files = vec![(
        Location::file("modules/notebook/main.tf"),
        module_tf.as_bytes().to_vec(),
    )];
    let mut out = Vec::new();
    crate::scan_terraform_dirs(
        &[
            crate::TerraformDir {
                dir: &module,
                files: &module_files,
            },
            crate::TerraformDir {
                dir: &root,
                files: &root_files,
            },
        ],
        &mut out,
    );
    assert_eq!(
        ids(&out),
        ["aws/sagemaker-direct-internet-access@4"],
        "{}",
        dump(&out)
    );
    assert_eq!(
        out[0].location.resource.as_deref(),
        Some("module.open.aws_sagemaker_notebook_instance.this")
    );
    assert_eq!(out[0].location.path, "modules/notebook/main.tf");
    // Scanned alone, the root reads the module from disk, with the same result.
    let mut alone = Vec::new();
    crate::scan_terraform_dir(&root, &root_files, &mut alone);
    assert_eq!(ids(&alone), ids(&out), "{}", dump(&alone));
    assert!(
        alone[0].location.path.ends_with("modules/notebook/main.tf"),
        "{}",
        alone[0].location
    );
}

#[test]
fn unparsable_and_unsupported_files_fail_closed() {
    let findings = scan_tf("resource \"aws_s3_bucket\" \"b\" {\n  bucket = \n}\n");
    assert_eq!(rules(&findings), ["scan/malformed"], "{}", dump(&findings));
    assert_eq!(findings[0].location.line, Some(2));
    let findings = scan_tf_in(Path::new("mem"), &[("main.tf.json", "{}")]);
    assert_eq!(rules(&findings), ["terraform/not-evaluated"]);
    let findings = scan_tf("resource \"aws_iam_policy\" \"p\" { policy = \"{not json\" }");
    assert_eq!(rules(&findings), ["scan/malformed"], "{}", dump(&findings));
    assert_eq!(
        rules(&scan_json("{\"Statement\": [1]}")),
        ["scan/malformed"]
    );
    assert_eq!(rules(&scan_json("{\"Statement\": ")), ["scan/malformed"]);
    assert!(scan_json("{\"name\": \"not a policy\"}").is_empty());
    let mut out = Vec::new();
    crate::scan_iam_policy(b"\xff\xfe", &Location::file("p.json"), &mut out);
    assert_eq!(rules(&out), ["scan/malformed"]);
}

#[test]
fn evaluation_is_bounded() {
    let start = std::time::Instant::now();
    let findings = scan_tf(
        r#"locals {
  a = [for i in range(100000) : [for j in range(100000) : "${i}-${j}"]]
  b = local.c
  c = local.b
}
resource "aws_iam_policy" "p" { policy = jsonencode({ Statement = local.a, X = local.b }) }"#,
    );
    assert!(start.elapsed().as_secs() < 30, "took {:?}", start.elapsed());
    assert!(
        rules(&findings).contains(&"scan/limit-exceeded"),
        "{}",
        dump(&findings)
    );
    let deep = format!("locals {{ x = {}1{} }}", "[".repeat(5000), "]".repeat(5000));
    assert_eq!(rules(&scan_tf(&deep)), ["scan/malformed"]);
}

#[test]
fn detects_by_name_and_content() {
    assert_eq!(detect("infra/main.tf", b""), Some(Kind::Terraform));
    assert_eq!(detect("prod.tfvars", b""), Some(Kind::TerraformVars));
    assert_eq!(detect("cdk.tf.json", b"{}"), Some(Kind::TerraformJson));
    assert_eq!(
        detect(
            "policy.json",
            b"\n{ \"Version\": \"2012-10-17\", \"Statement\": []}"
        ),
        Some(Kind::IamPolicy)
    );
    assert_eq!(
        detect("package.json", b"{\"name\": \"x\", \"version\": \"1\"}"),
        None
    );
    assert_eq!(
        detect("notes.txt", b"{\"Version\": 1, \"Statement\": 2}"),
        None
    );
}

fn seed_text() -> String {
    std::fs::read_to_string(seed("main.tf")).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn arbitrary_terraform_never_panics(text in "\\PC{0,300}") {
        let _ = scan_tf(&text);
    }

    #[test]
    fn mutated_seed_never_panics(at in 0usize..1400, len in 0usize..40, junk in "[{}\\[\\]()\"$=.:*?a-z0-9 \n]{0,20}") {
        let text = seed_text();
        let at = at.min(text.len());
        let end = (at + len).min(text.len());
        if text.is_char_boundary(at) && text.is_char_boundary(end) {
            let mutated = format!("{}{}{}", &text[..at], junk, &text[end..]);
            let _ = scan_tf(&mutated);
        }
    }

    #[test]
    fn mutated_policy_never_panics(at in 0usize..700, len in 0usize..30, junk in "[{}\\[\\]\",:*a-zA-Z0-9 \n]{0,20}") {
        let text = std::fs::read_to_string(seed("iam_policy.json")).unwrap();
        let at = at.min(text.len());
        let end = (at + len).min(text.len());
        let mutated = format!("{}{}{}", &text[..at], junk, &text[end..]);
        let _ = scan_json(&mutated);
    }
}

#[test]
fn fuzz_corpus_replays_without_panic() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    let mut replayed = 0;
    for target in ["iac_terraform", "iac_iam_policy"] {
        let dir = corpus.join(target);
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let data = std::fs::read(entry.unwrap().path()).unwrap();
            let mut out = Vec::new();
            match target {
                "iac_terraform" => crate::fuzz_terraform(&data, &mut out),
                _ => crate::scan_iam_policy(&data, &Location::file("policy.json"), &mut out),
            }
            replayed += 1;
        }
    }
    assert!(replayed >= 6, "corpus too small: {replayed}");
}

/// The goat corpus from shared/ (terragoat with checkov's results), extracted to a
/// temporary directory; never committed.
fn terragoat() -> (tempfile::TempDir, std::path::PathBuf) {
    let archive =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/corpora/goats.tar.gz");
    assert!(
        archive.exists(),
        "goat corpus missing: {}",
        archive.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("tar")
        .arg("-xzf")
        .arg(&archive)
        .arg("-C")
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    let root = dir.path().join("goats/terragoat/terraform");
    (dir, root)
}

fn scan_goat_dir(root: &Path, sub: &str) -> Vec<Finding> {
    let dir = root.join(sub);
    let mut files: Vec<(Location, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| crate::detect(p.to_str().unwrap(), b"").is_some())
        .map(|p| {
            let name = format!("{sub}/{}", p.file_name().unwrap().to_str().unwrap());
            (Location::file(name), std::fs::read(&p).unwrap())
        })
        .collect();
    files.sort_by(|a, b| a.0.path.cmp(&b.0.path));
    let mut out = Vec::new();
    crate::scan_terraform_dir(&dir, &files, &mut out);
    out
}

/// Everything rampart reports on terragoat, reviewed against checkov's results (see
/// CHECKOV.md for what checkov reports and rampart does not, and why).
const TERRAGOAT: &[&str] = &[
    "aws/ecr-mutable-tags aws_ecr_repository.repository aws/ecr.tf:3",
    "aws/ecr-scan-on-push-disabled aws_ecr_repository.repository aws/ecr.tf:1",
    "aws/eks-control-plane-logging aws_eks_cluster.eks_cluster aws/eks.tf:118",
    "aws/eks-public-endpoint aws_eks_cluster.eks_cluster aws/eks.tf:118",
    "aws/eks-secrets-not-encrypted aws_eks_cluster.eks_cluster aws/eks.tf:118",
    "aws/kms-rotation-disabled aws_kms_key.logs_key aws/kms.tf:1",
    "aws/s3-no-public-access-block aws_s3_bucket.data aws/s3.tf:1",
    "aws/s3-no-public-access-block aws_s3_bucket.data_science aws/s3.tf:89",
    "aws/s3-no-public-access-block aws_s3_bucket.financials aws/s3.tf:42",
    "aws/s3-no-public-access-block aws_s3_bucket.flowbucket aws/ec2.tf:271",
    "aws/s3-no-public-access-block aws_s3_bucket.logs aws/s3.tf:113",
    "aws/s3-no-public-access-block aws_s3_bucket.operations aws/s3.tf:65",
    "aws/s3-tls-not-enforced aws_s3_bucket.data aws/s3.tf:1",
    "aws/s3-tls-not-enforced aws_s3_bucket.data_science aws/s3.tf:89",
    "aws/s3-tls-not-enforced aws_s3_bucket.financials aws/s3.tf:42",
    "aws/s3-tls-not-enforced aws_s3_bucket.flowbucket aws/ec2.tf:271",
    "aws/s3-tls-not-enforced aws_s3_bucket.logs aws/s3.tf:113",
    "aws/s3-tls-not-enforced aws_s3_bucket.operations aws/s3.tf:65",
    "aws/s3-versioning-disabled aws_s3_bucket.data aws/s3.tf:1",
    "aws/s3-versioning-disabled aws_s3_bucket.financials aws/s3.tf:42",
    "aws/s3-versioning-disabled aws_s3_bucket.flowbucket aws/ec2.tf:271",
    "iam/privilege-escalation aws_iam_user_policy.userpolicy aws/iam.tf:37",
    "iam/resource-policy-public aws_elasticsearch_domain_policy.monitoring-framework-policy aws/es.tf:33",
    "iam/wildcard-action aws_iam_role_policy.ec2policy aws/db-app.tf:216",
    "iam/wildcard-action aws_iam_user_policy.userpolicy aws/iam.tf:35",
    "terraform/deprecated-argument aws_s3_bucket.data_science aws/s3.tf:92",
    "terraform/deprecated-argument aws_s3_bucket.data_science aws/s3.tf:93",
    "terraform/deprecated-argument aws_s3_bucket.data_science aws/s3.tf:96",
    "terraform/deprecated-argument aws_s3_bucket.financials aws/s3.tf:47",
    "terraform/deprecated-argument aws_s3_bucket.logs aws/s3.tf:115",
    "terraform/deprecated-argument aws_s3_bucket.logs aws/s3.tf:116",
    "terraform/deprecated-argument aws_s3_bucket.logs aws/s3.tf:119",
    "terraform/deprecated-argument aws_s3_bucket.operations aws/s3.tf:69",
    "terraform/deprecated-argument aws_s3_bucket.operations aws/s3.tf:70",
    "terraform/hardcoded-secret azurerm_mssql_server.mssql1 azure/mssql.tf:26",
    "terraform/hardcoded-secret azurerm_mssql_server.mssql2 azure/mssql.tf:45",
    "terraform/hardcoded-secret azurerm_mssql_server.mssql3 azure/mssql.tf:64",
    "terraform/hardcoded-secret azurerm_mssql_server.mssql4 azure/mssql.tf:83",
    "terraform/hardcoded-secret azurerm_mssql_server.mssql5 azure/mssql.tf:102",
    "terraform/hardcoded-secret azurerm_mssql_server.mssql6 azure/mssql.tf:121",
    "terraform/hardcoded-secret azurerm_mssql_server.mssql7 azure/mssql.tf:140",
    "terraform/hardcoded-secret azurerm_postgresql_server.example azure/sql.tf:83",
    "terraform/hardcoded-secret azurerm_sql_server.example azure/sql.tf:15",
    "terraform/provider-hardcoded-credentials provider.aws.plain_text_access_keys_provider aws/providers.tf:10",
    "terraform/provider-hardcoded-credentials provider.aws.plain_text_access_keys_provider aws/providers.tf:11",
];

#[test]
fn terragoat_findings_match_the_reviewed_baseline() {
    let (_guard, root) = terragoat();
    let mut seen: Vec<String> = Vec::new();
    for sub in ["aws", "azure", "gcp", "alicloud", "oracle"] {
        for f in scan_goat_dir(&root, sub) {
            assert!(!f.marks_incomplete(), "{}", dump(std::slice::from_ref(&f)));
            seen.push(format!(
                "{} {} {}:{}",
                f.rule.id,
                f.location.resource.clone().unwrap_or_default(),
                f.location.path,
                f.location.line.unwrap_or(0)
            ));
        }
    }
    seen.sort();
    assert_eq!(seen, TERRAGOAT, "{seen:#?}");
}

#[test]
fn deep_expressions_and_reference_chains_keep_the_stack_bounded() {
    // 32 locals, each nesting the next 60 levels deep, evaluated on a 2 MiB stack.
    let mut text = String::from("locals {\n");
    for i in 0..40 {
        let inner = if i == 39 {
            "1".to_owned()
        } else {
            format!("local.l{}", i + 1)
        };
        text.push_str(&format!(
            "  l{i} = {}{inner}{}\n",
            "[".repeat(60),
            "]".repeat(60)
        ));
    }
    text.push_str("}\nresource \"aws_iam_policy\" \"p\" { policy = jsonencode(local.l0) }\n");
    let handle = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || scan_tf(&text))
        .unwrap();
    let findings = handle.join().expect("stack overflow or panic");
    assert!(
        rules(&findings).contains(&"scan/limit-exceeded"),
        "{}",
        dump(&findings)
    );
}

#[test]
fn unknown_values_inside_policy_documents_are_not_judged() {
    let findings = scan_tf(
        r#"variable "operator" {}
variable "principal" {}
data "aws_iam_policy_document" "p" {
  statement {
    actions   = ["s3:GetObject"]
    resources = ["arn:aws:s3:::b/*"]
    principals {
      type        = "AWS"
      identifiers = [var.principal]
    }
    condition {
      test     = var.operator
      variable = "aws:SourceVpce"
      values   = ["vpce-1"]
    }
  }
}
resource "aws_s3_bucket_policy" "p" {
  bucket = "b"
  policy = data.aws_iam_policy_document.p.json
}"#,
    );
    assert!(findings.is_empty(), "{}", dump(&findings));
}

#[test]
fn policies_with_apply_time_parts_are_still_checked() {
    let findings = scan_tf(
        r#"resource "aws_s3_bucket" "b" { bucket = var.name }
variable "name" {}
resource "aws_s3_bucket_policy" "heredoc" {
  bucket = aws_s3_bucket.b.id
  policy = <<POLICY
{
  "Version": "2012-10-17",
  "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                 "Resource": "${aws_s3_bucket.b.arn}/*"}]
}
POLICY
}
data "aws_iam_policy_document" "template" {
  statement {
    actions   = ["s3:PutObject"]
    resources = ["_ARN_/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
  }
}
resource "aws_s3_bucket_policy" "replaced" {
  bucket = aws_s3_bucket.b.id
  policy = replace(data.aws_iam_policy_document.template.json, "_ARN_", aws_s3_bucket.b.arn)
}"#,
    );
    let public: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.rule.id == "iam/resource-policy-public")
        .collect();
    assert_eq!(public.len(), 2, "{}", dump(&findings));
    assert_eq!(public[0].location.line, Some(8), "{}", dump(&findings));
    assert_eq!(public[1].severity, rampart_core::Severity::Critical);
}

#[test]
fn try_skips_failures_but_not_apply_time_values() {
    let notebook = |value: &str| {
        format!(
            r#"variable "cfg" {{ default = {{ other = 1 }} }}
variable "unset" {{}}
resource "aws_sagemaker_notebook_instance" "nb" {{
  direct_internet_access = {value}
  root_access            = "Disabled"
  kms_key_id             = "k"
  instance_metadata_service_configuration {{ minimum_instance_metadata_service_version = "2" }}
}}"#
        )
    };
    let quiet = scan_tf(&notebook(
        r#"try(var.cfg["internet"] ? "Enabled" : "x", "Disabled")"#,
    ));
    assert!(quiet.is_empty(), "{}", dump(&quiet));
    let unknown = scan_tf(&notebook(r#"try(var.unset, "Disabled")"#));
    assert_eq!(
        rules(&unknown),
        ["terraform/value-not-evaluated"],
        "{}",
        dump(&unknown)
    );
    let can = scan_tf(&notebook(
        r#"can(var.cfg["internet"]) ? "Enabled" : "Disabled""#,
    ));
    assert!(can.is_empty(), "{}", dump(&can));
}
