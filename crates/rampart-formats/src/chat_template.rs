//! Static analysis of Jinja2 chat templates, the code that ships inside GGUF metadata
//! (`tokenizer.chat_template`) and `tokenizer_config.json`.
//!
//! A template rendered by a non-sandboxed Jinja2 environment can walk from any object to
//! Python's internals (`().__class__.__base__.__subclasses__()`, `cycler.__init__.__globals__`)
//! and run commands: CVE-2024-34359 in llama-cpp-python. This module never renders anything.
//! It tokenises the template like Jinja's lexer does, parses every expression, folds string
//! expressions built only from literals (`'__cla' ~ 'ss__'`, `'\x5f\x5fclass\x5f\x5f'`,
//! `['__', 'class', '__']|join`, `'__ssalc__'[::-1]`) and reports every attribute or item
//! lookup whose name reaches Python internals, the operating system, or cannot be known
//! before rendering.

use std::collections::{HashMap, HashSet};

use rampart_core::rules::{LIMIT_EXCEEDED, MALFORMED};
use rampart_core::{Finding, Limits, Location, Reference, Rule, Severity};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::capped::CappedFindings;

const TEMPLATE_REFS: &[Reference] = &[
    Reference::Cwe(1336),
    Reference::Cwe(94),
    Reference::Atlas("AML.T0010.003"),
    Reference::Atlas("AML.T0050"),
    Reference::Owasp("LLM03:2025"),
    Reference::Owasp("ML06:2023"),
    Reference::Advisory("CVE-2024-34359"),
];

pub static TEMPLATE_PYTHON_INTERNALS: Rule = Rule {
    id: "template/python-internals",
    scanner: "model",
    severity: Severity::Critical,
    title: "Chat template reaches Python internals",
    description: "The Jinja2 chat template looks up a dunder attribute (`__class__`, `__globals__`, \
                  `__subclasses__`, …), a private attribute, or a frame/code attribute (`mro`, \
                  `gi_frame`, `f_globals`, …), possibly hidden behind string escapes, \
                  concatenation or `|attr`. No chat template needs these: they are the first steps \
                  of a server-side template injection that escapes to `os.popen` when the template \
                  is rendered without Jinja2's sandbox (CVE-2024-34359, llama-cpp-python).",
    remediation: "Do not load the model or tokenizer. Replace the chat template with the one \
                  published by the model's authors, and render templates only with \
                  jinja2.sandbox.ImmutableSandboxedEnvironment.",
    references: TEMPLATE_REFS,
};

pub static TEMPLATE_GADGET_GLOBAL: Rule = Rule {
    id: "template/gadget-global",
    scanner: "model",
    severity: Severity::High,
    title: "Chat template takes attributes of a Jinja global",
    description: "The chat template reads attributes of a Jinja2 global object such as `cycler`, \
                  `joiner`, `lipsum`, `namespace`, `range`, `self` or a Flask global (`config`, \
                  `request`, `url_for`, `get_flashed_messages`). Chat templates call these at \
                  most; reading their attributes is how template injection payloads reach a \
                  function's `__globals__` and from there the `os` module.",
    remediation: "Treat the template as malicious: replace it with the model authors' template \
                  and render templates only in Jinja2's sandboxed environment.",
    references: TEMPLATE_REFS,
};

pub static TEMPLATE_OS_ACCESS: Rule = Rule {
    id: "template/os-access",
    scanner: "model",
    severity: Severity::High,
    title: "Chat template names operating-system or interpreter functions",
    description: "The chat template uses a name that reaches the operating system or the Python \
                  interpreter (`os`, `popen`, `system`, `subprocess`, `eval`, `exec`, `open`, \
                  `import_module`, `builtins`, `getattr`, …) as a variable or attribute. A chat \
                  template only formats messages; these names only make sense in a payload that \
                  runs commands or reads files when the template is rendered.",
    remediation: "Do not load the model or tokenizer. Replace the chat template with the model \
                  authors' template and render templates only in Jinja2's sandboxed environment.",
    references: TEMPLATE_REFS,
};

pub static TEMPLATE_COMPUTED_ATTRIBUTE: Rule = Rule {
    id: "template/computed-attribute",
    scanner: "model",
    severity: Severity::High,
    title: "Chat template looks up an attribute whose name is computed",
    description: "The chat template passes a name that is not a plain literal to `|attr(...)` (or \
                  to an `attribute=` argument, or builds a lookup key from escapes rampart cannot \
                  decode), so the attribute it reads is only known at render time. Benign \
                  templates name attributes literally; computed names are how payloads hide \
                  `__class__` or `__globals__` from filters.",
    remediation: "Inspect the template by hand. Replace it with the model authors' template and \
                  render templates only in Jinja2's sandboxed environment.",
    references: TEMPLATE_REFS,
};

/// Attribute names that lead from any object to code, frames or globals. The sandbox of
/// Jinja2 blocks the same set (`jinja2.sandbox.UNSAFE_*_ATTRIBUTES` plus `mro`).
const FRAME_AND_CODE_ATTRIBUTES: &[&str] = &[
    "mro",
    "func_globals",
    "func_code",
    "func_closure",
    "func_defaults",
    "func_dict",
    "im_class",
    "im_func",
    "im_self",
    "gi_frame",
    "gi_code",
    "gi_yieldfrom",
    "cr_frame",
    "cr_code",
    "cr_await",
    "ag_frame",
    "ag_code",
    "f_globals",
    "f_locals",
    "f_builtins",
    "f_back",
    "f_code",
    "tb_frame",
    "tb_next",
    "co_code",
];

/// Names that reach the operating system or the interpreter's import and eval machinery.
const OS_NAMES: &[&str] = &[
    "os",
    "sys",
    "posix",
    "nt",
    "popen",
    "Popen",
    "system",
    "subprocess",
    "check_output",
    "check_call",
    "getoutput",
    "getstatusoutput",
    "spawnl",
    "spawnlp",
    "spawnv",
    "spawnvp",
    "posix_spawn",
    "execl",
    "execlp",
    "execv",
    "execve",
    "execvp",
    "eval",
    "exec",
    "execfile",
    "compile",
    "import_module",
    "importlib",
    "load_module",
    "open",
    "builtins",
    "getattr",
    "setattr",
    "delattr",
    "globals",
    "locals",
    "modules",
    "environ",
];

/// Jinja2 (and Flask) globals whose attributes lead to a function's `__globals__`.
const GADGET_GLOBALS: &[&str] = &[
    "cycler",
    "joiner",
    "lipsum",
    "namespace",
    "range",
    "dict",
    "self",
    "config",
    "request",
    "url_for",
    "get_flashed_messages",
    "g",
    "session",
];

/// Filters that read the attribute named by their `attribute=` argument (dotted paths allowed).
const ATTRIBUTE_FILTERS: &[&str] = &[
    "map",
    "selectattr",
    "rejectattr",
    "sort",
    "groupby",
    "sum",
    "unique",
    "min",
    "max",
    "join",
];

/// Longest string (in characters) or list the folder builds; beyond it a value counts as
/// computed, which keeps `'x' * 10**9` from allocating.
const MAX_FOLDED_LEN: usize = 4096;
/// Jinja2 itself is bounded by Python's recursion limit; no real template nests this deep.
const MAX_NESTING: usize = 100;
/// Operators, lookups, calls and filters one tag may chain: each wraps the expression so
/// far, so the chain's length is the depth of the tree the checks walk recursively.
/// Python's compiler gives up on far shorter chains than this.
const MAX_CHAIN: usize = 500;
/// How much of the offending tag goes into a finding's evidence.
const MAX_EVIDENCE_CHARS: usize = 200;

/// Analyses one template. When `location` carries a byte offset (a template embedded in
/// GGUF metadata or JSON), findings keep that offset and name the line and column inside the
/// template in their message; otherwise they point at the line and column.
pub fn scan_template(template: &str, location: &Location, out: &mut Vec<Finding>) {
    let mut capped = CappedFindings::new(out);
    let mut analyzer = Analyzer {
        template,
        lines: LineIndex::new(template),
        location,
        env: HashMap::new(),
        bound: HashSet::new(),
        out: &mut capped,
    };
    let mut lexer = Lexer {
        src: template,
        pos: 0,
    };
    loop {
        match lexer.next_tag() {
            Ok(Some(tag)) => analyzer.analyze_tag(&tag),
            Ok(None) => break,
            Err(error) => {
                analyzer.malformed(error.pos, &error.what);
                break;
            }
        }
    }
    capped.finish();
}

