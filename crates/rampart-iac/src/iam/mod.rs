//! IAM policy documents: one model for policies written as JSON files, JSON strings and
//! heredocs in Terraform, `jsonencode(...)` objects and `aws_iam_policy_document` data
//! sources, and the checks that run on all of them.

pub(crate) mod catalog;
pub(crate) mod checks;

use crate::value::{Pos, V, Value};

/// One string in a policy element, with where it was written. `known` is false when the
/// text is an unevaluated Terraform expression (`${aws_s3_bucket.x.arn}/*`).
#[derive(Clone, Debug)]
pub(crate) struct Item {
    pub text: String,
    pub known: bool,
    pub pos: Pos,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Effect {
    Allow,
    Deny,
    /// Missing, misspelled or unevaluated.
    Other(String),
}

#[derive(Clone, Debug)]
pub(crate) struct Principal {
    /// `"Principal": "*"`.
    pub star: bool,
    /// (`AWS` / `Service` / `Federated` / `CanonicalUser`, value).
    pub entries: Vec<(String, Item)>,
    pub pos: Pos,
}

impl Principal {
    /// Anyone: `"*"` or `{"AWS": "*"}` (or an unevaluated `*` inside a list).
    pub fn is_anyone(&self) -> bool {
        self.star
            || self
                .entries
                .iter()
                .any(|(kind, item)| kind.eq_ignore_ascii_case("AWS") && item.text == "*")
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Condition {
    pub operator: String,
    pub operator_pos: Pos,
    pub key: String,
    pub values: Vec<Item>,
}

#[derive(Clone, Debug)]
pub(crate) struct Statement {
    pub sid: Option<String>,
    pub effect: Effect,
    pub pos: Pos,
    pub action: Option<Vec<Item>>,
    pub not_action: Option<Vec<Item>>,
    pub action_pos: Pos,
    pub resource: Option<Vec<Item>>,
    pub not_resource: Option<Vec<Item>>,
    pub resource_pos: Pos,
    pub principal: Option<Principal>,
    pub not_principal: Option<Principal>,
    pub conditions: Vec<Condition>,
}

impl Statement {
    /// How the statement is named in messages: its Sid, or its line.
    pub fn label(&self) -> String {
        match &self.sid {
            Some(sid) if !sid.is_empty() => format!("statement \"{sid}\""),
            _ => format!("the statement at line {}", self.pos.line),
        }
    }

    pub fn actions(&self) -> &[Item] {
        self.action.as_deref().unwrap_or(&[])
    }

    pub fn resources(&self) -> &[Item] {
        self.resource.as_deref().unwrap_or(&[])
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Policy {
    pub statements: Vec<Statement>,
}

/// Why a value is not a policy document.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PolicyError {
    #[error("the policy document is not a JSON object")]
    NotObject,
    #[error("the policy document has no Statement element")]
    NoStatement,
    #[error("{0}")]
    Invalid(String),
}

impl Policy {
    pub fn from_value(doc: &Value) -> Result<Policy, PolicyError> {
        let doc = match &doc.kind {
            V::Json(inner) => inner.as_ref(),
            V::Object(_) => doc,
            _ => return Err(PolicyError::NotObject),
        };
        let statements = doc.get_ci("Statement").ok_or(PolicyError::NoStatement)?;
        let statements = statements
            .items()
            .into_iter()
            .map(statement)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Policy { statements })
    }
}

fn statement(value: &Value) -> Result<Statement, PolicyError> {
    if !matches!(value.kind, V::Object(_)) {
        return Err(PolicyError::Invalid(format!(
            "a Statement entry at line {} is not an object",
            value.pos.line
        )));
    }
    let effect = match value.get_ci("Effect") {
        Some(e) => match &e.kind {
            V::Str(s) if s == "Allow" => Effect::Allow,
            V::Str(s) if s == "Deny" => Effect::Deny,
            _ => Effect::Other(e.display()),
        },
        None => Effect::Other("(missing)".into()),
    };
    let element = |name: &str| value.get_ci(name).map(items);
    let pos_of = |names: [&str; 2]| {
        names
            .iter()
            .find_map(|n| value.get_ci(n))
            .map_or(value.pos, |v| v.pos)
    };
    let mut conditions = Vec::new();
    if let Some(block) = value.get_ci("Condition")
        && let V::Object(operators) = &block.kind
    {
        for (operator, keys) in operators {
            match &keys.kind {
                V::Object(entries) => {
                    for (key, values) in entries {
                        conditions.push(Condition {
                            operator: operator.clone(),
                            operator_pos: keys_pos(block, operator),
                            key: key.clone(),
                            values: items(values),
                        });
                    }
                }
                _ => {
                    return Err(PolicyError::Invalid(format!(
                        "condition operator {operator} at line {} does not map keys to values",
                        keys.pos.line
                    )));
                }
            }
        }
    }
    Ok(Statement {
        sid: value
            .get_ci("Sid")
            .and_then(Value::as_str)
            .map(str::to_owned),
        effect,
        pos: value.pos,
        action: element("Action"),
        not_action: element("NotAction"),
        action_pos: pos_of(["Action", "NotAction"]),
        resource: element("Resource"),
        not_resource: element("NotResource"),
        resource_pos: pos_of(["Resource", "NotResource"]),
        principal: value.get_ci("Principal").map(principal),
        not_principal: value.get_ci("NotPrincipal").map(principal),
        conditions,
    })
}

/// Where an operator was written: the position of its value object is the closest the
/// value model records (operators are object keys); JSON and HCL both put the key on the
/// same line as the opening brace of its value in practice.
fn keys_pos(block: &Value, operator: &str) -> Pos {
    block.get(operator).map_or(block.pos, |v| v.pos)
}

fn items(value: &Value) -> Vec<Item> {
    value
        .items()
        .into_iter()
        .map(|v| match &v.kind {
            // `${...}` left in a string is an apply-time value (or an IAM policy
            // variable such as `${aws:username}`): not a literal to judge.
            V::Str(s) => Item {
                text: s.clone(),
                known: !s.contains("${"),
                pos: v.pos,
            },
            V::Unknown(text) => Item {
                text: text.clone(),
                known: false,
                pos: v.pos,
            },
            _ => Item {
                text: v.interpolate().unwrap_or_else(|| v.display()),
                known: v.is_known(),
                pos: v.pos,
            },
        })
        .collect()
}

fn principal(value: &Value) -> Principal {
    match &value.kind {
        V::Str(s) => Principal {
            star: s == "*",
            entries: Vec::new(),
            pos: value.pos,
        },
        V::Object(entries) => Principal {
            star: false,
            entries: entries
                .iter()
                .flat_map(|(kind, v)| items(v).into_iter().map(move |i| (kind.clone(), i)))
                .collect(),
            pos: value.pos,
        },
        _ => Principal {
            star: false,
            entries: vec![(
                "AWS".into(),
                Item {
                    text: value.display(),
                    known: false,
                    pos: value.pos,
                },
            )],
            pos: value.pos,
        },
    }
}

/// IAM wildcard matching: `*` any run, `?` one character. Iterative with one backtrack
/// point, so linear-ish and never recursive.
pub(crate) fn glob_match(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let eq = |a: char, b: char| {
        if ignore_case {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || t.get(ti).is_some_and(|&tc| eq(c, tc)) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|&c| c == '*'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;

    #[test]
    fn globs_match_like_iam() {
        assert!(glob_match("s3:*", "s3:GetObject", true));
        assert!(glob_match("S3:get*", "s3:GetObject", true));
        assert!(!glob_match("s3:Get*", "s3:PutObject", true));
        assert!(glob_match("*", "", false));
        assert!(glob_match("a?c*d", "abcxxd", false));
        assert!(!glob_match("arn:aws:s3:::b/*", "arn:aws:s3:::b", false));
        assert!(glob_match("arn:aws:s3:::b*", "arn:aws:s3:::b/x", false));
    }

    #[test]
    fn reads_statements_with_positions() {
        let doc = json::parse(
            r#"{"Version": "2012-10-17", "Statement": {
  "Sid": "x", "Effect": "Deny", "Principal": {"AWS": ["*", "arn:aws:iam::1:root"]},
  "Action": "s3:*", "Resource": ["a", "b"],
  "Condition": {"Bool": {"aws:SecureTransport": "false"}}}}"#,
            Pos {
                file: 0,
                line: 1,
                col: 1,
            },
        )
        .unwrap();
        let policy = Policy::from_value(&doc).unwrap();
        let s = &policy.statements[0];
        assert_eq!(s.effect, Effect::Deny);
        assert_eq!(s.label(), "statement \"x\"");
        assert!(s.principal.as_ref().unwrap().is_anyone());
        assert_eq!(s.resources().len(), 2);
        assert_eq!(s.action_pos.line, 3);
        let c = &s.conditions[0];
        assert_eq!(
            (c.operator.as_str(), c.key.as_str()),
            ("Bool", "aws:SecureTransport")
        );
        assert_eq!(c.operator_pos.line, 4);
        assert!(Policy::from_value(&json::parse("[1]", Pos::default()).unwrap()).is_err());
        assert!(Policy::from_value(&json::parse("{}", Pos::default()).unwrap()).is_err());
    }
}
