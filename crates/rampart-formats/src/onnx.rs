//! ONNX models (`.onnx`): a protobuf `ModelProto` whose graph may pull tensor data from
//! files next to the model and run operators from custom domains.
//!
//! The walk covers the main graph, every subgraph held in node attributes (`If`, `Loop`,
//! `Scan` bodies, recursively), model-local functions, training graphs, initializers and
//! sparse initializers. Tensor payloads (`raw_data`, `float_data`, …) are stepped over by
//! length and never read. Field numbers follow `onnx/onnx.proto` (IR version 11).

use std::collections::{BTreeMap, HashSet};

use rampart_core::{Finding, Limits, Location, Reference, Rule, Severity};

use crate::protobuf::{Budget, Field, Reader, WalkError, WireError, quote};

pub static ONNX_EXTERNAL_DATA_TRAVERSAL: Rule = Rule {
    id: "onnx/external-data-path-traversal",
    scanner: "model",
    severity: Severity::Critical,
    title: "ONNX external data path escapes the model directory",
    description: "A tensor stores its data in an external file whose `location` is an absolute \
                  path, climbs out of the model directory with `..`, is a URL, or holds a NUL \
                  byte. Loaders join the location to the model's directory and read the file \
                  into the tensor, so a crafted model reads arbitrary files (SSH keys, \
                  /proc/self/environ) into weights that later leave the machine in outputs or \
                  re-saved models; onnx versions before 1.16 also write through such paths when \
                  the model is saved again. Critical when the path is absolute or climbs out \
                  of the directory (no exporter writes that); high for URLs, NUL bytes and `..` \
                  segments that stay inside but break out through a symlinked directory.",
    remediation: "Do not load the model. External data files must be plain relative names in \
                  the model's own directory; re-export the model from a trusted source, and \
                  upgrade onnx to 1.16 or later, which rejects such locations.",
    references: &[
        Reference::Cwe(22),
        Reference::Advisory("CVE-2022-25882"),
        Reference::Advisory("CVE-2024-27318"),
        Reference::Atlas("AML.T0010.003"),
        Reference::Owasp("ML06:2023"),
    ],
};

pub static ONNX_CUSTOM_OPERATOR_DOMAIN: Rule = Rule {
    id: "onnx/custom-operator-domain",
    scanner: "model",
    severity: Severity::High,
    title: "ONNX model needs a custom operator library",
    description: "Nodes use operators from a domain that is neither a standard ONNX domain nor \
                  a function defined inside the model. No runtime implements them natively: \
                  running the model requires registering a custom operator library, i.e. \
                  loading native code that usually comes from the model's publisher, which is \
                  as trusting as running their executable (high). Domains compiled into \
                  onnxruntime or PyTorch (`com.microsoft`, `com.microsoft.nchwc`, \
                  `com.ms.internal.nhwc`, `org.pytorch.aten`) need no extra library and are \
                  reported as info only, so reviewers know which runtime the model is tied to.",
    remediation: "Find out which library implements the domain. Load custom operator \
                  libraries only from sources you trust and have reviewed, or re-export the \
                  model with standard ONNX operators.",
    references: &[
        Reference::Cwe(829),
        Reference::Atlas("AML.T0010.003"),
        Reference::Atlas("AML.T0011.000"),
        Reference::Owasp("ML06:2023"),
    ],
};

/// Domains every ONNX runtime implements.
const STANDARD_DOMAINS: &[&str] = &[
    "",
    "ai.onnx",
    "ai.onnx.ml",
    "ai.onnx.training",
    "ai.onnx.preview",
    "ai.onnx.preview.training",
];

/// Domains built into onnxruntime or PyTorch: no library needs to be loaded.
const BUILT_IN_DOMAINS: &[&str] = &[
    "com.microsoft",
    "com.microsoft.nchwc",
    "com.microsoft.experimental",
    "com.ms.internal.nhwc",
    "org.pytorch.aten",
];

