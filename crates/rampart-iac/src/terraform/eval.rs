//! A small Terraform evaluator over the `hcl-edit` syntax tree. It knows variables (with
//! defaults and tfvars), locals, resource and data-source references, templates,
//! conditionals, for-expressions, operators and the common functions; anything it cannot
//! know becomes [`V::Unknown`] carrying the expression's text, and evaluation goes on
//! around it. Never an error, never a panic; bounded by a step budget and by limits on
//! reference depth, collection and string sizes.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use hcl_edit::Span;
use hcl_edit::expr::{
    BinaryOperator, Expression, ForExpr, ObjectKey, Traversal, TraversalOperator, UnaryOperator,
};
use hcl_edit::structure::Body;
use hcl_edit::template::{Directive, Element, Template};

use super::load::{Local, ModuleSource};
use crate::sources::Files;
use crate::value::{Pos, V, Value};

/// Evaluation steps one module instance may take (an expression node or a collection
/// element each).
pub(crate) const MAX_STEPS: u64 = 2_000_000;
/// How deep references may chain (local → local → resource → ...).
pub(crate) const MAX_REFERENCE_DEPTH: usize = 32;
/// How deep evaluation may recurse (nested expressions across chained references):
/// keeps the stack bounded whatever the input.
pub(crate) const MAX_EVAL_DEPTH: usize = 192;
/// Elements a single list or object may have.
pub(crate) const MAX_COLLECTION: usize = 100_000;
/// Bytes a single string may have.
pub(crate) const MAX_STRING: usize = 4 << 20;

/// Names bound by for-expressions, dynamic blocks and templates: a linked list on the
/// stack.
#[derive(Clone, Copy, Default)]
pub(crate) struct Scope<'s>(Option<&'s Binding<'s>>);

pub(crate) struct Binding<'s> {
    name: String,
    value: Value,
    parent: Scope<'s>,
}

impl<'s> Scope<'s> {
    pub fn lookup(&self, name: &str) -> Option<&'s Value> {
        let mut at = self.0;
        while let Some(binding) = at {
            if binding.name == name {
                return Some(&binding.value);
            }
            at = binding.parent.0;
        }
        None
    }
}

impl<'s> Binding<'s> {
    pub fn new(name: impl Into<String>, value: Value, parent: Scope<'s>) -> Self {
        Binding {
            name: name.into(),
            value,
            parent,
        }
    }

    pub fn scope(&'s self) -> Scope<'s> {
        Scope(Some(self))
    }
}

/// Where a variable's value comes from in this instance.
pub(crate) enum VarBinding<'a> {
    Value(Value),
    Expr(&'a Expression, u32),
}

/// One instantiation of a module: the root, or `module.x` with its arguments.
pub(crate) struct Instance<'a> {
    pub module: &'a ModuleSource,
    pub files: &'a Files,
    /// `""` for the root, `module.x.` (nested: `module.x.module.y.`) otherwise.
    pub prefix: String,
    vars: HashMap<String, VarBinding<'a>>,
    locals: HashMap<&'a str, &'a Local>,
    resources: HashMap<(bool, &'a str, &'a str), usize>,
    cache: RefCell<HashMap<String, Value>>,
    resolving: RefCell<Vec<String>>,
    steps: Cell<u64>,
    depth: Cell<usize>,
    /// Set when the step budget or a size limit cut evaluation short.
    pub limit_hit: Cell<bool>,
}

