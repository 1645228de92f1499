//! Every rule this crate reports, for `rampart rules`. One rule per provider or kind of
//! credential, so a policy can rank or waive them separately; the severity says what the
//! credential grants.

use rampart_core::{Reference, Rule, Severity};

/// The part of every remediation after "revoke it": a secret that reached a repository is
/// compromised, and deleting it in a new commit leaves it in the history.
macro_rules! then_clean_up {
    () => {
        " Then remove it from the history (`git filter-repo --replace-text replacements.txt`, \
         force-push, and have every clone re-cloned; a new commit that deletes the line leaves \
         it in the history; for a notebook, also clear its outputs). Prevent a repeat: read it \
         from the environment or a secret manager at run time, and run `rampart scan --scanners \
         secret` in a pre-commit hook and in CI."
    };
}

macro_rules! secret_rule {
    (
        $name:ident, $id:literal, $severity:ident, $title:literal,
        description: $description:literal,
        revoke: $revoke:literal,
        references: $references:expr $(,)?
    ) => {
        #[doc = $title]
        pub static $name: Rule = Rule {
            id: $id,
            scanner: "secret",
            severity: Severity::$severity,
            title: $title,
            description: $description,
            remediation: concat!($revoke, then_clean_up!()),
            references: $references,
        };
    };
}

const CREDENTIALS_IN_FILES: Reference =
    Reference::Url("https://attack.mitre.org/techniques/T1552/001/");

/// A credential for a cloud or SaaS account.
const CREDENTIAL: &[Reference] = &[
    Reference::Cwe(798),
    Reference::Atlas("AML.T0055"),
    CREDENTIALS_IN_FILES,
];

/// A credential that can publish code, packages, images or models others consume.
const PUBLISHING_CREDENTIAL: &[Reference] = &[
    Reference::Cwe(798),
    Reference::Atlas("AML.T0055"),
    Reference::Atlas("AML.T0010"),
    Reference::Owasp("ML06:2023"),
    CREDENTIALS_IN_FILES,
];

const PASSWORD: &[Reference] = &[
    Reference::Cwe(259),
    Reference::Cwe(798),
    Reference::Atlas("AML.T0055"),
    CREDENTIALS_IN_FILES,
];

const PRIVATE_KEY_REFERENCES: &[Reference] = &[
    Reference::Cwe(321),
    Reference::Cwe(798),
    Reference::Atlas("AML.T0055"),
    Reference::Url("https://attack.mitre.org/techniques/T1552/004/"),
];

secret_rule!(
    AWS_ACCESS_KEY, "secret/aws-access-key", Critical,
    "AWS secret access key in the file",
    description: "An AWS secret access key, with or next to its access key ID, is written in the \
                  file. Together they sign API requests as the IAM user or role they belong to: \
                  whoever reads the file can use every permission that identity has, typically \
                  S3 training data, model artifacts, SageMaker and more.",
    revoke: "Deactivate and delete the access key in IAM (Users > Security credentials) now, \
             and review CloudTrail for calls made with its key ID. Prefer short-lived \
             credentials (IAM roles, IAM Identity Center, OIDC federation in CI) over access \
             keys.",
    references: CREDENTIAL,
);

secret_rule!(
    AWS_ACCESS_KEY_ID, "secret/aws-access-key-id", Medium,
    "AWS access key ID without its secret in the same place",
    description: "An AWS access key ID (AKIA…, ASIA…) is written in the file, but no secret \
                  access key was found next to it. The ID alone cannot sign requests, but it \
                  names the AWS account (`sts get-access-key-info`), and the secret usually sits \
                  in a neighbouring file or an earlier commit.",
    revoke: "Find where the matching secret access key is stored; if it was ever committed or \
             shared, deactivate and delete the key in IAM. Keep key IDs out of source too.",
    references: CREDENTIAL,
);

