//! Chat templates: the real templates of published models are clean, the published
//! injection payloads are caught, and arbitrary input never panics.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::fs;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use rampart_core::{Finding, Limits, Location};
use rampart_formats::chat_template::{scan_template, scan_tokenizer_config};

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/chat_template")
        .join(kind);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jinja"))
        .collect();
    files.sort();
    files
}

fn scan_file(path: &Path) -> Vec<Finding> {
    let text = fs::read_to_string(path).unwrap();
    let mut out = Vec::new();
    scan_template(&text, &Location::file(path.display().to_string()), &mut out);
    out
}

#[test]
fn real_model_templates_are_clean() {
    let files = fixtures("benign");
    assert!(files.len() >= 50, "benign corpus went missing");
    for path in files {
        let found = scan_file(&path);
        assert!(found.is_empty(), "{}: {:#?}", path.display(), found);
    }
}

#[test]
fn every_malicious_fixture_is_caught() {
    let files = fixtures("malicious");
    assert!(files.len() >= 10);
    for path in files {
        let found = scan_file(&path);
        let expected = if path.ends_with("computed-attr.jinja") {
            "template/computed-attribute"
        } else {
            "template/python-internals"
        };
        assert!(
            found.iter().any(|f| f.rule.id == expected),
            "{}: {:#?}",
            path.display(),
            found
        );
        assert!(
            found
                .iter()
                .all(|f| f.evidence.is_some() && f.location.line.is_some())
        );
    }
}

#[test]
fn the_cve_payload_reports_the_decoded_names() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/chat_template/malicious");
    let found = scan_file(&dir.join("attr-hex-escapes.jinja"));
    let evidence = found[0].evidence.as_deref().unwrap();
    assert!(
        evidence.contains("__class__") && evidence.contains("__subclasses__"),
        "{evidence}"
    );
    assert_eq!(found[0].severity, rampart_core::Severity::Critical);

    let found = scan_file(&dir.join("hidden-in-benign-template.jinja"));
    // The name is assembled on line 4 and used on line 5: both are reported.
    let lines: Vec<_> = found.iter().map(|f| f.location.line).collect();
    assert!(
        lines.contains(&Some(4)) && lines.contains(&Some(5)),
        "{found:#?}"
    );
    assert!(found.iter().any(|f| f.rule.id == "template/gadget-global"));
}

#[test]
fn tokenizer_config_templates_are_scanned_with_offsets() {
    let benign = fs::read_to_string(fixtures("benign")[0].clone()).unwrap();
    let config = serde_json::json!({
        "bos_token": "<s>",
        "chat_template": [
            {"name": "default", "template": benign},
            {"name": "rag", "template": "{{ cycler.__init__.__globals__.os.popen('id').read() }}"},
        ],
    });
    let bytes = serde_json::to_vec_pretty(&config).unwrap();
    let mut out = Vec::new();
    scan_tokenizer_config(
        &bytes,
        &Location::file("tokenizer_config.json"),
        &Limits::default(),
        &mut out,
    );
    assert!(!out.is_empty());
    for finding in &out {
        let offset = finding.location.offset.unwrap() as usize;
        assert!(bytes[offset..].starts_with(b"\"{{ cycler"), "{finding:#?}");
        assert!(finding.message.contains("template line 1, column"));
    }
}

fn template_fragments() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "{{",
        "}}",
        "{%",
        "%}",
        "{#",
        "#}",
        "-",
        "+",
        "'",
        "\"",
        "\\x5f",
        "\\",
        "__class__",
        ".",
        "[",
        "]",
        "(",
        ")",
        "|attr(",
        "~",
        " ",
        "\n",
        "x",
        "for",
        "in",
        "set",
        "=",
        "if",
        "else",
        "raw",
        "endraw",
        "::-1",
        "*",
        "%",
        ",",
        "namespace",
        "cycler",
        "1",
        "é",
        "{",
        "}",
    ]);
    prop::collection::vec(pieces, 0..60).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        let mut out = Vec::new();
        scan_template(&text, &Location::file("t"), &mut out);
    }

    #[test]
    fn jinja_shaped_text_never_panics(text in template_fragments()) {
        let mut out = Vec::new();
        scan_template(&text, &Location::file("t"), &mut out);
        scan_tokenizer_config(text.as_bytes(), &Location::file("t"), &Limits::default(), &mut out);
    }

    #[test]
    fn mutated_real_templates_never_panic(index in 0usize..50, at in any::<prop::sample::Index>(), insert in template_fragments()) {
        let files = fixtures("benign");
        let mut text = fs::read_to_string(&files[index % files.len()]).unwrap();
        let mut cut = at.index(text.len() + 1);
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.insert_str(cut, &insert);
        let mut out = Vec::new();
        scan_template(&text, &Location::file("t"), &mut out);
    }
}
