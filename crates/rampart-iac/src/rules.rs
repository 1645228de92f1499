//! Every rule this crate reports, for `rampart rules`. Ids are stable public interface:
//! `terraform/*` for what Terraform itself would reject or cannot show, `iam/*` for policy
//! documents (Terraform or standalone JSON), `aws/*`, `gcp/*`, `azure/*` for resources.
//!
//! Remediations for Terraform show the corrected snippet. Severities follow one rule:
//! exposure to anyone or a silently ineffective control is high or critical; weakened
//! defence in depth is medium; key-management and hygiene choices are low; "could not be
//! evaluated" is info.

use rampart_core::{Reference, Rule, Severity};

macro_rules! refs {
    ($($r:expr),* $(,)?) => { &[$($r),*] };
}

// ---------------------------------------------------------------- terraform/*

pub static INVALID_BLOCK: Rule = Rule {
    id: "terraform/invalid-block",
    scanner: "config",
    severity: Severity::High,
    title: "Block is not part of the resource's schema",
    description: "A nested block that the resource type does not define. `terraform validate` \
                  rejects the file (\"Blocks of type ... are not expected here\"), and the control \
                  the block was meant to configure does not exist: if the block is deleted to make \
                  the file validate, nothing replaces it. Hardening guides copied between provider \
                  versions often contain such blocks.",
    remediation: "Configure the setting with the resource the provider actually offers. For S3 \
                  public access:\n\nresource \"aws_s3_bucket_public_access_block\" \"data\" {\n  \
                  bucket                  = aws_s3_bucket.data.id\n  block_public_acls       = true\n  \
                  block_public_policy     = true\n  ignore_public_acls      = true\n  \
                  restrict_public_buckets = true\n}",
    references: refs![
        Reference::Cwe(1188),
        Reference::Url("https://developer.hashicorp.com/terraform/cli/commands/validate"),
        Reference::Atlas("AML.T0010"),
        Reference::Owasp("ML06:2023"),
    ],
};

pub static DEPRECATED_ARGUMENT: Rule = Rule {
    id: "terraform/deprecated-argument",
    scanner: "config",
    severity: Severity::Low,
    title: "Deprecated inline argument or block",
    description: "The AWS provider 4.0 split the S3 bucket's inline settings (encryption, \
                  versioning, ACL, policy, logging, lifecycle, ...) into separate resources and made \
                  the inline forms read-only; 4.9 accepted them again but deprecated. Mixing an inline \
                  block with the separate resource makes Terraform fight itself (perpetual diffs, \
                  settings silently reverted), and the inline forms are slated for removal.",
    remediation: "Move the setting to its own resource, e.g. for versioning:\n\nresource \
                  \"aws_s3_bucket_versioning\" \"data\" {\n  bucket = aws_s3_bucket.data.id\n  \
                  versioning_configuration {\n    status = \"Enabled\"\n  }\n}",
    references: refs![
        Reference::Cwe(1188),
        Reference::Url(
            "https://registry.terraform.io/providers/hashicorp/aws/latest/docs/guides/version-4-upgrade"
        ),
    ],
};

pub static NOT_EVALUATED: Rule = Rule {
    id: "terraform/not-evaluated",
    scanner: "config",
    severity: Severity::Info,
    title: "Terraform code not evaluated",
    description: "Part of the configuration was not analysed: a module from a registry or Git \
                  (rampart does no network access), a local module beyond the nesting limit or \
                  missing on disk, or a file in Terraform's JSON syntax. Resources inside it were \
                  not checked.",
    remediation: "Scan the module's source separately (vendor it or scan its checkout), or convert \
                  the JSON configuration to HCL.",
    references: refs![Reference::Cwe(1059)],
};

pub static VALUE_NOT_EVALUATED: Rule = Rule {
    id: "terraform/value-not-evaluated",
    scanner: "config",
    severity: Severity::Info,
    title: "Security-relevant value could not be evaluated",
    description: "A value a rule depends on comes from something only known at apply time (a \
                  variable without default, a data source, another resource's computed attribute, \
                  an unsupported function). The rule could not decide; this finding says so \
                  instead of passing silently.",
    remediation: "Give the variable a default or a value in terraform.tfvars, or write the value \
                  literally, so that it can be reviewed; otherwise review this setting by hand.",
    references: refs![Reference::Cwe(1059)],
};

