//! `requirements*.txt` as pip reads it: `\` continuations, `#` comments, `-r`/`-c`
//! includes (returned for the caller to follow), `-e`, `--index-url`, per-line `--hash=`
//! options, PEP 508 lines and pip's URL/path forms. `${VAR}` placeholders are kept as written.

use rampart_core::Location;

use super::{Include, Parsed, package_from_spec};
use crate::inventory::{ArtifactHash, PackageSource, Scope, SourceFormat};
use crate::problem::{Problem, ProblemKind};
use crate::requirement::parse_spec;
use crate::text::excerpt;

/// Options pip accepts on their own line that change nothing in the inventory.
const GLOBAL_FLAGS: &[&str] = &[
    "--no-index",
    "--pre",
    "--prefer-binary",
    "--require-hashes",
    "--no-binary",
    "--only-binary",
    "--trusted-host",
    "--use-feature",
    "--extra-index-url",
    "-f",
    "--find-links",
    "--config-settings",
    "--global-option",
    "--install-option",
];

/// Per-requirement options other than `--hash`.
const PER_REQUIREMENT_OPTIONS: &[&str] =
    &["--global-option", "--install-option", "--config-settings"];

/// Parses one requirements file. `constraint` marks a file included with `-c`: its lines pin
/// versions without requiring anything. `directory_name` names `.` for `-e .`.
pub(crate) fn parse(
    text: &str,
    location: &Location,
    constraint: bool,
    directory_name: &str,
    max_entries: u64,
) -> Parsed {
    let mut parsed = Parsed::default();
    let mut index: Option<String> = None;
    for (line_number, line) in logical_lines(text) {
        if parsed.packages.len() as u64 >= max_entries {
            parsed.problems.push(Problem::new(
                ProblemKind::LimitExceeded,
                location.at_line(line_number, None),
                format!(
                    "more than max_metadata_entries ({max_entries}) requirements; the rest of \
                     the file was not read"
                ),
            ));
            break;
        }
        let here = location.at_line(line_number, None);
        let content = strip_comment(&line).trim();
        if content.is_empty() {
            continue;
        }
        if content.starts_with('-') {
            let (option, value) = split_option(content);
            match option {
                "-r" | "--requirement" | "-c" | "--constraint" => {
                    if value.is_empty() {
                        parsed
                            .problems
                            .push(malformed(&here, content, "include names no file"));
                    } else {
                        parsed.includes.push(Include {
                            target: value.to_owned(),
                            constraint: constraint || matches!(option, "-c" | "--constraint"),
                            location: here,
                        });
                    }
                }
                "-i" | "--index-url" => index = Some(crate::names::redact_url(value)),
                "-e" | "--editable" => {
                    add_requirement(
                        &mut parsed,
                        value,
                        &here,
                        constraint,
                        directory_name,
                        true,
                        &index,
                    );
                }
                _ if GLOBAL_FLAGS.contains(&option) => {}
                _ => parsed.problems.push(Problem::new(
                    ProblemKind::Unsupported,
                    here,
                    format!(
                        "unknown requirements-file option `{}`; the line was not read",
                        excerpt(option, 60)
                    ),
                )),
            }
            continue;
        }
        add_requirement(
            &mut parsed,
            content,
            &here,
            constraint,
            directory_name,
            false,
            &index,
        );
    }
    parsed
}

fn malformed(here: &Location, content: &str, why: &str) -> Problem {
    Problem::new(
        ProblemKind::Malformed,
        here.clone(),
        format!("`{}`: {why}", excerpt(content, 120)),
    )
}

fn add_requirement(
    parsed: &mut Parsed,
    content: &str,
    here: &Location,
    constraint: bool,
    directory_name: &str,
    editable: bool,
    index: &Option<String>,
) {
    let (requirement, options) = split_requirement_options(content);
    let mut hashes = Vec::new();
    let mut tokens = options.split_whitespace();
    while let Some(token) = tokens.next() {
        let (name, inline) = match token.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (token, None),
        };
        if name == "--hash" {
            let Some(value) = inline.or_else(|| tokens.next()) else {
                parsed
                    .problems
                    .push(malformed(here, content, "`--hash` without a value"));
                continue;
            };
            match value.split_once(':') {
                Some((algorithm, digest))
                    if !digest.is_empty() && digest.bytes().all(|b| b.is_ascii_hexdigit()) =>
                {
                    hashes.push(ArtifactHash {
                        algorithm: algorithm.to_ascii_lowercase(),
                        value: digest.to_ascii_lowercase(),
                        artifact: None,
                    });
                }
                _ => parsed.problems.push(malformed(
                    here,
                    content,
                    "`--hash` is not `algorithm:hexdigest`",
                )),
            }
        } else if PER_REQUIREMENT_OPTIONS.contains(&name) {
            if inline.is_none() {
                tokens.next();
            }
        } else if name.starts_with('-') {
            parsed.problems.push(Problem::new(
                ProblemKind::Unsupported,
                here.clone(),
                format!(
                    "unknown per-requirement option `{}` ignored",
                    excerpt(name, 60)
                ),
            ));
        }
    }
    let spec = match parse_spec(requirement) {
        Ok(spec) => spec,
        Err(why) => {
            parsed.problems.push(malformed(here, requirement, &why));
            return;
        }
    };
    let scope = if constraint {
        Scope::Constraint
    } else {
        Scope::Required
    };
    let mut package = package_from_spec(
        spec,
        SourceFormat::RequirementsTxt,
        here.clone(),
        scope,
        directory_name,
    );
    package.editable = editable;
    package.hashes = hashes;
    package.direct = Some(!constraint);
    if let (PackageSource::Registry, Some(url)) = (&package.source, index) {
        package.source = PackageSource::Index { url: url.clone() };
    }
    parsed.packages.push(package);
}

