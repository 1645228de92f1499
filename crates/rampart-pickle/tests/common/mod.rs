//! Test helpers: a scanner front end and a small pickle writer for literal values at
//! every protocol, the way CPython's pickler writes them.

#![allow(dead_code)] // each test binary uses part of this

use rampart_core::{Finding, Limits, Location, Severity};
use rampart_pickle::{PickleConfig, PickleScanner, StreamInfo};

pub fn scan_with(
    config: &PickleConfig,
    limits: &Limits,
    data: &[u8],
) -> (StreamInfo, Vec<Finding>) {
    let scanner = PickleScanner::new(config).expect("valid config");
    let mut findings = Vec::new();
    let info = scanner.scan(data, &Location::file("t.pkl"), limits, &mut findings);
    (info, findings)
}

pub fn scan(data: &[u8]) -> (StreamInfo, Vec<Finding>) {
    scan_with(&PickleConfig::default(), &Limits::default(), data)
}

pub fn findings(data: &[u8]) -> Vec<Finding> {
    scan(data).1
}

/// The one finding of `rule`, or a panic listing what was found.
pub fn only<'a>(findings: &'a [Finding], rule: &str) -> &'a Finding {
    let matching: Vec<&Finding> = findings.iter().filter(|f| f.rule.id == rule).collect();
    assert_eq!(
        matching.len(),
        1,
        "expected one {rule} finding, got:\n{}",
        dump(findings)
    );
    matching[0]
}

pub fn max_severity(findings: &[Finding]) -> Option<Severity> {
    findings.iter().map(|f| f.severity).max()
}