/// Analyses every chat template of a `tokenizer_config.json`-like document: the top-level
/// `chat_template` key holding a string or a list of `{name, template}` objects. Every
/// occurrence of a duplicated key is analysed, since loaders disagree on which one wins.
pub fn scan_tokenizer_config(
    json: &[u8],
    location: &Location,
    limits: &Limits,
    out: &mut Vec<Finding>,
) {
    if json.len() as u64 > limits.max_header_bytes {
        out.push(Finding::new(
            &LIMIT_EXCEEDED,
            location.clone(),
            format!(
                "JSON document of {} bytes exceeds max_header_bytes ({}); its chat templates were not analysed",
                json.len(),
                limits.max_header_bytes
            ),
        ));
        return;
    }
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    let parsed = TopLevel
        .deserialize(&mut deserializer)
        .and_then(|templates| deserializer.end().map(|()| templates));
    let templates = match parsed {
        Ok(templates) => templates,
        Err(error) => {
            out.push(Finding::new(
                &MALFORMED,
                location.clone(),
                format!("not valid JSON, chat templates not analysed: {error}"),
            ));
            return;
        }
    };
    let mut offsets = TemplateOffsets::new(json);
    for entry in templates {
        match entry {
            ChatTemplateField::Single(template) => {
                let offset = offsets.next_value(b"\"chat_template\"");
                scan_template(&template, &location.at(offset), out);
            }
            ChatTemplateField::Named(list) => {
                offsets.next_value(b"\"chat_template\"");
                for named in list {
                    let offset = offsets.next_value(b"\"template\"");
                    let where_ = location.at(offset);
                    scan_template(&named.template, &where_, out);
                }
            }
            ChatTemplateField::Null => {
                offsets.next_value(b"\"chat_template\"");
            }
            ChatTemplateField::Invalid(kind) => {
                let offset = offsets.next_value(b"\"chat_template\"");
                out.push(Finding::new(
                    &MALFORMED,
                    location.at(offset),
                    format!(
                        "`chat_template` is {kind}, neither a string nor a list of {{name, template}} objects"
                    ),
                ));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// tokenizer_config.json

enum ChatTemplateField {
    Single(String),
    Named(Vec<NamedTemplate>),
    Null,
    Invalid(&'static str),
}

#[derive(Deserialize)]
struct NamedTemplate {
    template: String,
}

/// Collects the top-level `chat_template` values without building the rest of the document
/// (a tokenizer config can hold megabytes of added tokens).
struct TopLevel;

impl<'de> DeserializeSeed<'de> for TopLevel {
    type Value = Vec<ChatTemplateField>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TopLevel {
    type Value = Vec<ChatTemplateField>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON document")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = Vec::new();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == "chat_template" {
                found.push(map.next_value_seed(FieldSeed)?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Vec::new())
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
}

struct FieldSeed;

impl<'de> DeserializeSeed<'de> for FieldSeed {
    type Value = ChatTemplateField;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FieldSeed {
    type Value = ChatTemplateField;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a template string or a list of {name, template} objects")
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(ChatTemplateField::Single(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(ChatTemplateField::Single(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut list = Vec::new();
        while let Some(named) = seq.next_element::<NamedTemplate>()? {
            list.push(named);
        }
        Ok(ChatTemplateField::Named(list))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(ChatTemplateField::Null)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(ChatTemplateField::Invalid("an object"))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(ChatTemplateField::Invalid("a boolean"))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(ChatTemplateField::Invalid("a number"))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(ChatTemplateField::Invalid("a number"))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(ChatTemplateField::Invalid("a number"))
    }
}

/// Finds where each template value starts in the raw JSON, for locations. serde does not
/// report positions, so this walks the document's key occurrences in order; a key spelled
/// with escapes is not found and the location falls back to the previous position.
struct TemplateOffsets<'a> {
    json: &'a [u8],
    pos: usize,
}

impl<'a> TemplateOffsets<'a> {
    fn new(json: &'a [u8]) -> Self {
        TemplateOffsets { json, pos: 0 }
    }

    fn next_value(&mut self, quoted_key: &[u8]) -> u64 {
        let rest = self.json.get(self.pos..).unwrap_or_default();
        let mut search_from = 0;
        while let Some(found) = rest
            .get(search_from..)
            .and_then(|tail| memchr::memmem::find(tail, quoted_key))
        {
            let after_key = search_from + found + quoted_key.len();
            let mut value = after_key;
            let is_ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
            while rest.get(value).is_some_and(is_ws) {
                value += 1;
            }
            if rest.get(value) == Some(&b':') {
                value += 1;
                while rest.get(value).is_some_and(is_ws) {
                    value += 1;
                }
                self.pos += value;
                return self.pos as u64;
            }
            search_from = after_key;
        }
        self.pos as u64
    }
}

// ---------------------------------------------------------------------------------------
// Lexer: the tag and token rules of Jinja2's lexer (default delimiters).

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Name(String),
    Str(Lit),
    /// `None` for integers that do not fit or are written in another base.
    Int(Option<i64>),
    Float,
    Op(&'static str),
}

/// A decoded string literal. `exact` is false when it holds an escape rampart cannot decode
/// (an unknown `\N{...}` name, a lone surrogate): its real value is unknown.
#[derive(Clone, Debug, PartialEq)]
struct Lit {
    value: String,
    exact: bool,
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    pos: usize,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum TagKind {
    Expression,
    Statement,
}

#[derive(Debug)]
struct Tag {
    kind: TagKind,
    /// Byte range of the whole tag, delimiters included.
    start: usize,
    end: usize,
    tokens: Vec<Token>,
}

#[derive(Debug)]
struct LexError {
    pos: usize,
    what: String,
}

struct Lexer<'t> {
    src: &'t str,
    pos: usize,
}

const OPERATORS_2: &[&str] = &["//", "**", "==", "!=", ">=", "<="];
const OPERATORS_1: &[&str] = &[
    "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}", ">", "<", "=", ".", ":", "|", ",",
    ";",
];

impl<'t> Lexer<'t> {
    fn bytes(&self) -> &'t [u8] {
        self.src.as_bytes()
    }

    /// The next `{{ }}` or `{% %}` tag, skipping text, comments and raw blocks.
    fn next_tag(&mut self) -> Result<Option<Tag>, LexError> {
        let bytes = self.bytes();
        loop {
            let Some(found) = bytes
                .get(self.pos..)
                .and_then(|rest| memchr::memchr(b'{', rest))
            else {
                self.pos = bytes.len();
                return Ok(None);
            };
            let start = self.pos + found;
            match bytes.get(start + 1) {
                Some(b'#') => {
                    let Some(end) = find(bytes, start + 2, b"#}") else {
                        return Err(LexError {
                            pos: start,
                            what: "comment `{#` is never closed".to_owned(),
                        });
                    };
                    self.pos = end + 2;
                }
                Some(b'%') => {
                    if let Some(after_raw) = self.raw_block_end(start)? {
                        self.pos = after_raw;
                        continue;
                    }
                    return self.lex_tag(start, TagKind::Statement).map(Some);
                }
                Some(b'{') => return self.lex_tag(start, TagKind::Expression).map(Some),
                _ => self.pos = start + 1,
            }
        }
    }

    /// When the tag at `start` is `{% raw %}`, where the matching `{% endraw %}` ends.
    fn raw_block_end(&self, start: usize) -> Result<Option<usize>, LexError> {
        let Some(after_open) = match_keyword_tag(self.bytes(), start, b"raw") else {
            return Ok(None);
        };
        let mut search = after_open;
        while let Some(candidate) = find(self.bytes(), search, b"{%") {
            if let Some(end) = match_keyword_tag(self.bytes(), candidate, b"endraw") {
                return Ok(Some(end));
            }
            search = candidate + 2;
        }
        Err(LexError {
            pos: start,
            what: "`{% raw %}` block is never closed".to_owned(),
        })
    }

    fn lex_tag(&mut self, start: usize, kind: TagKind) -> Result<Tag, LexError> {
        let bytes = self.bytes();
        let close: &[u8] = match kind {
            TagKind::Expression => b"}}",
            TagKind::Statement => b"%}",
        };
        let mut pos = start + 2;
        if matches!(bytes.get(pos), Some(b'-' | b'+')) {
            pos += 1;
        }
        let mut tokens: Vec<Token> = Vec::new();
        let mut balance: Vec<u8> = Vec::new();
        loop {
            while bytes.get(pos).is_some_and(u8::is_ascii_whitespace) {
                pos += 1;
            }
            if pos >= bytes.len() {
                return Err(LexError {
                    pos: start,
                    what: format!(
                        "tag is never closed with `{}`",
                        String::from_utf8_lossy(close)
                    ),
                });
            }
            if balance.is_empty() {
                let ws_control = matches!(bytes.get(pos), Some(b'-' | b'+'));
                let at = if ws_control { pos + 1 } else { pos };
                if bytes.get(at..at + 2) == Some(close) {
                    self.pos = at + 2;
                    return Ok(Tag {
                        kind,
                        start,
                        end: at + 2,
                        tokens,
                    });
                }
            }
            let after_dot = matches!(
                tokens.last(),
                Some(Token {
                    tok: Tok::Op("."),
                    ..
                })
            );
            let (tok, next) = self.lex_token(pos, after_dot)?;
            if let Tok::Op(op) = tok {
                match op {
                    "(" => balance.push(b')'),
                    "[" => balance.push(b']'),
                    "{" => balance.push(b'}'),
                    ")" | "]" | "}" if balance.pop() != op.as_bytes().first().copied() => {
                        return Err(LexError {
                            pos,
                            what: format!("unbalanced `{op}`"),
                        });
                    }
                    _ => {}
                }
            }
            tokens.push(Token { tok, pos });
            pos = next;
        }
    }

    fn lex_token(&self, pos: usize, after_dot: bool) -> Result<(Tok, usize), LexError> {
        let bytes = self.bytes();
        let rest = self.src.get(pos..).unwrap_or_default();
        let Some(c) = rest.chars().next() else {
            return Err(LexError {
                pos,
                what: "unexpected end of template".to_owned(),
            });
        };
        if c == '\'' || c == '"' {
            return lex_string(self.src, pos);
        }
        if c.is_ascii_digit() {
            return Ok(lex_number(bytes, pos, after_dot));
        }
        if c == '_' || c.is_alphabetic() {
            let len = rest
                .char_indices()
                .find(|&(_, ch)| !(ch == '_' || ch.is_alphanumeric()))
                .map_or(rest.len(), |(i, _)| i);
            return Ok((Tok::Name(rest[..len].to_owned()), pos + len));
        }
        for op in OPERATORS_2.iter().chain(OPERATORS_1) {
            if rest.starts_with(op) {
                return Ok((Tok::Op(op), pos + op.len()));
            }
        }
        Err(LexError {
            pos,
            what: format!("unexpected character {c:?}"),
        })
    }
}

fn find(haystack: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    haystack
        .get(from..)
        .and_then(|rest| memchr::memmem::find(rest, needle))
        .map(|i| from + i)
}

/// Matches `{%[-+]? keyword [-+]?%}` at `start`; returns the end of the tag.
fn match_keyword_tag(bytes: &[u8], start: usize, keyword: &[u8]) -> Option<usize> {
    let mut pos = start + 2;
    if matches!(bytes.get(pos), Some(b'-' | b'+')) {
        pos += 1;
    }
    while bytes.get(pos).is_some_and(u8::is_ascii_whitespace) {
        pos += 1;
    }
    if bytes.get(pos..pos + keyword.len()) != Some(keyword) {
        return None;
    }
    pos += keyword.len();
    let keyword_ends = !bytes
        .get(pos)
        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_');
    if !keyword_ends {
        return None;
    }
    while bytes.get(pos).is_some_and(u8::is_ascii_whitespace) {
        pos += 1;
    }
    if matches!(bytes.get(pos), Some(b'-' | b'+')) {
        pos += 1;
    }
    (bytes.get(pos..pos + 2) == Some(b"%}")).then_some(pos + 2)
}

fn lex_number(bytes: &[u8], pos: usize, after_dot: bool) -> (Tok, usize) {
    let word_end = |mut i: usize| {
        while bytes
            .get(i)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
        {
            i += 1;
        }
        i
    };
    let mut end = word_end(pos);
    let word = &bytes[pos..end];
    let has_exponent = word.iter().any(|b| matches!(b, b'e' | b'E')) && !word.starts_with(b"0x");
    let has_fraction = !after_dot
        && bytes.get(end) == Some(&b'.')
        && bytes.get(end + 1).is_some_and(u8::is_ascii_digit);
    if has_fraction {
        end = word_end(end + 1);
        // An exponent sign splits the word: `1.5e-3`.
        if matches!(bytes.get(end.wrapping_sub(1)), Some(b'e' | b'E'))
            && matches!(bytes.get(end), Some(b'+' | b'-'))
        {
            end = word_end(end + 1);
        }
        return (Tok::Float, end);
    }
    if has_exponent {
        if matches!(bytes.get(end.wrapping_sub(1)), Some(b'e' | b'E'))
            && matches!(bytes.get(end), Some(b'+' | b'-'))
        {
            end = word_end(end + 1);
        }
        return (Tok::Float, end);
    }
    let digits: String = word
        .iter()
        .filter(|b| **b != b'_')
        .map(|b| char::from(*b))
        .collect();
    (Tok::Int(digits.parse::<i64>().ok()), end)
}

/// Lexes a string literal at `pos` and decodes it like Jinja2 does (Python's
/// `unicode-escape`), so `'\x5f\x5fclass\x5f\x5f'` is seen as `__class__`.
fn lex_string(src: &str, pos: usize) -> Result<(Tok, usize), LexError> {
    let bytes = src.as_bytes();
    let quote = bytes[pos];
    let mut i = pos + 1;
    loop {
        match bytes.get(i) {
            None => {
                return Err(LexError {
                    pos,
                    what: "string literal is never closed".to_owned(),
                });
            }
            Some(b'\\') => i += 2,
            Some(&b) if b == quote => break,
            Some(_) => i += 1,
        }
    }
    let raw = src.get(pos + 1..i).ok_or_else(|| LexError {
        pos,
        what: "string literal is not valid text".to_owned(),
    })?;
    let lit = decode_python_escapes(raw).map_err(|what| LexError { pos, what })?;
    Ok((Tok::Str(lit), i + 1))
}

fn decode_python_escapes(raw: &str) -> Result<Lit, String> {
    let normalized = raw.replace("\r\n", "\n").replace('\r', "\n");
    let mut value = String::with_capacity(normalized.len());
    let mut exact = true;
    let mut chars = normalized.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            value.push(c);
            continue;
        }
        let Some(e) = chars.next() else {
            return Err("string literal ends with a backslash".to_owned());
        };
        match e {
            '\n' => {}
            '\\' | '\'' | '"' => value.push(e),
            'a' => value.push('\x07'),
            'b' => value.push('\x08'),
            'f' => value.push('\x0c'),
            'n' => value.push('\n'),
            'r' => value.push('\r'),
            't' => value.push('\t'),
            'v' => value.push('\x0b'),
            '0'..='7' => {
                let mut code = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match chars.peek().and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            code = code * 8 + d;
                            chars.next();
                        }
                        None => break,
                    }
                }
                push_code_point(&mut value, &mut exact, code);
            }
            'x' | 'u' | 'U' => {
                let width = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let mut code: u32 = 0;
                for _ in 0..width {
                    let digit = chars.next().and_then(|d| d.to_digit(16));
                    let Some(digit) = digit else {
                        return Err(format!("truncated \\{e} escape in string literal"));
                    };
                    code = code.wrapping_mul(16).wrapping_add(digit);
                }
                if code > 0x10_FFFF {
                    return Err(format!("\\{e} escape out of range in string literal"));
                }
                push_code_point(&mut value, &mut exact, code);
            }
            'N' => {
                if chars.next() != Some('{') {
                    return Err("malformed \\N escape in string literal".to_owned());
                }
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(ch) if name.len() < 128 => name.push(ch),
                        _ => return Err("malformed \\N{...} escape in string literal".to_owned()),
                    }
                }
                match char_by_unicode_name(&name) {
                    Some(ch) => value.push(ch),
                    None => {
                        exact = false;
                        value.push(char::REPLACEMENT_CHARACTER);
                    }
                }
            }
            other => {
                // Python keeps unknown escapes verbatim.
                value.push('\\');
                value.push(other);
                if !other.is_ascii() {
                    exact = false;
                }
            }
        }
    }
    Ok(Lit { value, exact })
}

fn push_code_point(value: &mut String, exact: &mut bool, code: u32) {
    match char::from_u32(code) {
        Some(ch) => value.push(ch),
        None => {
            *exact = false;
            value.push(char::REPLACEMENT_CHARACTER);
        }
    }
}

/// The `\N{...}` names a payload needs to spell identifiers; anything else is reported as
/// undecodable rather than guessed.
fn char_by_unicode_name(name: &str) -> Option<char> {
    let name = name.trim().to_ascii_uppercase();
    let single = |rest: &str| {
        let mut chars = rest.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => Some(c),
            _ => None,
        }
    };
    if let Some(letter) = name.strip_prefix("LATIN SMALL LETTER ") {
        return single(letter)
            .filter(char::is_ascii_uppercase)
            .map(|c| c.to_ascii_lowercase());
    }
    if let Some(letter) = name.strip_prefix("LATIN CAPITAL LETTER ") {
        return single(letter).filter(char::is_ascii_uppercase);
    }
    if let Some(digit) = name.strip_prefix("DIGIT ") {
        const DIGITS: [&str; 10] = [
            "ZERO", "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE",
        ];
        return DIGITS
            .iter()
            .position(|d| *d == digit)
            .and_then(|i| char::from_digit(i as u32, 10));
    }
    match name.as_str() {
        "LOW LINE" => Some('_'),
        "SPACE" => Some(' '),
        "FULL STOP" => Some('.'),
        "HYPHEN-MINUS" => Some('-'),
        "SOLIDUS" => Some('/'),
        "COLON" => Some(':'),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// Parser: Jinja2's expression grammar, to an AST that keeps only what the checks need.

#[derive(Debug)]
enum Expr {
    Name {
        name: String,
    },
    Str(Lit),
    Int(Option<i64>),
    /// Floats, booleans, `none`: never part of a name.
    Other,
    /// Lists and tuples.
    List(Vec<Expr>),
    Dict(Vec<(Expr, Expr)>),
    Attr {
        obj: Box<Expr>,
        name: String,
    },
    Item {
        obj: Box<Expr>,
        key: Box<Expr>,
        pos: usize,
    },
    Slice {
        start: Option<Box<Expr>>,
        stop: Option<Box<Expr>>,
        step: Option<Box<Expr>>,
    },
    Call {
        callee: Box<Expr>,
        args: Args,
    },
    Filter {
        obj: Box<Expr>,
        name: String,
        args: Args,
        pos: usize,
    },
    Test {
        obj: Box<Expr>,
        args: Args,
    },
    Unary(Box<Expr>),
    Binary {
        op: &'static str,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    Cond {
        then: Box<Expr>,
        cond: Box<Expr>,
        otherwise: Option<Box<Expr>>,
    },
    /// What `{% filter %}` and a block `{% set %}` apply their filters to: rendered text.
    Placeholder,
}

#[derive(Debug, Default)]
struct Args {
    positional: Vec<Expr>,
    keyword: Vec<(String, Expr)>,
    /// `*args` and `**kwargs`.
    spread: Vec<Expr>,
}

#[derive(Debug)]
struct ParseError {
    pos: usize,
    what: String,
}

type Parsed<T> = Result<T, ParseError>;

struct Parser<'t> {
    tokens: &'t [Token],
    i: usize,
    depth: usize,
    /// Expressions wrapped so far (see [`MAX_CHAIN`]).
    chained: usize,
    /// Where the tag ends, for errors at its end.
    end: usize,
}

impl<'t> Parser<'t> {
    fn new(tokens: &'t [Token], end: usize) -> Self {
        Parser {
            tokens,
            i: 0,
            depth: 0,
            chained: 0,
            end,
        }
    }

    fn peek(&self) -> Option<&'t Tok> {
        self.tokens.get(self.i).map(|t| &t.tok)
    }

    fn peek_at(&self, ahead: usize) -> Option<&'t Tok> {
        self.tokens.get(self.i + ahead).map(|t| &t.tok)
    }

    fn pos(&self) -> usize {
        self.tokens.get(self.i).map_or(self.end, |t| t.pos)
    }

    fn at_end(&self) -> bool {
        self.i >= self.tokens.len()
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Some(Tok::Op(o)) if *o == op)
    }

    fn is_name(&self, name: &str) -> bool {
        matches!(self.peek(), Some(Tok::Name(n)) if n == name)
    }

    fn eat_op(&mut self, op: &str) -> bool {
        let hit = self.is_op(op);
        if hit {
            self.i += 1;
        }
        hit
    }

    fn eat_name(&mut self, name: &str) -> bool {
        let hit = self.is_name(name);
        if hit {
            self.i += 1;
        }
        hit
    }

    fn fail<T>(&self, what: impl Into<String>) -> Parsed<T> {
        Err(ParseError {
            pos: self.pos(),
            what: what.into(),
        })
    }

    fn expect_op(&mut self, op: &str) -> Parsed<()> {
        if self.eat_op(op) {
            Ok(())
        } else {
            self.fail(format!("expected `{op}`"))
        }
    }

    fn expect_name(&mut self) -> Parsed<String> {
        match self.peek() {
            Some(Tok::Name(name)) => {
                self.i += 1;
                Ok(name.clone())
            }
            _ => self.fail("expected a name"),
        }
    }

    fn expect_end(&self) -> Parsed<()> {
        if self.at_end() {
            Ok(())
        } else {
            self.fail("unexpected token")
        }
    }

    fn enter(&mut self) -> Parsed<()> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return self.fail(format!(
                "expression nested deeper than {MAX_NESTING} levels"
            ));
        }
        Ok(())
    }

    fn chain(&mut self) -> Parsed<()> {
        self.chained += 1;
        if self.chained > MAX_CHAIN {
            return self.fail(format!(
                "more than {MAX_CHAIN} chained operations in one tag"
            ));
        }
        Ok(())
    }

    fn leave<T>(&mut self, result: T) -> T {
        self.depth -= 1;
        result
    }

    fn parse_expression(&mut self, with_condexpr: bool) -> Parsed<Expr> {
        if with_condexpr {
            self.parse_condexpr()
        } else {
            self.parse_or()
        }
    }

    fn parse_condexpr(&mut self) -> Parsed<Expr> {
        self.enter()?;
        let mut expr = self.parse_or()?;
        while self.eat_name("if") {
            let cond = self.parse_or()?;
            let otherwise = if self.eat_name("else") {
                Some(Box::new(self.parse_condexpr()?))
            } else {
                None
            };
            self.chain()?;
            expr = Expr::Cond {
                then: Box::new(expr),
                cond: Box::new(cond),
                otherwise,
            };
        }
        Ok(self.leave(expr))
    }

    fn parse_or(&mut self) -> Parsed<Expr> {
        let mut lhs = self.parse_and()?;
        while self.eat_name("or") {
            let rhs = self.parse_and()?;
            self.chain()?;
            lhs = binary("or", lhs, rhs);
        }
        Ok(lhs)
    }

    fn parse_and(&mut self) -> Parsed<Expr> {
        let mut lhs = self.parse_not()?;
        while self.eat_name("and") {
            let rhs = self.parse_not()?;
            self.chain()?;
            lhs = binary("and", lhs, rhs);
        }
        Ok(lhs)
    }

    fn parse_not(&mut self) -> Parsed<Expr> {
        if self.eat_name("not") {
            self.enter()?;
            let operand = self.parse_not()?;
            return Ok(self.leave(Expr::Unary(Box::new(operand))));
        }
        self.parse_compare()
    }

    fn parse_compare(&mut self) -> Parsed<Expr> {
        let mut lhs = self.parse_math1()?;
        loop {
            if let Some(Tok::Op(op @ ("==" | "!=" | ">" | ">=" | "<" | "<="))) = self.peek() {
                self.i += 1;
                let rhs = self.parse_math1()?;
                self.chain()?;
                lhs = binary(op, lhs, rhs);
            } else if self.eat_name("in") {
                let rhs = self.parse_math1()?;
                self.chain()?;
                lhs = binary("in", lhs, rhs);
            } else if self.is_name("not")
                && matches!(self.peek_at(1), Some(Tok::Name(n)) if n == "in")
            {
                self.i += 2;
                let rhs = self.parse_math1()?;
                self.chain()?;
                lhs = binary("not in", lhs, rhs);
            } else {
                return Ok(lhs);
            }
        }
    }

    fn parse_math1(&mut self) -> Parsed<Expr> {
        let mut lhs = self.parse_concat()?;
        while let Some(Tok::Op(op @ ("+" | "-"))) = self.peek() {
            self.i += 1;
            let rhs = self.parse_concat()?;
            self.chain()?;
            lhs = binary(op, lhs, rhs);
        }
        Ok(lhs)
    }

    fn parse_concat(&mut self) -> Parsed<Expr> {
        let mut lhs = self.parse_math2()?;
        while self.eat_op("~") {
            let rhs = self.parse_math2()?;
            self.chain()?;
            lhs = binary("~", lhs, rhs);
        }
        Ok(lhs)
    }

    fn parse_math2(&mut self) -> Parsed<Expr> {
        let mut lhs = self.parse_pow()?;
        while let Some(Tok::Op(op @ ("*" | "/" | "//" | "%"))) = self.peek() {
            self.i += 1;
            let rhs = self.parse_pow()?;
            self.chain()?;
            lhs = binary(op, lhs, rhs);
        }
        Ok(lhs)
    }

    fn parse_pow(&mut self) -> Parsed<Expr> {
        let mut lhs = self.parse_unary(true)?;
        while self.eat_op("**") {
            let rhs = self.parse_unary(true)?;
            self.chain()?;
            lhs = binary("**", lhs, rhs);
        }
        Ok(lhs)
    }

    fn parse_unary(&mut self, with_filter: bool) -> Parsed<Expr> {
        self.enter()?;
        let mut expr = if self.eat_op("-") || self.eat_op("+") {
            Expr::Unary(Box::new(self.parse_unary(false)?))
        } else {
            self.parse_primary()?
        };
        expr = self.parse_postfix(expr)?;
        if with_filter {
            expr = self.parse_filter_expr(expr)?;
        }
        Ok(self.leave(expr))
    }

    fn parse_primary(&mut self) -> Parsed<Expr> {
        let Some(token) = self.tokens.get(self.i) else {
            return self.fail("expected an expression");
        };
        self.i += 1;
        Ok(match &token.tok {
            Tok::Name(name) => match name.as_str() {
                "true" | "false" | "none" | "True" | "False" | "None" => Expr::Other,
                _ => Expr::Name { name: name.clone() },
            },
            Tok::Str(lit) => {
                // Adjacent literals concatenate, as in Python.
                let mut lit = lit.clone();
                while let Some(Tok::Str(next)) = self.peek() {
                    lit.value.push_str(&next.value);
                    lit.exact &= next.exact;
                    self.i += 1;
                }
                Expr::Str(lit)
            }
            Tok::Int(value) => Expr::Int(*value),
            Tok::Float => Expr::Other,
            Tok::Op("(") => {
                let inner = self.parse_tuple(true, true, false)?;
                self.expect_op(")")?;
                inner
            }
            Tok::Op("[") => {
                let mut items = Vec::new();
                while !self.is_op("]") {
                    if !items.is_empty() {
                        self.expect_op(",")?;
                        if self.is_op("]") {
                            break;
                        }
                    }
                    items.push(self.parse_expression(true)?);
                }
                self.expect_op("]")?;
                Expr::List(items)
            }
            Tok::Op("{") => {
                let mut items = Vec::new();
                while !self.is_op("}") {
                    if !items.is_empty() {
                        self.expect_op(",")?;
                        if self.is_op("}") {
                            break;
                        }
                    }
                    let key = self.parse_expression(true)?;
                    self.expect_op(":")?;
                    let value = self.parse_expression(true)?;
                    items.push((key, value));
                }
                self.expect_op("}")?;
                Expr::Dict(items)
            }
            _ => {
                self.i -= 1;
                return self.fail("expected an expression");
            }
        })
    }

    /// A comma-separated list that is a tuple when it has a comma; `for` iterables stop at
    /// `recursive`.
    fn parse_tuple(
        &mut self,
        with_condexpr: bool,
        explicit_parens: bool,
        for_iterable: bool,
    ) -> Parsed<Expr> {
        let mut items = Vec::new();
        let mut is_tuple = false;
        loop {
            if !items.is_empty() {
                self.expect_op(",")?;
            }
            let at_tuple_end =
                self.at_end() || self.is_op(")") || (for_iterable && self.is_name("recursive"));
            if at_tuple_end {
                break;
            }
            items.push(self.parse_expression(with_condexpr)?);
            if self.is_op(",") {
                is_tuple = true;
            } else {
                break;
            }
        }
        if !is_tuple && items.len() == 1 {
            return Ok(items.remove(0));
        }
        if items.is_empty() && !explicit_parens {
            return self.fail("expected an expression");
        }
        Ok(Expr::List(items))
    }

    fn parse_postfix(&mut self, mut expr: Expr) -> Parsed<Expr> {
        loop {
            if self.is_op(".") || self.is_op("[") {
                self.chain()?;
                expr = self.parse_subscript(expr)?;
            } else if self.is_op("(") {
                self.chain()?;
                expr = self.parse_call(expr)?;
            } else {
                return Ok(expr);
            }
        }
    }

    fn parse_filter_expr(&mut self, mut expr: Expr) -> Parsed<Expr> {
        loop {
            if self.is_op("|") {
                self.i += 1;
                self.chain()?;
                expr = self.parse_filter(expr)?;
            } else if self.is_name("is") {
                self.i += 1;
                self.chain()?;
                expr = self.parse_test(expr)?;
            } else if self.is_op("(") {
                self.chain()?;
                expr = self.parse_call(expr)?;
            } else {
                return Ok(expr);
            }
        }
    }

    fn parse_subscript(&mut self, obj: Expr) -> Parsed<Expr> {
        let pos = self.pos();
        if self.eat_op(".") {
            return match self.peek() {
                Some(Tok::Name(name)) => {
                    self.i += 1;
                    Ok(Expr::Attr {
                        obj: Box::new(obj),
                        name: name.clone(),
                    })
                }
                Some(Tok::Int(index)) => {
                    self.i += 1;
                    Ok(Expr::Item {
                        obj: Box::new(obj),
                        key: Box::new(Expr::Int(*index)),
                        pos,
                    })
                }
                _ => self.fail("expected an attribute name after `.`"),
            };
        }
        self.expect_op("[")?;
        let mut keys = vec![self.parse_subscribed()?];
        let mut is_tuple = false;
        while self.eat_op(",") {
            is_tuple = true;
            if self.is_op("]") {
                break;
            }
            keys.push(self.parse_subscribed()?);
        }
        self.expect_op("]")?;
        let key = if is_tuple {
            Expr::List(keys)
        } else {
            keys.remove(0)
        };
        Ok(Expr::Item {
            obj: Box::new(obj),
            key: Box::new(key),
            pos,
        })
    }

    fn parse_subscribed(&mut self) -> Parsed<Expr> {
        let start = if self.is_op(":") {
            None
        } else {
            let start = self.parse_expression(true)?;
            if !self.is_op(":") {
                return Ok(start);
            }
            Some(Box::new(start))
        };
        self.expect_op(":")?;
        let ends_part = |p: &Self| p.is_op("]") || p.is_op(",") || p.is_op(":");
        let stop = if ends_part(self) {
            None
        } else {
            Some(Box::new(self.parse_expression(true)?))
        };
        let step = if self.eat_op(":") && !(self.is_op("]") || self.is_op(",")) {
            Some(Box::new(self.parse_expression(true)?))
        } else {
            None
        };
        Ok(Expr::Slice { start, stop, step })
    }

    fn parse_call(&mut self, callee: Expr) -> Parsed<Expr> {
        let args = self.parse_call_args()?;
        Ok(Expr::Call {
            callee: Box::new(callee),
            args,
        })
    }

    fn parse_call_args(&mut self) -> Parsed<Args> {
        self.expect_op("(")?;
        let mut args = Args::default();
        let mut first = true;
        while !self.is_op(")") {
            if !first {
                self.expect_op(",")?;
                if self.is_op(")") {
                    break;
                }
            }
            first = false;
            if self.eat_op("*") || self.eat_op("**") {
                args.spread.push(self.parse_expression(true)?);
            } else if let (Some(Tok::Name(name)), Some(Tok::Op("="))) =
                (self.peek(), self.peek_at(1))
            {
                self.i += 2;
                args.keyword
                    .push((name.clone(), self.parse_expression(true)?));
            } else {
                args.positional.push(self.parse_expression(true)?);
            }
        }
        self.expect_op(")")?;
        Ok(args)
    }

    fn parse_dotted_name(&mut self) -> Parsed<String> {
        let mut name = self.expect_name()?;
        while self.eat_op(".") {
            name.push('.');
            name.push_str(&self.expect_name()?);
        }
        Ok(name)
    }

    fn parse_filter(&mut self, obj: Expr) -> Parsed<Expr> {
        let pos = self.pos();
        let name = self.parse_dotted_name()?;
        let args = if self.is_op("(") {
            self.parse_call_args()?
        } else {
            Args::default()
        };
        Ok(Expr::Filter {
            obj: Box::new(obj),
            name,
            args,
            pos,
        })
    }

    fn parse_test(&mut self, obj: Expr) -> Parsed<Expr> {
        self.eat_name("not");
        self.parse_dotted_name()?;
        let args = if self.is_op("(") {
            self.parse_call_args()?
        } else {
            let takes_bare_argument = match self.peek() {
                Some(Tok::Name(n)) => !matches!(n.as_str(), "else" | "or" | "and"),
                Some(Tok::Str(_) | Tok::Int(_) | Tok::Float | Tok::Op("[" | "{")) => true,
                _ => false,
            };
            if takes_bare_argument {
                if self.is_name("is") {
                    return self.fail("tests cannot be chained with `is`");
                }
                let primary = self.parse_primary()?;
                let arg = self.parse_postfix(primary)?;
                Args {
                    positional: vec![arg],
                    ..Args::default()
                }
            } else {
                Args::default()
            }
        };
        Ok(Expr::Test {
            obj: Box::new(obj),
            args,
        })
    }

    /// The filters of `{% filter a|b(x) %}` and of a block `{% set x | f %}`.
    fn parse_filter_chain(&mut self, first_needs_pipe: bool) -> Parsed<Expr> {
        let mut expr = Expr::Placeholder;
        let mut first = true;
        while !self.at_end() {
            if !first || first_needs_pipe {
                self.expect_op("|")?;
            }
            first = false;
            self.chain()?;
            expr = self.parse_filter(expr)?;
        }
        Ok(expr)
    }

    /// Skips an assignment target (`x`, `a, b`, `(a, b)`, `ns.attr`) up to `stop`, returning
    /// the dotted names it binds.
    fn parse_target(&mut self, stop: &dyn Fn(&Self) -> bool) -> Parsed<Vec<String>> {
        let mut names = Vec::new();
        while !self.at_end() && !stop(self) {
            match self.peek() {
                Some(Tok::Name(name)) => {
                    self.i += 1;
                    let mut dotted = name.clone();
                    while self.eat_op(".") {
                        dotted.push('.');
                        dotted.push_str(&self.expect_name()?);
                    }
                    names.push(dotted);
                }
                Some(Tok::Op("," | "(" | ")")) => self.i += 1,
                _ => return self.fail("unexpected token in assignment target"),
            }
        }
        if names.is_empty() {
            return self.fail("expected an assignment target");
        }
        Ok(names)
    }
}

