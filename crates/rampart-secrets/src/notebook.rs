//! Jupyter notebooks: every string in the document is scanned, each with the cell it
//! belongs to. Cell sources are joined line by line as the notebook shows them; outputs
//! (stream text, tracebacks, MIME bundles) are where tokens leak most (`print(os.environ)`,
//! `!env`, login echoes), so base64 runs in them are decoded and scanned too, as are
//! binary payloads that turn out to be text. Metadata strings are scanned with their key,
//! so `"api_key": "…"` counts as an assignment.

use rampart_core::{Finding, Location, rules as core_rules};

use crate::json::{Decoded, JsonError, RawString, Reader};
use crate::report::Report;

/// Strings this long made only of base64 characters are payloads (attachments, images),
/// decoded instead of scanned as text.
const MIN_BLOB: usize = 512;

/// Scans notebook `data` (nbformat 3 or 4).
pub fn scan_notebook(data: &[u8], location: &Location, out: &mut Vec<Finding>) {
    let mut report = Report::new(data);
    let mut reader = Reader::new(data);
    let mut walker = Walker {
        data,
        report: &mut report,
        cells: 0,
    };
    let outcome = walker.document(&mut reader).and_then(|()| reader.finish());
    if let Err(error) = outcome {
        let (rule, message) = match error {
            JsonError::TooDeep { .. } => (
                &core_rules::LIMIT_EXCEEDED,
                format!(
                    "notebook JSON nests too deeply ({error}); the rest was scanned as plain text"
                ),
            ),
            JsonError::Syntax { .. } => (
                &core_rules::MALFORMED,
                format!(
                    "notebook is not valid JSON ({error}); it was scanned as plain text instead"
                ),
            ),
        };
        report.problem(rule, error.offset(), message, None);
        report.scan_raw_fallback();
    }
    report.finish(location, out);
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Source,
    Output,
}

struct Walker<'d, 'r> {
    data: &'d [u8],
    report: &'r mut Report<'d>,
    cells: usize,
}

fn is_binary_mime(mime: &[u8]) -> bool {
    [
        &b"image/"[..],
        b"audio/",
        b"video/",
        b"application/pdf",
        b"application/octet-stream",
    ]
    .iter()
    .any(|prefix| mime.starts_with(prefix))
        && mime != b"image/svg+xml"
}

fn is_blob(text: &[u8]) -> bool {
    text.len() >= MIN_BLOB
        && text
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'\n' | b'\r'))
}

/// Base64 payload with its line breaks removed.
fn without_newlines(text: &[u8]) -> Vec<u8> {
    text.iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect()
}

impl Walker<'_, '_> {
    fn document(&mut self, r: &mut Reader<'_>) -> Result<(), JsonError> {
        if r.peek() != Some(b'{') {
            return Err(JsonError::Syntax {
                offset: r.position(),
                what: "a notebook must be a JSON object",
            });
        }
        r.object(0, |r, key| match &*r.key(key) {
            b"cells" => r.array(1, |r, _| self.cell(r, 2)),
            // nbformat 3: cells live in worksheets.
            b"worksheets" => r.array(1, |r, _| {
                if r.peek() != Some(b'{') {
                    return self.generic(r, 2, None, "notebook metadata");
                }
                r.object(2, |r, key| match &*r.key(key) {
                    b"cells" => r.array(3, |r, _| self.cell(r, 4)),
                    other => self.generic(r, 3, Some(other), "notebook metadata"),
                })
            }),
            other => self.generic(r, 1, Some(other), "notebook metadata"),
        })
    }

    fn cell(&mut self, r: &mut Reader<'_>, depth: usize) -> Result<(), JsonError> {
        self.cells += 1;
        let number = self.cells;
        if r.peek() != Some(b'{') {
            return self.generic(r, depth, None, &format!("cell {number}"));
        }
        r.object(depth, |r, key| match &*r.key(key) {
            b"source" | b"input" => self.text_field(
                r,
                depth + 1,
                Field::Source,
                &format!("cell {number} source"),
            ),
            b"outputs" => r.array(depth + 1, |r, index| {
                self.output(r, depth + 2, number, index)
            }),
            b"attachments" => {
                self.generic(r, depth + 1, None, &format!("cell {number} attachments"))
            }
            other => self.generic(
                r,
                depth + 1,
                Some(other),
                &format!("cell {number} metadata"),
            ),
        })
    }

