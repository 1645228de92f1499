//! Every rule against a true positive and a near miss, plus the false-alarm corpus that
//! must stay silent, notebooks, limits and property tests of the public scan functions.

use proptest::prelude::*;
use rampart_core::{Finding, Location, Severity};

use crate::test_support::*;

/// One rule's true positive and near miss.
struct Case {
    rule: &'static str,
    /// The input that must produce exactly one finding, of `rule`.
    text: String,
    /// The secret in `text`, which must not leak into the finding.
    secret: String,
    /// The 1-based line of the secret in `text`.
    line: u32,
    severity: Option<Severity>,
    /// Looks like the true positive but is no secret: must produce no finding at all.
    near_miss: String,
}

fn case(rule: &'static str, text: String, secret: String, near_miss: String) -> Case {
    let line = text
        .find(&secret)
        .map(|at| 1 + text[..at].matches('\n').count() as u32)
        .unwrap_or(1);
    Case {
        rule,
        text,
        secret,
        line,
        severity: None,
        near_miss,
    }
}

fn with_severity(mut case: Case, severity: Severity) -> Case {
    case.severity = Some(severity);
    case
}

fn cases() -> Vec<Case> {
    let mut rng = Seeded::new(0x5eed_1234);
    let mut cases = Vec::new();
    let r = &mut rng;

    // AWS: a credentials file pairs the ID with its secret.
    let id = format!("AKIA{}", r.string(BASE32, 16));
    let secret = format!(
        "{}/{}+{}",
        r.string(BASE64, 20),
        r.string(ALNUM, 9),
        r.string(ALNUM, 9)
    );
    cases.push(case(
        "secret/aws-access-key",
        format!("[default]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n"),
        secret.clone(),
        "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n\
         aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
            .to_owned(),
    ));
    // The console's CSV download: no names, the secret sits next to the ID.
    let id = format!("AKIA{}", r.string(BASE32, 16));
    let secret = format!("{}+{}", r.string(ALNUM, 30), r.string(ALNUM, 9));
    cases.push(case(
        "secret/aws-access-key",
        format!("Access key ID,Secret access key\n{id},{secret}\n"),
        secret.clone(),
        format!("commit,tree\n{id}x,{}\n", r.string(HEX, 40)),
    ));
    let id = format!("ASIA{}", r.string(BASE32, 16));
    cases.push(case(
        "secret/aws-access-key-id",
        format!("export AWS_ACCESS_KEY_ID={id}\n"),
        id.clone(),
        format!("export AWS_ACCESS_KEY_ID=ASIA{}\n", r.string(BASE32, 15)),
    ));
    let bedrock = format!("ABSK{}", r.string(BASE64, 140));
    cases.push(case(
        "secret/aws-bedrock-api-key",
        format!("AWS_BEARER_TOKEN_BEDROCK={bedrock}\n"),
        bedrock.clone(),
        format!("header = \"ABSK{}\"\n", r.string(BASE64, 40)),
    ));

    // Google Cloud.
    let key_body = r.bytes(1190);
    let key = pem("PRIVATE KEY", "", &key_body);
    let account = |private_key: &str| {
        format!(
            "{{\n  \"type\": \"service_account\",\n  \"project_id\": \"vision-prod\",\n  \
             \"private_key_id\": \"{}\",\n  \"private_key\": {},\n  \
             \"client_email\": \"trainer@vision-prod.iam.gserviceaccount.com\"\n}}\n",
            "0123abcd".repeat(5),
            json_string(private_key)
        )
    };
    let sa = account(&key);
    let sa_line_secret = key.lines().nth(1).unwrap().to_owned();
    let mut sa_case = case(
        "secret/gcp-service-account-key",
        sa,
        sa_line_secret,
        account("-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----\n"),
    );
    sa_case.line = 5;
    cases.push(sa_case);
    let gcp = format!("AIza{}", r.string(WORD_DASH, 35));
    cases.push(case(
        "secret/gcp-api-key",
        format!("genai.configure(api_key=\"{gcp}\")\n"),
        gcp.clone(),
        format!("genai.configure(api_key=\"AIza{}\")\n", r.string(ALNUM, 20)),
    ));

    // Azure.
    let account_key = format!("{}==", r.string(BASE64, 86));
    let emulator_key = format!(
        "{}{}",
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2U",
        "VErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
    );
    let connection = |key: &str| {
        format!(
            "conn = \"DefaultEndpointsProtocol=https;AccountName=devstoreaccount1;AccountKey={key};\
             BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;\"\n"
        )
    };
    cases.push(case(
        "secret/azure-storage-account-key",
        connection(&account_key),
        account_key.clone(),
        connection(&emulator_key),
    ));
    let shared = format!("{}=", r.string(BASE64, 43));
    cases.push(case(
        "secret/azure-shared-access-key",
        format!(
            "EVENTHUB=Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=send;\
             SharedAccessKey={shared}\n"
        ),
        shared.clone(),
        "EVENTHUB=Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=send;\
         SharedAccessKey=<your-key>\n"
            .to_owned(),
    ));
    let sig = format!("{}%2B{}%3D", r.string(ALNUM, 20), r.string(ALNUM, 22));
    let sas = |sv: &str, sig: &str| {
        format!(
            "url = \"https://acct.blob.core.windows.net/data/train.csv?sp=r&st=2024-01-01T00:00:00Z\
             &se=2030-01-01T00:00:00Z&spr=https{sv}&sr=b&sig={sig}\"\n"
        )
    };
    cases.push(case(
        "secret/azure-sas-token",
        sas("&sv=2022-11-02", &sig),
        sig.clone(),
        sas("", &sig),
    ));
    let client_secret = format!("{}7Q~{}", r.string(ALNUM, 3), r.string(WORD_DASH, 34));
    cases.push(case(
        "secret/azure-client-secret",
        format!("AZURE_CLIENT_SECRET=\"{client_secret}\"\n"),
        client_secret.clone(),
        format!(
            "ref = \"{}Q~{}\"\n",
            r.string(ALNUM, 3),
            r.string(ALNUM, 34)
        ),
    ));
    let azure_openai = r.string(HEX, 32);
    cases.push(case(
        "secret/azure-openai-key",
        format!(
            "AZURE_OPENAI_ENDPOINT=https://ml-prod.openai.azure.com/\nAZURE_OPENAI_API_KEY={azure_openai}\n"
        ),
        azure_openai.clone(),
        "AZURE_OPENAI_ENDPOINT=https://ml-prod.openai.azure.com/\n\
         AZURE_OPENAI_API_KEY=<your-azure-openai-key>\n"
            .to_owned(),
    ));

    // ML platforms.
    let hf = format!("hf_{}{}", r.string(UPPER, 10), r.string(LETTERS, 24));
    cases.push(case(
        "secret/huggingface-token",
        format!("from huggingface_hub import login\nlogin(token=\"{hf}\")\n"),
        hf.clone(),
        format!(
            "handler = hf_{}\n",
            r.string(b"abcdefghijklmnopqrstuvwxyz", 34)
        ),
    ));
    let openai = format!(
        "sk-proj-{}T3BlbkFJ{}",
        r.string(WORD_DASH, 58),
        r.string(WORD_DASH, 58)
    );
    cases.push(case(
        "secret/openai-api-key",
        format!("client = OpenAI(api_key=\"{openai}\")\n"),
        openai.clone(),
        format!("cache_ref = \"sk-proj-{}\"\n", r.string(ALNUM, 120)),
    ));
    let openai_admin = format!(
        "sk-admin-{}T3BlbkFJ{}",
        r.string(WORD_DASH, 58),
        r.string(WORD_DASH, 58)
    );
    cases.push(with_severity(
        case(
            "secret/openai-api-key",
            format!("OPENAI_ADMIN_KEY={openai_admin}\n"),
            openai_admin.clone(),
            "OPENAI_ADMIN_KEY=sk-admin-...\n".to_owned(),
        ),
        Severity::Critical,
    ));
    let anthropic = format!("sk-ant-api03-{}AA", r.string(WORD_DASH, 93));
    cases.push(case(
        "secret/anthropic-api-key",
        format!("client = anthropic.Anthropic(api_key=\"{anthropic}\")\n"),
        anthropic.clone(),
        format!("ref = \"sk-ant-api03-{}AB\"\n", r.string(ALNUM, 93)),
    ));
    let wandb = r.string(HEX, 40);
    cases.push(case(
        "secret/wandb-api-key",
        format!("import wandb\nwandb.login(key=\"{wandb}\")\n"),
        wandb.clone(),
        format!(
            "import wandb\nrun = wandb.init(name=\"{}\")\n",
            r.string(HEX, 40)
        ),
    ));
    let wandb_netrc = r.string(HEX, 40);
    cases.push(case(
        "secret/wandb-api-key",
        format!("machine api.wandb.ai\n  login user\n  password {wandb_netrc}\n"),
        wandb_netrc.clone(),
        "machine api.wandb.ai\n  login user\n  password <api-key>\n".to_owned(),
    ));
    let cohere = r.string(ALNUM, 40);
    cases.push(case(
        "secret/cohere-api-key",
        format!("co = cohere.ClientV2(\"{cohere}\")\n"),
        cohere.clone(),
        "co = cohere.ClientV2(os.environ[\"CO_API_KEY\"])\ncohere_model = \"command-r-plus-08-2024\"\n"
            .to_owned(),
    ));
    let replicate = format!("r8_{}", r.string(ALNUM, 37));
    cases.push(case(
        "secret/replicate-api-token",
        format!("REPLICATE_API_TOKEN={replicate}\n"),
        replicate.clone(),
        format!("register = r8_{}\n", r.string(ALNUM, 36)),
    ));
    let groq = format!("gsk_{}", r.string(ALNUM, 52));
    cases.push(case(
        "secret/groq-api-key",
        format!("client = Groq(api_key=\"{groq}\")\n"),
        groq.clone(),
        format!("ref = \"gsk_{}\"\n", r.string(ALNUM, 51)),
    ));
    let pplx = format!("pplx-{}", r.string(ALNUM, 48));
    cases.push(case(
        "secret/perplexity-api-key",
        format!("PPLX_KEY: {pplx}\n"),
        pplx.clone(),
        format!("ref: pplx-{}\n", r.string(ALNUM, 47)),
    ));
    let xai = format!("xai-{}", r.string(ALNUM, 80));
    cases.push(case(
        "secret/xai-api-key",
        format!("XAI_API_KEY=\"{xai}\"\n"),
        xai.clone(),
        "model = \"xai-grok-2-vision-1212\"\n".to_owned(),
    ));
    let deepseek = format!("sk-{}", r.string(HEX, 32));
    cases.push(case(
        "secret/deepseek-api-key",
        format!("client = OpenAI(base_url=\"https://api.deepseek.com\", api_key=\"{deepseek}\")\n"),
        deepseek.clone(),
        format!("ref = \"sk-{}\"\n", r.string(HEX, 32)),
    ));
    let langsmith = format!("lsv2_pt_{}_{}", r.string(HEX, 32), r.string(HEX, 10));
    cases.push(case(
        "secret/langsmith-api-key",
        format!("LANGSMITH_API_KEY={langsmith}\n"),
        langsmith.clone(),
        format!("ref = lsv2_pt_{}\n", r.string(HEX, 43)),
    ));
    let pinecone = format!("pcsk_{}_{}", r.string(ALNUM, 6), r.string(ALNUM, 63));
    cases.push(case(
        "secret/pinecone-api-key",
        format!("pc = Pinecone(api_key=\"{pinecone}\")\n"),
        pinecone.clone(),
        format!("ref = \"pcsk_{}\"\n", r.string(ALNUM, 69)),
    ));
    let nvidia = format!("nvapi-{}", r.string(WORD_DASH, 64));
    cases.push(case(
        "secret/nvidia-api-key",
        format!("NVIDIA_API_KEY={nvidia}\n"),
        nvidia.clone(),
        "image: nvapi-example-service\n".to_owned(),
    ));
    let databricks = format!("dapi{}", r.string(HEX, 32));
    cases.push(case(
        "secret/databricks-token",
        format!("DATABRICKS_TOKEN={databricks}\n"),
        databricks.clone(),
        format!("ref = xdapi{}\n", r.string(HEX, 32)),
    ));
    let kaggle = r.string(HEX, 32);
    cases.push(case(
        "secret/kaggle-api-key",
        format!("{{\"username\":\"ml-team\",\"key\":\"{kaggle}\"}}\n"),
        kaggle.clone(),
        "{\"username\":\"ml-team\",\"key\":\"<kaggle-key>\"}\n".to_owned(),
    ));

    // Code hosting and registries.
    let github = checksummed("ghp_", r);
    let mut bad_checksum = checksummed("ghp_", r);
    let last = if bad_checksum.ends_with('A') {
        "B"
    } else {
        "A"
    };
    bad_checksum.replace_range(bad_checksum.len() - 1.., last);
    cases.push(case(
        "secret/github-token",
        format!("git clone https://x-access-token@github.com/org/repo\nGH_TOKEN={github}\n"),
        github.clone(),
        format!("GH_TOKEN={bad_checksum}\n"),
    ));
    let github_fine = format!("github_pat_{}_{}", r.string(ALNUM, 22), r.string(ALNUM, 59));
    cases.push(case(
        "secret/github-token",
        format!("token: {github_fine}\n"),
        github_fine.clone(),
        format!("ref: github_pat_{}\n", r.string(ALNUM, 30)),
    ));
    let gitlab = format!("glpat-{}", r.string(WORD_DASH, 20));
    cases.push(case(
        "secret/gitlab-token",
        format!("GITLAB_TOKEN={gitlab}\n"),
        gitlab.clone(),
        format!("ref = glpat-{}\n", r.string(ALNUM, 19)),
    ));
    let slack = format!(
        "xoxb-{}-{}-{}",
        r.string(b"0123456789", 12),
        r.string(b"0123456789", 13),
        r.string(ALNUM, 24)
    );
    cases.push(case(
        "secret/slack-token",
        format!("SLACK_BOT_TOKEN={slack}\n"),
        slack.clone(),
        "SLACK_BOT_TOKEN=xoxb-not-a-real-token-this-will-not-work\n".to_owned(),
    ));
    let webhook = format!(
        "T{}/B{}/{}",
        r.string(UPPER_ALNUM, 10),
        r.string(UPPER_ALNUM, 10),
        r.string(ALNUM, 24)
    );
    cases.push(case(
        "secret/slack-webhook-url",
        format!("notify: https://hooks.slack.com/services/{webhook}\n"),
        webhook.clone(),
        "notify: https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX\n"
            .to_owned(),
    ));
    let pypi = format!("pypi-AgEIcHlwaS5vcmc{}", r.string(WORD_DASH, 70));
    cases.push(case(
        "secret/pypi-token",
        format!("[pypi]\n  username = __token__\n  password = {pypi}\n"),
        pypi.clone(),
        "[pypi]\n  username = __token__\n  password = pypi-AgEIcHlwaS5vcmc...\n".to_owned(),
    ));
    let npm = checksummed("npm_", r);
    cases.push(case(
        "secret/npm-token",
        format!("//registry.npmjs.org/:_authToken={npm}\n"),
        npm.clone(),
        format!(
            "//registry.npmjs.org/:_authToken=npm_{}\n",
            r.string(ALNUM, 36)
        ),
    ));
    let docker = format!("dckr_pat_{}", r.string(WORD_DASH, 27));
    cases.push(case(
        "secret/docker-hub-token",
        format!("echo {docker} | docker login -u ci --password-stdin\n"),
        docker.clone(),
        format!("echo dckr_pat_{} | docker login\n", r.string(ALNUM, 20)),
    ));

    // Keys and passwords.
    let rsa = pem("RSA PRIVATE KEY", "", &r.bytes(1190));
    let rsa_secret = rsa.lines().nth(1).unwrap().to_owned();
    let mut rsa_case = case(
        "secret/private-key",
        format!("# deploy key\n{rsa}"),
        rsa_secret,
        format!(
            "{}-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----\n",
            pem("PUBLIC KEY", "", &r.bytes(290))
        ),
    );
    rsa_case.line = 2;
    cases.push(rsa_case);
    let encrypted = pem(
        "RSA PRIVATE KEY",
        "Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0123456789ABCDEF0123456789ABCDEF\n\n",
        &r.bytes(1200),
    );
    let encrypted_secret = encrypted.lines().nth(4).unwrap().to_owned();
    let mut encrypted_case = with_severity(
        case(
            "secret/private-key",
            encrypted,
            encrypted_secret,
            String::new(),
        ),
        Severity::Medium,
    );
    encrypted_case.line = 1;
    cases.push(encrypted_case);
    let openssh = |cipher: &[u8], rng: &mut Seeded| {
        let mut body = b"openssh-key-v1\0".to_vec();
        body.extend_from_slice(&(cipher.len() as u32).to_be_bytes());
        body.extend_from_slice(cipher);
        body.extend_from_slice(&rng.bytes(300));
        pem("OPENSSH PRIVATE KEY", "", &body)
    };
    let ssh = openssh(b"aes256-ctr", r);
    let ssh_secret = ssh.lines().nth(2).unwrap().to_owned();
    let mut ssh_case = with_severity(
        case("secret/private-key", ssh, ssh_secret, String::new()),
        Severity::Medium,
    );
    ssh_case.line = 1;
    cases.push(ssh_case);
    let ssh_plain = openssh(b"none", r);
    let ssh_plain_secret = ssh_plain.lines().nth(2).unwrap().to_owned();
    let mut ssh_plain_case = with_severity(
        case(
            "secret/private-key",
            ssh_plain,
            ssh_plain_secret,
            String::new(),
        ),
        Severity::High,
    );
    ssh_plain_case.line = 1;
    cases.push(ssh_plain_case);
    let db_password = r.string(ALNUM, 18);
    cases.push(case(
        "secret/database-url-password",
        format!("DATABASE_URL=postgresql+psycopg2://features:{db_password}@db.internal:5432/fs\n"),
        db_password.clone(),
        "DATABASE_URL=postgresql://user:password@localhost/db\n\
         DATABASE_URL=postgresql://app:${DB_PASSWORD}@db/app\n\
         BROKER=amqp://guest:guest@localhost:5672//\n"
            .to_owned(),
    ));
    let local_password = r.string(ALNUM, 14);
    cases.push(with_severity(
        case(
            "secret/database-url-password",
            format!("redis_url: redis://default:{local_password}@localhost:6379/0\n"),
            local_password.clone(),
            "redis_url: redis://localhost:6379/0\n".to_owned(),
        ),
        Severity::Low,
    ));
    let index_password = r.string(ALNUM, 24);
    cases.push(case(
        "secret/url-password",
        format!("--extra-index-url https://ci-bot:{index_password}@pypi.corp.internal/simple\n"),
        index_password.clone(),
        "--extra-index-url https://user:pass@pypi.example.com/simple\n".to_owned(),
    ));
    let generic = format!("{}{}", r.string(ALNUM, 28), r.string(b"0123456789", 4));
    cases.push(case(
        "secret/generic-secret",
        format!("settings:\n  feature_store_token: {generic}\n"),
        generic.clone(),
        format!(
            "token_type = \"{}\"\npassword_hash = \"{}\"\nSECRET_KEY = os.environ[\"SECRET_KEY\"]\n",
            r.string(ALNUM, 32),
            r.string(ALNUM, 32)
        ),
    ));
    let bearer = r.string(ALNUM, 40);
    cases.push(case(
        "secret/generic-secret",
        format!("headers = {{\"Authorization\": \"Bearer {bearer}\"}}\n"),
        bearer.clone(),
        "headers = {\"Authorization\": f\"Bearer {token}\"}\n".to_owned(),
    ));
    let password = format!("{}!{}", r.string(ALNUM, 6), r.string(b"0123456789", 4));
    cases.push(case(
        "secret/generic-secret",
        format!("SMTP_PASSWORD = '{password}'\n"),
        password.clone(),
        "SMTP_PASSWORD = 'password1234'\n".to_owned(),
    ));
    cases
}

