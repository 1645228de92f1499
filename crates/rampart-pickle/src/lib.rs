//! A symbolic pickle machine. It walks every opcode of protocols 0–5 with a real stack,
//! memo and mark stack of abstract values, records what a pickle imports and what it
//! calls with which arguments, and decides by an allowlist of the callables ordinary ML
//! pickles use. The denylist only ranks severity.
//!
//! This crate must never execute, import or unpickle anything, and never trust a length,
//! count or index it reads: every allocation is bounded by [`rampart_core::Limits`].
//!
//! ```
//! use rampart_core::{Limits, Location};
//! use rampart_pickle::{PickleConfig, PickleScanner};
//!
//! let scanner = PickleScanner::new(&PickleConfig::default()).unwrap();
//! let mut findings = Vec::new();
//! let payload = b"cos\nsystem\n(S'id'\ntR.";
//! let info = scanner.scan(payload, &Location::file("model.pkl"), &Limits::default(), &mut findings);
//! assert_eq!(info.pickles, 1);
//! assert_eq!(findings[0].rule.id, "pickle/disallowed-call");
//! assert_eq!(findings[0].evidence.as_deref(), Some("os.system('id')"));
//! ```

mod joblib;
mod machine;
mod names;
mod policy;
mod report;
pub mod rules;
mod text;
mod value;

use rampart_core::{Finding, Limits, Location, rules as core_rules};

use crate::machine::{Ctx, Cut, Machine, Origin, Outcome};
use crate::policy::Policy;
pub use crate::policy::{ConfigError, PickleConfig};
use crate::report::Reporter;
pub use crate::rules::RULES;

/// The pickles legacy `torch.save` writes back to back: magic number, protocol version,
/// system info, the object, the storage keys. Raw storage bytes follow.
const TORCH_LEGACY_PICKLES: usize = 5;

/// Bytes content sniffing looks at, as the engine does.
const SNIFF_LEN: usize = 4096;

/// Scans pickles with the built-in allowlist plus the team's `[pickle]` configuration.
/// Build it once and share it: it is `Send + Sync`.
#[derive(Debug)]
pub struct PickleScanner {
    policy: Policy,
}

/// What a scanned stream turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamKind {
    /// One or more ordinary pickles.
    Plain,
    /// joblib inline arrays were read (`NumpyArrayWrapper`).
    Joblib,
    /// The first pickle is `torch.save`'s legacy magic number.
    TorchLegacy,
}

/// The shape of a scanned stream, for the engine to check what follows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamInfo {
    /// Pickles scanned back to back.
    pub pickles: usize,
    /// Bytes consumed: the offset after the last STOP, or where parsing failed.
    pub end: usize,
    /// The highest PROTO seen.
    pub protocol: Option<u8>,
    pub kind: StreamKind,
}

impl PickleScanner {
    pub fn new(config: &PickleConfig) -> Result<Self, ConfigError> {
        Ok(PickleScanner {
            policy: Policy::new(config)?,
        })
    }