fn binary(op: &'static str, lhs: Expr, rhs: Expr) -> Expr {
    Expr::Binary {
        op,
        lhs: Box::new(lhs),
        rhs: Box::new(rhs),
    }
}

// ---------------------------------------------------------------------------------------
// Constant folding of literal-only expressions.

#[derive(Clone, Debug, PartialEq)]
enum Value {
    Str { text: String, exact: bool },
    Int(i64),
    List(Vec<Value>),
}

impl Value {
    fn str(text: String, exact: bool) -> Option<Value> {
        (text.chars().count() <= MAX_FOLDED_LEN).then_some(Value::Str { text, exact })
    }

    fn list(items: Vec<Value>) -> Option<Value> {
        (items.len() <= MAX_FOLDED_LEN).then_some(Value::List(items))
    }

    /// `str(value)` for the operands of `~` and `|join`, when it is plain.
    fn to_text(&self) -> Option<(String, bool)> {
        match self {
            Value::Str { text, exact } => Some((text.clone(), *exact)),
            Value::Int(i) => Some((i.to_string(), true)),
            Value::List(_) => None,
        }
    }
}

fn concat(lhs: &Value, rhs: &Value) -> Option<Value> {
    let (a, a_exact) = lhs.to_text()?;
    let (b, b_exact) = rhs.to_text()?;
    Value::str(a + &b, a_exact && b_exact)
}

