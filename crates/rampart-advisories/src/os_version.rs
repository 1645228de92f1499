//! The version orderings of OS package managers, for matching OSV advisories of the
//! `Debian:*`, `Ubuntu:*` and `Alpine:*` ecosystems:
//!
//! * dpkg (Debian policy 5.6.12, as `dpkg --compare-versions` implements it):
//!   `[epoch:]upstream[-revision]`; epochs compare numerically, then upstream and revision
//!   alternate non-digit runs (compared character by character, `~` before everything, even
//!   the end, letters before non-letters) and digit runs (compared numerically);
//! * apk (apk-tools `apk_version_compare`): dotted digits, an optional letter, suffixes
//!   (`_alpha < _beta < _pre < _rc <` none `< _cvs < _svn < _git < _hg < _p`), `-rN` revisions;
//! * rpm (`rpmvercmp`, for `Rocky Linux:*`, `AlmaLinux:*`, `openSUSE:*`, `SUSE:*`):
//!   `[epoch:]version-release`; version and release split into alphabetic and numeric
//!   segments (anything else separates them), numeric beats alphabetic, `~` sorts before
//!   everything (even the end) and `^` after the end but before any further segment.
//!
//! Both are total orders on the versions they accept; versions that differ only in ways the
//! order ignores (`1.0` and `1.00` for dpkg) compare equal.

use std::cmp::Ordering;

/// Which ordering an OSV ecosystem's versions follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Dpkg,
    Apk,
    Rpm,
}

impl Scheme {
    /// The scheme of an OSV ecosystem (`Debian:12`, `Ubuntu:22.04:LTS`, `Alpine:v3.20`).
    pub fn of_ecosystem(ecosystem: &str) -> Option<Scheme> {
        let family = ecosystem.split(':').next().unwrap_or(ecosystem);
        match family {
            "Debian" | "Ubuntu" => Some(Scheme::Dpkg),
            "Alpine" => Some(Scheme::Apk),
            "Rocky Linux" | "AlmaLinux" | "openSUSE" | "SUSE" => Some(Scheme::Rpm),
            _ => None,
        }
    }

    /// Checks that `raw` is a version of this scheme.
    pub fn validate(self, raw: &str) -> Result<(), String> {
        match self {
            Scheme::Dpkg => validate_dpkg(raw),
            Scheme::Apk => validate_apk(raw),
            Scheme::Rpm => validate_rpm(raw),
        }
    }

    pub fn compare(self, a: &str, b: &str) -> Ordering {
        match self {
            Scheme::Dpkg => compare_dpkg(a, b),
            Scheme::Apk => compare_apk(a, b),
            Scheme::Rpm => compare_rpm(a, b),
        }
    }
}

/// The key an OS package's advisories are stored under: the ecosystem (Ubuntu's `:LTS`/`:Pro`
/// qualifiers dropped, as a release's packages are the same) and the source package name.
/// Never a valid PyPI name, so the two kinds of keys cannot collide.
pub fn os_package_key(ecosystem: &str, name: &str) -> String {
    let mut parts = ecosystem.split(':');
    let family = parts.next().unwrap_or_default();
    let release = parts
        .find(|part| !matches!(*part, "LTS" | "Pro" | "FIPS"))
        .unwrap_or_default();
    format!("{family}:{release}|{name}")
}

fn validate_dpkg(raw: &str) -> Result<(), String> {
    let (epoch, rest) = split_epoch(raw);
    if let Some(epoch) = epoch
        && (epoch.is_empty() || !epoch.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err("the epoch before ':' must be a number".to_owned());
    }
    let (upstream, _) = split_revision(rest);
    if !upstream.bytes().next().is_some_and(|b| b.is_ascii_digit()) {
        return Err("the upstream version must start with a digit".to_owned());
    }
    if let Some(bad) = raw
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-' | '~' | ':')))
    {
        return Err(format!("'{bad}' is not allowed in a Debian version"));
    }
    Ok(())
}

fn split_epoch(raw: &str) -> (Option<&str>, &str) {
    match raw.split_once(':') {
        Some((epoch, rest)) => (Some(epoch), rest),
        None => (None, raw),
    }
}

