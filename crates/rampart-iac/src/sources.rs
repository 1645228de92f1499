//! The scan's file table: positions carry a file index, findings need the file's
//! [`Location`]; and byte offsets (what the HCL parser records) become lines and columns.

use std::cell::RefCell;
use std::ops::Range;
use std::rc::Rc;

use rampart_core::Location;

use crate::value::Pos;

/// A file's text and its line index.
type SourceText = (Rc<str>, Rc<LineIndex>);

/// Interior mutability: evaluation adds files it reads (`file()`, `templatefile()`)
/// while findings are being built from positions in others. Single-threaded by design.
#[derive(Default)]
pub(crate) struct Files {
    locations: RefCell<Vec<Location>>,
    /// The text of files whose positions come from byte offsets (HCL), for offset →
    /// line conversion and for quoting source in messages.
    texts: RefCell<Vec<Option<SourceText>>>,
}

impl Files {
    pub fn add(&self, location: Location) -> u32 {
        let mut locations = self.locations.borrow_mut();
        locations.push(location);
        self.texts.borrow_mut().push(None);
        u32::try_from(locations.len() - 1).unwrap_or(u32::MAX)
    }

    pub fn add_text(&self, location: Location, text: String) -> u32 {
        let id = self.add(location);
        let index = Rc::new(LineIndex::new(&text));
        if let Some(slot) = self.texts.borrow_mut().last_mut() {
            *slot = Some((Rc::from(text), index));
        }
        id
    }

    fn text(&self, file: u32) -> Option<SourceText> {
        self.texts.borrow().get(file as usize).cloned().flatten()
    }

    /// The position of a byte offset in a file added with its text.
    pub fn pos(&self, file: u32, offset: usize) -> Pos {
        match self.text(file) {
            Some((text, index)) => index.pos(&text, offset, file),
            None => Pos {
                file,
                line: 0,
                col: 0,
            },
        }
    }

    /// The source text of a span, trimmed; empty when unknown.
    pub fn slice(&self, file: u32, span: Option<Range<usize>>) -> String {
        match (self.text(file), span) {
            (Some((text, _)), Some(span)) => text.get(span).unwrap_or("").trim().to_owned(),
            _ => String::new(),
        }
    }

    /// The finding location for `pos`, with the logical resource it concerns.
    pub fn at(&self, pos: Pos, resource: Option<&str>) -> Location {
        let base = self.file(pos.file);
        let located = if pos.line > 0 {
            base.at_line(pos.line, (pos.col > 0).then_some(pos.col))
        } else {
            base
        };
        match resource {
            Some(address) => located.with_resource(address),
            None => located,
        }
    }

    /// The location of a whole file.
    pub fn file(&self, file: u32) -> Location {
        self.locations
            .borrow()
            .get(file as usize)
            .cloned()
            .unwrap_or_default()
    }
}

/// Byte offset → line and column (columns count characters, 1-based).
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { starts }
    }

    pub fn pos(&self, text: &str, offset: usize, file: u32) -> Pos {
        let line_index = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.starts.get(line_index).copied().unwrap_or(0);
        let col = text
            .get(start..offset.min(text.len()))
            .map_or(0, |s| s.chars().count());
        Pos {
            file,
            line: u32::try_from(line_index + 1).unwrap_or(u32::MAX),
            col: u32::try_from(col + 1).unwrap_or(u32::MAX),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_lines_and_columns() {
        let text = "ab\ncdé\n\nx";
        let index = LineIndex::new(text);
        let at = |o| {
            let p = index.pos(text, o, 0);
            (p.line, p.col)
        };
        assert_eq!(at(0), (1, 1));
        assert_eq!(at(3), (2, 1));
        assert_eq!(at(7), (2, 4));
        assert_eq!(at(9), (4, 1));
        assert_eq!(at(999), (4, 2));
        let files = Files::default();
        let id = files.add(Location::file("main.tf"));
        let loc = files.at(
            Pos {
                file: id,
                line: 3,
                col: 2,
            },
            Some("aws_s3_bucket.x"),
        );
        assert_eq!(loc.to_string(), "main.tf:3:2 (aws_s3_bucket.x)");
    }
}
