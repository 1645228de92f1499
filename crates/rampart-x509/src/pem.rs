//! Finding `CERTIFICATE` blocks in PEM text. Deliberately lax about what OpenSSL is lax
//! about (any text between blocks, any base64 line width, CRLF), strict about the rest
//! (encapsulated headers, bad base64, a block that never ends).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
const END: &[u8] = b"-----END CERTIFICATE-----";

/// The body of one `BEGIN CERTIFICATE` block.
pub(crate) struct Block<'a> {
    /// 1-based line of the `BEGIN` marker.
    pub line: usize,
    /// Text between the markers, or `None` when the block has no `END` marker.
    body: Option<&'a [u8]>,
}

impl Block<'_> {
    /// The DER bytes the block encodes.
    pub fn decode(&self) -> Result<Vec<u8>, String> {
        let body = self
            .body
            .ok_or_else(|| "no `-----END CERTIFICATE-----` line".to_owned())?;
        if body.contains(&b':') {
            return Err("encapsulated headers (`Proc-Type:` ...) are not supported".to_owned());
        }
        let text: Vec<u8> = body
            .iter()
            .copied()
            .filter(|byte| !byte.is_ascii_whitespace())
            .collect();
        if text.is_empty() {
            return Err("the block is empty".to_owned());
        }
        STANDARD
            .decode(&text)
            .map_err(|error| format!("invalid base64: {error}"))
    }
}

/// Every `BEGIN CERTIFICATE` block in `text`, in order.
pub(crate) fn certificate_blocks(text: &[u8]) -> Vec<Block<'_>> {
    let mut blocks = Vec::new();
    let mut rest = text;
    let mut consumed = 0usize;
    while let Some(begin) = find(rest, BEGIN) {
        let line = line_of(text, consumed.saturating_add(begin));
        let after_begin = rest
            .get(begin.saturating_add(BEGIN.len())..)
            .unwrap_or_default();
        let Some(end) = find(after_begin, END) else {
            blocks.push(Block { line, body: None });
            break;
        };
        blocks.push(Block {
            line,
            body: after_begin.get(..end),
        });
        let advance = begin
            .saturating_add(BEGIN.len())
            .saturating_add(end)
            .saturating_add(END.len());
        rest = rest.get(advance..).unwrap_or_default();
        consumed = consumed.saturating_add(advance);
    }
    blocks
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

fn line_of(text: &[u8], offset: usize) -> usize {
    let before = text.get(..offset).unwrap_or(text);
    before
        .iter()
        .filter(|&&byte| byte == b'\n')
        .count()
        .saturating_add(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_blocks_between_other_text_and_reports_their_lines() {
        let text = b"comment\n-----BEGIN CERTIFICATE-----\nAAEC\n-----END CERTIFICATE-----\nmore\r\n-----BEGIN PRIVATE KEY-----\nxx\n-----END PRIVATE KEY-----\n-----BEGIN CERTIFICATE-----\r\nAw\r\n==\r\n-----END CERTIFICATE-----";
        let blocks = certificate_blocks(text);
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks.first().map(|block| block.line), Some(2));
        assert_eq!(blocks.get(1).map(|block| block.line), Some(9));
        assert_eq!(blocks.first().map(Block::decode), Some(Ok(vec![0, 1, 2])));
        assert_eq!(blocks.get(1).map(Block::decode), Some(Ok(vec![3])));
    }

    #[test]
    fn refuses_unterminated_empty_headered_and_bad_base64_blocks() {
        for text in [
            &b"-----BEGIN CERTIFICATE-----\nAAEC\n"[..],
            b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----",
            b"-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\nAAEC\n-----END CERTIFICATE-----",
            b"-----BEGIN CERTIFICATE-----\nAA*C\n-----END CERTIFICATE-----",
        ] {
            let blocks = certificate_blocks(text);
            assert_eq!(blocks.len(), 1);
            assert!(
                blocks
                    .first()
                    .map(Block::decode)
                    .is_some_and(|result| result.is_err())
            );
        }
    }
}