fn fold_binary(op: &str, lhs: &Value, rhs: &Value) -> Option<Value> {
    match (op, lhs, rhs) {
        ("~", _, _) => concat(lhs, rhs),
        ("+", Value::Str { .. }, Value::Str { .. }) => concat(lhs, rhs),
        ("+", Value::Int(a), Value::Int(b)) => a.checked_add(*b).map(Value::Int),
        ("+", Value::List(a), Value::List(b)) => Value::list(a.iter().chain(b).cloned().collect()),
        ("-", Value::Int(a), Value::Int(b)) => a.checked_sub(*b).map(Value::Int),
        ("*", Value::Int(a), Value::Int(b)) => a.checked_mul(*b).map(Value::Int),
        ("*", Value::Str { text, exact }, Value::Int(n))
        | ("*", Value::Int(n), Value::Str { text, exact }) => {
            let n = usize::try_from(*n).unwrap_or(0);
            let total = text.chars().count().checked_mul(n)?;
            if total > MAX_FOLDED_LEN {
                return None;
            }
            Value::str(text.repeat(n), *exact)
        }
        ("%", Value::Str { text, exact }, args) => {
            let args = match args {
                Value::List(items) => items.clone(),
                single => vec![single.clone()],
            };
            printf_format(text, *exact, &args)
        }
        _ => None,
    }
}

