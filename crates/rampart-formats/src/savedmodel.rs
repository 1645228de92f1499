//! TensorFlow SavedModel graphs (`saved_model.pb`), frozen `GraphDef` files and the Keras
//! metadata stored next to them (`keras_metadata.pb`).
//!
//! A SavedModel is a program: its graph runs when the model is served or called, with
//! whatever ops it names. Ops that call back into Python or reach the file system and
//! network are flagged, in the main graphs and in every function of the library (where
//! `tf.function` bodies live). The ops every SavedModel contains for checkpointing
//! (`SaveV2`, `RestoreV2`, `MergeV2Checkpoints`, `ShardedFilename`, `StringJoin`, …) are
//! deliberately not flagged. Field numbers follow tensorflow/core/protobuf/saved_model.proto,
//! meta_graph.proto, framework/graph.proto, node_def.proto, function.proto, attr_value.proto
//! and keras/protobuf/saved_metadata.proto.

use std::collections::{BTreeMap, HashSet};

use rampart_core::{Finding, Limits, Location, Reference, Rule, Severity};

use crate::keras;
use crate::protobuf::{Budget, Field, Reader, WalkError, WireError, quote};

pub static SAVEDMODEL_PYTHON_OP: Rule = Rule {
    id: "savedmodel/python-callback-op",
    scanner: "model",
    severity: Severity::Critical,
    title: "TensorFlow graph calls back into Python",
    description: "The graph contains `PyFunc`, `PyFuncStateless` or `EagerPyFunc`, which run an \
                  arbitrary Python function when the graph executes. A model has no reason to \
                  ship one: it exists to run code that is not a TensorFlow op, which is how \
                  a SavedModel smuggles in a payload (modelscan also rates these critical).",
    remediation: "Do not serve or call the model. Rebuild it without `tf.py_function` / \
                  `tf.numpy_function`, from a source you trust.",
    references: &[
        Reference::Cwe(94),
        Reference::Atlas("AML.T0010.003"),
        Reference::Atlas("AML.T0050"),
        Reference::Owasp("ML06:2023"),
    ],
};

pub static SAVEDMODEL_FILE_OR_NETWORK_OP: Rule = Rule {
    id: "savedmodel/file-or-network-op",
    scanner: "model",
    severity: Severity::High,
    title: "TensorFlow graph reads or writes files or the network",
    description: "The graph contains ops that read or write arbitrary files or reach the \
                  network when it runs: `ReadFile`, `WriteFile`, `MatchingFiles`, whole-file \
                  readers, `ImmutableConst` (maps a file path), summary and debug writers, \
                  RPC and tf.data service ops, or `PrintV2` writing to a file. Inference \
                  graphs do not need them; in a downloaded model they can exfiltrate data \
                  (ReadFile accepts gs://, s3:// and similar paths) or plant files. Checkpoint \
                  ops (`SaveV2`, `RestoreV2`) are not reported.",
    remediation: "Review what the op reads or writes (see the evidence). Strip it from the \
                  serving signature or re-export the model without it; do not serve the model \
                  with access to secrets until then.",
    references: &[
        Reference::Cwe(73),
        Reference::Atlas("AML.T0010.003"),
        Reference::Atlas("AML.T0011.000"),
        Reference::Owasp("ML06:2023"),
    ],
};

pub static SAVEDMODEL_DATASET_READER_OP: Rule = Rule {
    id: "savedmodel/dataset-reader-op",
    scanner: "model",
    severity: Severity::Medium,
    title: "TensorFlow graph embeds an input-pipeline file reader",
    description: "The graph contains tf.data or queue readers that open files by name \
                  (`TFRecordDataset`, `TextLineDataset`, `FixedLengthRecordDataset`, CSV, \
                  LMDB and SQL readers). They belong in training pipelines, not in exported \
                  models; in a served model they read whatever path they are fed or were \
                  given (medium: the path usually comes from the caller, not the model).",
    remediation: "Check which paths the reader opens and whether the op is reachable from the \
                  serving signature; re-export the model without the input pipeline.",
    references: &[
        // Reads whatever file path the graph names when the model runs.
        Reference::Cwe(73),
        Reference::Atlas("AML.T0010.003"),
        Reference::Atlas("AML.T0011.000"),
        Reference::Owasp("ML06:2023"),
    ],
};

