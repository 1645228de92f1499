//! Reading small text files (manifests, METADATA, model cards) within the limits, and
//! turning byte offsets into line numbers.

use std::io::Read;
use std::path::Path;

use rampart_core::{Limits, Location};

use crate::problem::{Problem, ProblemKind};

/// Reads a whole text file of at most `limits.max_header_bytes`. Invalid UTF-8 is replaced
/// (and reported) rather than refused: the rest of the file is still worth reading. `None`
/// after recording why when the file cannot be read or is too large.
pub(crate) fn read_text(
    path: &Path,
    location: &Location,
    limits: &Limits,
    problems: &mut Vec<Problem>,
) -> Option<String> {
    let bytes = read_bounded(path, location, limits.max_header_bytes, problems)?;
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            let offset = error.utf8_error().valid_up_to();
            problems.push(Problem::new(
                ProblemKind::Malformed,
                location.at(offset as u64),
                format!(
                    "{} is not valid UTF-8 at offset {offset}; invalid bytes were replaced",
                    location.name()
                ),
            ));
            String::from_utf8_lossy(error.as_bytes()).into_owned()
        }
    };
    Some(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_owned(),
        None => text,
    })
}

/// Reads a file of at most `max` bytes; larger files are a limit problem, not a partial read.
pub(crate) fn read_bounded(
    path: &Path,
    location: &Location,
    max: u64,
    problems: &mut Vec<Problem>,
) -> Option<Vec<u8>> {
    let unreadable = |problems: &mut Vec<Problem>, error: std::io::Error| {
        problems.push(Problem::new(
            ProblemKind::Unreadable,
            location.clone(),
            format!("{} could not be read: {error}", location.name()),
        ));
    };
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) => {
            unreadable(problems, error);
            return None;
        }
    };
    let mut bytes = Vec::new();
    // One byte past the limit tells a file of exactly `max` bytes from a larger one.
    match file.take(max.saturating_add(1)).read_to_end(&mut bytes) {
        Ok(_) if bytes.len() as u64 > max => {
            problems.push(Problem::new(
                ProblemKind::LimitExceeded,
                location.clone(),
                format!(
                    "{} is larger than max_header_bytes ({max}); it was not read",
                    location.name()
                ),
            ));
            None
        }
        Ok(_) => Some(bytes),
        Err(error) => {
            unreadable(problems, error);
            None
        }
    }
}

/// Line starts of `text`, for repeated offset-to-line lookups.
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub(crate) fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { starts }
    }

    pub(crate) fn line(&self, offset: usize) -> u32 {
        let line = self.starts.partition_point(|&start| start <= offset);
        u32::try_from(line.max(1)).unwrap_or(u32::MAX)
    }
}

/// At most `max` characters of untrusted text on one line, for messages.
pub(crate) fn excerpt(text: &str, max: usize) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == max {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_from_offsets() {
        let text = "a\nbc\n\nd";
        let index = LineIndex::new(text);
        assert_eq!(index.line(0), 1);
        assert_eq!(index.line(2), 2);
        assert_eq!(index.line(5), 3);
        assert_eq!(index.line(6), 4);
        assert_eq!(index.line(100), 4);
        assert_eq!(excerpt("a\u{7}bcdef", 3), "a\\u{7}b…");
    }
}