secret_rule!(
    AWS_BEDROCK_API_KEY, "secret/aws-bedrock-api-key", High,
    "Amazon Bedrock API key in the file",
    description: "An Amazon Bedrock long-term API key (ABSK…) is written in the file. It calls \
                  Bedrock models as its IAM user: model invocation is billed to the account, and \
                  the user's other Bedrock permissions (agents, knowledge bases, custom models) \
                  come with it.",
    revoke: "Delete the Bedrock API key (its service-specific credential in IAM) and check \
             CloudTrail for Bedrock calls made with it; prefer short-term Bedrock keys or role \
             credentials.",
    references: CREDENTIAL,
);

secret_rule!(
    GCP_SERVICE_ACCOUNT_KEY, "secret/gcp-service-account-key", Critical,
    "Google Cloud service-account key file",
    description: "A Google Cloud service-account key (JSON with `\"type\": \"service_account\"` \
                  and a `private_key`) is in the file. The key authenticates as the service \
                  account until it is deleted, with all of its IAM roles: Vertex AI, GCS \
                  buckets, BigQuery data.",
    revoke: "Delete the key in IAM & Admin > Service accounts > Keys and review the audit logs \
             for its key ID. Use Workload Identity (Federation) or attached service accounts \
             instead of key files; an organisation policy can disable key creation.",
    references: CREDENTIAL,
);

secret_rule!(
    GCP_API_KEY, "secret/gcp-api-key", High,
    "Google API key in the file",
    description: "A Google API key (AIza…) is written in the file. It calls whatever APIs the \
                  project enabled for it, for example the Gemini API, billed to the project; \
                  unrestricted keys work from anywhere.",
    revoke: "Delete or regenerate the key in APIs & Services > Credentials, then create a new \
             one restricted to the APIs and the applications that need it.",
    references: CREDENTIAL,
);

secret_rule!(
    AZURE_STORAGE_ACCOUNT_KEY, "secret/azure-storage-account-key", Critical,
    "Azure storage or Cosmos DB account key in the file",
    description: "An Azure account key (88 base64 characters, as in `AccountKey=` of a \
                  connection string) is written in the file. A storage account key gives full \
                  control of every container, blob, queue and table in the account (datasets, \
                  model artifacts); a Cosmos DB key gives full access to the database.",
    revoke: "Rotate the key (Storage account > Access keys > Rotate, or regenerate the Cosmos \
             DB key) after moving clients to the other key, then prefer Entra ID \
             authentication and disable shared-key access.",
    references: CREDENTIAL,
);

secret_rule!(
    AZURE_SHARED_ACCESS_KEY, "secret/azure-shared-access-key", High,
    "Azure Service Bus / Event Hubs / IoT Hub shared access key in the file",
    description: "A connection string with a `SharedAccessKey=` is written in the file. The key \
                  signs tokens for the policy it belongs to (send, listen or manage) on the \
                  namespace or hub.",
    revoke: "Regenerate the key of that shared access policy, then use Entra ID (managed \
             identities) instead of connection strings.",
    references: CREDENTIAL,
);

secret_rule!(
    AZURE_SAS_TOKEN, "secret/azure-sas-token", High,
    "Azure shared access signature (SAS) URL in the file",
    description: "A URL or query string with a signed SAS (`sv=…&sig=…`) is written in the file. \
                  Until it expires it grants its permissions (often read and list, sometimes \
                  write or delete) on the storage resource, to anyone who has the URL.",
    revoke: "Revoke it: rotate the account key that signed it, or remove the stored access \
             policy it references; user-delegation SAS can be revoked by revoking the user \
             delegation keys. Issue short-lived, narrowly scoped user-delegation SAS instead.",
    references: CREDENTIAL,
);

secret_rule!(
    AZURE_CLIENT_SECRET, "secret/azure-client-secret", High,
    "Microsoft Entra ID application client secret in the file",
    description: "An Entra ID (Azure AD) client secret (…Q~…) is written in the file. With the \
                  application's client and tenant IDs it obtains tokens as the service \
                  principal, with all of its role assignments (Azure ML workspaces, storage, key \
                  vaults).",
    revoke: "Delete the secret in App registrations > Certificates & secrets and review the \
             sign-in logs of the service principal. Prefer managed identities or workload \
             identity federation.",
    references: CREDENTIAL,
);