impl<'a> Instance<'a> {
    pub fn new(
        module: &'a ModuleSource,
        files: &'a Files,
        prefix: String,
        arguments: HashMap<String, Value>,
    ) -> Self {
        let mut vars: HashMap<String, VarBinding<'a>> = HashMap::new();
        for variable in &module.variables {
            if let Some(default) = &variable.default {
                vars.insert(
                    variable.name.clone(),
                    VarBinding::Expr(default, variable.file),
                );
            }
        }
        if prefix.is_empty() {
            // Root module: tfvars override defaults. Automatic files apply in load order;
            // a value from another `.tfvars` file is used only when exactly one sets it.
            let mut manual: HashMap<&str, Vec<(&Expression, u32)>> = HashMap::new();
            for tfvar in &module.tfvars {
                if tfvar.automatic {
                    vars.insert(
                        tfvar.name.clone(),
                        VarBinding::Expr(&tfvar.expr, tfvar.file),
                    );
                } else {
                    manual
                        .entry(&tfvar.name)
                        .or_default()
                        .push((&tfvar.expr, tfvar.file));
                }
            }
            for (name, sets) in manual {
                let automatic = module.tfvars.iter().any(|t| t.automatic && t.name == name);
                if let ([(expr, file)], false) = (sets.as_slice(), automatic) {
                    vars.insert(name.to_owned(), VarBinding::Expr(expr, *file));
                }
            }
        }
        for (name, value) in arguments {
            vars.insert(name, VarBinding::Value(value));
        }
        Instance {
            module,
            files,
            prefix,
            vars,
            locals: module.locals.iter().map(|l| (l.name.as_str(), l)).collect(),
            resources: module
                .resources
                .iter()
                .enumerate()
                .map(|(i, r)| ((r.managed, r.rtype.as_str(), r.name.as_str()), i))
                .collect(),
            cache: RefCell::new(HashMap::new()),
            resolving: RefCell::new(Vec::new()),
            steps: Cell::new(0),
            depth: Cell::new(0),
            limit_hit: Cell::new(false),
        }
    }

    /// Counts one unit of work; false once the budget is spent.
    pub fn step(&self, units: u64) -> bool {
        let used = self.steps.get().saturating_add(units);
        self.steps.set(used);
        if used > MAX_STEPS {
            self.limit_hit.set(true);
            false
        } else {
            true
        }
    }

    pub fn pos_of(&self, span: Option<std::ops::Range<usize>>, file: u32) -> Pos {
        self.files.pos(file, span.map_or(0, |s| s.start))
    }

    /// The expression as written, in interpolation form, for unknown values.
    pub fn text_of(&self, expr: &impl Span, file: u32) -> String {
        let text = self.files.slice(file, expr.span());
        if text.starts_with('"') && text.ends_with('"') && text.len() >= 2 {
            text.get(1..text.len() - 1).unwrap_or("").to_owned()
        } else {
            format!("${{{text}}}")
        }
    }

    pub fn eval(&self, expr: &Expression, file: u32, scope: Scope) -> Value {
        let pos = self.pos_of(expr.span(), file);
        if !self.step(1) || self.depth.get() >= MAX_EVAL_DEPTH {
            self.limit_hit.set(true);
            return Value::unknown("${(evaluation limit reached)}", pos);
        }
        self.depth.set(self.depth.get() + 1);
        let value = self.eval_inner(expr, file, scope, pos);
        self.depth.set(self.depth.get().saturating_sub(1));
        value
    }

