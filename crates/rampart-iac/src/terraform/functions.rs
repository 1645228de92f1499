//! The Terraform functions that policies and settings are commonly built with. A
//! function rampart does not implement, or one applied to unknown arguments, yields an
//! unknown value (never an error). `file` and `templatefile` read only files inside the
//! calling module's directory, bounded in size, and record them in the file table so
//! findings can point into them.

use std::path::{Component, Path};

use hcl_edit::expr::FuncCall;
use rampart_core::Location;

use super::eval::{Binding, Instance, MAX_COLLECTION, MAX_STRING, Scope};
use super::load::join_display;
use crate::json;
use crate::value::{Pos, V, Value, format_number, to_json};

/// Bytes `file()` / `templatefile()` read at most.
const MAX_READ_BYTES: u64 = 1 << 20;

impl Instance<'_> {
    pub(crate) fn call_function(
        &self,
        call: &FuncCall,
        file: u32,
        scope: Scope,
        pos: Pos,
    ) -> Value {
        let unknown = || Value::unknown(self.text_of(call, file), pos);
        if call.name.is_namespaced() {
            return unknown();
        }
        let name = call.name.name.as_str();
        match name {
            // The first argument that does not fail wins; one that is merely unknown
            // until apply makes the result unknown.
            "try" => {
                for arg in call.args.iter() {
                    let v = self.eval(arg, file, scope);
                    if !v.is_invalid() {
                        return if v.is_known() { v } else { unknown() };
                    }
                }
                return unknown();
            }
            "can" => {
                return match call.args.iter().next().map(|a| self.eval(a, file, scope)) {
                    Some(v) if v.is_known() => Value::new(V::Bool(true), pos),
                    Some(v) if v.is_invalid() => Value::new(V::Bool(false), pos),
                    _ => unknown(),
                };
            }
            _ => {}
        }
        let mut args: Vec<Value> = call
            .args
            .iter()
            .map(|a| self.eval(a, file, scope))
            .collect();
        if call.args.expand_final()
            && let Some(last) = args.pop()
        {
            match last.kind {
                V::List(items) => args.extend(items),
                _ => return unknown(),
            }
        }
        if let Some(invalid) = args.iter().find(|a| a.is_invalid()) {
            return invalid.clone();
        }
        apply(self, name, &args, pos).unwrap_or_else(unknown)
    }

    /// Reads a file of the module directory (`"x.json"`, `"${path.module}/x.json"`);
    /// `None` for anything outside it or too large.
    fn read_module_file(&self, requested: &str) -> Option<(u32, String)> {
        let display = self.module.display_dir.as_str();
        // `path.module` evaluates to the display directory; strip it back off.
        let relative = requested
            .strip_prefix(display)
            .filter(|rest| !display.is_empty() && rest.starts_with('/'))
            .map(|rest| rest.trim_start_matches('/'))
            .unwrap_or(requested);
        let path = Path::new(relative);
        if path.is_absolute() || path.components().any(|c| matches!(c, Component::Prefix(_))) {
            return None;
        }
        let base = self.module.dir.canonicalize().ok()?;
        let full = base.join(path).canonicalize().ok()?;
        if !full.starts_with(&base) || std::fs::metadata(&full).ok()?.len() > MAX_READ_BYTES {
            return None;
        }
        let text = std::fs::read_to_string(&full).ok()?;
        let location = Location::file(join_display(display, relative));
        let id = self.files.add_text(location, text.clone());
        Some((id, text))
    }
}

