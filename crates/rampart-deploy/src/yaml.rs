//! A bounded YAML loader: saphyr-parser events into a tree whose every node knows its line
//! and column.
//!
//! The loader exists (instead of saphyr's own tree) because the input is hostile: aliases are
//! expanded by copying, so an alias bomb must hit a node and byte budget instead of memory;
//! nesting is capped so the tree can be walked recursively; merge keys (`<<: *defaults`,
//! everywhere in GitLab CI) are applied the way GitLab and go-yaml apply them; and duplicate
//! keys are reported, because loaders disagree about which of two values wins.

use std::collections::{HashMap, HashSet};

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

/// Deepest nesting a document may have (after expanding aliases).
pub(crate) const MAX_DEPTH: usize = 128;
/// Nodes one file may hold after expanding aliases.
pub(crate) const MAX_NODES: usize = 500_000;
/// Scalar bytes one file may hold after expanding aliases.
pub(crate) const MAX_SCALAR_BYTES: usize = 64 << 20;

#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub(crate) value: Value,
    /// 1-based.
    pub(crate) line: u32,
    /// 1-based, in characters.
    pub(crate) column: u32,
}

#[derive(Clone, Debug)]
pub(crate) enum Value {
    /// `~`, `null`, or nothing at all.
    Null,
    Scalar {
        text: String,
        style: Style,
    },
    Sequence(Vec<Node>),
    Mapping(Vec<(Node, Node)>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Style {
    Plain,
    Quoted,
    /// `|`: content lines start on the line after the indicator, one for one.
    Literal,
    /// `>`: lines are folded, so positions inside are approximate.
    Folded,
}

/// Why a stream could not be loaded completely. Documents completed before the problem are
/// still returned.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LoadError {
    #[error("YAML syntax error: {message}")]
    Syntax {
        message: String,
        line: u32,
        column: u32,
    },
    #[error("an alias refers to an anchor that is undefined or still open")]
    UnknownAlias { line: u32, column: u32 },
    #[error("nesting deeper than {MAX_DEPTH} levels (after expanding aliases)")]
    TooDeep { line: u32, column: u32 },
    #[error(
        "more than {MAX_NODES} nodes or {MAX_SCALAR_BYTES} bytes of scalars after expanding aliases"
    )]
    TooLarge { line: u32, column: u32 },
}

impl LoadError {
    pub(crate) fn position(&self) -> (u32, u32) {
        match self {
            LoadError::Syntax { line, column, .. }
            | LoadError::UnknownAlias { line, column }
            | LoadError::TooDeep { line, column }
            | LoadError::TooLarge { line, column } => (*line, *column),
        }
    }

    /// A budget ran out (as opposed to the input being invalid YAML).
    pub(crate) fn is_limit(&self) -> bool {
        matches!(self, LoadError::TooDeep { .. } | LoadError::TooLarge { .. })
    }
}

/// A key that occurs twice in one mapping.
#[derive(Debug)]
pub(crate) struct DuplicateKey {
    pub(crate) key: String,
    pub(crate) first_line: u32,
    pub(crate) line: u32,
    pub(crate) column: u32,
}

#[derive(Debug, Default)]
pub(crate) struct Stream {
    pub(crate) documents: Vec<Node>,
    pub(crate) duplicates: Vec<DuplicateKey>,
    pub(crate) error: Option<LoadError>,
}

impl Node {
    fn new(value: Value, span: Span) -> Node {
        Node {
            value,
            line: to_u32(span.start.line()),
            column: to_u32(span.start.col().saturating_add(1)),
        }
    }