fn split_revision(rest: &str) -> (&str, &str) {
    rest.rsplit_once('-').unwrap_or((rest, ""))
}

/// `dpkg --compare-versions a lt b` and friends.
pub fn compare_dpkg(a: &str, b: &str) -> Ordering {
    let (epoch_a, rest_a) = split_epoch(a);
    let (epoch_b, rest_b) = split_epoch(b);
    let (upstream_a, revision_a) = split_revision(rest_a);
    let (upstream_b, revision_b) = split_revision(rest_b);
    compare_digits(epoch_a.unwrap_or("0"), epoch_b.unwrap_or("0"))
        .then_with(|| verrevcmp(upstream_a.as_bytes(), upstream_b.as_bytes()))
        .then_with(|| verrevcmp(revision_a.as_bytes(), revision_b.as_bytes()))
}

/// dpkg's weight of a character in a non-digit run: `~` sorts before the end, the end and
/// digits weigh nothing, letters sort before other characters.
fn order(byte: Option<u8>) -> i32 {
    match byte {
        None => 0,
        Some(b'~') => -1,
        Some(b) if b.is_ascii_digit() => 0,
        Some(b) if b.is_ascii_alphabetic() => i32::from(b),
        Some(b) => i32::from(b) + 256,
    }
}

fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let (mut i, mut j) = (0, 0);
    let digit = |s: &[u8], at: usize| s.get(at).is_some_and(u8::is_ascii_digit);
    while i < a.len() || j < b.len() {
        while (i < a.len() && !digit(a, i)) || (j < b.len() && !digit(b, j)) {
            let (x, y) = (order(a.get(i).copied()), order(b.get(j).copied()));
            if x != y {
                return x.cmp(&y);
            }
            i += 1;
            j += 1;
        }
        let start_a = i;
        while digit(a, i) {
            i += 1;
        }
        let start_b = j;
        while digit(b, j) {
            j += 1;
        }
        let run_a = std::str::from_utf8(a.get(start_a..i).unwrap_or_default()).unwrap_or("");
        let run_b = std::str::from_utf8(b.get(start_b..j).unwrap_or_default()).unwrap_or("");
        let by_number = compare_digits(run_a, run_b);
        if by_number.is_ne() {
            return by_number;
        }
    }
    Ordering::Equal
}

/// Two runs of ASCII digits compared as numbers of any length (no overflow).
fn compare_digits(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// apk-tools' token types, in its order (the comparison of a finished version against a
/// longer one depends on it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Token {
    Invalid,
    DigitOrZero,
    Digit,
    Letter,
    Suffix,
    SuffixNo,
    RevisionNo,
    End,
}

const PRE_SUFFIXES: &[&str] = &["alpha", "beta", "pre", "rc"];
const POST_SUFFIXES: &[&str] = &["cvs", "svn", "git", "hg", "p"];

struct ApkCursor<'s> {
    rest: &'s [u8],
}