/// Python's `%` formatting for `%s`, `%d` and `%%`, the forms that build names.
fn printf_format(format: &str, exact: bool, args: &[Value]) -> Option<Value> {
    let mut out = String::new();
    let mut exact = exact;
    let mut args = args.iter();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            '%' => out.push('%'),
            's' => {
                let (text, arg_exact) = args.next()?.to_text()?;
                out.push_str(&text);
                exact &= arg_exact;
            }
            'd' | 'i' => match args.next()? {
                Value::Int(i) => out.push_str(&i.to_string()),
                _ => return None,
            },
            _ => return None,
        }
        if out.chars().count() > MAX_FOLDED_LEN {
            return None;
        }
    }
    if args.next().is_some() {
        return None;
    }
    Value::str(out, exact)
}

/// `str.format` with `{}`/`{0}` fields and no conversion or format spec.
fn brace_format(format: &str, exact: bool, args: &[Value]) -> Option<Value> {
    let mut out = String::new();
    let mut exact = exact;
    let mut auto_index = 0;
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut field = String::new();
                loop {
                    match chars.next()? {
                        '}' => break,
                        ch => field.push(ch),
                    }
                }
                let index = if field.is_empty() {
                    auto_index += 1;
                    auto_index - 1
                } else {
                    field.parse::<usize>().ok()?
                };
                let (text, arg_exact) = args.get(index)?.to_text()?;
                out.push_str(&text);
                exact &= arg_exact;
            }
            '}' => return None,
            ch => out.push(ch),
        }
        if out.chars().count() > MAX_FOLDED_LEN {
            return None;
        }
    }
    Value::str(out, exact)
}

/// Python's slice semantics (`PySlice_AdjustIndices`).
fn slice_indices(
    len: usize,
    start: Option<i64>,
    stop: Option<i64>,
    step: Option<i64>,
) -> Option<Vec<usize>> {
    let len = i64::try_from(len).ok()?;
    let step = step.unwrap_or(1);
    if step == 0 {
        return None;
    }
    let adjust = |index: Option<i64>, default: i64, low: i64, high: i64| match index {
        None => default,
        Some(i) if i < 0 => (i + len).max(low),
        Some(i) => i.min(high),
    };
    let (start, stop) = if step > 0 {
        (adjust(start, 0, 0, len), adjust(stop, len, 0, len))
    } else {
        (
            adjust(start, len - 1, -1, len - 1),
            adjust(stop, -1, -1, len - 1),
        )
    };
    let mut indices = Vec::new();
    let mut i = start;
    while (step > 0 && i < stop) || (step < 0 && i > stop) {
        indices.push(usize::try_from(i).ok()?);
        i = i.checked_add(step)?;
    }
    Some(indices)
}

fn python_index(len: usize, index: i64) -> Option<usize> {
    let len = i64::try_from(len).ok()?;
    let index = if index < 0 { index + len } else { index };
    (0..len)
        .contains(&index)
        .then(|| usize::try_from(index).ok())
        .flatten()
}

fn fold_item(obj: &Value, key_value: Option<&Value>, slice: Option<SliceBounds>) -> Option<Value> {
    match (obj, key_value, slice) {
        (Value::Str { text, exact }, Some(Value::Int(i)), None) => {
            let chars: Vec<char> = text.chars().collect();
            let c = chars.get(python_index(chars.len(), *i)?)?;
            Value::str(c.to_string(), *exact)
        }
        (Value::List(items), Some(Value::Int(i)), None) => {
            items.get(python_index(items.len(), *i)?).cloned()
        }
        (Value::Str { text, exact }, None, Some(bounds)) => {
            let chars: Vec<char> = text.chars().collect();
            let indices = slice_indices(chars.len(), bounds.0, bounds.1, bounds.2)?;
            Value::str(
                indices.iter().filter_map(|&i| chars.get(i)).collect(),
                *exact,
            )
        }
        (Value::List(items), None, Some(bounds)) => {
            let indices = slice_indices(items.len(), bounds.0, bounds.1, bounds.2)?;
            Value::list(
                indices
                    .iter()
                    .filter_map(|&i| items.get(i).cloned())
                    .collect(),
            )
        }
        _ => None,
    }
}

/// A folded `[start:stop:step]`; `None` parts were omitted.
type SliceBounds = (Option<i64>, Option<i64>, Option<i64>);

fn fold_filter(name: &str, obj: &Value, args: &[Option<Value>]) -> Option<Value> {
    let arg_text = |i: usize| match args.get(i) {
        Some(Some(Value::Str { text, exact })) => Some((text.clone(), *exact)),
        _ => None,
    };
    match (name, obj) {
        ("join", Value::List(items)) => {
            let (sep, mut exact) = if args.is_empty() {
                (String::new(), true)
            } else {
                arg_text(0)?
            };
            let mut parts = Vec::with_capacity(items.len());
            for item in items {
                let (text, item_exact) = item.to_text()?;
                exact &= item_exact;
                parts.push(text);
            }
            Value::str(parts.join(&sep), exact)
        }
        ("join", Value::Str { text, exact }) => {
            let (sep, sep_exact) = if args.is_empty() {
                (String::new(), true)
            } else {
                arg_text(0)?
            };
            let chars: Vec<String> = text.chars().map(String::from).collect();
            Value::str(chars.join(&sep), *exact && sep_exact)
        }
        ("reverse", Value::Str { text, exact }) => Value::str(text.chars().rev().collect(), *exact),
        ("reverse", Value::List(items)) => Value::list(items.iter().rev().cloned().collect()),
        ("list", Value::Str { text, exact }) => Value::list(
            text.chars()
                .map(|c| Value::Str {
                    text: c.to_string(),
                    exact: *exact,
                })
                .collect(),
        ),
        ("list", Value::List(_)) | ("string", Value::Str { .. }) => Some(obj.clone()),
        ("string", Value::Int(i)) => Value::str(i.to_string(), true),
        ("lower", Value::Str { text, exact }) => Value::str(text.to_lowercase(), *exact),
        ("upper", Value::Str { text, exact }) => Value::str(text.to_uppercase(), *exact),
        ("trim", Value::Str { text, exact }) if args.is_empty() => {
            Value::str(text.trim().to_owned(), *exact)
        }
        ("first", Value::Str { text, exact }) => {
            Value::str(text.chars().next()?.to_string(), *exact)
        }
        ("last", Value::Str { text, exact }) => {
            Value::str(text.chars().last()?.to_string(), *exact)
        }
        ("first", Value::List(items)) => items.first().cloned(),
        ("last", Value::List(items)) => items.last().cloned(),
        ("replace", Value::Str { text, exact }) if args.len() == 2 => {
            replace(text, *exact, &arg_text(0)?, &arg_text(1)?)
        }
        ("format", Value::Str { text, exact }) => {
            let args: Option<Vec<Value>> = args.iter().cloned().collect();
            printf_format(text, *exact, &args?)
        }
        _ => None,
    }
}

fn replace(text: &str, exact: bool, from: &(String, bool), to: &(String, bool)) -> Option<Value> {
    if from.0.is_empty() {
        return None;
    }
    let count = text.matches(from.0.as_str()).count();
    let growth = to.0.chars().count().saturating_sub(from.0.chars().count());
    if text
        .chars()
        .count()
        .saturating_add(count.saturating_mul(growth))
        > MAX_FOLDED_LEN
    {
        return None;
    }
    Value::str(
        text.replace(from.0.as_str(), &to.0),
        exact && from.1 && to.1,
    )
}

