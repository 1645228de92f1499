//! Kubernetes manifests: multi-document YAML (plain, Helm-rendered, `kind: List`) with
//! workloads for training and inference (Deployments, StatefulSets, DaemonSets, Jobs,
//! CronJobs, Pods, and CRDs that embed pod templates: Kubeflow training jobs and notebooks,
//! Ray clusters, Argo workflows, KServe InferenceServices), Secrets and RBAC.
//!
//! Pod specs are found structurally (any mapping with a `containers` list), so operators'
//! CRDs are covered without a schema for each.

use std::collections::HashMap;

use rampart_core::{Finding, Location, Severity};

use crate::credentials::{is_literal_secret, is_secret_name, redact};
use crate::rules;
use crate::text::{LineMap, Lines};
use crate::yaml::{self, LoadError, Node};
use crate::{decode, image, report_load_problems, shell};

/// KServe predictor/transformer fields that are containers (`predictor: {sklearn: {...}}`).
const KSERVE_CONTAINER_FIELDS: &[&str] = &[
    "model",
    "sklearn",
    "xgboost",
    "lightgbm",
    "tensorflow",
    "pytorch",
    "triton",
    "onnx",
    "huggingface",
    "paddle",
    "pmml",
    "mlflow",
];

/// API groups of admission policies, whose objects contain pod-spec *patterns* (`image:
/// "!*:latest"`) rather than pods.
const POLICY_API_GROUPS: &[&str] = &[
    "kyverno.io",
    "gatekeeper.sh",
    "admissionregistration.k8s.io",
];

/// Capabilities that Pod Security Standards (baseline) allow to be added.
const BASELINE_CAPABILITIES: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// Capabilities that are container-escape primitives on their own.
const ESCAPE_CAPABILITIES: &[&str] = &[
    "ALL",
    "SYS_ADMIN",
    "SYS_MODULE",
    "SYS_PTRACE",
    "SYS_RAWIO",
    "DAC_READ_SEARCH",
    "BPF",
    "SYS_BOOT",
];

/// Scans a Kubernetes manifest file.
pub fn scan(data: &[u8], location: &Location, out: &mut Vec<Finding>) {
    let Some(text) = decode(data, location, "Kubernetes manifest", out) else {
        return;
    };
    let stream = yaml::load(text);
    let unrendered = matches!(stream.error, Some(LoadError::Syntax { .. })) && text.contains("{{");
    if unrendered {
        out.push(Finding::new(
            &rules::K8S_UNRENDERED_TEMPLATE,
            location.at_line(1, None),
            "This manifest contains Helm template actions (`{{ … }}`) and is not valid YAML \
             until rendered, so none of its settings were checked",
        ));
    } else {
        report_load_problems(&stream, location, "Kubernetes manifest", out);
    }
    let lines = Lines::new(text);
    let scanner = Scanner {
        source: &lines,
        location,
    };
    for document in &stream.documents {
        scanner.document(document, out);
    }
}

struct Scanner<'a> {
    source: &'a Lines<'a>,
    location: &'a Location,
}

/// A pod spec and the security contexts that apply to its containers by default, most
/// specific first (an Argo template's, then the workflow's).
struct PodSpec<'a> {
    node: &'a Node,
    defaults: Vec<&'a Node>,
    containers: Vec<Container<'a>>,
}

struct Container<'a> {
    node: &'a Node,
    label: String,
    ephemeral: bool,
}