fn describe(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| format!("{} {} {}", f.rule.id, f.location, f.message))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_rule_fires_on_its_true_positive_with_line_and_redaction() {
    for case in cases() {
        let findings = scan(&case.text);
        assert_eq!(
            ids(&findings),
            [case.rule],
            "{}:\n{}\n{}",
            case.rule,
            case.text,
            describe(&findings)
        );
        let finding = &findings[0];
        assert_eq!(finding.location.line, Some(case.line), "{}", case.rule);
        assert!(finding.location.column.is_some());
        assert_eq!(
            finding.severity,
            case.severity.unwrap_or(finding.rule.severity),
            "{}",
            case.rule
        );
        assert_not_leaked(finding, &case.secret);
        assert!(finding.evidence.as_deref().unwrap().contains("sha256 "));
    }
}

#[test]
fn near_misses_stay_silent() {
    for case in cases() {
        let findings = scan(&case.near_miss);
        assert!(
            findings.is_empty(),
            "{} near miss:\n{}\n{}",
            case.rule,
            case.near_miss,
            describe(&findings)
        );
    }
}

#[test]
fn every_rule_has_a_true_positive() {
    let covered: Vec<&str> = cases().iter().map(|c| c.rule).collect();
    for rule in crate::RULES {
        assert!(covered.contains(&rule.id), "{} has no test case", rule.id);
    }
}

