//! Abstract values of the symbolic machine. Scalars and literals live inline in a
//! [`Slot`] (strings and bytes as byte ranges of the input, never copied); everything
//! that can be shared or mutated (containers, globals, call results) lives once in the
//! [`Heap`] and is referred to by index, so DUP/GET/memo aliasing behaves as in Python
//! without any deep copy.

use std::fmt::Write;

use crate::policy::{Judgement, Special};

/// A byte range of the input: `data[start..end]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub(crate) fn of<'d>(&self, data: &'d [u8]) -> &'d [u8] {
        data.get(self.start..self.end).unwrap_or_default()
    }
}

/// An index into the heap.
pub(crate) type Id = u32;

/// One stack, memo or container entry.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Slot {
    None,
    Bool(bool),
    Int(i64),
    /// An integer that does not fit in i64: LONG1/LONG4 little-endian payload.
    BigInt(Span),
    /// An integer that does not fit in i64: decimal text of INT/LONG.
    BigText(Span),
    Float(f64),
    /// UTF-8 text (BINUNICODE family).
    Str(Span),
    /// BINSTRING/SHORT_BINSTRING: a Python 2 str, decoded by the loader's encoding.
    LegacyStr(Span),
    Bytes(Span),
    ByteArray(Span),
    Ref(Id),
}

/// Who built a call result: decides what runs (`cls(*args)` or `cls.__new__(cls, *args)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CallKind {
    Reduce,
    NewObj,
    NewObjEx,
    Obj,
    Inst,
}