impl Scanner<'_> {
    fn at(&self, node: &Node, resource: &str) -> Location {
        self.location
            .at_line(node.line, Some(node.column))
            .with_resource(resource)
    }

    fn document(&self, document: &Node, out: &mut Vec<Finding>) {
        let Some(kind) = document.get("kind").and_then(Node::as_str) else {
            return;
        };
        let Some(api_version) = document.get("apiVersion").and_then(Node::as_str) else {
            return;
        };
        let group = api_version.split('/').next().unwrap_or("");
        if POLICY_API_GROUPS.iter().any(|g| group.ends_with(g)) {
            return;
        }
        if kind.ends_with("List") {
            for item in document.get("items").map(Node::items).unwrap_or(&[]) {
                self.document(item, out);
            }
            return;
        }
        let metadata = document.get("metadata");
        let name = metadata
            .and_then(|m| m.get("name"))
            .and_then(Node::as_str)
            .map(str::to_owned)
            .or_else(|| {
                metadata
                    .and_then(|m| m.get("generateName"))
                    .and_then(Node::as_str)
                    .map(|prefix| format!("{prefix}*"))
            })
            .unwrap_or_else(|| "<unnamed>".to_owned());
        let resource = format!("{kind}/{name}");
        match kind {
            "Secret" => self.secret(document, &resource, out),
            "Role" | "ClusterRole" => self.role(document, &resource, out),
            "RoleBinding" | "ClusterRoleBinding" => self.binding(document, &resource, out),
            _ => {}
        }
        for pod in pod_specs(kind, document) {
            self.pod(&pod, &resource, out);
        }
    }

    fn pod(&self, pod: &PodSpec<'_>, resource: &str, out: &mut Vec<Finding>) {
        for field in ["hostNetwork", "hostPID", "hostIPC"] {
            let Some((key, value)) = pod.node.entry(field) else {
                continue;
            };
            if value.as_bool() == Some(true) {
                out.push(Finding::new(
                    &rules::K8S_HOST_NAMESPACE,
                    self.at(key, resource),
                    format!(
                        "{resource} sets `{field}: true`: {}",
                        host_namespace_effect(field)
                    ),
                ));
            }
        }
        self.host_paths(pod, resource, out);
        for container in &pod.containers {
            let label = format!("{resource}/{}", container.label);
            self.container(pod, container, &label, out);
        }
    }

    fn host_paths(&self, pod: &PodSpec<'_>, resource: &str, out: &mut Vec<Finding>) {
        // Volume name → (container, read-only) of every mount, built once per pod.
        let mut mounts_by_volume: HashMap<&str, Vec<(&str, bool)>> = HashMap::new();
        for container in &pod.containers {
            for mount in container
                .node
                .get("volumeMounts")
                .map(Node::items)
                .unwrap_or(&[])
            {
                if let Some(volume) = mount.get("name").and_then(Node::as_str) {
                    let read_only = mount.get("readOnly").and_then(Node::as_bool) == Some(true);
                    mounts_by_volume
                        .entry(volume)
                        .or_default()
                        .push((container.label.as_str(), read_only));
                }
            }
        }
        for volume in pod.node.get("volumes").map(Node::items).unwrap_or(&[]) {
            let Some(path_node) = volume.path(&["hostPath", "path"]) else {
                continue;
            };
            let Some(raw_path) = path_node.as_str() else {
                continue;
            };
            let path = normalize_path(raw_path);
            let volume_name = volume.get("name").and_then(Node::as_str).unwrap_or("");
            let mounts = mounts_by_volume
                .get(volume_name)
                .map_or(&[][..], Vec::as_slice);
            let writable = mounts.iter().any(|(_, read_only)| !read_only);
            let (severity, why) = host_path_risk(&path, writable);
            let mounted = if mounts.is_empty() {
                "no container mounts it yet".to_owned()
            } else {
                let list: Vec<String> = mounts
                    .iter()
                    .map(|(c, ro)| format!("`{c}`{}", if *ro { " read-only" } else { "" }))
                    .collect();
                format!("mounted by {}", list.join(", "))
            };
            out.push(
                Finding::new(
                    &rules::K8S_HOST_PATH,
                    self.at(path_node, resource),
                    format!(
                        "{resource} mounts the node's `{raw_path}` (volume `{volume_name}`, \
                         {mounted}): {why}"
                    ),
                )
                .with_severity(severity)
                .with_evidence(format!("hostPath: {raw_path}")),
            );
        }
    }

    fn container(
        &self,
        pod: &PodSpec<'_>,
        container: &Container<'_>,
        resource: &str,
        out: &mut Vec<Finding>,
    ) {
        let node = container.node;
        let anchor = node.entry("name").map_or(node, |(key, _)| key);
        let context = node.get("securityContext");
        let setting = |field: &str| -> Option<(&Node, &Node)> {
            context.and_then(|c| c.entry(field)).or_else(|| {
                pod.defaults
                    .iter()
                    .find_map(|defaults| defaults.entry(field))
            })
        };
        let accelerators = Accelerators::of(node);

        let privileged = context
            .and_then(|c| c.entry("privileged"))
            .filter(|(_, v)| v.as_bool() == Some(true));
        if let Some((key, _)) = privileged {
            let gpu_note = if accelerators.limited.is_empty() {
                ""
            } else {
                " GPUs assigned by the device plugin do not need it."
            };
            out.push(Finding::new(
                &rules::K8S_PRIVILEGED,
                self.at(key, resource),
                format!(
                    "Container `{}` runs privileged: it has every capability and all host \
                     devices, so any code it runs is root on the node.{gpu_note}",
                    container.label
                ),
            ));
        }

        let run_as_user = setting("runAsUser");
        let non_root = setting("runAsNonRoot").filter(|(_, v)| v.as_bool() == Some(true));
        let root = match run_as_user.and_then(|(k, v)| v.as_i64().map(|uid| (k, uid))) {
            Some((key, 0)) => Some((
                key,
                Severity::High,
                format!(
                    "Container `{}` runs as UID 0 (`runAsUser: 0`)",
                    container.label
                ),
            )),
            Some(_) => None,
            None if non_root.is_some() => None,
            None => Some((
                anchor,
                Severity::Medium,
                format!(
                    "Container `{}` sets neither `runAsNonRoot: true` nor a non-zero `runAsUser` \
                     (nor does its pod), so it runs as the image's user, which is root for most \
                     images",
                    container.label
                ),
            )),
        };
        let runs_as_root = root.is_some();
        if let Some((key, severity, message)) = root {
            out.push(
                Finding::new(&rules::K8S_RUNS_AS_ROOT, self.at(key, resource), message)
                    .with_severity(severity)
                    .with_fix(
                        "securityContext:\n  runAsNonRoot: true\n  runAsUser: 10001\n  \
                         allowPrivilegeEscalation: false\n  capabilities:\n    drop: [\"ALL\"]",
                    ),
            );
        }

        match context.and_then(|c| c.entry("allowPrivilegeEscalation")) {
            Some((key, value)) if value.as_bool() == Some(true) && privileged.is_none() => {
                out.push(Finding::new(
                    &rules::K8S_PRIVILEGE_ESCALATION,
                    self.at(key, resource),
                    format!(
                        "Container `{}` sets `allowPrivilegeEscalation: true`: setuid binaries in \
                         the image can give its processes root",
                        container.label
                    ),
                ));
            }
            None if !runs_as_root && privileged.is_none() && !container.ephemeral => {
                out.push(
                    Finding::new(
                        &rules::K8S_PRIVILEGE_ESCALATION,
                        self.at(anchor, resource),
                        format!(
                            "Container `{}` runs as non-root but does not set \
                             `allowPrivilegeEscalation: false`, so a setuid binary in the image \
                             can still give it root",
                            container.label
                        ),
                    )
                    .with_severity(Severity::Low),
                );
            }
            _ => {}
        }

        self.capabilities(context, &container.label, resource, out);
        if !container.ephemeral {
            self.resources(container, &accelerators, anchor, resource, out);
        }
        self.environment(container, &accelerators, resource, out);
        self.command(container, resource, out);

        if let Some(image_node) = node.get("image")
            && let Some(reference) = image_node.as_str()
        {
            image::check(
                reference,
                &format!("container `{}`", container.label),
                self.at(image_node, resource),
                out,
            );
        }
    }

    fn capabilities(
        &self,
        context: Option<&Node>,
        container: &str,
        resource: &str,
        out: &mut Vec<Finding>,
    ) {
        let added = context
            .and_then(|c| c.path(&["capabilities", "add"]))
            .map(Node::items)
            .unwrap_or(&[]);
        for capability in added {
            let Some(raw) = capability.as_str() else {
                continue;
            };
            let name = raw.to_ascii_uppercase();
            let name = name.strip_prefix("CAP_").unwrap_or(&name);
            if BASELINE_CAPABILITIES.contains(&name) {
                continue;
            }
            let (severity, why) = if ESCAPE_CAPABILITIES.contains(&name) {
                (
                    Severity::High,
                    "a known way out of the container onto the node",
                )
            } else if matches!(name, "NET_ADMIN" | "NET_RAW") {
                (
                    Severity::Medium,
                    "lets it intercept or spoof traffic of other pods on the node network",
                )
            } else {
                (
                    Severity::Medium,
                    "outside the Pod Security Standards baseline set",
                )
            };
            out.push(
                Finding::new(
                    &rules::K8S_CAPABILITY,
                    self.at(capability, resource),
                    format!("Container `{container}` adds the capability {name}: {why}"),
                )
                .with_severity(severity),
            );
        }
    }

    fn resources(
        &self,
        container: &Container<'_>,
        accelerators: &Accelerators<'_>,
        anchor: &Node,
        resource: &str,
        out: &mut Vec<Finding>,
    ) {
        let limits = container.node.path(&["resources", "limits"]);
        if limits.and_then(|l| l.get("memory")).is_none() {
            out.push(Finding::new(
                &rules::K8S_MISSING_MEMORY_LIMIT,
                self.at(limits.unwrap_or(anchor), resource),
                format!(
                    "Container `{}` has no memory limit: it can take all memory of its node and \
                     get other workloads evicted",
                    container.label
                ),
            ));
        }
        for (key, name) in &accelerators.requested_without_limit {
            out.push(Finding::new(
                &rules::K8S_GPU_REQUEST_WITHOUT_LIMIT,
                self.at(key, resource),
                format!(
                    "Container `{}` requests `{name}` without a matching limit: the API server \
                     rejects the pod (extended resources must be declared as limits)",
                    container.label
                ),
            ));
        }
    }

    fn environment(
        &self,
        container: &Container<'_>,
        accelerators: &Accelerators<'_>,
        resource: &str,
        out: &mut Vec<Finding>,
    ) {
        for variable in container.node.get("env").map(Node::items).unwrap_or(&[]) {
            let Some(name) = variable.get("name").and_then(Node::as_str) else {
                continue;
            };
            let Some((key, value_node)) = variable.entry("value") else {
                continue;
            };
            let value = value_node.as_str().unwrap_or("");
            if name == "NVIDIA_VISIBLE_DEVICES"
                && accelerators.limited.is_empty()
                && !matches!(value, "" | "void" | "none")
            {
                out.push(Finding::new(
                    &rules::K8S_GPU_ALL_DEVICES,
                    self.at(key, resource),
                    format!(
                        "Container `{}` sets `NVIDIA_VISIBLE_DEVICES={value}` without a GPU \
                         limit: on nodes whose default runtime is NVIDIA's it gets those GPUs \
                         regardless of what the scheduler assigned to other pods",
                        container.label
                    ),
                ));
            }
            if is_secret_name(name) && is_literal_secret(value) {
                out.push(
                    Finding::new(
                        &rules::ENV_HARDCODED_SECRET,
                        self.at(value_node, resource),
                        format!(
                            "Container `{}` gets `{name}` as a literal value in the manifest: \
                             anyone who can read the manifest, the repository or the pod spec \
                             (`kubectl get pod -o yaml`) has the credential",
                            container.label
                        ),
                    )
                    .with_evidence(format!("{name}={}", redact(value)))
                    .with_fix(format!(
                        "Store the value in a Secret (created from your secret manager) and \
                         reference it:\n- name: {name}\n  valueFrom:\n    secretKeyRef:\n      \
                         name: <secret-name>\n      key: <key>"
                    )),
                );
            }
            if let Some((rule, message)) = shell::environment_setting(name, value) {
                out.push(
                    Finding::new(rule, self.at(value_node, resource), message)
                        .with_evidence(format!("{name}={value}")),
                );
            }
        }
    }

    /// `command: ["sh", "-c", "curl … | sh"]`: the script is checked like any other.
    fn command(&self, container: &Container<'_>, resource: &str, out: &mut Vec<Finding>) {
        let words: Vec<&Node> = ["command", "args"]
            .iter()
            .flat_map(|field| container.node.get(field).map(Node::items).unwrap_or(&[]))
            .collect();
        let script_index = words
            .iter()
            .position(|w| {
                w.as_str()
                    .is_some_and(|s| s.starts_with('-') && s.contains('c'))
            })
            .map(|i| i + 1);
        let Some(script) = script_index.and_then(|i| words.get(i)) else {
            return;
        };
        let Some(text) = script.as_str() else {
            return;
        };
        let map = LineMap::of_scalar(script, self.source);
        for issue in shell::check(text) {
            let (line, column) = map.position(issue.offset);
            out.push(
                Finding::new(
                    issue.rule,
                    self.location
                        .at_line(line, Some(column))
                        .with_resource(resource),
                    issue.message,
                )
                .with_evidence(issue.evidence),
            );
        }
    }

    fn secret(&self, document: &Node, resource: &str, out: &mut Vec<Finding>) {
        for field in ["data", "stringData"] {
            let Some(values) = document.get(field) else {
                continue;
            };
            let stored: Vec<(&Node, &str)> = values
                .entries()
                .iter()
                .filter(|(_, v)| {
                    v.as_str().is_some_and(|s| {
                        if field == "data" {
                            !s.trim().is_empty() && !s.contains("{{")
                        } else {
                            is_literal_secret(s)
                        }
                    })
                })
                .filter_map(|(k, _)| k.as_str().map(|name| (k, name)))
                .collect();
            let Some((first, _)) = stored.first() else {
                continue;
            };
            let keys: Vec<&str> = stored.iter().map(|(_, name)| *name).collect();
            out.push(
                Finding::new(
                    &rules::K8S_SECRET_MANIFEST,
                    self.at(first, resource),
                    format!(
                        "{resource} stores {} in the manifest's `{field}` ({}): the values are \
                         readable by anyone with the file{}",
                        if keys.len() == 1 { "a value" } else { "values" },
                        keys.iter()
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", "),
                        if field == "data" {
                            " (base64 is not encryption)"
                        } else {
                            ""
                        }
                    ),
                )
                .with_evidence(format!("{field}: {}", keys.join(", "))),
            );
        }
    }

    fn role(&self, document: &Node, resource: &str, out: &mut Vec<Finding>) {
        for rule in document.get("rules").map(Node::items).unwrap_or(&[]) {
            let wildcard = |field: &str| {
                rule.get(field)
                    .map(Node::items)
                    .unwrap_or(&[])
                    .iter()
                    .any(|v| v.as_str() == Some("*"))
            };
            let fields: Vec<&str> = ["verbs", "resources", "apiGroups"]
                .into_iter()
                .filter(|f| wildcard(f))
                .collect();
            // `apiGroups: ["*"]` alone still names the resources and verbs.
            if !fields.iter().any(|f| *f == "verbs" || *f == "resources") {
                continue;
            }
            let rendered: Vec<String> = fields.iter().map(|f| format!("`{f}: [\"*\"]`")).collect();
            let anchor = fields.first().and_then(|f| rule.get(f)).unwrap_or(rule);
            out.push(Finding::new(
                &rules::K8S_RBAC_WILDCARD,
                self.at(anchor, resource),
                format!(
                    "{resource} grants {}: every current and future resource or verb of that \
                     kind, Secrets included",
                    rendered.join(" and ")
                ),
            ));
        }
    }

    fn binding(&self, document: &Node, resource: &str, out: &mut Vec<Finding>) {
        let Some(role) = document.get("roleRef") else {
            return;
        };
        let is_cluster_admin = role.get("name").and_then(Node::as_str) == Some("cluster-admin")
            && role.get("kind").and_then(Node::as_str) == Some("ClusterRole");
        if !is_cluster_admin {
            return;
        }
        let subjects: Vec<String> = document
            .get("subjects")
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .map(|s| {
                let kind = s.get("kind").and_then(Node::as_str).unwrap_or("?");
                let name = s.get("name").and_then(Node::as_str).unwrap_or("?");
                match s.get("namespace").and_then(Node::as_str) {
                    Some(ns) => format!("{kind} {ns}/{name}"),
                    None => format!("{kind} {name}"),
                }
            })
            .collect();
        let anchor = role.get("name").unwrap_or(role);
        out.push(
            Finding::new(
                &rules::K8S_CLUSTER_ADMIN_BINDING,
                self.at(anchor, resource),
                format!(
                    "{resource} gives cluster-admin to {}: anything running as {} controls the \
                     whole cluster",
                    if subjects.is_empty() {
                        "no listed subject".to_owned()
                    } else {
                        subjects.join(", ")
                    },
                    if subjects.len() == 1 { "it" } else { "them" }
                ),
            )
            .with_evidence(subjects.join(", ")),
        );
    }
}

