//! Dockerfiles (and Containerfiles): a line-oriented instruction parser that follows
//! BuildKit's rules for parser directives (`# escape=`), line continuations, comment lines
//! inside continuations, heredocs, exec (JSON) and shell forms, multi-stage builds and build
//! arguments, and the checks on what an image build pulls in and what the image runs as.

use std::collections::HashMap;

use rampart_core::{Finding, Location, Severity, rules as core_rules};

use crate::credentials::{is_literal_secret, is_secret_name, redact};
use crate::text::{LineMap, excerpt};
use crate::{decode, image, rules, shell};

const INSTRUCTIONS: &[&str] = &[
    "FROM",
    "RUN",
    "CMD",
    "LABEL",
    "MAINTAINER",
    "EXPOSE",
    "ENV",
    "ADD",
    "COPY",
    "ENTRYPOINT",
    "VOLUME",
    "USER",
    "WORKDIR",
    "ARG",
    "ONBUILD",
    "STOPSIGNAL",
    "HEALTHCHECK",
    "SHELL",
];

/// One instruction with its arguments joined across continuation lines (and heredoc bodies
/// appended after a newline).
#[derive(Debug)]
struct Instruction {
    keyword: String,
    arguments: String,
    map: LineMap,
    line: u32,
    column: u32,
}

#[derive(Debug)]
struct ParseError {
    line: u32,
    reason: String,
}

/// Scans a Dockerfile.
pub fn scan(data: &[u8], location: &Location, out: &mut Vec<Finding>) {
    let Some(text) = decode(data, location, "Dockerfile", out) else {
        return;
    };
    let (instructions, error) = parse(text);
    if let Some(error) = &error {
        out.push(Finding::new(
            &core_rules::MALFORMED,
            location.at_line(error.line, None),
            format!(
                "Dockerfile could not be parsed at line {}: {}; the rest of the file was not \
                 checked",
                error.line, error.reason
            ),
        ));
    }
    let mut checker = Checker {
        location,
        global_args: HashMap::new(),
        stages: Vec::new(),
    };
    for instruction in &instructions {
        checker.instruction(instruction, out);
    }
    if error.is_none() {
        checker.final_user(out);
    }
}

fn parse(text: &str) -> (Vec<Instruction>, Option<ParseError>) {
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let mut escape = '\\';
    let mut index = 0;
    // Parser directives: `# name=value` lines at the very top.
    while let Some(line) = lines.get(index) {
        let Some((name, value)) = line
            .trim()
            .strip_prefix('#')
            .and_then(|d| d.split_once('='))
        else {
            break;
        };
        let name = name.trim();
        if name.is_empty() || name.contains(char::is_whitespace) {
            break;
        }
        if name.eq_ignore_ascii_case("escape") {
            escape = match value.trim() {
                "`" => '`',
                _ => '\\',
            };
        }
        index += 1;
    }
    let mut instructions = Vec::new();
    while let Some(&line) = lines.get(index) {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            index += 1;
            continue;
        }
        let line_number = line_of(index);
        let indent = line.len() - trimmed.len();
        let keyword_len = trimmed
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(trimmed.len());
        let keyword = trimmed
            .get(..keyword_len)
            .unwrap_or("")
            .to_ascii_uppercase();
        if !INSTRUCTIONS.contains(&keyword.as_str()) {
            let shown: String = trimmed.chars().take(40).collect();
            return (
                instructions,
                Some(ParseError {
                    line: line_number,
                    reason: format!("unknown instruction `{shown}`"),
                }),
            );
        }
        let after_keyword = trimmed.get(keyword_len..).unwrap_or("");
        let rest = after_keyword.trim_start();
        let rest_column = indent + keyword_len + (after_keyword.len() - rest.len()) + 1;
        let mut arguments = String::new();
        let mut map = LineMap::new();
        let mut piece = rest;
        let mut piece_line = line_number;
        let mut piece_column = column(rest_column);
        loop {
            let trimmed_end = piece.trim_end();
            let continues = trimmed_end.ends_with(escape);
            let content = if continues {
                trimmed_end
                    .get(..trimmed_end.len() - escape.len_utf8())
                    .unwrap_or("")
            } else {
                piece
            };
            map.push(arguments.len(), piece_line, piece_column);
            arguments.push_str(content);
            if !continues {
                break;
            }
            index += 1;
            while lines.get(index).is_some_and(|l| {
                let t = l.trim_start();
                t.is_empty() || t.starts_with('#')
            }) {
                index += 1;
            }
            let Some(&next) = lines.get(index) else {
                break;
            };
            piece = next;
            piece_line = line_of(index);
            piece_column = 1;
        }
        index += 1;
        if matches!(keyword.as_str(), "RUN" | "COPY" | "ADD") {
            for (word, strip_tabs) in heredoc_markers(&arguments) {
                let start = index;
                loop {
                    let Some(&body) = lines.get(index) else {
                        return (
                            instructions,
                            Some(ParseError {
                                line: line_of(start.saturating_sub(1)),
                                reason: format!("heredoc `<<{word}` is never closed"),
                            }),
                        );
                    };
                    index += 1;
                    let candidate = if strip_tabs {
                        body.trim_start_matches('\t')
                    } else {
                        body
                    };
                    if candidate == word {
                        break;
                    }
                    arguments.push('\n');
                    map.push(arguments.len(), line_of(index - 1), 1);
                    arguments.push_str(body);
                }
            }
        }
        instructions.push(Instruction {
            keyword,
            arguments,
            map,
            line: line_number,
            column: column(indent + 1),
        });
    }
    (instructions, None)
}

