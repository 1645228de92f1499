//! Just enough of POSIX shell to see what a build or CI script does: words, commands,
//! pipelines. It never expands or runs anything; it recognises the download and install
//! patterns that pull unverified code into a build (`curl … | sh`, `pip --trusted-host`,
//! `--extra-index-url`), wherever a script appears (Dockerfile `RUN`, workflow `run:`,
//! GitLab `script:`).

use rampart_core::Rule;

use crate::rules;
use crate::text::excerpt;

/// One shell word with quotes and escapes removed; `$VAR` and `$(…)` are kept verbatim.
#[derive(Debug)]
pub(crate) struct Word {
    pub(crate) text: String,
}

/// A simple command: the words between separators (`;`, `&&`, `||`, `|`, newline).
#[derive(Debug)]
pub(crate) struct Command {
    pub(crate) words: Vec<Word>,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

pub(crate) type Pipeline = Vec<Command>;

/// Words that precede the program without being it.
const PREFIXES: &[&str] = &[
    "sudo", "doas", "env", "exec", "command", "nohup", "time", "nice", "then", "do", "else",
    "elif", "if", "while", "until", "!", "{", "(",
];

impl Command {
    /// Index and lower-cased base name of the program the command runs.
    pub(crate) fn program(&self) -> Option<(usize, String)> {
        let mut index = 0;
        // `env` or `time` alone are the program themselves.
        let mut last_prefix = None;
        while let Some(word) = self.words.get(index) {
            let text = word.text.as_str();
            if is_assignment(text) {
                index += 1;
                continue;
            }
            let name = text.rsplit('/').next().unwrap_or(text).to_ascii_lowercase();
            if PREFIXES.contains(&name.as_str()) {
                last_prefix = Some((index, name));
                index += 1;
                // sudo -u user / env -u NAME take an argument; other flags stand alone.
                while let Some(flag) = self.words.get(index) {
                    if !flag.text.starts_with('-') {
                        break;
                    }
                    let takes_argument = matches!(flag.text.as_str(), "-u" | "-g" | "-C");
                    index += if takes_argument { 2 } else { 1 };
                }
                continue;
            }
            return Some((index, name));
        }
        last_prefix
    }

    /// The words after the program.
    pub(crate) fn arguments(&self) -> &[Word] {
        match self.program() {
            Some((index, _)) => self.words.get(index.saturating_add(1)..).unwrap_or(&[]),
            None => &[],
        }
    }

    /// `NAME=value` words before the program.
    pub(crate) fn assignments(&self) -> impl Iterator<Item = (&str, &str)> {
        let end = self.program().map_or(self.words.len(), |(index, _)| index);
        self.words
            .iter()
            .take(end)
            .filter_map(|w| w.text.split_once('='))
            .filter(|(name, _)| is_identifier(name))
    }

    pub(crate) fn raw<'s>(&self, script: &'s str) -> &'s str {
        script.get(self.start..self.end).unwrap_or("")
    }

    /// Where the command's output goes when it is redirected to a file (not to the log).
    pub(crate) fn redirects_to_file(&self) -> bool {
        let mut words = self.words.iter().map(|w| w.text.as_str());
        while let Some(word) = words.next() {
            let Some(target) = redirect_target(word) else {
                continue;
            };
            let target = if target.is_empty() {
                words.next().unwrap_or("")
            } else {
                target
            };
            if !matches!(target, "/dev/stdout" | "/dev/stderr" | "&1" | "&2") {
                return true;
            }
        }
        false
    }
}

/// `>file`, `>> file`, `1>file`, `&>file` → the target ("" when it is the next word).
fn redirect_target(word: &str) -> Option<&str> {
    let rest = word
        .strip_prefix("&>")
        .or_else(|| word.strip_prefix("1>"))
        .or_else(|| word.strip_prefix('>'))?;
    Some(rest.trim_start_matches('>').trim_start_matches('|'))
}

pub(crate) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_assignment(word: &str) -> bool {
    word.split_once('=')
        .is_some_and(|(name, _)| is_identifier(name))
}

