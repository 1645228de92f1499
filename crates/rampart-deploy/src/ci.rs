//! What GitHub Actions and GitLab CI scripts have in common: the download checks of
//! [`shell`], secrets printed to the job log, and hard-coded credentials in variables.

use rampart_core::{Finding, Location, Severity};

use crate::credentials::{is_literal_secret, is_secret_name, redact};
use crate::rules;
use crate::shell::{self, Pipeline};
use crate::text::{LineMap, Lines, excerpt};
use crate::yaml::Node;

/// Programs whose arguments end up in the log.
const PRINTERS: &[&str] = &["echo", "printf", "print", "write-host", "write-output"];

/// Programs that pass their input on to the log, transformed or not.
const PASS_THROUGH: &[&str] = &[
    "base64", "xxd", "od", "hexdump", "rev", "tr", "sed", "awk", "cut", "tee", "cat", "openssl",
    "sort", "fold",
];

/// A script in a pipeline file and how to point at positions inside it.
pub(crate) struct Script<'a> {
    pub(crate) text: &'a str,
    pub(crate) map: LineMap,
}

impl<'a> Script<'a> {
    pub(crate) fn of(node: &'a Node, source: &Lines<'_>) -> Option<Script<'a>> {
        let text = node.as_str()?;
        Some(Script {
            text,
            map: LineMap::of_scalar(node, source),
        })
    }

    pub(crate) fn at(&self, offset: usize, location: &Location, resource: &str) -> Location {
        let (line, column) = self.map.position(offset);
        location.at_line(line, Some(column)).with_resource(resource)
    }
}

/// What counts as a secret in a script: given a word, the name of the secret it expands.
pub(crate) type SecretReference<'f> = &'f dyn Fn(&str) -> Option<String>;

/// Runs every script check: downloads, printed secrets, environment dumps (when
/// `environment_has_secrets`).
pub(crate) fn check_script(
    script: &Script<'_>,
    location: &Location,
    resource: &str,
    secret: SecretReference<'_>,
    environment_has_secrets: bool,
    out: &mut Vec<Finding>,
) {
    for issue in shell::check(script.text) {
        out.push(
            Finding::new(
                issue.rule,
                script.at(issue.offset, location, resource),
                issue.message,
            )
            .with_evidence(issue.evidence),
        );
    }
    for pipeline in shell::parse(script.text) {
        printed_secret(script, &pipeline, location, resource, secret, out);
        if environment_has_secrets {
            environment_dump(script, &pipeline, location, resource, out);
        }
    }
}

fn printed_secret(
    script: &Script<'_>,
    pipeline: &Pipeline,
    location: &Location,
    resource: &str,
    secret: SecretReference<'_>,
    out: &mut Vec<Finding>,
) {
    let Some(first) = pipeline.first() else {
        return;
    };
    let Some((_, program)) = first.program() else {
        return;
    };
    if !PRINTERS.contains(&program.as_str()) {
        return;
    }
    let arguments = first.arguments();
    if arguments.iter().any(|w| w.text.contains("::add-mask::")) {
        return;
    }
    // The raw text, not the words: `${{ secrets.X }}` is replaced before the shell splits it.
    let Some(name) = secret(first.raw(script.text)) else {
        return;
    };
    let rest = pipeline.get(1..).unwrap_or(&[]);
    let to_log = match rest.last() {
        None => !first.redirects_to_file(),
        Some(last) => {
            rest.iter().all(|c| {
                c.program()
                    .is_some_and(|(_, p)| PASS_THROUGH.contains(&p.as_str()))
            }) && !last.redirects_to_file()
        }
    };
    if !to_log {
        return;
    }
    let (severity, how) = if rest.is_empty() {
        (
            Severity::Medium,
            "the log masks the exact value, but not a substring, a multi-line value or a value \
             the tool reformats",
        )
    } else {
        (
            Severity::High,
            "piped through a transformation first, so log masking does not recognise it",
        )
    };
    let end = pipeline.last().map_or(first.end, |c| c.end);
    out.push(
        Finding::new(
            &rules::CI_SECRET_ECHOED,
            script.at(first.start, location, resource),
            format!("`{program}` prints the secret `{name}` to the job log: {how}"),
        )
        .with_severity(severity)
        .with_evidence(excerpt(script.text.get(first.start..end).unwrap_or(""))),
    );
}

fn environment_dump(
    script: &Script<'_>,
    pipeline: &Pipeline,
    location: &Location,
    resource: &str,
    out: &mut Vec<Finding>,
) {
    let Some(first) = pipeline.first() else {
        return;
    };
    let Some((_, program)) = first.program() else {
        return;
    };
    let dumps = match program.as_str() {
        "env" | "printenv" => first.arguments().is_empty(),
        "set" | "export" => {
            first.arguments().is_empty() || first.arguments().iter().all(|w| w.text == "-p")
        }
        _ => false,
    };
    let to_log = pipeline.iter().skip(1).all(|c| {
        c.program()
            .is_some_and(|(_, p)| matches!(p.as_str(), "sort" | "cat" | "tee" | "less"))
    }) && pipeline.last().is_some_and(|c| !c.redirects_to_file());
    if dumps && to_log {
        out.push(
            Finding::new(
                &rules::CI_SECRET_ECHOED,
                script.at(first.start, location, resource),
                format!(
                    "`{program}` prints every environment variable, secrets included, to the job \
                     log; masking misses any secret that is not registered as masked or that \
                     spans several lines"
                ),
            )
            .with_evidence(excerpt(first.raw(script.text))),
        );
    }
}

