//! GitHub Actions workflows (`.github/workflows/*.yml`): unpinned actions, privileged
//! triggers that run pull request code, `${{ }}` injection into scripts, token permissions,
//! secrets printed or hard-coded, and the download checks on every `run:` script.
//!
//! Expressions are matched, never evaluated. Findings about a step carry `job.step` (the
//! step's `id`, else its `name`, else `steps[i]`) as their resource.

use rampart_core::{Finding, Location, Severity};

use crate::ci::{self, Script};
use crate::credentials::{is_literal_secret, is_secret_name, redact};
use crate::text::{LineMap, Lines};
use crate::yaml::{self, Node};
use crate::{decode, dedupe, image, report_load_problems, rules};

/// Triggers that run with the base repository's secrets and a write token on events anyone
/// can cause.
const PRIVILEGED_TRIGGERS: &[&str] = &["pull_request_target", "workflow_run"];

/// Triggers whose event payload outsiders write (titles, bodies, comments, branch names).
const OUTSIDER_TRIGGERS: &[&str] = &[
    "pull_request_target",
    "workflow_run",
    "issue_comment",
    "issues",
    "discussion",
    "discussion_comment",
];

/// Owners whose actions GitHub maintains; tag references to them are accepted (see the
/// rule's description).
const FIRST_PARTY_OWNERS: &[&str] = &["actions", "github"];

/// `with.ref` / `with.repository` values that select the pull request's code.
const UNTRUSTED_REFS: &[&str] = &[
    "github.event.pull_request.head.sha",
    "github.event.pull_request.head.ref",
    "github.event.pull_request.merge_commit_sha",
    "github.event.pull_request.head.repo.full_name",
    "github.head_ref",
    "github.event.number",
    "github.event.pull_request.number",
    "refs/pull/",
    "github.event.workflow_run.head_sha",
    "github.event.workflow_run.head_branch",
    "github.event.workflow_run.head_commit.id",
    "github.event.workflow_run.head_repository.full_name",
];

/// Scans a workflow file.
pub fn scan(data: &[u8], location: &Location, out: &mut Vec<Finding>) {
    let Some(source) = decode(data, location, "GitHub Actions workflow", out) else {
        return;
    };
    let stream = yaml::load(source);
    report_load_problems(&stream, location, "GitHub Actions workflow", out);
    let start = out.len();
    let lines = Lines::new(source);
    for document in &stream.documents {
        Workflow::new(document, &lines, location).check(out);
    }
    dedupe(out, start);
}

struct Workflow<'a> {
    root: &'a Node,
    source: &'a Lines<'a>,
    location: &'a Location,
    triggers: Vec<&'a str>,
}

/// Names of environment variables that hold secrets, per scope.
#[derive(Clone, Default)]
struct SecretEnvironment {
    names: Vec<String>,
}

impl SecretEnvironment {
    fn with(&self, env: Option<&Node>) -> SecretEnvironment {
        let mut names = self.names.clone();
        for (key, value) in env.map(Node::entries).unwrap_or(&[]) {
            let (Some(name), Some(text)) = (key.as_str(), value.as_str()) else {
                continue;
            };
            if secret_in_expression(text).is_some() {
                names.push(name.to_owned());
            }
        }
        SecretEnvironment { names }
    }
}