/// Splits a script into pipelines of commands. Unbalanced quotes run to the end of the
/// script (as a shell would fail to parse them; what was read is still analysed).
pub(crate) fn parse(script: &str) -> Vec<Pipeline> {
    let mut tokenizer = Tokenizer {
        pipelines: Vec::new(),
        pipeline: Vec::new(),
        words: Vec::new(),
        word: None,
        command_start: None,
        command_end: 0,
    };
    let bytes = script.as_bytes();
    let mut chars = script.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, '\n')) => tokenizer.end_word(i),
                Some((j, escaped)) => tokenizer.push(i, escaped, j + escaped.len_utf8()),
                None => {}
            },
            '\'' => {
                tokenizer.begin(i);
                for (j, q) in chars.by_ref() {
                    if q == '\'' {
                        tokenizer.command_end = j + 1;
                        break;
                    }
                    tokenizer.push(j, q, j + q.len_utf8());
                }
            }
            '"' => {
                tokenizer.begin(i);
                while let Some((j, q)) = chars.next() {
                    match q {
                        '"' => {
                            tokenizer.command_end = j + 1;
                            break;
                        }
                        '\\' => {
                            if let Some(&(k, escaped)) = chars.peek() {
                                if matches!(escaped, '"' | '\\' | '$' | '`') {
                                    chars.next();
                                    tokenizer.push(k, escaped, k + escaped.len_utf8());
                                    continue;
                                }
                                if escaped == '\n' {
                                    chars.next();
                                    continue;
                                }
                            }
                            tokenizer.push(j, q, j + 1);
                        }
                        _ => tokenizer.push(j, q, j + q.len_utf8()),
                    }
                }
            }
            // `$(…)`, `<(…)`, `>(…)` and backquotes stay inside the word, separators and all,
            // so `"$(curl …)"` is one word whose text shows the substitution.
            '$' | '<' | '>' if bytes.get(i + 1) == Some(&b'(') => {
                let end = closing_paren(script, i + 1);
                tokenizer.push_str(i, script.get(i..end).unwrap_or(""), end);
                while chars.peek().is_some_and(|&(j, _)| j < end) {
                    chars.next();
                }
            }
            '`' => {
                let end = script
                    .get(i + 1..)
                    .and_then(|rest| rest.find('`'))
                    .map_or(script.len(), |k| i + 1 + k + 1);
                tokenizer.push_str(i, script.get(i..end).unwrap_or(""), end);
                while chars.peek().is_some_and(|&(j, _)| j < end) {
                    chars.next();
                }
            }
            '#' if tokenizer.word.is_none() => {
                while chars.peek().is_some_and(|&(_, c)| c != '\n') {
                    chars.next();
                }
            }
            '\n' | ';' => tokenizer.end_pipeline(i),
            '&' => {
                let in_redirect = tokenizer
                    .word
                    .as_ref()
                    .is_some_and(|w| w.text.ends_with('>') || w.text.ends_with('<'));
                if in_redirect || chars.peek().is_some_and(|&(_, c)| c == '>') {
                    tokenizer.push(i, c, i + 1);
                } else {
                    if chars.peek().is_some_and(|&(_, c)| c == '&') {
                        chars.next();
                    }
                    tokenizer.end_pipeline(i);
                }
            }
            '|' => match chars.peek().map(|&(_, c)| c) {
                Some('|') => {
                    chars.next();
                    tokenizer.end_pipeline(i);
                }
                Some('&') => {
                    chars.next();
                    tokenizer.end_command(i);
                }
                _ => tokenizer.end_command(i),
            },
            ' ' | '\t' | '\r' | '(' | ')' => tokenizer.end_word(i),
            _ => tokenizer.push(i, c, i + c.len_utf8()),
        }
    }
    tokenizer.end_pipeline(script.len());
    tokenizer.pipelines
}