/// Longest quotation of a name or path in a message.
const QUOTE_MAX: usize = 200;
/// Operator names listed per domain in one finding.
const OPS_LISTED: usize = 8;

/// True when `prefix` starts like a serialised `ModelProto`. ONNX has no magic number;
/// exporters write `ir_version` (field 1) first, then producer strings, the graph and the
/// opset imports, so the first fields are checked for exactly that shape. A
/// TensorFlow `saved_model.pb` also starts with field 1 = 1, but its field 2 is a binary
/// `MetaGraphDef` rather than a short producer name.
pub fn looks_like_onnx(prefix: &[u8]) -> bool {
    let mut reader = Reader::new(prefix, 0);
    match reader.next() {
        Some(Ok(f)) if f.number == 1 && matches!(f.varint(), Some(1..=20)) => {}
        _ => return false,
    }
    let mut recognised = 0usize;
    for field in reader {
        match field {
            Ok(f) if is_plausible_model_field(&f) => recognised += 1,
            Ok(_) => return false,
            // The prefix ends inside a field: accept when that field may be long.
            Err(WireError::LengthOutOfBounds { offset, .. }) => {
                let tag = offset.checked_sub(1).and_then(|t| prefix.get(t as usize));
                // graph (7), doc_string (6), opset_import (8), metadata (14),
                // training_info (20), functions (25).
                return recognised > 0
                    || matches!(tag, Some(0x32 | 0x3a | 0x42 | 0x72 | 0xa2 | 0xca));
            }
            Err(WireError::TruncatedVarint { .. } | WireError::TruncatedFixed { .. }) => break,
            Err(_) => return false,
        }
    }
    recognised > 0
}

fn is_plausible_model_field(f: &Field<'_>) -> bool {
    match f.number {
        1 | 5 => f.varint().is_some(),
        // producer_name, producer_version, domain: short printable text.
        2..=4 => f.bytes().is_some_and(|b| {
            b.len() <= 1024
                && std::str::from_utf8(b).is_ok_and(|s| !s.chars().any(char::is_control))
        }),
        6 | 7 | 8 | 14 | 20 | 25 | 26 => f.bytes().is_some(),
        _ => false,
    }
}

/// Scans a whole ONNX model for external-data paths that escape the model directory and
/// for operators that need custom native libraries. A model that does not parse is
/// reported as malformed (after whatever was found before the error).
pub fn scan(data: &[u8], location: &Location, limits: &Limits, out: &mut Vec<Finding>) {
    let mut walk = Walk::new(limits);
    let result = walk.model(data);
    walk.report(location, out);
    WalkError::report_outcome(
        result,
        "ONNX model",
        "ONNX model has neither a graph nor functions: this is not a usable ModelProto",
        location,
        out,
    );
}

/// A file outside the model directory that tensors read their data from.
struct ExternalFile {
    severity: Severity,
    why: String,
    first_tensor: String,
    offset: u64,
    tensors: u64,
}

/// How often one `(domain, op_type)` pair is used, and where first.
struct OperatorUse<'a> {
    nodes: u64,
    offset: u64,
    first_node: &'a [u8],
}

/// The operators used from one custom domain.
struct DomainUse<'a> {
    ops: Vec<&'a [u8]>,
    nodes: u64,
    offset: u64,
    first_node: &'a [u8],
}

/// A `StringStringEntryProto` and where its value is.
struct StringEntry<'a> {
    key: &'a [u8],
    value: &'a [u8],
    value_offset: u64,
}

struct Walk<'a> {
    budget: Budget,
    external_files: BTreeMap<&'a [u8], ExternalFile>,
    operators: BTreeMap<(&'a [u8], &'a [u8]), OperatorUse<'a>>,
    /// `(domain, name)` of functions defined in the model: nodes calling them need no
    /// external implementation.
    local_functions: HashSet<(&'a [u8], &'a [u8])>,
}

impl<'a> Walk<'a> {
    fn new(limits: &Limits) -> Self {
        Walk {
            budget: Budget::new(limits, "ONNX graph entries"),
            external_files: BTreeMap::new(),
            operators: BTreeMap::new(),
            local_functions: HashSet::new(),
        }
    }