fn host_namespace_effect(field: &str) -> &'static str {
    match field {
        "hostNetwork" => {
            "the pod uses the node's network stack, reaches node-local services (kubelet, the \
             cloud metadata endpoint and its credentials) and can sniff node traffic"
        }
        "hostPID" => {
            "the pod sees every process on the node, can signal or trace them, and read their \
             environment through /proc (other pods' credentials included)"
        }
        _ => "the pod shares IPC and shared memory with the node's processes",
    }
}

fn normalize_path(path: &str) -> String {
    let mut normalized = String::from("/");
    normalized.push_str(
        &path
            .split('/')
            .filter(|part| !part.is_empty() && *part != ".")
            .collect::<Vec<_>>()
            .join("/"),
    );
    normalized
}

fn host_path_risk(path: &str, writable: bool) -> (Severity, &'static str) {
    const RUNTIME_SOCKETS: &[&str] = &[
        "/var/run",
        "/run",
        "/var/run/docker.sock",
        "/run/docker.sock",
        "/var/run/containerd",
        "/run/containerd",
        "/var/run/containerd/containerd.sock",
        "/run/containerd/containerd.sock",
        "/var/run/crio",
        "/run/crio",
        "/var/run/crio/crio.sock",
        "/run/crio/crio.sock",
        "/var/run/cri-dockerd.sock",
        "/run/cri-dockerd.sock",
    ];
    /// Where the node keeps credentials, keys and other pods' data: reading is enough.
    const SECRETS: &[&str] = &[
        "/etc",
        "/root",
        "/home",
        "/proc",
        "/sys",
        "/dev",
        "/boot",
        "/var/lib/kubelet",
        "/var/lib/etcd",
        "/var/lib/docker",
        "/var/lib/containerd",
        "/var/log",
        "/srv/kubernetes",
    ];
    /// What the node runs: dangerous when writable.
    const PROGRAMS: &[&str] = &[
        "/usr",
        "/bin",
        "/sbin",
        "/lib",
        "/lib64",
        "/opt/cni",
        "/lib/modules",
    ];
    if path == "/" {
        return (
            Severity::Critical,
            "the node's whole filesystem is root access to the node",
        );
    }
    if RUNTIME_SOCKETS.contains(&path) {
        return (
            Severity::Critical,
            "a container runtime socket lets the pod start privileged containers on the node, \
             which is root on the node",
        );
    }
    let under = |prefix: &&str| path == *prefix || path.starts_with(&format!("{prefix}/"));
    if path.starts_with("/var/lib/kubelet/device-plugins") {
        return (
            Severity::High,
            "the device-plugin directory lets the pod register fake devices or talk to the GPU \
             plugin directly",
        );
    }
    if SECRETS.iter().any(under) {
        return (
            Severity::High,
            "a node directory that holds credentials, keys or other pods' data (kubelet and \
             cluster certificates, service account tokens, logs)",
        );
    }
    match (PROGRAMS.iter().any(under), writable) {
        (true, true) => (
            Severity::High,
            "writable node binaries or libraries let a compromised container replace what the \
             node runs",
        ),
        (true, false) => (
            Severity::Medium,
            "node binaries or libraries, read-only here; the mount still exposes the host to the \
             pod and breaks isolation",
        ),
        (false, true) => (
            Severity::High,
            "a writable node directory lets a compromised container plant files that the node or \
             other pods (e.g. later training jobs reading a shared cache) will use",
        ),
        (false, false) => (
            Severity::Medium,
            "a node directory, read-only here, that any pod scheduled on the node can read",
        ),
    }
}