impl<'a> Workflow<'a> {
    fn new(root: &'a Node, source: &'a Lines<'a>, location: &'a Location) -> Workflow<'a> {
        let triggers = match root.get("on") {
            Some(on) => match on.as_str() {
                Some(single) => vec![single],
                None if on.is_sequence() => on.items().iter().filter_map(Node::as_str).collect(),
                None => on
                    .entries()
                    .iter()
                    .filter_map(|(k, _)| k.as_str())
                    .collect(),
            },
            None => Vec::new(),
        };
        Workflow {
            root,
            source,
            location,
            triggers,
        }
    }

    fn at(&self, node: &Node, resource: &str) -> Location {
        let location = self.location.at_line(node.line, Some(node.column));
        if resource.is_empty() {
            location
        } else {
            location.with_resource(resource)
        }
    }

    fn privileged_trigger(&self) -> Option<&'a str> {
        self.triggers
            .iter()
            .copied()
            .find(|t| PRIVILEGED_TRIGGERS.contains(t))
    }

    fn check(&self, out: &mut Vec<Finding>) {
        if !self.root.is_mapping() {
            return;
        }
        self.permissions(out);
        let env = self.root.get("env");
        let workflow_secrets = SecretEnvironment::default().with(env);
        if let Some(env) = env {
            self.variables(env, "", out);
        }
        for (key, job) in self.root.get("jobs").map(Node::entries).unwrap_or(&[]) {
            let Some(job_id) = key.as_str() else {
                continue;
            };
            self.job(job_id, job, &workflow_secrets, out);
        }
    }

    fn permissions(&self, out: &mut Vec<Finding>) {
        let jobs = self.root.get("jobs").map(Node::entries).unwrap_or(&[]);
        let mut write_all: Vec<(&Node, String)> = Vec::new();
        if let Some(value) = self
            .root
            .get("permissions")
            .filter(|v| v.as_str() == Some("write-all"))
        {
            write_all.push((value, String::new()));
        }
        for (key, job) in jobs {
            if let Some(value) = job
                .get("permissions")
                .filter(|v| v.as_str() == Some("write-all"))
            {
                write_all.push((value, key.as_str().unwrap_or("").to_owned()));
            }
        }
        for (node, job) in write_all {
            let scope = if job.is_empty() {
                "every job of the workflow".to_owned()
            } else {
                format!("job `{job}`")
            };
            out.push(Finding::new(
                &rules::GHA_PERMISSIONS_WRITE_ALL,
                self.at(node, &job),
                format!(
                    "`permissions: write-all` gives {scope} a token that can push code, publish \
                     packages and change releases"
                ),
            ));
        }
        let only_called =
            !self.triggers.is_empty() && self.triggers.iter().all(|t| *t == "workflow_call");
        if self.root.get("permissions").is_some() || only_called {
            return;
        }
        let undeclared: Vec<&str> = jobs
            .iter()
            .filter(|(_, job)| job.get("permissions").is_none())
            .filter_map(|(key, _)| key.as_str())
            .collect();
        if undeclared.is_empty() {
            return;
        }
        let anchor = self.root.entry("on").map_or(self.root, |(key, _)| key);
        let (severity, consequence) = match self.privileged_trigger() {
            Some(trigger) => (
                Severity::Medium,
                format!("on `{trigger}` the token can write to the repository"),
            ),
            None => (
                Severity::Low,
                "the token gets the repository's default permissions, read-write on older \
                 repositories and many organisations"
                    .to_owned(),
            ),
        };
        out.push(
            Finding::new(
                &rules::GHA_PERMISSIONS_UNDECLARED,
                self.at(anchor, ""),
                format!(
                    "The workflow declares no top-level `permissions`, and neither do the jobs {}: \
                     {consequence}",
                    quoted_list(&undeclared)
                ),
            )
            .with_severity(severity),
        );
    }

    fn variables(&self, env: &Node, resource: &str, out: &mut Vec<Finding>) {
        ci::check_variables(
            env,
            self.location,
            resource,
            "Store the value as an encrypted secret (repository, environment or organisation \
             settings) and reference it: `NAME: ${{ secrets.NAME }}`. Rotate the exposed value.",
            out,
        );
    }

    fn job(&self, job_id: &str, job: &Node, inherited: &SecretEnvironment, out: &mut Vec<Finding>) {
        if let Some(uses) = job.get("uses") {
            self.uses(uses, job_id, out);
        }
        self.images(job, job_id, out);
        let env = job.get("env");
        if let Some(env) = env {
            self.variables(env, job_id, out);
        }
        let job_secrets = inherited.with(env);
        let steps = job.get("steps").map(Node::items).unwrap_or(&[]);
        let labels: Vec<String> = steps
            .iter()
            .enumerate()
            .map(|(index, step)| {
                let label = step
                    .get("id")
                    .or_else(|| step.get("name"))
                    .and_then(Node::as_str)
                    .map_or_else(|| format!("steps[{index}]"), str::to_owned);
                format!("{job_id}.{label}")
            })
            .collect();
        for (step, label) in steps.iter().zip(&labels) {
            self.step(step, label, &job_secrets, out);
        }
        self.untrusted_checkout(job, steps, &labels, out);
    }

    fn images(&self, job: &Node, job_id: &str, out: &mut Vec<Finding>) {
        if let Some(container) = job.get("container") {
            let image = container.get("image").unwrap_or(container);
            if let Some(reference) = image.as_str() {
                image::check(
                    reference,
                    &format!("job `{job_id}`"),
                    self.at(image, job_id),
                    out,
                );
            }
            if let Some(credentials) = container.get("credentials") {
                self.variables(credentials, job_id, out);
            }
        }
        for (name, service) in job.get("services").map(Node::entries).unwrap_or(&[]) {
            let image = service.get("image").unwrap_or(service);
            if let (Some(reference), Some(name)) = (image.as_str(), name.as_str()) {
                image::check(
                    reference,
                    &format!("service `{name}` of job `{job_id}`"),
                    self.at(image, job_id),
                    out,
                );
            }
        }
    }

    fn step(
        &self,
        step: &Node,
        label: &str,
        inherited: &SecretEnvironment,
        out: &mut Vec<Finding>,
    ) {
        if let Some(uses) = step.get("uses") {
            self.uses(uses, label, out);
        }
        let env = step.get("env");
        if let Some(env) = env {
            self.variables(env, label, out);
        }
        let secrets = inherited.with(env);
        if let Some(with) = step.get("with") {
            self.inputs(with, label, out);
            let github_script = step
                .get("uses")
                .and_then(Node::as_str)
                .is_some_and(|u| u.to_ascii_lowercase().starts_with("actions/github-script@"));
            if let Some(script) = with.get("script").filter(|_| github_script) {
                self.injection(script, label, out);
            }
        }
        let Some(run) = step.get("run") else {
            return;
        };
        self.injection(run, label, out);
        let Some(script) = Script::of(run, self.source) else {
            return;
        };
        let secret = |word: &str| -> Option<String> {
            secret_in_expression(word).or_else(|| {
                ci::variable_references(word)
                    .into_iter()
                    .find(|name| secrets.names.iter().any(|n| n == name))
                    .map(str::to_owned)
            })
        };
        ci::check_script(
            &script,
            self.location,
            label,
            &secret,
            !secrets.names.is_empty(),
            out,
        );
        self.all_secrets(&script, label, out);
    }

    /// `with:` inputs named like credentials that get literal values.
    fn inputs(&self, with: &Node, label: &str, out: &mut Vec<Finding>) {
        for (key, value) in with.entries() {
            let (Some(name), Some(text)) = (key.as_str(), value.as_str()) else {
                continue;
            };
            if is_secret_name(name) && is_literal_secret(text) {
                out.push(
                    Finding::new(
                        &rules::ENV_HARDCODED_SECRET,
                        self.at(value, label),
                        format!(
                            "The input `{name}` is given a literal credential in the workflow: \
                             everyone who can read the repository has it"
                        ),
                    )
                    .with_evidence(format!("{name}: {}", redact(text)))
                    .with_fix(format!(
                        "Store it as an encrypted secret and pass `{name}: ${{{{ secrets.NAME }}}}`; \
                         rotate the exposed value."
                    )),
                );
            }
        }
    }

    /// `${{ toJSON(secrets) }}` puts every secret of the repository into the script.
    fn all_secrets(&self, script: &Script<'_>, label: &str, out: &mut Vec<Finding>) {
        for (offset, expression) in expressions(script.text) {
            let compact: String = expression
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>()
                .to_ascii_lowercase();
            if compact.contains("tojson(secrets)") {
                out.push(
                    Finding::new(
                        &rules::CI_SECRET_ECHOED,
                        script.at(offset, self.location, label),
                        "`toJSON(secrets)` expands every secret available to the workflow into \
                         the script, as one multi-line JSON value that log masking does not \
                         recognise",
                    )
                    .with_severity(Severity::High)
                    .with_evidence(format!("${{{{ {expression} }}}}")),
                );
            }
        }
    }

    fn injection(&self, script: &Node, label: &str, out: &mut Vec<Finding>) {
        let Some(text) = script.as_str() else {
            return;
        };
        let map = LineMap::of_scalar(script, self.source);
        let outsider = self
            .triggers
            .iter()
            .copied()
            .find(|t| OUTSIDER_TRIGGERS.contains(t));
        for (offset, expression) in expressions(text) {
            let Some(context) = attacker_controlled(&expression) else {
                continue;
            };
            let (line, column) = map.position(offset);
            let (severity, reach) = match outsider {
                Some(trigger) => (
                    Severity::Critical,
                    format!(
                        "on `{trigger}` anyone can set it, and the script runs with the \
                         repository's secrets"
                    ),
                ),
                None => (
                    Severity::High,
                    "whoever writes that text controls the script".to_owned(),
                ),
            };
            out.push(
                Finding::new(
                    &rules::GHA_SCRIPT_INJECTION,
                    self.location
                        .at_line(line, Some(column))
                        .with_resource(label),
                    format!(
                        "`${{{{ {expression} }}}}` pastes `{context}` into the script before it \
                         runs: {reach}"
                    ),
                )
                .with_severity(severity)
                .with_evidence(format!("${{{{ {expression} }}}}"))
                .with_fix(format!(
                    "Pass it through the environment and quote it:\nenv:\n  UNTRUSTED: ${{{{ \
                     {expression} }}}}\nrun: echo \"$UNTRUSTED\""
                )),
            );
        }
    }

    fn uses(&self, node: &Node, resource: &str, out: &mut Vec<Finding>) {
        let Some(reference) = node.as_str() else {
            return;
        };
        let reference = reference.trim();
        if reference.starts_with("./") || reference.starts_with("../") {
            return;
        }
        if reference.starts_with("docker://") {
            image::check(
                reference.trim_start_matches("docker://"),
                &format!("step `{resource}`"),
                self.at(node, resource),
                out,
            );
            return;
        }
        let (path, git_ref) = match reference.split_once('@') {
            Some((path, git_ref)) => (path, Some(git_ref)),
            None => (reference, None),
        };
        let owner = path.split('/').next().unwrap_or("").to_ascii_lowercase();
        if FIRST_PARTY_OWNERS.contains(&owner.as_str()) {
            return;
        }
        let (severity, what) = match git_ref {
            Some(r) if is_commit_sha(r) => return,
            Some(r) if is_branch_like(r) => (
                Severity::High,
                format!("the branch `{r}`, which changes with every push to it"),
            ),
            Some(r) => (
                Severity::Medium,
                format!(
                    "`{r}`, a tag or branch its owner (or whoever takes over the account) can move"
                ),
            ),
            None => (
                Severity::High,
                "no ref at all (GitHub rejects it; whatever is added will be mutable unless it is \
                 a commit SHA)"
                    .to_owned(),
            ),
        };
        out.push(
            Finding::new(
                &rules::GHA_UNPINNED_ACTION,
                self.at(node, resource),
                format!("`{path}` is referenced by {what}: its code runs with this job's token and secrets"),
            )
            .with_severity(severity)
            .with_evidence(reference.to_owned())
            .with_fix(format!(
                "uses: {path}@<full commit SHA> # {}",
                git_ref.unwrap_or("<version>")
            )),
        );
    }

    fn untrusted_checkout(
        &self,
        job: &Node,
        steps: &[Node],
        labels: &[String],
        out: &mut Vec<Finding>,
    ) {
        let Some(trigger) = self.privileged_trigger() else {
            return;
        };
        if job
            .get("if")
            .and_then(Node::as_str)
            .is_some_and(is_same_repository_guard)
        {
            return;
        }
        for (index, step) in steps.iter().enumerate() {
            if step
                .get("if")
                .and_then(Node::as_str)
                .is_some_and(is_same_repository_guard)
            {
                continue;
            }
            let Some((node, what)) = untrusted_checkout_step(step) else {
                continue;
            };
            let runner = steps
                .iter()
                .zip(labels)
                .skip(index + 1)
                .find(|(s, _)| executes_checkout(s));
            let label = labels.get(index).map_or("", String::as_str);
            let (severity, consequence) = match runner {
                Some((_, runner_label)) => (
                    Severity::Critical,
                    format!(
                        "step `{runner_label}` then runs code from it with the workflow's secrets \
                         and write token"
                    ),
                ),
                None => (
                    Severity::High,
                    "no later step in this job visibly runs it, but any build, install or test \
                     step added later (or a tool that reads config from the tree) would"
                        .to_owned(),
                ),
            };
            out.push(
                Finding::new(
                    &rules::GHA_UNTRUSTED_CHECKOUT,
                    self.at(node, label),
                    format!(
                        "On `{trigger}`, {what} checks out the pull request's code (anyone can \
                         open one from a fork); {consequence}"
                    ),
                )
                .with_severity(severity),
            );
            return;
        }
    }
}

