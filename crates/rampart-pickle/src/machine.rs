//! The symbolic pickle machine: every opcode of protocols 0-5 run against abstract values,
//! with the stack, mark stack and memo of CPython's unpickler. It never imports or calls
//! anything; it records what loading would import and call and judges each by the policy.

use std::collections::{HashMap, HashSet};

use rampart_core::{Finding, Limits, Location, Severity, rules as core_rules};

use crate::joblib;
use crate::policy::{Policy, Special, Use, Verdict};
use crate::report::Reporter;
use crate::rules::{
    BUILD_HIJACK, DISALLOWED_CALL, DISALLOWED_IMPORT, DUNDER_ACCESS, DYNAMIC_GLOBAL,
    EXTENSION_REGISTRY, NESTED_PICKLE,
};
use crate::text::{self, Integer};
use crate::value::{Call, CallKind, Global, Heap, Renderer, SeqKind, Slot, Span, Value};

/// The highest protocol CPython knows; PROTO above it fails to load.
const HIGHEST_PROTOCOL: u8 = 5;

/// `torch.serialization.MAGIC_NUMBER` (0x1950a86a20f9469cfc6c) as LONG1 bytes and as text.
const TORCH_MAGIC_LE: [u8; 10] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
const TORCH_MAGIC_TEXT: &[u8] = b"119547037146038801333356";

/// State shared by every machine of one scan, nested pickles included.
pub(crate) struct Ctx<'p> {
    pub policy: &'p Policy,
    pub limits: &'p Limits,
    pub location: &'p Location,
    pub opcodes_left: u64,
    /// Set once a joblib inline array was read.
    pub joblib_arrays: bool,
    /// Content sniffing: names must be identifiers, nothing nested is followed.
    pub sniff: bool,
}

/// Where a machine's bytes sit, for locating its findings.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Origin {
    /// Offset of the machine's `data[0]` relative to the scan's location.
    pub base: usize,
    /// For bytes decoded from a string rather than sliced from the input: where that
    /// string is. Inner offsets are then only mentioned in messages.
    pub decoded_at: Option<usize>,
    /// Where the scanned slice starts inside its member (the location's own offset, e.g.
    /// after a NumPy header), so messages give the same byte numbers as locations.
    pub location_base: usize,
}

impl Origin {
    fn absolute(&self, offset: usize) -> usize {
        self.decoded_at
            .unwrap_or_else(|| self.base.saturating_add(offset))
    }

    /// `byte 12`, or `byte 3 of the pickle decoded from the string at byte 40`.
    fn describe(&self, offset: usize) -> String {
        match self.decoded_at {
            None => format!(
                "byte {}",
                self.base
                    .saturating_add(offset)
                    .saturating_add(self.location_base)
            ),
            Some(at) => format!(
                "byte {offset} of the pickle decoded from the string at byte {}",
                at.saturating_add(self.location_base)
            ),
        }
    }
}

/// Where the input ended mid-pickle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cut {
    /// Between opcodes or inside a length-prefixed argument.
    Argument,
    /// Inside a newline-terminated text argument.
    Line,
}

/// Why a pickle stopped before STOP.
#[derive(Debug)]
pub(crate) enum Failure {
    Malformed {
        offset: usize,
        message: String,
        /// The input ended: more bytes might have completed it.
        cut: Option<Cut>,
    },
    Limit {
        offset: usize,
        message: String,
    },
    /// A nested stream failed and reported why.
    Reported {
        offset: usize,
    },
}

impl Failure {
    fn offset(&self) -> usize {
        match self {
            Failure::Malformed { offset, .. }
            | Failure::Limit { offset, .. }
            | Failure::Reported { offset } => *offset,
        }
    }
}

/// How one pickle ended.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// Offset after STOP, or where parsing failed (relative to the machine's data).
    pub end: usize,
    pub completed: bool,
    pub truncated: Option<Cut>,
    pub protocol: Option<u8>,
    pub torch_magic: bool,
}

/// Memo entries; keys a pickler writes (0, 1, 2, ...) go to a vector, others to a map.
#[derive(Default)]
struct Memo {
    dense: Vec<Slot>,
    sparse: HashMap<u64, Slot>,
}

impl Memo {
    fn len(&self) -> usize {
        self.dense.len() + self.sparse.len()
    }

    fn get(&self, key: u64) -> Option<Slot> {
        match usize::try_from(key) {
            Ok(index) if index < self.dense.len() => self.dense.get(index).copied(),
            _ => self.sparse.get(&key).copied(),
        }
    }

    fn put(&mut self, key: u64, slot: Slot) {
        match usize::try_from(key) {
            Ok(index) if index < self.dense.len() => {
                if let Some(entry) = self.dense.get_mut(index) {
                    *entry = slot;
                }
            }
            Ok(index) if index == self.dense.len() => {
                self.sparse.remove(&key);
                self.dense.push(slot);
            }
            _ => {
                self.sparse.insert(key, slot);
            }
        }
    }
}

/// How a global is run, which decides what its verdict means (a global that is only
/// imported is reported at the end of the pickle instead).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Call,
    /// `cls.__new__(cls)` plus state restoration: the class's `__init__` does not run.
    Instantiate,
}

type Step<T> = Result<T, Failure>;

pub(crate) struct Machine<'d, 'c, 'p> {
    data: &'d [u8],
    pos: usize,
    origin: Origin,
    depth: usize,
    memory_limit: usize,
    stack: Vec<Slot>,
    marks: Vec<usize>,
    memo: Memo,
    heap: Heap,
    /// Heap ids of every imported global, for the import report at the end.
    globals: Vec<usize>,
    /// Nested pickles already scanned, by source: one payload called a thousand times is
    /// scanned once.
    nested_sources: HashSet<(usize, usize)>,
    protocol: Option<u8>,
    ctx: &'c mut Ctx<'p>,
    reporter: &'c mut Reporter,
}

impl<'d, 'c, 'p> Machine<'d, 'c, 'p> {
    pub(crate) fn new(
        data: &'d [u8],
        origin: Origin,
        depth: usize,
        memory_limit: usize,
        ctx: &'c mut Ctx<'p>,
        reporter: &'c mut Reporter,
    ) -> Self {
        Machine {
            data,
            pos: 0,
            origin,
            depth,
            memory_limit,
            stack: Vec::new(),
            marks: Vec::new(),
            memo: Memo::default(),
            heap: Heap::default(),
            globals: Vec::new(),
            nested_sources: HashSet::new(),
            protocol: None,
            ctx,
            reporter,
        }
    }

    /// Runs one pickle to its STOP (or failure) and reports what it found.
    pub(crate) fn run(mut self) -> Outcome {
        let result = self.execute();
        self.report_imports();
        let (end, completed, truncated, torch_magic) = match result {
            Ok(root) => (self.pos, true, None, self.is_torch_magic(root)),
            Err(failure) => {
                let end = failure.offset();
                let truncated = match failure {
                    Failure::Malformed { cut, .. } => cut,
                    _ => None,
                };
                self.report_failure(failure);
                (end, false, truncated, false)
            }
        };
        Outcome {
            end,
            completed,
            truncated,
            protocol: self.protocol,
            torch_magic,
        }
    }

    fn memory_used(&self) -> usize {
        self.stack
            .len()
            .saturating_add(self.marks.len())
            .saturating_add(self.memo.len())
            .saturating_add(self.heap.entries())
    }

    fn execute(&mut self) -> Step<Slot> {
        loop {
            let at = self.pos;
            let Some(&op) = self.data.get(at) else {
                return Err(self.truncated(at, "the pickle ends without a STOP opcode".to_owned()));
            };
            if self.ctx.opcodes_left == 0 {
                return Err(Failure::Limit {
                    offset: at,
                    message: format!(
                        "stopped at {} after max_pickle_opcodes = {} opcodes; the rest of the pickle was not scanned",
                        self.origin.describe(at),
                        self.ctx.limits.max_pickle_opcodes
                    ),
                });
            }
            if self.memory_used() > self.memory_limit {
                return Err(Failure::Limit {
                    offset: at,
                    message: format!(
                        "stopped at {}: the pickle holds more than max_pickle_memory_entries = {} stack, memo and \
                         object entries; the rest was not scanned",
                        self.origin.describe(at),
                        self.ctx.limits.max_pickle_memory_entries
                    ),
                });
            }
            self.ctx.opcodes_left -= 1;
            self.pos = at + 1;
            if let Some(root) = self.step(op, at)? {
                return Ok(root);
            }
        }
    }