    /// Scans every pickle in `data` back to back (Python would load them one after
    /// another, legacy torch does). Findings' byte offsets are `location.at(offset)`.
    pub fn scan(
        &self,
        data: &[u8],
        location: &Location,
        limits: &Limits,
        out: &mut Vec<Finding>,
    ) -> StreamInfo {
        let mut info = StreamInfo {
            pickles: 0,
            end: 0,
            protocol: None,
            kind: StreamKind::Plain,
        };
        if data.is_empty() {
            out.push(Finding::new(
                &core_rules::MALFORMED,
                location.at(0),
                "the pickle stream is empty (0 bytes)",
            ));
            return info;
        }
        let mut ctx = Ctx {
            policy: &self.policy,
            limits,
            location,
            opcodes_left: limits.max_pickle_opcodes,
            joblib_arrays: false,
            sniff: false,
        };
        let mut reporter = Reporter::default();
        let mut torch_legacy = false;
        while info.end < data.len() {
            let rest = data.get(info.end..).unwrap_or_default();
            let starts_like_pickle = looks_like_pickle(rest.get(..SNIFF_LEN).unwrap_or(rest));
            if info.pickles >= limits.max_pickles_per_stream {
                if starts_like_pickle {
                    reporter.report(
                        Finding::new(
                            &core_rules::LIMIT_EXCEEDED,
                            location.at(info.end as u64),
                            format!(
                                "another pickle starts at byte {} after max_pickles_per_stream = {} pickles; it was \
                                 not scanned",
                                info.end, limits.max_pickles_per_stream
                            ),
                        ),
                        None,
                    );
                }
                break;
            }
            // The first pickle, and the ones legacy torch promises, are pickles whatever
            // they look like. Anything later is one only if it starts like one; otherwise
            // it is trailing data (an appended zip, junk) that the engine reports.
            if !(info.pickles == 0 || torch_legacy || starts_like_pickle) {
                break;
            }
            let outcome = run(&mut ctx, &mut reporter, rest, info.end);
            info.pickles += 1;
            info.end = info.end.saturating_add(outcome.end);
            info.protocol = info.protocol.max(outcome.protocol);
            if info.pickles == 1 && outcome.torch_magic {
                torch_legacy = true;
            }
            if !outcome.completed || (torch_legacy && info.pickles == TORCH_LEGACY_PICKLES) {
                break;
            }
        }
        if torch_legacy && info.pickles < TORCH_LEGACY_PICKLES && info.end >= data.len() {
            reporter.report(
                Finding::new(
                    &core_rules::MALFORMED,
                    location.at(info.end as u64),
                    format!(
                        "the legacy PyTorch file ends after {} of its {TORCH_LEGACY_PICKLES} pickles",
                        info.pickles
                    ),
                ),
                None,
            );
        }
        info.kind = if torch_legacy {
            StreamKind::TorchLegacy
        } else if ctx.joblib_arrays {
            StreamKind::Joblib
        } else {
            StreamKind::Plain
        };
        reporter.finish(out);
        info
    }
}

fn run(ctx: &mut Ctx<'_>, reporter: &mut Reporter, data: &[u8], base: usize) -> Outcome {
    let origin = Origin {
        base,
        decoded_at: None,
        location_base: ctx
            .location
            .offset
            .and_then(|offset| usize::try_from(offset).ok())
            .unwrap_or(0),
    };
    // Heap ids are u32; no real limit comes near that.
    let memory = ctx.limits.max_pickle_memory_entries.min(u32::MAX as usize);
    Machine::new(data, origin, 0, memory, ctx, reporter).run()
}

/// Content sniffing: true when `prefix` starts like a pickle. Every stream, PROTO or not,
/// must parse cleanly (valid opcodes, identifier globals) up to its STOP or the end of
/// the prefix: two bytes `80 02` also start ordinary binary data (an int64 tensor holding
/// 640), and text such as a README or CSV must not be mistaken for protocol 0.
pub fn looks_like_pickle(prefix: &[u8]) -> bool {
    if prefix.is_empty() {
        return false;
    }
    let starts_with_proto = matches!(prefix, [0x80, 2..=5, ..]);
    let limits = Limits::default();
    let location = Location::default();
    let mut ctx = Ctx {
        policy: Policy::builtin(),
        limits: &limits,
        location: &location,
        opcodes_left: limits.max_pickle_opcodes,
        joblib_arrays: false,
        sniff: true,
    };
    let mut scratch = Reporter::default();
    let outcome = run(&mut ctx, &mut scratch, prefix, 0);
    // A prefix may end anywhere in a longer pickle. But a text argument cut off by the
    // end of a short protocol-0 input is text, and one holding control bytes is binary
    // data that happened to contain an opcode letter.
    let plausible_cut = match outcome.truncated {
        Some(Cut::Argument) => true,
        Some(Cut::Line) => {
            (starts_with_proto || prefix.len() >= SNIFF_LEN)
                && is_text(
                    prefix
                        .get(outcome.end.saturating_add(1)..)
                        .unwrap_or_default(),
                )
        }
        None => false,
    };
    outcome.completed || (plausible_cut && outcome.end > 0)
}

/// Protocol-0 text arguments are ASCII (or latin-1 for raw-unicode-escape): no control
/// bytes but tab and carriage return.
fn is_text(bytes: &[u8]) -> bool {
    !bytes
        .iter()
        .any(|&b| (b < 0x20 && b != b'\t' && b != b'\r') || b == 0x7f)
}