    fn eval_inner(&self, expr: &Expression, file: u32, scope: Scope, pos: Pos) -> Value {
        match expr {
            Expression::Null(_) => Value::null(pos),
            Expression::Bool(b) => Value::new(V::Bool(*b.value()), pos),
            Expression::Number(n) => n.as_f64().map_or_else(
                || Value::unknown(self.text_of(expr, file), pos),
                |f| Value::new(V::Number(f), pos),
            ),
            Expression::String(s) => Value::str(s.value().as_str(), pos),
            Expression::Array(array) => {
                let items = array.iter().map(|e| self.eval(e, file, scope)).collect();
                Value::new(V::List(items), pos)
            }
            Expression::Object(object) => {
                let mut entries = Vec::new();
                for (key, value) in object.iter() {
                    let key = match key {
                        ObjectKey::Ident(ident) => ident.as_str().to_owned(),
                        ObjectKey::Expression(e) => {
                            let k = self.eval(e, file, scope);
                            k.interpolate().unwrap_or_else(|| k.display())
                        }
                    };
                    entries.push((key, self.eval(value.expr(), file, scope)));
                }
                Value::new(V::Object(entries), pos)
            }
            Expression::StringTemplate(template) => self.eval_template(template, file, scope, pos),
            Expression::HeredocTemplate(heredoc) => {
                // The text starts on the line after `<<EOF`: JSON inside keeps its lines.
                let content = Pos {
                    line: pos.line.saturating_add(1),
                    col: 1,
                    ..pos
                };
                self.eval_template(&heredoc.template, file, scope, content)
            }
            Expression::Parenthesis(inner) => self.eval(inner.inner(), file, scope),
            Expression::Variable(ident) => scope
                .lookup(ident.as_str())
                .map(|v| Value { pos, ..v.clone() })
                .unwrap_or_else(|| Value::unknown(self.text_of(expr, file), pos)),
            Expression::Conditional(cond) => {
                let test = self.eval(&cond.cond_expr, file, scope);
                if test.is_invalid() {
                    return test;
                }
                match test.as_bool() {
                    Some(true) => self.eval(&cond.true_expr, file, scope),
                    Some(false) => self.eval(&cond.false_expr, file, scope),
                    None => {
                        let a = self.eval(&cond.true_expr, file, scope);
                        let b = self.eval(&cond.false_expr, file, scope);
                        if a.same(&b) {
                            a
                        } else {
                            Value::unknown(self.text_of(expr, file), pos)
                        }
                    }
                }
            }
            Expression::FuncCall(call) => self.call_function(call, file, scope, pos),
            Expression::Traversal(traversal) => self.eval_traversal(traversal, file, scope, pos),
            Expression::UnaryOp(op) => {
                let v = self.eval(&op.expr, file, scope);
                if v.is_invalid() {
                    return v;
                }
                match (op.operator.value(), &v.kind) {
                    (UnaryOperator::Not, _) if v.as_bool().is_some() => {
                        Value::new(V::Bool(!v.as_bool().unwrap_or(false)), pos)
                    }
                    (UnaryOperator::Neg, V::Number(n)) => Value::new(V::Number(-n), pos),
                    _ => Value::unknown(self.text_of(expr, file), pos),
                }
            }
            Expression::BinaryOp(op) => {
                let lhs = self.eval(&op.lhs_expr, file, scope);
                let rhs = self.eval(&op.rhs_expr, file, scope);
                if let Some(invalid) = [&lhs, &rhs].into_iter().find(|v| v.is_invalid()) {
                    return invalid.clone();
                }
                binary(*op.operator.value(), &lhs, &rhs, pos)
                    .unwrap_or_else(|| Value::unknown(self.text_of(expr, file), pos))
            }
            Expression::ForExpr(for_expr) => self.eval_for(for_expr, file, scope, pos),
        }
    }

    pub(crate) fn eval_template(
        &self,
        template: &Template,
        file: u32,
        scope: Scope,
        pos: Pos,
    ) -> Value {
        let elements: Vec<&Element> = template.iter().collect();
        if let [Element::Interpolation(only)] = elements.as_slice() {
            // "${x}" is x itself, whatever its type.
            return self.eval(&only.expr, file, scope);
        }
        let mut text = String::new();
        let mut known = true;
        for element in elements {
            match element {
                Element::Literal(literal) => text.push_str(literal.value()),
                Element::Interpolation(interpolation) => {
                    let v = self.eval(&interpolation.expr, file, scope);
                    if v.is_invalid() {
                        return v;
                    }
                    known &= v.is_known();
                    match v.interpolate() {
                        Some(part) => text.push_str(&part),
                        None => {
                            known = false;
                            text.push_str(&self.text_of(&interpolation.expr, file));
                        }
                    }
                }
                Element::Directive(directive) => match directive.as_ref() {
                    Directive::If(if_directive) => {
                        let test = self.eval(&if_directive.if_expr.cond_expr, file, scope);
                        let branch = match test.as_bool() {
                            Some(true) => Some(&if_directive.if_expr.template),
                            Some(false) => if_directive.else_expr.as_ref().map(|e| &e.template),
                            None => {
                                known = false;
                                None
                            }
                        };
                        if let Some(branch) = branch {
                            let v = self.eval_template(branch, file, scope, pos);
                            known &= v.is_known();
                            text.push_str(&v.interpolate().unwrap_or_default());
                        }
                    }
                    Directive::For(for_directive) => {
                        let intro = &for_directive.for_expr;
                        let collection = self.eval(&intro.collection_expr, file, scope);
                        match self.pairs(&collection) {
                            Some(pairs) => {
                                for (key, value) in pairs {
                                    let value_binding =
                                        Binding::new(intro.value_var.as_str(), value, scope);
                                    let key_binding = intro.key_var.as_ref().map(|k| {
                                        Binding::new(k.as_str(), key, value_binding.scope())
                                    });
                                    let inner = key_binding
                                        .as_ref()
                                        .map_or(value_binding.scope(), Binding::scope);
                                    let v = self.eval_template(&intro.template, file, inner, pos);
                                    known &= v.is_known();
                                    text.push_str(&v.interpolate().unwrap_or_default());
                                    if text.len() > MAX_STRING {
                                        break;
                                    }
                                }
                            }
                            None => known = false,
                        }
                    }
                },
            }
            if text.len() > MAX_STRING {
                self.limit_hit.set(true);
                return Value::unknown("${(string too long)}", pos);
            }
        }
        if known {
            Value::str(text, pos)
        } else {
            Value::unknown(text, pos)
        }
    }