secret_rule!(
    AZURE_OPENAI_KEY, "secret/azure-openai-key", High,
    "Azure OpenAI / Azure AI services key in the file",
    description: "A key for an Azure OpenAI (Azure AI services) resource is written in the file. \
                  It calls every deployment of the resource, billed to the subscription, and \
                  reaches its files, fine-tuning jobs and assistants.",
    revoke: "Regenerate the key (Resource > Keys and Endpoint) after moving clients to the \
             other key, then switch to Entra ID authentication and disable local auth.",
    references: CREDENTIAL,
);

secret_rule!(
    HUGGINGFACE_TOKEN, "secret/huggingface-token", High,
    "Hugging Face access token in the file",
    description: "A Hugging Face user access token (hf_…) or organisation API token (api_org_…) \
                  is written in the file. It acts on the Hub as its owner within its scope: read \
                  tokens download private and gated models and datasets; write tokens can \
                  replace the owner's models, which every downstream user then loads.",
    revoke: "Invalidate the token in Settings > Access Tokens on huggingface.co and check the \
             owner's repositories for commits made with it. Use fine-grained, read-only \
             tokens where writing is not needed.",
    references: PUBLISHING_CREDENTIAL,
);

secret_rule!(
    OPENAI_API_KEY, "secret/openai-api-key", High,
    "OpenAI API key in the file",
    description: "An OpenAI API key (sk-…T3BlbkFJ…) is written in the file. It calls the API as \
                  its project or user, billed to the organisation, and reaches the project's \
                  files, fine-tuned models, assistants and stored conversations; admin keys \
                  (sk-admin-…) manage the organisation itself.",
    revoke: "Revoke the key on platform.openai.com (API keys, or Admin keys) and check the \
             usage dashboard for unexpected use. Use project-scoped keys with restricted \
             permissions.",
    references: CREDENTIAL,
);

secret_rule!(
    ANTHROPIC_API_KEY, "secret/anthropic-api-key", High,
    "Anthropic API key in the file",
    description: "An Anthropic API key (sk-ant-api03-…) is written in the file. It calls the \
                  Claude API billed to the workspace; admin keys (sk-ant-admin01-…) manage the \
                  organisation's members, workspaces and keys.",
    revoke: "Disable and delete the key in the Claude Console (API keys / Admin keys) and check \
             usage and logs for unexpected use.",
    references: CREDENTIAL,
);

secret_rule!(
    WANDB_API_KEY, "secret/wandb-api-key", High,
    "Weights & Biases API key in the file",
    description: "A Weights & Biases API key is written in the file (assigned to a W&B name, \
                  passed to `wandb.login`, or in a `.netrc` entry for api.wandb.ai). It reads \
                  and writes the user's projects: experiment data, and the model and dataset \
                  artifacts pipelines pull from the registry.",
    revoke: "Revoke the key in User settings > API keys on wandb.ai (or your W&B server) and \
             review recent runs and artifact versions for changes you did not make.",
    references: PUBLISHING_CREDENTIAL,
);

secret_rule!(
    COHERE_API_KEY, "secret/cohere-api-key", High,
    "Cohere API key in the file",
    description: "A Cohere API key is written in the file (assigned to a Cohere name or passed \
                  to a Cohere client). It calls the API billed to the account and reaches its \
                  datasets, fine-tuned models and connectors.",
    revoke: "Delete the key in the Cohere dashboard (API keys) and check usage for unexpected \
             calls.",
    references: CREDENTIAL,
);

secret_rule!(
    REPLICATE_API_TOKEN, "secret/replicate-api-token", High,
    "Replicate API token in the file",
    description: "A Replicate API token (r8_…) is written in the file. It runs models billed to \
                  the account and can push new versions of the account's models.",
    revoke: "Disable the token in Account settings > API tokens on replicate.com and review \
             recent predictions and model versions.",
    references: PUBLISHING_CREDENTIAL,
);

secret_rule!(
    GROQ_API_KEY, "secret/groq-api-key", High,
    "Groq API key in the file",
    description: "A Groq API key (gsk_…) is written in the file. It calls the Groq API billed to \
                  the organisation.",
    revoke: "Delete the key in the Groq console (API Keys) and check usage.",
    references: CREDENTIAL,
);