    /// The value of the last entry with this key (the one most loaders keep).
    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, value)| value)
    }

    pub(crate) fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        self.entries()
            .iter()
            .rev()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(k, v)| (k, v))
    }

    /// Follows a path of mapping keys.
    pub(crate) fn path(&self, keys: &[&str]) -> Option<&Node> {
        keys.iter().try_fold(self, |node, key| node.get(key))
    }

    pub(crate) fn entries(&self) -> &[(Node, Node)] {
        match &self.value {
            Value::Mapping(entries) => entries,
            _ => &[],
        }
    }

    pub(crate) fn items(&self) -> &[Node] {
        match &self.value {
            Value::Sequence(items) => items,
            _ => &[],
        }
    }

    pub(crate) fn is_mapping(&self) -> bool {
        matches!(self.value, Value::Mapping(_))
    }

    pub(crate) fn is_sequence(&self) -> bool {
        matches!(self.value, Value::Sequence(_))
    }

    /// The text of a scalar (never of `null`).
    pub(crate) fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    pub(crate) fn style(&self) -> Option<Style> {
        match &self.value {
            Value::Scalar { style, .. } => Some(*style),
            _ => None,
        }
    }

    /// A boolean the way Kubernetes (YAML 1.1 through go-yaml) and YAML 1.2 both read it:
    /// `yes`/`on` count, because the API server accepts them.
    pub(crate) fn as_bool(&self) -> Option<bool> {
        match self.as_str()? {
            "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "y" | "Y" => {
                Some(true)
            }
            "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "n"
            | "N" => Some(false),
            _ => None,
        }
    }

    pub(crate) fn as_i64(&self) -> Option<i64> {
        let text = self.as_str()?.trim();
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let magnitude = if let Some(hex) = digits.strip_prefix("0x") {
            i64::from_str_radix(hex, 16).ok()?
        } else if let Some(octal) = digits.strip_prefix("0o") {
            i64::from_str_radix(octal, 8).ok()?
        } else {
            digits.parse::<i64>().ok()?
        };
        Some(if negative { -magnitude } else { magnitude })
    }

    /// The line of the `index`-th (0-based) line of a scalar's content: exact for literal
    /// blocks (whose position is that of their first non-blank content line), the scalar's
    /// own line otherwise.
    pub(crate) fn content_line(&self, index: usize) -> u32 {
        match &self.value {
            Value::Scalar {
                text,
                style: Style::Literal,
            } => {
                let leading_blank = text.split('\n').take_while(|l| l.is_empty()).count();
                self.line
                    .saturating_add(to_u32(index.saturating_sub(leading_blank)))
            }
            _ => self.line,
        }
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Size of a finished subtree, for the budgets.
#[derive(Clone, Copy, Default)]
struct Weight {
    nodes: usize,
    bytes: usize,
    height: usize,
}

enum Frame {
    Sequence {
        span: Span,
        anchor: usize,
        items: Vec<Node>,
        weight: Weight,
    },
    Mapping {
        span: Span,
        anchor: usize,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
        weight: Weight,
    },
}

struct Loader {
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Node, Weight)>,
    nodes: usize,
    bytes: usize,
    root: Option<Node>,
    duplicates: Vec<DuplicateKey>,
}

/// How many closing brackets [`load`] re-indents before giving up.
const MAX_BRACKET_REPAIRS: usize = 32;

/// Loads every document of a stream. Never panics; stops at the first syntax error or
/// exhausted budget and reports it in [`Stream::error`].
///
/// One leniency: a flow collection closed at its parent key's indentation
/// (`matrix:\n  target: [\n    {...}\n  ]`) is invalid YAML 1.2, but libyaml, go-yaml and
/// GitHub accept it and real workflows rely on it. Such a bracket is moved one column right
/// and the stream is loaded again, so positions stay exact everywhere else.
pub(crate) fn load(text: &str) -> Stream {
    let mut repaired: Option<String> = None;
    for _ in 0..MAX_BRACKET_REPAIRS {
        let current = repaired.as_deref().unwrap_or(text);
        let stream = load_strict(current);
        let bracket_line = match &stream.error {
            Some(LoadError::Syntax { message, line, .. }) if message == "invalid indentation" => {
                Some(*line)
            }
            _ => None,
        };
        match bracket_line.and_then(|line| indent_closing_bracket(current, line)) {
            Some(fixed) => repaired = Some(fixed),
            None => return stream,
        }
    }
    load_strict(repaired.as_deref().unwrap_or(text))
}

/// `text` with one more space before the `]` or `}` that starts `line`, if it does.
fn indent_closing_bracket(text: &str, line: u32) -> Option<String> {
    let index = usize::try_from(line).ok()?.checked_sub(1)?;
    let start = if index == 0 {
        0
    } else {
        text.match_indices('\n').nth(index - 1)?.0 + 1
    };
    let rest = text.get(start..)?;
    let first = rest.trim_start_matches([' ', '\t']).chars().next()?;
    if first != ']' && first != '}' {
        return None;
    }
    let mut fixed = String::with_capacity(text.len() + 1);
    fixed.push_str(text.get(..start)?);
    fixed.push(' ');
    fixed.push_str(rest);
    Some(fixed)
}