/// The step's node that selects untrusted code, and a description, when it checks out the
/// pull request head.
fn untrusted_checkout_step(step: &Node) -> Option<(&Node, &'static str)> {
    let uses = step.get("uses").and_then(Node::as_str).unwrap_or("");
    if uses.to_ascii_lowercase().starts_with("actions/checkout@") {
        let with = step.get("with")?;
        for field in ["ref", "repository"] {
            if let Some(value) = with.get(field).filter(|v| {
                v.as_str()
                    .is_some_and(|t| UNTRUSTED_REFS.iter().any(|u| t.contains(u)))
            }) {
                return Some((value, "actions/checkout"));
            }
        }
        return None;
    }
    let run = step.get("run")?;
    let text = run.as_str()?;
    let fetches_pr = text.contains("gh pr checkout")
        || (text.contains("git fetch") && text.contains("pull/"))
        || (text.contains("git checkout") && UNTRUSTED_REFS.iter().any(|u| text.contains(u)));
    fetches_pr.then_some((run, "a `run:` step"))
}

/// Steps that execute what was checked out.
fn executes_checkout(step: &Node) -> bool {
    if step.get("run").is_some() {
        return true;
    }
    step.get("uses").and_then(Node::as_str).is_some_and(|u| {
        let lower = u.to_ascii_lowercase();
        lower.starts_with("./") || lower.starts_with("docker/build-push-action@")
    })
}