fn fold_method(receiver: &Value, method: &str, args: &[Option<Value>]) -> Option<Value> {
    let Value::Str { text, exact } = receiver else {
        return None;
    };
    let exact = *exact;
    let arg_text = |i: usize| match args.get(i) {
        Some(Some(Value::Str { text, exact })) => Some((text.clone(), *exact)),
        _ => None,
    };
    match method {
        "join" => fold_filter(
            "join",
            args.first()?.as_ref()?,
            &[Some(Value::Str {
                text: text.clone(),
                exact,
            })],
        ),
        "format" => {
            let args: Option<Vec<Value>> = args.iter().cloned().collect();
            brace_format(text, exact, &args?)
        }
        "replace" if args.len() == 2 => replace(text, exact, &arg_text(0)?, &arg_text(1)?),
        "lower" | "casefold" => Value::str(text.to_lowercase(), exact),
        "upper" => Value::str(text.to_uppercase(), exact),
        "strip" if args.is_empty() => Value::str(text.trim().to_owned(), exact),
        "lstrip" if args.is_empty() => Value::str(text.trim_start().to_owned(), exact),
        "rstrip" if args.is_empty() => Value::str(text.trim_end().to_owned(), exact),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// Name checks.

fn is_dunder(name: &str) -> bool {
    name.len() > 4 && name.starts_with("__") && name.ends_with("__")
}

/// A class-private name after Python's mangling, e.g. `_TemplateReference__context`.
fn is_mangled(name: &str) -> bool {
    name.strip_prefix('_')
        .and_then(|rest| rest.find("__").map(|i| (i, rest)))
        .is_some_and(|(i, rest)| {
            i > 0 && rest[..i].chars().all(|c| c.is_alphanumeric() || c == '_')
        })
}

/// Names that are dangerous wherever they appear as a string: dunders and mangled privates.
fn is_internal_string(name: &str) -> bool {
    is_dunder(name) || is_mangled(name)
}

#[derive(Clone, Copy, PartialEq)]
enum Lookup {
    /// `x.name` and `x|attr('name')`: Jinja2's sandbox refuses every `_`-prefixed name here.
    Attribute,
    /// `x['name']`: on a dict this is an ordinary key, so only the unambiguous names count.
    Item,
}

/// Which rule a looked-up name breaks, if any.
fn classify_lookup(name: &str, lookup: Lookup) -> Option<&'static Rule> {
    let private = lookup == Lookup::Attribute && name.starts_with('_');
    if private || is_internal_string(name) || FRAME_AND_CODE_ATTRIBUTES.contains(&name) {
        return Some(&TEMPLATE_PYTHON_INTERNALS);
    }
    if OS_NAMES.contains(&name) {
        return Some(&TEMPLATE_OS_ACCESS);
    }
    None
}

/// The names a `str.format` field reads: `{0.__class__}`, `{x[__globals__]}`.
fn format_field_lookups(format: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = format;
    while let Some(open) = rest.find('{') {
        rest = &rest[open + 1..];
        if let Some(after) = rest.strip_prefix('{') {
            rest = after;
            continue;
        }
        let close = rest.find('}').unwrap_or(rest.len());
        let field = &rest[..close];
        let field = field.split(['!', ':']).next().unwrap_or_default();
        let mut parts = field.split(['.', '[']);
        parts.next();
        names.extend(
            parts
                .map(|p| p.trim_end_matches(']').to_owned())
                .filter(|p| !p.is_empty()),
        );
        rest = rest.get(close..).unwrap_or_default();
    }
    names
}

// ---------------------------------------------------------------------------------------
// Analysis.

struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        LineIndex { starts }
    }

    /// 1-based line and column (in characters) of a byte offset.
    fn line_col(&self, text: &str, pos: usize) -> (u32, u32) {
        let line = self.starts.partition_point(|&start| start <= pos).max(1);
        let start = self.starts.get(line - 1).copied().unwrap_or(0);
        let column = text.get(start..pos).map_or(1, |s| s.chars().count() + 1);
        (
            u32::try_from(line).unwrap_or(u32::MAX),
            u32::try_from(column).unwrap_or(u32::MAX),
        )
    }
}

struct Hit {
    rule: &'static Rule,
    name: String,
    pos: usize,
}

struct Analyzer<'a, 'o> {
    template: &'a str,
    lines: LineIndex,
    location: &'a Location,
    /// Variables (and `ns.attr` slots) whose every assignment so far was a folded string.
    env: HashMap<String, Value>,
    /// Names the template binds itself (`set`, `for`, macro parameters, keyword arguments,
    /// namespace slots): a local variable called `system` is not the `os.system` function.
    bound: HashSet<String>,
    out: &'a mut CappedFindings<'o>,
}

impl Analyzer<'_, '_> {
    fn where_(&self, pos: usize) -> (Location, String) {
        let (line, column) = self.lines.line_col(self.template, pos);
        let location = if self.location.offset.is_some() {
            self.location.clone()
        } else {
            self.location.at_line(line, Some(column))
        };
        (location, format!("template line {line}, column {column}"))
    }

    fn malformed(&mut self, pos: usize, what: &str) {
        let (location, at) = self.where_(pos);
        self.out.push(Finding::new(
            &MALFORMED,
            location,
            format!("chat template could not be fully parsed ({at}): {what}"),
        ));
    }

    fn analyze_tag(&mut self, tag: &Tag) {
        let mut hits = Vec::new();
        for pair in tag.tokens.windows(2) {
            if let [
                Token {
                    tok: Tok::Name(name),
                    ..
                },
                Token {
                    tok: Tok::Op("="), ..
                },
            ] = pair
            {
                self.bound.insert(name.clone());
            }
        }
        let mut walker = Walker {
            env: &mut self.env,
            bound: &mut self.bound,
            hits: &mut hits,
        };
        if let Err(error) = walker.statement(tag) {
            self.malformed(
                error.pos,
                &format!("{}; its tokens were still checked one by one", error.what),
            );
        }
        token_checks(&tag.tokens, &mut hits);
        hits.retain(|hit| !(hit.rule == &TEMPLATE_OS_ACCESS && self.bound.contains(&hit.name)));
        self.report(tag, hits);
    }

    fn report(&mut self, tag: &Tag, hits: Vec<Hit>) {
        let mut grouped: Vec<(&'static Rule, Vec<String>, usize)> = Vec::new();
        for hit in hits {
            match grouped.iter_mut().find(|(rule, _, _)| *rule == hit.rule) {
                Some((_, names, _)) => {
                    if !names.contains(&hit.name) {
                        names.push(hit.name);
                    }
                }
                None => grouped.push((hit.rule, vec![hit.name], hit.pos)),
            }
        }
        let source = self.template.get(tag.start..tag.end).unwrap_or_default();
        let mut expression: String = source.chars().take(MAX_EVIDENCE_CHARS).collect();
        if source.chars().count() > MAX_EVIDENCE_CHARS {
            expression.push('…');
        }
        for (rule, names, pos) in grouped {
            let (location, at) = self.where_(pos);
            let listed = names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ");
            let message = if rule == &TEMPLATE_PYTHON_INTERNALS {
                format!(
                    "chat template reaches Python internals through {listed} ({at}); rendered outside \
                     Jinja2's sandbox this runs arbitrary code (CVE-2024-34359)"
                )
            } else if rule == &TEMPLATE_GADGET_GLOBAL {
                format!("chat template reads attributes of the Jinja global {listed} ({at})")
            } else if rule == &TEMPLATE_OS_ACCESS {
                format!(
                    "chat template uses {listed}, which reach the operating system or interpreter ({at})"
                )
            } else {
                format!(
                    "chat template looks up an attribute named at render time by {listed} ({at})"
                )
            };
            self.out
                .push(Finding::new(rule, location, message).with_evidence(format!(
                    "expression: {expression}; name: {}",
                    names.join(", ")
                )));
        }
    }
}

/// Checks that need no parse, so they also cover tags the parser does not understand:
/// attribute names after `.`, identifiers, gadget globals and dunder string literals.
fn token_checks(tokens: &[Token], hits: &mut Vec<Hit>) {
    for (i, token) in tokens.iter().enumerate() {
        let previous = i.checked_sub(1).and_then(|p| tokens.get(p)).map(|t| &t.tok);
        let next = tokens.get(i + 1).map(|t| &t.tok);
        match &token.tok {
            Tok::Name(name) if previous == Some(&Tok::Op(".")) => {
                if let Some(rule) = classify_lookup(name, Lookup::Attribute) {
                    hits.push(hit(rule, name, token.pos));
                }
            }
            Tok::Name(name) => {
                if is_internal_string(name) {
                    hits.push(hit(&TEMPLATE_PYTHON_INTERNALS, name, token.pos));
                } else if OS_NAMES.contains(&name.as_str()) {
                    hits.push(hit(&TEMPLATE_OS_ACCESS, name, token.pos));
                }
                let attr_filter_follows = next == Some(&Tok::Op("|"))
                    && matches!(tokens.get(i + 2).map(|t| &t.tok), Some(Tok::Name(f)) if f == "attr");
                let reads_attribute =
                    matches!(next, Some(Tok::Op("." | "["))) || attr_filter_follows;
                if reads_attribute
                    && GADGET_GLOBALS.contains(&name.as_str())
                    && previous != Some(&Tok::Op("|"))
                {
                    hits.push(hit(&TEMPLATE_GADGET_GLOBAL, name, token.pos));
                }
            }
            Tok::Str(lit) if lit.exact && is_internal_string(&lit.value) => {
                hits.push(hit(&TEMPLATE_PYTHON_INTERNALS, &lit.value, token.pos));
            }
            _ => {}
        }
    }
}

fn hit(rule: &'static Rule, name: &str, pos: usize) -> Hit {
    Hit {
        rule,
        name: name.chars().take(100).collect(),
        pos,
    }
}

/// Walks one tag's AST, folding literal expressions and recording lookups.
struct Walker<'w> {
    env: &'w mut HashMap<String, Value>,
    bound: &'w mut HashSet<String>,
    hits: &'w mut Vec<Hit>,
}