pub static PROVIDER_CREDENTIALS: Rule = Rule {
    id: "terraform/provider-hardcoded-credentials",
    scanner: "config",
    severity: Severity::High,
    title: "Cloud credentials written in a provider block",
    description: "The provider block holds a literal access key or client secret. Anyone who can \
                  read the repository (or its history, CI logs, state) can act as that identity.",
    remediation: "Remove the credentials, revoke them, and let the provider read them from the \
                  environment, a shared profile, or workload identity:\n\nprovider \"aws\" {\n  \
                  region = var.region\n}",
    references: refs![
        Reference::Cwe(798),
        Reference::Url("https://attack.mitre.org/techniques/T1552/001/"),
        Reference::Atlas("AML.T0055"),
    ],
};

pub static RESOURCE_HARDCODED_SECRET: Rule = Rule {
    id: "terraform/hardcoded-secret",
    scanner: "config",
    severity: Severity::High,
    title: "Password or secret written in a resource",
    description: "A resource argument that holds a password or secret (a database administrator \
                  password, a client secret, an auth token) is set to a literal string. It is in \
                  the repository and its history, in plan output and in the state file.",
    remediation: "Generate it and keep it out of the code, then rotate the exposed one:\n\n\
                  resource \"random_password\" \"db\" {\n  length = 32\n}\n\n\
                  administrator_login_password = random_password.db.result\n\n\
                  (or read it from a secrets manager data source; mark variables `sensitive = true`).",
    references: refs![
        Reference::Cwe(798),
        Reference::Url("https://attack.mitre.org/techniques/T1552/001/"),
        Reference::Atlas("AML.T0055"),
    ],
};

// ---------------------------------------------------------------- iam/*

const IAM_REFS: &[Reference] = &[
    Reference::Cwe(269),
    Reference::Url("https://attack.mitre.org/techniques/T1078/004/"),
    Reference::Atlas("AML.T0010"),
    Reference::Owasp("ML06:2023"),
];

pub static IAM_CONDITION_MISMATCH: Rule = Rule {
    id: "iam/condition-operator-mismatch",
    scanner: "config",
    severity: Severity::High,
    title: "Condition operator does not fit its key or values",
    description: "The condition compares a key with an operator of another type (e.g. `Bool` on \
                  the string key `s3:x-amz-acl`), uses wildcards under an operator that takes them \
                  literally, uses `ForAllValues` on a single-valued key, or tests \
                  `aws:MultiFactorAuthPresent` with `Bool` in a Deny. Such a condition never matches \
                  (or matches when the key is absent), so a Deny silently stops protecting and an \
                  Allow silently changes scope. Key types come from the AWS Service Authorization \
                  Reference.",
    remediation: "Use the operator family of the key's type: String keys `StringEquals` / \
                  `StringLike`, ARN keys `ArnLike`, numbers `Numeric*`, dates `Date*`, booleans \
                  `Bool`, IP addresses `IpAddress`. For example:\n\n\"Condition\": {\n  \
                  \"StringEquals\": {\"s3:x-amz-acl\": [\"public-read\", \"public-read-write\", \
                  \"authenticated-read\"]}\n}",
    references: refs![
        Reference::Cwe(697),
        Reference::Url(
            "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html"
        ),
        Reference::Atlas("AML.T0010"),
    ],
};

pub static IAM_ALLOW_NOT_ACTION: Rule = Rule {
    id: "iam/allow-with-not-element",
    scanner: "config",
    severity: Severity::Medium,
    title: "Allow statement with NotAction, NotResource or NotPrincipal",
    description: "An Allow with `NotAction` grants every action of every service except the listed \
                  ones, including actions AWS adds later; `NotResource` and `NotPrincipal` invert \
                  scope the same way. Such statements are almost always broader than intended.",
    remediation: "List the actions, resources and principals that are allowed. Keep `NotAction` \
                  for Deny statements (e.g. deny everything except `iam:ChangePassword` without \
                  MFA).",
    references: IAM_REFS,
};

pub static IAM_UNKNOWN_ACTION: Rule = Rule {
    id: "iam/unknown-action",
    scanner: "config",
    severity: Severity::Low,
    title: "Action does not exist",
    description: "The action is not an action of its service in rampart's IAM table (S3, IAM, \
                  STS, KMS, SageMaker, ECR, EKS, EC2; from the AWS Service Authorization Reference). \
                  IAM accepts unknown actions silently, so a typo makes an Allow grant nothing and a \
                  Deny protect nothing. Actions of services outside the table are not judged.",
    remediation: "Correct the action name (see the service's page in the Service Authorization \
                  Reference). If the action is new, update rampart.",
    references: refs![
        Reference::Cwe(1286),
        Reference::Url(
            "https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html"
        ),
    ],
};