/// `$NAME` and `${NAME}` references in a shell word.
pub(crate) fn variable_references(word: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = word;
    while let Some(at) = rest.find('$') {
        let after = rest.get(at + 1..).unwrap_or("");
        let (inner, next) = match after.strip_prefix('{') {
            Some(braced) => {
                let end = braced.find('}').unwrap_or(braced.len());
                let name_end = braced
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(braced.len())
                    .min(end);
                (
                    braced.get(..name_end).unwrap_or(""),
                    braced.get(end..).unwrap_or(""),
                )
            }
            None => {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (
                    after.get(..end).unwrap_or(""),
                    after.get(end..).unwrap_or(""),
                )
            }
        };
        if shell::is_identifier(inner) {
            names.push(inner);
        }
        rest = next;
    }
    names
}

/// Literal credentials and verification-disabling settings in a variables mapping
/// (`env:` in GitHub, `variables:` in GitLab, where a value may be `{value: …}`).
pub(crate) fn check_variables(
    variables: &Node,
    location: &Location,
    resource: &str,
    fix: &str,
    out: &mut Vec<Finding>,
) {
    for (key, value) in variables.entries() {
        let Some(name) = key.as_str() else {
            continue;
        };
        let value = value.get("value").unwrap_or(value);
        let Some(text) = value.as_str() else {
            continue;
        };
        let at = location
            .at_line(value.line, Some(value.column))
            .with_resource(resource);
        if is_secret_name(name) && is_literal_secret(text) {
            out.push(
                Finding::new(
                    &rules::ENV_HARDCODED_SECRET,
                    at.clone(),
                    format!(
                        "`{name}` is given a literal value in the pipeline file: everyone who can \
                         read the repository (and its history) has the credential"
                    ),
                )
                .with_evidence(format!("{name}={}", redact(text)))
                .with_fix(fix.to_owned()),
            );
        }
        if let Some((rule, message)) = shell::environment_setting(name, text) {
            out.push(Finding::new(rule, at, message).with_evidence(format!("{name}={text}")));
        }
    }
}

/// The strings of a script field: a string, or a list of strings (nested lists, as YAML
/// anchors produce them, are flattened).
pub(crate) fn script_lines(node: &Node) -> Vec<&Node> {
    let mut lines = Vec::new();
    collect_lines(node, &mut lines);
    lines
}

fn collect_lines<'a>(node: &'a Node, lines: &mut Vec<&'a Node>) {
    if node.as_str().is_some() {
        lines.push(node);
    }
    for item in node.items() {
        collect_lines(item, lines);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml;

    fn printed(script_text: &str) -> Vec<(Severity, String)> {
        let source = format!("run: |\n{}", indent(script_text));
        let doc = yaml::load(&source).documents.remove(0);
        let node = doc.get("run").unwrap();
        let lines = Lines::new(&source);
        let script = Script::of(node, &lines).unwrap();
        let mut out = Vec::new();
        let secret = |word: &str| {
            variable_references(word)
                .into_iter()
                .find(|n| is_secret_name(n))
                .map(str::to_owned)
        };
        check_script(
            &script,
            &Location::file("ci"),
            "job",
            &secret,
            true,
            &mut out,
        );
        out.iter()
            .map(|f| (f.severity, f.message.clone()))
            .collect()
    }

    fn indent(text: &str) -> String {
        text.lines().map(|l| format!("  {l}\n")).collect()
    }

    #[test]
    fn printing_secrets_to_the_log() {
        let found = printed("echo \"token is $HF_TOKEN\"");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, Severity::Medium);
        assert!(found[0].1.contains("HF_TOKEN"));
        let found = printed("echo ${API_KEY} | base64");
        assert_eq!(found[0].0, Severity::High);
    }

    #[test]
    fn secrets_passed_on_are_not_printed() {
        for script in [
            "echo \"$REGISTRY_PASSWORD\" | docker login -u ci --password-stdin registry",
            "echo \"HF_TOKEN=$HF_TOKEN\" >> .env",
            "echo \"::add-mask::$HF_TOKEN\"",
            "echo \"$MODEL_NAME\"",
            "env | grep PATH",
            "printenv HOME",
        ] {
            assert!(printed(script).is_empty(), "{script}");
        }
    }

    #[test]
    fn environment_dumps() {
        for script in ["env", "printenv | sort", "export -p"] {
            assert_eq!(printed(script).len(), 1, "{script}");
        }
    }

    #[test]
    fn references_in_words() {
        assert_eq!(variable_references("a$X-${Y}-${Z:-d}$ $1"), ["X", "Y", "Z"]);
    }
}