fn is_same_repository_guard(condition: &str) -> bool {
    (condition.contains("head.repo.full_name") && condition.contains("github.repository"))
        || (condition.contains("head_repository.full_name")
            && condition.contains("github.repository"))
        || condition.contains("head.repo.fork")
}

fn is_commit_sha(git_ref: &str) -> bool {
    matches!(git_ref.len(), 40 | 64) && git_ref.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_branch_like(git_ref: &str) -> bool {
    matches!(
        git_ref.to_ascii_lowercase().as_str(),
        "main" | "master" | "develop" | "dev" | "trunk" | "latest" | "head" | "nightly"
    )
}

/// `${{ … }}` expressions of a text: (offset of `${{`, inner text trimmed).
fn expressions(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(start) = text
        .get(from..)
        .and_then(|t| t.find("${{"))
        .map(|i| i + from)
    {
        let inner_start = start + 3;
        let Some(end) = text.get(inner_start..).and_then(|t| t.find("}}")) else {
            break;
        };
        let inner = text.get(inner_start..inner_start + end).unwrap_or("");
        found.push((start, inner.trim().to_owned()));
        from = inner_start + end + 2;
    }
    found
}

/// The secret an expression (or a word containing one) reads: `secrets.NAME`, or the
/// token.
fn secret_in_expression(text: &str) -> Option<String> {
    expressions(text).into_iter().find_map(|(_, expression)| {
        let lower = expression.to_ascii_lowercase();
        if let Some(at) = lower.find("secrets.") {
            let name: String = expression
                .get(at + "secrets.".len()..)
                .unwrap_or("")
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            return Some(name);
        }
        (lower.contains("github.token") || lower.contains("secrets["))
            .then(|| "GITHUB_TOKEN".to_owned())
    })
}

/// The outsider-controlled context an expression reads, if any.
fn attacker_controlled(expression: &str) -> Option<String> {
    let lower = expression.to_ascii_lowercase();
    if lower.contains("github.head_ref") {
        return Some("github.head_ref".to_owned());
    }
    let compact: String = lower.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.contains("tojson(github.event)") || compact.contains("tojson(github)") {
        return Some("github.event".to_owned());
    }
    let mut rest = lower.as_str();
    while let Some(at) = rest.find("github.event.") {
        let path: String = rest
            .get(at..)
            .unwrap_or("")
            .chars()
            .take_while(|c| {
                c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '*' | '[' | ']' | '-')
            })
            .collect();
        if is_tainted_path(&path) {
            return Some(path);
        }
        rest = rest.get(at + path.len().max(1)..).unwrap_or("");
    }
    None
}