    /// Walks a `ModelProto`; returns whether it held a graph or a function.
    fn model(&mut self, data: &'a [u8]) -> Result<bool, WalkError> {
        let mut has_content = false;
        for field in Reader::new(data, 0) {
            let field = field?;
            match field.number {
                7 if field.bytes().is_some() => {
                    has_content = true;
                    self.graph(&field, 1)?;
                }
                25 if field.bytes().is_some() => {
                    has_content = true;
                    self.function(&field, 1)?;
                }
                20 => self.training_info(&field, 1)?,
                _ => {}
            }
        }
        Ok(has_content)
    }

    /// `GraphProto`: nodes, initializers, sparse initializers.
    fn graph(&mut self, field: &Field<'a>, depth: usize) -> Result<(), WalkError> {
        let Some(reader) = enter(field, depth)? else {
            return Ok(());
        };
        for f in reader {
            let f = f?;
            match f.number {
                1 => self.node(&f, depth + 1)?,
                5 => self.tensor(&f, depth + 1)?,
                15 => self.sparse_tensor(&f, depth + 1)?,
                _ => {}
            }
        }
        Ok(())
    }

    /// `TrainingInfoProto`: the initialization and algorithm graphs.
    fn training_info(&mut self, field: &Field<'a>, depth: usize) -> Result<(), WalkError> {
        let Some(reader) = enter(field, depth)? else {
            return Ok(());
        };
        for f in reader {
            let f = f?;
            if matches!(f.number, 1 | 2) {
                self.graph(&f, depth + 1)?;
            }
        }
        Ok(())
    }

    /// `FunctionProto`: a model-local operator made of other nodes.
    fn function(&mut self, field: &Field<'a>, depth: usize) -> Result<(), WalkError> {
        let Some(reader) = enter(field, depth)? else {
            return Ok(());
        };
        self.budget.take(field.offset)?;
        let (mut name, mut domain): (&[u8], &[u8]) = (b"", b"");
        for f in reader {
            let f = f?;
            match f.number {
                1 => name = f.bytes().unwrap_or_default(),
                10 => domain = f.bytes().unwrap_or_default(),
                7 => self.node(&f, depth + 1)?,
                11 => self.attribute(&f, depth + 1)?,
                _ => {}
            }
        }
        self.local_functions.insert((domain, name));
        Ok(())
    }

    /// `NodeProto`: records its operator and walks its attributes (which hold subgraphs).
    fn node(&mut self, field: &Field<'a>, depth: usize) -> Result<(), WalkError> {
        let Some(reader) = enter(field, depth)? else {
            return Ok(());
        };
        self.budget.take(field.offset)?;
        let (mut name, mut op_type, mut domain): (&[u8], &[u8], &[u8]) = (b"", b"", b"");
        for f in reader {
            let f = f?;
            match f.number {
                3 => name = f.bytes().unwrap_or_default(),
                4 => op_type = f.bytes().unwrap_or_default(),
                7 => domain = f.bytes().unwrap_or_default(),
                5 => self.attribute(&f, depth + 1)?,
                _ => {}
            }
        }
        if !is_standard_domain(domain) {
            let usage = self
                .operators
                .entry((domain, op_type))
                .or_insert(OperatorUse {
                    nodes: 0,
                    offset: field.offset,
                    first_node: name,
                });
            usage.nodes += 1;
        }
        Ok(())
    }

    /// `AttributeProto`: tensors, graphs and sparse tensors, single or repeated.
    fn attribute(&mut self, field: &Field<'a>, depth: usize) -> Result<(), WalkError> {
        let Some(reader) = enter(field, depth)? else {
            return Ok(());
        };
        for f in reader {
            let f = f?;
            match f.number {
                5 | 10 => self.tensor(&f, depth + 1)?,
                6 | 11 => self.graph(&f, depth + 1)?,
                22 | 23 => self.sparse_tensor(&f, depth + 1)?,
                _ => {}
            }
        }
        Ok(())
    }