impl Walker<'_> {
    fn statement(&mut self, tag: &Tag) -> Parsed<()> {
        let end = tag.end;
        if tag.kind == TagKind::Expression {
            let mut parser = Parser::new(&tag.tokens, end);
            let expr = parser.parse_tuple(true, false, false)?;
            parser.expect_end()?;
            self.visit(&expr, tag.start);
            return Ok(());
        }
        let Some(Token {
            tok: Tok::Name(keyword),
            ..
        }) = tag.tokens.first()
        else {
            return Err(ParseError {
                pos: tag.start,
                what: "statement tag without a keyword".to_owned(),
            });
        };
        let mut p = Parser::new(&tag.tokens[1..], end);
        match keyword.as_str() {
            "if" | "elif" | "do" | "print" | "extends" | "autoescape" => {
                let expr = p.parse_tuple(true, false, false)?;
                p.expect_end()?;
                self.visit(&expr, tag.start);
            }
            "include" => {
                let expr = p.parse_expression(true)?;
                self.visit(&expr, tag.start);
                while p.eat_name("ignore")
                    || p.eat_name("missing")
                    || p.eat_name("with")
                    || p.eat_name("without")
                {}
                p.eat_name("context");
                p.expect_end()?;
            }
            "for" => {
                let targets = p.parse_target(&|p| p.is_name("in"))?;
                for target in targets {
                    self.unbind(&target);
                }
                if !p.eat_name("in") {
                    return p.fail("expected `in`");
                }
                let iterable = p.parse_tuple(false, false, true)?;
                self.visit(&iterable, tag.start);
                if p.eat_name("if") {
                    let cond = p.parse_expression(true)?;
                    self.visit(&cond, tag.start);
                }
                p.eat_name("recursive");
                p.expect_end()?;
            }
            "set" => self.set_statement(&mut p, tag.start)?,
            "with" => {
                while !p.at_end() {
                    if p.eat_op(",") {
                        continue;
                    }
                    let name = p.expect_name()?;
                    p.expect_op("=")?;
                    let value = p.parse_expression(true)?;
                    let folded = self.visit(&value, tag.start);
                    self.bind(name, folded);
                }
            }
            "macro" => {
                p.expect_name()?;
                self.parameters(&mut p, tag.start)?;
                p.expect_end()?;
            }
            "call" => {
                if p.is_op("(") {
                    self.parameters(&mut p, tag.start)?;
                }
                let expr = p.parse_expression(true)?;
                p.expect_end()?;
                self.visit(&expr, tag.start);
            }
            "filter" => {
                let chain = p.parse_filter_chain(false)?;
                self.visit(&chain, tag.start);
            }
            "import" => {
                let expr = p.parse_expression(true)?;
                self.visit(&expr, tag.start);
                if !p.eat_name("as") {
                    return p.fail("expected `as`");
                }
                p.expect_name()?;
                self.context_modifier(&mut p)?;
            }
            "from" => {
                let expr = p.parse_expression(true)?;
                self.visit(&expr, tag.start);
                if !p.eat_name("import") {
                    return p.fail("expected `import`");
                }
                while !p.at_end() && !p.is_name("with") && !p.is_name("without") {
                    if p.eat_op(",") || p.eat_name("as") {
                        continue;
                    }
                    p.expect_name()?;
                }
                self.context_modifier(&mut p)?;
            }
            "block" => {
                p.expect_name()?;
                while p.eat_name("scoped") || p.eat_name("required") {}
                p.expect_end()?;
            }
            // Closing and bare tags take no expression (`endblock` may repeat the name).
            "else" | "endif" | "endfor" | "endmacro" | "endcall" | "endfilter" | "endset"
            | "endwith" | "endautoescape" | "break" | "continue" | "generation"
            | "endgeneration" | "endblock" => {
                if keyword == "endblock" && !p.at_end() {
                    p.expect_name()?;
                }
                p.expect_end()?;
            }
            // Extension tags (`trans`, …) are checked token by token only.
            _ => {}
        }
        Ok(())
    }

    fn set_statement(&mut self, p: &mut Parser<'_>, tag_start: usize) -> Parsed<()> {
        let has_assignment = p.tokens.iter().any(|t| t.tok == Tok::Op("="));
        if !has_assignment {
            // Block set: `{% set x %}...{% endset %}`, optionally filtered.
            let targets = p.parse_target(&|p| p.is_op("|"))?;
            for target in targets {
                self.unbind(&target);
            }
            if !p.at_end() {
                let chain = p.parse_filter_chain(true)?;
                self.visit(&chain, tag_start);
            }
            return Ok(());
        }
        let targets = p.parse_target(&|p| p.is_op("="))?;
        p.expect_op("=")?;
        let value = p.parse_tuple(true, false, false)?;
        p.expect_end()?;
        let folded = self.visit(&value, tag_start);
        match <[String; 1]>::try_from(targets) {
            Ok([target]) => self.bind(target, folded),
            Err(targets) => {
                for target in targets {
                    self.unbind(&target);
                }
            }
        }
        Ok(())
    }

    fn bind(&mut self, name: String, value: Option<Value>) {
        self.unbind(&name);
        if let Some(value @ Value::Str { .. }) = value {
            self.env.insert(name, value);
        }
    }

    /// Forgets what `target` (`x` or `ns.attr`) held and marks its names as the template's own.
    fn unbind(&mut self, target: &str) {
        self.env.remove(target);
        self.bound.extend(target.split('.').map(str::to_owned));
    }

    /// `(a, b='x')` of `macro` and `call`.
    fn parameters(&mut self, p: &mut Parser<'_>, tag_start: usize) -> Parsed<()> {
        p.expect_op("(")?;
        while !p.eat_op(")") {
            if p.eat_op(",") {
                continue;
            }
            let name = p.expect_name()?;
            self.unbind(&name);
            if p.eat_op("=") {
                let default = p.parse_expression(true)?;
                self.visit(&default, tag_start);
            }
        }
        Ok(())
    }

    fn context_modifier(&mut self, p: &mut Parser<'_>) -> Parsed<()> {
        if (p.eat_name("with") || p.eat_name("without")) && !p.eat_name("context") {
            return p.fail("expected `context`");
        }
        p.expect_end()
    }

    fn record(&mut self, rule: &'static Rule, name: &str, pos: usize) {
        self.hits.push(hit(rule, name, pos));
    }

    fn check_lookup(&mut self, value: Option<&Value>, lookup: Lookup, what: &str, pos: usize) {
        match value {
            Some(Value::Str { text, exact: true }) => {
                if let Some(rule) = classify_lookup(text, lookup) {
                    self.record(rule, text, pos);
                }
            }
            Some(Value::Str { text, exact: false }) => {
                self.record(
                    &TEMPLATE_COMPUTED_ATTRIBUTE,
                    &format!("{what} with undecodable escapes {text:?}"),
                    pos,
                );
            }
            _ => {}
        }
    }

    /// Visits every sub-expression and returns the folded value of `expr`, if it is built
    /// only from literals (and variables bound to folded strings).
    fn visit(&mut self, expr: &Expr, tag_start: usize) -> Option<Value> {
        let value = self.fold(expr, tag_start);
        if let Some(Value::Str { text, exact: true }) = &value
            && is_internal_string(text)
        {
            self.record(&TEMPLATE_PYTHON_INTERNALS, text, tag_start);
        }
        value
    }

    fn visit_args<'e>(&mut self, args: &'e Args, tag_start: usize) -> FoldedArgs<'e> {
        for spread in &args.spread {
            self.visit(spread, tag_start);
        }
        FoldedArgs {
            positional: args
                .positional
                .iter()
                .map(|a| self.visit(a, tag_start))
                .collect(),
            keyword: args
                .keyword
                .iter()
                .map(|(k, v)| (k.as_str(), self.visit(v, tag_start)))
                .collect(),
            has_spread: !args.spread.is_empty(),
        }
    }

    fn fold(&mut self, expr: &Expr, tag_start: usize) -> Option<Value> {
        match expr {
            Expr::Name { name } => self.env.get(name).cloned(),
            Expr::Str(lit) => Value::str(lit.value.clone(), lit.exact),
            Expr::Int(value) => value.map(Value::Int),
            Expr::Other | Expr::Placeholder => None,
            Expr::List(items) => {
                let folded: Vec<Option<Value>> =
                    items.iter().map(|i| self.visit(i, tag_start)).collect();
                folded
                    .into_iter()
                    .collect::<Option<Vec<_>>>()
                    .and_then(Value::list)
            }
            Expr::Dict(items) => {
                for (key, value) in items {
                    self.visit(key, tag_start);
                    self.visit(value, tag_start);
                }
                None
            }
            Expr::Attr { obj, name } => {
                self.visit(obj, tag_start);
                match obj.as_ref() {
                    Expr::Name { name: var } => self.env.get(&format!("{var}.{name}")).cloned(),
                    _ => None,
                }
            }
            Expr::Item { obj, key, pos } => {
                let obj_value = self.visit(obj, tag_start);
                let (key_value, bounds) = match key.as_ref() {
                    Expr::Slice { start, stop, step } => {
                        let mut bound = |part: &Option<Box<Expr>>| match part {
                            None => Some(None),
                            Some(e) => match self.visit(e, tag_start) {
                                Some(Value::Int(i)) => Some(Some(i)),
                                _ => None,
                            },
                        };
                        let bounds = (bound(start), bound(stop), bound(step));
                        let bounds = match bounds {
                            (Some(a), Some(b), Some(c)) => Some((a, b, c)),
                            _ => None,
                        };
                        (None, bounds)
                    }
                    _ => (self.visit(key, tag_start), None),
                };
                self.check_lookup(key_value.as_ref(), Lookup::Item, "a subscript", *pos);
                let sliced_or_indexed = key_value.is_some() || bounds.is_some();
                match obj_value {
                    Some(obj) if sliced_or_indexed => fold_item(&obj, key_value.as_ref(), bounds),
                    _ => None,
                }
            }
            Expr::Slice { start, stop, step } => {
                for part in [start, stop, step].into_iter().flatten() {
                    self.visit(part, tag_start);
                }
                None
            }
            Expr::Call { callee, args } => {
                let receiver = match callee.as_ref() {
                    Expr::Attr { obj, name } => {
                        let receiver = self.visit(obj, tag_start);
                        Some((receiver, name.as_str()))
                    }
                    other => {
                        self.visit(other, tag_start);
                        None
                    }
                };
                let folded = self.visit_args(args, tag_start);
                let (Some(receiver), method) = receiver? else {
                    return None;
                };
                if let Value::Str { text, .. } = &receiver
                    && matches!(method, "format" | "format_map")
                {
                    for name in format_field_lookups(text) {
                        if let Some(rule) = classify_lookup(&name, Lookup::Attribute) {
                            self.record(rule, &name, tag_start);
                        }
                    }
                }
                if !folded.keyword.is_empty() || folded.has_spread {
                    return None;
                }
                fold_method(&receiver, method, &folded.positional)
            }
            Expr::Filter {
                obj,
                name,
                args,
                pos,
            } => {
                let obj_value = self.visit(obj, tag_start);
                let folded = self.visit_args(args, tag_start);
                self.check_filter(name, &folded, *pos);
                if !folded.keyword.is_empty() || folded.has_spread {
                    return None;
                }
                fold_filter(name, &obj_value?, &folded.positional)
            }
            Expr::Test { obj, args } => {
                self.visit(obj, tag_start);
                self.visit_args(args, tag_start);
                None
            }
            Expr::Unary(operand) => {
                let value = self.visit(operand, tag_start);
                match value {
                    Some(Value::Int(i)) => i.checked_neg().map(Value::Int),
                    _ => None,
                }
            }
            Expr::Binary { op, lhs, rhs } => {
                let lhs = self.visit(lhs, tag_start);
                let rhs = self.visit(rhs, tag_start);
                fold_binary(op, &lhs?, &rhs?)
            }
            Expr::Cond {
                then,
                cond,
                otherwise,
            } => {
                self.visit(then, tag_start);
                self.visit(cond, tag_start);
                if let Some(otherwise) = otherwise {
                    self.visit(otherwise, tag_start);
                }
                None
            }
        }
    }

    /// `|attr(name)` and the filters that read `attribute=` paths.
    fn check_filter(&mut self, name: &str, args: &FoldedArgs, pos: usize) {
        let positional = |i: usize| args.positional.get(i).and_then(Option::as_ref);
        if name == "attr" {
            self.check_attr_argument(positional(0), pos);
        }
        if !ATTRIBUTE_FILTERS.contains(&name) {
            return;
        }
        for (_, value) in args.keyword.iter().filter(|(k, _)| *k == "attribute") {
            self.check_attribute_path(value.as_ref(), name, pos);
        }
        match name {
            "selectattr" | "rejectattr" | "groupby" if !args.positional.is_empty() => {
                self.check_attribute_path(positional(0), name, pos);
            }
            // `map('attr', name)` applies the attr filter to every item.
            "map" if matches!(positional(0), Some(Value::Str { text, .. }) if text == "attr") => {
                self.check_attr_argument(positional(1), pos);
            }
            _ => {}
        }
    }

    fn check_attr_argument(&mut self, value: Option<&Value>, pos: usize) {
        match value {
            Some(value @ Value::Str { .. }) => {
                self.check_lookup(Some(value), Lookup::Attribute, "|attr", pos)
            }
            _ => self.record(&TEMPLATE_COMPUTED_ATTRIBUTE, "|attr(<non-literal>)", pos),
        }
    }

    /// `attribute='a.b.0'` paths: each dotted part is a lookup.
    fn check_attribute_path(&mut self, value: Option<&Value>, filter: &str, pos: usize) {
        match value {
            Some(Value::Str { text, exact: true }) => {
                for part in text.split('.') {
                    if let Some(rule) = classify_lookup(part, Lookup::Attribute) {
                        self.record(rule, part, pos);
                    }
                }
            }
            Some(Value::Int(_)) => {}
            _ => self.record(
                &TEMPLATE_COMPUTED_ATTRIBUTE,
                &format!("|{filter}(attribute=<non-literal>)"),
                pos,
            ),
        }
    }
}