/// Accelerator resources (GPUs, TPUs, Neuron, Gaudi) a container asks for.
struct Accelerators<'a> {
    limited: Vec<&'a str>,
    requested_without_limit: Vec<(&'a Node, &'a str)>,
}

impl<'a> Accelerators<'a> {
    fn of(container: &'a Node) -> Accelerators<'a> {
        let names = |field: &str| -> Vec<(&'a Node, &'a str)> {
            container
                .path(&["resources", field])
                .map(Node::entries)
                .unwrap_or(&[])
                .iter()
                .filter_map(|(key, _)| key.as_str().map(|name| (key, name)))
                .filter(|(_, name)| is_accelerator(name))
                .collect()
        };
        let limited: Vec<&str> = names("limits").into_iter().map(|(_, n)| n).collect();
        let requested_without_limit = names("requests")
            .into_iter()
            .filter(|(_, name)| !limited.contains(name))
            .collect();
        Accelerators {
            limited,
            requested_without_limit,
        }
    }
}

fn is_accelerator(resource: &str) -> bool {
    const VENDORS: &[&str] = &[
        "nvidia.com/",
        "amd.com/",
        "gpu.intel.com/",
        "habana.ai/",
        "aws.amazon.com/neuron",
        "google.com/tpu",
    ];
    VENDORS.iter().any(|vendor| resource.starts_with(vendor))
}

/// Every pod spec of an object, found structurally.
fn pod_specs<'a>(kind: &str, object: &'a Node) -> Vec<PodSpec<'a>> {
    let mut found = Vec::new();
    if kind == "InferenceService" {
        kserve_components(object, &mut found);
        return found;
    }
    if matches!(
        kind,
        "Workflow" | "WorkflowTemplate" | "ClusterWorkflowTemplate" | "CronWorkflow"
    ) {
        argo_templates(object, &mut found);
        return found;
    }
    collect_pod_specs(object, &mut found);
    found
}