secret_rule!(
    PERPLEXITY_API_KEY, "secret/perplexity-api-key", High,
    "Perplexity API key in the file",
    description: "A Perplexity API key (pplx-…) is written in the file. It calls the API billed \
                  to the account's credits.",
    revoke: "Delete the key in Perplexity's API settings and check usage.",
    references: CREDENTIAL,
);

secret_rule!(
    XAI_API_KEY, "secret/xai-api-key", High,
    "xAI API key in the file",
    description: "An xAI API key (xai-…) is written in the file. It calls the Grok API billed to \
                  the team.",
    revoke: "Delete the key in the xAI console (API Keys) and check usage.",
    references: CREDENTIAL,
);

secret_rule!(
    DEEPSEEK_API_KEY, "secret/deepseek-api-key", High,
    "DeepSeek API key in the file",
    description: "A DeepSeek API key (sk- followed by 32 hex digits, next to a DeepSeek name or \
                  endpoint) is written in the file. It calls the API billed to the account.",
    revoke: "Delete the key on platform.deepseek.com (API keys) and check usage.",
    references: CREDENTIAL,
);

secret_rule!(
    LANGSMITH_API_KEY, "secret/langsmith-api-key", High,
    "LangSmith API key in the file",
    description: "A LangSmith personal or service key (lsv2_pt_…, lsv2_sk_…) is written in the \
                  file. It reads the workspace's traces, which hold prompts, completions and \
                  the data passed through the application, and writes datasets and prompts.",
    revoke: "Delete the key in LangSmith Settings > API Keys.",
    references: CREDENTIAL,
);

secret_rule!(
    PINECONE_API_KEY, "secret/pinecone-api-key", High,
    "Pinecone API key in the file",
    description: "A Pinecone API key (pcsk_…) is written in the file. It reads, overwrites and \
                  deletes the project's vector indexes, the retrieval data of RAG applications.",
    revoke: "Delete the key in the Pinecone console (API keys) and create a new one with the \
             narrowest role that works.",
    references: CREDENTIAL,
);

secret_rule!(
    NVIDIA_API_KEY, "secret/nvidia-api-key", High,
    "NVIDIA API key in the file",
    description: "An NVIDIA API key (nvapi-…) for NGC / build.nvidia.com is written in the \
                  file. It calls hosted NIM endpoints and can pull (and, with the right role, \
                  push) containers and models in the NGC organisation.",
    revoke: "Revoke the key in the NGC web UI (Setup > API keys) and create a new one with \
             only the services it needs.",
    references: PUBLISHING_CREDENTIAL,
);

secret_rule!(
    DATABRICKS_TOKEN, "secret/databricks-token", Critical,
    "Databricks personal access token in the file",
    description: "A Databricks personal access token (dapi…) is written in the file. It acts as \
                  its user in the workspace: notebooks, jobs, clusters, Unity Catalog tables, \
                  MLflow experiments and registered models.",
    revoke: "Revoke the token in User Settings > Developer > Access tokens (an admin can \
             revoke it from the token management API) and review the audit logs. Prefer \
             OAuth machine-to-machine credentials.",
    references: PUBLISHING_CREDENTIAL,
);

secret_rule!(
    KAGGLE_API_KEY, "secret/kaggle-api-key", Medium,
    "Kaggle API key in the file",
    description: "A Kaggle API key (the `key` of kaggle.json, or a KAGGLE_KEY value) is written \
                  in the file. With the username it downloads private datasets and can publish \
                  datasets, models and notebooks as the user.",
    revoke: "Expire the token in Kaggle Settings > API (Expire API Token) and create a new \
             kaggle.json outside the repository.",
    references: PUBLISHING_CREDENTIAL,
);