/// The offset just past the `)` matching the `(` at `open`, or the end of the script.
fn closing_paren(script: &str, open: usize) -> usize {
    let mut depth = 0usize;
    for (i, c) in script.get(open..).unwrap_or("").char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return open + i + 1;
                }
            }
            _ => {}
        }
    }
    script.len()
}

struct Tokenizer {
    pipelines: Vec<Pipeline>,
    pipeline: Pipeline,
    words: Vec<Word>,
    word: Option<Word>,
    command_start: Option<usize>,
    command_end: usize,
}

impl Tokenizer {
    fn begin(&mut self, at: usize) {
        if self.word.is_none() {
            self.word = Some(Word {
                text: String::new(),
            });
        }
        self.command_start.get_or_insert(at);
    }

    fn push(&mut self, at: usize, c: char, end: usize) {
        self.begin(at);
        if let Some(word) = &mut self.word {
            word.text.push(c);
        }
        self.command_end = end;
    }

    fn push_str(&mut self, at: usize, s: &str, end: usize) {
        self.begin(at);
        if let Some(word) = &mut self.word {
            word.text.push_str(s);
        }
        self.command_end = end;
    }

    fn end_word(&mut self, _at: usize) {
        if let Some(word) = self.word.take() {
            self.words.push(word);
        }
    }

    fn end_command(&mut self, at: usize) {
        self.end_word(at);
        if let Some(start) = self.command_start.take() {
            self.pipeline.push(Command {
                words: std::mem::take(&mut self.words),
                start,
                end: self.command_end.max(start),
            });
        }
    }

    fn end_pipeline(&mut self, at: usize) {
        self.end_command(at);
        if !self.pipeline.is_empty() {
            self.pipelines.push(std::mem::take(&mut self.pipeline));
        }
    }
}

/// A problem found in a script, at a byte offset of the script.
#[derive(Debug)]
pub(crate) struct Issue {
    pub(crate) rule: &'static Rule,
    pub(crate) offset: usize,
    pub(crate) message: String,
    pub(crate) evidence: String,
}

const DOWNLOADERS: &[&str] = &[
    "curl",
    "wget",
    "fetch",
    "iwr",
    "irm",
    "invoke-webrequest",
    "invoke-restmethod",
];

/// Interpreters that run a program read from standard input.
fn is_interpreter(program: &str) -> bool {
    matches!(
        program,
        "sh" | "bash"
            | "dash"
            | "zsh"
            | "ksh"
            | "ash"
            | "fish"
            | "perl"
            | "ruby"
            | "node"
            | "php"
            | "pwsh"
            | "powershell"
            | "iex"
            | "invoke-expression"
    ) || program.starts_with("python")
}

/// True when `command` (an interpreter) takes its program from standard input rather than
/// from a file argument or a `-c`/`-e` string.
fn reads_program_from_stdin(command: &Command, program: &str) -> bool {
    if matches!(program, "iex" | "invoke-expression") {
        return true;
    }
    let shell_family = matches!(
        program,
        "sh" | "bash" | "dash" | "zsh" | "ksh" | "ash" | "fish"
    );
    for argument in command.arguments() {
        let text = argument.text.as_str();
        if text == "-" || text == "--" || text == "/dev/stdin" {
            return true;
        }
        if let Some(flags) = text.strip_prefix('-') {
            let code_in_argument = if shell_family {
                !flags.starts_with('-') && flags.contains('c')
            } else {
                matches!(flags, "c" | "e" | "E" | "m" | "r" | "p")
                    || flags.starts_with("-eval")
                    || flags.starts_with("-command")
            };
            if code_in_argument {
                return false;
            }
            continue;
        }
        // A script file: standard input is data for it, not code.
        return false;
    }
    true
}

/// Every download-and-verification problem in a script.
pub(crate) fn check(script: &str) -> Vec<Issue> {
    let mut issues = Vec::new();
    for pipeline in parse(script) {
        check_pipe_to_interpreter(script, &pipeline, &mut issues);
        for command in &pipeline {
            check_substitution(script, command, &mut issues);
            check_verification(script, command, &mut issues);
        }
    }
    issues
}