impl ApkCursor<'_> {
    /// apk-tools `next_token`: the type of what follows, consuming a separator.
    fn next_token(&mut self, current: Token) -> Token {
        let first = self.rest.first().copied();
        let mut next = Token::Invalid;
        match first {
            None | Some(0) => next = Token::End,
            Some(c)
                if matches!(current, Token::Digit | Token::DigitOrZero)
                    && c.is_ascii_lowercase() =>
            {
                next = Token::Letter;
            }
            Some(c) if current == Token::Letter && c.is_ascii_digit() => next = Token::Digit,
            Some(c) if current == Token::Suffix && c.is_ascii_digit() => next = Token::SuffixNo,
            Some(c) => {
                match c {
                    b'.' => next = Token::DigitOrZero,
                    b'_' => next = Token::Suffix,
                    b'-' if self.rest.get(1) == Some(&b'r') => {
                        next = Token::RevisionNo;
                        self.rest = self.rest.get(1..).unwrap_or_default();
                    }
                    _ => {}
                }
                self.rest = self.rest.get(1..).unwrap_or_default();
            }
        }
        let allowed_backwards = matches!(
            (next, current),
            (Token::DigitOrZero, Token::Digit)
                | (Token::Suffix, Token::SuffixNo)
                | (Token::Digit, Token::Letter)
        );
        if next < current && !allowed_backwards {
            next = Token::Invalid;
        }
        next
    }

    /// apk-tools `get_token`: the value of the token of type `*kind` and the type of the next.
    fn get_token(&mut self, kind: &mut Token) -> i64 {
        let mut value: i64 = 0;
        let mut used = 0usize;
        let mut next_kind = Token::Invalid;
        let digits_from = |rest: &[u8], mut at: usize, value: &mut i64| {
            while let Some(d) = rest.get(at).filter(|d| d.is_ascii_digit()) {
                *value = value.saturating_mul(10).saturating_add(i64::from(d - b'0'));
                at += 1;
            }
            at
        };
        match *kind {
            Token::DigitOrZero if self.rest.first() == Some(&b'0') => {
                // Leading zeros: the first stays for the digit token that follows, each further
                // one lowers the value (`1.01 < 1.1`, `1.001 < 1.01`).
                while self.rest.get(used + 1) == Some(&b'0') {
                    used += 1;
                }
                next_kind = Token::Digit;
                value = -i64::try_from(used).unwrap_or(i64::MAX);
            }
            Token::DigitOrZero | Token::Digit | Token::SuffixNo | Token::RevisionNo => {
                used = digits_from(self.rest, 0, &mut value);
            }
            Token::Letter => {
                value = self.rest.first().map_or(0, |&c| i64::from(c));
                used = 1;
            }
            Token::Suffix => {
                let known = |list: &[&str]| {
                    list.iter()
                        .position(|suffix| self.rest.starts_with(suffix.as_bytes()))
                };
                if let Some(at) = known(PRE_SUFFIXES) {
                    next_kind = Token::SuffixNo;
                    used = PRE_SUFFIXES.get(at).map_or(0, |s| s.len());
                    value = i64::try_from(at).unwrap_or(0) - PRE_SUFFIXES.len() as i64;
                } else if let Some(at) = known(POST_SUFFIXES) {
                    next_kind = Token::SuffixNo;
                    used = POST_SUFFIXES.get(at).map_or(0, |s| s.len());
                    value = i64::try_from(at).unwrap_or(0);
                } else {
                    *kind = Token::Invalid;
                    return -1;
                }
            }
            Token::Invalid | Token::End => {
                *kind = Token::Invalid;
                return -1;
            }
        }
        self.rest = self.rest.get(used..).unwrap_or_default();
        if self.rest.is_empty() {
            *kind = Token::End;
        } else if next_kind != Token::Invalid {
            *kind = next_kind;
        } else {
            *kind = self.next_token(*kind);
        }
        value
    }
}

fn validate_apk(raw: &str) -> Result<(), String> {
    if !raw.bytes().next().is_some_and(|b| b.is_ascii_digit()) {
        return Err("an apk version starts with a digit".to_owned());
    }
    let mut cursor = ApkCursor {
        rest: raw.as_bytes(),
    };
    let mut kind = Token::Digit;
    while kind != Token::End {
        cursor.get_token(&mut kind);
        if kind == Token::Invalid {
            return Err(
                "it does not follow apk's digits[.digits][letter][_suffixN][-rN] form".to_owned(),
            );
        }
    }
    Ok(())
}

/// A version string ordered as dpkg orders it (equality is the order's: `1.0 == 1.00`).
#[derive(Clone, Debug)]
pub struct DpkgVersion(String);

/// A version string ordered as apk orders it.
#[derive(Clone, Debug)]
pub struct ApkVersion(String);

/// An `[epoch:]version-release` string ordered as rpm orders it.
#[derive(Clone, Debug)]
pub struct RpmVersion(String);