secret_rule!(
    GITHUB_TOKEN, "secret/github-token", Critical,
    "GitHub token in the file",
    description: "A GitHub token (ghp_, gho_, ghu_, ghs_, ghr_ or github_pat_) is written in \
                  the file; classic tokens were confirmed by their built-in checksum. Within its \
                  scopes it reads private repositories and can push code, change workflows and \
                  publish releases: a direct path into the software supply chain.",
    revoke: "Revoke it (Settings > Developer settings > Personal access tokens, or the OAuth / \
             GitHub App that issued it) and review the security log and recent pushes. Use \
             fine-grained tokens with the fewest repositories and permissions, or GITHUB_TOKEN \
             in Actions.",
    references: PUBLISHING_CREDENTIAL,
);

secret_rule!(
    GITLAB_TOKEN, "secret/gitlab-token", Critical,
    "GitLab token in the file",
    description: "A GitLab personal, deploy, runner, pipeline-trigger or OAuth application \
                  token (glpat-, gldt-, glrt-, glptt-, gloas-) is written in the file. Within \
                  its scope it reads and writes repositories and registries or runs pipelines.",
    revoke: "Revoke the token in GitLab (User settings > Access tokens, the project's deploy \
             tokens, the runner, the trigger or the application) and review the audit events.",
    references: PUBLISHING_CREDENTIAL,
);

secret_rule!(
    SLACK_TOKEN, "secret/slack-token", High,
    "Slack token in the file",
    description: "A Slack bot, user, app or configuration token (xoxb-, xoxp-, xapp-, xoxe-…) is \
                  written in the file. It reads and posts in the workspace within the app's \
                  scopes; user tokens act as the person.",
    revoke: "Revoke the token (the app's OAuth & Permissions page, or `auth.revoke`) and \
             reinstall the app to issue a new one.",
    references: CREDENTIAL,
);

secret_rule!(
    SLACK_WEBHOOK_URL, "secret/slack-webhook-url", Medium,
    "Slack incoming-webhook URL in the file",
    description: "A Slack incoming-webhook URL (hooks.slack.com/services/T…/B…/…) is written in \
                  the file. Anyone with it can post messages into the channel, a ready-made \
                  phishing channel inside the organisation.",
    revoke: "Remove the webhook (the app's Incoming Webhooks page) and create a new one.",
    references: CREDENTIAL,
);

secret_rule!(
    PYPI_TOKEN, "secret/pypi-token", Critical,
    "PyPI upload token in the file",
    description: "A PyPI (or TestPyPI) API token (pypi-AgEI…) is written in the file. It uploads \
                  new releases of the projects in its scope: whoever has it can publish a \
                  malicious version that every `pip install` picks up.",
    revoke: "Remove the token in PyPI Account settings > API tokens and check the projects' \
             release history. Publish from CI with trusted publishing (OIDC) instead of \
             tokens.",
    references: PUBLISHING_CREDENTIAL,
);

secret_rule!(
    NPM_TOKEN, "secret/npm-token", Critical,
    "npm access token in the file",
    description: "An npm access token (npm_…, confirmed by its built-in checksum) is written in \
                  the file. Publish-capable tokens release new versions of the user's packages.",
    revoke: "Revoke the token (`npm token revoke`, or Access Tokens on npmjs.com) and check the \
             packages' versions. Publish from CI with trusted publishing or granular tokens.",
    references: PUBLISHING_CREDENTIAL,
);

secret_rule!(
    DOCKER_HUB_TOKEN, "secret/docker-hub-token", High,
    "Docker Hub access token in the file",
    description: "A Docker Hub personal or organisation access token (dckr_pat_…, dckr_oat_…) is \
                  written in the file. With read-write scope it pushes images, for example the \
                  serving images inference clusters pull by tag.",
    revoke: "Delete the token in Docker Hub Account settings > Personal access tokens (or the \
             organisation's access tokens) and check the repositories' recent pushes.",
    references: PUBLISHING_CREDENTIAL,
);

secret_rule!(
    PRIVATE_KEY, "secret/private-key", High,
    "Private key in the file",
    description: "A PEM or OpenSSH private key block is written in the file. Whatever trusts the \
                  matching public key (SSH servers, TLS clients, signature verifiers such as \
                  model-signing or release pipelines) will trust whoever holds this file. Keys \
                  protected by a passphrase are reported at lower severity: the passphrase can \
                  still be guessed offline.",
    revoke: "Replace the key pair: generate a new key, install the new public key where the old \
             one was trusted, and remove the old public key (authorized_keys, certificates, \
             signing trust roots; revoke certificates issued for it).",
    references: PRIVATE_KEY_REFERENCES,
);