const PYTHON_OPS: &[&str] = &["PyFunc", "PyFuncStateless", "EagerPyFunc"];

const FILE_OR_NETWORK_OPS: &[&str] = &[
    "ReadFile",
    "WriteFile",
    "MatchingFiles",
    "WholeFileReader",
    "WholeFileReaderV2",
    "ImmutableConst",
    "CreateSummaryFileWriter",
    "CreateSummaryDbWriter",
    "DebugIdentity",
    "DebugIdentityV2",
    "DebugIdentityV3",
    "DebugNanCount",
    "DebugNumericSummary",
    "DebugNumericSummaryV2",
    "Rpc",
    "TryRpc",
    "DataServiceDataset",
    "DataServiceDatasetV2",
    "DataServiceDatasetV3",
    "DataServiceDatasetV4",
    "RegisterDataset",
    "RegisterDatasetV2",
    "SaveDataset",
    "SaveDatasetV2",
    "DatasetToTFRecord",
    "ExperimentalDatasetToTFRecord",
    "SnapshotDataset",
    "SnapshotDatasetV2",
];

const DATASET_READER_OPS: &[&str] = &[
    "TFRecordDataset",
    "TFRecordDatasetV2",
    "TextLineDataset",
    "FixedLengthRecordDataset",
    "FixedLengthRecordDatasetV2",
    "TFRecordReader",
    "TFRecordReaderV2",
    "TextLineReader",
    "TextLineReaderV2",
    "FixedLengthRecordReader",
    "FixedLengthRecordReaderV2",
    "LMDBReader",
    "LMDBDataset",
    "ExperimentalLMDBDataset",
    "CSVDataset",
    "CSVDatasetV2",
    "ExperimentalCSVDataset",
    "SqlDataset",
    "ExperimentalSqlDataset",
    "LoadDataset",
];

/// Node attributes worth quoting as evidence: where the op writes or what it maps.
const EVIDENCE_ATTRS: &[&str] = &[
    "output_stream",
    "memory_region_name",
    "debug_urls",
    "address",
];

const QUOTE_MAX: usize = 200;

/// True when `prefix` starts like a `SavedModel` (schema version, then a `MetaGraphDef`)
/// or like a Keras `SavedMetadata` (`keras_metadata.pb`).
pub fn looks_like_saved_model(prefix: &[u8]) -> bool {
    let mut reader = Reader::new(prefix, 0);
    let mut first = reader.next();
    if let Some(Ok(f)) = &first
        && f.number == 1
        && matches!(f.varint(), Some(1..=16))
    {
        first = reader.next();
    }
    let meta_graph_start = match first {
        Some(Ok(f)) if f.number == 2 => f.bytes().and_then(|b| b.first().copied()),
        // A MetaGraphDef is large; the prefix usually ends inside it.
        Some(Err(WireError::LengthOutOfBounds { offset, .. })) => offset
            .checked_sub(1)
            .and_then(|tag| prefix.get(tag as usize))
            .filter(|&&tag| tag == 0x12)
            .and_then(|_| skip_varint(prefix, offset as usize))
            .and_then(|start| prefix.get(start).copied()),
        _ => None,
    };
    // MetaGraphDef fields 1–7 are all messages: meta_info_def, graph_def, saver_def, ….
    if matches!(
        meta_graph_start,
        Some(0x0a | 0x12 | 0x1a | 0x22 | 0x2a | 0x32 | 0x3a)
    ) {
        return true;
    }
    prefix.first() == Some(&0x0a) && memchr::memmem::find(prefix, b"_tf_keras_").is_some()
}