    /// `SparseTensorProto`: values and indices are tensors of their own.
    fn sparse_tensor(&mut self, field: &Field<'a>, depth: usize) -> Result<(), WalkError> {
        let Some(reader) = enter(field, depth)? else {
            return Ok(());
        };
        for f in reader {
            let f = f?;
            if matches!(f.number, 1 | 2) {
                self.tensor(&f, depth + 1)?;
            }
        }
        Ok(())
    }

    /// `TensorProto`: only the name and the `external_data` entries are looked at.
    fn tensor(&mut self, field: &Field<'a>, depth: usize) -> Result<(), WalkError> {
        let Some(reader) = enter(field, depth)? else {
            return Ok(());
        };
        self.budget.take(field.offset)?;
        let mut name: &[u8] = b"";
        let mut locations: Vec<(&'a [u8], u64)> = Vec::new();
        for f in reader {
            let f = f?;
            match f.number {
                8 => name = f.bytes().unwrap_or_default(),
                13 => {
                    if let Some(entry) = string_entry(&f, depth + 1)?
                        && entry.key == b"location"
                    {
                        locations.push((entry.value, entry.value_offset));
                    }
                }
                _ => {}
            }
        }
        for (path, offset) in locations {
            if let Some(entry) = self.external_files.get_mut(path) {
                entry.tensors += 1;
            } else if let Some((severity, why)) = external_path_problem(path) {
                self.external_files.insert(
                    path,
                    ExternalFile {
                        severity,
                        why,
                        first_tensor: lossy(name),
                        offset,
                        tensors: 1,
                    },
                );
            }
        }
        Ok(())
    }

    fn report(self, location: &Location, out: &mut Vec<Finding>) {
        for (path, file) in &self.external_files {
            let others = match file.tensors {
                1 => String::new(),
                n => format!(" (and {} more tensors)", n - 1),
            };
            out.push(
                Finding::new(
                    &ONNX_EXTERNAL_DATA_TRAVERSAL,
                    location.at(file.offset),
                    format!(
                        "Tensor `{}`{others} loads its data from external location `{}`, which {}",
                        file.first_tensor,
                        quote(&lossy(path), QUOTE_MAX),
                        file.why
                    ),
                )
                .with_severity(file.severity)
                .with_evidence(format!("location={}", quote(&lossy(path), QUOTE_MAX))),
            );
        }

        // One finding per domain: which operators, how many nodes, where first.
        let mut domains: BTreeMap<&[u8], DomainUse<'_>> = BTreeMap::new();
        for ((domain, op_type), usage) in &self.operators {
            if self.local_functions.contains(&(*domain, *op_type)) {
                continue;
            }
            let entry = domains.entry(domain).or_insert(DomainUse {
                ops: Vec::new(),
                nodes: 0,
                offset: usage.offset,
                first_node: usage.first_node,
            });
            entry.ops.push(op_type);
            entry.nodes += usage.nodes;
            if usage.offset < entry.offset {
                entry.offset = usage.offset;
                entry.first_node = usage.first_node;
            }
        }
        for (
            domain,
            DomainUse {
                ops,
                nodes,
                offset,
                first_node,
            },
        ) in domains
        {
            let domain_text = quote(&lossy(domain), QUOTE_MAX);
            let mut listed: Vec<String> = ops
                .iter()
                .take(OPS_LISTED)
                .map(|op| quote(&lossy(op), QUOTE_MAX))
                .collect();
            if ops.len() > OPS_LISTED {
                listed.push(format!("… {} more", ops.len() - OPS_LISTED));
            }
            let listed = listed.join(", ");
            let built_in = BUILT_IN_DOMAINS.iter().any(|d| d.as_bytes() == domain);
            let consequence = if built_in {
                "which is built into onnxruntime/PyTorch: the model only runs there, and needs \
                 no extra library"
            } else {
                "which no ONNX runtime implements: running the model requires loading a custom \
                 operator library (native code)"
            };
            let finding = Finding::new(
                &ONNX_CUSTOM_OPERATOR_DOMAIN,
                location.at(offset),
                format!(
                    "{nodes} node(s), first `{}`, use operators from domain `{domain_text}` \
                     ({listed}), {consequence}",
                    quote(&lossy(first_node), QUOTE_MAX)
                ),
            )
            .with_evidence(format!("domain={domain_text} ops=[{listed}]"));
            out.push(if built_in {
                finding.with_severity(Severity::Info)
            } else {
                finding
            });
        }
    }
}

/// Checks nesting before entering a length-delimited field as a message. Fields of the
/// wrong wire type are skipped, as a protobuf runtime keeps them as unknown fields.
fn enter<'a>(field: &Field<'a>, depth: usize) -> Result<Option<Reader<'a>>, WalkError> {
    Budget::enter(depth, field.offset)?;
    Ok(field.message())
}