pub static IAM_FULL_ADMIN: Rule = Rule {
    id: "iam/full-admin",
    scanner: "config",
    severity: Severity::Critical,
    title: "Policy grants every action on every resource",
    description: "`Action: \"*\"` on `Resource: \"*\"` is full administrator access: whoever holds \
                  the policy (a training job, a notebook, a CI role) can read every dataset and \
                  model, change IAM, and delete the account's resources.",
    remediation: "Grant only the actions the workload calls, on the resources it uses, e.g. for a \
                  training job: s3:GetObject on the training prefix, s3:PutObject on the output \
                  prefix.",
    references: IAM_REFS,
};

pub static IAM_WILDCARD_ACTION: Rule = Rule {
    id: "iam/wildcard-action",
    scanner: "config",
    severity: Severity::Medium,
    title: "Policy grants all actions of a service",
    description: "A wildcard such as `s3:*` or `sagemaker:*` grants every action of the service, \
                  including destructive and permission-changing ones (`s3:PutBucketPolicy`, \
                  `s3:DeleteBucket`, `sagemaker:CreatePresignedNotebookInstanceUrl`), and every \
                  action AWS adds later.",
    remediation: "Replace the wildcard with the actions the workload needs, e.g. \
                  [\"s3:GetObject\", \"s3:ListBucket\"], scoped to the bucket and prefix it reads.",
    references: IAM_REFS,
};

pub static IAM_RESOURCE_WILDCARD: Rule = Rule {
    id: "iam/resource-wildcard",
    scanner: "config",
    severity: Severity::Medium,
    title: "Write or permission actions allowed on every resource",
    description: "The statement allows actions that can be limited to specific resources (they \
                  accept resource ARNs) on `Resource: \"*\"`, so they apply to every bucket, key, \
                  role or model in the account instead of the ones the workload owns.",
    remediation: "Replace \"*\" with the ARNs the workload uses, e.g. \
                  \"arn:aws:s3:::my-model-artifacts/training-output/*\".",
    references: IAM_REFS,
};

pub static IAM_PRIVILEGE_ESCALATION: Rule = Rule {
    id: "iam/privilege-escalation",
    scanner: "config",
    severity: Severity::High,
    title: "Policy allows privilege escalation",
    description: "The allowed actions combine into a known privilege-escalation path: changing \
                  one's own policies or credentials, or passing a more privileged role to a service \
                  that runs code the caller controls (EC2, Lambda, Glue, CloudFormation, and for ML: \
                  SageMaker notebook instances, training, processing and tuning jobs, notebook \
                  lifecycle configurations).",
    remediation: "Remove one action of each combination, or restrict iam:PassRole to the one role \
                  the workload must pass, with a condition on the receiving service:\n\n{\n  \
                  \"Effect\": \"Allow\",\n  \"Action\": \"iam:PassRole\",\n  \"Resource\": \
                  \"arn:aws:iam::123456789012:role/sagemaker-training\",\n  \"Condition\": \
                  {\"StringEquals\": {\"iam:PassedToService\": \"sagemaker.amazonaws.com\"}}\n}",
    references: refs![
        Reference::Cwe(269),
        Reference::Url("https://attack.mitre.org/techniques/T1098/"),
        Reference::Url(
            "https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/"
        ),
        Reference::Atlas("AML.T0010"),
        Reference::Owasp("ML06:2023"),
    ],
};

pub static IAM_PUBLIC_RESOURCE_POLICY: Rule = Rule {
    id: "iam/resource-policy-public",
    scanner: "config",
    severity: Severity::High,
    title: "Resource policy allows any principal",
    description: "A resource policy (bucket, key, repository, model package group, domain) allows \
                  `Principal: \"*\"` without a condition that limits callers to an account, \
                  organisation, VPC endpoint or source ARN: anyone on the internet with an AWS \
                  account can perform the allowed actions.",
    remediation: "Name the principals, or add a condition such as:\n\n\"Condition\": \
                  {\"StringEquals\": {\"aws:PrincipalOrgID\": \"o-exampleorgid\"}}",
    references: refs![
        Reference::Cwe(284),
        Reference::Url("https://attack.mitre.org/techniques/T1530/"),
        Reference::Atlas("AML.T0010"),
        Reference::Owasp("ML06:2023"),
    ],
};