fn line_of(index: usize) -> u32 {
    u32::try_from(index.saturating_add(1)).unwrap_or(u32::MAX)
}

fn column(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// `<<EOF`, `<<-EOF`, `<<"EOF"` in an instruction line (not `<<<`).
fn heredoc_markers(arguments: &str) -> Vec<(String, bool)> {
    let first_line = arguments.split('\n').next().unwrap_or("");
    let mut markers = Vec::new();
    let mut rest = first_line;
    while let Some(at) = rest.find("<<") {
        let after = rest.get(at + 2..).unwrap_or("");
        rest = after;
        if after.starts_with('<') {
            rest = after.trim_start_matches('<');
            continue;
        }
        let (strip_tabs, after) = match after.strip_prefix('-') {
            Some(a) => (true, a),
            None => (false, after),
        };
        let unquoted = after.trim_start_matches(['"', '\'']);
        let word: String = unquoted
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !word.is_empty() {
            markers.push((word, strip_tabs));
        }
    }
    markers
}

/// Splits instruction arguments into words, honouring quotes and backslash escapes; each
/// word with its byte offset.
fn split_words(text: &str) -> Vec<(String, usize)> {
    let mut words = Vec::new();
    let mut current: Option<(String, usize)> = None;
    let mut quote: Option<char> = None;
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match (quote, c) {
            (None, c) if c.is_whitespace() => {
                if let Some(word) = current.take() {
                    words.push(word);
                }
            }
            (None, '"' | '\'') => {
                quote = Some(c);
                current.get_or_insert_with(|| (String::new(), i));
            }
            (Some(q), c) if c == q => quote = None,
            (_, '\\') if quote != Some('\'') => {
                let word = current.get_or_insert_with(|| (String::new(), i));
                if let Some((_, escaped)) = chars.next() {
                    word.0.push(escaped);
                }
            }
            (_, c) => current.get_or_insert_with(|| (String::new(), i)).0.push(c),
        }
    }
    if let Some(word) = current {
        words.push(word);
    }
    words
}

