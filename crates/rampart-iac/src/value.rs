//! The value model shared by the Terraform evaluator and the JSON reader: every value
//! remembers where it was written, and a value that cannot be known statically is
//! [`V::Unknown`] rather than an error, so checks can still look at the known parts of a
//! structure around it.

use std::fmt::Write as _;

/// A place in one of the scanned files: an index into the scan's file table, 1-based line
/// and column. `line == 0` means "not known".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct Pos {
    pub file: u32,
    pub line: u32,
    pub col: u32,
}

/// How the text of an unknown value starts when it stands for what would be an error in
/// Terraform (a missing map key, an index out of range): `try()` skips such values,
/// where it must stop at a value that is merely unknown until apply.
pub(crate) const INVALID: &str = "${(invalid) ";

/// Longest rendering of an unknown expression in messages.
const MAX_SHOWN: usize = 120;

#[derive(Clone, Debug)]
pub(crate) struct Value {
    pub kind: V,
    pub pos: Pos,
}

#[derive(Clone, Debug)]
pub(crate) enum V {
    Null,
    Bool(bool),
    Number(f64),
    Str(String),
    List(Vec<Value>),
    /// Keys in source order; a repeated key is kept and [`Value::get`] returns the last.
    Object(Vec<(String, Value)>),
    /// A string holding the JSON encoding of the inner value (`jsonencode(...)`,
    /// `data.aws_iam_policy_document.x.json`). Kept structured so policies keep the
    /// positions of their statements.
    Json(Box<Value>),
    /// Not knowable without applying the configuration. The text is the expression in
    /// interpolation form (`${aws_iam_role.x.arn}`, `${var.env}-data`), used both in
    /// messages and when the value is interpolated into a larger string.
    Unknown(String),
}

impl Value {
    pub fn new(kind: V, pos: Pos) -> Self {
        Value { kind, pos }
    }

    pub fn str(s: impl Into<String>, pos: Pos) -> Self {
        Value::new(V::Str(s.into()), pos)
    }

    pub fn unknown(text: impl Into<String>, pos: Pos) -> Self {
        Value::new(V::Unknown(text.into()), pos)
    }

    pub fn null(pos: Pos) -> Self {
        Value::new(V::Null, pos)
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            V::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match &self.kind {
            V::Bool(b) => Some(*b),
            // Terraform converts "true"/"false" strings where a bool is expected.
            V::Str(s) if s == "true" => Some(true),
            V::Str(s) if s == "false" => Some(false),
            _ => None,
        }
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self.kind, V::Unknown(_))
    }

    /// Unknown because evaluating it would fail (see [`INVALID`]).
    pub fn is_invalid(&self) -> bool {
        matches!(&self.kind, V::Unknown(text) if text.starts_with(INVALID))
    }

    pub fn is_null(&self) -> bool {
        matches!(self.kind, V::Null)
    }

    /// The value of `key` in an object (the last one when repeated).
    pub fn get(&self, key: &str) -> Option<&Value> {
        match &self.kind {
            V::Object(entries) => entries.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            V::Json(inner) => inner.get(key),
            _ => None,
        }
    }

    /// Like [`Value::get`], ignoring ASCII case (IAM element names are case-sensitive in
    /// AWS, but policies are read leniently to report on what the author meant).
    pub fn get_ci(&self, key: &str) -> Option<&Value> {
        match &self.kind {
            V::Object(entries) => entries
                .iter()
                .rev()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v),
            V::Json(inner) => inner.get_ci(key),
            _ => None,
        }
    }

    /// The elements of a list, or the value itself as a one-element list (Terraform blocks
    /// and IAM elements accept both forms). Null is empty.
    pub fn items(&self) -> Vec<&Value> {
        match &self.kind {
            V::List(items) => items.iter().collect(),
            V::Null => Vec::new(),
            _ => vec![self],
        }
    }

    /// The first element of a nested block list (`vpc_config[0]`), or the value if it is
    /// already an object.
    pub fn first_block(&self) -> Option<&Value> {
        match &self.kind {
            V::List(items) => items.first(),
            V::Object(_) => Some(self),
            _ => None,
        }
    }

    /// The value as text for string interpolation; `None` for lists and objects, which
    /// Terraform refuses to interpolate.
    pub fn interpolate(&self) -> Option<String> {
        match &self.kind {
            V::Null => Some(String::new()),
            V::Bool(b) => Some(b.to_string()),
            V::Number(n) => Some(format_number(*n)),
            V::Str(s) => Some(s.clone()),
            V::Json(inner) => Some(to_json(inner)),
            V::Unknown(text) => Some(text.clone()),
            V::List(_) | V::Object(_) => None,
        }
    }

    /// True when nothing inside is unknown.
    pub fn is_known(&self) -> bool {
        match &self.kind {
            V::Unknown(_) => false,
            V::List(items) => items.iter().all(Value::is_known),
            V::Object(entries) => entries.iter().all(|(_, v)| v.is_known()),
            V::Json(inner) => inner.is_known(),
            _ => true,
        }
    }

    /// Structural equality that ignores positions.
    pub fn same(&self, other: &Value) -> bool {
        match (&self.kind, &other.kind) {
            (V::Null, V::Null) => true,
            (V::Bool(a), V::Bool(b)) => a == b,
            (V::Number(a), V::Number(b)) => a == b,
            (V::Str(a), V::Str(b)) | (V::Unknown(a), V::Unknown(b)) => a == b,
            (V::List(a), V::List(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same(y))
            }
            (V::Object(a), V::Object(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .zip(b)
                        .all(|((ka, va), (kb, vb))| ka == kb && va.same(vb))
            }
            (V::Json(a), V::Json(b)) => a.same(b),
            _ => false,
        }
    }

    /// A short rendering for messages: strings quoted, structures as JSON.
    pub fn display(&self) -> String {
        match &self.kind {
            V::Str(s) => format!("\"{s}\""),
            V::Unknown(text) => {
                // Expressions can span lines: show them on one, shortened.
                let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
                if flat.chars().count() > MAX_SHOWN {
                    format!("{}…", flat.chars().take(MAX_SHOWN).collect::<String>())
                } else {
                    flat
                }
            }
            _ => to_json(self),
        }
    }
}

pub(crate) fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// Compact JSON text of a value (what `jsonencode` produces). Unknown parts are written
/// as their interpolation text inside a string.
pub(crate) fn to_json(value: &Value) -> String {
    let mut out = String::new();
    write_json(value, &mut out);
    out
}

fn write_json(value: &Value, out: &mut String) {
    match &value.kind {
        V::Null => out.push_str("null"),
        V::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        V::Number(n) => out.push_str(&format_number(*n)),
        V::Str(s) | V::Unknown(s) => write_json_string(s, out),
        V::Json(inner) => write_json_string(&to_json(inner), out),
        V::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out);
            }
            out.push(']');
        }
        V::Object(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(k, out);
                out.push(':');
                write_json(v, out);
            }
            out.push('}');
        }
    }
}

fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_text_escapes_and_keeps_order() {
        let p = Pos::default();
        let v = Value::new(
            V::Object(vec![
                ("b".into(), Value::str("x\"y\n", p)),
                ("a".into(), Value::new(V::Number(2.0), p)),
                ("c".into(), Value::unknown("${var.x}", p)),
            ]),
            p,
        );
        assert_eq!(to_json(&v), r#"{"b":"x\"y\n","a":2,"c":"${var.x}"}"#);
        assert!(!v.is_known());
        assert_eq!(v.get("a").unwrap().interpolate().unwrap(), "2");
    }
}