impl CallKind {
    pub(crate) fn opcode(self) -> &'static str {
        match self {
            CallKind::Reduce => "REDUCE",
            CallKind::NewObj => "NEWOBJ",
            CallKind::NewObjEx => "NEWOBJ_EX",
            CallKind::Obj => "OBJ",
            CallKind::Inst => "INST",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SeqKind {
    List,
    Tuple,
    Set,
    FrozenSet,
}

#[derive(Debug)]
pub(crate) struct Global {
    pub module: Box<str>,
    pub name: Box<str>,
    pub judgement: Judgement,
    /// Offset of the opcode that imported it.
    pub offset: usize,
    /// Set once the global was judged as called or instantiated, so that its import is
    /// not reported a second time.
    pub consumed: bool,
    /// The resolver call that produced it (`numpy.core._ufunc_reconstruct('os', 'system')`).
    pub via: Option<Slot>,
}

impl Global {
    pub(crate) fn special(&self) -> Option<Special> {
        self.judgement.special
    }
}

#[derive(Debug)]
pub(crate) struct Call {
    pub kind: CallKind,
    pub callee: Slot,
    pub args: Slot,
    pub kwargs: Option<Slot>,
    /// States given by BUILD, oldest first (bounded).
    pub states: Vec<Slot>,
}

/// Most BUILD states kept per object; later ones replace the newest.
const MAX_STATES: usize = 4;

#[derive(Debug)]
pub(crate) enum Value {
    /// Text decoded from protocol 0 (STRING escapes, UNICODE raw-unicode-escape).
    Text(Box<str>),
    Seq {
        kind: SeqKind,
        items: Vec<Slot>,
        len: u64,
    },
    Dict {
        entries: Vec<(Slot, Slot)>,
        len: u64,
        /// The first dunder key (`__setstate__`) set, if any: what BUILD checks.
        dunder_key: Option<Slot>,
    },
    Global(Global),
    Call(Call),
    Persistent(Slot),
    Ext(i64),
    /// A value the machine cannot know: an out-of-band buffer, an array joblib read inline,
    /// the result of a nested pickle.
    Opaque(&'static str),
}

/// Items a container keeps unconditionally. Beyond it only non-literal items are kept
/// (they are what analysis needs); inert literals are counted and dropped, so a pickled
/// list of ten million floats costs nothing.
const KEEP_LITERALS: usize = 16;

/// The machine's object store; `entries` counts everything held, for the memory limit.
#[derive(Debug, Default)]
pub(crate) struct Heap {
    values: Vec<Value>,
    entries: usize,
}

impl Heap {
    pub(crate) fn entries(&self) -> usize {
        self.entries
    }

    pub(crate) fn alloc(&mut self, value: Value) -> Slot {
        let id = Id::try_from(self.values.len()).unwrap_or(Id::MAX);
        self.entries = self.entries.saturating_add(1);
        self.values.push(value);
        Slot::Ref(id)
    }

    pub(crate) fn get(&self, slot: Slot) -> Option<&Value> {
        match slot {
            Slot::Ref(id) => self.values.get(id as usize),
            _ => None,
        }
    }

    pub(crate) fn get_mut(&mut self, slot: Slot) -> Option<&mut Value> {
        match slot {
            Slot::Ref(id) => self.values.get_mut(id as usize),
            _ => None,
        }
    }

    pub(crate) fn by_id(&self, id: usize) -> Option<&Value> {
        self.values.get(id)
    }

    pub(crate) fn global(&self, slot: Slot) -> Option<&Global> {
        match self.get(slot) {
            Some(Value::Global(global)) => Some(global),
            _ => None,
        }
    }

    pub(crate) fn call(&self, slot: Slot) -> Option<&Call> {
        match self.get(slot) {
            Some(Value::Call(call)) => Some(call),
            _ => None,
        }
    }

    /// Inert: a literal that cannot matter to analysis beyond its rendering. Strings
    /// matter only as dict keys that look special (`__setstate__` in a BUILD state), so
    /// `key_data` is the input when `slot` is a dict key.
    fn inert(&self, slot: Slot, key_data: Option<&[u8]>) -> bool {
        let special_key = |text: &[u8]| key_data.is_some() && text.starts_with(b"__");
        match slot {
            Slot::Str(span) | Slot::LegacyStr(span) => {
                !special_key(span.of(key_data.unwrap_or_default()))
            }
            Slot::Ref(_) => match self.get(slot) {
                Some(Value::Text(text)) => !special_key(text.as_bytes()),
                _ => false,
            },
            _ => true,
        }
    }

    pub(crate) fn seq(&mut self, kind: SeqKind, items: &[Slot]) -> Slot {
        let id = self.alloc(Value::Seq {
            kind,
            items: Vec::new(),
            len: 0,
        });
        self.extend(id, items);
        id
    }

    /// Appends to a list/tuple/set value; returns false when `target` is not one.
    pub(crate) fn extend(&mut self, target: Slot, new: &[Slot]) -> bool {
        if !matches!(self.get(target), Some(Value::Seq { .. })) {
            return false;
        }
        for &slot in new {
            let non_literal = !self.inert(slot, None);
            if let Some(Value::Seq { items, len, .. }) = self.get_mut(target) {
                *len = len.saturating_add(1);
                if non_literal || items.len() < KEEP_LITERALS {
                    items.push(slot);
                    self.entries = self.entries.saturating_add(1);
                }
            }
        }
        true
    }

    pub(crate) fn dict(&mut self) -> Slot {
        self.alloc(Value::Dict {
            entries: Vec::new(),
            len: 0,
            dunder_key: None,
        })
    }

    /// Sets items of a dict value from `key, value, key, value, ...`; returns false when
    /// `target` is not a dict.
    pub(crate) fn set_items(&mut self, target: Slot, pairs: &[Slot], data: &[u8]) -> bool {
        if !matches!(self.get(target), Some(Value::Dict { .. })) {
            return false;
        }
        for kv in pairs.chunks_exact(2) {
            let (key, value) = (kv[0], kv[1]);
            let non_literal = !self.inert(key, Some(data)) || !self.inert(value, None);
            let dunder = non_literal && self.text_matches(key, data, crate::names::is_dunder);
            if let Some(Value::Dict {
                entries,
                len,
                dunder_key,
            }) = self.get_mut(target)
            {
                if dunder && dunder_key.is_none() {
                    *dunder_key = Some(key);
                }
                *len = len.saturating_add(1);
                if non_literal || entries.len() < KEEP_LITERALS {
                    entries.push((key, value));
                    self.entries = self.entries.saturating_add(1);
                }
            }
        }
        true
    }

    pub(crate) fn add_state(&mut self, target: Slot, state: Slot) {
        if let Some(Value::Call(call)) = self.get_mut(target) {
            if call.states.len() == MAX_STATES {
                call.states.pop();
            }
            call.states.push(state);
        }
    }

    /// The items of a tuple or list (as kept), for reading call arguments.
    pub(crate) fn items(&self, slot: Slot) -> Option<&[Slot]> {
        match self.get(slot) {
            Some(Value::Seq { items, .. }) => Some(items),
            _ => None,
        }
    }

    pub(crate) fn arg(&self, args: Slot, index: usize) -> Option<Slot> {
        self.items(args).and_then(|items| items.get(index)).copied()
    }

    pub(crate) fn entries_of(&self, slot: Slot) -> Option<&[(Slot, Slot)]> {
        match self.get(slot) {
            Some(Value::Dict { entries, .. }) => Some(entries),
            _ => None,
        }
    }

    /// A literal string (any str flavour), decoded.
    pub(crate) fn text<'a>(
        &'a self,
        slot: Slot,
        data: &'a [u8],
    ) -> Option<std::borrow::Cow<'a, str>> {
        match slot {
            Slot::Str(span) => Some(String::from_utf8_lossy(span.of(data))),
            Slot::LegacyStr(span) => Some(span.of(data).iter().map(|&b| char::from(b)).collect()),
            Slot::Ref(_) => match self.get(slot) {
                Some(Value::Text(text)) => Some(std::borrow::Cow::Borrowed(text)),
                _ => None,
            },
            _ => None,
        }
    }

    /// The byte length of a literal string, without decoding it.
    pub(crate) fn text_len(&self, slot: Slot) -> Option<usize> {
        match slot {
            Slot::Str(span) | Slot::LegacyStr(span) => Some(span.end.saturating_sub(span.start)),
            Slot::Ref(_) => match self.get(slot) {
                Some(Value::Text(text)) => Some(text.len()),
                _ => None,
            },
            _ => None,
        }
    }

    /// Whether `slot` is a literal string satisfying `test`. Long strings never do: the
    /// tests are about short names.
    pub(crate) fn text_matches(
        &self,
        slot: Slot,
        data: &[u8],
        test: impl Fn(&str) -> bool,
    ) -> bool {
        const LONGEST_NAME: usize = 256;
        self.text_len(slot).is_some_and(|len| len <= LONGEST_NAME)
            && self.text(slot, data).is_some_and(|text| test(&text))
    }

    /// The dunder key a dict value was given, if any.
    pub(crate) fn dunder_key(&self, dict: Slot) -> Option<Slot> {
        match self.get(dict) {
            Some(Value::Dict { dunder_key, .. }) => *dunder_key,
            _ => None,
        }
    }

    /// Looks a string key up in a small dict value (as kept).
    pub(crate) fn dict_get(&self, dict: Slot, key: &str, data: &[u8]) -> Option<Slot> {
        self.entries_of(dict)?
            .iter()
            .rev()
            .find(|(k, _)| self.text_matches(*k, data, |k| k == key))
            .map(|(_, v)| *v)
    }

    /// The class whose instance `slot` is, when it was built by instantiating a global:
    /// `Cls(...)`, `Cls.__new__(Cls)`, `copyreg._reconstructor(Cls, ...)`.
    pub(crate) fn instance_class(&self, slot: Slot) -> Option<&Global> {
        let call = self.call(slot)?;
        let callee = self.global(call.callee)?;
        match callee.special() {
            Some(Special::Reconstructor) => self.global(self.arg(call.args, 0)?),
            Some(Special::Runs { instantiates, .. }) if instantiates.first() == Some(&0) => {
                self.global(self.arg(call.args, 0)?)
            }
            _ => Some(callee),
        }
    }
}

/// Renders values as Python-ish text for evidence, bounded in depth and length.
pub(crate) struct Renderer<'a> {
    pub heap: &'a Heap,
    pub data: &'a [u8],
}

