//! Positions in scripts that were assembled from pieces of a file (a Dockerfile instruction
//! joined across continuation lines, a YAML block scalar), mapped back to file lines.

use crate::yaml::{Node, Style};

/// The lines of a file, indexed once so that positions inside many scalars can be computed
/// without rescanning the file for each.
pub(crate) struct Lines<'a> {
    text: &'a str,
    /// Byte offset where each line starts.
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(text: &'a str) -> Lines<'a> {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Lines { text, starts }
    }

    /// The 1-based `line`, without its line break.
    pub(crate) fn get(&self, line: u32) -> Option<&'a str> {
        let index = usize::try_from(line).ok()?.checked_sub(1)?;
        let start = *self.starts.get(index)?;
        let end = self
            .starts
            .get(index + 1)
            .map_or(self.text.len(), |next| next.saturating_sub(1));
        let line = self.text.get(start..end)?;
        Some(line.strip_suffix('\r').unwrap_or(line))
    }
}

/// Maps byte offsets of an assembled text to 1-based (line, column) in the file.
#[derive(Debug)]
pub(crate) struct LineMap {
    /// (offset in the text, line, column of that offset), ascending by offset.
    segments: Vec<(usize, u32, u32)>,
    /// Every offset maps to the first segment's position (folded or quoted scalars, whose
    /// layout in the file is not recoverable from the value).
    fixed: bool,
}

impl LineMap {
    pub(crate) fn new() -> LineMap {
        LineMap {
            segments: Vec::new(),
            fixed: false,
        }
    }

    /// Records that the text from `offset` on comes from `line`, starting at `column`.
    pub(crate) fn push(&mut self, offset: usize, line: u32, column: u32) {
        self.segments.push((offset, line, column));
    }

    /// The map of a YAML scalar's text. Literal blocks map line for line (columns measured
    /// against the source line); other styles map everything to the scalar's start.
    pub(crate) fn of_scalar(node: &Node, source: &Lines<'_>) -> LineMap {
        let mut map = LineMap::new();
        let Some(text) = node.as_str() else {
            map.push(0, node.line, node.column);
            map.fixed = true;
            return map;
        };
        if node.style() != Some(Style::Literal) {
            map.push(0, node.line, node.column);
            map.fixed = node.style() != Some(Style::Plain) || text.contains('\n');
            return map;
        }
        let mut offset = 0usize;
        for (index, content) in text.split('\n').enumerate() {
            let line = node.content_line(index);
            let indentation = source.get(line).map_or(0, |source_line| {
                source_line.len().saturating_sub(content.len())
            });
            let column = u32::try_from(indentation.saturating_add(1)).unwrap_or(u32::MAX);
            map.push(offset, line, column);
            offset = offset.saturating_add(content.len()).saturating_add(1);
        }
        map
    }

    pub(crate) fn position(&self, offset: usize) -> (u32, u32) {
        let index = self
            .segments
            .partition_point(|(start, _, _)| *start <= offset)
            .saturating_sub(1);
        match self.segments.get(index) {
            None => (1, 1),
            Some(&(_, line, column)) if self.fixed => (line, column),
            Some(&(start, line, column)) => {
                let delta = u32::try_from(offset.saturating_sub(start)).unwrap_or(u32::MAX);
                (line, column.saturating_add(delta))
            }
        }
    }
}

/// A short, single-line rendering of a piece of script for `evidence`.
pub(crate) fn excerpt(text: &str) -> String {
    const MAX_CHARS: usize = 160;
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() <= MAX_CHARS {
        collapsed
    } else {
        let mut short: String = collapsed.chars().take(MAX_CHARS).collect();
        short.push('…');
        short
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml;

    #[test]
    fn literal_blocks_map_line_for_line_with_columns() {
        let source = "run: |\n  echo one\n  curl x | sh\n";
        let doc = yaml::load(source).documents.remove(0);
        let node = doc.get("run").unwrap();
        let map = LineMap::of_scalar(node, &Lines::new(source));
        let text = node.as_str().unwrap();
        let offset = text.find("curl").unwrap();
        assert_eq!(map.position(offset), (3, 3));
        assert_eq!(map.position(text.find("| sh").unwrap()), (3, 10));
    }

    #[test]
    fn literal_blocks_with_leading_blank_lines_and_indicators() {
        for source in [
            "run: |\n\n  echo one\n  curl x | sh\n",
            "run: |-\n  echo one\n  curl x | sh\n",
            "run: |2\n    echo one\n  curl x | sh\n",
            "steps:\n  - run: |  # comment\n      echo one\n      curl x | sh\n",
        ] {
            let doc = yaml::load(source).documents.remove(0);
            let node = doc
                .get("run")
                .or_else(|| {
                    doc.get("steps")
                        .map(|s| &s.items()[0])
                        .and_then(|s| s.get("run"))
                })
                .unwrap();
            let text = node.as_str().unwrap();
            let map = LineMap::of_scalar(node, &Lines::new(source));
            let (line, column) = map.position(text.find("curl").unwrap());
            let expected_line = source.lines().position(|l| l.contains("curl")).unwrap() + 1;
            let expected_column = source
                .lines()
                .nth(expected_line - 1)
                .unwrap()
                .find("curl")
                .unwrap()
                + 1;
            assert_eq!(
                (line as usize, column as usize),
                (expected_line, expected_column),
                "{source:?}"
            );
        }
    }

    #[test]
    fn other_styles_map_to_the_scalar() {
        let source = "run: \"echo a\\ncurl x | sh\"\n";
        let doc = yaml::load(source).documents.remove(0);
        let node = doc.get("run").unwrap();
        let map = LineMap::of_scalar(node, &Lines::new(source));
        assert_eq!(map.position(12), (1, 6));
    }

    #[test]
    fn lines_are_indexed_once() {
        let lines = Lines::new("a\r\nbb\n\nc");
        let got: Vec<Option<&str>> = (0..6).map(|n| lines.get(n)).collect();
        assert_eq!(
            got,
            [None, Some("a"), Some("bb"), Some(""), Some("c"), None]
        );
    }

    #[test]
    fn excerpts_are_single_line_and_bounded() {
        assert_eq!(excerpt("a \\\n   b\n c"), "a \\ b c");
        assert_eq!(excerpt(&"x ".repeat(200)).chars().count(), 161);
    }
}