macro_rules! ordered_by_scheme {
    ($name:ident, $scheme:expr) => {
        impl $name {
            /// The version, if `raw` is valid for the scheme.
            pub fn parse(raw: &str) -> Result<Self, String> {
                $scheme.validate(raw).map(|()| $name(raw.to_owned()))
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.cmp(other).is_eq()
            }
        }

        impl Eq for $name {}

        impl PartialOrd for $name {
            fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
                Some(self.cmp(other))
            }
        }

        impl Ord for $name {
            fn cmp(&self, other: &Self) -> Ordering {
                $scheme.compare(&self.0, &other.0)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

ordered_by_scheme!(DpkgVersion, Scheme::Dpkg);
ordered_by_scheme!(ApkVersion, Scheme::Apk);
ordered_by_scheme!(RpmVersion, Scheme::Rpm);

fn validate_rpm(raw: &str) -> Result<(), String> {
    let (epoch, version, _) = split_evr(raw);
    if let Some(epoch) = epoch
        && (epoch.is_empty() || !epoch.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err("the epoch before ':' must be a number".to_owned());
    }
    if !version.bytes().any(|b| b.is_ascii_alphanumeric()) {
        return Err("the version has no letters or digits".to_owned());
    }
    if let Some(bad) = raw.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(format!("{bad:?} is not allowed in an rpm version"));
    }
    Ok(())
}

/// `(epoch, version, release)` of `[epoch:]version[-release]`; a missing release is empty
/// (sorting before any release).
fn split_evr(raw: &str) -> (Option<&str>, &str, &str) {
    let (epoch, rest) = split_epoch(raw);
    let (version, release) = rest.rsplit_once('-').unwrap_or((rest, ""));
    (epoch, version, release)
}

/// `rpmdev-vercmp a b` on `[epoch:]version-release`: epochs numerically (none is 0), then
/// version and release with [`rpmvercmp`].
pub fn compare_rpm(a: &str, b: &str) -> Ordering {
    let (epoch_a, version_a, release_a) = split_evr(a);
    let (epoch_b, version_b, release_b) = split_evr(b);
    compare_digits(epoch_a.unwrap_or("0"), epoch_b.unwrap_or("0"))
        .then_with(|| rpmvercmp(version_a.as_bytes(), version_b.as_bytes()))
        .then_with(|| rpmvercmp(release_a.as_bytes(), release_b.as_bytes()))
}

/// rpm's `rpmvercmp` on one version or release string.
pub fn rpmvercmp(a: &[u8], b: &[u8]) -> Ordering {
    let separator = |c: &u8| !c.is_ascii_alphanumeric() && *c != b'~' && *c != b'^';
    let (mut one, mut two) = (a, b);
    loop {
        one = skip_while(one, separator);
        two = skip_while(two, separator);
        let (first_one, first_two) = (one.first().copied(), two.first().copied());
        if first_one == Some(b'~') || first_two == Some(b'~') {
            if first_one != Some(b'~') {
                return Ordering::Greater;
            }
            if first_two != Some(b'~') {
                return Ordering::Less;
            }
            one = one.get(1..).unwrap_or_default();
            two = two.get(1..).unwrap_or_default();
            continue;
        }
        // `^` (a snapshot after a release): after the end, before any further segment.
        if first_one == Some(b'^') || first_two == Some(b'^') {
            match (first_one, first_two) {
                (None, _) => return Ordering::Less,
                (_, None) => return Ordering::Greater,
                (_, Some(c)) if c != b'^' => return Ordering::Less,
                (Some(c), _) if c != b'^' => return Ordering::Greater,
                _ => {}
            }
            one = one.get(1..).unwrap_or_default();
            two = two.get(1..).unwrap_or_default();
            continue;
        }
        let (Some(start), Some(_)) = (first_one, first_two) else {
            break;
        };
        let numeric = start.is_ascii_digit();
        let same_kind = |c: &u8| {
            if numeric {
                c.is_ascii_digit()
            } else {
                c.is_ascii_alphabetic()
            }
        };
        let segment_one = take_while(one, same_kind);
        let segment_two = take_while(two, same_kind);
        one = one.get(segment_one.len()..).unwrap_or_default();
        two = two.get(segment_two.len()..).unwrap_or_default();
        // Segments of different kinds: numeric is newer.
        if segment_two.is_empty() {
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let order = if numeric {
            let trim = |s: &'_ [u8]| -> Vec<u8> { skip_while(s, |c| *c == b'0').to_vec() };
            let (x, y) = (trim(segment_one), trim(segment_two));
            x.len().cmp(&y.len()).then_with(|| x.cmp(&y))
        } else {
            segment_one.cmp(segment_two)
        };
        if order.is_ne() {
            return order;
        }
    }
    match (one.is_empty(), two.is_empty()) {
        (true, true) => Ordering::Equal,
        (false, _) => Ordering::Greater,
        (true, false) => Ordering::Less,
    }
}

fn skip_while(bytes: &[u8], predicate: impl Fn(&u8) -> bool) -> &[u8] {
    let at = bytes
        .iter()
        .position(|c| !predicate(c))
        .unwrap_or(bytes.len());
    bytes.get(at..).unwrap_or_default()
}

fn take_while(bytes: &[u8], predicate: impl Fn(&u8) -> bool) -> &[u8] {
    let at = bytes
        .iter()
        .position(|c| !predicate(c))
        .unwrap_or(bytes.len());
    bytes.get(..at).unwrap_or_default()
}

/// `apk version -t a b`.
pub fn compare_apk(a: &str, b: &str) -> Ordering {
    let mut left = ApkCursor { rest: a.as_bytes() };
    let mut right = ApkCursor { rest: b.as_bytes() };
    let (mut left_kind, mut right_kind) = (Token::Digit, Token::Digit);
    let (mut left_value, mut right_value) = (0i64, 0i64);
    while left_kind == right_kind
        && !matches!(left_kind, Token::End | Token::Invalid)
        && left_value == right_value
    {
        left_value = left.get_token(&mut left_kind);
        right_value = right.get_token(&mut right_kind);
    }
    match left_value.cmp(&right_value) {
        Ordering::Equal => {}
        unequal => return unequal,
    }
    if left_kind == right_kind {
        return Ordering::Equal;
    }
    // Equal so far: the longer version is greater, unless what follows is a pre-release
    // suffix.
    if left_kind == Token::Suffix && left.get_token(&mut left_kind) < 0 {
        return Ordering::Less;
    }
    if right_kind == Token::Suffix && right.get_token(&mut right_kind) < 0 {
        return Ordering::Greater;
    }
    right_kind.cmp(&left_kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn assert_order(compare: fn(&str, &str) -> Ordering, pairs: &[(&str, &str)]) {
        for (smaller, larger) in pairs {
            assert_eq!(
                compare(smaller, larger),
                Ordering::Less,
                "{smaller} < {larger}"
            );
            assert_eq!(
                compare(larger, smaller),
                Ordering::Greater,
                "{larger} > {smaller}"
            );
        }
    }

    #[test]
    fn dpkg_orders_tildes_epochs_letters_and_revisions() {
        assert_order(
            compare_dpkg,
            &[
                ("1.0~rc1", "1.0"),
                ("1.0~~", "1.0~"),
                ("1.0~", "1.0"),
                ("1.0", "1.0a"),
                ("1.0a", "1.0+"),
                ("1.0", "1.0.1"),
                ("2.0", "1:0.1"),
                ("1:9.9", "2:0.0"),
                ("1.2.3-9", "1.2.3-10"),
                ("1.9", "1.10"),
                ("3.0.11-1~deb12u2", "3.0.15-1~deb12u1"),
                ("3.0.15-1~deb12u1", "3.0.15-1"),
                ("3.0.15-1", "3.0.15-1+deb12u1"),
                ("2.36-9+deb12u3", "2.36-9+deb12u4"),
                ("1.0-1", "1.0-1.1"),
                ("0.9", "1.0-0"),
                ("1.2.3", "1.2.3-1"),
                ("7.88.1-10+deb12u7", "7.88.1-10+deb12u8"),
                ("1:1.2.13.dfsg-1", "1:1.3.dfsg-1"),
            ],
        );
        for (a, b) in [
            ("1.0", "1.00"),
            ("0:1.0", "1.0"),
            ("1.0-0", "1.0"),
            ("01", "1"),
        ] {
            assert_eq!(compare_dpkg(a, b), Ordering::Equal, "{a} = {b}");
        }
        // Digit runs of any length, without overflow.
        assert_order(
            compare_dpkg,
            &[("1.99999999999999999999999", "1.100000000000000000000000")],
        );
    }

    /// 400 random pairs ordered by `dpkg --compare-versions` itself
    /// (`tests/fixtures/dpkg_oracle.py`).
    #[test]
    fn dpkg_agrees_with_dpkg_itself() {
        let oracle = include_str!("../tests/fixtures/dpkg-compare-versions.tsv");
        let mut checked = 0;
        for line in oracle.lines().filter(|l| !l.is_empty()) {
            let fields: Vec<&str> = line.split('\t').collect();
            let [a, b, expected] = fields.as_slice() else {
                panic!("bad oracle line {line:?}");
            };
            let expected = match *expected {
                "<" => Ordering::Less,
                "=" => Ordering::Equal,
                _ => Ordering::Greater,
            };
            assert_eq!(compare_dpkg(a, b), expected, "{a} vs {b}");
            checked += 1;
        }
        assert_eq!(checked, 400);
    }

    #[test]
    fn apk_orders_suffixes_letters_and_revisions() {
        assert_order(
            compare_apk,
            &[
                ("1.0_rc1", "1.0"),
                ("1.0_alpha", "1.0_beta"),
                ("1.0_beta2", "1.0_pre1"),
                ("1.0_pre1", "1.0_rc1"),
                ("1.0_rc1", "1.0_rc2"),
                ("1.0", "1.0_p1"),
                ("1.0_p1", "1.0_p2"),
                ("1.0_cvs", "1.0_p1"),
                ("1.2.3-r9", "1.2.3-r10"),
                ("1.2.3", "1.2.3-r0"),
                ("1.2.3-r0", "1.2.3-r1"),
                ("1.2", "1.2.1"),
                ("1.2", "1.2a"),
                ("1.2a", "1.2b"),
                ("1.2z", "1.3"),
                ("1.9", "1.10"),
                ("3.3.2-r0", "3.3.2-r1"),
                ("3.1.4-r5", "3.3.2-r1"),
                ("1.01", "1.1"),
                ("1.2.5-r0", "1.2.5-r1"),
            ],
        );
        assert_eq!(compare_apk("1.2.3-r1", "1.2.3-r1"), Ordering::Equal);
    }

    /// rpm's own `rpmvercmp` cases (rpm `tests/rpmvercmp.at`).
    #[test]
    fn rpmvercmp_agrees_with_rpms_test_suite() {
        let cases: &[(&str, &str, i8)] = &[
            ("1.0", "1.0", 0),
            ("1.0", "2.0", -1),
            ("2.0", "1.0", 1),
            ("2.0.1", "2.0.1", 0),
            ("2.0", "2.0.1", -1),
            ("2.0.1", "2.0", 1),
            ("2.0.1a", "2.0.1a", 0),
            ("2.0.1a", "2.0.1", 1),
            ("2.0.1", "2.0.1a", -1),
            ("5.5p1", "5.5p1", 0),
            ("5.5p1", "5.5p2", -1),
            ("5.5p2", "5.5p1", 1),
            ("5.5p10", "5.5p10", 0),
            ("5.5p1", "5.5p10", -1),
            ("5.5p10", "5.5p1", 1),
            ("10xyz", "10.1xyz", -1),
            ("10.1xyz", "10xyz", 1),
            ("xyz10", "xyz10", 0),
            ("xyz10", "xyz10.1", -1),
            ("xyz10.1", "xyz10", 1),
            ("xyz.4", "xyz.4", 0),
            ("xyz.4", "8", -1),
            ("8", "xyz.4", 1),
            ("xyz.4", "2", -1),
            ("2", "xyz.4", 1),
            ("5.5p2", "5.6p1", -1),
            ("5.6p1", "5.5p2", 1),
            ("5.6p1", "6.5p1", -1),
            ("6.5p1", "5.6p1", 1),
            ("6.0.rc1", "6.0", 1),
            ("6.0", "6.0.rc1", -1),
            ("10b2", "10a1", 1),
            ("10a2", "10b2", -1),
            ("1.0aa", "1.0aa", 0),
            ("1.0a", "1.0aa", -1),
            ("1.0aa", "1.0a", 1),
            ("10.0001", "10.0001", 0),
            ("10.0001", "10.1", 0),
            ("10.1", "10.0001", 0),
            ("10.0001", "10.0039", -1),
            ("10.0039", "10.0001", 1),
            ("4.999.9", "5.0", -1),
            ("5.0", "4.999.9", 1),
            ("20101121", "20101121", 0),
            ("20101121", "20101122", -1),
            ("20101122", "20101121", 1),
            ("2_0", "2_0", 0),
            ("2.0", "2_0", 0),
            ("2_0", "2.0", 0),
            ("a", "a", 0),
            ("a+", "a+", 0),
            ("a+", "a_", 0),
            ("a_", "a+", 0),
            ("+a", "+a", 0),
            ("+a", "_a", 0),
            ("_a", "+a", 0),
            ("+_", "+_", 0),
            ("_+", "+_", 0),
            ("_+", "_+", 0),
            ("+", "_", 0),
            ("_", "+", 0),
            ("1.0~rc1", "1.0~rc1", 0),
            ("1.0~rc1", "1.0", -1),
            ("1.0", "1.0~rc1", 1),
            ("1.0~rc1", "1.0~rc2", -1),
            ("1.0~rc2", "1.0~rc1", 1),
            ("1.0~rc1~git123", "1.0~rc1~git123", 0),
            ("1.0~rc1~git123", "1.0~rc1", -1),
            ("1.0~rc1", "1.0~rc1~git123", 1),
            ("1.0^", "1.0^", 0),
            ("1.0^", "1.0", 1),
            ("1.0", "1.0^", -1),
            ("1.0^git1", "1.0^git1", 0),
            ("1.0^git1", "1.0", 1),
            ("1.0", "1.0^git1", -1),
            ("1.0^git1", "1.0^git2", -1),
            ("1.0^git2", "1.0^git1", 1),
            ("1.0^git1", "1.01", -1),
            ("1.01", "1.0^git1", 1),
            ("1.0^20160101", "1.0^20160101", 0),
            ("1.0^20160101", "1.0.1", -1),
            ("1.0.1", "1.0^20160101", 1),
            ("1.0^20160101^git1", "1.0^20160101^git1", 0),
            ("1.0^20160102", "1.0^20160101^git1", 1),
            ("1.0^20160101^git1", "1.0^20160102", -1),
            ("1.0~rc1^git1", "1.0~rc1^git1", 0),
            ("1.0~rc1^git1", "1.0~rc1", 1),
            ("1.0~rc1", "1.0~rc1^git1", -1),
            ("1.0^git1~pre", "1.0^git1~pre", 0),
            ("1.0^git1", "1.0^git1~pre", 1),
            ("1.0^git1~pre", "1.0^git1", -1),
            ("1b.fc17", "1b.fc17", 0),
            ("1b.fc17", "1.fc17", -1),
            ("1.fc17", "1b.fc17", 1),
            ("1g.fc17", "1g.fc17", 0),
            ("1g.fc17", "1.fc17", 1),
            ("1.fc17", "1g.fc17", -1),
        ];
        for (a, b, expected) in cases {
            assert_eq!(
                rpmvercmp(a.as_bytes(), b.as_bytes()),
                expected.cmp(&0),
                "rpmvercmp({a}, {b})"
            );
        }
    }

    #[test]
    fn rpm_orders_epochs_then_versions_then_releases() {
        assert_order(
            compare_rpm,
            &[
                ("3.0.7-25.el9", "3.0.7-27.el9"),
                ("3.0.7-27.el9", "3.0.7-27.el9_3"),
                ("3.0.7-27.el9", "1:3.0.1-1.el9"),
                ("1:3.0.7-27.el9", "2:1.0-1"),
                ("3.0.7", "3.0.7-1"),
                ("1.1.1k-9.el8_7", "1.1.1k-12.el8_9"),
                ("2.28-236.el9", "2.28-236.el9_2.1"),
                ("1.0~rc1-1", "1.0-1"),
            ],
        );
        assert_eq!(compare_rpm("0:1.0-1", "1.0-1"), Ordering::Equal);
        assert!(validate_rpm("1:3.0.7-27.el9").is_ok());
        assert!(validate_rpm("1.0^git1~pre-1").is_ok());
        assert!(validate_rpm("x:1.0-1").is_err());
        assert!(validate_rpm("-1").is_err());
        assert!(validate_rpm("1.0 -1").is_err());
        assert_eq!(Scheme::of_ecosystem("Rocky Linux:9"), Some(Scheme::Rpm));
        assert_eq!(
            Scheme::of_ecosystem("openSUSE:Leap 15.5"),
            Some(Scheme::Rpm)
        );
        assert_eq!(
            os_package_key("SUSE:Linux Enterprise Server 15 SP5", "openssl-3"),
            "SUSE:Linux Enterprise Server 15 SP5|openssl-3"
        );
    }

    #[test]
    fn validates_versions_and_keys() {
        assert!(validate_dpkg("1:3.0.15-1~deb12u1").is_ok());
        assert!(validate_dpkg("2024a-0+deb12u1").is_ok());
        assert!(validate_dpkg("x:1.0").is_err());
        assert!(validate_dpkg("abc").is_err());
        assert!(validate_dpkg("1.0 beta").is_err());
        assert!(validate_apk("1.2.5-r0").is_ok());
        assert!(validate_apk("1.0_rc1-r2").is_ok());
        assert!(validate_apk("2024a-r0").is_ok());
        assert!(validate_apk("1.0-x").is_err());
        assert!(validate_apk("1.0_bogus").is_err());
        assert!(validate_apk("").is_err());
        assert_eq!(os_package_key("Debian:12", "openssl"), "Debian:12|openssl");
        assert_eq!(
            os_package_key("Ubuntu:22.04:LTS", "curl"),
            "Ubuntu:22.04|curl"
        );
        assert_eq!(
            os_package_key("Ubuntu:Pro:18.04:LTS", "curl"),
            "Ubuntu:18.04|curl"
        );
        assert_eq!(Scheme::of_ecosystem("Alpine:v3.20"), Some(Scheme::Apk));
        assert_eq!(Scheme::of_ecosystem("PyPI"), None);
    }

    fn dpkg_version() -> impl Strategy<Value = String> {
        "([0-9]{1,2}:)?[0-9][0-9a-z.+~]{0,6}(-[0-9a-z.+~]{1,5})?"
    }

    fn apk_version() -> impl Strategy<Value = String> {
        "[0-9]{1,3}(\\.[0-9]{1,3}){0,3}[a-z]?(_(alpha|beta|pre|rc|cvs|svn|git|hg|p)[0-9]{0,2}){0,2}(-r[0-9]{1,2})?"
    }

    fn rpm_version() -> impl Strategy<Value = String> {
        "([0-9]{1,2}:)?[0-9a-z][0-9a-z.~^_+]{0,6}(-[0-9a-z.~^_]{1,5})?"
    }

    fn check_total_order(compare: fn(&str, &str) -> Ordering, a: &str, b: &str, c: &str) {
        assert_eq!(compare(a, a), Ordering::Equal);
        assert_eq!(
            compare(a, b),
            compare(b, a).reverse(),
            "antisymmetry of {a} {b}"
        );
        let mut sorted = [a, b, c];
        sorted.sort_by(|x, y| compare(x, y));
        let [x, y, z] = sorted;
        assert_ne!(
            compare(x, z),
            Ordering::Greater,
            "transitivity of {x} {y} {z}"
        );
        if compare(x, y).is_lt() && compare(y, z).is_le() {
            assert_eq!(compare(x, z), Ordering::Less, "transitivity of {x} {y} {z}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn dpkg_is_a_total_order(a in dpkg_version(), b in dpkg_version(), c in dpkg_version()) {
            check_total_order(compare_dpkg, &a, &b, &c);
            prop_assert!(validate_dpkg(&a).is_ok(), "{}", a);
        }

        #[test]
        fn apk_is_a_total_order(a in apk_version(), b in apk_version(), c in apk_version()) {
            check_total_order(compare_apk, &a, &b, &c);
            prop_assert!(validate_apk(&a).is_ok(), "{}", a);
        }

        #[test]
        fn rpm_is_a_total_order(a in rpm_version(), b in rpm_version(), c in rpm_version()) {
            check_total_order(compare_rpm, &a, &b, &c);
            prop_assert!(validate_rpm(&a).is_ok(), "{}", a);
        }

        #[test]
        fn arbitrary_strings_never_panic(a in "\\PC{0,24}", b in "\\PC{0,24}") {
            let _ = compare_rpm(&a, &b);
            let _ = validate_rpm(&a);
            let _ = compare_dpkg(&a, &b);
            let _ = compare_apk(&a, &b);
            let _ = validate_dpkg(&a);
            let _ = validate_apk(&a);
        }
    }
}