fn skip_varint(data: &[u8], start: usize) -> Option<usize> {
    let len = data
        .get(start..)?
        .iter()
        .take(10)
        .position(|b| b & 0x80 == 0)?;
    Some(start + len + 1)
}

/// Scans a `saved_model.pb`, a frozen `GraphDef` or a `keras_metadata.pb`, chosen by the
/// file name and the first field.
pub fn scan(data: &[u8], location: &Location, limits: &Limits, out: &mut Vec<Finding>) {
    let mut walk = Walk::new(limits);
    let result = match kind_of(data, location) {
        Kind::KerasMetadata => {
            scan_keras_metadata(data, location, limits, out);
            return;
        }
        Kind::SavedModel => walk.saved_model(data),
        Kind::GraphDef => walk.graph_def_root(data),
    };
    walk.report(location, out);
    WalkError::report_outcome(
        result,
        "TensorFlow graph",
        "TensorFlow protobuf holds no graph: this is not a usable SavedModel or GraphDef",
        location,
        out,
    );
}

enum Kind {
    SavedModel,
    GraphDef,
    KerasMetadata,
}

fn kind_of(data: &[u8], location: &Location) -> Kind {
    let name = location.name();
    let file_name = name.rsplit(['/', '\\']).next().unwrap_or(name);
    if file_name.eq_ignore_ascii_case("keras_metadata.pb") {
        return Kind::KerasMetadata;
    }
    match data.first() {
        // SavedModel.saved_model_schema_version (1) or .meta_graphs (2).
        Some(0x08 | 0x12) => Kind::SavedModel,
        // GraphDef.node (1) or SavedMetadata.nodes (1): Keras node identifiers give it away.
        Some(0x0a)
            if memchr::memmem::find(&data[..data.len().min(4096)], b"_tf_keras").is_some() =>
        {
            Kind::KerasMetadata
        }
        _ => Kind::GraphDef,
    }
}

/// `keras_metadata.pb`: `SavedMetadata { repeated SavedObject nodes = 1 }`, each with a
/// JSON `metadata` (5) that Keras revives layers from. A model node repeats its layers'
/// configs, so findings that repeat across nodes are reported once.
fn scan_keras_metadata(data: &[u8], location: &Location, limits: &Limits, out: &mut Vec<Finding>) {
    let mut budget = Budget::new(limits, "Keras metadata nodes");
    let mut seen: HashSet<(&'static str, String)> = HashSet::new();
    let result = (|| -> Result<(), WalkError> {
        for node in Reader::new(data, 0) {
            let node = node?;
            let Some(reader) = node.message().filter(|_| node.number == 1) else {
                continue;
            };
            budget.take(node.offset)?;
            for f in reader {
                let f = f?;
                let Some(json) = f.bytes().filter(|_| f.number == 5) else {
                    continue;
                };
                let mut found = Vec::new();
                keras::scan_config(json, &location.at(f.value_offset), limits, &mut found);
                for finding in found {
                    let key = finding
                        .evidence
                        .clone()
                        .unwrap_or_else(|| finding.message.clone());
                    if seen.insert((finding.rule.id, key)) {
                        out.push(finding);
                    }
                }
            }
        }
        Ok(())
    })();
    if let Err(e) = result {
        out.push(e.to_finding("Keras metadata", location));
    }
}

/// One flagged op type: how often, and the first place it was seen.
struct OpUse {
    rule: &'static Rule,
    what: &'static str,
    nodes: u64,
    offset: u64,
    first_node: String,
    function: Option<String>,
    evidence: Vec<String>,
}

struct Walk<'a> {
    budget: Budget,
    ops: BTreeMap<&'a [u8], OpUse>,
}

impl<'a> Walk<'a> {
    fn new(limits: &Limits) -> Self {
        Walk {
            budget: Budget::new(limits, "TensorFlow graph entries"),
            ops: BTreeMap::new(),
        }
    }