    /// Key/value pairs of a collection for iteration; `None` when unknown.
    pub fn pairs(&self, collection: &Value) -> Option<Vec<(Value, Value)>> {
        let pairs: Vec<(Value, Value)> = match &collection.kind {
            V::List(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (Value::new(V::Number(i as f64), v.pos), v.clone()))
                .collect(),
            V::Object(entries) => entries
                .iter()
                .map(|(k, v)| (Value::str(k.clone(), v.pos), v.clone()))
                .collect(),
            V::Json(inner) => return self.pairs(inner),
            V::Null => Vec::new(),
            _ => return None,
        };
        if pairs.len() > MAX_COLLECTION || !self.step(pairs.len() as u64) {
            self.limit_hit.set(true);
            return None;
        }
        Some(pairs)
    }

    fn eval_for(&self, for_expr: &ForExpr, file: u32, scope: Scope, pos: Pos) -> Value {
        let unknown = || Value::unknown(self.text_of(for_expr, file), pos);
        let collection = self.eval(&for_expr.intro.collection_expr, file, scope);
        let Some(pairs) = self.pairs(&collection) else {
            return unknown();
        };
        let mut list = Vec::new();
        let mut object: Vec<(String, Value)> = Vec::new();
        for (key, value) in pairs {
            let value_binding = Binding::new(for_expr.intro.value_var.as_str(), value, scope);
            let key_binding = for_expr
                .intro
                .key_var
                .as_ref()
                .map(|k| Binding::new(k.as_str(), key, value_binding.scope()));
            let inner = key_binding
                .as_ref()
                .map_or(value_binding.scope(), Binding::scope);
            if let Some(cond) = &for_expr.cond {
                match self.eval(&cond.expr, file, inner).as_bool() {
                    Some(true) => {}
                    Some(false) => continue,
                    None => return unknown(),
                }
            }
            let item = self.eval(&for_expr.value_expr, file, inner);
            match &for_expr.key_expr {
                Some(key_expr) => {
                    let key = self.eval(key_expr, file, inner);
                    let Some(key) = key.as_str().map(str::to_owned).or_else(|| match key.kind {
                        V::Number(n) => Some(crate::value::format_number(n)),
                        _ => None,
                    }) else {
                        return unknown();
                    };
                    if for_expr.grouping {
                        match object.iter_mut().find(|(k, _)| *k == key) {
                            Some((
                                _,
                                Value {
                                    kind: V::List(group),
                                    ..
                                },
                            )) => group.push(item),
                            _ => object.push((key, Value::new(V::List(vec![item]), pos))),
                        }
                    } else {
                        object.push((key, item));
                    }
                }
                None => list.push(item),
            }
        }
        if for_expr.key_expr.is_some() {
            Value::new(V::Object(object), pos)
        } else {
            Value::new(V::List(list), pos)
        }
    }