/// `--flag=value` words at the start of the arguments, and where the rest begins.
fn leading_flags(arguments: &str) -> (Vec<&str>, usize) {
    let mut flags = Vec::new();
    let mut rest_start = 0;
    let mut offset = 0;
    for word in arguments.split_inclusive(char::is_whitespace) {
        let trimmed = word.trim();
        if trimmed.is_empty() {
            offset += word.len();
            rest_start = offset;
            continue;
        }
        if !trimmed.starts_with("--") {
            break;
        }
        flags.push(trimmed);
        offset += word.len();
        rest_start = offset;
    }
    (flags, rest_start)
}

/// The exec form `["a", "b"]`, if the arguments are one.
fn exec_form(arguments: &str) -> Option<Vec<String>> {
    let trimmed = arguments.trim();
    if !trimmed.starts_with('[') {
        return None;
    }
    serde_json::from_str(trimmed).ok()
}

#[derive(Debug)]
struct Stage {
    name: Option<String>,
    /// The base image as written, after substituting build arguments where possible.
    base: String,
    /// The stage this one builds on, when `FROM` names an earlier stage.
    parent: Option<usize>,
    /// The last `USER` of the stage and where it is.
    user: Option<(String, u32, u32)>,
    variables: HashMap<String, String>,
    line: u32,
    column: u32,
}

struct Checker<'a> {
    location: &'a Location,
    global_args: HashMap<String, String>,
    stages: Vec<Stage>,
}