    /// `SavedModel { int64 saved_model_schema_version = 1; repeated MetaGraphDef meta_graphs = 2; }`
    fn saved_model(&mut self, data: &'a [u8]) -> Result<bool, WalkError> {
        let mut has_graph = false;
        for f in Reader::new(data, 0) {
            let f = f?;
            if f.number == 2
                && let Some(meta_graph) = enter(&f, 1)?
            {
                for g in meta_graph {
                    let g = g?;
                    // MetaGraphDef.graph_def = 2
                    if g.number == 2 && g.bytes().is_some() {
                        has_graph = true;
                        self.graph_def(&g, 2)?;
                    }
                }
            }
        }
        Ok(has_graph)
    }

    /// A frozen graph: the whole file is one `GraphDef`.
    fn graph_def_root(&mut self, data: &'a [u8]) -> Result<bool, WalkError> {
        let mut has_content = false;
        for f in Reader::new(data, 0) {
            let f = f?;
            has_content |= self.graph_def_field(&f, 1)?;
        }
        Ok(has_content)
    }

    /// `GraphDef { repeated NodeDef node = 1; FunctionDefLibrary library = 2; }`
    fn graph_def(&mut self, field: &Field<'a>, depth: usize) -> Result<(), WalkError> {
        let Some(reader) = enter(field, depth)? else {
            return Ok(());
        };
        for f in reader {
            self.graph_def_field(&f?, depth + 1)?;
        }
        Ok(())
    }

