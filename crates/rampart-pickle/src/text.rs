//! Protocol 0 text arguments, decoded the way CPython's unpickler does: `int(x, 0)` for
//! INT, `int(x)` for memo keys, `float(x)`, `codecs.escape_decode` for STRING and
//! `raw_unicode_escape` for UNICODE. A text the loader would reject is an error here too.

/// An integer argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Integer {
    Small(i64),
    /// Valid, but outside i64.
    Big,
}

fn trim(text: &[u8]) -> &[u8] {
    text.trim_ascii()
}

/// Python's `int(text, base)` with base 0 (prefixes, no leading zeros) or 10.
pub(crate) fn parse_int(text: &[u8], auto_base: bool) -> Option<Integer> {
    let text = trim(text);
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    let (radix, digits, prefixed) = match digits {
        [b'0', b'x' | b'X', rest @ ..] if auto_base => (16, rest, true),
        [b'0', b'o' | b'O', rest @ ..] if auto_base => (8, rest, true),
        [b'0', b'b' | b'B', rest @ ..] if auto_base => (2, rest, true),
        _ => (10, digits, false),
    };
    // An underscore may follow a base prefix, otherwise only separate two digits.
    let digits = if prefixed {
        digits.strip_prefix(b"_").unwrap_or(digits)
    } else {
        digits
    };
    if digits.is_empty() || digits.first() == Some(&b'_') || digits.last() == Some(&b'_') {
        return None;
    }
    if digits.windows(2).any(|w| w == b"__") {
        return None;
    }
    let mut value: Option<i64> = Some(0);
    let mut nonzero_seen = false;
    for &b in digits.iter().filter(|&&b| b != b'_') {
        let digit = char::from(b).to_digit(radix)?;
        nonzero_seen |= digit != 0;
        value = value
            .and_then(|v| v.checked_mul(i64::from(radix)))
            .and_then(|v| {
                if negative {
                    v.checked_sub(i64::from(digit))
                } else {
                    v.checked_add(i64::from(digit))
                }
            });
    }
    // `int('012', 0)` is an error: decimal literals cannot have leading zeros.
    if auto_base && radix == 10 && digits.first() == Some(&b'0') && nonzero_seen {
        return None;
    }
    Some(value.map_or(Integer::Big, Integer::Small))
}

/// Python's `float(text)`.
pub(crate) fn parse_float(text: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(trim(text)).ok()?;
    if text.contains('_') {
        let bytes = text.as_bytes();
        let ok = bytes.iter().enumerate().all(|(i, &b)| {
            b != b'_'
                || (i > 0
                    && bytes.get(i - 1).is_some_and(u8::is_ascii_digit)
                    && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
        });
        return if ok {
            text.replace('_', "").parse().ok()
        } else {
            None
        };
    }
    text.parse().ok()
}

/// `codecs.escape_decode` of a quoted STRING argument (quotes already removed).
pub(crate) fn escape_decode(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while let Some(&b) = text.get(i) {
        i += 1;
        if b != b'\\' {
            out.push(b);
            continue;
        }
        let escape = *text.get(i)?; // a trailing backslash is an error
        i += 1;
        match escape {
            b'\n' => {}
            b'\\' | b'\'' | b'"' => out.push(escape),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let mut value = u32::from(escape - b'0');
                for _ in 0..2 {
                    match text.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push((value & 0xff) as u8);
            }
            b'x' => {
                let hex = text.get(i..i + 2)?;
                let value = u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
                i += 2;
                out.push(value);
            }
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    Some(out)
}

/// `raw_unicode_escape` decoding of a UNICODE argument: `\uXXXX` and `\UXXXXXXXX` after an
/// odd run of backslashes, every other byte is a Latin-1 character. Lone surrogates
/// (which Python allows) become U+FFFD.
pub(crate) fn raw_unicode_escape(text: &[u8]) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while let Some(&b) = text.get(i) {
        i += 1;
        if b != b'\\' {
            out.push(char::from(b));
            continue;
        }
        let mut run = 1;
        while text.get(i) == Some(&b'\\') {
            run += 1;
            i += 1;
        }
        let digits = match text.get(i) {
            Some(b'u') if run % 2 == 1 => 4,
            Some(b'U') if run % 2 == 1 => 8,
            _ => 0,
        };
        let literal_backslashes = if digits > 0 { run - 1 } else { run };
        out.extend(std::iter::repeat_n('\\', literal_backslashes));
        if digits > 0 {
            let hex = text.get(i + 1..i + 1 + digits)?;
            let code = u32::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
            if code > 0x10_ffff {
                return None;
            }
            out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
            i += 1 + digits;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_follow_python_int_with_base_zero() {
        assert_eq!(parse_int(b"01", true), None);
        assert_eq!(parse_int(b"0", true), Some(Integer::Small(0)));
        assert_eq!(parse_int(b"00", true), Some(Integer::Small(0)));
        assert_eq!(parse_int(b" -42 ", true), Some(Integer::Small(-42)));
        assert_eq!(parse_int(b"0x_1f", true), Some(Integer::Small(31)));
        assert_eq!(parse_int(b"1_000", true), Some(Integer::Small(1000)));
        assert_eq!(parse_int(b"1__0", true), None);
        assert_eq!(parse_int(b"12a", true), None);
        assert_eq!(parse_int(b"", true), None);
        assert_eq!(
            parse_int(b"119547037146038801333356", true),
            Some(Integer::Big)
        );
        assert_eq!(
            parse_int(b"-9223372036854775808", true),
            Some(Integer::Small(i64::MIN))
        );
        assert_eq!(parse_int(b"007", false), Some(Integer::Small(7)));
    }

    #[test]
    fn floats_follow_python_float() {
        assert_eq!(parse_float(b"1.5"), Some(1.5));
        assert_eq!(parse_float(b" 1_0.5\n"), Some(10.5));
        assert!(parse_float(b"inf").is_some_and(f64::is_infinite));
        assert!(parse_float(b"nan").is_some_and(f64::is_nan));
        assert_eq!(parse_float(b"1__0"), None);
        assert_eq!(parse_float(b"loat"), None);
    }

    #[test]
    fn string_escapes_decode() {
        assert_eq!(escape_decode(br"a\'b\x41\101\n\q").unwrap(), b"a'bAA\n\\q");
        assert_eq!(escape_decode(br"bad\x4"), None);
        assert_eq!(escape_decode(b"trailing\\"), None);
    }

    #[test]
    fn raw_unicode_escapes_decode() {
        assert_eq!(raw_unicode_escape(br"os\u0073").unwrap(), "oss");
        assert_eq!(raw_unicode_escape(br"a\\u0041").unwrap(), r"a\\u0041");
        assert_eq!(raw_unicode_escape(br"\\\u0041").unwrap(), r"\\A");
        assert_eq!(raw_unicode_escape(b"\xe9").unwrap(), "\u{e9}");
        assert_eq!(raw_unicode_escape(br"\u00"), None);
        assert_eq!(raw_unicode_escape(br"\U00110000"), None);
    }
}