pub static IAM_TRUST_ANY_PRINCIPAL: Rule = Rule {
    id: "iam/trust-any-principal",
    scanner: "config",
    severity: Severity::Critical,
    title: "Role can be assumed by anyone",
    description: "The role's trust policy allows `sts:AssumeRole*` to `*` (any AWS account) \
                  without a restricting condition, or trusts GitHub's OIDC provider without a \
                  `sub` condition (any repository on GitHub can assume it). Whoever assumes the \
                  role gets all of its permissions.",
    remediation: "Trust specific principals, and for GitHub Actions pin the repository and \
                  branch:\n\n\"Condition\": {\n  \"StringEquals\": {\"token.actions.githubusercontent.com:aud\": \
                  \"sts.amazonaws.com\"},\n  \"StringLike\": {\"token.actions.githubusercontent.com:sub\": \
                  \"repo:my-org/my-repo:ref:refs/heads/main\"}\n}",
    references: refs![
        Reference::Cwe(284),
        Reference::Url("https://attack.mitre.org/techniques/T1078/004/"),
        Reference::Atlas("AML.T0010"),
        Reference::Owasp("ML06:2023"),
    ],
};

// ---------------------------------------------------------------- aws/* S3

const S3_REFS: &[Reference] = &[
    Reference::Cwe(284),
    Reference::Url("https://attack.mitre.org/techniques/T1530/"),
    Reference::Atlas("AML.T0010"),
    Reference::Owasp("ML06:2023"),
];

pub static S3_NO_PUBLIC_ACCESS_BLOCK: Rule = Rule {
    id: "aws/s3-no-public-access-block",
    scanner: "config",
    severity: Severity::Medium,
    title: "S3 bucket has no public access block",
    description: "No `aws_s3_bucket_public_access_block` (nor an account-level block) applies to \
                  the bucket, so a later ACL or bucket policy can make training data or model \
                  artifacts public. Block Public Access is the guard rail that overrides such \
                  mistakes (AWS FSBP S3.8, CIS AWS 2.1.4).",
    remediation: "resource \"aws_s3_bucket_public_access_block\" \"data\" {\n  bucket                  \
                  = aws_s3_bucket.data.id\n  block_public_acls       = true\n  block_public_policy     \
                  = true\n  ignore_public_acls      = true\n  restrict_public_buckets = true\n}",
    references: S3_REFS,
};

pub static S3_PUBLIC_ACCESS_BLOCK_INCOMPLETE: Rule = Rule {
    id: "aws/s3-public-access-block-incomplete",
    scanner: "config",
    severity: Severity::Medium,
    title: "S3 public access block leaves a setting off",
    description: "The public access block exists but at least one of its four settings is false or \
                  omitted (they default to false), so public ACLs or public policies can still take \
                  effect.",
    remediation: "Set block_public_acls, block_public_policy, ignore_public_acls and \
                  restrict_public_buckets all to true.",
    references: S3_REFS,
};

pub static S3_PUBLIC_ACL: Rule = Rule {
    id: "aws/s3-public-acl",
    scanner: "config",
    severity: Severity::High,
    title: "S3 bucket ACL grants public access",
    description: "A canned ACL (`public-read`, `public-read-write`, `authenticated-read`) or a \
                  grant to the AllUsers / AuthenticatedUsers groups lets anyone (or any AWS \
                  account) list or read, or write, the bucket.",
    remediation: "Disable ACLs:\n\nresource \"aws_s3_bucket_ownership_controls\" \"data\" {\n  \
                  bucket = aws_s3_bucket.data.id\n  rule {\n    object_ownership = \
                  \"BucketOwnerEnforced\"\n  }\n}\n\nand share data through bucket policies naming \
                  specific principals.",
    references: S3_REFS,
};

pub static S3_TLS_NOT_ENFORCED: Rule = Rule {
    id: "aws/s3-tls-not-enforced",
    scanner: "config",
    severity: Severity::Medium,
    title: "S3 bucket does not require TLS",
    description: "No bucket policy denies requests made without TLS (`aws:SecureTransport = \
                  false`), so clients can read and write training data and model artifacts over \
                  plain HTTP, exposed to interception and tampering (AWS FSBP S3.5).",
    remediation: "Add to the bucket policy:\n\n{\n  Sid       = \"DenyInsecureTransport\"\n  \
                  Effect    = \"Deny\"\n  Principal = \"*\"\n  Action    = \"s3:*\"\n  Resource  = \
                  [aws_s3_bucket.data.arn, \"${aws_s3_bucket.data.arn}/*\"]\n  Condition = { Bool = \
                  { \"aws:SecureTransport\" = \"false\" } }\n}",
    references: refs![
        Reference::Cwe(319),
        Reference::Url("https://attack.mitre.org/techniques/T1557/"),
        Reference::Atlas("AML.T0010"),
        Reference::Owasp("ML06:2023"),
    ],
};