fn load_strict(text: &str) -> Stream {
    let mut parser = Parser::new_from_str(text);
    let mut loader = Loader {
        stack: Vec::new(),
        anchors: HashMap::new(),
        nodes: 0,
        bytes: 0,
        root: None,
        duplicates: Vec::new(),
    };
    let mut stream = Stream::default();
    while let Some(next) = parser.next_event() {
        let (event, span) = match next {
            Ok(pair) => pair,
            Err(e) => {
                stream.error = Some(LoadError::Syntax {
                    message: e.info().to_owned(),
                    line: to_u32(e.marker().line()),
                    column: to_u32(e.marker().col().saturating_add(1)),
                });
                break;
            }
        };
        if let Err(e) = loader.event(event, span, &mut stream.documents) {
            stream.error = Some(e);
            break;
        }
    }
    stream.duplicates = loader.duplicates;
    stream
}

impl Loader {
    fn event(
        &mut self,
        event: Event<'_>,
        span: Span,
        documents: &mut Vec<Node>,
    ) -> Result<(), LoadError> {
        match event {
            Event::DocumentStart(_) => {
                self.root = None;
                // Anchors are scoped to their document.
                self.anchors.clear();
            }
            Event::DocumentEnd => {
                if let Some(root) = self.root.take() {
                    documents.push(root);
                }
            }
            Event::Scalar(text, style, anchor, _tag) => {
                let style = match style {
                    ScalarStyle::Plain => Style::Plain,
                    ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => Style::Quoted,
                    ScalarStyle::Literal => Style::Literal,
                    ScalarStyle::Folded => Style::Folded,
                };
                let is_null =
                    style == Style::Plain && matches!(&*text, "" | "~" | "null" | "Null" | "NULL");
                let weight = Weight {
                    nodes: 1,
                    bytes: text.len(),
                    height: 1,
                };
                self.charge(weight, span)?;
                let value = if is_null {
                    Value::Null
                } else {
                    Value::Scalar {
                        text: text.into_owned(),
                        style,
                    }
                };
                self.finish(Node::new(value, span), weight, anchor, span)?;
            }
            Event::Alias(id) => {
                let (line, column) = position(span);
                let weight = self
                    .anchors
                    .get(&id)
                    .map(|(_, weight)| *weight)
                    .ok_or(LoadError::UnknownAlias { line, column })?;
                if self.stack.len().saturating_add(weight.height) > MAX_DEPTH {
                    return Err(LoadError::TooDeep { line, column });
                }
                self.charge(weight, span)?;
                let mut copy = self
                    .anchors
                    .get(&id)
                    .map(|(node, _)| node.clone())
                    .ok_or(LoadError::UnknownAlias { line, column })?;
                // The copy is where the alias is: findings about it point at the alias.
                copy.line = line;
                copy.column = column;
                self.finish(copy, weight, 0, span)?;
            }
            Event::SequenceStart(anchor, _tag) => {
                self.open(
                    Frame::Sequence {
                        span,
                        anchor,
                        items: Vec::new(),
                        weight: Weight::default(),
                    },
                    span,
                )?;
            }
            Event::MappingStart(anchor, _tag) => {
                self.open(
                    Frame::Mapping {
                        span,
                        anchor,
                        entries: Vec::new(),
                        key: None,
                        weight: Weight::default(),
                    },
                    span,
                )?;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(frame) = self.stack.pop() {
                    let (node, weight, anchor, span) = match frame {
                        Frame::Sequence {
                            span,
                            anchor,
                            items,
                            weight,
                        } => (
                            Node::new(Value::Sequence(items), span),
                            weight,
                            anchor,
                            span,
                        ),
                        Frame::Mapping {
                            span,
                            anchor,
                            entries,
                            weight,
                            ..
                        } => {
                            let entries = self.merge_and_check(entries);
                            (
                                Node::new(Value::Mapping(entries), span),
                                weight,
                                anchor,
                                span,
                            )
                        }
                    };
                    let weight = Weight {
                        nodes: weight.nodes.saturating_add(1),
                        bytes: weight.bytes,
                        height: weight.height.saturating_add(1),
                    };
                    self.charge(
                        Weight {
                            nodes: 1,
                            ..Weight::default()
                        },
                        span,
                    )?;
                    self.finish(node, weight, anchor, span)?;
                }
            }
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
        }
        Ok(())
    }