    fn eval_traversal(&self, traversal: &Traversal, file: u32, scope: Scope, pos: Pos) -> Value {
        let text = || self.text_of(traversal, file);
        let ops: Vec<&TraversalOperator> = traversal.operators.iter().map(|o| o.value()).collect();
        // Attributes missing on a resource are computed by the provider (unknown until
        // apply); missing anywhere else they are an error Terraform would report.
        let mut computed = false;
        let (base, used) = match &traversal.expr {
            Expression::Variable(root) => {
                if let Some(bound) = scope.lookup(root.as_str()) {
                    (bound.clone(), 0)
                } else {
                    match self.root_reference(root.as_str(), &ops, pos) {
                        Some(found) => {
                            computed = !matches!(root.as_str(), "var" | "local" | "path");
                            found
                        }
                        None => return Value::unknown(text(), pos),
                    }
                }
            }
            other => (self.eval(other, file, scope), 0),
        };
        let missing = |value: &Value| {
            if computed || !value.is_known() {
                Value::unknown(text(), pos)
            } else {
                Value::unknown(
                    format!(
                        "{}{}}}",
                        crate::value::INVALID,
                        text().trim_start_matches("${").trim_end_matches('}')
                    ),
                    pos,
                )
            }
        };
        let mut value = base;
        let rest = ops.get(used..).unwrap_or(&[]);
        for (i, op) in rest.iter().enumerate() {
            if value.is_invalid() {
                return value;
            }
            if value.is_unknown() {
                return Value::unknown(text(), pos);
            }
            value = match op {
                TraversalOperator::GetAttr(name) => match value.get(name.as_str()) {
                    Some(v) => v.clone(),
                    None => return missing(&value),
                },
                TraversalOperator::Index(index) => {
                    let index = self.eval(index, file, scope);
                    match index_value(&value, &index) {
                        Some(v) => v,
                        None if index.is_known() => return missing(&value),
                        None => return Value::unknown(text(), pos),
                    }
                }
                TraversalOperator::LegacyIndex(n) => {
                    let index = Value::new(V::Number(*n.value() as f64), pos);
                    match index_value(&value, &index) {
                        Some(v) => v,
                        None => return missing(&value),
                    }
                }
                TraversalOperator::AttrSplat(_) | TraversalOperator::FullSplat(_) => {
                    let tail = rest.get(i + 1..).unwrap_or(&[]);
                    let mapped: Option<Vec<Value>> = value
                        .items()
                        .into_iter()
                        .map(|item| splat_tail(item, tail))
                        .collect();
                    return match mapped {
                        Some(items) => Value::new(V::List(items), pos),
                        None => Value::unknown(text(), pos),
                    };
                }
            };
        }
        Value { pos, ..value }
    }

    /// Resolves `var.x`, `local.x`, `data.t.n`, `path.module` and `t.n` (resources);
    /// returns the value and how many operators it consumed.
    fn root_reference(
        &self,
        root: &str,
        ops: &[&TraversalOperator],
        pos: Pos,
    ) -> Option<(Value, usize)> {
        let attr = |i: usize| match ops.get(i) {
            Some(TraversalOperator::GetAttr(name)) => Some(name.as_str()),
            _ => None,
        };
        match root {
            "var" => Some((self.variable(attr(0)?, pos), 1)),
            "local" => Some((self.local(attr(0)?, pos), 1)),
            "path" => match attr(0)? {
                "module" | "root" => Some((Value::str(self.module.display_dir.clone(), pos), 1)),
                _ => None,
            },
            "data" => {
                let index = *self.resources.get(&(false, attr(0)?, attr(1)?))?;
                Some((
                    self.resource_value(index, pos),
                    2 + self.skip_instance_key(index, ops.get(2)),
                ))
            }
            "module" | "terraform" | "self" | "count" | "each" => None,
            rtype => {
                let index = *self.resources.get(&(true, rtype, attr(0)?))?;
                Some((
                    self.resource_value(index, pos),
                    1 + self.skip_instance_key(index, ops.get(1)),
                ))
            }
        }
    }

    /// `aws_x.y[0].arn` and `aws_x.y["k"].arn` address one instance of a counted
    /// resource; every instance is evaluated alike, so the key is skipped.
    fn skip_instance_key(&self, index: usize, next: Option<&&TraversalOperator>) -> usize {
        let Some(decl) = self.module.resources.get(index) else {
            return 0;
        };
        let repeated =
            decl.block.body.has_attribute("count") || decl.block.body.has_attribute("for_each");
        let is_key = matches!(
            next,
            Some(TraversalOperator::Index(_) | TraversalOperator::LegacyIndex(_))
        );
        usize::from(repeated && is_key)
    }

