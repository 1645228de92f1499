//! safetensors, GGUF and NumPy against the files in tests/fixtures (written by the official
//! libraries, see generate_tensor_formats.py), plus robustness on arbitrary and mutated input.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::fs;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use rampart_core::{Finding, Limits, Location};
use rampart_formats::{chat_template, gguf, numpy, safetensors};

fn fixture(kind: &str, name: &str) -> Vec<u8> {
    fs::read(fixture_dir(kind).join(name)).unwrap_or_else(|e| panic!("{kind}/{name}: {e}"))
}

fn fixture_dir(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(kind)
}

fn ids(findings: &[Finding]) -> Vec<&'static str> {
    let mut ids: Vec<_> = findings.iter().map(|f| f.rule.id).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

fn scan_safetensors(data: &[u8]) -> Vec<Finding> {
    let mut out = Vec::new();
    safetensors::scan(
        data,
        &Location::file("model.safetensors"),
        &Limits::default(),
        &mut out,
    );
    out
}

fn scan_gguf(data: &[u8]) -> Vec<Finding> {
    let mut out = Vec::new();
    gguf::scan(
        data,
        &Location::file("model.gguf"),
        &Limits::default(),
        &mut out,
    );
    out
}

fn scan_npy(data: &[u8]) -> (numpy::NpyInfo, Vec<Finding>) {
    let mut out = Vec::new();
    let info = numpy::scan(
        data,
        &Location::file("array.npy"),
        &Limits::default(),
        &mut out,
    );
    (info, out)
}

#[test]
fn safetensors_fixtures() {
    for (name, expected) in [
        ("benign_numpy.safetensors", &[][..]),
        ("benign_single.safetensors", &[]),
        (
            "trailing_payload.safetensors",
            &["safetensors/unaccounted-bytes"],
        ),
        (
            "gap_payload.safetensors",
            &["safetensors/unaccounted-bytes"],
        ),
        ("overlapping.safetensors", &["safetensors/tensor-layout"]),
        ("unknown_dtype.safetensors", &["safetensors/invalid-header"]),
        ("duplicate_key.safetensors", &["safetensors/duplicate-key"]),
        ("truncated.safetensors", &["safetensors/tensor-layout"]),
        ("header_length_past_end.safetensors", &["scan/malformed"]),
    ] {
        let data = fixture("safetensors", name);
        let found = scan_safetensors(&data);
        assert_eq!(ids(&found), expected, "{name}: {found:#?}");
        if name.starts_with("benign") {
            assert!(safetensors::looks_like_safetensors(&data), "{name}");
        }
    }
    let found = scan_safetensors(&fixture("safetensors", "gap_payload.safetensors"));
    assert!(
        found[0].message.starts_with("16 bytes between tensors"),
        "{found:#?}"
    );
    assert!(
        found[0]
            .evidence
            .as_deref()
            .unwrap()
            .contains("|cos.system")
    );
}

#[test]
fn gguf_fixtures() {
    let oversized = &["gguf/oversized-count", "scan/malformed"][..];
    for (name, expected) in [
        ("benign_tiny.gguf", &[][..]),
        ("benign_big_endian.gguf", &[]),
        ("benign_vocab_only.gguf", &[]),
        ("truncated.gguf", &["scan/malformed"]),
        ("truncated_in_metadata.gguf", oversized),
        ("trailing_payload.gguf", &["gguf/unaccounted-bytes"]),
        ("huge_kv_count.gguf", oversized),
        ("huge_tensor_count.gguf", oversized),
        ("huge_string_length.gguf", oversized),
        ("huge_array_count.gguf", oversized),
        ("huge_n_dims.gguf", oversized),
        ("duplicate_key.gguf", &["gguf/duplicate-key"]),
        (
            "invalid_value_type.gguf",
            &["gguf/invalid-type", "scan/malformed"],
        ),
        ("unknown_tensor_type.gguf", &["gguf/invalid-type"]),
        ("overlapping_tensors.gguf", &["gguf/tensor-layout"]),
        (
            "misaligned_tensor.gguf",
            &["gguf/tensor-layout", "gguf/unaccounted-bytes"],
        ),
        ("tensor_past_end.gguf", &["gguf/tensor-layout"]),
    ] {
        let data = fixture("gguf", name);
        assert!(gguf::looks_like_gguf(&data), "{name}");
        let found = scan_gguf(&data);
        assert_eq!(ids(&found), expected, "{name}: {found:#?}");
    }
}

#[test]
fn gguf_chat_templates_are_analysed() {
    let data = fixture("gguf", "ssti_chat_template.gguf");
    let found = scan_gguf(&data);
    let ssti = found
        .iter()
        .find(|f| f.rule.id == "template/python-internals")
        .unwrap_or_else(|| panic!("{found:#?}"));
    let at = ssti.location.offset.unwrap() as usize;
    assert!(
        data[at..].starts_with(b"{% for x in ().__class__"),
        "{ssti:#?}"
    );
    assert!(ssti.message.contains("template line 1"));
}