impl Checker<'_> {
    fn at(&self, instruction: &Instruction, offset: usize) -> Location {
        let (line, column) = instruction.map.position(offset);
        self.location.at_line(line, Some(column))
    }

    fn start(&self, instruction: &Instruction) -> Location {
        self.location
            .at_line(instruction.line, Some(instruction.column))
    }

    fn instruction(&mut self, instruction: &Instruction, out: &mut Vec<Finding>) {
        match instruction.keyword.as_str() {
            "FROM" => self.from(instruction, out),
            "USER" => self.user(instruction),
            "ARG" => self.variables(instruction, true, out),
            "ENV" => self.variables(instruction, false, out),
            "RUN" => self.run(instruction, &instruction.arguments, 0, out),
            "ADD" => self.add(instruction, &instruction.arguments, 0, out),
            "ONBUILD" => self.onbuild(instruction, out),
            _ => {}
        }
    }

    /// `ONBUILD RUN …` runs in every build based on this image: checked like a direct RUN.
    fn onbuild(&mut self, instruction: &Instruction, out: &mut Vec<Finding>) {
        let arguments = instruction.arguments.as_str();
        let keyword_len = arguments
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(arguments.len());
        let keyword = arguments
            .get(..keyword_len)
            .unwrap_or("")
            .to_ascii_uppercase();
        let rest = arguments.get(keyword_len..).unwrap_or("");
        let skip = keyword_len + (rest.len() - rest.trim_start().len());
        let inner = rest.trim_start();
        match keyword.as_str() {
            "RUN" => self.run(instruction, inner, skip, out),
            "ADD" => self.add(instruction, inner, skip, out),
            _ => {}
        }
    }

    fn expand(&self, text: &str, stage_variables: bool) -> Option<String> {
        let lookup = |name: &str| -> Option<String> {
            let stage = self.stages.last().filter(|_| stage_variables);
            stage
                .and_then(|s| s.variables.get(name))
                .or_else(|| self.global_args.get(name))
                .cloned()
        };
        expand(text, &lookup)
    }

    fn from(&mut self, instruction: &Instruction, out: &mut Vec<Finding>) {
        let words = split_words(&instruction.arguments);
        let mut positional = words.iter().filter(|(w, _)| !w.starts_with("--"));
        let Some((raw_image, image_offset)) = positional.next() else {
            out.push(Finding::new(
                &core_rules::MALFORMED,
                self.start(instruction),
                "FROM names no image; the stage could not be analysed",
            ));
            return;
        };
        let name = match (positional.next(), positional.next()) {
            (Some((as_keyword, _)), Some((name, _))) if as_keyword.eq_ignore_ascii_case("as") => {
                Some(name.to_ascii_lowercase())
            }
            _ => None,
        };
        let resolved = self.expand(raw_image, false);
        let base = resolved.clone().unwrap_or_else(|| raw_image.clone());
        let base_lower = base.to_ascii_lowercase();
        let parent = self
            .stages
            .iter()
            .position(|s| s.name.as_deref() == Some(base_lower.as_str()));
        let stage_label = match &name {
            Some(name) => format!("stage `{name}`"),
            None => format!("stage {}", self.stages.len()),
        };
        let location = self.at(instruction, *image_offset);
        if parent.is_none() && !base.eq_ignore_ascii_case("scratch") {
            match resolved {
                Some(reference) => image::check(&reference, &stage_label, location, out),
                None => out.push(
                    Finding::new(
                        &rules::IMAGE_UNPINNED,
                        location,
                        format!(
                            "The base of {stage_label} is `{raw_image}`, chosen by a build \
                             argument without a default: whether it is pinned depends on how the \
                             image is built"
                        ),
                    )
                    .with_severity(Severity::Info)
                    .with_evidence(raw_image.clone()),
                ),
            }
        }
        let variables = parent
            .and_then(|p| self.stages.get(p))
            .map(|p| p.variables.clone())
            .unwrap_or_default();
        self.stages.push(Stage {
            name,
            base,
            parent,
            user: None,
            variables,
            line: instruction.line,
            column: instruction.column,
        });
    }

    fn user(&mut self, instruction: &Instruction) {
        let user = instruction.arguments.trim().to_owned();
        let user = self.expand(&user, true).unwrap_or(user);
        let (line, column) = (instruction.line, instruction.column);
        if let Some(stage) = self.stages.last_mut() {
            stage.user = Some((user, line, column));
        }
    }

    fn variables(&mut self, instruction: &Instruction, is_arg: bool, out: &mut Vec<Finding>) {
        for (name, value, offset) in assignments(&instruction.arguments, is_arg) {
            self.variable(instruction, is_arg, &name, value.as_deref(), offset, out);
            let Some(value) = value else {
                // `ARG NAME` inside a stage re-exposes the global default.
                if let Some(default) = self.global_args.get(&name).cloned()
                    && let Some(stage) = self.stages.last_mut()
                {
                    stage.variables.insert(name, default);
                }
                continue;
            };
            match self.stages.last_mut() {
                Some(stage) => {
                    stage.variables.insert(name, value);
                }
                None => {
                    self.global_args.insert(name, value);
                }
            }
        }
    }

    fn variable(
        &self,
        instruction: &Instruction,
        is_arg: bool,
        name: &str,
        value: Option<&str>,
        offset: usize,
        out: &mut Vec<Finding>,
    ) {
        let keyword = if is_arg { "ARG" } else { "ENV" };
        let location = self.at(instruction, offset);
        if let Some((rule, message)) = value.and_then(|v| shell::environment_setting(name, v)) {
            out.push(
                Finding::new(rule, location.clone(), message)
                    .with_evidence(format!("{keyword} {name}={}", value.unwrap_or(""))),
            );
        }
        if !is_secret_name(name) {
            return;
        }
        match value {
            Some(value) if is_literal_secret(value) => out.push(
                Finding::new(
                    &rules::ENV_HARDCODED_SECRET,
                    location,
                    format!(
                        "`{keyword} {name}` has a literal value in the Dockerfile: it is stored \
                         in the image ({}) and in the repository",
                        if is_arg {
                            "build history and provenance"
                        } else {
                            "configuration of every container"
                        }
                    ),
                )
                .with_evidence(format!("{keyword} {name}={}", redact(value)))
                .with_fix(format!(
                    "Remove the value, rotate the credential, and mount it only where needed: \
                     `RUN --mount=type=secret,id={id} {name}=$(cat /run/secrets/{id}) …` with \
                     `docker build --secret id={id},env={name}`.",
                    id = name.to_ascii_lowercase()
                )),
            ),
            Some(value) if !value.contains('$') => {}
            _ => out.push(
                Finding::new(
                    &rules::DOCKER_SECRET_BUILD_VARIABLE,
                    location,
                    if is_arg {
                        format!(
                            "`ARG {name}` passes a credential as a build argument: the value \
                             given with `--build-arg` is recorded in the image history and \
                             provenance"
                        )
                    } else {
                        format!(
                            "`ENV {name}` copies a credential into the image configuration, \
                             where anyone who can pull the image reads it"
                        )
                    },
                )
                .with_evidence(format!("{keyword} {name}")),
            ),
        }
    }

    fn run(&self, instruction: &Instruction, arguments: &str, base: usize, out: &mut Vec<Finding>) {
        let (_, script_start) = leading_flags(arguments);
        let body = arguments.get(script_start..).unwrap_or("");
        let (script, offsets_exact) = match exec_form(body) {
            Some(words) => match words.as_slice() {
                [shell, flag, script, ..] if flag == "-c" && shell.ends_with("sh") => {
                    (script.clone(), false)
                }
                _ => (words.join(" "), false),
            },
            None => (body.to_owned(), true),
        };
        for issue in shell::check(&script) {
            let offset = if offsets_exact {
                base + script_start + issue.offset
            } else {
                base + script_start
            };
            out.push(
                Finding::new(issue.rule, self.at(instruction, offset), issue.message)
                    .with_evidence(issue.evidence),
            );
        }
    }

    fn add(&self, instruction: &Instruction, arguments: &str, base: usize, out: &mut Vec<Finding>) {
        let (flags, rest_start) = leading_flags(arguments);
        if flags.iter().any(|f| f.starts_with("--checksum=")) {
            return;
        }
        let rest = arguments.get(rest_start..).unwrap_or("");
        let words: Vec<(String, usize)> = match exec_form(rest) {
            Some(words) => words.into_iter().map(|w| (w, rest_start)).collect(),
            None => split_words(rest)
                .into_iter()
                .map(|(w, o)| (w, rest_start + o))
                .collect(),
        };
        let sources = words.len().saturating_sub(1);
        for (source, offset) in words.iter().take(sources) {
            let lower = source.to_ascii_lowercase();
            let remote = lower.starts_with("http://")
                || lower.starts_with("https://")
                || lower.starts_with("git@");
            if !remote || is_pinned_git_source(&lower) {
                continue;
            }
            let git =
                lower.starts_with("git@") || lower.contains(".git#") || lower.ends_with(".git");
            let problem = if git {
                "clones a git repository at a branch or tag, which can move"
            } else {
                "downloads a file at build time and puts whatever the server returns into the image"
            };
            out.push(
                Finding::new(
                    &rules::DOCKER_ADD_REMOTE,
                    self.at(instruction, base + offset),
                    format!("`ADD {source}` {problem}, without an integrity check"),
                )
                .with_evidence(excerpt(&format!("ADD {arguments}"))),
            );
        }
    }

    /// The user the final stage runs as, following `FROM <earlier stage>` chains. A
    /// fragment without `FROM` (included by a generator) has no user to check; its
    /// instructions were checked all the same.
    fn final_user(&self, out: &mut Vec<Finding>) {
        let Some(last) = self.stages.last() else {
            return;
        };
        let mut stage = last;
        let mut hops = 0;
        let (user, base) = loop {
            if let Some(user) = &stage.user {
                break (Some(user), &stage.base);
            }
            match stage.parent.and_then(|p| self.stages.get(p)) {
                Some(parent) if hops < self.stages.len() => {
                    stage = parent;
                    hops += 1;
                }
                _ => break (None, &stage.base),
            }
        };
        match user {
            Some((user, line, column)) => {
                let name = user.split(':').next().unwrap_or("").trim();
                if name == "root" || name == "0" {
                    out.push(Finding::new(
                        &rules::DOCKER_RUNS_AS_ROOT,
                        self.location.at_line(*line, Some(*column)),
                        format!(
                            "The final stage's last `USER` is `{user}`, so containers from this \
                             image run as root"
                        ),
                    ));
                }
            }
            None if runs_as_non_root_by_default(base) => {}
            None => out.push(Finding::new(
                &rules::DOCKER_RUNS_AS_ROOT,
                self.location.at_line(last.line, Some(last.column)),
                format!(
                    "The final stage has no `USER` instruction, so containers run as the base \
                     image's user (`{base}`), which is root unless that image sets another"
                ),
            )),
        }
    }
}