    /// Runs `f` with cycle detection and caching under `key`.
    fn resolve(&self, key: String, pos: Pos, f: impl FnOnce() -> Value) -> Value {
        if let Some(v) = self.cache.borrow().get(&key) {
            return Value {
                pos: v.pos,
                ..v.clone()
            };
        }
        {
            let resolving = self.resolving.borrow();
            if resolving.contains(&key) || resolving.len() >= MAX_REFERENCE_DEPTH {
                if resolving.len() >= MAX_REFERENCE_DEPTH {
                    self.limit_hit.set(true);
                }
                return Value::unknown(format!("${{{key}}}"), pos);
            }
        }
        self.resolving.borrow_mut().push(key.clone());
        let value = f();
        self.resolving.borrow_mut().pop();
        self.cache.borrow_mut().insert(key, value.clone());
        value
    }

    pub fn variable(&self, name: &str, pos: Pos) -> Value {
        match self.vars.get(name) {
            Some(VarBinding::Value(v)) => v.clone(),
            Some(VarBinding::Expr(expr, file)) => self.resolve(format!("var.{name}"), pos, || {
                self.eval(expr, *file, Scope::default())
            }),
            None => Value::unknown(format!("${{var.{name}}}"), pos),
        }
    }

    pub fn local(&self, name: &str, pos: Pos) -> Value {
        match self.locals.get(name) {
            Some(local) => self.resolve(format!("local.{name}"), pos, || {
                self.eval(&local.expr, local.file, Scope::default())
            }),
            None => Value::unknown(format!("${{local.{name}}}"), pos),
        }
    }

    /// The evaluated object of a resource or data source: its arguments, its blocks as
    /// lists of objects, and the computed attributes rampart can derive.
    pub fn resource_value(&self, index: usize, pos: Pos) -> Value {
        let Some(decl) = self.module.resources.get(index) else {
            return Value::unknown("${(no such resource)}", pos);
        };
        let kind = if decl.managed { "" } else { "data." };
        let address = format!("{kind}{}.{}", decl.rtype, decl.name);
        self.resolve(address.clone(), pos, || {
            let block_pos = self.pos_of(decl.block.span(), decl.file);
            let unknown = |name: &str| Value::unknown(format!("${{{address}.{name}}}"), block_pos);
            let each = Value::new(
                V::Object(vec![
                    ("key".into(), unknown("each.key")),
                    ("value".into(), unknown("each.value")),
                ]),
                block_pos,
            );
            let count = Value::new(
                V::Object(vec![("index".into(), unknown("count.index"))]),
                block_pos,
            );
            let each_binding = Binding::new("each", each, Scope::default());
            let count_binding = Binding::new("count", count, each_binding.scope());
            let mut value = self.eval_body(
                &decl.block.body,
                decl.file,
                count_binding.scope(),
                block_pos,
            );
            super::computed::add_computed(&decl.rtype, decl.managed, &mut value, block_pos);
            value
        })
    }

    /// A block body as an object. Meta-arguments are left out; `dynamic` blocks are
    /// expanded when their collection is known, else evaluated once with unknown
    /// iterator values.
    pub fn eval_body(&self, body: &Body, file: u32, scope: Scope, pos: Pos) -> Value {
        let mut entries: Vec<(String, Value)> = Vec::new();
        for attr in body.attributes() {
            let key = attr.key.as_str();
            if matches!(key, "count" | "for_each" | "depends_on" | "provider") {
                continue;
            }
            entries.push((key.to_owned(), self.eval(&attr.value, file, scope)));
        }
        let push_block =
            |entries: &mut Vec<(String, Value)>, name: &str, value: Value| match entries
                .iter_mut()
                .find(|(k, _)| k == name)
            {
                Some((
                    _,
                    Value {
                        kind: V::List(blocks),
                        ..
                    },
                )) => blocks.push(value),
                _ => {
                    let at = value.pos;
                    entries.push((name.to_owned(), Value::new(V::List(vec![value]), at)));
                }
            };
        for block in body.blocks() {
            let block_pos = self.pos_of(block.span(), file);
            match block.ident.as_str() {
                "lifecycle" | "provisioner" | "connection" => {}
                "dynamic" => {
                    let Some(label) = block.labels.first().map(|l| l.as_str().to_owned()) else {
                        continue;
                    };
                    let Some(content) = block.body.blocks().find(|b| b.ident.as_str() == "content")
                    else {
                        continue;
                    };
                    let iterator = block
                        .body
                        .get_attribute("iterator")
                        .and_then(|a| a.value.as_variable().map(|v| v.as_str().to_owned()))
                        .unwrap_or_else(|| label.clone());
                    let collection = block
                        .body
                        .get_attribute("for_each")
                        .map(|a| self.eval(&a.value, file, scope))
                        .unwrap_or_else(|| Value::null(block_pos));
                    let pairs = self.pairs(&collection).unwrap_or_else(|| {
                        let text = format!("${{{iterator}.value}}");
                        vec![(
                            Value::unknown(format!("${{{iterator}.key}}"), block_pos),
                            Value::unknown(text, block_pos),
                        )]
                    });
                    for (key, value) in pairs {
                        let it = Value::new(
                            V::Object(vec![("key".into(), key), ("value".into(), value)]),
                            block_pos,
                        );
                        let binding = Binding::new(iterator.clone(), it, scope);
                        let v = self.eval_body(&content.body, file, binding.scope(), block_pos);
                        push_block(&mut entries, &label, v);
                    }
                }
                name => {
                    let v = self.eval_body(&block.body, file, scope, block_pos);
                    push_block(&mut entries, name, v);
                }
            }
        }
        Value::new(V::Object(entries), pos)
    }
}