    /// One field of a `GraphDef`; returns whether it was a node or the library.
    fn graph_def_field(&mut self, f: &Field<'a>, depth: usize) -> Result<bool, WalkError> {
        match f.number {
            1 if f.bytes().is_some() => self.node(f, depth, None)?,
            2 => {
                let Some(library) = enter(f, depth)? else {
                    return Ok(false);
                };
                // FunctionDefLibrary.function = 1
                for function in library {
                    let function = function?;
                    if function.number == 1 {
                        self.function(&function, depth + 1)?;
                    }
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// `FunctionDef { OpDef signature = 1; repeated NodeDef node_def = 3; }`
    fn function(&mut self, field: &Field<'a>, depth: usize) -> Result<(), WalkError> {
        let Some(reader) = enter(field, depth)? else {
            return Ok(());
        };
        self.budget.take(field.offset)?;
        let mut name = None;
        let mut nodes = Vec::new();
        for f in reader {
            let f = f?;
            match f.number {
                1 => {
                    if let Some(signature) = enter(&f, depth + 1)? {
                        for s in signature {
                            let s = s?;
                            if s.number == 1 {
                                name = s.bytes();
                            }
                        }
                    }
                }
                3 => nodes.push(f),
                _ => {}
            }
        }
        let name = name.map(|n| quote(&String::from_utf8_lossy(n), QUOTE_MAX));
        for node in nodes {
            self.node(&node, depth + 1, name.as_deref())?;
        }
        Ok(())
    }

    /// `NodeDef { string name = 1; string op = 2; map<string, AttrValue> attr = 5; }`
    fn node(
        &mut self,
        field: &Field<'a>,
        depth: usize,
        function: Option<&str>,
    ) -> Result<(), WalkError> {
        let Some(reader) = enter(field, depth)? else {
            return Ok(());
        };
        self.budget.take(field.offset)?;
        let (mut name, mut op): (&[u8], &'a [u8]) = (b"", b"");
        let mut attrs = Vec::new();
        for f in reader {
            let f = f?;
            match f.number {
                1 => name = f.bytes().unwrap_or_default(),
                2 => op = f.bytes().unwrap_or_default(),
                5 => attrs.push(f),
                _ => {}
            }
        }
        let mut evidence = Vec::new();
        for attr in &attrs {
            if let Some((key, values)) = string_attr(attr, depth + 1)? {
                evidence.extend(values.into_iter().map(|v| format!("{key}={v}")));
            }
        }
        let Some((rule, what)) = classify_op(op, &evidence) else {
            return Ok(());
        };
        let usage = self.ops.entry(op).or_insert_with(|| OpUse {
            rule,
            what,
            nodes: 0,
            offset: field.offset,
            first_node: quote(&String::from_utf8_lossy(name), QUOTE_MAX),
            function: function.map(str::to_owned),
            evidence: Vec::new(),
        });
        usage.nodes += 1;
        for e in evidence {
            if usage.evidence.len() < 4 && !usage.evidence.contains(&e) {
                usage.evidence.push(e);
            }
        }
        Ok(())
    }

    fn report(self, location: &Location, out: &mut Vec<Finding>) {
        for (op, usage) in self.ops {
            let op = quote(&String::from_utf8_lossy(op), QUOTE_MAX);
            let place = match &usage.function {
                Some(function) => format!("in function `{function}`"),
                None => "in the graph".to_owned(),
            };
            let others = match usage.nodes {
                1 => String::new(),
                n => format!(" (and {} more nodes)", n - 1),
            };
            let mut evidence = format!("op={op}");
            for e in &usage.evidence {
                evidence.push(' ');
                evidence.push_str(e);
            }
            out.push(
                Finding::new(
                    usage.rule,
                    location.at(usage.offset),
                    format!(
                        "Node `{}`{others} {place} uses `{op}`, which {} when the graph executes",
                        usage.first_node, usage.what
                    ),
                )
                .with_evidence(evidence),
            );
        }
    }
}

fn enter<'a>(field: &Field<'a>, depth: usize) -> Result<Option<Reader<'a>>, WalkError> {
    Budget::enter(depth, field.offset)?;
    Ok(field.message())
}

/// The rule an op falls under, and what it does, for the message.
fn classify_op(op: &[u8], evidence: &[String]) -> Option<(&'static Rule, &'static str)> {
    const FILES: &str = "touches files or the network";
    let is = |list: &[&str]| list.iter().any(|o| o.as_bytes() == op);
    if is(PYTHON_OPS) {
        Some((&SAVEDMODEL_PYTHON_OP, "runs arbitrary Python code"))
    } else if is(FILE_OR_NETWORK_OPS) {
        Some((&SAVEDMODEL_FILE_OR_NETWORK_OP, FILES))
    } else if is(DATASET_READER_OPS) {
        Some((&SAVEDMODEL_DATASET_READER_OP, "opens input files by name"))
    } else if op == b"PrintV2"
        && evidence
            .iter()
            .any(|e| e.starts_with("output_stream=file://"))
    {
        // tf.print goes to stderr; a `file://` stream appends to any file.
        Some((&SAVEDMODEL_FILE_OR_NETWORK_OP, FILES))
    } else {
        None
    }
}

/// A `NodeDef.attr` map entry whose key is in [`EVIDENCE_ATTRS`], with its string value(s)
/// (`AttrValue.s` = 2, or `AttrValue.list` = 1 → `ListValue.s` = 2).
fn string_attr(
    entry: &Field<'_>,
    depth: usize,
) -> Result<Option<(String, Vec<String>)>, WalkError> {
    let Some(reader) = enter(entry, depth)? else {
        return Ok(None);
    };
    let mut key = None;
    let mut value = None;
    for f in reader {
        let f = f?;
        match f.number {
            1 => key = f.bytes(),
            2 => value = Some(f),
            _ => {}
        }
    }
    let Some(key) = key
        .and_then(|k| std::str::from_utf8(k).ok())
        .and_then(|k| EVIDENCE_ATTRS.iter().find(|a| **a == k))
    else {
        return Ok(None);
    };
    let mut values = Vec::new();
    let Some(attr_value) = value else {
        return Ok(None);
    };
    let Some(reader) = enter(&attr_value, depth + 1)? else {
        return Ok(None);
    };
    let mut push = |bytes: &[u8]| {
        if values.len() < 4 {
            values.push(quote(&String::from_utf8_lossy(bytes), QUOTE_MAX));
        }
    };
    for f in reader {
        let f = f?;
        match (f.number, f.bytes()) {
            (2, Some(s)) => push(s),
            (1, Some(_)) => {
                if let Some(list) = enter(&f, depth + 2)? {
                    for item in list {
                        let item = item?;
                        if let (2, Some(s)) = (item.number, item.bytes()) {
                            push(s);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(Some(((*key).to_owned(), values)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protobuf::encode::Msg;
    use crate::test_support::fixture;
    use proptest::prelude::*;

    fn node(name: &str, op: &str) -> Msg {
        Msg::new()
            .string(1, name)
            .string(2, op)
            .string(4, "/device:CPU:0")
    }

    fn string_attr(key: &str, value: &str) -> Msg {
        Msg::new()
            .string(1, key)
            .msg(2, &Msg::new().string(2, value))
    }

    /// What `tf.saved_model.save` writes for a small Keras model: variables, a matmul,
    /// the saver's checkpoint ops and a `tf.function` in the library.
    fn benign_graph() -> Msg {
        let mut graph = Msg::new();
        for (name, op) in [
            ("serving_default_x", "Placeholder"),
            ("dense/kernel", "VarHandleOp"),
            ("dense/kernel/Read/ReadVariableOp", "ReadVariableOp"),
            ("StatefulPartitionedCall", "StatefulPartitionedCall"),
            ("saver_filename", "Placeholder"),
            ("StaticRegexFullMatch", "StaticRegexFullMatch"),
            ("Const", "Const"),
            ("StringJoin", "StringJoin"),
            ("num_shards", "Const"),
            ("ShardedFilename", "ShardedFilename"),
            ("SaveV2", "SaveV2"),
            ("MergeV2Checkpoints", "MergeV2Checkpoints"),
            ("RestoreV2", "RestoreV2"),
            ("AssignVariableOp", "AssignVariableOp"),
            ("NoOp", "NoOp"),
        ] {
            graph = graph.msg(1, &node(name, op));
        }
        let function = Msg::new()
            .msg(1, &Msg::new().string(1, "__inference_call_123"))
            .msg(3, &node("MatMul", "MatMul"))
            .msg(3, &node("BiasAdd", "BiasAdd"))
            .msg(3, &node("Relu", "Relu"))
            .msg(
                3,
                &node("print", "PrintV2").msg(5, &string_attr("output_stream", "stderr")),
            );
        graph.msg(2, &Msg::new().msg(1, &function))
    }

    fn saved_model(graph: &Msg) -> Vec<u8> {
        let meta_info = Msg::new()
            .string(4, "serve")
            .string(5, "2.15.0")
            .msg(2, &Msg::new().msg(1, &Msg::new().string(1, "MatMul")));
        let meta_graph = Msg::new().msg(1, &meta_info).msg(2, graph);
        Msg::new().varint(1, 1).msg(2, &meta_graph).0
    }

    fn scan_named(data: &[u8], name: &str) -> Vec<Finding> {
        let mut out = Vec::new();
        scan(data, &Location::file(name), &Limits::default(), &mut out);
        out
    }

    fn scan_bytes(data: &[u8]) -> Vec<Finding> {
        scan_named(data, "saved_model.pb")
    }

    fn ids(findings: &[Finding]) -> Vec<&'static str> {
        findings.iter().map(|f| f.rule.id).collect()
    }

    #[test]
    fn benign_saved_model_is_clean() {
        let data = saved_model(&benign_graph());
        assert!(looks_like_saved_model(&data));
        assert!(scan_bytes(&data).is_empty(), "{:?}", scan_bytes(&data));
        // As a frozen GraphDef too.
        assert!(scan_named(&benign_graph().0, "frozen.pb").is_empty());
    }

    #[test]
    fn committed_fixtures() {
        let benign = fixture("savedmodel", "benign/saved_model.pb");
        assert!(looks_like_saved_model(&benign));
        assert!(scan_bytes(&benign).is_empty());

        let findings = scan_bytes(&fixture("savedmodel", "malicious/saved_model.pb"));
        let mut found = ids(&findings);
        found.sort_unstable();
        assert_eq!(
            found,
            [
                "savedmodel/file-or-network-op",
                "savedmodel/file-or-network-op",
                "savedmodel/python-callback-op"
            ]
        );

        let metadata = fixture("savedmodel", "lambda/keras_metadata.pb");
        assert!(looks_like_saved_model(&metadata));
        let findings = scan_named(&metadata, "keras_metadata.pb");
        assert_eq!(ids(&findings), ["keras/lambda-layer"]);
        assert!(findings[0].message.contains("os, __import__, system"));
    }

    #[test]
    fn py_func_in_a_library_function_is_critical() {
        let function = Msg::new()
            .msg(1, &Msg::new().string(1, "__inference_payload_7"))
            .msg(
                3,
                &node("PyFunc", "PyFunc").msg(5, &string_attr("token", "pyfunc_0")),
            );
        let graph = benign_graph().msg(2, &Msg::new().msg(1, &function));
        let findings = scan_bytes(&saved_model(&graph));
        assert_eq!(ids(&findings), ["savedmodel/python-callback-op"]);
        assert_eq!(findings[0].severity, Severity::Critical);
        assert!(findings[0].message.contains("__inference_payload_7"));
        assert!(findings[0].location.offset.is_some());
    }

    #[test]
    fn file_ops_are_high_and_grouped() {
        let graph = benign_graph()
            .msg(1, &node("read", "ReadFile"))
            .msg(1, &node("read_1", "ReadFile"))
            .msg(1, &node("write", "WriteFile"))
            .msg(
                1,
                &node("mapped", "ImmutableConst")
                    .msg(5, &string_attr("memory_region_name", "/etc/shadow")),
            );
        let findings = scan_bytes(&saved_model(&graph));
        assert_eq!(
            ids(&findings),
            [
                "savedmodel/file-or-network-op",
                "savedmodel/file-or-network-op",
                "savedmodel/file-or-network-op"
            ]
        );
        let read = findings
            .iter()
            .find(|f| f.message.contains("ReadFile"))
            .unwrap();
        assert!(read.message.contains("`read` (and 1 more nodes)"));
        let mapped = findings
            .iter()
            .find(|f| f.message.contains("ImmutableConst"))
            .unwrap();
        assert_eq!(
            mapped.evidence.as_deref(),
            Some("op=ImmutableConst memory_region_name=/etc/shadow")
        );
    }

    #[test]
    fn print_to_a_file_and_debug_urls_are_flagged() {
        let list = Msg::new().msg(1, &Msg::new().string(2, "file:///tmp/dump"));
        let graph = Msg::new()
            .msg(
                1,
                &node("p", "PrintV2").msg(5, &string_attr("output_stream", "file:///root/.bashrc")),
            )
            .msg(
                1,
                &node("d", "DebugIdentity")
                    .msg(5, &Msg::new().string(1, "debug_urls").msg(2, &list)),
            );
        let findings = scan_bytes(&saved_model(&graph));
        assert_eq!(findings.len(), 2);
        assert!(
            findings
                .iter()
                .any(|f| f.evidence.as_deref()
                    == Some("op=DebugIdentity debug_urls=file:///tmp/dump"))
        );
        assert!(findings.iter().any(
            |f| f.evidence.as_deref() == Some("op=PrintV2 output_stream=file:///root/.bashrc")
        ));
    }

    #[test]
    fn dataset_readers_are_medium() {
        let graph = Msg::new().msg(1, &node("ds", "TFRecordDatasetV2"));
        let findings = scan_bytes(&saved_model(&graph));
        assert_eq!(ids(&findings), ["savedmodel/dataset-reader-op"]);
        assert_eq!(findings[0].severity, Severity::Medium);
    }

    #[test]
    fn malformed_and_empty_fail_closed() {
        let data = saved_model(&benign_graph());
        let findings = scan_bytes(&data[..data.len() - 3]);
        assert_eq!(ids(&findings), ["scan/malformed"]);
        assert_eq!(ids(&scan_bytes(b"")), ["scan/malformed"]);
        assert_eq!(
            ids(&scan_bytes(&Msg::new().varint(1, 1).0)),
            ["scan/malformed"]
        );
        assert_eq!(
            ids(&scan_bytes(b"\x08\x01\x12\xff\xff\xff\xff\x0f")),
            ["scan/malformed"]
        );
    }

    #[test]
    fn entry_limit_is_enforced() {
        let limits = Limits {
            max_metadata_entries: 3,
            ..Limits::default()
        };
        let mut out = Vec::new();
        scan(
            &saved_model(&benign_graph()),
            &Location::file("saved_model.pb"),
            &limits,
            &mut out,
        );
        assert_eq!(ids(&out), ["scan/limit-exceeded"]);
    }

    fn keras_metadata(objects: &[&str]) -> Vec<u8> {
        let mut metadata = Msg::new();
        for (i, json) in objects.iter().enumerate() {
            let object = Msg::new()
                .msg(1, &Msg::new().varint(1, 2))
                .varint(2, i as u64)
                .string(3, "root.layer")
                .string(4, "_tf_keras_layer")
                .string(5, json);
            metadata = metadata.msg(1, &object);
        }
        metadata.0
    }

    #[test]
    fn keras_metadata_configs_are_scanned_once() {
        let lambda = r#"{"class_name": "Lambda", "config": {"name": "lambda", "function": ["4wEAAAAAAAAA", null, null], "function_type": "lambda", "module": "__main__", "arguments": {}}}"#;
        let model = format!(
            r#"{{"class_name": "Sequential", "config": {{"name": "sequential", "layers": [{lambda}]}}}}"#
        );
        let data = keras_metadata(&[&model, lambda]);
        assert!(looks_like_saved_model(&data));
        let findings = scan_named(&data, "keras_metadata.pb");
        assert_eq!(ids(&findings), ["keras/lambda-layer"]);
        // Content sniffing finds it without the name too.
        assert_eq!(ids(&scan_named(&data, "x.pb")), ["keras/lambda-layer"]);

        let benign = r#"{"class_name": "Dense", "config": {"name": "dense", "units": 2, "activation": "relu"}}"#;
        assert!(scan_named(&keras_metadata(&[benign]), "keras_metadata.pb").is_empty());
        let mut truncated = keras_metadata(&[benign]);
        truncated.pop();
        assert_eq!(
            ids(&scan_named(&truncated, "keras_metadata.pb")),
            ["scan/malformed"]
        );
    }

    #[test]
    fn sniffing() {
        let data = saved_model(&benign_graph());
        assert!(looks_like_saved_model(&data[..20]));
        assert!(!looks_like_saved_model(&benign_graph().0));
        assert!(!looks_like_saved_model(b"\x08\x08\x12\x04test"));
        assert!(!looks_like_saved_model(b""));
        assert!(!looks_like_saved_model(b"PK\x03\x04"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..1024)) {
            let _ = looks_like_saved_model(&data);
            let _ = scan_bytes(&data);
            let _ = scan_named(&data, "keras_metadata.pb");
        }

        #[test]
        fn mutated_saved_models_never_panic(
            flips in proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>()), 1..8),
            cut in any::<proptest::sample::Index>(),
        ) {
            let mut data = saved_model(&benign_graph().msg(1, &node("r", "ReadFile")));
            for (index, byte) in flips {
                let i = index.index(data.len());
                data[i] = byte;
            }
            let len = cut.index(data.len() + 1);
            let _ = scan_bytes(&data[..len]);
        }
    }
}
