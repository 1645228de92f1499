//! A bounded YAML reader for model-card front matter and conda `environment.yml`: the
//! saphyr-parser event stream (a maintained, YAML 1.2 parser with line positions) folded
//! into a small tree. Aliases are refused (they are how "billion laughs" documents grow),
//! and so are nesting beyond [`MAX_DEPTH`] and more nodes than the caller allows.

use saphyr_parser::{Event, Parser};

/// Deeper nesting than this is refused; real cards and environments use three or four levels.
const MAX_DEPTH: usize = 64;

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    /// Every scalar as its text: front matter is read as strings (`license: mit`,
    /// `version: 1.0`), never as typed values.
    Scalar(String),
    Sequence(Vec<Node>),
    Mapping(Vec<(String, Node)>),
}

/// A value and the 1-based line where it starts.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Node {
    pub value: Value,
    pub line: u32,
}

/// Why a document was refused, and the line where.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct YamlError {
    pub message: String,
    pub line: u32,
}

impl Node {
    /// The value of `key` in a mapping.
    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Mapping(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(text) if !text.is_empty() && text != "null" && text != "~" => Some(text),
            _ => None,
        }
    }

    pub(crate) fn as_sequence(&self) -> &[Node] {
        match &self.value {
            Value::Sequence(items) => items,
            _ => &[],
        }
    }

    /// A scalar or a sequence of scalars, as front matter writes `datasets: x` and
    /// `datasets: [x, y]` interchangeably.
    pub(crate) fn strings(&self) -> Vec<String> {
        match &self.value {
            Value::Scalar(_) => self.as_str().map(str::to_owned).into_iter().collect(),
            Value::Sequence(items) => items
                .iter()
                .filter_map(Node::as_str)
                .map(str::to_owned)
                .collect(),
            Value::Mapping(_) => Vec::new(),
        }
    }
}

enum Frame {
    Sequence(Vec<Node>, u32),
    Mapping(Vec<(String, Node)>, Option<String>, u32),
}

fn line_of(line: usize) -> u32 {
    u32::try_from(line).unwrap_or(u32::MAX)
}

/// Parses the first document of `text` into a tree of at most `max_nodes` nodes. An empty
/// document is an empty mapping.
pub(crate) fn parse(text: &str, max_nodes: u64) -> Result<Node, YamlError> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut nodes: u64 = 0;
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| YamlError {
            message: e.info().to_owned(),
            line: line_of(e.marker().line()),
        })?;
        let line = line_of(span.start.line());
        let error = |message: &str| YamlError {
            message: message.to_owned(),
            line,
        };
        let completed = match event {
            Event::Scalar(text, ..) => Node {
                value: Value::Scalar(text.into_owned()),
                line,
            },
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(error(&format!("nesting deeper than {MAX_DEPTH} levels")));
                }
                stack.push(if matches!(event, Event::SequenceStart(..)) {
                    Frame::Sequence(Vec::new(), line)
                } else {
                    Frame::Mapping(Vec::new(), None, line)
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::Sequence(items, start)) => Node {
                    value: Value::Sequence(items),
                    line: start,
                },
                Some(Frame::Mapping(entries, _, start)) => Node {
                    value: Value::Mapping(entries),
                    line: start,
                },
                None => return Err(error("unbalanced collection end")),
            },
            Event::Alias(_) => return Err(error("YAML aliases are not supported")),
            Event::DocumentEnd | Event::StreamEnd => break,
            Event::Nothing | Event::StreamStart | Event::DocumentStart(_) => continue,
        };
        nodes += 1;
        if nodes > max_nodes {
            return Err(error(&format!(
                "more than max_metadata_entries ({max_nodes}) YAML nodes"
            )));
        }
        match stack.last_mut() {
            None => return Ok(completed),
            Some(Frame::Sequence(items, _)) => items.push(completed),
            Some(Frame::Mapping(entries, pending, _)) => match pending.take() {
                Some(key) => entries.push((key, completed)),
                None => match completed.value {
                    Value::Scalar(key) => *pending = Some(key),
                    _ => return Err(error("only scalar mapping keys are supported")),
                },
            },
        }
    }
    if stack.is_empty() {
        Ok(Node {
            value: Value::Mapping(Vec::new()),
            line: 1,
        })
    } else {
        Err(YamlError {
            message: "document ends inside a collection".to_owned(),
            line: line_of(text.lines().count()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mappings_sequences_and_lines() {
        let doc = parse(
            "license: apache-2.0\ndatasets:\n  - squad\n  - glue\ntags: [a, b]\nnested:\n  k: v\n",
            100,
        )
        .unwrap();
        assert_eq!(
            doc.get("license").and_then(Node::as_str),
            Some("apache-2.0")
        );
        assert_eq!(doc.get("datasets").unwrap().strings(), ["squad", "glue"]);
        assert_eq!(doc.get("datasets").unwrap().as_sequence()[1].line, 4);
        assert_eq!(doc.get("tags").unwrap().strings(), ["a", "b"]);
        assert_eq!(
            doc.get("nested")
                .and_then(|n| n.get("k"))
                .and_then(Node::as_str),
            Some("v")
        );
        assert_eq!(parse("", 10).unwrap().value, Value::Mapping(Vec::new()));
    }

    #[test]
    fn refuses_aliases_depth_and_size() {
        let laughs = "a: &a [x, x]\nb: &b [*a, *a]\n";
        assert!(parse(laughs, 1000).unwrap_err().message.contains("aliases"));
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(parse(&deep, 1000).is_err());
        assert!(parse("[1, 2, 3, 4]", 3).is_err());
        let broken = parse("a: [1, 2\nb: c", 100).unwrap_err();
        assert!(broken.line >= 1);
    }
}