#[test]
fn numpy_fixtures() {
    for entry in fs::read_dir(fixture_dir("numpy")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("benign") {
            continue;
        }
        let data = fs::read(&path).unwrap();
        assert!(numpy::looks_like_npy(&data));
        let (info, found) = scan_npy(&data);
        assert!(found.is_empty(), "{name}: {found:#?}");
        assert!(
            info.header.is_some() && info.pickle_offset.is_none(),
            "{name}"
        );
    }
    for name in ["object_array.npy", "object_field.npy"] {
        let data = fixture("numpy", name);
        let (info, found) = scan_npy(&data);
        assert!(found.is_empty(), "{name}: {found:#?}");
        let offset = info.pickle_offset.unwrap();
        assert_eq!(data[offset], 0x80, "{name}: the pickle starts with PROTO");
        assert_eq!(info.header.unwrap().item_size, None);
    }
    for (name, expected) in [
        ("trailing_data.npy", "numpy/trailing-data"),
        ("truncated.npy", "scan/malformed"),
        ("bad_header_key.npy", "scan/malformed"),
        ("non_literal_header.npy", "scan/malformed"),
    ] {
        let (_, found) = scan_npy(&fixture("numpy", name));
        assert_eq!(ids(&found), [expected], "{name}: {found:#?}");
    }
    let (info, _) = scan_npy(&fixture("numpy", "benign_v3_utf8.npy"));
    assert_eq!(info.header.unwrap().version, (3, 0));
}

#[test]
fn fuzz_corpus_replays_without_panic() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    for target in ["safetensors", "gguf", "numpy", "chat_template"] {
        let mut replayed = 0;
        for entry in fs::read_dir(corpus.join(target)).unwrap() {
            let data = fs::read(entry.unwrap().path()).unwrap();
            let location = Location::file("fuzz");
            let limits = Limits::default();
            let mut out = Vec::new();
            match target {
                "safetensors" => safetensors::scan(&data, &location, &limits, &mut out),
                "gguf" => gguf::scan(&data, &location, &limits, &mut out),
                "numpy" => {
                    numpy::scan(&data, &location, &limits, &mut out);
                }
                _ => {
                    chat_template::scan_template(
                        &String::from_utf8_lossy(&data),
                        &location,
                        &mut out,
                    );
                    chat_template::scan_tokenizer_config(&data, &location, &limits, &mut out);
                }
            }
            replayed += 1;
        }
        assert!(replayed > 0, "no seeds in fuzz/corpus/{target}");
    }
}

fn benign(kind: &str) -> Vec<Vec<u8>> {
    let mut files: Vec<PathBuf> = fs::read_dir(fixture_dir(kind))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("benign"))
        })
        .collect();
    files.sort();
    files.iter().map(|p| fs::read(p).unwrap()).collect()
}

/// Overwrites, flips, truncates or plants a huge count in a valid file.
#[derive(Clone, Debug)]
enum Mutation {
    Flip {
        at: prop::sample::Index,
        mask: u8,
    },
    HugeCount {
        at: prop::sample::Index,
        value: u64,
    },
    Truncate {
        at: prop::sample::Index,
    },
    Insert {
        at: prop::sample::Index,
        bytes: Vec<u8>,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<prop::sample::Index>(), 1u8..).prop_map(|(at, mask)| Mutation::Flip { at, mask }),
        (
            any::<prop::sample::Index>(),
            prop_oneof![
                Just(u64::MAX),
                Just(1 << 62),
                Just(u64::from(u32::MAX)),
                any::<u64>()
            ]
        )
            .prop_map(|(at, value)| Mutation::HugeCount { at, value }),
        any::<prop::sample::Index>().prop_map(|at| Mutation::Truncate { at }),
        (
            any::<prop::sample::Index>(),
            prop::collection::vec(any::<u8>(), 1..16)
        )
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
    ]
}

fn mutate(mut data: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        if data.is_empty() {
            break;
        }
        match m {
            Mutation::Flip { at, mask } => {
                let i = at.index(data.len());
                data[i] ^= mask;
            }
            Mutation::HugeCount { at, value } => {
                let i = at.index(data.len());
                let end = (i + 8).min(data.len());
                let bytes = value.to_le_bytes();
                data[i..end].copy_from_slice(&bytes[..end - i]);
            }
            Mutation::Truncate { at } => data.truncate(at.index(data.len())),
            Mutation::Insert { at, bytes } => {
                let i = at.index(data.len());
                data.splice(i..i, bytes.iter().copied());
            }
        }
    }
    data
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..512)) {
        scan_safetensors(&data);
        scan_gguf(&data);
        scan_npy(&data);
    }

    #[test]
    fn arbitrary_bytes_behind_each_magic_never_panic(body in prop::collection::vec(any::<u8>(), 0..512), length in any::<u64>()) {
        let mut st = length.to_le_bytes().to_vec();
        st.push(b'{');
        st.extend_from_slice(&body);
        scan_safetensors(&st);
        let mut gg = b"GGUF\x03\x00\x00\x00".to_vec();
        gg.extend_from_slice(&body);
        scan_gguf(&gg);
        let mut np = b"\x93NUMPY\x01\x00".to_vec();
        np.extend_from_slice(&body);
        scan_npy(&np);
    }

    #[test]
    fn mutated_safetensors_never_panic(index in any::<prop::sample::Index>(), mutations in prop::collection::vec(mutation(), 1..4)) {
        let files = benign("safetensors");
        scan_safetensors(&mutate(files[index.index(files.len())].clone(), &mutations));
    }

    #[test]
    fn mutated_gguf_never_panic(index in any::<prop::sample::Index>(), mutations in prop::collection::vec(mutation(), 1..4)) {
        let files = benign("gguf");
        scan_gguf(&mutate(files[index.index(files.len())].clone(), &mutations));
    }

    #[test]
    fn mutated_npy_never_panic(index in any::<prop::sample::Index>(), mutations in prop::collection::vec(mutation(), 1..4)) {
        let files = benign("numpy");
        scan_npy(&mutate(files[index.index(files.len())].clone(), &mutations));
    }
}