#[test]
fn ordinary_ml_code_and_configs_produce_no_findings() {
    let benign = [
        // Hashes and digests.
        "torch==2.3.1 --hash=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "image: nvcr.io/nvidia/pytorch@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "\"integrity\": \"sha512-Dw8bQcMGUa8hdmpLq9rW1YnEcY5ya7bXFdlc2VJXGlqa4jOvk6Gq6sg4GHAhqQ3FxR0R8ACx2RJmvEy0o0nJOw==\"",
        "revision = \"5f2c8a1b3d4e6f708192a3b4c5d6e7f8091a2b3c\"",
        "checksum_token = \"da39a3ee5e6b4b0d3255bfef95601890afd80709\"",
        "token_sha256: 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
        // UUIDs, model ids, tokenizer configs.
        "run_token = \"123e4567-e89b-12d3-a456-426614174000\"",
        "model_id = \"meta-llama/Llama-3.1-8B-Instruct\"",
        "{\"eos_token\": \"</s>\", \"pad_token\": \"<pad>\", \"bos_token\": \"<|begin_of_text|>\"}",
        "tokenizer = AutoTokenizer.from_pretrained(\"hf-internal-testing/llama-tokenizer\")",
        "max_new_tokens = 512\ntoken_type_ids = None",
        // Placeholders and references.
        "HF_TOKEN = \"YOUR_HF_TOKEN\"\nOPENAI_API_KEY=<your-openai-key>\napi_key: ${API_KEY}",
        "token = os.environ[\"HF_TOKEN\"]\npassword = os.getenv(\"DB_PASSWORD\")",
        "GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}\napi_key: \"{{ vault_api_key }}\"",
        "password: changeme\nsecret: xxxxxxxxxxxxxxxx\ntoken = \"...\"",
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
        "SECRET_KEY = settings.SECRET_KEY_FALLBACK_2",
        "password = get_password(user_id_12345)",
        "api_key = ApiKeyAuth(header_name_x9)",
        // Code that mentions secrets without holding any.
        "def get_token(self, token_path='~/.cache/huggingface/token'):\n    return open(token_path).read()",
        "if secret_key_length < 32: raise ValueError('secret too short')",
        "ssh-keygen -t ed25519 -f ~/.ssh/id_ed25519\ncat ~/.ssh/id_ed25519.pub",
        "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUd3Jvbmcgd2F5IHRvIGdvIGhlcmUgYnV0IG9r\n-----END CERTIFICATE-----",
        "url = 'https://huggingface.co/api/models?search=bert&token=false'",
        "postgresql://localhost:5432/features",
        "csrf_token = \"a8Kd93jfLq0Zm2Xp4Ttq7Bn1Vc5Wx\"",
        "next_page_token: CiAKGjBpNDd2Nmp2Zml2cXRwYjBpOXA3ZmlUMwN",
    ];
    for text in benign {
        let findings = scan(text);
        assert!(findings.is_empty(), "{text}\n{}", describe(&findings));
    }
}

