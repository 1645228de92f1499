//! Attributes the provider computes that rampart can derive from the configuration: an
//! S3 bucket's `id` and `arn` from its name, and the `json` of an
//! `aws_iam_policy_document` from its statement blocks (kept structured, with the
//! positions of the blocks, so findings point into the data source).

use crate::json;
use crate::value::{Pos, V, Value};

pub(crate) fn add_computed(rtype: &str, managed: bool, value: &mut Value, pos: Pos) {
    let V::Object(entries) = &mut value.kind else {
        return;
    };
    let add = |entries: &mut Vec<(String, Value)>, key: &str, v: Value| {
        if !entries.iter().any(|(k, _)| k == key) {
            entries.push((key.to_owned(), v));
        }
    };
    match (managed, rtype) {
        (true, "aws_s3_bucket") => {
            let name = entries
                .iter()
                .rev()
                .find(|(k, _)| k == "bucket")
                .and_then(|(_, v)| v.interpolate());
            if let Some(name) = name {
                // A name with unknown parts keeps them as `${...}` text, so references
                // to the bucket's ARN still compare equal to each other.
                let make = |s: String| {
                    if s.contains("${") {
                        Value::unknown(s, pos)
                    } else {
                        Value::str(s, pos)
                    }
                };
                add(entries, "id", make(name.clone()));
                add(entries, "arn", make(format!("arn:aws:s3:::{name}")));
            }
        }
        (false, "aws_iam_policy_document") => {
            let doc = policy_document(value, pos);
            if let V::Object(entries) = &mut value.kind {
                add(
                    entries,
                    "json",
                    Value::new(V::Json(Box::new(doc.clone())), pos),
                );
                add(
                    entries,
                    "minified_json",
                    Value::new(V::Json(Box::new(doc)), pos),
                );
            }
        }
        _ => {}
    }
}

fn set(entries: &mut Vec<(String, Value)>, key: &str, value: Option<&Value>) {
    if let Some(v) = value
        && !v.is_null()
    {
        entries.push((key.to_owned(), v.clone()));
    }
}

fn principals(blocks: &Value, pos: Pos) -> Value {
    let mut by_type: Vec<(String, Value)> = Vec::new();
    for block in blocks.items() {
        let kind = block
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("AWS")
            .to_owned();
        let ids = block
            .get("identifiers")
            .cloned()
            .unwrap_or_else(|| Value::null(block.pos));
        if kind == "*" {
            return Value::str("*", block.pos);
        }
        by_type.push((kind, ids));
    }
    Value::new(V::Object(by_type), pos)
}

/// The IAM JSON that `data "aws_iam_policy_document"` renders, as a structured value.
fn policy_document(body: &Value, pos: Pos) -> Value {
    let mut statements: Vec<Value> = Vec::new();
    // Source documents come first; override documents replace same-Sid statements,
    // approximated here by appending (both are analysed).
    let embedded = |key: &str| -> Vec<Value> {
        body.get(key)
            .map(|docs| {
                docs.items()
                    .into_iter()
                    .flat_map(|doc| {
                        let parsed = match &doc.kind {
                            V::Str(text) => json::parse(text, doc.pos).ok(),
                            V::Json(inner) => Some(inner.as_ref().clone()),
                            _ => None,
                        };
                        parsed
                            .and_then(|p| p.get_ci("Statement").cloned())
                            .map(|s| s.items().into_iter().cloned().collect::<Vec<_>>())
                            .unwrap_or_default()
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    statements.extend(embedded("source_policy_documents"));
    statements.extend(embedded("source_json"));
    if let Some(blocks) = body.get("statement") {
        for block in blocks.items() {
            let mut s: Vec<(String, Value)> = Vec::new();
            set(&mut s, "Sid", block.get("sid"));
            let effect = block
                .get("effect")
                .cloned()
                .unwrap_or_else(|| Value::str("Allow", block.pos));
            s.push(("Effect".into(), effect));
            set(&mut s, "Action", block.get("actions"));
            set(&mut s, "NotAction", block.get("not_actions"));
            set(&mut s, "Resource", block.get("resources"));
            set(&mut s, "NotResource", block.get("not_resources"));
            if let Some(p) = block.get("principals") {
                s.push(("Principal".into(), principals(p, p.pos)));
            }
            if let Some(p) = block.get("not_principals") {
                s.push(("NotPrincipal".into(), principals(p, p.pos)));
            }
            if let Some(conditions) = block.get("condition") {
                let mut by_operator: Vec<(String, Value)> = Vec::new();
                for c in conditions.items() {
                    let test = c.get("test");
                    let operator = test
                        .and_then(Value::interpolate)
                        .unwrap_or_else(|| "(unknown)".into());
                    let variable = c
                        .get("variable")
                        .and_then(Value::interpolate)
                        .unwrap_or_else(|| "(unknown)".into());
                    let values = c
                        .get("values")
                        .cloned()
                        .unwrap_or_else(|| Value::null(c.pos));
                    let op_pos = test.map_or(c.pos, |t| t.pos);
                    match by_operator.iter_mut().find(|(k, _)| *k == operator) {
                        Some((
                            _,
                            Value {
                                kind: V::Object(keys),
                                ..
                            },
                        )) => keys.push((variable, values)),
                        _ => by_operator.push((
                            operator,
                            Value::new(V::Object(vec![(variable, values)]), op_pos),
                        )),
                    }
                }
                s.push((
                    "Condition".into(),
                    Value::new(V::Object(by_operator), conditions.pos),
                ));
            }
            statements.push(Value::new(V::Object(s), block.pos));
        }
    }
    statements.extend(embedded("override_policy_documents"));
    statements.extend(embedded("override_json"));
    let version = body
        .get("version")
        .cloned()
        .unwrap_or_else(|| Value::str("2012-10-17", pos));
    Value::new(
        V::Object(vec![
            ("Version".into(), version),
            ("Statement".into(), Value::new(V::List(statements), pos)),
        ]),
        pos,
    )
}