fn check_pipe_to_interpreter(script: &str, pipeline: &Pipeline, issues: &mut Vec<Issue>) {
    let Some(download) = pipeline.iter().position(|command| {
        command
            .program()
            .is_some_and(|(_, p)| DOWNLOADERS.contains(&p.as_str()))
    }) else {
        return;
    };
    let runner = pipeline.iter().skip(download + 1).find_map(|command| {
        let (_, program) = command.program()?;
        (is_interpreter(&program) && reads_program_from_stdin(command, &program))
            .then_some((command, program))
    });
    let (Some(first), Some(last), Some((runner, program))) =
        (pipeline.get(download), pipeline.last(), runner)
    else {
        return;
    };
    let text = script.get(first.start..last.end).unwrap_or("");
    issues.push(Issue {
        rule: &rules::DOWNLOAD_PIPED_TO_INTERPRETER,
        offset: runner.start,
        message: format!(
            "A downloaded script is piped straight into `{program}`: whatever the server (or \
             anyone between it and the build) returns runs with the build's privileges, and \
             nothing records or verifies what ran"
        ),
        evidence: excerpt(text),
    });
}

/// `sh -c "$(curl …)"`, `bash <(wget …)`, `eval "$(curl …)"`.
fn check_substitution(script: &str, command: &Command, issues: &mut Vec<Issue>) {
    let Some((_, program)) = command.program() else {
        return;
    };
    if !(is_interpreter(&program) || matches!(program.as_str(), "eval" | "source" | ".")) {
        return;
    }
    let downloads = command.arguments().iter().any(|argument| {
        let text = argument.text.to_ascii_lowercase();
        ["$(", "<(", "`"].iter().any(|open| {
            text.match_indices(open).any(|(at, _)| {
                let inner = text.get(at + open.len()..).unwrap_or("").trim_start();
                DOWNLOADERS
                    .iter()
                    .any(|d| inner.strip_prefix(d).is_some_and(|r| r.starts_with(' ')))
            })
        })
    });
    if downloads {
        issues.push(Issue {
            rule: &rules::DOWNLOAD_PIPED_TO_INTERPRETER,
            offset: command.start,
            message: format!(
                "`{program}` runs the output of a download directly: whatever the server \
                 returns is executed, unverified"
            ),
            evidence: excerpt(command.raw(script)),
        });
    }
}

fn check_verification(script: &str, command: &Command, issues: &mut Vec<Issue>) {
    let mut found: Vec<(&'static Rule, String)> = Vec::new();
    for (name, value) in command.assignments().chain(exported(command)) {
        if let Some(problem) = environment_setting(name, value) {
            found.push(problem);
        }
    }
    if let Some((_, program)) = command.program() {
        let arguments: Vec<&str> = command
            .arguments()
            .iter()
            .map(|w| w.text.as_str())
            .collect();
        if let Some(pip) = pip_arguments(&program, &arguments) {
            found.extend(check_pip(pip));
        } else if let Some(reason) = disables_verification(&program, &arguments) {
            found.push((&rules::DOWNLOAD_VERIFICATION_DISABLED, reason));
        }
    }
    for (rule, message) in found {
        issues.push(Issue {
            rule,
            offset: command.start,
            message,
            evidence: excerpt(command.raw(script)),
        });
    }
}

/// `export NAME=value` assignments.
fn exported(command: &Command) -> impl Iterator<Item = (&str, &str)> {
    let is_export = command
        .program()
        .is_some_and(|(_, p)| matches!(p.as_str(), "export" | "declare" | "set"));
    command
        .arguments()
        .iter()
        .filter(move |_| is_export)
        .filter_map(|w| w.text.split_once('='))
        .filter(|(name, _)| is_identifier(name))
}

/// The arguments after `pip` in `pip …`, `pip3 …`, `python -m pip …`, `uv pip …`; the flag
/// says whether it is uv (which does not merge indexes unless told to).
struct PipCall<'a> {
    arguments: &'a [&'a str],
    uv: bool,
}