#[test]
fn the_same_secret_gets_the_same_evidence_everywhere() {
    let mut rng = Seeded::new(7);
    let token = format!("hf_{}{}", rng.string(UPPER, 10), rng.string(LETTERS, 24));
    let findings = scan(&format!("a = \"{token}\"\nb = '{token}'\n"));
    assert_eq!(findings.len(), 2);
    assert_eq!(findings[0].evidence, findings[1].evidence);
    assert_eq!(findings[1].location.line, Some(2));
    assert!(
        findings[0].message.contains("`a`"),
        "{}",
        findings[0].message
    );
}

#[test]
fn too_many_secrets_in_one_file_are_summarised() {
    let mut rng = Seeded::new(11);
    let text: String = (0..300)
        .map(|_| {
            format!(
                "key = \"hf_{}{}\"\n",
                rng.string(UPPER, 10),
                rng.string(LETTERS, 24)
            )
        })
        .collect();
    let findings = scan(&text);
    let limits = findings
        .iter()
        .filter(|f| f.rule.id == "scan/limit-exceeded")
        .count();
    assert_eq!(limits, 1, "{}", describe(&findings[..3]));
    assert!(findings.len() <= crate::engine::MAX_HITS_PER_TEXT + 1);
}

#[test]
fn hostile_repetitions_scan_in_linear_time() {
    let mut rng = Seeded::new(13);
    let aws_id = format!("AKIA{} ", rng.string(BASE32, 16));
    let units = [
        "sk-",
        "&sig=",
        "-----BEGIN PRIVATE KEY-----",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIE",
        "token=",
        "ABSK/",
        "postgres://a:b@",
        "Q~",
        aws_id.as_str(),
        "{\"cells\": [",
    ];
    for unit in units {
        let text = unit.repeat((1 << 19) / unit.len());
        let started = std::time::Instant::now();
        let findings = scan(&text);
        scan_notebook(&text);
        let elapsed = started.elapsed();
        assert!(
            elapsed < std::time::Duration::from_secs(10),
            "{unit:?} took {elapsed:?}"
        );
        assert!(findings.len() <= crate::engine::MAX_HITS_PER_TEXT + 1);
    }
}