const MAX_DEPTH: usize = 6;
const MAX_ITEMS: usize = 8;
const MAX_LITERAL: usize = 160;
const MAX_EVIDENCE: usize = 600;

impl Renderer<'_> {
    pub(crate) fn render(&self, slot: Slot) -> String {
        let mut out = String::new();
        self.write(&mut out, slot, 0);
        truncate(&mut out, MAX_EVIDENCE);
        out
    }

    fn write(&self, out: &mut String, slot: Slot, depth: usize) {
        if depth > MAX_DEPTH || out.len() > MAX_EVIDENCE {
            out.push_str("...");
            return;
        }
        match slot {
            Slot::None => out.push_str("None"),
            Slot::Bool(b) => out.push_str(if b { "True" } else { "False" }),
            Slot::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Slot::BigInt(span) => {
                let _ = write!(out, "<{}-byte int>", span.end.saturating_sub(span.start));
            }
            Slot::BigText(span) => out.push_str(&String::from_utf8_lossy(span.of(self.data))),
            Slot::Float(f) => write_float(out, f),
            Slot::Str(span) => write_str(
                out,
                &String::from_utf8_lossy(literal_prefix(span.of(self.data))),
            ),
            Slot::LegacyStr(span) => {
                let text: String = literal_prefix(span.of(self.data))
                    .iter()
                    .map(|&b| char::from(b))
                    .collect();
                write_str(out, &text);
            }
            Slot::Bytes(span) => write_bytes(out, "b", span.of(self.data)),
            Slot::ByteArray(span) => {
                write_bytes(out, "bytearray(b", span.of(self.data));
                out.push(')');
            }
            Slot::Ref(_) => self.write_value(out, slot, depth),
        }
    }

    fn write_value(&self, out: &mut String, slot: Slot, depth: usize) {
        let Some(value) = self.heap.get(slot) else {
            out.push('?');
            return;
        };
        match value {
            Value::Text(text) => write_str(out, text),
            Value::Seq { kind, items, len } => {
                let (open, close) = match kind {
                    SeqKind::List => ("[", "]"),
                    SeqKind::Tuple => ("(", ")"),
                    SeqKind::Set if *len == 0 => ("set(", ")"),
                    SeqKind::Set => ("{", "}"),
                    SeqKind::FrozenSet => ("frozenset({", "})"),
                };
                out.push_str(open);
                self.write_items(out, items, *len, depth);
                if *kind == SeqKind::Tuple && *len == 1 {
                    out.push(',');
                }
                out.push_str(close);
            }
            Value::Dict { entries, len, .. } => {
                out.push('{');
                for (i, (k, v)) in entries.iter().take(MAX_ITEMS).enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    self.write(out, *k, depth + 1);
                    out.push_str(": ");
                    self.write(out, *v, depth + 1);
                }
                if *len > entries.len().min(MAX_ITEMS) as u64 {
                    out.push_str(", ...");
                }
                out.push('}');
            }
            Value::Global(global) => match global.via {
                Some(via) => self.write(out, via, depth + 1),
                None => {
                    out.push_str(&global.module);
                    out.push('.');
                    out.push_str(&global.name);
                }
            },
            Value::Call(call) => self.write_call(out, call, depth),
            Value::Persistent(pid) => {
                out.push_str("persistent_load(");
                self.write(out, *pid, depth + 1);
                out.push(')');
            }
            Value::Ext(code) => {
                let _ = write!(out, "<copyreg extension {code}>");
            }
            Value::Opaque(what) => {
                let _ = write!(out, "<{what}>");
            }
        }
    }

    fn write_items(&self, out: &mut String, items: &[Slot], len: u64, depth: usize) {
        for (i, item) in items.iter().take(MAX_ITEMS).enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            self.write(out, *item, depth + 1);
        }
        if len > items.len().min(MAX_ITEMS) as u64 {
            out.push_str(", ...");
        }
    }

    fn write_call(&self, out: &mut String, call: &Call, depth: usize) {
        if depth > MAX_DEPTH {
            out.push_str("...");
            return;
        }
        self.write(out, call.callee, depth + 1);
        if matches!(call.kind, CallKind::NewObj | CallKind::NewObjEx) {
            out.push_str(".__new__(");
            self.write(out, call.callee, depth + 1);
            if self
                .heap
                .items(call.args)
                .is_some_and(|items| !items.is_empty())
            {
                out.push_str(", ");
            }
        } else {
            out.push('(');
        }
        match self.heap.get(call.args) {
            Some(Value::Seq { items, len, .. }) => self.write_items(out, items, *len, depth),
            _ => {
                out.push('*');
                self.write(out, call.args, depth + 1);
            }
        }
        if let Some(kwargs) = call.kwargs {
            out.push_str(", **");
            self.write(out, kwargs, depth + 1);
        }
        out.push(')');
    }
}