fn pip_arguments<'a>(program: &str, arguments: &'a [&'a str]) -> Option<PipCall<'a>> {
    if program == "pip" || program.starts_with("pip3") || program == "pip2" {
        return Some(PipCall {
            arguments,
            uv: false,
        });
    }
    if program.starts_with("python") {
        let at = arguments.windows(2).position(|w| w == ["-m", "pip"])?;
        return Some(PipCall {
            arguments: arguments.get(at + 2..)?,
            uv: false,
        });
    }
    if program == "uv" && arguments.first() == Some(&"pip") {
        return Some(PipCall {
            arguments: arguments.get(1..)?,
            uv: true,
        });
    }
    None
}

/// The value of `--flag value` or `--flag=value` options.
fn option_values<'a>(arguments: &'a [&'a str], names: &[&'a str]) -> Vec<(&'a str, &'a str)> {
    let mut values = Vec::new();
    let mut iter = arguments.iter().peekable();
    while let Some(argument) = iter.next() {
        for name in names {
            if argument == name {
                if let Some(value) = iter.peek() {
                    values.push((*name, **value));
                }
            } else if let Some(value) = argument
                .strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('='))
            {
                values.push((*name, value));
            }
        }
    }
    values
}

fn check_pip(pip: PipCall<'_>) -> Vec<(&'static Rule, String)> {
    let mut found = Vec::new();
    for (_, host) in option_values(pip.arguments, &["--trusted-host"]) {
        found.push((
            &rules::DOWNLOAD_VERIFICATION_DISABLED,
            format!(
                "`--trusted-host {host}` turns off TLS certificate checks for that host: a \
                 machine in the middle can serve any package"
            ),
        ));
    }
    let index_options = [
        "-i",
        "--index-url",
        "--extra-index-url",
        "-f",
        "--find-links",
        "--index",
        "--default-index",
    ];
    for (option, url) in option_values(pip.arguments, &index_options) {
        if url.to_ascii_lowercase().starts_with("http://") {
            found.push((
                &rules::DOWNLOAD_VERIFICATION_DISABLED,
                format!(
                    "`{option} {url}` fetches packages over plain HTTP: anyone on the path can \
                     replace them"
                ),
            ));
        }
    }
    let unsafe_strategy = option_values(pip.arguments, &["--index-strategy"])
        .iter()
        .any(|(_, strategy)| strategy.starts_with("unsafe"));
    if !pip.uv || unsafe_strategy {
        for (_, url) in option_values(pip.arguments, &["--extra-index-url"]) {
            found.push((
                &rules::DOWNLOAD_PIP_EXTRA_INDEX,
                format!(
                    "`--extra-index-url {url}` makes pip pick the highest version of each \
                     package from PyPI and {url} together: anyone can publish a package on PyPI \
                     under a name that only exists on {url} (the 2022 `torchtriton` attack on \
                     PyTorch nightly installs)"
                ),
            ));
        }
    }
    found
}