fn index_value(value: &Value, index: &Value) -> Option<Value> {
    match (&value.kind, &index.kind) {
        (V::List(items), V::Number(n)) if *n >= 0.0 && n.fract() == 0.0 => {
            items.get(*n as usize).cloned()
        }
        (V::List(items), V::Str(s)) => items.get(s.parse::<usize>().ok()?).cloned(),
        (V::Object(_) | V::Json(_), V::Str(s)) => value.get(s).cloned(),
        (V::Object(_), V::Number(n)) => value.get(&crate::value::format_number(*n)).cloned(),
        _ => None,
    }
}

fn splat_tail(item: &Value, tail: &[&TraversalOperator]) -> Option<Value> {
    let mut value = item.clone();
    for op in tail {
        value = match op {
            TraversalOperator::GetAttr(name) => value.get(name.as_str())?.clone(),
            TraversalOperator::LegacyIndex(n) => {
                index_value(&value, &Value::new(V::Number(*n.value() as f64), value.pos))?
            }
            _ => return None,
        };
    }
    Some(value)
}

fn number(v: &Value) -> Option<f64> {
    match &v.kind {
        V::Number(n) => Some(*n),
        V::Str(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A binary operation on known operands; `None` when it cannot be decided.
fn binary(op: BinaryOperator, lhs: &Value, rhs: &Value, pos: Pos) -> Option<Value> {
    let bool_value = |b: bool| Some(Value::new(V::Bool(b), pos));
    match op {
        BinaryOperator::And => match (lhs.as_bool(), rhs.as_bool()) {
            (Some(false), _) | (_, Some(false)) => bool_value(false),
            (Some(true), Some(true)) => bool_value(true),
            _ => None,
        },
        BinaryOperator::Or => match (lhs.as_bool(), rhs.as_bool()) {
            (Some(true), _) | (_, Some(true)) => bool_value(true),
            (Some(false), Some(false)) => bool_value(false),
            _ => None,
        },
        BinaryOperator::Eq | BinaryOperator::NotEq => {
            if !lhs.is_known() || !rhs.is_known() {
                return None;
            }
            let equal = match (number(lhs), number(rhs)) {
                (Some(a), Some(b))
                    if matches!(lhs.kind, V::Number(_)) || matches!(rhs.kind, V::Number(_)) =>
                {
                    a == b
                }
                _ => lhs.same(rhs),
            };
            bool_value(equal == (op == BinaryOperator::Eq))
        }
        _ => {
            let (a, b) = (number(lhs)?, number(rhs)?);
            let n = |x: f64| Some(Value::new(V::Number(x), pos));
            match op {
                BinaryOperator::Plus => n(a + b),
                BinaryOperator::Minus => n(a - b),
                BinaryOperator::Mul => n(a * b),
                BinaryOperator::Div if b != 0.0 => n(a / b),
                BinaryOperator::Mod if b != 0.0 => n(a % b),
                BinaryOperator::Less => bool_value(a < b),
                BinaryOperator::LessEq => bool_value(a <= b),
                BinaryOperator::Greater => bool_value(a > b),
                BinaryOperator::GreaterEq => bool_value(a >= b),
                _ => None,
            }
        }
    }
}
