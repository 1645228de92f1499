//! TorchScript source members (`code/**/*.py` in a TorchScript archive). TorchScript is
//! compiled, not run as Python, so it cannot import modules; what it can do on load is
//! call registered operators. Two kinds matter: operators that read files
//! (`aten::from_file`), and operators from non-standard namespaces, which exist only if a
//! native library was loaded into the process first.

use rampart_core::{Finding, Location, Reference, Rule, Severity};

pub static TORCHSCRIPT_FILE_ACCESS: Rule = Rule {
    id: "torchscript/file-access",
    scanner: "model",
    severity: Severity::High,
    title: "TorchScript code reads files",
    description: "The scripted model calls an operator that reads an arbitrary file into a tensor \
                  (`torch.from_file`, `aten::from_file`). A model has no reason to read files \
                  at inference time; this is how a scripted model exfiltrates or probes the host.",
    remediation: "Do not load the model. Re-export it without the file-reading call, or from a \
                  trusted source.",
    references: &[
        Reference::Cwe(73),
        Reference::Atlas("AML.T0011.000"),
        Reference::Atlas("AML.T0010.003"),
        Reference::Owasp("ML06:2023"),
    ],
};

pub static TORCHSCRIPT_CUSTOM_OPERATOR: Rule = Rule {
    id: "torchscript/custom-operator",
    scanner: "model",
    severity: Severity::Low,
    title: "TorchScript code calls operators from a custom namespace",
    description: "The scripted model calls operators outside PyTorch's own namespaces (aten, \
                  prim, quantized, …). They work only after a native extension library is loaded \
                  into the process, so the model depends on code that is not in the file. \
                  Well-known extensions (torchvision, torchaudio) are reported too, at low \
                  severity, so the dependency is visible.",
    remediation: "Check that every namespace reported comes from an extension you install from a \
                  trusted source; never load extension libraries shipped beside a model.",
    references: &[
        Reference::Cwe(829),
        Reference::Atlas("AML.T0010.003"),
        Reference::Owasp("ML06:2023"),
    ],
};

/// Operator namespaces built into PyTorch itself.
const BUILTIN_NAMESPACES: &[&str] = &[
    "aten",
    "prim",
    "quantized",
    "_quantized",
    "quantized_decomposed",
    "sparse",
    "profiler",
    "cuda",
    "mkldnn",
    "mkldnn_prepacked",
    "_caffe2",
    "onednn",
    "xnnpack",
    "fbgemm",
];

const FILE_READERS: &[&str] = &["torch.from_file", "ops.aten.from_file", "aten::from_file"];

/// Whether a zip member is a tensor storage of a PyTorch zip (`archive/data/0`): raw
/// bytes torch reads with a plain read and never unpickles.
pub fn is_storage_member(name: &str) -> bool {
    let mut parts = name.rsplit('/');
    let key = parts.next().unwrap_or_default();
    !key.is_empty() && key.bytes().all(|b| b.is_ascii_digit()) && parts.next() == Some("data")
}

/// Whether a zip member holds TorchScript source: `code/` in a TorchScript archive.
pub fn is_code_member(name: &str) -> bool {
    (name.starts_with("code/") || name.contains("/code/")) && name.ends_with(".py")
}

/// Reports file-reading operators and custom operator namespaces, each once per member
/// with the first line it appears on.
pub fn scan_code(source: &[u8], location: &Location, out: &mut Vec<Finding>) {
    let text = String::from_utf8_lossy(source);
    let mut reported: Vec<String> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line_no = u32::try_from(index + 1).unwrap_or(u32::MAX);
        for reader in FILE_READERS {
            if line.contains(reader) && !reported.iter().any(|r| r == reader) {
                reported.push((*reader).to_owned());
                out.push(
                    Finding::new(
                        &TORCHSCRIPT_FILE_ACCESS,
                        location.at_line(line_no, None),
                        format!("TorchScript calls `{reader}`, which reads a file from the host"),
                    )
                    .with_evidence(truncate(line.trim())),
                );
            }
        }
        for namespace in custom_namespaces(line) {
            if !reported.iter().any(|r| r == namespace) {
                reported.push(namespace.to_owned());
                out.push(
                    Finding::new(
                        &TORCHSCRIPT_CUSTOM_OPERATOR,
                        location.at_line(line_no, None),
                        format!(
                            "TorchScript calls operators from `{namespace}`, which needs a native \
                             extension loaded before the model"
                        ),
                    )
                    .with_evidence(truncate(line.trim())),
                );
            }
        }
    }
}

/// `ops.<namespace>.<op>` occurrences whose namespace is not PyTorch's own.
fn custom_namespaces(line: &str) -> impl Iterator<Item = &str> {
    line.match_indices("ops.").filter_map(move |(at, _)| {
        let before_ok = at == 0
            || !line.as_bytes()[at - 1].is_ascii_alphanumeric() && line.as_bytes()[at - 1] != b'_';
        let rest = &line[at + 4..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let namespace = &rest[..end];
        let followed_by_op = rest[end..].starts_with('.');
        (before_ok
            && followed_by_op
            && !namespace.is_empty()
            && !BUILTIN_NAMESPACES.contains(&namespace))
        .then_some(namespace)
    })
}

fn truncate(line: &str) -> String {
    const MAX: usize = 160;
    match line.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn findings(source: &str) -> Vec<Finding> {
        let mut out = Vec::new();
        scan_code(
            source.as_bytes(),
            &Location::file("m.pt").member("m/code/__torch__/m.py"),
            &mut out,
        );
        out
    }

    #[test]
    fn ordinary_scripted_code_is_clean() {
        let source = "class Net(Module):\n  __parameters__ = [\"weight\", ]\n  def forward(self: __torch__.Net,\n    x: Tensor) -> Tensor:\n    _0 = ops.aten.linear(x, self.weight)\n    _1 = torch.relu(ops.prim.NumToTensor(1))\n    return torch.add(_0, _1)\n";
        assert!(findings(source).is_empty());
    }

    #[test]
    fn file_reads_and_custom_namespaces_are_reported_once_each() {
        let source = "    a = torch.from_file(\"/etc/passwd\", False, 100)\n    b = ops.my_ext.run(a)\n    c = ops.my_ext.run(b)\n    d = ops.torchvision.nms(c, c, 0.5)\n    e = myops.aten.x(d)\n";
        let found = findings(source);
        let ids: Vec<(&str, Option<u32>)> =
            found.iter().map(|f| (f.rule.id, f.location.line)).collect();
        assert_eq!(
            ids,
            [
                ("torchscript/file-access", Some(1)),
                ("torchscript/custom-operator", Some(2)),
                ("torchscript/custom-operator", Some(4)),
            ]
        );
        assert!(found[1].message.contains("my_ext"));
    }

    #[test]
    fn code_members_are_recognised() {
        assert!(is_storage_member("archive/data/0"));
        assert!(is_storage_member("data/12"));
        assert!(!is_storage_member("archive/data.pkl"));
        assert!(!is_storage_member("archive/data/"));
        assert!(!is_storage_member("archive/data/0x"));
        assert!(!is_storage_member("archive/.data/0"));
        assert!(is_code_member("model/code/__torch__/model.py"));
        assert!(is_code_member("code/__torch__.py"));
        assert!(!is_code_member("model/data.pkl"));
        assert!(!is_code_member("model/code/__torch__/model.py.debug_pkl"));
    }
}
