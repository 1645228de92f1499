//! A symbolic pickle machine. It walks every opcode of protocols 0–5 with a real stack,
//! memo and mark stack of abstract values, records what a pickle imports and what it
//! calls with which arguments, and decides by an allowlist of the callables ordinary ML
//! pickles use. The denylist only ranks severity.
//!
//! This crate must never execute, import or unpickle anything, and never trust a length,
//! count or index it reads: every allocation is bounded by [`rampart_core::Limits`].
//!
//! CONTRACT (for the scan engine; the implementation fills this in):
//!
//! ```ignore
//! pub struct PickleConfig { pub allow: Vec<String>, pub deny: Vec<String> }  // serde, `[pickle]` in rampart.toml
//! pub struct PickleScanner;                                          // allowlist compiled once, Send + Sync
//! impl PickleScanner {
//!     pub fn new(config: &PickleConfig) -> Result<Self, ConfigError>;
//!     /// Scans every pickle in `data` back to back; findings' offsets are `location.at(offset)`.
//!     pub fn scan(&self, data: &[u8], location: &Location, limits: &Limits, out: &mut Vec<Finding>) -> StreamInfo;
//! }
//! pub struct StreamInfo { pub pickles: usize, pub end: usize, pub protocol: Option<u8>, pub kind: StreamKind }
//! pub enum StreamKind { Plain, Joblib, TorchLegacy }
//! pub fn looks_like_pickle(prefix: &[u8]) -> bool;
//! pub static RULES: &[&Rule];
//! ```