#[test]
fn detection_routes_notebooks_and_text() {
    assert_eq!(
        crate::detect("analysis.IPYNB", b"\x00"),
        Some(crate::Kind::Notebook)
    );
    assert_eq!(
        crate::detect("train.py", b"import torch\n"),
        Some(crate::Kind::Text)
    );
    assert_eq!(crate::detect("model.bin", b"\x80\x02}q\x00"), None);
    assert_eq!(crate::detect("img.png", b"\x89PNG\r\n\x1a\n\0\0"), None);
    assert!(crate::looks_like_text("naïve café ü".as_bytes()));
    assert!(
        crate::looks_like_text(&"é".as_bytes()[..1]),
        "cut character at the end"
    );
    assert!(!crate::looks_like_text(&[0xff; 64]));
}

mod notebooks {
    use super::*;

    fn notebook(cells: &[String]) -> String {
        format!(
            "{{\n \"cells\": [\n{}\n ],\n \"metadata\": {{\"kernelspec\": {{\"name\": \"python3\"}}}},\n \"nbformat\": 4,\n \"nbformat_minor\": 5\n}}\n",
            cells.join(",\n")
        )
    }

    fn code_cell(source: &[&str], outputs: &[String]) -> String {
        let lines: Vec<String> = source.iter().map(|l| json_string(l)).collect();
        format!(
            "  {{\n   \"cell_type\": \"code\",\n   \"execution_count\": 1,\n   \"metadata\": {{}},\n   \"outputs\": [{}],\n   \"source\": [\n    {}\n   ]\n  }}",
            outputs.join(", "),
            lines.join(",\n    ")
        )
    }