pub static S3_TLS_DENY_INCOMPLETE: Rule = Rule {
    id: "aws/s3-tls-deny-incomplete",
    scanner: "config",
    severity: Severity::Medium,
    title: "S3 TLS-only policy does not cover every request",
    description: "The bucket policy denies plain-HTTP requests (`aws:SecureTransport = false`) \
                  only for some actions or some resources. Everything it does not name (uploads, \
                  deletes, listing, bucket-level calls) still works over plain HTTP, while the \
                  policy suggests the bucket is TLS-only.",
    remediation: "Deny `s3:*` on both the bucket and its objects:\n\nAction   = \"s3:*\"\nResource \
                  = [aws_s3_bucket.data.arn, \"${aws_s3_bucket.data.arn}/*\"]",
    references: refs![
        Reference::Cwe(319),
        Reference::Url("https://attack.mitre.org/techniques/T1557/"),
        Reference::Atlas("AML.T0010"),
        Reference::Owasp("ML06:2023"),
    ],
};

pub static S3_VERSIONING_DISABLED: Rule = Rule {
    id: "aws/s3-versioning-disabled",
    scanner: "config",
    severity: Severity::Low,
    title: "S3 bucket versioning is not enabled",
    description: "Without versioning an overwritten or deleted object is gone: a poisoned \
                  training file or a replaced model artifact cannot be compared with or rolled back \
                  to the previous version.",
    remediation: "resource \"aws_s3_bucket_versioning\" \"data\" {\n  bucket = \
                  aws_s3_bucket.data.id\n  versioning_configuration {\n    status = \"Enabled\"\n  \
                  }\n}",
    references: refs![
        Reference::Cwe(693),
        Reference::Atlas("AML.T0020"),
        Reference::Owasp("ML06:2023"),
    ],
};

// ---------------------------------------------------------------- aws/* KMS

pub static KMS_ROTATION_DISABLED: Rule = Rule {
    id: "aws/kms-rotation-disabled",
    scanner: "config",
    severity: Severity::Medium,
    title: "KMS key rotation is not enabled",
    description: "`enable_key_rotation` defaults to false for symmetric customer-managed keys, so \
                  the key material protecting data and model artifacts is never rotated (AWS FSBP \
                  KMS.4, CIS AWS 3.6).",
    remediation: "resource \"aws_kms_key\" \"data\" {\n  enable_key_rotation = true\n}",
    references: refs![Reference::Cwe(324), Reference::Owasp("ML06:2023")],
};

// ---------------------------------------------------------------- aws/* SageMaker

const SAGEMAKER_REFS: &[Reference] = &[
    Reference::Cwe(284),
    Reference::Atlas("AML.T0010"),
    Reference::Atlas("AML.T0025"),
    Reference::Owasp("ML06:2023"),
];

pub static SAGEMAKER_DIRECT_INTERNET: Rule = Rule {
    id: "aws/sagemaker-direct-internet-access",
    scanner: "config",
    severity: Severity::High,
    title: "SageMaker notebook or Studio domain has direct internet access",
    description: "`direct_internet_access` defaults to Enabled on notebook instances and \
                  `app_network_access_type` to PublicInternetOnly on Studio domains: code in the \
                  notebook (and anything it installs) can reach the internet outside your VPC's \
                  controls, a direct path to exfiltrate data and credentials (AWS FSBP \
                  SageMaker.1).",
    remediation: "resource \"aws_sagemaker_notebook_instance\" \"nb\" {\n  subnet_id              \
                  = aws_subnet.private.id\n  security_groups        = [aws_security_group.nb.id]\n  \
                  direct_internet_access = \"Disabled\"\n}",
    references: SAGEMAKER_REFS,
};

pub static SAGEMAKER_ROOT_ACCESS: Rule = Rule {
    id: "aws/sagemaker-notebook-root-access",
    scanner: "config",
    severity: Severity::Medium,
    title: "SageMaker notebook users have root access",
    description: "`root_access` defaults to Enabled: every notebook user is root on the instance \
                  and can change its software, read other users' files and tamper with lifecycle \
                  protections (AWS FSBP SageMaker.3).",
    remediation: "root_access = \"Disabled\"",
    references: SAGEMAKER_REFS,
};

pub static SAGEMAKER_IMDSV1: Rule = Rule {
    id: "aws/sagemaker-notebook-imdsv1",
    scanner: "config",
    severity: Severity::Medium,
    title: "SageMaker notebook allows IMDSv1",
    description: "The minimum instance metadata service version defaults to 1, so a server-side \
                  request forgery in anything running on the notebook can read the notebook role's \
                  credentials from the metadata service.",
    remediation: "instance_metadata_service_configuration {\n  \
                  minimum_instance_metadata_service_version = \"2\"\n}",
    references: refs![
        Reference::Cwe(918),
        Reference::Url("https://attack.mitre.org/techniques/T1552/005/"),
        Reference::Atlas("AML.T0055"),
    ],
};