fn string_entry<'a>(field: &Field<'a>, depth: usize) -> Result<Option<StringEntry<'a>>, WalkError> {
    let Some(reader) = enter(field, depth)? else {
        return Ok(None);
    };
    let mut entry = StringEntry {
        key: b"",
        value: b"",
        value_offset: field.offset,
    };
    for f in reader {
        let f = f?;
        match (f.number, f.bytes()) {
            (1, Some(b)) => entry.key = b,
            (2, Some(b)) => {
                entry.value = b;
                entry.value_offset = f.offset;
            }
            _ => {}
        }
    }
    Ok(Some(entry))
}

fn is_standard_domain(domain: &[u8]) -> bool {
    STANDARD_DOMAINS.iter().any(|d| d.as_bytes() == domain)
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Why an external-data location escapes the model directory, with the severity; `None`
/// for a plain relative path such as `weights/model.bin`.
fn external_path_problem(raw: &[u8]) -> Option<(Severity, String)> {
    if raw.contains(&0) {
        return Some((
            Severity::High,
            "contains a NUL byte: C and C++ loaders stop the path there, Python ones do not"
                .to_owned(),
        ));
    }
    let text = String::from_utf8_lossy(raw);
    if let Some(problem) = path_problem(&text) {
        return Some(problem);
    }
    // Loaders do not percent-decode, but a path that only escapes once decoded is an
    // attempt to get past filters that do.
    let decoded = percent_decode(&text)?;
    path_problem(&decoded).map(|(severity, why)| (severity, format!("{why} once percent-decoded")))
}

fn path_problem(path: &str) -> Option<(Severity, String)> {
    // Windows loaders accept both separators.
    let path = path.replace('\\', "/");
    if path.starts_with('/') {
        return Some((
            Severity::Critical,
            "is an absolute path (or a UNC share), so it can name any file on the machine"
                .to_owned(),
        ));
    }
    let bytes = path.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return Some((
            Severity::Critical,
            "starts with a Windows drive letter, so it can name any file on that drive".to_owned(),
        ));
    }
    if let Some((scheme, _)) = path.split_once("://")
        && !scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        return Some((
            Severity::High,
            format!("is a `{scheme}` URL rather than a file next to the model"),
        ));
    }
    let mut depth = 0usize;
    let mut climbs = false;
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                let Some(up) = depth.checked_sub(1) else {
                    return Some((
                        Severity::Critical,
                        "climbs out of the model directory with `..`".to_owned(),
                    ));
                };
                depth = up;
                climbs = true;
            }
            _ => depth += 1,
        }
    }
    climbs.then(|| {
        (
            Severity::High,
            "contains a `..` segment: it stays inside the model directory only if no directory \
             on the way is a symlink, and onnx 1.16+ rejects it"
                .to_owned(),
        )
    })
}