    fn open(&mut self, frame: Frame, span: Span) -> Result<(), LoadError> {
        if self.stack.len() >= MAX_DEPTH {
            let (line, column) = position(span);
            return Err(LoadError::TooDeep { line, column });
        }
        self.stack.push(frame);
        Ok(())
    }

    fn charge(&mut self, weight: Weight, span: Span) -> Result<(), LoadError> {
        self.nodes = self.nodes.saturating_add(weight.nodes);
        self.bytes = self.bytes.saturating_add(weight.bytes);
        if self.nodes > MAX_NODES || self.bytes > MAX_SCALAR_BYTES {
            let (line, column) = position(span);
            return Err(LoadError::TooLarge { line, column });
        }
        Ok(())
    }

    /// Hands a completed node to its parent (or makes it the document root).
    fn finish(
        &mut self,
        node: Node,
        weight: Weight,
        anchor: usize,
        span: Span,
    ) -> Result<(), LoadError> {
        if anchor != 0 {
            // Keeping the anchor's copy costs as much as the node itself.
            self.charge(weight, span)?;
            self.anchors.insert(anchor, (node.clone(), weight));
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Sequence {
                items,
                weight: total,
                ..
            }) => {
                items.push(node);
                add(total, weight);
            }
            Some(Frame::Mapping {
                entries,
                key,
                weight: total,
                ..
            }) => {
                match key.take() {
                    None => *key = Some(node),
                    Some(k) => entries.push((k, node)),
                }
                add(total, weight);
            }
        }
        Ok(())
    }

    /// Applies `<<` merge keys (explicit keys win, then earlier merged mappings) and records
    /// duplicate explicit keys.
    fn merge_and_check(&mut self, entries: Vec<(Node, Node)>) -> Vec<(Node, Node)> {
        let (merges, mut explicit): (Vec<_>, Vec<_>) = entries
            .into_iter()
            .partition(|(k, _)| k.style() == Some(Style::Plain) && k.as_str() == Some("<<"));
        let mut first_seen: HashMap<String, u32> = HashMap::new();
        for (key, _) in &explicit {
            if let Some(text) = key.as_str() {
                if let Some(first_line) = first_seen.get(text) {
                    self.duplicates.push(DuplicateKey {
                        key: text.to_owned(),
                        first_line: *first_line,
                        line: key.line,
                        column: key.column,
                    });
                } else {
                    first_seen.insert(text.to_owned(), key.line);
                }
            }
        }
        let mut present: HashSet<String> = first_seen.into_keys().collect();
        for (_, value) in merges {
            let sources = match value.value {
                Value::Mapping(_) => vec![value],
                Value::Sequence(items) => items,
                _ => Vec::new(),
            };
            for source in sources {
                if let Value::Mapping(merged) = source.value {
                    for (key, value) in merged {
                        let Some(text) = key.as_str() else { continue };
                        if present.insert(text.to_owned()) {
                            explicit.push((key, value));
                        }
                    }
                }
            }
        }
        explicit
    }
}

fn add(total: &mut Weight, child: Weight) {
    total.nodes = total.nodes.saturating_add(child.nodes);
    total.bytes = total.bytes.saturating_add(child.bytes);
    total.height = total.height.max(child.height);
}