pub static SAGEMAKER_NO_KMS: Rule = Rule {
    id: "aws/sagemaker-no-kms",
    scanner: "config",
    severity: Severity::Low,
    title: "SageMaker storage not encrypted with a customer-managed key",
    description: "Without `kms_key_id` / `kms_key_arn` the notebook volume, Studio domain storage \
                  or endpoint volumes use an AWS managed key: you cannot restrict or audit who may \
                  decrypt them through a key policy, nor revoke access by disabling the key.",
    remediation: "kms_key_id = aws_kms_key.sagemaker.arn   # kms_key_arn on endpoint \
                  configurations",
    references: refs![Reference::Cwe(311), Reference::Owasp("ML06:2023")],
};

pub static SAGEMAKER_NETWORK_ISOLATION: Rule = Rule {
    id: "aws/sagemaker-model-network-isolation",
    scanner: "config",
    severity: Severity::Medium,
    title: "SageMaker model container can make network calls",
    description: "`enable_network_isolation` defaults to false: the inference container (often a \
                  third-party image or model with custom code) can call out to the internet or your \
                  network, and exfiltrate inputs or credentials (AWS FSBP SageMaker.5).",
    remediation: "enable_network_isolation = true",
    references: refs![
        Reference::Cwe(284),
        Reference::Atlas("AML.T0025"),
        Reference::Atlas("AML.T0010.003"),
        Reference::Owasp("ML06:2023"),
    ],
};

pub static SAGEMAKER_NO_VPC: Rule = Rule {
    id: "aws/sagemaker-model-no-vpc",
    scanner: "config",
    severity: Severity::Low,
    title: "SageMaker model runs outside your VPC",
    description: "Without `vpc_config` the model's containers run in a SageMaker-managed network, \
                  outside your security groups, VPC endpoints and flow logs.",
    remediation: "vpc_config {\n  subnets            = [aws_subnet.private.id]\n  \
                  security_group_ids = [aws_security_group.model.id]\n}",
    references: refs![Reference::Cwe(284), Reference::Owasp("ML06:2023")],
};

pub static SAGEMAKER_MUTABLE_IMAGE: Rule = Rule {
    id: "aws/sagemaker-image-mutable-tag",
    scanner: "config",
    severity: Severity::Medium,
    title: "SageMaker model image referenced by a mutable tag",
    description: "The container image is named by a tag (or none, i.e. `latest`) in a repository \
                  that allows tags to be moved: whoever can push to it can swap the serving code \
                  without any change here, and the next deployment runs it.",
    remediation: "Pin the image by digest (`repo@sha256:...`) or make the ECR repository's tags \
                  immutable (image_tag_mutability = \"IMMUTABLE\").",
    references: refs![
        Reference::Cwe(494),
        Reference::Url("https://attack.mitre.org/techniques/T1525/"),
        Reference::Atlas("AML.T0010"),
        Reference::Owasp("ML06:2023"),
        Reference::Owasp("LLM03:2025"),
    ],
};

// ---------------------------------------------------------------- aws/* ECR, EKS

pub static ECR_MUTABLE_TAGS: Rule = Rule {
    id: "aws/ecr-mutable-tags",
    scanner: "config",
    severity: Severity::Medium,
    title: "ECR repository allows tags to be overwritten",
    description: "`image_tag_mutability` defaults to MUTABLE: pushing an image with an existing \
                  tag silently replaces what every consumer of that tag (training jobs, endpoints, \
                  clusters) runs next (AWS FSBP ECR.2).",
    remediation: "image_tag_mutability = \"IMMUTABLE\"",
    references: refs![
        Reference::Cwe(494),
        Reference::Url("https://attack.mitre.org/techniques/T1525/"),
        Reference::Atlas("AML.T0010"),
        Reference::Owasp("ML06:2023"),
    ],
};

pub static ECR_SCAN_ON_PUSH: Rule = Rule {
    id: "aws/ecr-scan-on-push-disabled",
    scanner: "config",
    severity: Severity::Low,
    title: "ECR repository does not scan images on push",
    description: "Images pushed to the repository are not scanned for known vulnerabilities, and \
                  no registry-level scanning configuration in this module covers it (AWS FSBP \
                  ECR.1).",
    remediation: "image_scanning_configuration {\n  scan_on_push = true\n}",
    references: refs![Reference::Cwe(1104), Reference::Owasp("ML06:2023")],
};