pub fn dump(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| {
            format!(
                "  {} [{}] {}: {} | {}",
                f.rule.id,
                f.severity,
                f.location,
                f.message,
                f.evidence.as_deref().unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// SHORT_BINUNICODE.
pub fn sbu(text: &str) -> Vec<u8> {
    let mut out = vec![0x8c, u8::try_from(text.len()).expect("short text")];
    out.extend_from_slice(text.as_bytes());
    out
}

/// Protocol 4 `module.name` via STACK_GLOBAL.
pub fn stack_global(module: &str, name: &str) -> Vec<u8> {
    [sbu(module), sbu(name), vec![0x93]].concat()
}

/// Protocol 0 `module.name` via GLOBAL.
pub fn global(module: &str, name: &str) -> Vec<u8> {
    format!("c{module}\n{name}\n").into_bytes()
}

/// Concatenates byte pieces.
pub fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// A literal value a pickle can hold without any global but the pickler's own helpers.
#[derive(Clone, Debug)]
pub enum Lit {
    None,
    Bool(bool),
    Int(i64),
    Big(Vec<u8>),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    List(Vec<Lit>),
    Tuple(Vec<Lit>),
    Dict(Vec<(Lit, Lit)>),
    Set(Vec<Lit>),
    FrozenSet(Vec<Lit>),
}

/// Writes `value` as CPython's pickler would at `protocol`, STOP included.
pub fn pickle(value: &Lit, protocol: u8) -> Vec<u8> {
    let mut out = Vec::new();
    if protocol >= 2 {
        out.extend_from_slice(&[0x80, protocol]);
    }
    let mut writer = Writer {
        out,
        protocol,
        memo: 0,
    };
    writer.value(value);
    writer.out.push(b'.');
    writer.out
}

/// CPython's pickler appends and sets items in batches of this many.
const BATCH: usize = 1000;

struct Writer {
    out: Vec<u8>,
    protocol: u8,
    memo: u32,
}

impl Writer {
    fn memoize(&mut self) {
        if self.protocol >= 4 {
            self.out.push(0x94);
        } else if self.protocol >= 1 {
            self.out.push(b'r');
            self.out.extend_from_slice(&self.memo.to_le_bytes());
        } else {
            self.out
                .extend_from_slice(format!("p{}\n", self.memo).as_bytes());
        }
        self.memo += 1;
    }

    fn text(&mut self, text: &str) {
        if self.protocol == 0 {
            let mut escaped = String::new();
            for c in text.chars() {
                match c {
                    '\\' | '\n' | '\r' | '\0' => {
                        escaped.push_str(&format!("\\u{:04x}", u32::from(c)))
                    }
                    c if u32::from(c) > 0xff => {
                        escaped.push_str(&format!("\\U{:08x}", u32::from(c)))
                    }
                    c => escaped.push(c),
                }
            }
            // raw-unicode-escape writes Latin-1 bytes.
            self.out.push(b'V');
            self.out.extend(
                escaped
                    .chars()
                    .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?')),
            );
            self.out.push(b'\n');
        } else {
            self.out.push(b'X');
            self.out
                .extend_from_slice(&u32::try_from(text.len()).unwrap().to_le_bytes());
            self.out.extend_from_slice(text.as_bytes());
        }
    }

    fn global(&mut self, module: &str, name: &str) {
        if self.protocol >= 4 {
            self.text(module);
            self.text(name);
            self.out.push(0x93);
        } else {
            self.out
                .extend_from_slice(format!("c{module}\n{name}\n").as_bytes());
        }
    }

    fn items(&mut self, items: &[Lit]) {
        for item in items {
            self.value(item);
        }
    }

    fn value(&mut self, value: &Lit) {
        let binary = self.protocol >= 1;
        match value {
            Lit::None => self.out.push(b'N'),
            Lit::Bool(b) if self.protocol >= 2 => self.out.push(if *b { 0x88 } else { 0x89 }),
            Lit::Bool(b) => self
                .out
                .extend_from_slice(if *b { b"I01\n" } else { b"I00\n" }),
            Lit::Int(i) if binary && i32::try_from(*i).is_ok() => {
                self.out.push(b'J');
                self.out
                    .extend_from_slice(&i32::try_from(*i).unwrap().to_le_bytes());
            }
            Lit::Int(i) if self.protocol >= 2 => {
                self.out.extend_from_slice(&[0x8a, 8]);
                self.out.extend_from_slice(&i.to_le_bytes());
            }
            Lit::Int(i) => self.out.extend_from_slice(format!("L{i}L\n").as_bytes()),
            Lit::Big(bytes) if self.protocol >= 2 => {
                self.out
                    .extend_from_slice(&[0x8a, u8::try_from(bytes.len()).unwrap()]);
                self.out.extend_from_slice(bytes);
            }
            Lit::Big(bytes) => {
                // Decimal of the magnitude is enough for a literal test.
                let digits: String = bytes.iter().map(|b| format!("{b}")).collect();
                self.out
                    .extend_from_slice(format!("L1{digits}L\n").as_bytes());
            }
            Lit::Float(f) if binary => {
                self.out.push(b'G');
                self.out.extend_from_slice(&f.to_be_bytes());
            }
            Lit::Float(f) => self.out.extend_from_slice(format!("F{f:?}\n").as_bytes()),
            Lit::Str(text) => {
                self.text(text);
                self.memoize();
            }
            Lit::Bytes(bytes) if self.protocol >= 3 => {
                self.out.push(b'B');
                self.out
                    .extend_from_slice(&u32::try_from(bytes.len()).unwrap().to_le_bytes());
                self.out.extend_from_slice(bytes);
                self.memoize();
            }
            Lit::Bytes(bytes) => {
                // Protocols 0-2: _codecs.encode(latin1_text, 'latin1').
                self.global("_codecs", "encode");
                self.out.push(b'(');
                let latin1: String = bytes.iter().map(|&b| char::from(b)).collect();
                self.text(&latin1);
                self.text("latin1");
                self.out.extend_from_slice(b"tR");
                self.memoize();
            }
            Lit::List(items) => {
                if binary {
                    self.out.push(b']');
                    self.memoize();
                    for batch in items.chunks(BATCH) {
                        self.out.push(b'(');
                        self.items(batch);
                        self.out.push(b'e');
                    }
                } else {
                    self.out.push(b'(');
                    self.out.push(b'l');
                    self.memoize();
                    for item in items {
                        self.value(item);
                        self.out.push(b'a');
                    }
                }
            }
            Lit::Tuple(items) if self.protocol >= 2 && items.len() <= 3 => {
                self.items(items);
                self.out.push(match items.len() {
                    0 => b')',
                    1 => 0x85,
                    2 => 0x86,
                    _ => 0x87,
                });
            }
            Lit::Tuple(items) => {
                self.out.push(b'(');
                self.items(items);
                self.out.push(b't');
            }
            Lit::Dict(pairs) => {
                if binary {
                    self.out.push(b'}');
                    self.memoize();
                    for batch in pairs.chunks(BATCH) {
                        self.out.push(b'(');
                        for (k, v) in batch {
                            self.value(k);
                            self.value(v);
                        }
                        self.out.push(b'u');
                    }
                } else {
                    self.out.extend_from_slice(b"(d");
                    self.memoize();
                    for (k, v) in pairs {
                        self.value(k);
                        self.value(v);
                        self.out.push(b's');
                    }
                }
            }
            Lit::Set(items) if self.protocol >= 4 => {
                self.out.push(0x8f);
                self.memoize();
                for batch in items.chunks(BATCH) {
                    self.out.push(b'(');
                    self.items(batch);
                    self.out.push(0x90);
                }
            }
            Lit::FrozenSet(items) if self.protocol >= 4 => {
                self.out.push(b'(');
                self.items(items);
                self.out.push(0x91);
                self.memoize();
            }
            Lit::Set(items) | Lit::FrozenSet(items) => {
                let name = if matches!(value, Lit::Set(_)) {
                    "set"
                } else {
                    "frozenset"
                };
                let module = if self.protocol >= 3 {
                    "builtins"
                } else {
                    "__builtin__"
                };
                self.global(module, name);
                self.out.push(b'(');
                self.value(&Lit::List(items.clone()));
                self.out.extend_from_slice(b"tR");
                self.memoize();
            }
        }
    }
}