fn containers_of<'a>(pod: &'a Node) -> Vec<Container<'a>> {
    let mut containers = Vec::new();
    for (field, ephemeral) in [
        ("initContainers", false),
        ("containers", false),
        ("ephemeralContainers", true),
    ] {
        for (index, node) in pod
            .get(field)
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            let label = node
                .get("name")
                .and_then(Node::as_str)
                .map_or_else(|| format!("{field}[{index}]"), str::to_owned);
            containers.push(Container {
                node,
                label,
                ephemeral,
            });
        }
    }
    containers
}

fn collect_pod_specs<'a>(node: &'a Node, found: &mut Vec<PodSpec<'a>>) {
    if node.is_mapping() {
        if node.get("containers").is_some_and(Node::is_sequence) {
            found.push(PodSpec {
                node,
                defaults: node.get("securityContext").into_iter().collect(),
                containers: containers_of(node),
            });
            return;
        }
        for (_, value) in node.entries() {
            collect_pod_specs(value, found);
        }
    } else {
        for item in node.items() {
            collect_pod_specs(item, found);
        }
    }
}

/// KServe components (`predictor`, `transformer`, `explainer`) are pod specs whose
/// framework fields (`sklearn: {storageUri, resources, …}`) are containers too.
fn kserve_components<'a>(object: &'a Node, found: &mut Vec<PodSpec<'a>>) {
    for (key, component) in object.get("spec").map(Node::entries).unwrap_or(&[]) {
        if !component.is_mapping() {
            continue;
        }
        let component_name = key.as_str().unwrap_or("component");
        let mut containers = containers_of(component);
        for field in KSERVE_CONTAINER_FIELDS {
            if let Some(node) = component.get(field).filter(|n| n.is_mapping()) {
                let label = node
                    .get("name")
                    .and_then(Node::as_str)
                    .map_or_else(|| format!("{component_name}.{field}"), str::to_owned);
                containers.push(Container {
                    node,
                    label,
                    ephemeral: false,
                });
            }
        }
        if !containers.is_empty() {
            found.push(PodSpec {
                node: component,
                defaults: component.get("securityContext").into_iter().collect(),
                containers,
            });
        }
    }
}