pub static EKS_PUBLIC_ENDPOINT: Rule = Rule {
    id: "aws/eks-public-endpoint",
    scanner: "config",
    severity: Severity::High,
    title: "EKS API endpoint is public and open to the internet",
    description: "`endpoint_public_access` defaults to true and `public_access_cidrs` to \
                  0.0.0.0/0: the cluster's Kubernetes API (which schedules the training and \
                  inference workloads) is reachable from anywhere, one stolen token away (AWS FSBP \
                  EKS.1).",
    remediation: "vpc_config {\n  endpoint_private_access = true\n  endpoint_public_access  = \
                  false\n}\n\nor restrict public_access_cidrs to your office/VPN ranges.",
    references: refs![
        Reference::Cwe(284),
        Reference::Url("https://attack.mitre.org/techniques/T1133/"),
        Reference::Owasp("ML06:2023"),
    ],
};

pub static EKS_SECRETS_ENCRYPTION: Rule = Rule {
    id: "aws/eks-secrets-not-encrypted",
    scanner: "config",
    severity: Severity::Medium,
    title: "EKS secrets not encrypted with a customer-managed key",
    description: "Without `encryption_config` for `secrets`, Kubernetes secrets (registry and \
                  hub tokens, database passwords) are not envelope-encrypted with a KMS key you \
                  control, so access to etcd backups is not gated by a key policy you can audit.",
    remediation: "encryption_config {\n  resources = [\"secrets\"]\n  provider {\n    key_arn = \
                  aws_kms_key.eks.arn\n  }\n}",
    references: refs![Reference::Cwe(311), Reference::Owasp("ML06:2023")],
};

pub static EKS_LOGGING: Rule = Rule {
    id: "aws/eks-control-plane-logging",
    scanner: "config",
    severity: Severity::Low,
    title: "EKS audit or authenticator logs are not enabled",
    description: "`enabled_cluster_log_types` does not include `audit` and `authenticator`: who \
                  did what through the Kubernetes API, and who authenticated, is not recorded.",
    remediation: "enabled_cluster_log_types = [\"api\", \"audit\", \"authenticator\"]",
    references: refs![Reference::Cwe(778), Reference::Owasp("ML06:2023")],
};

// ---------------------------------------------------------------- gcp/*

pub static GCP_VERTEX_PUBLIC_IP: Rule = Rule {
    id: "gcp/vertex-notebook-public-ip",
    scanner: "config",
    severity: Severity::Medium,
    title: "Vertex AI Workbench instance has a public IP",
    description: "`disable_public_ip` (Workbench) / `no_public_ip` (user-managed notebooks) \
                  defaults to false: the notebook VM gets an external address and direct internet \
                  access outside your VPC's controls.",
    remediation: "gce_setup {\n  disable_public_ip = true\n}\n\n(`no_public_ip = true` on \
                  google_notebooks_instance)",
    references: SAGEMAKER_REFS,
};

pub static GCP_VERTEX_NO_CMEK: Rule = Rule {
    id: "gcp/vertex-no-cmek",
    scanner: "config",
    severity: Severity::Low,
    title: "Vertex AI resource not encrypted with a customer-managed key",
    description: "Without a CMEK (`encryption_spec.kms_key_name`, or `disk_encryption = \"CMEK\"` \
                  with a key on notebooks) the data is encrypted with Google-managed keys you cannot \
                  restrict, audit or revoke.",
    remediation: "encryption_spec {\n  kms_key_name = google_kms_crypto_key.vertex.id\n}",
    references: refs![Reference::Cwe(311), Reference::Owasp("ML06:2023")],
};

pub static GCP_VERTEX_PUBLIC_ENDPOINT: Rule = Rule {
    id: "gcp/vertex-endpoint-public",
    scanner: "config",
    severity: Severity::Low,
    title: "Vertex AI endpoint is served on a public address",
    description: "The endpoint has neither `network` (private service access) nor a Private \
                  Service Connect configuration, so prediction requests are accepted from the \
                  internet (IAM still applies).",
    remediation: "network = \"projects/${data.google_project.p.number}/global/networks/${google_compute_network.vpc.name}\"",
    references: refs![Reference::Cwe(284), Reference::Owasp("ML06:2023")],
};

// ---------------------------------------------------------------- azure/*

pub static AZURE_PUBLIC_NETWORK: Rule = Rule {
    id: "azure/ai-public-network-access",
    scanner: "config",
    severity: Severity::Medium,
    title: "Azure ML workspace or AI service reachable from public networks",
    description: "`public_network_access_enabled` defaults to true on Machine Learning workspaces \
                  and Cognitive Services / Azure OpenAI accounts: the workspace or API is reachable \
                  from the internet rather than only through private endpoints.",
    remediation: "public_network_access_enabled = false   # and add an azurerm_private_endpoint",
    references: refs![Reference::Cwe(284), Reference::Owasp("ML06:2023")],
};