fn disables_verification(program: &str, arguments: &[&str]) -> Option<String> {
    let has = |flag: &str| arguments.iter().any(|a| a.eq_ignore_ascii_case(flag));
    match program {
        "curl" => {
            let insecure = arguments.iter().any(|a| {
                *a == "--insecure"
                    || a.strip_prefix('-').is_some_and(|cluster| {
                        !cluster.starts_with('-')
                            && cluster.chars().all(|c| c.is_ascii_alphabetic())
                            && cluster.contains('k')
                    })
            });
            insecure.then(|| {
                "`curl -k`/`--insecure` accepts any TLS certificate: a machine in the middle can \
                 serve the download"
                    .to_owned()
            })
        }
        "wget" => has("--no-check-certificate").then(|| {
            "`wget --no-check-certificate` accepts any TLS certificate: a machine in the middle \
             can serve the download"
                .to_owned()
        }),
        "git" => {
            let off = arguments.windows(2).any(|w| {
                let [a, b] = w else { return false };
                let a = a.to_ascii_lowercase();
                let b = b.to_ascii_lowercase();
                (a == "-c" && b.replace(' ', "") == "http.sslverify=false")
                    || (a == "http.sslverify" && b == "false")
            });
            off.then(|| {
                "git is told not to verify TLS certificates (`http.sslVerify=false`): cloned code \
                 can be replaced in transit"
                    .to_owned()
            })
        }
        "apt" | "apt-get" | "aptitude" => {
            let off = has("--allow-unauthenticated")
                || has("--allow-insecure-repositories")
                || arguments.iter().any(|a| {
                    let a = a.to_ascii_lowercase();
                    a.contains("allowunauthenticated=true")
                        || a.contains("allowinsecurerepositories=true")
                });
            off.then(|| {
                "apt is told to install packages whose repository signature it cannot verify"
                    .to_owned()
            })
        }
        "apk" => has("--allow-untrusted").then(|| {
            "`apk --allow-untrusted` installs packages without a valid signature".to_owned()
        }),
        "yum" | "dnf" | "microdnf" | "tdnf" | "zypper" => (has("--nogpgcheck")
            || has("--no-gpg-checks"))
        .then(|| {
            format!("`{program}` is told to install packages without checking their GPG signature")
        }),
        "npm" | "yarn" | "pnpm" => {
            let off = has("--strict-ssl=false")
                || arguments
                    .windows(2)
                    .any(|w| w == ["strict-ssl", "false"] || w == ["--strict-ssl", "false"]);
            off.then(|| {
                format!("`{program}` is told not to verify the registry's TLS certificate (`strict-ssl false`)")
            })
        }
        _ => None,
    }
}

