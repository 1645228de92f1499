//! Cheap tests on a candidate value: does it look random, is it a placeholder from
//! documentation or a template, does it have the character mix of a real key.

/// Shannon entropy in bits per byte.
pub(crate) fn entropy(bytes: &[u8]) -> f64 {
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in bytes {
        let slot = &mut counts[usize::from(b)];
        *slot = slot.saturating_add(1);
    }
    let total = bytes.len() as f64;
    counts
        .iter()
        .filter(|&&n| n > 0)
        .map(|&n| {
            let p = f64::from(n) / total;
            -p * p.log2()
        })
        .sum()
}

/// Which character classes a value uses.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Classes {
    pub lower: usize,
    pub upper: usize,
    pub digit: usize,
    pub other: usize,
}

impl Classes {
    pub fn of(bytes: &[u8]) -> Self {
        let mut classes = Classes::default();
        for &b in bytes {
            let slot = match b {
                b'a'..=b'z' => &mut classes.lower,
                b'A'..=b'Z' => &mut classes.upper,
                b'0'..=b'9' => &mut classes.digit,
                _ => &mut classes.other,
            };
            *slot += 1;
        }
        classes
    }

    pub fn letters(&self) -> usize {
        self.lower + self.upper
    }

    /// How many of the four classes occur at all.
    pub fn variety(&self) -> usize {
        [self.lower, self.upper, self.digit, self.other]
            .iter()
            .filter(|&&n| n > 0)
            .count()
    }
}

/// Words that documentation, tests and templates put where a real secret would go. Any of
/// them inside a value (case-insensitively) makes it a placeholder; a random key contains
/// one of these by chance with negligible probability.
const PLACEHOLDER_WORDS: &[&[u8]] = &[
    b"example",
    b"xxxx",
    b"placeholder",
    b"dummy",
    b"sample",
    b"changeme",
    b"change_me",
    b"change-me",
    b"redacted",
    b"your_",
    b"your-",
    b"yourapi",
    b"yourkey",
    b"yourtoken",
    b"yoursecret",
    b"yourpass",
    b"insert",
    b"replace",
    b"fake",
    b"mock",
    b"notreal",
    b"not_real",
    b"not-a-real",
    b"invalid",
    b"test",
    b"lorem",
    b"foobar",
    b"qwerty",
    b"password",
    b"asdfgh",
    b"_here",
    b"-here",
    b"abcdefgh",
    b"12345678",
    b"01234567",
    b"...",
    b"***",
    b"${",
    b"{{",
    b"}}",
    b"%(",
    b"$(",
    b"<",
    b">",
];

/// Credentials printed in standards and copied into countless docstrings and tests: the
/// OAuth 2.0 (RFC 6749) and OAuth 1.0 (RFC 5849) examples and jwt.io's sample token.
const DOCUMENTED_EXAMPLES: &[&[u8]] = &[
    b"2YotnFZFEjr1zCsicMWpAA",
    b"tGzv3JOkF0XG5Qx2TlKWIA",
    b"SplxlOBeZQQYbYS6WxSbIA",
    b"czZCaGRSa3F0MzpnWDFmQmF0M2JW",
    b"gX1fBat3bV",
    b"dpf43f3p2l4k3l03",
    b"kd94hf93k423kf44",
    b"nnch734d00sl2jdk",
    b"pfkkdhi9sl3r4s00",
    b"hh5s93j4hdidpola",
    b"0685bd9184jfhq22",
    b"ad180jjd733klru7",
    b"wOJIO9A2W5mFwDgiDvZbTSMK",
    b"SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
];

/// True for values that are not secrets but stand in for one: documented example keys,
/// template references (`${VAR}`, `{{ var }}`, `$VAR`, `%VAR%`), masked values and
/// obviously sequential or repeated characters.
pub(crate) fn is_placeholder(value: &[u8]) -> bool {
    let Some(&first) = value.first() else {
        return true;
    };
    if matches!(first, b'$' | b'%' | b'{' | b'[' | b'@') {
        return true;
    }
    let mut distinct = [false; 256];
    for &b in value {
        distinct[usize::from(b)] = true;
    }
    if distinct.iter().filter(|&&seen| seen).count() <= 3 {
        return true;
    }
    let contains =
        |haystack: &[u8], needle: &[u8]| memchr::memmem::find(haystack, needle).is_some();
    if DOCUMENTED_EXAMPLES
        .iter()
        .any(|example| contains(value, example))
    {
        return true;
    }
    let lowered = value.to_ascii_lowercase();
    PLACEHOLDER_WORDS
        .iter()
        .any(|word| contains(&lowered, word))
}

/// Bytes that continue an identifier or a token: a secret must not be glued to them.
pub(crate) fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

pub(crate) fn is_hex(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.iter().all(u8::is_ascii_hexdigit)
}

pub(crate) fn is_base64_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_orders_random_above_repetitive() {
        assert_eq!(entropy(b""), 0.0);
        assert_eq!(entropy(b"aaaa"), 0.0);
        assert!((entropy(b"abcd") - 2.0).abs() < 1e-9);
        assert!(entropy(b"q8Zr2LmX0vTb7NcY4hWd") > 4.0);
    }

    #[test]
    fn placeholders_are_recognised() {
        for value in [
            &b"AKIAIOSFODNN7EXAMPLE"[..],
            b"${HF_TOKEN}",
            b"{{ secrets.token }}",
            b"$API_KEY",
            b"%API_KEY%",
            b"<your-token>",
            b"xxxxxxxxxxxxxxxxxxxx",
            b"YOUR_API_KEY",
            b"sk-...",
            b"********",
            b"0000000000000000",
            b"abcdefghijklmnop1234",
            b"2YotnFZFEjr1zCsicMWpAA",
            b"",
        ] {
            assert!(is_placeholder(value), "{}", String::from_utf8_lossy(value));
        }
        assert!(!is_placeholder(b"q8Zr2LmX0vTb7NcY4hWd"));
    }

    #[test]
    fn classes_count_each_kind() {
        let c = Classes::of(b"aB3/");
        assert_eq!((c.lower, c.upper, c.digit, c.other), (1, 1, 1, 1));
        assert_eq!(c.variety(), 4);
        assert_eq!(Classes::of(b"abc").variety(), 1);
    }
}