/// Argo templates hold one `container` or `script` each; the workflow's `securityContext`
/// applies to every pod.
fn argo_templates<'a>(object: &'a Node, found: &mut Vec<PodSpec<'a>>) {
    let Some(spec) = object.get("spec") else {
        return;
    };
    let spec = spec.get("workflowSpec").unwrap_or(spec);
    let workflow_context = spec.get("securityContext");
    for template in spec.get("templates").map(Node::items).unwrap_or(&[]) {
        let name = template
            .get("name")
            .and_then(Node::as_str)
            .unwrap_or("template");
        let mut containers = Vec::new();
        for field in ["container", "script"] {
            if let Some(node) = template.get(field).filter(|n| n.is_mapping()) {
                containers.push(Container {
                    node,
                    label: format!("{name}.{field}"),
                    ephemeral: false,
                });
            }
        }
        for node in template
            .path(&["containerSet", "containers"])
            .map(Node::items)
            .unwrap_or(&[])
        {
            let label = node.get("name").and_then(Node::as_str).unwrap_or(name);
            containers.push(Container {
                node,
                label: format!("{name}.{label}"),
                ephemeral: false,
            });
        }
        if containers.is_empty() {
            continue;
        }
        let defaults = template
            .get("securityContext")
            .into_iter()
            .chain(workflow_context)
            .collect();
        found.push(PodSpec {
            node: template,
            defaults,
            containers,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{findings_of, ids};

    const HARDENED: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: inference
spec:
  template:
    spec:
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
      containers:
        - name: server
          image: ghcr.io/acme/server:1.4.2@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
          securityContext:
            allowPrivilegeEscalation: false
            capabilities:
              drop: ["ALL"]
              add: ["NET_BIND_SERVICE"]
          resources:
            limits:
              memory: 16Gi
              nvidia.com/gpu: 1
          env:
            - name: HF_TOKEN
              valueFrom:
                secretKeyRef: {name: hf, key: token}
            - name: TOKENIZERS_PARALLELISM
              value: "false"
            - name: MODEL_PATH
              value: /models/llama
"#;

    fn scan_text(text: &str) -> Vec<Finding> {
        findings_of(|location, out| scan(text.as_bytes(), location, out))
    }

    fn with_container_lines(lines: &str) -> String {
        HARDENED.replace("          env:\n", &format!("{lines}          env:\n"))
    }

    #[test]
    fn hardened_deployment_has_no_findings() {
        let findings = scan_text(HARDENED);
        assert!(findings.is_empty(), "{findings:#?}");
    }

    #[test]
    fn privileged_container_is_reported_at_its_line_with_the_resource() {
        let text = HARDENED.replace(
            "            allowPrivilegeEscalation: false\n",
            "            allowPrivilegeEscalation: false\n            privileged: true\n",
        );
        let findings = scan_text(&text);
        assert_eq!(ids(&findings), ["k8s/privileged-container"]);
        let location = &findings[0].location;
        assert_eq!(location.line, Some(16));
        assert_eq!(
            location.resource.as_deref(),
            Some("Deployment/inference/server")
        );
    }

    #[test]
    fn host_namespaces_fire_only_when_true() {
        let text = HARDENED.replace(
            "      securityContext:\n        runAsNonRoot",
            "      hostNetwork: true\n      hostPID: false\n      hostIPC: yes\n      securityContext:\n        runAsNonRoot",
        );
        let findings = scan_text(&text);
        assert_eq!(ids(&findings), ["k8s/host-namespace", "k8s/host-namespace"]);
        assert!(findings[0].message.contains("hostNetwork"));
        assert!(findings[1].message.contains("hostIPC"));
    }

    #[test]
    fn host_path_severity_depends_on_the_path_and_mounts() {
        let text = HARDENED
            .replace(
                "      containers:\n",
                "      volumes:\n        - name: sock\n          hostPath: {path: /var/run/docker.sock}\n        - name: data\n          hostPath:\n            path: /mnt/datasets/\n      containers:\n",
            )
            .replace(
                "          env:\n",
                "          volumeMounts:\n            - {name: data, mountPath: /data, readOnly: true}\n          env:\n",
            );
        let findings = scan_text(&text);
        assert_eq!(
            ids(&findings),
            ["k8s/host-path-volume", "k8s/host-path-volume"]
        );
        assert_eq!(findings[0].severity, Severity::Critical);
        assert_eq!(findings[1].severity, Severity::Medium);
        assert!(findings[1].message.contains("`server` read-only"));
    }

    #[test]
    fn root_is_reported_when_not_excluded() {
        let explicit_root = HARDENED.replace("runAsUser: 10001", "runAsUser: 0");
        let findings = scan_text(&explicit_root);
        assert_eq!(ids(&findings), ["k8s/runs-as-root"]);
        assert_eq!(findings[0].severity, Severity::High);

        let unset = HARDENED.replace(
            "        runAsNonRoot: true\n        runAsUser: 10001\n",
            "        fsGroup: 1000\n",
        );
        let findings = scan_text(&unset);
        assert_eq!(ids(&findings), ["k8s/runs-as-root"]);
        assert_eq!(findings[0].severity, Severity::Medium);

        let container_override = with_container_lines("");
        assert!(scan_text(&container_override).is_empty());
    }

    #[test]
    fn privilege_escalation_explicit_or_unset_for_non_root() {
        let explicit = HARDENED.replace(
            "allowPrivilegeEscalation: false",
            "allowPrivilegeEscalation: true",
        );
        let findings = scan_text(&explicit);
        assert_eq!(ids(&findings), ["k8s/privilege-escalation"]);
        assert_eq!(findings[0].severity, Severity::Medium);
        let unset = HARDENED.replace("            allowPrivilegeEscalation: false\n", "");
        let findings = scan_text(&unset);
        assert_eq!(ids(&findings), ["k8s/privilege-escalation"]);
        assert_eq!(findings[0].severity, Severity::Low);
    }

    #[test]
    fn added_capabilities_outside_the_baseline() {
        let text = HARDENED.replace(
            "add: [\"NET_BIND_SERVICE\"]",
            "add: [\"NET_BIND_SERVICE\", \"CAP_SYS_ADMIN\", \"NET_RAW\", \"AUDIT_CONTROL\"]",
        );
        let findings = scan_text(&text);
        assert_eq!(ids(&findings), ["k8s/added-capability"; 3]);
        let severities: Vec<Severity> = findings.iter().map(|f| f.severity).collect();
        assert_eq!(
            severities,
            [Severity::High, Severity::Medium, Severity::Medium]
        );
        assert!(findings[0].message.contains("SYS_ADMIN"));
    }

    #[test]
    fn memory_limit_and_gpu_requests() {
        let text = HARDENED.replace(
            "            limits:\n              memory: 16Gi\n              nvidia.com/gpu: 1\n",
            "            requests:\n              nvidia.com/gpu: 2\n            limits:\n              cpu: 4\n",
        );
        let findings = scan_text(&text);
        assert_eq!(
            ids(&findings),
            ["k8s/missing-memory-limit", "k8s/gpu-request-without-limit"]
        );
        assert!(findings[1].message.contains("nvidia.com/gpu"));
    }

    #[test]
    fn visible_devices_without_a_gpu_limit() {
        let env = "            - name: NVIDIA_VISIBLE_DEVICES\n              value: all\n";
        let text = HARDENED.replace("          env:\n", &format!("          env:\n{env}"));
        assert!(scan_text(&text).is_empty(), "GPU limit present");
        let text = text.replace("              nvidia.com/gpu: 1\n", "");
        assert_eq!(ids(&scan_text(&text)), ["k8s/gpu-visible-devices-override"]);
    }

    #[test]
    fn literal_secrets_in_env_but_not_references_or_placeholders() {
        let env = "            - name: WANDB_API_KEY\n              value: 0123456789abcdef0123456789abcdef01234567\n            - name: DB_PASSWORD\n              value: changeme\n";
        let text = HARDENED.replace("          env:\n", &format!("          env:\n{env}"));
        let findings = scan_text(&text);
        assert_eq!(ids(&findings), ["env/hardcoded-secret"]);
        let evidence = findings[0].evidence.as_deref().unwrap();
        assert_eq!(evidence, "WANDB_API_KEY=0123… (40 characters)");
        assert!(!findings[0].message.contains("0123456789abcdef"));
    }

    #[test]
    fn images_by_tag_or_latest() {
        let text = HARDENED.replace(
            "ghcr.io/acme/server:1.4.2@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "pytorch/pytorch:latest",
        );
        let findings = scan_text(&text);
        assert_eq!(ids(&findings), ["image/unpinned"]);
        assert_eq!(findings[0].severity, Severity::Medium);
        let templated = HARDENED.replace(
            "ghcr.io/acme/server:1.4.2@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "\"{{ .Values.image }}\"",
        );
        assert!(scan_text(&templated).is_empty());
    }

    #[test]
    fn pipe_to_shell_in_container_command() {
        let text = with_container_lines(
            "          command: [\"/bin/sh\", \"-c\"]\n          args:\n            - |\n              pip install -r req.txt\n              curl -fsSL https://x/setup.sh | bash\n",
        );
        let findings = scan_text(&text);
        assert_eq!(ids(&findings), ["download/piped-to-interpreter"]);
        assert_eq!(findings[0].location.line, Some(27));
    }

    #[test]
    fn cronjob_kserve_and_argo_pod_specs_are_found() {
        let cronjob = "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: retrain}\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers:\n            - name: train\n              image: trainer:1.0\n              securityContext: {privileged: true}\n";
        let findings = scan_text(cronjob);
        assert!(ids(&findings).contains(&"k8s/privileged-container"));
        assert_eq!(
            findings[0].location.resource.as_deref(),
            Some("CronJob/retrain/train")
        );

        let kserve = "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: iris}\nspec:\n  predictor:\n    securityContext: {runAsNonRoot: true}\n    sklearn:\n      storageUri: gs://models/iris\n      resources: {limits: {memory: 1Gi}}\n      securityContext: {allowPrivilegeEscalation: false}\n      env:\n        - {name: AWS_SECRET_ACCESS_KEY, value: wJalrXUtnFEMIK7MDENGbPxRfiCYzzzKEY}\n";
        let findings = scan_text(kserve);
        assert_eq!(ids(&findings), ["env/hardcoded-secret"]);
        assert_eq!(
            findings[0].location.resource.as_deref(),
            Some("InferenceService/iris/predictor.sklearn")
        );

        let argo = "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {generateName: train-}\nspec:\n  securityContext: {runAsNonRoot: true}\n  templates:\n    - name: fetch\n      container:\n        image: alpine:3.20\n        command: [sh, -c, \"wget -qO- https://x | sh\"]\n        resources: {limits: {memory: 1Gi}}\n        securityContext: {allowPrivilegeEscalation: false}\n";
        let findings = scan_text(argo);
        assert_eq!(
            ids(&findings),
            ["download/piped-to-interpreter", "image/unpinned"]
        );
        assert_eq!(
            findings[0].location.resource.as_deref(),
            Some("Workflow/train-*/fetch.container")
        );
    }

    #[test]
    fn secrets_rbac_and_bindings() {
        let text = "apiVersion: v1\nkind: Secret\nmetadata: {name: creds}\ndata:\n  token: aGZfeHh4\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: empty}\nstringData:\n  token: \"\"\n  url: changeme\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: reader}\nrules:\n  - apiGroups: [\"\"]\n    resources: [\"*\"]\n    verbs: [get, list]\n  - apiGroups: [\"*\"]\n    resources: [pods]\n    verbs: [get]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: admin}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\nsubjects:\n  - {kind: ServiceAccount, name: pipeline, namespace: ml}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: view}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}\n";
        let findings = scan_text(text);
        assert_eq!(
            ids(&findings),
            [
                "k8s/secret-data-in-manifest",
                "k8s/rbac-wildcard",
                "k8s/cluster-admin-binding"
            ]
        );
        assert_eq!(findings[0].location.line, Some(5));
        assert_eq!(findings[1].location.line, Some(19));
        assert!(findings[2].message.contains("ServiceAccount ml/pipeline"));
    }

    #[test]
    fn admission_policies_are_patterns_not_pods() {
        let text = "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: no-latest}\nspec:\n  rules:\n    - name: r\n      validate:\n        pattern:\n          spec:\n            containers:\n              - image: \"!*:latest\"\n                securityContext: {privileged: \"false\"}\n";
        assert!(scan_text(text).is_empty());
        let pod = text.replace("kyverno.io/v1", "v1");
        assert!(!scan_text(&pod).is_empty());
    }

    #[test]
    fn lists_are_expanded() {
        let text = "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Pod\n    metadata: {name: p}\n    spec:\n      hostPID: true\n      securityContext: {runAsNonRoot: true}\n      containers:\n        - name: c\n          image: x@sha256:0000000000000000000000000000000000000000000000000000000000000000\n          resources: {limits: {memory: 1Gi}}\n          securityContext: {allowPrivilegeEscalation: false}\n";
        assert_eq!(ids(&scan_text(text)), ["k8s/host-namespace"]);
    }

    #[test]
    fn helm_templates_and_broken_yaml() {
        let helm = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ include \"x\" . }}\nspec:\n  replicas: {{ .Values.replicas }}\n  template:\n    spec:\n      containers:\n        resources:\n          {{- toYaml .Values.resources | nindent 12 }}\n";
        let findings = scan_text(helm);
        assert_eq!(ids(&findings), ["k8s/unrendered-template"]);
        assert_eq!(findings[0].severity, Severity::Info);

        let broken = format!("{HARDENED}---\nkind: Pod\n  bad: [\n");
        let findings = scan_text(&broken);
        assert_eq!(ids(&findings), ["scan/malformed"]);
        assert!(findings[0].location.line.unwrap() > HARDENED.lines().count() as u32);
    }

    #[test]
    fn duplicate_keys_fail_closed_and_the_last_value_is_checked() {
        let text = HARDENED.replace(
            "            allowPrivilegeEscalation: false\n",
            "            privileged: false\n            allowPrivilegeEscalation: false\n            privileged: true\n",
        );
        let findings = scan_text(&text);
        assert_eq!(
            ids(&findings),
            ["scan/malformed", "k8s/privileged-container"]
        );
        assert!(findings[0].message.contains("`privileged`"));
    }
}