    fn stream(text: &str) -> String {
        format!(
            "{{\"name\": \"stdout\", \"output_type\": \"stream\", \"text\": [{}]}}",
            json_string(text)
        )
    }

    fn display(mime: &str, data: &str) -> String {
        format!(
            "{{\"data\": {{{}: {}}}, \"metadata\": {{}}, \"output_type\": \"display_data\"}}",
            json_string(mime),
            json_string(data)
        )
    }

    fn b64(text: &str) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(text)
    }

    fn hf_token(seed: u64) -> String {
        let mut rng = Seeded::new(seed);
        format!("hf_{}{}", rng.string(UPPER, 10), rng.string(LETTERS, 24))
    }

    /// The 1-based line of the first occurrence of `needle`.
    fn line_of(text: &str, needle: &str) -> u32 {
        let at = text.find(needle).expect("needle in text");
        1 + text[..at].matches('\n').count() as u32
    }

    #[test]
    fn secrets_in_sources_and_outputs_name_their_cell_and_line() {
        let in_source = hf_token(1);
        let in_output = hf_token(2);
        let nb = notebook(&[
            code_cell(&["import torch\n"], &[]),
            code_cell(
                &[
                    "from huggingface_hub import login\n",
                    &format!("login(\"{in_source}\")\n"),
                ],
                &[],
            ),
            code_cell(
                &["!env\n"],
                &[stream(&format!("PATH=/usr/bin\nHF_TOKEN={in_output}\n"))],
            ),
        ]);
        let findings = scan_notebook(&nb);
        assert_eq!(
            ids(&findings),
            ["secret/huggingface-token"; 2],
            "{}",
            describe(&findings)
        );
        let source = &findings[0];
        assert_eq!(source.location.resource.as_deref(), Some("cell 2 source"));
        assert_eq!(source.location.line, Some(line_of(&nb, &in_source)));
        let output = &findings[1];
        assert_eq!(output.location.resource.as_deref(), Some("cell 3 output"));
        assert_eq!(output.location.line, Some(line_of(&nb, &in_output)));
        let column = nb
            .lines()
            .nth(line_of(&nb, &in_output) as usize - 1)
            .unwrap()
            .find(&in_output)
            .unwrap();
        assert_eq!(output.location.column, Some(column as u32 + 1));
        assert!(output.message.contains("`HF_TOKEN`"), "{}", output.message);
        assert_not_leaked(output, &in_output);
    }

    #[test]
    fn base64_text_in_outputs_is_decoded() {
        let token = hf_token(3);
        let encoded = b64(&format!("{{\"hf_token\": \"{token}\"}}"));
        let nb = notebook(&[code_cell(
            &["print(base64.b64encode(cfg))\n"],
            &[
                stream(&format!("b'{encoded}'\n")),
                display(
                    "application/octet-stream",
                    &b64(&format!("HF_TOKEN={}\n", hf_token(4))),
                ),
            ],
        )]);
        let findings = scan_notebook(&nb);
        assert_eq!(
            ids(&findings),
            ["secret/huggingface-token"; 2],
            "{}",
            describe(&findings)
        );
        assert_eq!(
            findings[0].location.resource.as_deref(),
            Some("cell 1 output")
        );
        assert!(findings[0].message.contains("base64"));
        assert_eq!(findings[0].location.line, Some(line_of(&nb, &encoded)));
        assert_eq!(
            findings[1].location.resource.as_deref(),
            Some("cell 1 output 2")
        );
        // The source line mentions base64 but holds no secret; the decoded text is not
        // reported twice.
        assert_not_leaked(&findings[0], &token);
    }

    #[test]
    fn metadata_members_are_assignments() {
        let mut rng = Seeded::new(5);
        let key = format!("{}{}", rng.string(ALNUM, 24), rng.string(b"0123456789", 4));
        let nb = format!(
            "{{\"cells\": [], \"metadata\": {{\"service\": {{\"api_key\": {}}}}}, \"nbformat\": 4, \"nbformat_minor\": 5}}",
            json_string(&key)
        );
        let findings = scan_notebook(&nb);
        assert_eq!(
            ids(&findings),
            ["secret/generic-secret"],
            "{}",
            describe(&findings)
        );
        assert_eq!(
            findings[0].location.resource.as_deref(),
            Some("notebook metadata")
        );
        assert!(findings[0].message.contains("`api_key`"));
    }

    #[test]
    fn benign_notebooks_with_images_and_plots_are_silent() {
        let mut rng = Seeded::new(9);
        let png: Vec<u8> = [&b"\x89PNG\r\n\x1a\n"[..], &rng.bytes(30_000)].concat();
        let png = {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode(png)
        };
        let plot = format!(
            "{{\"data\": {{\"application/vnd.plotly.v1+json\": {{\"data\": [{{\"x\": [{}], \"y\": [1, 2.5, -3e2]}}]}}, \"text/plain\": [\"<Figure>\"]}}, \"metadata\": {{}}, \"output_type\": \"display_data\"}}",
            (0..2000)
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(",")
        );
        let nb = notebook(&[
            code_cell(
                &["from transformers import AutoModel\n", "model = AutoModel.from_pretrained(\"bert-base-uncased\", revision=\"5f2c8a1b3d4e6f708192a3b4c5d6e7f8091a2b3c\")\n"],
                &[display("image/png", &png), plot, stream("Downloading: 100%|##########| 440M/440M\nsha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n")],
            ),
            "  {\"cell_type\": \"markdown\", \"metadata\": {}, \"source\": [\"# Results\\n\", \"Set `HF_TOKEN` in your environment.\"], \"attachments\": {\"plot.png\": {\"image/png\": \"iVBORw0KGgo=\"}}}".to_owned(),
        ]);
        let findings = scan_notebook(&nb);
        assert!(findings.is_empty(), "{}", describe(&findings));
    }

    #[test]
    fn broken_notebooks_are_malformed_and_still_searched() {
        let token = hf_token(6);
        let nb = notebook(&[code_cell(&[&format!("login(\"{token}\")\n")], &[])]);
        let truncated = &nb[..nb.find("\"nbformat\"").unwrap()];
        let findings = scan_notebook(truncated);
        assert_eq!(
            ids(&findings),
            ["secret/huggingface-token", "scan/malformed"],
            "{}",
            describe(&findings)
        );
        assert_eq!(
            findings[0].location.resource.as_deref(),
            Some("cell 1 source")
        );
        assert!(
            findings[1].message.contains("byte"),
            "{}",
            findings[1].message
        );

        let not_json = scan_notebook("print('hello')\n");
        assert_eq!(ids(&not_json), ["scan/malformed"]);
        let deep = format!("{{\"cells\": {}", "[".repeat(200));
        assert_eq!(ids(&scan_notebook(&deep)), ["scan/limit-exceeded"]);
    }

    #[test]
    fn nbformat3_worksheets_are_walked() {
        let token = hf_token(8);
        let nb = format!(
            "{{\"worksheets\": [{{\"cells\": [{{\"cell_type\": \"code\", \"input\": [\"x = 1\\n\"]}}, {{\"cell_type\": \"code\", \"input\": [{}], \"outputs\": []}}]}}], \"nbformat\": 3}}",
            json_string(&format!("token = \"{token}\"\n"))
        );
        let findings = scan_notebook(&nb);
        assert_eq!(ids(&findings), ["secret/huggingface-token"]);
        assert_eq!(
            findings[0].location.resource.as_deref(),
            Some("cell 2 source")
        );
    }
}