    /// Executes one opcode; returns the pickle's value at STOP.
    fn step(&mut self, op: u8, at: usize) -> Step<Option<Slot>> {
        match op {
            b'(' => self.marks.push(self.stack.len()),
            b'.' => return self.pop(op, at).map(Some),
            b'0' => {
                // CPython pops the mark when the stack above it is empty.
                if self.marks.last() == Some(&self.stack.len()) {
                    self.marks.pop();
                } else {
                    self.pop(op, at)?;
                }
            }
            b'1' => {
                self.pop_mark(op, at)?;
            }
            b'2' => {
                let top = self.top(op, at)?;
                self.stack.push(top);
            }
            b'F' => {
                let line = self.line(op, at)?;
                let value = text::parse_float(line)
                    .ok_or_else(|| self.bad_text(op, at, "a float", line))?;
                self.stack.push(Slot::Float(value));
            }
            b'I' => {
                let start = self.pos;
                let line = self.line(op, at)?;
                let slot = match line {
                    b"00" => Slot::Bool(false),
                    b"01" => Slot::Bool(true),
                    _ => self.int_slot(op, at, line, start)?,
                };
                self.stack.push(slot);
            }
            b'L' => {
                let start = self.pos;
                let line = self.line(op, at)?;
                let digits = line.strip_suffix(b"L").unwrap_or(line);
                let slot = self.int_slot(op, at, digits, start)?;
                self.stack.push(slot);
            }
            b'J' => {
                let value = i32::from_le_bytes(self.array(op, at)?);
                self.stack.push(Slot::Int(i64::from(value)));
            }
            b'K' => {
                let [value] = self.array(op, at)?;
                self.stack.push(Slot::Int(i64::from(value)));
            }
            b'M' => {
                let value = u16::from_le_bytes(self.array(op, at)?);
                self.stack.push(Slot::Int(i64::from(value)));
            }
            0x8a => {
                let [n] = self.array(op, at)?;
                let span = self.span(op, at, usize::from(n))?;
                self.stack.push(long_slot(span, self.data));
            }
            0x8b => {
                let n = i32::from_le_bytes(self.array(op, at)?);
                let n = usize::try_from(n)
                    .map_err(|_| self.malformed(op, at, "a negative byte count"))?;
                let span = self.span(op, at, n)?;
                self.stack.push(long_slot(span, self.data));
            }
            b'N' => self.stack.push(Slot::None),
            0x88 => self.stack.push(Slot::Bool(true)),
            0x89 => self.stack.push(Slot::Bool(false)),
            b'G' => {
                let value = f64::from_be_bytes(self.array(op, at)?);
                self.stack.push(Slot::Float(value));
            }
            b'S' => {
                let start = self.pos;
                let line = self.line(op, at)?;
                let slot = self.quoted_string(op, at, line, start)?;
                self.stack.push(slot);
            }
            b'T' => {
                let n = i32::from_le_bytes(self.array(op, at)?);
                let n = usize::try_from(n)
                    .map_err(|_| self.malformed(op, at, "a negative byte count"))?;
                let span = self.span(op, at, n)?;
                self.stack.push(Slot::LegacyStr(span));
            }
            b'U' => {
                let [n] = self.array(op, at)?;
                let span = self.span(op, at, usize::from(n))?;
                self.stack.push(Slot::LegacyStr(span));
            }
            b'V' => {
                let start = self.pos;
                let line = self.line(op, at)?;
                let slot = if line.is_ascii() && !line.contains(&b'\\') {
                    Slot::Str(Span {
                        start,
                        end: start + line.len(),
                    })
                } else {
                    let decoded = text::raw_unicode_escape(line)
                        .ok_or_else(|| self.bad_text(op, at, "raw-unicode-escape text", line))?;
                    self.heap.alloc(Value::Text(decoded.into()))
                };
                self.stack.push(slot);
            }
            b'X' => {
                let n = u32::from_le_bytes(self.array(op, at)?);
                let span = self.span(op, at, n as usize)?;
                self.stack.push(Slot::Str(span));
            }
            0x8c => {
                let [n] = self.array(op, at)?;
                let span = self.span(op, at, usize::from(n))?;
                self.stack.push(Slot::Str(span));
            }
            0x8d => {
                let n = self.length8(op, at)?;
                let span = self.span(op, at, n)?;
                self.stack.push(Slot::Str(span));
            }
            b'B' => {
                let n = u32::from_le_bytes(self.array(op, at)?);
                let span = self.span(op, at, n as usize)?;
                self.stack.push(Slot::Bytes(span));
            }
            b'C' => {
                let [n] = self.array(op, at)?;
                let span = self.span(op, at, usize::from(n))?;
                self.stack.push(Slot::Bytes(span));
            }
            0x8e => {
                let n = self.length8(op, at)?;
                let span = self.span(op, at, n)?;
                self.stack.push(Slot::Bytes(span));
            }
            0x96 => {
                let n = self.length8(op, at)?;
                let span = self.span(op, at, n)?;
                self.stack.push(Slot::ByteArray(span));
            }
            0x97 => {
                let buffer = self.heap.alloc(Value::Opaque("out-of-band buffer"));
                self.stack.push(buffer);
            }
            0x98 => {
                self.top(op, at)?;
            }
            b')' => {
                let tuple = self.heap.seq(SeqKind::Tuple, &[]);
                self.stack.push(tuple);
            }
            b']' => {
                let list = self.heap.seq(SeqKind::List, &[]);
                self.stack.push(list);
            }
            b'}' => {
                let dict = self.heap.dict();
                self.stack.push(dict);
            }
            0x8f => {
                let set = self.heap.seq(SeqKind::Set, &[]);
                self.stack.push(set);
            }
            b't' | b'l' | 0x91 => {
                let items = self.pop_mark(op, at)?;
                let kind = match op {
                    b't' => SeqKind::Tuple,
                    b'l' => SeqKind::List,
                    _ => SeqKind::FrozenSet,
                };
                let seq = self.heap.seq(kind, &items);
                self.stack.push(seq);
            }
            0x85..=0x87 => {
                let n = usize::from(op - 0x84);
                let items = self.pop_n(op, at, n)?;
                let tuple = self.heap.seq(SeqKind::Tuple, &items);
                self.stack.push(tuple);
            }
            b'd' => {
                let items = self.pop_mark(op, at)?;
                if items.len() % 2 != 0 {
                    return Err(self.malformed(
                        op,
                        at,
                        "an odd number of items (keys without values)",
                    ));
                }
                let dict = self.heap.dict();
                self.heap.set_items(dict, &items, self.data);
                self.stack.push(dict);
            }
            b'a' => {
                let value = self.pop(op, at)?;
                let target = self.top(op, at)?;
                self.add_to(op, at, target, &[value])?;
            }
            b'e' => {
                let items = self.pop_mark(op, at)?;
                let target = self.top(op, at)?;
                self.add_to(op, at, target, &items)?;
            }
            0x90 => {
                let items = self.pop_mark(op, at)?;
                let target = self.top(op, at)?;
                self.add_to(op, at, target, &items)?;
            }
            b's' => {
                let value = self.pop(op, at)?;
                let key = self.pop(op, at)?;
                let target = self.top(op, at)?;
                self.set_items(op, at, target, &[key, value])?;
            }
            b'u' => {
                let items = self.pop_mark(op, at)?;
                if items.len() % 2 != 0 {
                    return Err(self.malformed(
                        op,
                        at,
                        "an odd number of items (keys without values)",
                    ));
                }
                let target = self.top(op, at)?;
                self.set_items(op, at, target, &items)?;
            }
            b'g' => {
                let line = self.line(op, at)?;
                let key = self.memo_key(op, at, line)?;
                self.get(op, at, key)?;
            }
            b'h' => {
                let [key] = self.array(op, at)?;
                self.get(op, at, u64::from(key))?;
            }
            b'j' => {
                let key = u32::from_le_bytes(self.array(op, at)?);
                self.get(op, at, u64::from(key))?;
            }
            b'p' => {
                let line = self.line(op, at)?;
                let key = self.memo_key(op, at, line)?;
                self.put(op, at, key)?;
            }
            b'q' => {
                let [key] = self.array(op, at)?;
                self.put(op, at, u64::from(key))?;
            }
            b'r' => {
                let key = u32::from_le_bytes(self.array(op, at)?);
                self.put(op, at, u64::from(key))?;
            }
            0x94 => {
                let key = self.memo.len() as u64;
                self.put(op, at, key)?;
            }
            b'c' => {
                let (module, name) = self.global_lines(op, at)?;
                let global = self.import(op, at, &module, &name, None)?;
                self.stack.push(global);
            }
            0x93 => {
                let name = self.pop(op, at)?;
                let module = self.pop(op, at)?;
                let global = self.stack_global(op, at, module, name)?;
                self.stack.push(global);
            }
            b'i' => {
                let (module, name) = self.global_lines(op, at)?;
                let args = self.pop_mark(op, at)?;
                let class = self.import(op, at, &module, &name, None)?;
                let args = self.heap.seq(SeqKind::Tuple, &args);
                let result = self.call(at, CallKind::Inst, class, args, None)?;
                self.stack.push(result);
            }
            b'o' => {
                let items = self.pop_mark(op, at)?;
                let Some((&class, args)) = items.split_first() else {
                    return Err(self.malformed(op, at, "no class after the MARK"));
                };
                let args = self.heap.seq(SeqKind::Tuple, args);
                let result = self.call(at, CallKind::Obj, class, args, None)?;
                self.stack.push(result);
            }
            b'R' => {
                let args = self.pop(op, at)?;
                let callee = self.pop(op, at)?;
                let result = self.call(at, CallKind::Reduce, callee, args, None)?;
                self.stack.push(result);
            }
            0x81 => {
                let args = self.pop(op, at)?;
                let class = self.pop(op, at)?;
                let result = self.call(at, CallKind::NewObj, class, args, None)?;
                self.stack.push(result);
            }
            0x92 => {
                let kwargs = self.pop(op, at)?;
                let args = self.pop(op, at)?;
                let class = self.pop(op, at)?;
                let result = self.call(at, CallKind::NewObjEx, class, args, Some(kwargs))?;
                self.stack.push(result);
            }
            b'b' => {
                let state = self.pop(op, at)?;
                let target = self.top(op, at)?;
                self.build(at, target, state)?;
            }
            b'P' => {
                let start = self.pos;
                let line = self.line(op, at)?;
                if !line.is_ascii() {
                    return Err(self.bad_text(op, at, "an ASCII persistent id", line));
                }
                let pid = Slot::Str(Span {
                    start,
                    end: start + line.len(),
                });
                let value = self.heap.alloc(Value::Persistent(pid));
                self.stack.push(value);
            }
            b'Q' => {
                let pid = self.pop(op, at)?;
                let value = self.heap.alloc(Value::Persistent(pid));
                self.stack.push(value);
            }
            0x82 => {
                let [code] = self.array(op, at)?;
                self.extension(at, i64::from(code));
            }
            0x83 => {
                let code = u16::from_le_bytes(self.array(op, at)?);
                self.extension(at, i64::from(code));
            }
            0x84 => {
                let code = i32::from_le_bytes(self.array(op, at)?);
                self.extension(at, i64::from(code));
            }
            0x80 => {
                let [version] = self.array(op, at)?;
                if version > HIGHEST_PROTOCOL {
                    return Err(self.malformed_message(
                        at,
                        format!(
                            "PROTO at {} declares protocol {version}, which no Python unpickler supports",
                            self.origin.describe(at)
                        ),
                    ));
                }
                self.protocol = self.protocol.max(Some(version));
            }
            0x95 => {
                let n = self.length8(op, at)?;
                if n > self.data.len() - self.pos {
                    return Err(self.truncated(
                        at,
                        format!(
                            "FRAME at {} declares {n} bytes but only {} remain",
                            self.origin.describe(at),
                            self.data.len() - self.pos
                        ),
                    ));
                }
            }
            _ => {
                return Err(self.malformed_message(
                    at,
                    format!("unknown opcode 0x{op:02x} at {}", self.origin.describe(at)),
                ));
            }
        }
        Ok(None)
    }