/// Base images whose publishers make them run as an unprivileged user.
fn runs_as_non_root_by_default(base: &str) -> bool {
    let lower = base.to_ascii_lowercase();
    let tag = lower.rsplit('/').next().unwrap_or("");
    tag.contains("nonroot")
        || tag.contains("non-root")
        || lower.starts_with("jupyter/")
        || lower.starts_with("quay.io/jupyter/")
        || lower.starts_with("cgr.dev/chainguard/")
}

/// `https://host/repo.git#<40 hex>` (optionally `:subdir`).
fn is_pinned_git_source(lower: &str) -> bool {
    lower
        .split_once('#')
        .map(|(_, fragment)| fragment.split(':').next().unwrap_or(""))
        .is_some_and(|r| r.len() == 40 && r.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `ENV A=1 B="x y"`, legacy `ENV A 1 2`, `ARG A`, `ARG A=1 B`: (name, value, offset).
fn assignments(arguments: &str, is_arg: bool) -> Vec<(String, Option<String>, usize)> {
    let words = split_words(arguments);
    let legacy = !is_arg && words.first().is_some_and(|(w, _)| !w.contains('='));
    if legacy {
        let Some((name, offset)) = words.first() else {
            return Vec::new();
        };
        let value = arguments
            .trim_start()
            .get(name.len()..)
            .unwrap_or("")
            .trim()
            .to_owned();
        return vec![(name.clone(), Some(value), *offset)];
    }
    words
        .into_iter()
        .map(|(word, offset)| match word.split_once('=') {
            Some((name, value)) => (name.to_owned(), Some(value.to_owned()), offset),
            None => (word, None, offset),
        })
        .collect()
}

/// Substitutes `$NAME`, `${NAME}`, `${NAME:-default}`; None when a variable is unknown.
fn expand(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let mut result = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        result.push_str(rest.get(..at).unwrap_or(""));
        let after = rest.get(at + 1..).unwrap_or("");
        if let Some(braced) = after.strip_prefix('{') {
            let end = braced.find('}')?;
            let inner = braced.get(..end).unwrap_or("");
            let value = match inner.split_once(":-") {
                Some((name, default)) => lookup(name)
                    .filter(|v| !v.is_empty())
                    .unwrap_or_else(|| default.to_owned()),
                None => lookup(inner)?,
            };
            result.push_str(&value);
            rest = braced.get(end + 1..).unwrap_or("");
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            if end == 0 {
                result.push('$');
                rest = after;
                continue;
            }
            result.push_str(&lookup(after.get(..end).unwrap_or(""))?);
            rest = after.get(end..).unwrap_or("");
        }
    }
    result.push_str(rest);
    Some(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{findings_of, ids};

    const DIGEST: &str = "sha256:4c5b3a4e0f3e7f1d2b6a8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f";

    fn good() -> String {
        format!(
            "# syntax=docker/dockerfile:1.7\nARG BASE=python:3.12-slim@{DIGEST}\nFROM $BASE AS build\nRUN --mount=type=secret,id=hf_token \\\n    HF_TOKEN=$(cat /run/secrets/hf_token) huggingface-cli download org/model\nRUN pip install --no-cache-dir -r requirements.txt --require-hashes\nADD --checksum=sha256:abc https://example.com/tokenizer.json /app/\nFROM build AS final\nENV TOKENIZERS_PARALLELISM=false HF_HOME=/cache\nRUN useradd --uid 10001 app\nUSER 10001\nCMD [\"python\", \"serve.py\"]\n"
        )
    }

    fn scan_text(text: &str) -> Vec<Finding> {
        findings_of(|location, out| scan(text.as_bytes(), location, out))
    }

    #[test]
    fn a_careful_dockerfile_has_no_findings() {
        let findings = scan_text(&good());
        assert!(findings.is_empty(), "{findings:#?}");
    }

    #[test]
    fn missing_or_root_user_in_the_final_stage() {
        let no_user = good().replace("USER 10001\n", "");
        let findings = scan_text(&no_user);
        assert_eq!(ids(&findings), ["docker/runs-as-root"]);
        assert_eq!(findings[0].location.line, Some(8));
        let root_last = good().replace("USER 10001\n", "USER 10001\nRUN id\nUSER root:root\n");
        let findings = scan_text(&root_last);
        assert_eq!(ids(&findings), ["docker/runs-as-root"]);
        assert_eq!(findings[0].location.line, Some(13));
        // The user of an earlier stage carries over into a stage built on it.
        let inherited = good()
            .replace("USER 10001\n", "")
            .replace("RUN pip install", "USER 10001\nRUN pip install");
        assert!(scan_text(&inherited).is_empty());
        let distroless =
            format!("FROM gcr.io/distroless/python3-debian12:nonroot@{DIGEST}\nCOPY app /app\n");
        assert!(scan_text(&distroless).is_empty());
    }

    #[test]
    fn base_images_by_tag_latest_or_unresolved_argument() {
        let text =
            "FROM python:3.12 AS a\nFROM nvidia/cuda AS b\nFROM ${BASE}\nFROM a\nUSER 1000\n";
        let findings = scan_text(text);
        assert_eq!(ids(&findings), ["image/unpinned"; 3]);
        let severities: Vec<Severity> = findings.iter().map(|f| f.severity).collect();
        assert_eq!(
            severities,
            [Severity::Low, Severity::Medium, Severity::Info]
        );
        assert_eq!(findings[1].location.line, Some(2));
        assert_eq!(findings[1].location.column, Some(6));
    }

    #[test]
    fn remote_scripts_piped_to_a_shell_across_continuation_lines() {
        let text = good().replace(
            "RUN pip install",
            "RUN apt-get update \\\n  # comment inside the continuation\n  && curl -fsSL https://ollama.com/install.sh \\\n  | sh\nRUN pip install",
        );
        let findings = scan_text(&text);
        assert_eq!(ids(&findings), ["download/piped-to-interpreter"]);
        assert_eq!(findings[0].location.line, Some(9));
        assert_eq!(findings[0].location.column, Some(5));
    }

    #[test]
    fn exec_form_and_heredoc_runs_are_checked() {
        let text = good().replace(
            "RUN pip install",
            "RUN [\"/bin/bash\", \"-c\", \"wget -qO- https://x/i.sh | bash\"]\nRUN <<EOF\nset -e\npip install --trusted-host internal torch\nEOF\nRUN pip install",
        );
        let findings = scan_text(&text);
        assert_eq!(
            ids(&findings),
            [
                "download/piped-to-interpreter",
                "download/verification-disabled"
            ]
        );
        assert_eq!(findings[0].location.line, Some(6));
        assert_eq!(findings[1].location.line, Some(9));
    }

    #[test]
    fn add_from_urls_needs_a_checksum_or_a_pinned_commit() {
        let text = good().replace(
            "ADD --checksum=sha256:abc https://example.com/tokenizer.json /app/\n",
            "ADD https://huggingface.co/org/model/resolve/main/model.safetensors /models/\nADD https://github.com/org/repo.git#v1.2 /src\nADD https://github.com/org/repo.git#0123456789abcdef0123456789abcdef01234567 /src\nADD local.txt /app/\n",
        );
        let findings = scan_text(&text);
        assert_eq!(
            ids(&findings),
            ["docker/add-remote-url", "docker/add-remote-url"]
        );
        assert!(findings[1].message.contains("branch or tag"));
    }

    #[test]
    fn secrets_in_arg_and_env() {
        let text = good().replace(
            "ENV TOKENIZERS_PARALLELISM=false",
            "ARG HF_TOKEN\nARG WANDB_API_KEY=0123456789abcdef0123456789abcdef01234567\nENV HF_TOKEN=$HF_TOKEN OPENAI_API_KEY=YOUR_API_KEY\nENV TOKENIZERS_PARALLELISM=false",
        );
        let findings = scan_text(&text);
        assert_eq!(
            ids(&findings),
            [
                "docker/secret-in-build-variable",
                "env/hardcoded-secret",
                "docker/secret-in-build-variable"
            ]
        );
        assert!(findings[0].message.contains("ARG HF_TOKEN"));
        assert!(findings[2].message.contains("ENV HF_TOKEN"));
        assert!(
            !findings[1]
                .evidence
                .as_deref()
                .unwrap()
                .contains("89abcdef")
        );
    }

    #[test]
    fn environment_that_disables_verification() {
        let text = good().replace(
            "ENV TOKENIZERS_PARALLELISM=false",
            "ENV PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cu121\nENV PYTHONHTTPSVERIFY 0\nENV TOKENIZERS_PARALLELISM=false",
        );
        let findings = scan_text(&text);
        assert_eq!(
            ids(&findings),
            [
                "download/pip-extra-index-url",
                "download/verification-disabled"
            ]
        );
    }

    #[test]
    fn onbuild_runs_are_checked() {
        let text = good().replace(
            "USER 10001\n",
            "USER 10001\nONBUILD RUN curl -s https://x | sh\n",
        );
        let findings = scan_text(&text);
        assert_eq!(ids(&findings), ["download/piped-to-interpreter"]);
    }

    #[test]
    fn escape_directive_changes_the_continuation_character() {
        let text = format!(
            "# escape=`\nFROM mcr.microsoft.com/windows/servercore@{DIGEST}\nRUN iwr https://x/install.ps1 `\n  | iex\nUSER ContainerUser\n"
        );
        let findings = scan_text(&text);
        assert_eq!(ids(&findings), ["download/piped-to-interpreter"]);
    }

    #[test]
    fn unparseable_files_fail_closed() {
        for (text, line) in [
            ("FROM alpine@sha256:x\nRUNN echo\n", 2),
            ("FROM alpine\nRUN <<EOF\necho\n", 2),
        ] {
            let findings = scan_text(text);
            assert!(
                findings
                    .iter()
                    .any(|f| f.rule.id == "scan/malformed" && f.location.line == Some(line)),
                "{text}: {findings:#?}"
            );
        }
        // Fragments (no FROM) are checked instruction by instruction, with nothing to fail.
        assert!(scan_text("# only a comment\n").is_empty());
        assert_eq!(
            ids(&scan_text("RUN curl -s https://x | sh\n")),
            ["download/piped-to-interpreter"]
        );
        let findings = findings_of(|location, out| scan(b"FROM alpine\n\xff", location, out));
        assert_eq!(ids(&findings), ["scan/malformed"]);
        assert_eq!(findings[0].location.line, Some(2));
    }

    #[test]
    fn variables_expand_with_defaults() {
        let lookup = |name: &str| (name == "A").then(|| "x".to_owned());
        assert_eq!(expand("$A-${A}-${B:-d}", &lookup).as_deref(), Some("x-x-d"));
        assert_eq!(expand("${B}", &lookup), None);
        assert_eq!(expand("a$", &lookup).as_deref(), Some("a$"));
    }
}