/// Environment variables that switch off verification or widen where packages come from,
/// wherever they are set (shell `export`, Dockerfile `ENV`, CI `env:`/`variables:`).
pub(crate) fn environment_setting(name: &str, value: &str) -> Option<(&'static Rule, String)> {
    let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
    let disabled = |what: &str| {
        Some((
            &rules::DOWNLOAD_VERIFICATION_DISABLED,
            format!("`{name}={value}` {what}"),
        ))
    };
    match name {
        "GIT_SSL_NO_VERIFY" if !value.is_empty() && value != "0" && value != "false" => {
            disabled("turns off TLS certificate checks for every git clone and fetch")
        }
        "PYTHONHTTPSVERIFY" if value == "0" => {
            disabled("turns off TLS certificate checks in Python's standard library")
        }
        "NODE_TLS_REJECT_UNAUTHORIZED" if value == "0" => {
            disabled("makes Node.js accept any TLS certificate")
        }
        "PIP_TRUSTED_HOST" if !value.is_empty() => {
            disabled("turns off pip's TLS certificate checks for those hosts")
        }
        "PIP_INDEX_URL" | "PIP_EXTRA_INDEX_URL" | "PIP_FIND_LINKS"
            if value.to_ascii_lowercase().starts_with("http://") =>
        {
            disabled("makes pip fetch packages over plain HTTP")
        }
        "PIP_EXTRA_INDEX_URL" if !value.is_empty() => Some((
            &rules::DOWNLOAD_PIP_EXTRA_INDEX,
            format!(
                "`PIP_EXTRA_INDEX_URL={value}` makes every `pip install` pick the highest version \
                 of each package from PyPI and the extra index together: a package published on \
                 PyPI under a name that only exists on the extra index wins"
            ),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn programs(script: &str) -> Vec<Vec<String>> {
        parse(script)
            .iter()
            .map(|p| {
                p.iter()
                    .filter_map(|c| c.program().map(|(_, name)| name))
                    .collect()
            })
            .collect()
    }

    fn rule_ids(script: &str) -> Vec<&'static str> {
        check(script).iter().map(|i| i.rule.id).collect()
    }

    #[test]
    fn splits_pipelines_and_commands() {
        assert_eq!(
            programs("A=1 sudo -E curl -fsSL x | sudo -u root bash -s -- -v && echo 'a; b' ; ls"),
            vec![vec!["curl", "bash"], vec!["echo"], vec!["ls"]]
        );
        assert_eq!(
            programs("apt-get update \\\n && apt-get install -y x # note | sh\nnext"),
            vec![vec!["apt-get"], vec!["apt-get"], vec!["next"]]
        );
    }

    #[test]
    fn quotes_and_substitutions_stay_in_one_word() {
        let pipelines = parse("sh -c \"$(curl -fsSL https://x/install.sh)\" x");
        let words: Vec<&str> = pipelines[0][0]
            .words
            .iter()
            .map(|w| w.text.as_str())
            .collect();
        assert_eq!(
            words,
            ["sh", "-c", "$(curl -fsSL https://x/install.sh)", "x"]
        );
    }

    #[test]
    fn downloads_piped_into_interpreters_are_found() {
        for script in [
            "curl -fsSL https://get.example.sh | sh",
            "wget -qO- https://x/install | sudo bash -s -- --yes",
            "curl https://x | tee /tmp/i | python3 -",
            "curl -sL https://x | python",
            "sh -c \"$(curl -fsSL https://x/install.sh)\"",
            "bash <(wget -qO- https://x)",
            "iwr https://x/install.ps1 | iex",
        ] {
            assert_eq!(
                rule_ids(script),
                ["download/piped-to-interpreter"],
                "{script}"
            );
        }
    }

    #[test]
    fn downloads_that_are_saved_or_parsed_are_not_flagged() {
        for script in [
            "curl -fsSLo install.sh https://x && sha256sum -c sums && sh install.sh",
            "curl -s https://api/x | python3 -c 'import json,sys; print(json.load(sys.stdin))'",
            "curl -s https://x | jq .version",
            "curl -fsSL https://x | tar xz -C /opt",
            "wget -qO- https://x | python3 parse.py",
            "echo 'curl x | sh' > notes.txt",
        ] {
            assert!(rule_ids(script).is_empty(), "{script}: {:?}", check(script));
        }
    }

    #[test]
    fn verification_switched_off_is_found() {
        for script in [
            "curl -fsSLk https://x -o y",
            "curl --insecure https://x",
            "wget --no-check-certificate https://x",
            "pip install --trusted-host pypi.internal torch",
            "pip install -i http://pypi.internal/simple torch",
            "git -c http.sslVerify=false clone https://x",
            "apt-get install -y --allow-unauthenticated x",
            "export GIT_SSL_NO_VERIFY=1",
            "NODE_TLS_REJECT_UNAUTHORIZED=0 npm ci",
        ] {
            assert_eq!(
                rule_ids(script),
                ["download/verification-disabled"],
                "{script}"
            );
        }
        assert!(rule_ids("curl -fsSL -K config https://x").is_empty());
        assert!(rule_ids("pip install --index-url https://pypi.internal/simple x").is_empty());
    }

    #[test]
    fn extra_index_urls_are_found_for_pip_but_not_for_uv_by_default() {
        let pip =
            "python3 -m pip install torch --extra-index-url https://download.pytorch.org/whl/cu121";
        assert_eq!(rule_ids(pip), ["download/pip-extra-index-url"]);
        assert!(
            rule_ids("pip install --index-url https://download.pytorch.org/whl/cu121 torch")
                .is_empty()
        );
        assert!(rule_ids("uv pip install --extra-index-url https://x torch").is_empty());
        assert_eq!(
            rule_ids(
                "uv pip install --extra-index-url https://x --index-strategy unsafe-best-match torch"
            ),
            ["download/pip-extra-index-url"]
        );
    }

    #[test]
    fn redirects_are_recognised() {
        let pipelines = parse("echo $X >> $GITHUB_ENV; echo $X >&2; echo $X > /dev/stderr");
        let redirected: Vec<bool> = pipelines.iter().map(|p| p[0].redirects_to_file()).collect();
        assert_eq!(redirected, [true, false, false]);
    }

    #[test]
    fn positions_point_at_the_command() {
        let script = "set -e\ncurl -s https://x | bash\n";
        let issues = check(script);
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].offset, script.find("bash").unwrap());
    }
}