/// Physical lines joined at a trailing `\`, each with the line number it starts on.
fn logical_lines(text: &str) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    let mut pending: Option<(u32, String)> = None;
    for (index, raw) in text.lines().enumerate() {
        let number = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let (start, mut joined) = pending.take().unwrap_or((number, String::new()));
        match raw.strip_suffix('\\') {
            Some(head) => {
                joined.push_str(head);
                pending = Some((start, joined));
            }
            None => {
                joined.push_str(raw);
                out.push((start, joined));
            }
        }
    }
    out.extend(pending);
    out
}

/// Drops a `#` comment: at the start of the line or after whitespace (`#egg=` in a URL
/// stays), as pip does.
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' && (i == 0 || bytes.get(i - 1).is_some_and(|p| p.is_ascii_whitespace())) {
            return line.get(..i).unwrap_or_default();
        }
    }
    line
}

/// `--option=value`, `--option value` or `-rfile`.
fn split_option(content: &str) -> (&str, &str) {
    if let Some((option, value)) = content.split_once(['=', ' ', '\t'])
        && (option.starts_with("--") || option.len() == 2)
    {
        return (option, value.trim());
    }
    if !content.starts_with("--")
        && let (Some(option), Some(value)) = (content.get(..2), content.get(2..))
    {
        return (option, value.trim());
    }
    (content, "")
}

/// pip's `break_args_options`: the requirement ends at the first whitespace-separated token
/// that starts with `-`.
fn split_requirement_options(content: &str) -> (&str, &str) {
    let mut offset = 0;
    for token in content.split_inclusive([' ', '\t']) {
        if token.trim_start().starts_with('-') && offset > 0 {
            return (
                content.get(..offset).unwrap_or(content).trim(),
                content.get(offset..).unwrap_or_default(),
            );
        }
        offset += token.len();
    }
    (content.trim(), "")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Parsed {
        parse(
            text,
            &Location::file("requirements.txt"),
            false,
            "proj",
            1000,
        )
    }

    #[test]
    fn pins_hashes_markers_and_continuations() {
        let parsed = parse_text(
            "# top comment\n\
             requests==2.25.0 \\\n    --hash=sha256:AAAA \\\n    --hash sha256:bbbb\n\
             urllib3>=1.26 ; python_version >= \"3.6\"  # trailing comment\n\
             \n\
             PyYAML==5.3\n",
        );
        assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
        let [requests, urllib3, yaml] = parsed.packages.as_slice() else {
            unreachable!("{:?}", parsed.packages);
        };
        assert_eq!(requests.version.as_deref(), Some("2.25.0"));
        assert_eq!(requests.location.line, Some(2));
        assert_eq!(requests.hashes.len(), 2);
        assert_eq!(requests.hashes[0].value, "aaaa");
        assert_eq!(urllib3.location.line, Some(5));
        assert_eq!(urllib3.specifier.as_deref(), Some(">=1.26"));
        assert!(urllib3.marker.is_some());
        assert!(urllib3.hashes.is_empty());
        assert_eq!(yaml.normalized_name, "pyyaml");
        assert_eq!(yaml.location.line, Some(7));
    }

    #[test]
    fn includes_editables_vcs_and_index() {
        let parsed = parse_text(
            "-r base.txt\n--constraint=constraints.txt\n-i https://u:pw@private/simple\n\
             -e .\n-e git+https://github.com/o/r.git@main#egg=tool\nflask\n\
             https://h/x/pkg-1.0-py3-none-any.whl#sha256=ab\n",
        );
        assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
        let includes: Vec<_> = parsed
            .includes
            .iter()
            .map(|i| (i.target.as_str(), i.constraint, i.location.line))
            .collect();
        assert_eq!(
            includes,
            [
                ("base.txt", false, Some(1)),
                ("constraints.txt", true, Some(2))
            ]
        );
        let [project, tool, flask, wheel] = parsed.packages.as_slice() else {
            unreachable!("{:?}", parsed.packages);
        };
        assert_eq!(project.name, "proj");
        assert!(project.editable && matches!(project.source, PackageSource::Local { .. }));
        assert!(tool.editable && matches!(tool.source, PackageSource::Vcs { .. }));
        assert_eq!(
            flask.source,
            PackageSource::Index {
                url: "https://u:***@private/simple".into()
            }
        );
        assert_eq!(wheel.version.as_deref(), Some("1.0"));
        assert!(matches!(wheel.source, PackageSource::Url { .. }));
    }

    #[test]
    fn bad_lines_are_problems_with_lines() {
        let parsed = parse_text("good==1\n==broken\n--frobnicate\nx==1 --hash=md5\n");
        assert_eq!(parsed.packages.len(), 2);
        let lines: Vec<_> = parsed
            .problems
            .iter()
            .map(|p| (p.kind, p.location.line))
            .collect();
        assert_eq!(
            lines,
            [
                (ProblemKind::Malformed, Some(2)),
                (ProblemKind::Unsupported, Some(3)),
                (ProblemKind::Malformed, Some(4)),
            ]
        );
    }

    #[test]
    fn constraint_files_pin_without_requiring() {
        let parsed = parse("urllib3==1.26.0\n", &Location::file("c.txt"), true, "p", 10);
        assert_eq!(parsed.packages[0].scope, Scope::Constraint);
        assert_eq!(parsed.packages[0].direct, Some(false));
    }

    #[test]
    fn entry_limit_is_reported() {
        let parsed = parse("a\nb\nc\n", &Location::file("r.txt"), false, "p", 2);
        assert_eq!(parsed.packages.len(), 2);
        assert_eq!(parsed.problems[0].kind, ProblemKind::LimitExceeded);
    }
}