    // ----- reading arguments -------------------------------------------------------------

    fn array<const N: usize>(&mut self, op: u8, at: usize) -> Step<[u8; N]> {
        let span = self.span(op, at, N)?;
        span.of(self.data)
            .try_into()
            .map_err(|_| self.malformed(op, at, "a short argument"))
    }

    /// The next `n` bytes as a span, checked against the input.
    fn span(&mut self, op: u8, at: usize, n: usize) -> Step<Span> {
        let remaining = self.data.len() - self.pos;
        if n > remaining {
            return Err(self.truncated(
                at,
                format!(
                    "{} at {} needs {n} bytes of argument but only {remaining} remain",
                    opcode_name(op),
                    self.origin.describe(at)
                ),
            ));
        }
        let span = Span {
            start: self.pos,
            end: self.pos + n,
        };
        self.pos += n;
        Ok(span)
    }

    fn length8(&mut self, op: u8, at: usize) -> Step<usize> {
        let n = u64::from_le_bytes(self.array(op, at)?);
        usize::try_from(n).map_err(|_| {
            self.truncated(
                at,
                format!(
                    "{} at {} declares {n} bytes, more than can exist",
                    opcode_name(op),
                    self.origin.describe(at)
                ),
            )
        })
    }

    /// A newline-terminated text argument, without the newline.
    fn line(&mut self, op: u8, at: usize) -> Step<&'d [u8]> {
        let rest = self.data.get(self.pos..).unwrap_or_default();
        let Some(newline) = memchr::memchr(b'\n', rest) else {
            return Err(Failure::Malformed {
                offset: at,
                message: format!(
                    "{} at {} has a text argument without its terminating newline",
                    opcode_name(op),
                    self.origin.describe(at)
                ),
                cut: Some(Cut::Line),
            });
        };
        self.pos += newline + 1;
        Ok(rest.get(..newline).unwrap_or_default())
    }

    fn int_slot(&mut self, op: u8, at: usize, digits: &[u8], start: usize) -> Step<Slot> {
        match text::parse_int(digits, true) {
            Some(Integer::Small(value)) => Ok(Slot::Int(value)),
            Some(Integer::Big) => Ok(Slot::BigText(Span {
                start,
                end: start + digits.len(),
            })),
            None => Err(self.bad_text(op, at, "an integer", digits)),
        }
    }

    fn memo_key(&self, op: u8, at: usize, line: &[u8]) -> Step<u64> {
        match text::parse_int(line, false) {
            Some(Integer::Small(key)) if key >= 0 => Ok(key.unsigned_abs()),
            Some(Integer::Small(_)) => Err(self.malformed(op, at, "a negative memo key")),
            _ => Err(self.bad_text(op, at, "a memo key", line)),
        }
    }

    /// STRING: `'...'` or `"..."` with Python escapes.
    fn quoted_string(&mut self, op: u8, at: usize, line: &[u8], start: usize) -> Step<Slot> {
        let inner = match line {
            [q, inner @ .., last] if (*q == b'\'' || *q == b'"') && q == last => inner,
            _ => return Err(self.bad_text(op, at, "a quoted string", line)),
        };
        if !inner.contains(&b'\\') {
            return Ok(Slot::LegacyStr(Span {
                start: start + 1,
                end: start + 1 + inner.len(),
            }));
        }
        let decoded = text::escape_decode(inner)
            .ok_or_else(|| self.bad_text(op, at, "a string with valid escapes", line))?;
        let text: String = decoded.iter().map(|&b| char::from(b)).collect();
        Ok(self.heap.alloc(Value::Text(text.into())))
    }

    /// GLOBAL/INST: `module\nname\n`, UTF-8.
    fn global_lines(&mut self, op: u8, at: usize) -> Step<(String, String)> {
        let module = self.line(op, at)?;
        if self.ctx.sniff
            && !std::str::from_utf8(module).is_ok_and(crate::names::is_dotted_identifier)
        {
            return Err(self.malformed(op, at, "a module name that is not a dotted identifier"));
        }
        let name = self.line(op, at)?;
        let decode = |bytes: &[u8]| std::str::from_utf8(bytes).map(str::to_owned);
        match (decode(module), decode(name)) {
            (Ok(module), Ok(name)) => Ok((module, name)),
            _ => Err(self.malformed(op, at, "a module or name that is not valid UTF-8")),
        }
    }

    // ----- the stack ---------------------------------------------------------------------

    /// Values at or below the last MARK belong to an outer frame.
    fn fence(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    fn pop(&mut self, op: u8, at: usize) -> Step<Slot> {
        if self.stack.len() <= self.fence() {
            return Err(self.underflow(op, at));
        }
        self.stack.pop().ok_or_else(|| self.underflow(op, at))
    }

    fn pop_n(&mut self, op: u8, at: usize, n: usize) -> Step<Vec<Slot>> {
        if self.stack.len() < self.fence() + n {
            return Err(self.underflow(op, at));
        }
        Ok(self.stack.split_off(self.stack.len() - n))
    }

    fn top(&self, op: u8, at: usize) -> Step<Slot> {
        if self.stack.len() <= self.fence() {
            return Err(self.underflow(op, at));
        }
        self.stack
            .last()
            .copied()
            .ok_or_else(|| self.underflow(op, at))
    }

    /// Pops everything above the last MARK, and the MARK.
    fn pop_mark(&mut self, op: u8, at: usize) -> Step<Vec<Slot>> {
        let Some(mark) = self.marks.pop() else {
            return Err(self.malformed_message(
                at,
                format!(
                    "{} at {} needs a MARK but none is open",
                    opcode_name(op),
                    self.origin.describe(at)
                ),
            ));
        };
        Ok(self.stack.split_off(mark.min(self.stack.len())))
    }

    fn get(&mut self, op: u8, at: usize, key: u64) -> Step<()> {
        let value = self.memo.get(key).ok_or_else(|| {
            self.malformed_message(
                at,
                format!(
                    "{} at {} reads memo key {key}, which was never stored",
                    opcode_name(op),
                    self.origin.describe(at)
                ),
            )
        })?;
        self.stack.push(value);
        Ok(())
    }

    fn put(&mut self, op: u8, at: usize, key: u64) -> Step<()> {
        let top = self.top(op, at)?;
        self.memo.put(key, top);
        Ok(())
    }

    // ----- containers --------------------------------------------------------------------

    /// APPEND/APPENDS/ADDITEMS: lists and sets grow; instances run their own `append`;
    /// a module-level object is being mutated.
    fn add_to(&mut self, op: u8, at: usize, target: Slot, items: &[Slot]) -> Step<()> {
        if self.heap.extend(target, items) {
            return Ok(());
        }
        self.mutation(op, at, target)
    }

    fn set_items(&mut self, op: u8, at: usize, target: Slot, pairs: &[Slot]) -> Step<()> {
        if self.heap.set_items(target, pairs, self.data) {
            return Ok(());
        }
        self.mutation(op, at, target)
    }

    /// A container opcode on something that is not a plain container.
    fn mutation(&mut self, op: u8, at: usize, target: Slot) -> Step<()> {
        match self.heap.get(target) {
            Some(Value::Global(global)) => {
                let name = global.judgement.canonical.clone();
                let subject = format!("mutate {name}");
                if self.reporter.repeat(&BUILD_HIJACK, &subject) {
                    return Ok(());
                }
                let evidence = self.render(target);
                self.report(
                    Finding::new(
                        &BUILD_HIJACK,
                        self.origin_location(at),
                        format!(
                            "{} at {} mutates the module-level object `{name}` instead of a new container",
                            opcode_name(op),
                            self.origin.describe(at)
                        ),
                    )
                    .with_evidence(evidence),
                    Some(subject),
                );
                Ok(())
            }
            // Instances, persistent objects and unknowns: their class decides, and it was
            // judged when they were created.
            Some(Value::Call(_) | Value::Persistent(_) | Value::Opaque(_) | Value::Ext(_)) => {
                Ok(())
            }
            _ => Err(self.malformed_message(
                at,
                format!(
                    "{} at {} targets {}, which does not support it; loading fails here",
                    opcode_name(op),
                    self.origin.describe(at),
                    self.type_name(target)
                ),
            )),
        }
    }

    // ----- globals -----------------------------------------------------------------------

    /// A literal string used as a module or attribute name. No importable global has a
    /// name this long; refusing it keeps memo-repeated giant names from being copied.
    fn name_text(&self, op: u8, at: usize, slot: Slot) -> Step<Option<String>> {
        const LONGEST_NAME: usize = 4096;
        match self.heap.text_len(slot) {
            Some(len) if len > LONGEST_NAME => Err(self.malformed_message(
                at,
                format!(
                    "{} at {} names a module or attribute of {len} bytes; no importable global has such a name",
                    opcode_name(op),
                    self.origin.describe(at)
                ),
            )),
            Some(_) => Ok(self.heap.text(slot, self.data).map(|t| t.into_owned())),
            None => Ok(None),
        }
    }

    fn stack_global(&mut self, op: u8, at: usize, module: Slot, name: Slot) -> Step<Slot> {
        match (
            self.name_text(op, at, module)?,
            self.name_text(op, at, name)?,
        ) {
            (Some(module), Some(name)) => self.import(op, at, &module, &name, None),
            _ if self.is_literal(module) && self.is_literal(name) => Err(self.malformed_message(
                at,
                format!(
                    "STACK_GLOBAL at {} needs two strings but got {} and {}; loading fails here",
                    self.origin.describe(at),
                    self.type_name(module),
                    self.type_name(name)
                ),
            )),
            _ => {
                let computed = self
                    .heap
                    .alloc(Value::Opaque("global computed at load time"));
                if self.reporter.repeat(&DYNAMIC_GLOBAL, "STACK_GLOBAL") {
                    return Ok(computed);
                }
                let evidence = format!(
                    "<global named by {} and {}>",
                    self.render(module),
                    self.render(name)
                );
                self.report(
                    Finding::new(
                        &DYNAMIC_GLOBAL,
                        self.origin_location(at),
                        format!(
                            "STACK_GLOBAL at {} imports a global whose module or name is computed while loading",
                            self.origin.describe(at)
                        ),
                    )
                    .with_evidence(evidence),
                    Some("STACK_GLOBAL".to_owned()),
                );
                Ok(computed)
            }
        }
    }

    /// Imports `module.name`: judges it, reports dunder paths at once and keeps the rest
    /// for the end (a called global is reported as a call instead).
    fn import(
        &mut self,
        op: u8,
        at: usize,
        module: &str,
        name: &str,
        via: Option<Slot>,
    ) -> Step<Slot> {
        if self.ctx.sniff
            && !(crate::names::is_dotted_identifier(module)
                && crate::names::is_dotted_identifier(name))
        {
            return Err(self.malformed(op, at, "a module or name that is not a dotted identifier"));
        }
        let judgement = self.ctx.policy.judge(module, name);
        let display = judgement.canonical.clone();
        let flagged_path = match &judgement.verdict {
            Verdict::Dunder(component) => Some(format!("the dunder attribute `{component}`")),
            Verdict::AttributeChain => Some(format!("the attribute chain `{name}`")),
            _ => None,
        };
        let global = self.heap.alloc(Value::Global(Global {
            module: module.into(),
            name: name.into(),
            judgement,
            offset: at,
            consumed: false,
            via,
        }));
        if let Slot::Ref(id) = global {
            self.globals.push(id as usize);
        }
        if let Some(path) = flagged_path {
            let evidence = self.render(global);
            self.report(
                Finding::new(
                    &DUNDER_ACCESS,
                    self.origin_location(at),
                    format!(
                        "{} at {} imports `{display}`, which reaches through {path}",
                        opcode_name(op),
                        self.origin.describe(at)
                    ),
                )
                .with_evidence(evidence),
                Some(display),
            );
        }
        Ok(global)
    }

    /// Reports every imported global that was never judged as called.
    fn report_imports(&mut self) {
        for index in 0..self.globals.len() {
            let Some(&id) = self.globals.get(index) else {
                continue;
            };
            let Some(Value::Global(global)) = self.heap.by_id(id) else {
                continue;
            };
            if global.consumed {
                continue;
            }
            let (rule, severity, why) = match &global.judgement.verdict {
                Verdict::Allowed(_) | Verdict::Dunder(_) | Verdict::AttributeChain => continue,
                Verdict::Denied(reason) => (&DISALLOWED_IMPORT, Severity::Critical, format!(", a denylisted global ({reason})")),
                Verdict::Unlisted => (
                    &DISALLOWED_IMPORT,
                    Severity::Medium,
                    ", which is not on the allowlist of ordinary ML pickles; loading imports its module and runs its \
                     top-level code"
                        .to_owned(),
                ),
            };
            let name = global.judgement.canonical.clone();
            let written = written_as(global);
            let at = global.offset;
            let evidence = name.clone();
            let op = self.data.get(at).map_or("opcode", |&op| opcode_name(op));
            let message = format!(
                "{op} at {} imports `{name}`{written}{why}",
                self.origin.describe(at)
            );
            self.report(
                Finding::new(rule, self.origin_location(at), message)
                    .with_severity(severity)
                    .with_evidence(evidence),
                Some(format!("import {name}")),
            );
        }
    }

    fn extension(&mut self, at: usize, code: i64) {
        let value = self.heap.alloc(Value::Ext(code));
        self.stack.push(value);
        self.report(
            Finding::new(
                &EXTENSION_REGISTRY,
                self.origin_location(at),
                format!(
                    "EXT opcode at {} imports extension code {code} through copyreg's registry, which is empty in a \
                     stock Python",
                    self.origin.describe(at)
                ),
            )
            .with_evidence(format!("<copyreg extension {code}>")),
            Some(code.to_string()),
        );
    }

    // ----- calls -------------------------------------------------------------------------

    fn call(
        &mut self,
        at: usize,
        kind: CallKind,
        callee: Slot,
        args: Slot,
        kwargs: Option<Slot>,
    ) -> Step<Slot> {
        let call = self.heap.alloc(Value::Call(Call {
            kind,
            callee,
            args,
            kwargs,
            states: Vec::new(),
        }));
        match self.heap.get(callee) {
            Some(Value::Global(global)) => {
                let special = global.special();
                let allowed = matches!(global.judgement.verdict, Verdict::Allowed(_));
                if special == Some(Special::GetAttr)
                    && kind == CallKind::Reduce
                    && let Some(resolved) = self.class_attribute(at, callee, call, args)?
                {
                    return Ok(resolved);
                }
                let role = match kind {
                    CallKind::NewObj | CallKind::NewObjEx => Role::Instantiate,
                    _ => Role::Call,
                };
                self.judge_use(callee, role, kind.opcode(), at, call);
                match special {
                    Some(special)
                        if matches!(kind, CallKind::Reduce | CallKind::Obj | CallKind::Inst) =>
                    {
                        self.special_call(at, special, allowed, call, args)
                    }
                    _ => Ok(call),
                }
            }
            Some(Value::Call(_) | Value::Persistent(_) | Value::Opaque(_) | Value::Ext(_)) => {
                if self.reporter.repeat(&DISALLOWED_CALL, "computed callee") {
                    return Ok(call);
                }
                let evidence = self.render(call);
                self.report(
                    Finding::new(
                        &DISALLOWED_CALL,
                        self.origin_location(at),
                        format!(
                            "{} at {} calls a value computed while loading, not a named global",
                            kind.opcode(),
                            self.origin.describe(at)
                        ),
                    )
                    .with_evidence(evidence),
                    Some("computed callee".to_owned()),
                );
                Ok(call)
            }
            _ => Err(self.malformed_message(
                at,
                format!(
                    "{} at {} calls {}, which is not callable; loading fails here",
                    kind.opcode(),
                    self.origin.describe(at),
                    self.type_name(callee)
                ),
            )),
        }
    }

    /// Judges a global used as `role` and reports it unless the allowlist covers that use;
    /// `call` is rendered as evidence.
    fn judge_use(&mut self, slot: Slot, role: Role, op: &str, at: usize, call: Slot) {
        let Some(Value::Global(global)) = self.heap.get_mut(slot) else {
            return;
        };
        global.consumed = true;
        let verdict = &global.judgement.verdict;
        let (rule, severity) = match (verdict, role) {
            (Verdict::Allowed(Use::Call), _)
            | (Verdict::Allowed(Use::Instantiate), Role::Instantiate) => return,
            (Verdict::Allowed(_), _) | (Verdict::Unlisted, Role::Call) => {
                (&DISALLOWED_CALL, Severity::High)
            }
            (Verdict::Unlisted, Role::Instantiate) => (&DISALLOWED_IMPORT, Severity::Medium),
            (Verdict::Denied(_) | Verdict::Dunder(_) | Verdict::AttributeChain, _) => {
                (&DISALLOWED_CALL, Severity::Critical)
            }
        };
        let verb = match role {
            Role::Call => "calls",
            Role::Instantiate => "instantiates",
        };
        let name = &global.judgement.canonical;
        let subject = format!("{verb} {name}");
        if self.reporter.repeat(rule, &subject) {
            return;
        }
        let why = match verdict {
            Verdict::Allowed(Use::Instantiate) => {
                ", a class ordinary pickles only instantiate without its constructor, never call".to_owned()
            }
            Verdict::Allowed(_) => ", which ordinary pickles only reference, never call".to_owned(),
            Verdict::Denied(reason) => format!(": {reason}"),
            Verdict::Dunder(component) => format!(", reached through the dunder attribute `{component}`"),
            Verdict::AttributeChain => ", reached through an attribute chain".to_owned(),
            Verdict::Unlisted if role == Role::Instantiate => {
                " without running its constructor; the class is not on the allowlist of ordinary ML pickles, and \
                 loading imports its module and restores the object's state through it"
                    .to_owned()
            }
            Verdict::Unlisted => ", which is not on the allowlist of ordinary ML pickles".to_owned(),
        };
        let message = format!(
            "{op} at {} {verb} `{name}`{}{why}",
            self.origin.describe(at),
            written_as(global)
        );
        let evidence = self.render(call);
        self.report(
            Finding::new(rule, self.origin_location(at), message)
                .with_severity(severity)
                .with_evidence(evidence),
            Some(subject),
        );
    }

    /// Judges a global found in an argument position that runs it.
    fn judge_arg(&mut self, args: Slot, index: usize, role: Role, at: usize, call: Slot) {
        let Some(arg) = self.heap.arg(args, index) else {
            return;
        };
        if self.heap.global(arg).is_some() {
            self.judge_use(arg, role, "REDUCE", at, call);
        }
    }

    /// Calls whose arguments decide what runs.
    fn special_call(
        &mut self,
        at: usize,
        special: Special,
        allowed: bool,
        call: Slot,
        args: Slot,
    ) -> Step<Slot> {
        // Loaders are followed even when denied: their payload is the real story.
        if !allowed && !matches!(special, Special::Loads | Special::Load) {
            return Ok(call);
        }
        match special {
            Special::Reconstructor => {
                self.judge_arg(args, 0, Role::Instantiate, at, call);
                let base = self.heap.arg(args, 1);
                let plain_object = base
                    .and_then(|b| self.heap.global(b))
                    .is_some_and(|g| g.judgement.canonical == "builtins.object");
                if !plain_object {
                    // `base.__init__(obj, state)` runs for any other base.
                    self.judge_arg(args, 1, Role::Call, at, call);
                }
            }
            Special::Runs {
                calls,
                instantiates,
            } => {
                for &index in calls {
                    self.judge_arg(args, index, Role::Call, at, call);
                }
                for &index in instantiates {
                    self.judge_arg(args, index, Role::Instantiate, at, call);
                }
            }
            Special::Resolver => return self.resolve(at, call, args),
            Special::Loads => self.nested_loads(at, call, self.heap.arg(args, 0)),
            Special::Load => {
                // `pickle.load(io.BytesIO(data))`.
                let source = self.heap.arg(args, 0).and_then(|file| {
                    let opened = self.heap.call(file)?;
                    let opener = self.heap.global(opened.callee)?;
                    (opener.special() == Some(Special::BytesIo)).then_some(())?;
                    self.heap.arg(opened.args, 0)
                });
                self.nested_loads(at, call, source);
            }
            Special::GetAttr
            | Special::BytesIo
            | Special::CodecsEncode
            | Special::NumpyDtype
            | Special::JoblibArray
            | Special::JoblibSideFile => {}
        }
        Ok(call)
    }

    /// `getattr(SomeClass, 'name')`, Python's pickling of a bound class method, imports
    /// `SomeClass.name`: judge that global instead of `getattr`. Anything else stays a
    /// call of `builtins.getattr`.
    fn class_attribute(
        &mut self,
        at: usize,
        getattr: Slot,
        call: Slot,
        args: Slot,
    ) -> Step<Option<Slot>> {
        let Some(&[owner, attribute]) = self.heap.items(args) else {
            return Ok(None);
        };
        let Some(owner_global) = self.heap.global(owner) else {
            return Ok(None);
        };
        let module = owner_global.module.to_string();
        let owner_name = owner_global.name.to_string();
        let Some(attribute) = self.name_text(b'R', at, attribute)? else {
            return Ok(None);
        };
        for used in [getattr, owner] {
            if let Some(Value::Global(global)) = self.heap.get_mut(used) {
                global.consumed = true;
            }
        }
        let qualname = format!("{owner_name}.{attribute}");
        self.import(b'R', at, &module, &qualname, Some(call))
            .map(Some)
    }

    /// `_ufunc_reconstruct('module', 'name')` is an import: judge what it resolves to.
    fn resolve(&mut self, at: usize, call: Slot, args: Slot) -> Step<Slot> {
        let module = match self.heap.arg(args, 0) {
            Some(slot) => self.name_text(b'R', at, slot)?,
            None => None,
        };
        let name = match self.heap.arg(args, 1) {
            Some(slot) => self.name_text(b'R', at, slot)?,
            None => None,
        };
        match (module, name) {
            (Some(module), Some(name)) => self.import(b'R', at, &module, &name, Some(call)),
            _ => {
                if self.reporter.repeat(&DYNAMIC_GLOBAL, "resolver") {
                    return Ok(call);
                }
                let evidence = self.render(call);
                self.report(
                    Finding::new(
                        &DYNAMIC_GLOBAL,
                        self.origin_location(at),
                        format!(
                            "REDUCE at {} resolves a global whose module or name is computed while loading",
                            self.origin.describe(at)
                        ),
                    )
                    .with_evidence(evidence),
                    Some("resolver".to_owned()),
                );
                Ok(call)
            }
        }
    }

    // ----- nested pickles ----------------------------------------------------------------

    fn nested_loads(&mut self, at: usize, call: Slot, source: Option<Slot>) {
        if self.ctx.sniff {
            return;
        }
        let Some(source) = source else { return };
        if !self.nested_sources.insert(self.source_key(source)) {
            return;
        }
        match source {
            Slot::Bytes(span) | Slot::ByteArray(span) | Slot::LegacyStr(span) => {
                let origin = Origin {
                    base: self.origin.base.saturating_add(span.start),
                    decoded_at: self.origin.decoded_at,
                    location_base: self.origin.location_base,
                };
                let data = span.of(self.data);
                self.nested(at, Some(call), data, origin);
            }
            _ => {
                let Some(bytes) = self.decoded_bytes(source) else {
                    return;
                };
                let origin = Origin {
                    base: 0,
                    decoded_at: Some(self.origin.absolute(at)),
                    location_base: self.origin.location_base,
                };
                self.nested(at, Some(call), &bytes, origin);
            }
        }
    }

    /// Identifies a nested pickle's source: the literal's byte range, or the heap value
    /// (for `_codecs.encode(text, ...)`, the text's).
    fn source_key(&self, source: Slot) -> (usize, usize) {
        let literal = self
            .heap
            .call(source)
            .filter(|call| {
                self.heap
                    .global(call.callee)
                    .is_some_and(|g| g.special() == Some(Special::CodecsEncode))
            })
            .and_then(|call| self.heap.arg(call.args, 0))
            .unwrap_or(source);
        match literal {
            Slot::Str(span) | Slot::LegacyStr(span) | Slot::Bytes(span) | Slot::ByteArray(span) => {
                (span.start, span.end)
            }
            Slot::Ref(id) => (usize::MAX, id as usize),
            _ => (usize::MAX, usize::MAX),
        }
    }

    /// `_codecs.encode('...', 'latin1')`: the bytes protocol 0-2 pickles write.
    fn decoded_bytes(&self, source: Slot) -> Option<Vec<u8>> {
        let encode = self.heap.call(source)?;
        (self.heap.global(encode.callee)?.special() == Some(Special::CodecsEncode)).then_some(())?;
        let text = self.heap.text(self.heap.arg(encode.args, 0)?, self.data)?;
        text.chars()
            .map(|c| u8::try_from(u32::from(c)).ok())
            .collect()
    }

    /// Scans a nested pickle with a fresh machine sharing this scan's budgets. `call` is
    /// the `pickle.loads(...)` that unpickles it, announced as a nested pickle; joblib's
    /// object arrays are its ordinary layout and need no announcement.
    fn nested(
        &mut self,
        at: usize,
        call: Option<Slot>,
        data: &[u8],
        origin: Origin,
    ) -> Option<Outcome> {
        if self.depth >= self.ctx.limits.max_pickles_per_stream {
            let location = self.origin_location(at);
            self.report(
                Finding::new(
                    &core_rules::LIMIT_EXCEEDED,
                    location,
                    format!(
                        "a nested pickle at {} is deeper than max_pickles_per_stream = {}; it was not scanned",
                        self.origin.describe(at),
                        self.ctx.limits.max_pickles_per_stream
                    ),
                ),
                None,
            );
            return None;
        }
        if let Some(call) = call {
            // The loader call itself is already reported; a payload that is no pickle
            // (a zip for torch.load, junk) is left to that finding.
            let scanned = crate::looks_like_pickle(data.get(..crate::SNIFF_LEN).unwrap_or(data));
            let outcome = if scanned {
                "it was scanned and its findings are reported on their own"
            } else {
                "it does not look like a pickle and was not scanned"
            };
            let evidence = self.render(call);
            self.report(
                Finding::new(
                    &NESTED_PICKLE,
                    self.origin_location(at),
                    format!(
                        "REDUCE at {} unpickles a nested {}-byte payload; {outcome}",
                        self.origin.describe(at),
                        data.len()
                    ),
                )
                .with_evidence(evidence),
                None,
            );
            if !scanned {
                return None;
            }
        }
        let memory = self.memory_limit.saturating_sub(self.memory_used());
        let outcome = Machine::new(
            data,
            origin,
            self.depth + 1,
            memory,
            self.ctx,
            self.reporter,
        )
        .run();
        Some(outcome)
    }

    // ----- BUILD -------------------------------------------------------------------------

    fn build(&mut self, at: usize, target: Slot, state: Slot) -> Step<()> {
        if let Some(global) = self.heap.global(target) {
            let name = global.judgement.canonical.clone();
            let subject = format!("build {name}");
            if self.reporter.repeat(&BUILD_HIJACK, &subject) {
                return Ok(());
            }
            let evidence = format!(
                "{}.__dict__.update({})",
                self.render(target),
                self.render(state)
            );
            self.report(
                Finding::new(
                    &BUILD_HIJACK,
                    self.origin_location(at),
                    format!(
                        "BUILD at {} sets attributes of the module-level object `{name}` instead of a new instance",
                        self.origin.describe(at)
                    ),
                )
                .with_evidence(evidence),
                Some(subject),
            );
            return Ok(());
        }
        self.check_state_keys(at, target, state);
        self.heap.add_state(target, state);
        let special = self
            .heap
            .instance_class(target)
            .filter(|class| matches!(class.judgement.verdict, Verdict::Allowed(_)))
            .and_then(Global::special);
        match special {
            Some(Special::JoblibArray) => self.joblib_inline(at, target)?,
            Some(Special::JoblibSideFile) => self.joblib_side_file(at, target),
            _ => {}
        }
        Ok(())
    }

    /// A state that assigns dunder attributes rewires the object (`__setstate__` makes the
    /// next BUILD call the attacker's function; `__class__` swaps the class). The state is
    /// a dict, or a `(dict_state, slot_state)` pair.
    fn check_state_keys(&mut self, at: usize, target: Slot, state: Slot) {
        let dicts = match self.heap.get(state) {
            Some(Value::Seq {
                kind: SeqKind::Tuple,
                items,
                len: 2,
            }) => [items.first().copied(), items.get(1).copied()],
            _ => [Some(state), None],
        };
        for dict in dicts.into_iter().flatten() {
            let Some(key) = self.heap.dunder_key(dict) else {
                continue;
            };
            let key = self
                .heap
                .text(key, self.data)
                .map(|k| k.into_owned())
                .unwrap_or_default();
            if self.reporter.repeat(&BUILD_HIJACK, &key) {
                continue;
            }
            let evidence = format!(
                "{}.{key} = ... via BUILD({})",
                self.render(target),
                self.render(state)
            );
            self.report(
                Finding::new(
                    &BUILD_HIJACK,
                    self.origin_location(at),
                    format!(
                        "BUILD at {} assigns the special attribute `{key}`",
                        self.origin.describe(at)
                    ),
                )
                .with_evidence(evidence),
                Some(key),
            );
        }
    }

    /// joblib writes an array's bytes (or, for object arrays, a nested pickle) right after
    /// the BUILD of its `NumpyArrayWrapper`; its unpickler reads them there.
    fn joblib_inline(&mut self, at: usize, wrapper: Slot) -> Step<()> {
        let attribute = |name| joblib::attribute(&self.heap, self.data, wrapper, name);
        let dtype = attribute("dtype")
            .ok_or_else(|| "the wrapper has no dtype".to_owned())
            .and_then(|dtype| joblib::dtype(&self.heap, self.data, dtype));
        let dtype = match dtype {
            Ok(dtype) => dtype,
            Err(why) => return Err(self.joblib_error(at, &why)),
        };
        if dtype.has_object {
            let start = self.pos;
            let data = self.data.get(start..).unwrap_or_default();
            let origin = Origin {
                base: self.origin.base.saturating_add(start),
                decoded_at: self.origin.decoded_at,
                location_base: self.origin.location_base,
            };
            if self.ctx.sniff {
                return Err(self.truncated(
                    start,
                    "the sniffed prefix ends at a joblib object array".to_owned(),
                ));
            }
            let Some(outcome) = self.nested(at, None, data, origin) else {
                return Err(Failure::Reported { offset: start });
            };
            if !outcome.completed {
                return Err(Failure::Reported {
                    offset: start.saturating_add(outcome.end),
                });
            }
            self.pos = start.saturating_add(outcome.end);
        } else {
            let count =
                match attribute("shape").ok_or_else(|| "the wrapper has no shape".to_owned()) {
                    Ok(shape) => joblib::element_count(&self.heap, shape),
                    Err(why) => Err(why),
                };
            let size = count.and_then(|count| {
                count
                    .checked_mul(dtype.itemsize)
                    .and_then(|size| usize::try_from(size).ok())
                    .ok_or_else(|| "the array size overflows".to_owned())
            });
            let size = match size {
                Ok(size) => size,
                Err(why) => return Err(self.joblib_error(at, &why)),
            };
            let aligned =
                attribute("numpy_array_alignment_bytes").is_some_and(|a| !matches!(a, Slot::None));
            if aligned {
                let [padding] = self.array(b'b', at)?;
                self.span(b'b', at, usize::from(padding))?;
            }
            let remaining = self.data.len() - self.pos;
            if size > remaining {
                return Err(self.truncated(
                    at,
                    format!(
                        "the joblib array after BUILD at {} needs {size} bytes but only {remaining} remain",
                        self.origin.describe(at)
                    ),
                ));
            }
            self.pos += size;
        }
        self.ctx.joblib_arrays = true;
        if let Some(top) = self.stack.last_mut() {
            *top = self
                .heap
                .alloc(Value::Opaque("array read inline by joblib"));
        }
        Ok(())
    }

    fn joblib_error(&self, at: usize, why: &str) -> Failure {
        self.malformed_message(
            at,
            format!(
                "cannot tell how many bytes of joblib array data follow the BUILD at {}: {why}",
                self.origin.describe(at)
            ),
        )
    }

    /// Old joblib (<= 0.9) keeps arrays in side files; its unpickler loads the named file
    /// with `allow_pickle=True`, so the name must stay beside the pickle.
    fn joblib_side_file(&mut self, at: usize, wrapper: Slot) {
        let Some(filename) = joblib::attribute(&self.heap, self.data, wrapper, "filename")
            .and_then(|f| self.heap.text(f, self.data))
            .map(|f| f.into_owned())
        else {
            return;
        };
        let escapes = filename.starts_with('/')
            || filename.starts_with('\\')
            || filename.contains(':')
            || filename.split(['/', '\\']).any(|part| part == "..");
        if escapes {
            let evidence = self.render(wrapper);
            self.report(
                Finding::new(
                    &DISALLOWED_CALL,
                    self.origin_location(at),
                    format!(
                        "BUILD at {} makes joblib load the array file `{filename}` outside the pickle's directory, \
                         with pickles allowed",
                        self.origin.describe(at)
                    ),
                )
                .with_evidence(evidence),
                Some(filename),
            );
        }
        if let Some(top) = self.stack.last_mut() {
            *top = self
                .heap
                .alloc(Value::Opaque("array loaded from a joblib side file"));
        }
    }

    // ----- reporting ---------------------------------------------------------------------

    fn origin_location(&self, offset: usize) -> Location {
        self.ctx.location.at(self.origin.absolute(offset) as u64)
    }

    fn report(&mut self, finding: Finding, subject: Option<String>) {
        self.reporter.report(finding, subject);
    }

    fn report_failure(&mut self, failure: Failure) {
        let (rule, offset, message) = match failure {
            Failure::Malformed {
                offset, message, ..
            } => (&core_rules::MALFORMED, offset, message),
            Failure::Limit { offset, message } => (&core_rules::LIMIT_EXCEEDED, offset, message),
            Failure::Reported { .. } => return,
        };
        let finding = Finding::new(rule, self.origin_location(offset), message);
        self.report(finding, None);
    }

    fn render(&self, slot: Slot) -> String {
        Renderer {
            heap: &self.heap,
            data: self.data,
        }
        .render(slot)
    }

    fn is_literal(&self, slot: Slot) -> bool {
        match self.heap.get(slot) {
            Some(Value::Text(_) | Value::Seq { .. } | Value::Dict { .. }) => true,
            Some(_) => false,
            None => true,
        }
    }

    /// `an int`, `a str`, ...: what a value is, for messages.
    fn type_name(&self, slot: Slot) -> &'static str {
        match slot {
            Slot::None => "None",
            Slot::Bool(_) => "a bool",
            Slot::Int(_) | Slot::BigInt(_) | Slot::BigText(_) => "an int",
            Slot::Float(_) => "a float",
            Slot::Str(_) | Slot::LegacyStr(_) => "a str",
            Slot::Bytes(_) => "a bytes object",
            Slot::ByteArray(_) => "a bytearray",
            Slot::Ref(_) => match self.heap.get(slot) {
                Some(Value::Text(_)) => "a str",
                Some(Value::Seq {
                    kind: SeqKind::List,
                    ..
                }) => "a list",
                Some(Value::Seq {
                    kind: SeqKind::Tuple,
                    ..
                }) => "a tuple",
                Some(Value::Seq {
                    kind: SeqKind::Set, ..
                }) => "a set",
                Some(Value::Seq {
                    kind: SeqKind::FrozenSet,
                    ..
                }) => "a frozenset",
                Some(Value::Dict { .. }) => "a dict",
                Some(Value::Global(_)) => "a global",
                Some(Value::Call(_)) => "an object",
                Some(Value::Persistent(_)) => "a persistent object",
                Some(Value::Ext(_)) => "an extension object",
                Some(Value::Opaque(_)) | None => "a value",
            },
        }
    }

    fn is_torch_magic(&self, root: Slot) -> bool {
        match root {
            Slot::BigInt(span) => span.of(self.data) == TORCH_MAGIC_LE,
            Slot::BigText(span) => span.of(self.data).trim_ascii() == TORCH_MAGIC_TEXT,
            _ => false,
        }
    }

    // ----- failures ----------------------------------------------------------------------

    fn truncated(&self, offset: usize, message: String) -> Failure {
        Failure::Malformed {
            offset,
            message,
            cut: Some(Cut::Argument),
        }
    }

    fn malformed_message(&self, offset: usize, message: String) -> Failure {
        Failure::Malformed {
            offset,
            message,
            cut: None,
        }
    }

    fn malformed(&self, op: u8, at: usize, what: &str) -> Failure {
        self.malformed_message(
            at,
            format!(
                "{} at {} has {what}",
                opcode_name(op),
                self.origin.describe(at)
            ),
        )
    }

    fn bad_text(&self, op: u8, at: usize, expected: &str, got: &[u8]) -> Failure {
        let mut shown = String::from_utf8_lossy(got).into_owned();
        if shown.len() > 40 {
            let mut cut = 40;
            while !shown.is_char_boundary(cut) {
                cut -= 1;
            }
            shown.truncate(cut);
            shown.push_str("...");
        }
        self.malformed_message(
            at,
            format!(
                "{} at {} expects {expected}, got {shown:?}",
                opcode_name(op),
                self.origin.describe(at)
            ),
        )
    }

    fn underflow(&self, op: u8, at: usize) -> Failure {
        self.malformed_message(
            at,
            format!(
                "stack underflow: {} at {} needs more values than the stack holds above its last MARK",
                opcode_name(op),
                self.origin.describe(at)
            ),
        )
    }
}