fn position(span: Span) -> (u32, u32) {
    (
        to_u32(span.start.line()),
        to_u32(span.start.col().saturating_add(1)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Node {
        let stream = load(text);
        assert!(stream.error.is_none(), "{:?}", stream.error);
        assert_eq!(stream.documents.len(), 1);
        stream.documents.into_iter().next().unwrap()
    }

    #[test]
    fn records_lines_and_columns_of_keys_and_values() {
        let doc = one("a: 1\nb:\n  c: [x, y]\n  d: |\n    one\n    two\n");
        let (key, value) = doc.path(&["b"]).unwrap().entry("c").unwrap();
        assert_eq!((key.line, key.column), (3, 3));
        assert_eq!(value.items()[1].as_str(), Some("y"));
        assert_eq!(value.items()[1].column, 10);
        let script = doc.path(&["b", "d"]).unwrap();
        assert_eq!(script.as_str(), Some("one\ntwo\n"));
        assert_eq!(script.content_line(1), 6);
    }

    #[test]
    fn reads_multiple_documents_and_keeps_those_before_an_error() {
        let stream = load("a: 1\n---\nb: 2\n---\nc: [\n");
        assert_eq!(stream.documents.len(), 2);
        let error = stream.error.unwrap();
        assert!(!error.is_limit());
        assert!(error.position().0 >= 5, "{error:?}");
    }

    #[test]
    fn on_is_a_string_key_and_yes_is_true() {
        let doc = one("on: push\nprivileged: yes\nnull_value: ~\n");
        assert_eq!(doc.get("on").and_then(Node::as_str), Some("push"));
        assert_eq!(doc.get("privileged").and_then(Node::as_bool), Some(true));
        assert!(matches!(doc.get("null_value").unwrap().value, Value::Null));
    }

    #[test]
    fn closing_brackets_at_the_parent_indentation_are_accepted() {
        let text = "matrix:\n  target: [\n    { os: a },\n    { os: b },\n  ]\n  channel: [stable]\nnext: {\n  a: 1\n}\n";
        let doc = one(text);
        let target = doc.path(&["matrix", "target"]).unwrap();
        assert_eq!(target.items().len(), 2);
        assert_eq!(target.items()[1].line, 4);
        assert_eq!(doc.path(&["next", "a"]).unwrap().as_str(), Some("1"));
        // Other indentation errors still fail.
        assert!(load("a:\n  b: 1\n c: 2\n").error.is_some());
    }

    #[test]
    fn merge_keys_fill_in_missing_keys_only() {
        let doc = one(".base: &base\n  image: a\n  script: [x]\njob:\n  <<: *base\n  image: b\n");
        let job = doc.get("job").unwrap();
        assert_eq!(job.get("image").and_then(Node::as_str), Some("b"));
        assert_eq!(job.get("script").unwrap().items()[0].as_str(), Some("x"));
        assert!(job.get("<<").is_none());
    }

    #[test]
    fn duplicate_keys_are_reported_and_the_last_value_is_read() {
        let stream = load("privileged: false\nprivileged: true\n");
        assert_eq!(stream.duplicates.len(), 1);
        assert_eq!(stream.duplicates[0].first_line, 1);
        assert_eq!(stream.duplicates[0].line, 2);
        let doc = &stream.documents[0];
        assert_eq!(doc.get("privileged").and_then(Node::as_bool), Some(true));
    }

    #[test]
    fn alias_bombs_hit_the_budget() {
        let mut text = String::from("a0: &a0 [\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"]\n");
        for i in 1..40 {
            let prev = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        let stream = load(&text);
        assert!(stream.error.as_ref().is_some_and(LoadError::is_limit));
    }

    #[test]
    fn deep_nesting_hits_the_depth_limit() {
        let text = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let stream = load(&text);
        assert!(stream.error.is_some());
        let mut block = String::new();
        for depth in 0..(MAX_DEPTH + 5) {
            block.push_str(&" ".repeat(depth));
            block.push_str("k:\n");
        }
        let stream = load(&block);
        assert!(matches!(stream.error, Some(LoadError::TooDeep { .. })));
    }

    #[test]
    fn nested_aliases_cannot_exceed_the_depth_limit() {
        let mut text = String::from("a0: &a0 [x]\n");
        for i in 1..(MAX_DEPTH + 5) {
            text.push_str(&format!("a{i}: &a{i} [*a{}]\n", i - 1));
        }
        let stream = load(&text);
        assert!(matches!(stream.error, Some(LoadError::TooDeep { .. })));
    }

    #[test]
    fn integers_in_the_forms_kubernetes_accepts() {
        let doc = one("a: 0\nb: 1000\nc: 0x0\nd: -1\ne: '12'\nf: x\n");
        let get = |k: &str| doc.get(k).and_then(Node::as_i64);
        assert_eq!(
            [get("a"), get("b"), get("c"), get("d"), get("e"), get("f")],
            [Some(0), Some(1000), Some(0), Some(-1), Some(12), None]
        );
    }
}