/// `%2e%2e%2f` → `../`; `None` when nothing was encoded.
fn percent_decode(text: &str) -> Option<String> {
    if !text.contains('%') {
        return None;
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protobuf::encode::Msg;
    use crate::test_support::fixture;
    use proptest::prelude::*;

    fn scan_bytes(data: &[u8]) -> Vec<Finding> {
        let mut out = Vec::new();
        scan(
            data,
            &Location::file("model.onnx"),
            &Limits::default(),
            &mut out,
        );
        out
    }

    fn ids(findings: &[Finding]) -> Vec<&'static str> {
        findings.iter().map(|f| f.rule.id).collect()
    }

    fn external_tensor(name: &str, location: &str) -> Msg {
        let entry = Msg::new().string(1, "location").string(2, location);
        Msg::new()
            .varint(1, 2)
            .varint(2, 1)
            .string(8, name)
            .msg(13, &entry)
            .varint(14, 1)
    }

    fn model_with_graph(graph: &Msg) -> Vec<u8> {
        Msg::new()
            .varint(1, 8)
            .string(2, "test")
            .msg(7, graph)
            .msg(8, &Msg::new().string(1, "").varint(2, 17))
            .0
    }

    #[test]
    fn benign_models_are_clean() {
        for name in [
            "benign_mlp.onnx",
            "benign_external.onnx",
            "benign_local_function.onnx",
        ] {
            let data = fixture("onnx", name);
            assert!(looks_like_onnx(&data), "{name}");
            assert!(
                scan_bytes(&data).is_empty(),
                "{name}: {:?}",
                scan_bytes(&data)
            );
        }
    }

    #[test]
    fn traversal_fixtures_are_critical() {
        for (name, needle) in [
            ("traversal_relative.onnx", "../../etc/passwd"),
            ("traversal_absolute.onnx", "/etc/passwd"),
            ("traversal_in_if_subgraph.onnx", "../../../etc/shadow"),
        ] {
            let findings = scan_bytes(&fixture("onnx", name));
            assert_eq!(
                ids(&findings),
                ["onnx/external-data-path-traversal"],
                "{name}"
            );
            assert_eq!(findings[0].severity, Severity::Critical, "{name}");
            assert!(
                findings[0].evidence.as_deref().unwrap().contains(needle),
                "{name}"
            );
            // The finding points into the model file, not at the target path.
            assert_eq!(findings[0].location.path, "model.onnx");
            assert!(findings[0].location.offset.is_some());
        }
    }

    #[test]
    fn url_fixture_is_high() {
        let findings = scan_bytes(&fixture("onnx", "traversal_url.onnx"));
        assert_eq!(ids(&findings), ["onnx/external-data-path-traversal"]);
        assert_eq!(findings[0].severity, Severity::High);
    }

    #[test]
    fn custom_domain_fixture_needs_a_library() {
        let findings = scan_bytes(&fixture("onnx", "custom_domain.onnx"));
        assert_eq!(ids(&findings), ["onnx/custom-operator-domain"]);
        assert_eq!(findings[0].severity, Severity::High);
        assert!(findings[0].message.contains("evil.ops"));
        assert!(findings[0].message.contains("RunShell"));
    }

    #[test]
    fn built_in_runtime_domains_are_info() {
        let node = Msg::new()
            .string(1, "x")
            .string(2, "y")
            .string(3, "gelu")
            .string(4, "Gelu")
            .string(7, "com.microsoft");
        let findings = scan_bytes(&model_with_graph(&Msg::new().msg(1, &node)));
        assert_eq!(ids(&findings), ["onnx/custom-operator-domain"]);
        assert_eq!(findings[0].severity, Severity::Info);
    }

    #[test]
    fn custom_ops_are_grouped_per_domain() {
        let mut graph = Msg::new();
        for i in 0..20 {
            let node = Msg::new()
                .string(3, &format!("n{i}"))
                .string(4, &format!("Op{}", i % 10))
                .string(7, "acme");
            graph = graph.msg(1, &node);
        }
        let findings = scan_bytes(&model_with_graph(&graph));
        assert_eq!(findings.len(), 1);
        assert!(findings[0].message.starts_with("20 node(s), first `n0`"));
        assert!(findings[0].message.contains("… 2 more"));
    }

    #[test]
    fn local_functions_are_not_custom_ops_even_when_declared_after_the_graph() {
        let node = Msg::new().string(4, "MyGelu").string(7, "local.fns");
        let function = Msg::new()
            .string(1, "MyGelu")
            .string(10, "local.fns")
            .msg(7, &Msg::new().string(4, "Tanh"));
        let mut model = model_with_graph(&Msg::new().msg(1, &node));
        model.extend(Msg::new().msg(25, &function).0);
        assert!(scan_bytes(&model).is_empty());
        // Nodes inside a function body are checked too.
        let bad_function = Msg::new()
            .string(1, "F")
            .string(10, "local.fns")
            .msg(7, &Msg::new().string(4, "Payload").string(7, "evil"));
        let model = Msg::new().varint(1, 8).msg(25, &bad_function).0;
        assert_eq!(ids(&scan_bytes(&model)), ["onnx/custom-operator-domain"]);
    }

    #[test]
    fn traversal_in_nested_subgraphs_sparse_tensors_and_training_graphs() {
        let bad = external_tensor("w", "../secret");
        // Loop body inside an If branch inside a Scan body.
        let mut graph = Msg::new().msg(5, &bad);
        for _ in 0..3 {
            let attribute = Msg::new().string(1, "body").msg(6, &graph);
            graph = Msg::new().msg(1, &Msg::new().string(4, "If").msg(5, &attribute));
        }
        assert_eq!(
            ids(&scan_bytes(&model_with_graph(&graph))),
            ["onnx/external-data-path-traversal"]
        );

        let sparse = Msg::new().msg(1, &bad).msg(2, &Msg::new().string(8, "idx"));
        let graph = Msg::new().msg(15, &sparse);
        assert_eq!(scan_bytes(&model_with_graph(&graph)).len(), 1);

        let attr_tensors = Msg::new().msg(10, &bad);
        let graph = Msg::new().msg(1, &Msg::new().string(4, "Constant").msg(5, &attr_tensors));
        assert_eq!(scan_bytes(&model_with_graph(&graph)).len(), 1);

        let training = Msg::new().msg(2, &Msg::new().msg(5, &bad));
        let mut model = model_with_graph(&Msg::new());
        model.extend(Msg::new().msg(20, &training).0);
        assert_eq!(scan_bytes(&model).len(), 1);
    }

    #[test]
    fn the_same_location_is_reported_once() {
        let graph = Msg::new()
            .msg(5, &external_tensor("a", "/etc/passwd"))
            .msg(5, &external_tensor("b", "/etc/passwd"))
            .msg(5, &external_tensor("c", "ok.bin"));
        let findings = scan_bytes(&model_with_graph(&graph));
        assert_eq!(findings.len(), 1);
        assert!(findings[0].message.contains("`a` (and 1 more tensors)"));
    }

    #[test]
    fn classifies_external_locations() {
        let severity = |p: &[u8]| external_path_problem(p).map(|(s, _)| s);
        for ok in [
            &b"model.onnx.data"[..],
            b"weights/layer.0.bin",
            b"./data.bin",
            b"a..b",
            b"x%41",
        ] {
            assert_eq!(severity(ok), None, "{}", String::from_utf8_lossy(ok));
        }
        for critical in [
            &b"../../etc/passwd"[..],
            b"/etc/passwd",
            b"C:\\Windows\\win.ini",
            b"c:/x",
            b"\\\\server\\share\\x",
            b"//server/share",
            b"a/../../b",
            b"..\\..\\x",
            b"%2e%2e/%2e%2e/etc/passwd",
            b"%2Fetc%2Fpasswd",
        ] {
            assert_eq!(
                severity(critical),
                Some(Severity::Critical),
                "{}",
                String::from_utf8_lossy(critical)
            );
        }
        for high in [
            &b"https://evil/x"[..],
            b"file:///etc/passwd",
            b"a/../b",
            b"data.bin\0.txt",
        ] {
            assert_eq!(
                severity(high),
                Some(Severity::High),
                "{}",
                String::from_utf8_lossy(high)
            );
        }
    }

    #[test]
    fn malformed_models_fail_closed() {
        let mut truncated = fixture("onnx", "benign_mlp.onnx");
        truncated.truncate(truncated.len() / 2);
        let findings = scan_bytes(&truncated);
        assert_eq!(ids(&findings), ["scan/malformed"]);
        assert!(findings[0].location.offset.is_some());

        assert_eq!(ids(&scan_bytes(b"")), ["scan/malformed"]);
        assert_eq!(
            ids(&scan_bytes(b"hello world, not protobuf")),
            ["scan/malformed"]
        );
        // Findings made before the error are kept.
        let mut model = model_with_graph(&Msg::new().msg(5, &external_tensor("w", "/etc/x")));
        model.extend([0x3a, 0x10]);
        assert_eq!(
            ids(&scan_bytes(&model)),
            ["onnx/external-data-path-traversal", "scan/malformed"]
        );
    }

    #[test]
    fn deep_nesting_and_entry_counts_hit_limits() {
        let mut graph = Msg::new();
        for _ in 0..60 {
            let attribute = Msg::new().msg(6, &graph);
            graph = Msg::new().msg(1, &Msg::new().msg(5, &attribute));
        }
        let findings = scan_bytes(&model_with_graph(&graph));
        assert_eq!(ids(&findings), ["scan/limit-exceeded"]);

        let mut graph = Msg::new();
        for _ in 0..10 {
            graph = graph.msg(1, &Msg::new().string(4, "Relu"));
        }
        let limits = Limits {
            max_metadata_entries: 5,
            ..Limits::default()
        };
        let mut out = Vec::new();
        scan(
            &model_with_graph(&graph),
            &Location::file("m.onnx"),
            &limits,
            &mut out,
        );
        assert_eq!(ids(&out), ["scan/limit-exceeded"]);
    }

    #[test]
    fn raw_data_is_skipped_not_parsed() {
        // raw_data full of bytes that would be malformed as a message.
        let tensor = Msg::new().string(8, "w").bytes(9, &[0xff; 4096]);
        assert!(scan_bytes(&model_with_graph(&Msg::new().msg(5, &tensor))).is_empty());
    }

    #[test]
    fn sniffs_onnx_but_not_other_protobufs() {
        assert!(looks_like_onnx(&model_with_graph(&Msg::new())));
        // Cut inside the graph.
        let model = model_with_graph(&Msg::new().msg(1, &Msg::new().string(4, "Relu")));
        assert!(looks_like_onnx(&model[..model.len() - 8]));
        let no_producer = Msg::new().varint(1, 7).msg(7, &Msg::new().string(2, "g")).0;
        assert!(looks_like_onnx(&no_producer[..4]));
        // A SavedModel: schema version 1, then a binary MetaGraphDef.
        let saved_model = Msg::new()
            .varint(1, 1)
            .msg(2, &Msg::new().msg(1, &Msg::new().string(4, "serve")))
            .0;
        assert!(!looks_like_onnx(&saved_model));
        assert!(!looks_like_onnx(&saved_model[..3]));
        assert!(!looks_like_onnx(b"\x08\x07"));
        assert!(!looks_like_onnx(b"PK\x03\x04"));
        assert!(!looks_like_onnx(b"\x08\x63\x12\x01a"));
        assert!(!looks_like_onnx(b""));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..1024)) {
            let _ = looks_like_onnx(&data);
            let _ = scan_bytes(&data);
        }

        #[test]
        fn mutated_models_never_panic(
            flips in proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>()), 1..8),
            cut in any::<proptest::sample::Index>(),
        ) {
            let mut data = fixture("onnx", "traversal_in_if_subgraph.onnx");
            for (index, byte) in flips {
                let i = index.index(data.len());
                data[i] = byte;
            }
            let len = cut.index(data.len() + 1);
            let _ = scan_bytes(&data[..len]);
        }
    }
}