/// ` (written `__builtin__.eval`)` when the pickle spelled the global differently.
fn written_as(global: &Global) -> String {
    let written = format!("{}.{}", global.module, global.name);
    if written == global.judgement.canonical {
        String::new()
    } else {
        format!(" (written `{written}`)")
    }
}

/// LONG1/LONG4 payload: little-endian two's complement.
fn long_slot(span: Span, data: &[u8]) -> Slot {
    let bytes = span.of(data);
    if bytes.len() > 8 {
        return Slot::BigInt(span);
    }
    let fill = if bytes.last().is_some_and(|b| b & 0x80 != 0) {
        0xff
    } else {
        0
    };
    let mut buffer = [fill; 8];
    buffer
        .iter_mut()
        .zip(bytes)
        .for_each(|(slot, byte)| *slot = *byte);
    Slot::Int(i64::from_le_bytes(buffer))
}

/// pickletools' name of an opcode, for messages.
pub(crate) fn opcode_name(op: u8) -> &'static str {
    match op {
        b'(' => "MARK",
        b'.' => "STOP",
        b'0' => "POP",
        b'1' => "POP_MARK",
        b'2' => "DUP",
        b'F' => "FLOAT",
        b'I' => "INT",
        b'J' => "BININT",
        b'K' => "BININT1",
        b'L' => "LONG",
        b'M' => "BININT2",
        b'N' => "NONE",
        b'P' => "PERSID",
        b'Q' => "BINPERSID",
        b'R' => "REDUCE",
        b'S' => "STRING",
        b'T' => "BINSTRING",
        b'U' => "SHORT_BINSTRING",
        b'V' => "UNICODE",
        b'X' => "BINUNICODE",
        b'a' => "APPEND",
        b'b' => "BUILD",
        b'c' => "GLOBAL",
        b'd' => "DICT",
        b'}' => "EMPTY_DICT",
        b'e' => "APPENDS",
        b'g' => "GET",
        b'h' => "BINGET",
        b'i' => "INST",
        b'j' => "LONG_BINGET",
        b'l' => "LIST",
        b']' => "EMPTY_LIST",
        b'o' => "OBJ",
        b'p' => "PUT",
        b'q' => "BINPUT",
        b'r' => "LONG_BINPUT",
        b's' => "SETITEM",
        b't' => "TUPLE",
        b')' => "EMPTY_TUPLE",
        b'u' => "SETITEMS",
        b'G' => "BINFLOAT",
        0x80 => "PROTO",
        0x81 => "NEWOBJ",
        0x82 => "EXT1",
        0x83 => "EXT2",
        0x84 => "EXT4",
        0x85 => "TUPLE1",
        0x86 => "TUPLE2",
        0x87 => "TUPLE3",
        0x88 => "NEWTRUE",
        0x89 => "NEWFALSE",
        0x8a => "LONG1",
        0x8b => "LONG4",
        b'B' => "BINBYTES",
        b'C' => "SHORT_BINBYTES",
        0x8c => "SHORT_BINUNICODE",
        0x8d => "BINUNICODE8",
        0x8e => "BINBYTES8",
        0x8f => "EMPTY_SET",
        0x90 => "ADDITEMS",
        0x91 => "FROZENSET",
        0x92 => "NEWOBJ_EX",
        0x93 => "STACK_GLOBAL",
        0x94 => "MEMOIZE",
        0x95 => "FRAME",
        0x96 => "BYTEARRAY8",
        0x97 => "NEXT_BUFFER",
        0x98 => "READONLY_BUFFER",
        _ => "opcode",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_payloads_decode_as_twos_complement() {
        let data = [0xff, 0x00, 0x01];
        assert!(matches!(
            long_slot(Span { start: 0, end: 1 }, &data),
            Slot::Int(-1)
        ));
        assert!(matches!(
            long_slot(Span { start: 0, end: 2 }, &data),
            Slot::Int(255)
        ));
        assert!(matches!(
            long_slot(Span { start: 0, end: 0 }, &data),
            Slot::Int(0)
        ));
        assert!(matches!(
            long_slot(Span { start: 1, end: 3 }, &data),
            Slot::Int(256)
        ));
    }

    #[test]
    fn memo_keeps_dense_and_sparse_keys_apart() {
        let mut memo = Memo::default();
        memo.put(1, Slot::Int(1));
        memo.put(0, Slot::Int(0));
        memo.put(1, Slot::Int(11));
        memo.put(1_000_000, Slot::Int(2));
        assert_eq!(memo.len(), 3);
        assert!(matches!(memo.get(1), Some(Slot::Int(11))));
        assert!(matches!(memo.get(0), Some(Slot::Int(0))));
        assert!(matches!(memo.get(1_000_000), Some(Slot::Int(2))));
        assert!(memo.get(2).is_none());
    }
}