#[test]
fn fuzz_corpus_replays_without_panic() {
    let corpus = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    let mut replayed = 0;
    for target in ["secrets_text", "secrets_notebook"] {
        let dir = corpus.join(target);
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let data = std::fs::read(entry.unwrap().path()).unwrap();
            let mut out = Vec::new();
            let location = Location::file("fuzz");
            match target {
                "secrets_text" => crate::scan_text(&data, &location, &mut out),
                _ => crate::scan_notebook(&data, &location, &mut out),
            }
            replayed += 1;
        }
    }
    assert!(replayed >= 6, "corpus too small: {replayed}");
}

fn fragments() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "hf_",
        "AKIA",
        "sk-",
        "T3BlbkFJ",
        "ghp_",
        "-----BEGIN RSA PRIVATE KEY-----",
        "-----END",
        "Q~",
        "sig=",
        "&sv=2022-11-02",
        "://",
        "@",
        ":",
        "=",
        "\"",
        "'",
        "\n",
        "\\n",
        " ",
        "password",
        "api_key",
        "token",
        "wandb",
        "AccountKey=",
        "{",
        "}",
        "[",
        "]",
        ",",
        "\"cells\"",
        "\"source\"",
        "\"outputs\"",
        "\"data\"",
        "\"image/png\"",
        "\\u00e9",
    ]);
    prop::collection::vec(
        prop_oneof![pieces.prop_map(str::to_owned), "[A-Za-z0-9+/=_-]{1,60}"],
        0..60,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..2048)) {
        let mut out = Vec::new();
        crate::scan_text(&data, &Location::file("f"), &mut out);
        crate::scan_notebook(&data, &Location::file("f.ipynb"), &mut out);
        let lines = data.iter().filter(|&&b| b == b'\n').count() as u32 + 1;
        for finding in &out {
            prop_assert!(finding.location.line.is_some_and(|l| l >= 1 && l <= lines));
        }
    }

    #[test]
    fn keyword_soup_never_panics_and_lines_stay_in_range(text in fragments()) {
        let mut out = Vec::new();
        crate::scan_text(text.as_bytes(), &Location::file("f"), &mut out);
        crate::scan_notebook(text.as_bytes(), &Location::file("f.ipynb"), &mut out);
        let lines = text.matches('\n').count() as u32 + 1;
        for finding in &out {
            prop_assert!(finding.location.line.is_some_and(|l| l >= 1 && l <= lines));
        }
    }

    #[test]
    fn mutated_notebooks_never_panic(cut in 0usize..2000, flips in prop::collection::vec((0usize..2000, any::<u8>()), 0..8)) {
        let mut rng = Seeded::new(42);
        let token = format!("hf_{}{}", rng.string(UPPER, 10), rng.string(LETTERS, 24));
        let nb = format!(
            "{{\"cells\": [{{\"cell_type\": \"code\", \"source\": [\"x = \\\"{token}\\\"\\n\"], \"outputs\": [{{\"output_type\": \"stream\", \"text\": \"\\u00e9 ok\"}}]}}], \"metadata\": {{\"a\": [1, 2.5, true, null]}}}}"
        );
        let mut data = nb.into_bytes();
        let len = data.len();
        for (at, byte) in flips {
            if let Some(slot) = data.get_mut(at % len) {
                *slot = byte;
            }
        }
        data.truncate(cut.min(data.len()));
        let mut out = Vec::new();
        crate::scan_notebook(&data, &Location::file("f.ipynb"), &mut out);
        for finding in &out {
            if let Some(evidence) = &finding.evidence {
                prop_assert!(!evidence.contains(&token[4..]));
            }
        }
    }
}