/// Folded call arguments; `None` where an argument is not literal.
struct FoldedArgs<'e> {
    positional: Vec<Option<Value>>,
    keyword: Vec<(&'e str, Option<Value>)>,
    has_spread: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn findings(template: &str) -> Vec<Finding> {
        let mut out = Vec::new();
        scan_template(template, &Location::file("t.jinja"), &mut out);
        out
    }

    fn rule_ids(template: &str) -> Vec<&'static str> {
        let mut ids: Vec<_> = findings(template).iter().map(|f| f.rule.id).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    #[test]
    fn decodes_every_python_escape_form() {
        for literal in [
            r"\x5f\x5fclass\x5f\x5f",
            r"\u005f\u005fclass\u005f\u005f",
            r"\U0000005f\U0000005fclass\U0000005f\U0000005f",
            r"\137\137class\137\137",
            r"\N{LOW LINE}\N{low line}class\N{LOW LINE}\N{LOW LINE}",
            r"\N{LOW LINE}_\N{LATIN SMALL LETTER C}lass__",
        ] {
            let lit = decode_python_escapes(literal).unwrap();
            assert_eq!(lit.value, "__class__", "{literal}");
            assert!(lit.exact);
        }
        let unknown = decode_python_escapes(r"\N{SNOWMAN}").unwrap();
        assert!(!unknown.exact);
        assert!(decode_python_escapes(r"\x5").is_err());
        assert_eq!(decode_python_escapes("a\\\nb").unwrap().value, "ab");
        assert_eq!(decode_python_escapes(r"\q").unwrap().value, r"\q");
    }

    #[test]
    fn folds_literal_only_name_building() {
        for template in [
            "{{ x|attr('__cla' ~ 'ss__') }}",
            "{{ x|attr('__cla' + 'ss__') }}",
            "{{ x|attr('__cla' 'ss__') }}",
            "{{ x|attr(['__', 'class', '__']|join) }}",
            "{{ x|attr(['_', '_class_', '_']|join('')) }}",
            "{{ x|attr('%s%s%s'|format('__', 'class', '__')) }}",
            "{{ x|attr('%sclass%s' % ('__', '__')) }}",
            "{{ x|attr('__ssalc__'|reverse) }}",
            "{{ x|attr('__ssalc__'[::-1]) }}",
            "{{ x['_' * 2 ~ 'class' ~ '_' * 2] }}",
            "{{ x[''.join(['__', 'class', '__'])] }}",
            "{{ x['{}class{}'.format('__', '__')] }}",
            "{{ x['--class--'|replace('-', '_')] }}",
            "{% set a = '__cla' %}{% set b = a ~ 'ss__' %}{{ x[b] }}",
        ] {
            let found = findings(template);
            assert!(
                found.iter().any(|f| f.rule == &TEMPLATE_PYTHON_INTERNALS
                    && f.evidence
                        .as_deref()
                        .is_some_and(|e| e.contains("__class__"))),
                "{template}: {found:#?}"
            );
        }
    }

    #[test]
    fn flags_the_published_payloads() {
        let cve = "{% for x in ().__class__.__base__.__subclasses__() %}{% if \"warning\" in x.__name__ %}\
                   {{x()._module.__builtins__['__import__']('os').popen(\"touch /tmp/retr0reg\")}}{%endif%}{% endfor %}";
        let ids = rule_ids(cve);
        assert!(ids.contains(&"template/python-internals"), "{ids:?}");
        assert!(ids.contains(&"template/os-access"), "{ids:?}");

        let cycler = rule_ids("{{ cycler.__init__.__globals__.os.popen('id').read() }}");
        assert_eq!(
            cycler,
            [
                "template/gadget-global",
                "template/os-access",
                "template/python-internals"
            ]
        );
        assert!(
            rule_ids("{{ lipsum.__globals__['os'].popen('id') }}")
                .contains(&"template/gadget-global")
        );
        assert!(
            rule_ids("{{ namespace.__init__.__globals__ }}").contains(&"template/python-internals")
        );
        assert!(rule_ids("{{ request|attr('application') }}").contains(&"template/gadget-global"));
        assert_eq!(
            rule_ids("{{ x|attr(name) }}"),
            ["template/computed-attribute"]
        );
        assert_eq!(
            rule_ids("{{ x|map(attribute=key)|list }}"),
            ["template/computed-attribute"]
        );
        assert!(
            rule_ids("{{ x|map('attr', '__class__')|list }}")
                .contains(&"template/python-internals")
        );
        assert!(
            rule_ids("{{ x|selectattr('__class__.__name__')|list }}")
                .contains(&"template/python-internals")
        );
        assert!(rule_ids("{{ '{0.__class__}'.format(x) }}").contains(&"template/python-internals"));
        assert!(
            rule_ids("{{ self._TemplateReference__context }}")
                .contains(&"template/python-internals")
        );
        assert!(
            rule_ids("{{ x.gi_frame.f_back.f_globals }}").contains(&"template/python-internals")
        );
        assert!(rule_ids("{{ x|attr('\\N{SNOWMAN}') }}").contains(&"template/computed-attribute"));
        assert!(
            rule_ids("{{ dict(__class__=1)|list|first }}").contains(&"template/python-internals")
        );
    }

    #[test]
    fn findings_point_at_line_and_column_or_keep_the_embedding_offset() {
        let found = findings("Hello\n  {{ x.__class__ }}");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].location.line, Some(2));
        assert_eq!(found[0].location.column, Some(8));
        assert!(
            found[0]
                .evidence
                .as_deref()
                .unwrap()
                .contains("{{ x.__class__ }}")
        );

        let mut out = Vec::new();
        scan_template(
            "{{ x.__class__ }}",
            &Location::file("m.gguf").at(100),
            &mut out,
        );
        assert_eq!(out[0].location.offset, Some(100));
        assert_eq!(out[0].location.line, None);
        assert!(out[0].message.contains("template line 1, column 6"));
    }

    #[test]
    fn benign_constructs_are_clean() {
        for template in [
            "{{ messages[0]['content']|trim }}",
            "{%- set ns = namespace(found=false, system='') -%}{%- set ns.found = true -%}",
            "{% for m in messages if m.role != 'system' recursive %}{{ loop.index0 }}{% endfor %}",
            "{{ tools|map(attribute='function')|selectattr('name', 'equalto', 'x')|list|tojson(indent=4) }}",
            "{{ strftime_now('%d %b %Y') }}{{ raise_exception('Conversation roles must alternate') }}",
            "{{ message.content.split('</think>')[-1].lstrip('\\n') }}{{ x is divisibleby 3 }}",
            "{% for k, v in tool.items() %}{{ k }}={{ v.get('type', 'string') }}{% endfor %}",
            "{# {{ x.__class__ }} #}{% raw %}{{ x.__class__ }}{% endraw %}",
            "{{ {'a': {'b': 1}} }}{{ range(3)|list }}{{ 'system' }}{{ -1 }}{{ 1.5e-3 }}",
            "{% generation %}{{ x }}{% endgeneration %}{% if x is not none and y is sameas false %}{% endif %}",
            "{% macro render(m, sep='\\n') %}{{ m }}{% endmacro %}{% filter upper %}x{% endfilter %}",
            "{% set content %}x{% endset %}{% set a, b = 1, 2 %}{{ message['role'] == 'system' }}",
        ] {
            let found = findings(template);
            assert!(found.is_empty(), "{template}: {found:#?}");
        }
    }

    #[test]
    fn unparseable_templates_fail_closed() {
        for template in [
            "{{ x",
            "{{ 'abc }}",
            "{# open",
            "{% raw %} x",
            "{{ x ] }}",
            "{{ a b }}",
            "{{ @ }}",
        ] {
            let found = findings(template);
            assert!(
                found.iter().any(|f| f.rule == &MALFORMED),
                "{template}: {found:#?}"
            );
        }
        // The token checks still run when the parse fails.
        let found = findings("{{ a b.__class__ }}");
        assert!(found.iter().any(|f| f.rule == &TEMPLATE_PYTHON_INTERNALS));
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let template = format!("{{{{ {}x{} }}}}", "(".repeat(5000), ")".repeat(5000));
        let found = findings(&template);
        assert!(found.iter().any(|f| f.rule == &MALFORMED));
        for chain in [" ~ 'a'", ".a", "|trim", "[0]", " is defined or x"] {
            let long = format!("{{{{ x{} }}}}", chain.repeat(100_000));
            assert!(
                findings(&long).iter().any(|f| f.rule == &MALFORMED),
                "{chain}"
            );
            let within = format!("{{{{ x{} }}}}", chain.repeat(MAX_CHAIN / 2 - 1));
            assert!(findings(&within).is_empty(), "{chain}");
        }
        let huge = "{{ x|attr('_' * 100000000) }}";
        assert_eq!(rule_ids(huge), ["template/computed-attribute"]);
    }

    #[test]
    fn slices_follow_python_semantics() {
        let s = |start, stop, step| slice_indices(5, start, stop, step).unwrap();
        assert_eq!(s(None, None, Some(-1)), [4, 3, 2, 1, 0]);
        assert_eq!(s(Some(1), Some(-1), None), [1, 2, 3]);
        assert_eq!(s(Some(-2), None, None), [3, 4]);
        assert_eq!(s(Some(10), None, Some(-2)), [4, 2, 0]);
        assert_eq!(s(None, Some(-10), None), Vec::<usize>::new());
        assert!(slice_indices(5, None, None, Some(0)).is_none());
    }

    #[test]
    fn tokenizer_config_string_list_and_duplicates() {
        let json = br#"{"bos_token": "<s>", "chat_template": "{{ x.__class__ }}",
            "chat_template": [{"name": "default", "template": "{{ messages }}"},
                              {"name": "tool_use", "template": "{{ cycler.__init__ }}"}]}"#;
        let mut out = Vec::new();
        scan_tokenizer_config(
            json,
            &Location::file("tokenizer_config.json"),
            &Limits::default(),
            &mut out,
        );
        let ids: Vec<_> = out.iter().map(|f| f.rule.id).collect();
        assert_eq!(
            ids.iter()
                .filter(|id| **id == "template/python-internals")
                .count(),
            2,
            "{out:#?}"
        );
        assert!(ids.contains(&"template/gadget-global"));
        let first = &out[0];
        let at = first.location.offset.unwrap() as usize;
        assert_eq!(&json[at..at + 3], b"\"{{");
        let tool = out
            .iter()
            .find(|f| f.rule == &TEMPLATE_GADGET_GLOBAL)
            .unwrap();
        let at = tool.location.offset.unwrap() as usize;
        assert!(json[at..].starts_with(b"\"{{ cycler"));

        let mut out = Vec::new();
        scan_tokenizer_config(
            b"{\"chat_template\": 3}",
            &Location::file("t"),
            &Limits::default(),
            &mut out,
        );
        assert_eq!(out[0].rule, &MALFORMED);
        let mut out = Vec::new();
        scan_tokenizer_config(
            b"{\"chat_template\": ",
            &Location::file("t"),
            &Limits::default(),
            &mut out,
        );
        assert_eq!(out[0].rule, &MALFORMED);
        let mut out = Vec::new();
        scan_tokenizer_config(
            b"[1, 2]",
            &Location::file("t"),
            &Limits::default(),
            &mut out,
        );
        assert!(out.is_empty());
        let limits = Limits {
            max_header_bytes: 4,
            ..Limits::default()
        };
        let mut out = Vec::new();
        scan_tokenizer_config(b"{\"a\": 1}", &Location::file("t"), &limits, &mut out);
        assert_eq!(out[0].rule, &LIMIT_EXCEEDED);
    }
}