pub static AZURE_LOCAL_AUTH: Rule = Rule {
    id: "azure/ai-local-auth-enabled",
    scanner: "config",
    severity: Severity::Medium,
    title: "Azure ML compute or AI service accepts local (key) authentication",
    description: "`local_auth_enabled` defaults to true: compute clusters/instances and Cognitive \
                  Services / Azure OpenAI accounts accept shared keys, which bypass Entra ID, \
                  conditional access and per-identity audit, and leak easily.",
    remediation: "local_auth_enabled = false",
    references: refs![
        Reference::Cwe(287),
        Reference::Atlas("AML.T0055"),
        Reference::Owasp("ML06:2023")
    ],
};

pub static AZURE_NO_CMK: Rule = Rule {
    id: "azure/ai-no-cmk",
    scanner: "config",
    severity: Severity::Low,
    title: "Azure ML workspace or AI service not encrypted with a customer-managed key",
    description: "Without an `encryption` (workspace) or `customer_managed_key` (Cognitive \
                  Services) block the data is encrypted with Microsoft-managed keys you cannot \
                  restrict, audit or revoke.",
    remediation: "encryption {\n  key_vault_id = azurerm_key_vault.ml.id\n  key_id       = \
                  azurerm_key_vault_key.ml.id\n}",
    references: refs![Reference::Cwe(311), Reference::Owasp("ML06:2023")],
};

pub static AZURE_COMPUTE_PUBLIC_IP: Rule = Rule {
    id: "azure/ml-compute-public-ip",
    scanner: "config",
    severity: Severity::Medium,
    title: "Azure ML compute nodes have public IPs",
    description: "`node_public_ip_enabled` defaults to true: training and notebook nodes get \
                  public addresses and are reachable from, and reach, the internet directly.",
    remediation: "node_public_ip_enabled = false   # with subnet_resource_id set",
    references: refs![Reference::Cwe(284), Reference::Owasp("ML06:2023")],
};

pub static RULES: &[&Rule] = &[
    &INVALID_BLOCK,
    &DEPRECATED_ARGUMENT,
    &NOT_EVALUATED,
    &VALUE_NOT_EVALUATED,
    &PROVIDER_CREDENTIALS,
    &RESOURCE_HARDCODED_SECRET,
    &IAM_CONDITION_MISMATCH,
    &IAM_ALLOW_NOT_ACTION,
    &IAM_UNKNOWN_ACTION,
    &IAM_FULL_ADMIN,
    &IAM_WILDCARD_ACTION,
    &IAM_RESOURCE_WILDCARD,
    &IAM_PRIVILEGE_ESCALATION,
    &IAM_PUBLIC_RESOURCE_POLICY,
    &IAM_TRUST_ANY_PRINCIPAL,
    &S3_NO_PUBLIC_ACCESS_BLOCK,
    &S3_PUBLIC_ACCESS_BLOCK_INCOMPLETE,
    &S3_PUBLIC_ACL,
    &S3_TLS_NOT_ENFORCED,
    &S3_TLS_DENY_INCOMPLETE,
    &S3_VERSIONING_DISABLED,
    &KMS_ROTATION_DISABLED,
    &SAGEMAKER_DIRECT_INTERNET,
    &SAGEMAKER_ROOT_ACCESS,
    &SAGEMAKER_IMDSV1,
    &SAGEMAKER_NO_KMS,
    &SAGEMAKER_NETWORK_ISOLATION,
    &SAGEMAKER_NO_VPC,
    &SAGEMAKER_MUTABLE_IMAGE,
    &ECR_MUTABLE_TAGS,
    &ECR_SCAN_ON_PUSH,
    &EKS_PUBLIC_ENDPOINT,
    &EKS_SECRETS_ENCRYPTION,
    &EKS_LOGGING,
    &GCP_VERTEX_PUBLIC_IP,
    &GCP_VERTEX_NO_CMEK,
    &GCP_VERTEX_PUBLIC_ENDPOINT,
    &AZURE_PUBLIC_NETWORK,
    &AZURE_LOCAL_AUTH,
    &AZURE_NO_CMK,
    &AZURE_COMPUTE_PUBLIC_IP,
];

#[cfg(test)]
mod tests {
    use super::RULES;

    #[test]
    fn rules_are_unique_and_fully_described() {
        assert_eq!(
            rampart_core::rule_table_problems(RULES, "config"),
            Vec::<String>::new()
        );
    }
}