fn truncate(out: &mut String, max: usize) {
    if out.len() > max {
        let mut cut = max;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push_str("...");
    }
}

/// Enough of a long literal to render its first [`MAX_LITERAL`] characters (and know
/// that more follow) without decoding all of it.
fn literal_prefix(bytes: &[u8]) -> &[u8] {
    bytes.get(..MAX_LITERAL * 4 + 4).unwrap_or(bytes)
}

fn write_float(out: &mut String, f: f64) {
    if f.is_nan() {
        out.push_str("nan");
    } else if f.is_infinite() {
        out.push_str(if f > 0.0 { "inf" } else { "-inf" });
    } else if f.fract() == 0.0 && f.abs() < 1e16 {
        let _ = write!(out, "{f:.1}");
    } else {
        let _ = write!(out, "{f}");
    }
}

fn write_str(out: &mut String, text: &str) {
    out.push('\'');
    for (count, c) in text.chars().enumerate() {
        if count == MAX_LITERAL {
            out.push_str("...");
            break;
        }
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || c == '\u{fffd}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('\'');
}

fn write_bytes(out: &mut String, prefix: &str, bytes: &[u8]) {
    out.push_str(prefix);
    out.push('\'');
    for &b in bytes.iter().take(MAX_LITERAL) {
        match b {
            b'\'' => out.push_str("\\'"),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    if bytes.len() > MAX_LITERAL {
        out.push_str("...");
    }
    out.push('\'');
}