fn is_tainted_path(path: &str) -> bool {
    let segments: Vec<&str> = path.split('.').collect();
    let Some(last) = segments.last() else {
        return false;
    };
    let under = |parent: &str| segments.contains(&parent);
    match *last {
        "title" | "body" | "message" | "page_name" | "default_branch" | "head_branch"
        | "display_title" => true,
        "ref" | "label" => under("head"),
        "name" | "email" => under("author") || under("committer"),
        _ => false,
    }
}

fn quoted_list(items: &[&str]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{findings_of, ids};

    const SHA: &str = "11bd71901bbe5b1630ceea73d27597364c9af683";

    fn scan_text(text: &str) -> Vec<Finding> {
        findings_of(|location, out| scan(text.as_bytes(), location, out))
    }

    fn good() -> String {
        format!(
            r#"name: train
on:
  pull_request:
  push:
    branches: [main]
permissions:
  contents: read
env:
  HF_HOME: /cache
jobs:
  test:
    runs-on: ubuntu-latest
    container:
      image: ghcr.io/acme/ci@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
    env:
      HF_TOKEN: ${{{{ secrets.HF_TOKEN }}}}
    steps:
      - uses: actions/checkout@v4
      - uses: astral-sh/setup-uv@{SHA} # v6
      - name: Train
        env:
          TITLE: ${{{{ github.event.pull_request.title }}}}
        run: |
          uv sync --locked
          echo "PR: $TITLE (#${{{{ github.event.number }}}})"
          echo "$HF_TOKEN" | huggingface-cli login --token-stdin
          uv run pytest
"#
        )
    }

    #[test]
    fn a_careful_workflow_has_no_findings() {
        let findings = scan_text(&good());
        assert!(findings.is_empty(), "{findings:#?}");
    }

    #[test]
    fn third_party_actions_by_tag_or_branch() {
        let text = good()
            .replace(&format!("astral-sh/setup-uv@{SHA}"), "astral-sh/setup-uv@v6")
            .replace(
                "      - uses: actions/checkout@v4\n",
                "      - uses: actions/checkout@v4\n      - uses: some/action@main\n      - uses: docker://alpine:3.20\n",
            );
        let findings = scan_text(&text);
        assert_eq!(
            ids(&findings),
            [
                "gha/unpinned-action",
                "image/unpinned",
                "gha/unpinned-action"
            ]
        );
        assert_eq!(findings[0].severity, Severity::High);
        assert_eq!(findings[0].location.line, Some(19));
        assert_eq!(
            findings[0].location.resource.as_deref(),
            Some("test.steps[1]")
        );
        assert_eq!(findings[2].severity, Severity::Medium);
    }

    #[test]
    fn script_injection_from_event_text() {
        let text = good().replace(
            "          uv run pytest\n",
            "          uv run pytest\n          echo \"${{ github.event.pull_request.title }}\" ${{ github.event.pull_request.head.sha }}\n",
        );
        let findings = scan_text(&text);
        assert_eq!(ids(&findings), ["gha/script-injection"]);
        assert_eq!(findings[0].severity, Severity::High);
        assert_eq!(findings[0].location.line, Some(28));
        assert_eq!(findings[0].location.column, Some(17));
        assert_eq!(findings[0].location.resource.as_deref(), Some("test.Train"));
    }

    #[test]
    fn injection_is_critical_on_outsider_triggers_and_found_in_github_script() {
        let text = "on: issue_comment\npermissions: {contents: read}\njobs:\n  triage:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/github-script@v7\n        with:\n          script: |\n            const body = `${{ github.event.comment.body }}`\n";
        let findings = scan_text(text);
        assert_eq!(ids(&findings), ["gha/script-injection"]);
        assert_eq!(findings[0].severity, Severity::Critical);
        assert_eq!(findings[0].location.line, Some(10));
    }

    #[test]
    fn pull_request_target_checkout_of_the_head_then_build() {
        let text = "on: pull_request_target\npermissions: {contents: read}\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n        with:\n          ref: ${{ github.event.pull_request.head.sha }}\n      - run: make test\n".to_owned();
        let findings = scan_text(&text);
        assert_eq!(ids(&findings), ["gha/untrusted-checkout"]);
        assert_eq!(findings[0].severity, Severity::Critical);
        assert_eq!(findings[0].location.line, Some(9));
        let guarded = text.replace(
            "    runs-on: ubuntu-latest\n",
            "    runs-on: ubuntu-latest\n    if: github.event.pull_request.head.repo.full_name == github.repository\n",
        );
        assert!(scan_text(&guarded).is_empty());
        let base_only = text.replace(
            "        with:\n          ref: ${{ github.event.pull_request.head.sha }}\n",
            "",
        );
        assert!(scan_text(&base_only).is_empty());
    }

    #[test]
    fn permissions_write_all_and_undeclared() {
        let text = good().replace(
            "permissions:\n  contents: read\n",
            "permissions: write-all\n",
        );
        let findings = scan_text(&text);
        assert_eq!(ids(&findings), ["gha/permissions-write-all"]);
        let text = good().replace("permissions:\n  contents: read\n", "");
        let findings = scan_text(&text);
        assert_eq!(ids(&findings), ["gha/permissions-undeclared"]);
        assert_eq!(findings[0].severity, Severity::Low);
        assert_eq!(findings[0].location.line, Some(2));
        let job_level = text.replace(
            "    runs-on: ubuntu-latest\n",
            "    runs-on: ubuntu-latest\n    permissions: {contents: read}\n",
        );
        assert!(scan_text(&job_level).is_empty());
    }

    #[test]
    fn secrets_printed_dumped_or_hard_coded() {
        let text = good().replace(
            "          uv run pytest\n",
            "          uv run pytest\n          echo $HF_TOKEN | base64\n          echo ${{ secrets.WANDB_API_KEY }}\n          env\n          echo '${{ toJSON(secrets) }}' > /dev/null\n",
        );
        let findings = scan_text(&text);
        assert_eq!(
            ids(&findings),
            [
                "ci/secret-printed",
                "ci/secret-printed",
                "ci/secret-printed",
                "ci/secret-printed"
            ],
            "{findings:#?}"
        );
        let severities: Vec<Severity> = findings.iter().map(|f| f.severity).collect();
        assert_eq!(
            severities,
            [
                Severity::High,
                Severity::Medium,
                Severity::Medium,
                Severity::High
            ]
        );

        let text = good().replace(
            "      HF_TOKEN: ${{ secrets.HF_TOKEN }}\n",
            "      HF_TOKEN: hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567\n",
        );
        let findings = scan_text(&text);
        assert_eq!(ids(&findings), ["env/hardcoded-secret"]);
        assert_eq!(findings[0].location.resource.as_deref(), Some("test"));
    }

    #[test]
    fn downloads_in_run_scripts() {
        let text = good().replace(
            "          uv sync --locked\n",
            "          curl -LsSf https://astral.sh/uv/install.sh | sh\n          pip install --extra-index-url https://download.pytorch.org/whl/cu121 torch\n",
        );
        let findings = scan_text(&text);
        assert_eq!(
            ids(&findings),
            [
                "download/piped-to-interpreter",
                "download/pip-extra-index-url"
            ]
        );
        assert_eq!(findings[0].location.line, Some(24));
    }

    #[test]
    fn tainted_contexts() {
        for expression in [
            "github.event.issue.title",
            "github.event.pull_request.body",
            "github.event.comment.body",
            "github.event.pull_request.head.ref",
            "github.event.head_commit.message",
            "github.event.commits[0].author.email",
            "github.head_ref",
            "toJSON(github.event)",
            "github.event.workflow_run.head_branch",
        ] {
            assert!(attacker_controlled(expression).is_some(), "{expression}");
        }
        for expression in [
            "github.event.pull_request.head.sha",
            "github.event.number",
            "github.event.pull_request.user.login",
            "github.ref",
            "github.event.repository.name",
            "secrets.TOKEN",
        ] {
            assert!(attacker_controlled(expression).is_none(), "{expression}");
        }
    }
}