fn apply(inst: &Instance, name: &str, args: &[Value], pos: Pos) -> Option<Value> {
    let value = |kind: V| Some(Value::new(kind, pos));
    let text = |v: &Value| match &v.kind {
        V::Str(s) => Some(s.clone()),
        V::Number(n) => Some(format_number(*n)),
        V::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let list = |v: &Value| match &v.kind {
        V::List(items) => Some(items.clone()),
        _ => None,
    };
    let int = |v: &Value| match &v.kind {
        V::Number(n) if n.fract() == 0.0 && *n >= 0.0 && *n < 1e9 => Some(*n as usize),
        V::Str(s) => s.parse::<usize>().ok(),
        _ => None,
    };
    match (name, args) {
        ("jsonencode", [arg]) => match &arg.kind {
            V::Unknown(_) => None,
            V::List(_) | V::Object(_) => value(V::Json(Box::new(arg.clone()))),
            _ => value(V::Str(to_json(arg))),
        },
        ("jsondecode", [arg]) => match &arg.kind {
            V::Str(s) => json::parse(s, arg.pos).ok(),
            V::Json(inner) => Some(inner.as_ref().clone()),
            _ => None,
        },
        ("merge", _) => {
            let mut entries: Vec<(String, Value)> = Vec::new();
            for arg in args {
                match &arg.kind {
                    V::Null => {}
                    V::Object(more) => {
                        for (k, v) in more {
                            entries.retain(|(existing, _)| existing != k);
                            entries.push((k.clone(), v.clone()));
                        }
                    }
                    _ => return None,
                }
            }
            value(V::Object(entries))
        }
        ("concat", _) => {
            let mut items = Vec::new();
            for arg in args {
                items.extend(list(arg)?);
            }
            bounded(inst, items, pos)
        }
        ("flatten", [arg]) => {
            fn flatten_into(v: &Value, out: &mut Vec<Value>) -> bool {
                match &v.kind {
                    V::List(items) => items.iter().all(|i| flatten_into(i, out)),
                    V::Unknown(_) => false,
                    _ => {
                        out.push(v.clone());
                        true
                    }
                }
            }
            let mut out = Vec::new();
            flatten_into(arg, &mut out).then_some(())?;
            bounded(inst, out, pos)
        }
        ("lookup", [map, key] | [map, key, _]) => {
            let key = text(key)?;
            match map.get(&key) {
                Some(v) => Some(v.clone()),
                None if map.is_known() => args.get(2).cloned(),
                None => None,
            }
        }
        ("element", [items, index]) => {
            let items = list(items)?;
            let index = int(index)?;
            (!items.is_empty()).then(|| items.get(index % items.len()).cloned())?
        }
        ("length", [arg]) => match &arg.kind {
            V::List(items) => value(V::Number(items.len() as f64)),
            V::Object(entries) => value(V::Number(entries.len() as f64)),
            V::Str(s) => value(V::Number(s.chars().count() as f64)),
            _ => None,
        },
        ("contains", [items, needle]) => {
            let items = list(items)?;
            if !needle.is_known() || !items.iter().all(Value::is_known) {
                return None;
            }
            value(V::Bool(items.iter().any(|i| i.same(needle))))
        }
        ("keys", [arg]) => match &arg.kind {
            V::Object(entries) => value(V::List(
                entries
                    .iter()
                    .map(|(k, v)| Value::str(k.clone(), v.pos))
                    .collect(),
            )),
            _ => None,
        },
        ("values", [arg]) => match &arg.kind {
            V::Object(entries) => value(V::List(entries.iter().map(|(_, v)| v.clone()).collect())),
            _ => None,
        },
        ("zipmap", [keys, values]) => {
            let keys = list(keys)?;
            let values = list(values)?;
            let entries = keys
                .iter()
                .zip(values)
                .map(|(k, v)| Some((text(k)?, v)))
                .collect::<Option<Vec<_>>>()?;
            value(V::Object(entries))
        }
        ("tolist", [arg]) => list(arg).map(|items| Value::new(V::List(items), pos)),
        ("toset" | "distinct", [arg]) => {
            let items = list(arg)?;
            if !items.iter().all(Value::is_known) {
                return None;
            }
            let mut out: Vec<Value> = Vec::new();
            for item in items {
                if !out.iter().any(|o| o.same(&item)) {
                    out.push(item);
                }
            }
            value(V::List(out))
        }
        ("tomap", [arg]) => matches!(arg.kind, V::Object(_)).then(|| arg.clone()),
        ("tostring", [arg]) => text(arg).map(|s| Value::str(s, pos)),
        ("tonumber", [arg]) => match &arg.kind {
            V::Number(_) => Some(arg.clone()),
            V::Str(s) => s.trim().parse().ok().map(|n| Value::new(V::Number(n), pos)),
            _ => None,
        },
        ("tobool", [arg]) => arg.as_bool().map(|b| Value::new(V::Bool(b), pos)),
        ("coalesce", _) => {
            for arg in args {
                match &arg.kind {
                    V::Unknown(_) => return None,
                    V::Null => {}
                    V::Str(s) if s.is_empty() => {}
                    _ => return Some(arg.clone()),
                }
            }
            None
        }
        ("coalescelist", _) => {
            for arg in args {
                match &arg.kind {
                    V::List(items) if items.is_empty() => {}
                    V::List(_) => return Some(arg.clone()),
                    _ => return None,
                }
            }
            None
        }
        ("format", [spec, rest @ ..]) => format(&text(spec)?, rest).map(|s| Value::str(s, pos)),
        ("join", [sep, lists @ ..]) => {
            let sep = text(sep)?;
            let mut parts = Vec::new();
            for l in lists {
                for item in list(l)? {
                    parts.push(text(&item)?);
                }
            }
            string(inst, parts.join(&sep), pos)
        }
        ("split", [sep, s]) => {
            let (sep, s) = (text(sep)?, text(s)?);
            if sep.is_empty() {
                return None;
            }
            bounded(
                inst,
                s.split(sep.as_str()).map(|p| Value::str(p, pos)).collect(),
                pos,
            )
        }
        ("lower", [s]) => text(s).map(|s| Value::str(s.to_lowercase(), pos)),
        ("upper", [s]) => text(s).map(|s| Value::str(s.to_uppercase(), pos)),
        ("trimspace", [s]) => text(s).map(|s| Value::str(s.trim(), pos)),
        ("chomp", [s]) => text(s).map(|s| Value::str(s.trim_end_matches(['\n', '\r']), pos)),
        ("trimprefix", [s, p]) => {
            let (s, p) = (text(s)?, text(p)?);
            Some(Value::str(s.strip_prefix(p.as_str()).unwrap_or(&s), pos))
        }
        ("trimsuffix", [s, p]) => {
            let (s, p) = (text(s)?, text(p)?);
            Some(Value::str(s.strip_suffix(p.as_str()).unwrap_or(&s), pos))
        }
        ("trim", [s, chars]) => {
            let (s, chars) = (text(s)?, text(chars)?);
            Some(Value::str(s.trim_matches(|c| chars.contains(c)), pos))
        }
        ("startswith", [s, p]) => value(V::Bool(text(s)?.starts_with(text(p)?.as_str()))),
        ("endswith", [s, p]) => value(V::Bool(text(s)?.ends_with(text(p)?.as_str()))),
        ("replace", [s, from, to]) => {
            // A JSON document with a placeholder replaced by an unknown value stays
            // readable as JSON text with `${...}` inside.
            let (s, known) = match &s.kind {
                V::Json(inner) => (to_json(inner), inner.is_known()),
                V::Unknown(t) => (t.clone(), false),
                _ => (text(s)?, true),
            };
            let from = text(from)?;
            // `/.../` is a regular expression: not evaluated.
            if from.is_empty() || (from.len() > 1 && from.starts_with('/') && from.ends_with('/')) {
                return None;
            }
            if let V::Unknown(to) = &to.kind {
                return Some(Value::unknown(s.replace(&from, to), pos));
            }
            let to = text(to)?;
            if !known {
                return Some(Value::unknown(s.replace(&from, &to), pos));
            }
            string(inst, s.replace(&from, &to), pos)
        }
        ("substr", [s, offset, length]) => {
            let s = text(s)?;
            let offset = int(offset)?;
            let chars = s.chars().skip(offset);
            let out: String = match &length.kind {
                V::Number(n) if *n < 0.0 => chars.collect(),
                _ => chars.take(int(length)?).collect(),
            };
            Some(Value::str(out, pos))
        }
        ("compact", [arg]) => {
            let items = list(arg)?;
            value(V::List(
                items
                    .into_iter()
                    .filter(|v| !v.is_null() && v.as_str() != Some(""))
                    .collect(),
            ))
        }
        ("one", [arg]) => match list(arg)?.as_slice() {
            [] => Some(Value::null(pos)),
            [only] => Some(only.clone()),
            _ => None,
        },
        ("reverse", [arg]) => {
            let mut items = list(arg)?;
            items.reverse();
            value(V::List(items))
        }
        ("sort", [arg]) => {
            let mut items = list(arg)?.iter().map(text).collect::<Option<Vec<_>>>()?;
            items.sort();
            value(V::List(
                items.into_iter().map(|s| Value::str(s, pos)).collect(),
            ))
        }
        ("range", [n]) => {
            let n = int(n)?;
            (n <= MAX_COLLECTION).then_some(())?;
            bounded(
                inst,
                (0..n)
                    .map(|i| Value::new(V::Number(i as f64), pos))
                    .collect(),
                pos,
            )
        }
        ("file", [path]) => {
            let (id, text) = inst.read_module_file(&text(path)?)?;
            Some(Value::str(
                text,
                Pos {
                    file: id,
                    line: 1,
                    col: 1,
                },
            ))
        }
        ("templatefile", [path, vars]) => {
            let (id, source) = inst.read_module_file(&text(path)?)?;
            let template = hcl_edit::parser::parse_template(&source).ok()?;
            let V::Object(entries) = &vars.kind else {
                return None;
            };
            let start = Pos {
                file: id,
                line: 1,
                col: 1,
            };
            Some(eval_with_bindings(
                inst,
                &template,
                id,
                entries,
                Scope::default(),
                start,
            ))
        }
        _ => None,
    }
}

/// Evaluates a template with each of `entries` bound as a name (templatefile's vars),
/// binding one at a time on the stack.
fn eval_with_bindings(
    inst: &Instance,
    template: &hcl_edit::template::Template,
    file: u32,
    entries: &[(String, Value)],
    scope: Scope,
    pos: Pos,
) -> Value {
    match entries.split_first() {
        Some(((name, value), rest)) => {
            let binding = Binding::new(name.clone(), value.clone(), scope);
            eval_with_bindings(inst, template, file, rest, binding.scope(), pos)
        }
        None => {
            // The template was parsed from the file's own text, so spans are offsets in it.
            inst.eval_template(template, file, scope, pos)
        }
    }
}

fn bounded(inst: &Instance, items: Vec<Value>, pos: Pos) -> Option<Value> {
    if items.len() > MAX_COLLECTION || !inst.step(items.len() as u64) {
        inst.limit_hit.set(true);
        return None;
    }
    Some(Value::new(V::List(items), pos))
}

fn string(inst: &Instance, s: String, pos: Pos) -> Option<Value> {
    if s.len() > MAX_STRING {
        inst.limit_hit.set(true);
        return None;
    }
    Some(Value::str(s, pos))
}

/// `format` for the verbs policies use: `%s`, `%d`, `%v`, `%q`, `%%`.
fn format(spec: &str, args: &[Value]) -> Option<String> {
    let mut out = String::new();
    let mut next = args.iter();
    let mut chars = spec.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            '%' => out.push('%'),
            verb @ ('s' | 'd' | 'v' | 'q') => {
                let arg = next.next()?;
                if !arg.is_known() {
                    return None;
                }
                let s = arg.interpolate()?;
                if verb == 'q' {
                    out.push_str(&format!("\"{s}\""));
                } else {
                    out.push_str(&s);
                }
            }
            _ => return None,
        }
        if out.len() > MAX_STRING {
            return None;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_common_verbs() {
        let p = Pos::default();
        let args = [Value::str("a", p), Value::new(V::Number(3.0), p)];
        assert_eq!(format("x-%s-%d-%%", &args).unwrap(), "x-a-3-%");
        assert!(format("%s", &[Value::unknown("${var.x}", p)]).is_none());
        assert!(format("%08.3f", &args).is_none());
    }
}