secret_rule!(
    DATABASE_URL_PASSWORD, "secret/database-url-password", High,
    "Database connection URL with a password",
    description: "A database or message-broker URL (PostgreSQL, MySQL, MongoDB, Redis, AMQP, …) \
                  carries its password in the user-info part. Anyone who reads the file can \
                  connect as that user (feature stores, experiment tracking databases, \
                  application data); URLs that point at the local machine are reported at low \
                  severity.",
    revoke: "Change the database user's password (or drop the user) and check the server's \
             connection logs, then pass the password separately (environment variable, \
             `.pgpass` outside the repository, secret manager).",
    references: PASSWORD,
);

secret_rule!(
    URL_PASSWORD, "secret/url-password", High,
    "URL with an embedded password",
    description: "An HTTP(S) or FTP URL carries credentials in its user-info part \
                  (`https://user:password@host`), typically a private package index in a pip \
                  configuration or a git remote. The URL ends up in logs and process listings \
                  too.",
    revoke: "Revoke or change the password or token in the URL at the service that issued it, \
             then supply it through a credential helper, keyring or environment variable \
             (pip reads `PIP_INDEX_URL`; git uses credential helpers).",
    references: PASSWORD,
);

secret_rule!(
    GENERIC_SECRET, "secret/generic-secret", Medium,
    "Random-looking value assigned to a secret name",
    description: "A value that looks random (enough length, digits and letters, high entropy, \
                  not a hash, UUID, path or placeholder) is assigned to a name that says secret, \
                  token, password or API key, or sent as an Authorization header. No provider \
                  rule recognised its format, so what it grants is unknown.",
    revoke: "Find out which service issued the value and revoke or rotate it there.",
    references: PASSWORD,
);

/// Every rule of this crate.
pub static RULES: &[&Rule] = &[
    &AWS_ACCESS_KEY,
    &AWS_ACCESS_KEY_ID,
    &AWS_BEDROCK_API_KEY,
    &GCP_SERVICE_ACCOUNT_KEY,
    &GCP_API_KEY,
    &AZURE_STORAGE_ACCOUNT_KEY,
    &AZURE_SHARED_ACCESS_KEY,
    &AZURE_SAS_TOKEN,
    &AZURE_CLIENT_SECRET,
    &AZURE_OPENAI_KEY,
    &HUGGINGFACE_TOKEN,
    &OPENAI_API_KEY,
    &ANTHROPIC_API_KEY,
    &WANDB_API_KEY,
    &COHERE_API_KEY,
    &REPLICATE_API_TOKEN,
    &GROQ_API_KEY,
    &PERPLEXITY_API_KEY,
    &XAI_API_KEY,
    &DEEPSEEK_API_KEY,
    &LANGSMITH_API_KEY,
    &PINECONE_API_KEY,
    &NVIDIA_API_KEY,
    &DATABRICKS_TOKEN,
    &KAGGLE_API_KEY,
    &GITHUB_TOKEN,
    &GITLAB_TOKEN,
    &SLACK_TOKEN,
    &SLACK_WEBHOOK_URL,
    &PYPI_TOKEN,
    &NPM_TOKEN,
    &DOCKER_HUB_TOKEN,
    &PRIVATE_KEY,
    &DATABASE_URL_PASSWORD,
    &URL_PASSWORD,
    &GENERIC_SECRET,
];

#[cfg(test)]
mod tests {
    use super::RULES;

    #[test]
    fn rules_are_unique_and_fully_described() {
        assert_eq!(
            rampart_core::rule_table_problems(RULES, "secret"),
            Vec::<String>::new()
        );
        for rule in RULES {
            assert!(rule.id.starts_with("secret/"), "{}", rule.id);
            assert!(
                rule.remediation.contains("git filter-repo"),
                "{}: remediation must cover history",
                rule.id
            );
        }
    }
}