    fn output(
        &mut self,
        r: &mut Reader<'_>,
        depth: usize,
        cell: usize,
        index: usize,
    ) -> Result<(), JsonError> {
        let label = match index {
            0 => format!("cell {cell} output"),
            n => format!("cell {cell} output {}", n + 1),
        };
        if r.peek() != Some(b'{') {
            return self.generic(r, depth, None, &label);
        }
        r.object(depth, |r, key| match &*r.key(key) {
            b"text" | b"traceback" | b"evalue" | b"ename" => {
                self.text_field(r, depth + 1, Field::Output, &label)
            }
            b"data" if r.peek() == Some(b'{') => r.object(depth + 1, |r, mime| {
                let mime = r.key(mime);
                if is_binary_mime(&mime) {
                    self.payload(r, depth + 2, &label)
                } else {
                    self.text_field(r, depth + 2, Field::Output, &label)
                }
            }),
            // nbformat 3 keeps the MIME bundle on the output itself.
            b"png" | b"jpeg" | b"gif" | b"pdf" => self.payload(r, depth + 1, &label),
            b"html" | b"latex" | b"svg" | b"javascript" | b"markdown" | b"json" => {
                self.text_field(r, depth + 1, Field::Output, &label)
            }
            other => self.generic(r, depth + 1, Some(other), &label),
        })
    }

    /// A string or a list of strings shown as one text (source lines, stream chunks).
    fn text_field(
        &mut self,
        r: &mut Reader<'_>,
        depth: usize,
        field: Field,
        label: &str,
    ) -> Result<(), JsonError> {
        let mut text = Decoded::default();
        match r.peek() {
            Some(b'"') => text.push(self.data, r.string()?),
            Some(b'[') => r.array(depth, |r, _| {
                if r.peek() == Some(b'"') {
                    text.push(self.data, r.string()?);
                    Ok(())
                } else {
                    self.generic(r, depth + 1, None, label)
                }
            })?,
            _ => return self.generic(r, depth, None, label),
        }
        self.report
            .scan_decoded(&text, label, None, field == Field::Output);
        Ok(())
    }

    /// A base64 payload (an image, a PDF): scanned only if it decodes to text.
    fn payload(&mut self, r: &mut Reader<'_>, depth: usize, label: &str) -> Result<(), JsonError> {
        let mut text = Decoded::default();
        let mut start = None;
        let mut push = |text: &mut Decoded, raw: RawString| {
            start.get_or_insert(raw.start);
            text.push(self.data, raw);
        };
        match r.peek() {
            Some(b'"') => push(&mut text, r.string()?),
            Some(b'[') => r.array(depth, |r, _| {
                push(&mut text, r.string()?);
                Ok(())
            })?,
            _ => return self.generic(r, depth, None, label),
        }
        if let Some(start) = start {
            self.report
                .scan_base64(start, &without_newlines(&text.text), label);
        }
        Ok(())
    }

    /// Any other value: every string in it is scanned, with its member name.
    fn generic(
        &mut self,
        r: &mut Reader<'_>,
        depth: usize,
        name: Option<&[u8]>,
        label: &str,
    ) -> Result<(), JsonError> {
        match r.peek() {
            Some(b'"') => {
                let raw = r.string()?;
                let mut text = Decoded::default();
                text.push(self.data, raw);
                if is_blob(&text.text) {
                    self.report
                        .scan_base64(raw.start, &without_newlines(&text.text), label);
                } else {
                    self.report.scan_decoded(&text, label, name, false);
                }
                Ok(())
            }
            Some(b'{') => r.object(depth, |r, key| {
                let key = r.key(key);
                self.generic(r, depth + 1, Some(&key), label)
            }),
            Some(b'[') => r.array(depth, |r, _| self.generic(r, depth + 1, name, label)),
            _ => r.skip_value(depth),
        }
    }
}
