use std::path::Path;

use rampart_core::Severity;
use rampart_core::rules::{DECOMPRESSION_BOMB, ENCRYPTED, LIMIT_EXCEEDED, MALFORMED};

use super::build::{Member, ZipBuilder, crc32};
use super::*;
use crate::rules::*;

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn location() -> Location {
    Location::file("model.zip")
}

fn open(data: &[u8]) -> (Option<Archive<'_>>, Vec<Finding>) {
    open_with(data, &Limits::default())
}

fn open_with<'a>(data: &'a [u8], limits: &Limits) -> (Option<Archive<'a>>, Vec<Finding>) {
    let mut out = Vec::new();
    let archive = Archive::open(data, &location(), limits, &mut out);
    (archive, out)
}

fn ids(findings: &[Finding]) -> Vec<&'static str> {
    findings.iter().map(|f| f.rule.id).collect()
}

/// Reads every member; the findings of all reads.
fn read_all(archive: &Archive<'_>, limits: &Limits) -> (Vec<Option<Vec<u8>>>, Vec<Finding>) {
    let mut budget = Budget::new(limits);
    let mut out = Vec::new();
    let contents = archive
        .entries()
        .iter()
        .map(|entry| {
            let member = location().member(&entry.name);
            archive
                .read(entry, &mut budget, &member, limits, &mut out)
                .map(|content| content.into_owned())
        })
        .collect();
    (contents, out)
}

fn entry<'e>(archive: &'e Archive<'_>, name: &str) -> &'e Entry {
    archive
        .entries()
        .iter()
        .find(|entry| entry.name == name)
        .unwrap_or_else(|| panic!("no member {name}"))
}

fn patch_u32(data: &mut [u8], at: usize, value: u32) {
    data[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

/// Offset of the central directory record of member `index` in a builder archive.
fn central_record_at(data: &[u8], index: usize) -> usize {
    let located = locate(data).unwrap();
    let mut at = located.central_directory.unwrap().start;
    for _ in 0..index {
        let name_len = usize::from(records::u16_at(data, at + 28).unwrap());
        at += 46 + name_len;
    }
    at
}

fn benign_members() -> Vec<Member> {
    vec![
        Member::stored("archive/data.pkl", b"\x80\x02}q\x00."),
        Member::deflated("archive/config.json", &b"{\"a\": 1}".repeat(100)),
        Member {
            method: 12,
            ..Member::stored("archive/notes.txt", &b"bzip2 content ".repeat(50))
        },
        Member {
            descriptor: true,
            ..Member::stored("archive/data/0", &[1, 2, 3, 4, 5, 6, 7, 8])
        },
        Member {
            descriptor: true,
            ..Member::deflated("archive/data/1", &[9u8; 1000])
        },
        Member {
            zip64_local: true,
            ..Member::stored("arr_0.npy", b"\x93NUMPY")
        },
        Member::stored("archive/", b""),
    ]
}

#[test]
fn benign_fixtures_yield_no_finding_and_read_back() {
    for name in [
        "python_zipfile.zip",
        "numpy_savez.npz",
        "numpy_savez_compressed.npz",
        "torch_style.pt",
    ] {
        let data = fixture(name);
        let (archive, findings) = open(&data);
        assert!(findings.is_empty(), "{name}: {findings:#?}");
        let archive = archive.unwrap();
        assert!(!archive.entries().is_empty(), "{name}");
        let (contents, findings) = read_all(&archive, &Limits::default());
        assert!(findings.is_empty(), "{name}: {findings:#?}");
        assert!(contents.iter().all(Option::is_some), "{name}");
    }
}

#[test]
fn fixture_contents_are_what_the_writers_stored() {
    let data = fixture("torch_style.pt");
    let (archive, _) = open(&data);
    let archive = archive.unwrap();
    let names: Vec<&str> = archive.entries().iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "archive/data.pkl",
            "archive/byteorder",
            "archive/data/0",
            "archive/version",
            "archive/.data/serialization_id"
        ]
    );
    let pickle = entry(&archive, "archive/data.pkl");
    assert_eq!(
        pickle.data_offset.unwrap() % 64,
        0,
        "PyTorch aligns data to 64 bytes"
    );
    let head = archive.peek(pickle, 2).unwrap();
    assert_eq!(&head[..], b"\x80\x02");
    let located = archive.located().unwrap();
    assert!(located.zip64);
    assert_eq!(located.start, 0);

    let data = fixture("python_zipfile.zip");
    let (archive, _) = open(&data);
    let archive = archive.unwrap();
    let mut budget = Budget::new(&Limits::default());
    let mut out = Vec::new();
    let packed = entry(&archive, "model/packed.txt");
    assert_eq!(packed.method, METHOD_LZMA);
    let content = archive.read(
        packed,
        &mut budget,
        &location(),
        &Limits::default(),
        &mut out,
    );
    assert_eq!(content.as_deref(), Some(&b"lzma member\n".repeat(50)[..]));
    let bzip2 = entry(&archive, "model/caf\u{e9}.txt");
    assert_eq!(bzip2.method, METHOD_BZIP2);
    assert!(entry(&archive, "model/").is_dir);
    assert!(out.is_empty());
}

#[test]
fn stored_members_are_borrowed_slices_of_the_input() {
    let data = ZipBuilder::new(benign_members()).build();
    let (archive, _) = open(&data);
    let archive = archive.unwrap();
    let pickle = entry(&archive, "archive/data.pkl");
    let mut budget = Budget::new(&Limits::default());
    let before = budget.remaining();
    let content = archive
        .read(
            pickle,
            &mut budget,
            &location(),
            &Limits::default(),
            &mut Vec::new(),
        )
        .unwrap();
    let Cow::Borrowed(slice) = content else {
        panic!("stored content was copied");
    };
    let offset = slice.as_ptr() as usize - data.as_ptr() as usize;
    assert_eq!(Some(offset), pickle.data_offset);
    assert_eq!(budget.remaining(), before, "stored reads spend no budget");
    assert!(matches!(
        archive.peek(pickle, 3).unwrap(),
        Cow::Borrowed(b"\x80\x02}")
    ));
}

#[test]
fn built_benign_archives_yield_no_finding() {
    for zip64_end in [false, true] {
        let builder = ZipBuilder {
            zip64_end,
            ..ZipBuilder::new(benign_members())
        };
        let data = builder.build();
        let (archive, findings) = open(&data);
        assert!(findings.is_empty(), "{findings:#?}");
        let archive = archive.unwrap();
        let (contents, findings) = read_all(&archive, &Limits::default());
        assert!(findings.is_empty(), "{findings:#?}");
        for (member, content) in benign_members().iter().zip(contents) {
            assert_eq!(content.as_deref(), Some(&member.content[..]));
        }
        assert_eq!(
            archive
                .peek(entry(&archive, "archive/data/1"), 4)
                .unwrap()
                .as_ref(),
            &[9, 9, 9, 9]
        );
    }
    let empty = ZipBuilder::default().build();
    let (archive, findings) = open(&empty);
    assert!(findings.is_empty() && archive.unwrap().entries().is_empty());
}

#[test]
fn local_name_mismatch_is_reported_and_read_under_the_central_name() {
    let data = ZipBuilder::new(vec![Member {
        local_name: Some(b"archive/innocent.txt".to_vec()),
        ..Member::stored("archive/data.pkl", b"\x80\x02payload")
    }])
    .build();
    let (archive, findings) = open(&data);
    assert_eq!(ids(&findings), [ZIP_NAME_MISMATCH.id]);
    assert_eq!(
        findings[0].location.to_string(),
        "model.zip!/archive/data.pkl"
    );
    assert!(findings[0].message.contains("archive/innocent.txt"));
    let archive = archive.unwrap();
    let member = &archive.entries()[0];
    assert_eq!(member.local_name.as_deref(), Some("archive/innocent.txt"));
    let (contents, findings) = read_all(&archive, &Limits::default());
    assert!(findings.is_empty());
    assert_eq!(contents[0].as_deref(), Some(&b"\x80\x02payload"[..]));
}

#[test]
fn encrypted_flag_on_plaintext_is_reported_and_ignored_like_pytorch() {
    for member in [
        Member {
            flags: FLAG_ENCRYPTED,
            ..Member::stored("a.pkl", b"\x80\x02plain")
        },
        Member {
            local_flags: Some(FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION),
            ..Member::stored("a.pkl", b"\x80\x02plain")
        },
        Member {
            flags: FLAG_ENCRYPTED,
            ..Member::deflated("a.pkl", &b"\x80\x02plain".repeat(40))
        },
    ] {
        let expected = member.content.clone();
        let data = ZipBuilder::new(vec![member]).build();
        let (archive, findings) = open(&data);
        let found = ids(&findings);
        assert!(found.contains(&ZIP_IGNORED_FLAG_BITS.id), "{findings:#?}");
        assert!(!found.contains(&ENCRYPTED.id), "{findings:#?}");
        let archive = archive.unwrap();
        let (contents, _) = read_all(&archive, &Limits::default());
        assert_eq!(contents[0].as_deref(), Some(&expected[..]));
    }
}

#[test]
fn reserved_flag_bits_are_reported_and_ordinary_ones_are_not() {
    let data = ZipBuilder::new(vec![Member {
        flags: 1 << 7,
        ..Member::stored("a.pkl", b"x")
    }])
    .build();
    let (_, findings) = open(&data);
    assert_eq!(ids(&findings), [ZIP_IGNORED_FLAG_BITS.id]);
    assert!(findings[0].message.contains("7 (unused)"));

    let data = ZipBuilder::new(vec![Member {
        flags: (1 << 11) | (1 << 1),
        ..Member::deflated("a.pkl", b"xyz")
    }])
    .build();
    assert!(open(&data).1.is_empty());
}

#[test]
fn truly_encrypted_members_fail_closed() {
    // Traditional PKWARE encryption: 12-byte header, then ciphertext.
    let ciphertext: Vec<u8> = (0..44u32).map(|i| (i * 97 + 13) as u8).collect();
    let data = ZipBuilder::new(vec![
        Member {
            flags: FLAG_ENCRYPTED,
            payload: Some(ciphertext.clone()),
            central_size: Some(32),
            crc32: Some(0x1234_5678),
            ..Member::stored("stored.pkl", &[0; 32])
        },
        Member {
            flags: FLAG_ENCRYPTED,
            payload: Some(ciphertext),
            ..Member::deflated("deflated.pkl", &[0; 32])
        },
        Member {
            method: METHOD_AES,
            flags: FLAG_ENCRYPTED,
            payload: Some(vec![0xAA; 40]),
            ..Member::stored("aes.pkl", &[0; 20])
        },
    ])
    .build();
    let (archive, findings) = open(&data);
    let encrypted = findings
        .iter()
        .filter(|f| f.rule.id == ENCRYPTED.id)
        .count();
    assert_eq!(encrypted, 3, "{findings:#?}");
    assert!(!ids(&findings).contains(&ZIP_IGNORED_FLAG_BITS.id));
    let archive = archive.unwrap();
    for member in archive.entries() {
        assert!(!member.is_readable());
        assert_eq!(archive.peek(member, 8), Err(MemberError::Encrypted));
    }
    let (contents, findings) = read_all(&archive, &Limits::default());
    assert!(contents.iter().all(Option::is_none));
    assert!(findings.is_empty(), "open() already reported them");
}

#[test]
fn crc_mismatch_is_reported_on_read_and_content_still_returned() {
    for member in [
        Member {
            crc32: Some(0xdead_beef),
            ..Member::stored("archive/data.pkl", b"\x80\x02evil")
        },
        Member {
            crc32: Some(0xdead_beef),
            ..Member::deflated("archive/data.pkl", b"\x80\x02evil")
        },
    ] {
        let data = ZipBuilder::new(vec![member]).build();
        let (archive, findings) = open(&data);
        assert!(
            findings.is_empty(),
            "the CRC is only known once read: {findings:#?}"
        );
        let (contents, findings) = read_all(&archive.unwrap(), &Limits::default());
        assert_eq!(ids(&findings), [ZIP_CRC_MISMATCH.id]);
        assert_eq!(findings[0].severity, Severity::High);
        assert_eq!(contents[0].as_deref(), Some(&b"\x80\x02evil"[..]));
    }
}

#[test]
fn large_stored_members_are_handed_out_without_reading_them() {
    let tensor = vec![1u8; STORED_CRC_CHECK_LIMIT + 1];
    let data = ZipBuilder::new(vec![Member {
        crc32: Some(0),
        ..Member::stored("archive/data/0", &tensor)
    }])
    .build();
    let (archive, _) = open(&data);
    let (contents, findings) = read_all(&archive.unwrap(), &Limits::default());
    assert!(
        findings.is_empty(),
        "no CRC check on a tensor-sized stored member"
    );
    assert_eq!(contents[0].as_ref().map(Vec::len), Some(tensor.len()));
}

#[test]
fn hidden_members_are_reported_and_listed() {
    let data = ZipBuilder::new(vec![
        Member::stored("a.txt", b"visible"),
        Member {
            listed: false,
            ..Member::deflated("payload.pkl", b"\x80\x02hidden")
        },
        Member::stored("b.txt", b"visible too"),
    ])
    .build();
    let (archive, findings) = open(&data);
    assert_eq!(ids(&findings), [ZIP_HIDDEN_MEMBER.id], "{findings:#?}");
    let archive = archive.unwrap();
    let hidden = entry(&archive, "payload.pkl");
    assert!(hidden.hidden);
    let (contents, findings) = read_all(&archive, &Limits::default());
    assert!(findings.is_empty(), "{findings:#?}");
    assert!(contents.contains(&Some(b"\x80\x02hidden".to_vec())));
}

#[test]
fn overlapping_members_and_members_inside_the_directory_are_reported() {
    let mut members = vec![Member::stored("kernel.bin", &[0; 100])];
    for i in 0..3 {
        members.push(Member {
            offset: Some(0),
            listed: true,
            ..Member::stored(&format!("alias{i}"), &[0; 100])
        });
    }
    let mut data = ZipBuilder::new(members).build();
    // The aliases' local headers exist (so they are hidden members too); point them all
    // at the kernel's header, like an overlap bomb.
    let (_, findings) = open(&data);
    assert!(
        ids(&findings).contains(&ZIP_OVERLAPPING_MEMBERS.id),
        "{findings:#?}"
    );

    let directory = locate(&data).unwrap().central_directory.unwrap().start;
    let record = central_record_at(&data, 0);
    patch_u32(&mut data, record + 42, u32::try_from(directory).unwrap());
    let (_, findings) = open(&data);
    assert!(
        findings
            .iter()
            .any(|f| f.rule.id == MALFORMED.id || f.rule.id == ZIP_OVERLAPPING_MEMBERS.id)
    );
}

#[test]
fn duplicate_names_are_reported_once() {
    let data = ZipBuilder::new(vec![
        Member::stored("archive/data.pkl", b"benign"),
        Member::stored("archive/data.pkl", b"evil"),
        Member::stored("archive/data.pkl", b"evil2"),
    ])
    .build();
    let (archive, findings) = open(&data);
    assert_eq!(ids(&findings), [ZIP_DUPLICATE_NAME.id]);
    assert_eq!(archive.unwrap().entries().len(), 3);
}

#[test]
fn header_disagreements_are_reported() {
    let cases = [
        Member {
            local_compressed_size: Some(3),
            ..Member::stored("a", b"abcdef")
        },
        Member {
            local_method: Some(8),
            ..Member::stored("a", b"abcdef")
        },
        Member {
            local_flags: Some(1 << 11),
            ..Member::stored("a", b"abcdef")
        },
        Member {
            descriptor: true,
            central_size: Some(99),
            ..Member::deflated("a", b"abcdef")
        },
    ];
    for member in cases {
        let data = ZipBuilder::new(vec![member.clone()]).build();
        let (_, findings) = open(&data);
        assert!(
            ids(&findings).contains(&ZIP_HEADER_MISMATCH.id),
            "{member:?}: {findings:#?}"
        );
    }
}

#[test]
fn decompressed_size_differing_from_the_record_is_reported_on_read() {
    let data = ZipBuilder::new(vec![Member {
        central_size: Some(3),
        ..Member::deflated("a.pkl", b"\x80\x02 longer than three")
    }])
    .build();
    let (archive, _) = open(&data);
    let (contents, findings) = read_all(&archive.unwrap(), &Limits::default());
    assert!(
        ids(&findings).contains(&ZIP_HEADER_MISMATCH.id),
        "{findings:#?}"
    );
    assert_eq!(
        contents[0].as_deref(),
        Some(&b"\x80\x02 longer than three"[..]),
        "all of it is scanned"
    );
}

#[test]
fn members_beyond_the_file_are_malformed_and_read_as_far_as_they_go() {
    let mut data = ZipBuilder::new(vec![Member::stored("a.pkl", b"\x80\x02abc")]).build();
    let record = central_record_at(&data, 0);
    patch_u32(&mut data, record + 20, 1 << 30);
    patch_u32(&mut data, record + 24, 1 << 30);
    let (archive, findings) = open(&data);
    assert!(ids(&findings).contains(&MALFORMED.id), "{findings:#?}");
    let archive = archive.unwrap();
    let head = archive.peek(&archive.entries()[0], 5).unwrap();
    assert_eq!(&head[..], b"\x80\x02abc");

    let mut data = ZipBuilder::new(vec![Member::stored("a.pkl", b"abc")]).build();
    let record = central_record_at(&data, 0);
    patch_u32(&mut data, record + 42, 1 << 30);
    let (archive, findings) = open(&data);
    // The header nothing points to any more is a hidden member now.
    assert_eq!(ids(&findings), [MALFORMED.id, ZIP_HIDDEN_MEMBER.id]);
    let archive = archive.unwrap();
    assert_eq!(
        archive.peek(&archive.entries()[0], 5),
        Err(MemberError::NoLocalHeader(1 << 30))
    );
    assert_eq!(
        archive.peek(&archive.entries()[1], 5).unwrap().as_ref(),
        b"abc"
    );
}

#[test]
fn unsafe_paths_are_reported_with_their_severity() {
    let data = ZipBuilder::new(vec![
        Member::stored("../../etc/cron.d/evil", b"x"),
        Member::stored("/abs/path", b"x"),
        Member::stored("dir\\file", b"x"),
        Member::stored("data.pkl\0.txt", b"x"),
        Member::stored("fine/../name", b"x"),
    ])
    .build();
    let (_, findings) = open(&data);
    let severities: Vec<Severity> = findings
        .iter()
        .filter(|f| f.rule.id == ZIP_PATH_TRAVERSAL.id)
        .map(|f| f.severity)
        .collect();
    assert_eq!(
        severities,
        [
            Severity::High,
            Severity::High,
            Severity::Medium,
            Severity::High
        ],
        "{findings:#?}"
    );
}

#[test]
fn unsupported_methods_fail_closed() {
    let data = ZipBuilder::new(vec![Member {
        method: 9,
        payload: Some(vec![1, 2, 3]),
        ..Member::stored("a.pkl", b"abc")
    }])
    .build();
    let (archive, findings) = open(&data);
    assert_eq!(ids(&findings), [MALFORMED.id]);
    assert!(findings[0].message.contains("deflate64"));
    let archive = archive.unwrap();
    assert_eq!(
        archive.peek(&archive.entries()[0], 1),
        Err(MemberError::UnsupportedMethod(9))
    );
    assert_eq!(read_all(&archive, &Limits::default()).0, [None]);
}

#[test]
fn member_count_is_limited() {
    let members = (0..5)
        .map(|i| Member::stored(&format!("m{i}"), b"x"))
        .collect();
    let data = ZipBuilder::new(members).build();
    let limits = Limits {
        max_members: 3,
        ..Limits::default()
    };
    let (archive, findings) = open_with(&data, &limits);
    assert_eq!(ids(&findings), [LIMIT_EXCEEDED.id], "{findings:#?}");
    assert_eq!(archive.unwrap().entries().len(), 3);
}

#[test]
fn zip64_inconsistencies_are_reported() {
    let builder = ZipBuilder {
        zip64_end: true,
        ..ZipBuilder::new(vec![Member::stored("a", b"x"), Member::stored("b", b"y")])
    };
    let mut data = builder.build();
    let record = locate(&data).unwrap().eocd_offset - 20 - 56;
    data[record + 32..record + 40].copy_from_slice(&7u64.to_le_bytes());
    let (_, findings) = open(&data);
    assert!(
        ids(&findings).contains(&ZIP_ZIP64_INCONSISTENT.id),
        "{findings:#?}"
    );

    let data = ZipBuilder::new(vec![Member {
        local_compressed_size: Some(u32::MAX),
        ..Member::stored("a", b"x")
    }])
    .build();
    let (_, findings) = open(&data);
    assert!(
        ids(&findings).contains(&ZIP_ZIP64_INCONSISTENT.id),
        "{findings:#?}"
    );
}

#[test]
fn directory_offset_placeholder_without_zip64_record_is_read_and_reported() {
    // What Info-ZIP leaves when it streams with -fz.
    let mut data = ZipBuilder::new(vec![Member::deflated("a.pkl", b"\x80\x02K\x01.")]).build();
    let eocd = locate(&data).unwrap().eocd_offset;
    patch_u32(&mut data, eocd + 16, u32::MAX);
    let (archive, findings) = open(&data);
    assert_eq!(ids(&findings), [ZIP_ZIP64_INCONSISTENT.id], "{findings:#?}");
    let (contents, _) = read_all(&archive.unwrap(), &Limits::default());
    assert_eq!(contents, [Some(b"\x80\x02K\x01.".to_vec())]);
}

#[test]
fn end_record_count_mismatch_is_reported() {
    let builder = ZipBuilder {
        declared_entries: Some(1),
        ..ZipBuilder::new(vec![Member::stored("a", b"x"), Member::stored("b", b"y")])
    };
    let data = builder.build();
    let (archive, findings) = open(&data);
    assert_eq!(
        ids(&findings),
        [ZIP_END_RECORD_MISMATCH.id],
        "{findings:#?}"
    );
    assert_eq!(
        archive.unwrap().entries().len(),
        2,
        "Python walks the directory by size"
    );
}

#[test]
fn local_headers_are_walked_when_the_directory_is_missing() {
    let full = ZipBuilder::new(vec![
        Member::deflated("archive/data.pkl", b"\x80\x02deflated"),
        Member {
            descriptor: true,
            ..Member::stored("archive/data/0", b"stored with descriptor")
        },
        Member::stored("archive/version", b"3\n"),
    ])
    .build();
    let directory = locate(&full).unwrap().central_directory.unwrap().start;
    let data = &full[..directory];
    assert_eq!(locate(data), None);
    let (archive, findings) = open(data);
    assert_eq!(ids(&findings), [ZIP_MISSING_CENTRAL_DIRECTORY.id]);
    let archive = archive.unwrap();
    assert!(archive.located().is_none());
    let (contents, findings) = read_all(&archive, &Limits::default());
    assert!(findings.is_empty(), "{findings:#?}");
    assert_eq!(
        contents,
        [
            Some(b"\x80\x02deflated".to_vec()),
            Some(b"stored with descriptor".to_vec()),
            Some(b"3\n".to_vec())
        ]
    );
}

#[test]
fn non_zips_are_malformed() {
    let (archive, findings) = open(b"\x80\x04\x95 this is a pickle, not a zip");
    assert!(archive.is_none());
    assert_eq!(ids(&findings), [MALFORMED.id]);
    let (archive, findings) = open(b"PK\x03\x04 truncated");
    assert!(archive.is_none());
    assert_eq!(
        ids(&findings),
        [ZIP_MISSING_CENTRAL_DIRECTORY.id, MALFORMED.id]
    );
}

#[test]
fn prepended_data_is_located_whichever_way_offsets_count() {
    let prefix = b"\x80\x02}q\x00.".to_vec();
    for absolute_offsets in [false, true] {
        let data = ZipBuilder {
            prefix: prefix.clone(),
            absolute_offsets,
            zip64_end: absolute_offsets,
            ..ZipBuilder::new(vec![Member::stored("archive/data.pkl", b"zip part")])
        }
        .build();
        let located = locate(&data).unwrap();
        assert_eq!(located.start, prefix.len());
        assert_eq!(
            located.base,
            if absolute_offsets { 0 } else { prefix.len() }
        );
        let (archive, findings) = open(&data);
        assert!(findings.is_empty(), "{findings:#?}");
        let (contents, _) = read_all(&archive.unwrap(), &Limits::default());
        assert_eq!(contents, [Some(b"zip part".to_vec())]);
    }
}

#[test]
fn bytes_after_the_end_record_are_low_severity() {
    let data = ZipBuilder {
        comment: b"a comment is fine".to_vec(),
        trailing: b"but this is extra".to_vec(),
        ..ZipBuilder::new(vec![Member::stored("a", b"x")])
    }
    .build();
    let (_, findings) = open(&data);
    assert_eq!(ids(&findings), [ZIP_TRAILING_DATA.id]);
    assert_eq!(findings[0].severity, Severity::Low);
}

#[test]
fn member_bombs_caps_and_budget_are_enforced() {
    let zeros = vec![0u8; 8 << 20];
    let data = ZipBuilder::new(vec![
        Member::deflated("bomb.pkl", &zeros),
        Member::deflated("again.pkl", &zeros),
    ])
    .build();
    let (archive, _) = open(&data);
    let archive = archive.unwrap();

    let ratio = Limits {
        max_compression_ratio: 50,
        ..Limits::default()
    };
    let (contents, findings) = read_all(&archive, &ratio);
    assert_eq!(contents, [None, None]);
    assert_eq!(
        ids(&findings),
        [DECOMPRESSION_BOMB.id, DECOMPRESSION_BOMB.id]
    );

    // Zeros deflate about 1030:1, so the ratio limit is lifted to test the caps.
    let cap = Limits {
        max_decompressed_bytes: 1 << 20,
        max_compression_ratio: u64::MAX,
        ..Limits::default()
    };
    let (_, findings) = read_all(&archive, &cap);
    assert_eq!(ids(&findings), [LIMIT_EXCEEDED.id, LIMIT_EXCEEDED.id]);

    let budget = Limits {
        max_total_decompressed_bytes: 12 << 20,
        max_compression_ratio: u64::MAX,
        ..Limits::default()
    };
    let (contents, findings) = read_all(&archive, &budget);
    assert_eq!(contents[0].as_ref().map(Vec::len), Some(8 << 20));
    assert_eq!(contents[1], None);
    assert!(
        findings[0].message.contains("budget"),
        "{}",
        findings[0].message
    );

    assert_eq!(
        archive.peek(&archive.entries()[0], 16).unwrap().len(),
        16,
        "peek inflates only what it needs"
    );
}

#[test]
fn findings_per_rule_are_capped() {
    let members = (0..40)
        .map(|_| Member::stored("same", b"x"))
        .collect::<Vec<_>>();
    let mut with_bits = members.clone();
    for member in &mut with_bits {
        member.flags = 1 << 9;
    }
    let data = ZipBuilder::new(with_bits).build();
    let (_, findings) = open(&data);
    let flag_findings = findings
        .iter()
        .filter(|f| f.rule.id == ZIP_IGNORED_FLAG_BITS.id)
        .count();
    assert_eq!(flag_findings, 21, "20 listed and one summary");
    assert!(findings.last().unwrap().message.contains("not listed"));
}

/// The Python-crafted seeds of the fuzz corpus reproduce the 2025 picklescan bypasses on
/// a PyTorch-style file; each must be reported and its pickle still be readable.
#[test]
fn picklescan_bypass_files_are_reported_and_still_read() {
    let seed = |name: &str| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/corpus/zip")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    for (name, at_open, on_read) in [
        ("name_mismatch.pt", Some(ZIP_NAME_MISMATCH.id), None),
        ("encrypted_flag.pt", Some(ZIP_IGNORED_FLAG_BITS.id), None),
        // Only the central directory's CRC was changed: the data descriptor disagrees too.
        (
            "bad_crc.pt",
            Some(ZIP_HEADER_MISMATCH.id),
            Some(ZIP_CRC_MISMATCH.id),
        ),
        ("hidden_member.pt", Some(ZIP_HIDDEN_MEMBER.id), None),
    ] {
        let data = seed(name);
        let (archive, findings) = open(&data);
        assert_eq!(
            ids(&findings),
            at_open.into_iter().collect::<Vec<_>>(),
            "{name}"
        );
        let archive = archive.unwrap();
        let pickle = entry(&archive, "archive/data.pkl");
        assert!(
            archive.peek(pickle, 2).unwrap().starts_with(b"\x80\x02"),
            "{name}"
        );
        let (contents, findings) = read_all(&archive, &Limits::default());
        assert_eq!(
            ids(&findings),
            on_read.into_iter().collect::<Vec<_>>(),
            "{name}"
        );
        assert!(contents.iter().all(Option::is_some), "{name}");
    }
    let polyglot = seed("pickle_with_zip_appended.pkl");
    let located = locate(&polyglot).unwrap();
    assert!(located.start > 0 && polyglot.starts_with(b"\x80\x02"));
    assert!(open(&polyglot).1.is_empty());
}

/// Reads `data` as a stream: its first `head` bytes already read, at most `budget` more
/// kept, PyTorch tensor storages passed over.
fn streamed(data: &[u8], head: usize, budget: u64) -> PartialZip {
    let (head, mut rest) = data.split_at(head);
    let is_storage = |name: &[u8]| name.starts_with(b"archive/data/");
    PartialZip::capture(head, &mut rest, data.len() as u64, budget, &is_storage).unwrap()
}

/// A checkpoint as `torch.save` writes it: every member's sizes in a signed descriptor,
/// the pickle first, tensors larger than what a stream keeps.
fn torch_checkpoint(pickle: &[u8]) -> Vec<u8> {
    let deferred = |member: Member| Member {
        descriptor: true,
        ..member
    };
    ZipBuilder {
        zip64_end: true,
        ..ZipBuilder::new(vec![
            deferred(Member::stored("archive/data.pkl", pickle)),
            deferred(Member::stored("archive/byteorder", b"little")),
            deferred(Member::stored("archive/data/0", &[0x50; 1_000_000])),
            // Tensor bytes that look like a descriptor and a header must not end the member.
            deferred(Member::stored(
                "archive/data/1",
                &[
                    &[0x11; 1000][..],
                    b"PK\x07\x08\0\0\0\0\0\0\0\0PK\x03\x04",
                    &[0x22; 1_000_000],
                ]
                .concat(),
            )),
            deferred(Member::stored("archive/version", b"3\n")),
        ])
    }
    .build()
}

#[test]
fn a_streamed_checkpoint_keeps_its_pickle_and_passes_over_its_tensors() {
    let pickle = b"\x80\x02cposix\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03.";
    let data = torch_checkpoint(pickle);
    let (whole, whole_findings) = open(&data);
    assert!(whole_findings.is_empty(), "{whole_findings:#?}");
    for head in [0, 20, 200, 64 * 1024] {
        let partial = streamed(&data, head, 1 << 20);
        // Headers, the pickle and the tail; a read past the pickle's end (one chunk).
        assert!(
            partial.held().len() < 350_000,
            "kept {} bytes",
            partial.held().len()
        );
        let mut out = Vec::new();
        let archive = Archive::open_partial(&partial, &location(), &Limits::default(), &mut out)
            .expect("opens");
        assert!(out.is_empty(), "head {head}: {out:#?}");
        assert_eq!(archive.entries(), whole.as_ref().unwrap().entries());
        let (contents, findings) = read_all(&archive, &Limits::default());
        let names: Vec<&str> = archive.entries().iter().map(|e| e.name.as_str()).collect();
        assert_eq!(contents[0].as_deref(), Some(&pickle[..]));
        assert_eq!(contents[4].as_deref(), Some(&b"3\n"[..]));
        assert_eq!(
            (contents[2].as_ref(), contents[3].as_ref()),
            (None, None),
            "{names:?}"
        );
        // Reading a tensor that was passed over is a limit, never zeros.
        assert_eq!(ids(&findings), [LIMIT_EXCEEDED.id, LIMIT_EXCEEDED.id]);
        assert!(
            findings[0].message.contains("'archive/data/0'"),
            "{}",
            findings[0].message
        );
        let tensor = entry(&archive, "archive/data/1");
        assert_eq!(archive.peek(tensor, 16), Err(MemberError::NotHeld));
    }
}

#[test]
fn a_streamed_checkpoint_with_many_small_tensors_keeps_every_header() {
    let tensor = [7u8; 900];
    let mut members = vec![Member {
        descriptor: true,
        ..Member::stored("archive/data.pkl", b"\x80\x02}q\x00.")
    }];
    members.extend((0..3000).map(|i| Member {
        descriptor: true,
        ..Member::stored(&format!("archive/data/{i}"), &tensor)
    }));
    let data = ZipBuilder::new(members).build();
    let partial = streamed(&data, 100, 1 << 20);
    // Every header and descriptor is kept, no tensor byte beyond what read-ahead touched.
    assert!(
        partial.held().len() < (data.len() / 2) as u64,
        "kept {}",
        partial.held().len()
    );
    let mut out = Vec::new();
    let archive =
        Archive::open_partial(&partial, &location(), &Limits::default(), &mut out).expect("opens");
    assert!(out.is_empty(), "{out:#?}");
    assert_eq!(archive.entries().len(), 3001);
    assert!(archive.entries().iter().all(Entry::is_readable));
}

#[test]
fn parts_of_a_streamed_zip_that_were_not_kept_are_reported() {
    // Budget spent before the first header: nothing but the tail is kept, and the central
    // directory lies before it.
    let many: Vec<Member> = (0..1500)
        .map(|i| {
            Member::stored(
                &format!("archive/member-{i:04}-{}", "x".repeat(80)),
                b"data",
            )
        })
        .collect();
    let data = ZipBuilder::new(many).build();
    let partial = streamed(&data, 0, 0);
    let mut out = Vec::new();
    assert!(Archive::open_partial(&partial, &location(), &Limits::default(), &mut out).is_none());
    assert_eq!(ids(&out), [LIMIT_EXCEEDED.id]);
    assert!(
        out[0].message.contains("central directory was not kept"),
        "{}",
        out[0].message
    );

    // The directory fits the tail, the headers were not kept: one finding says so.
    let data = torch_checkpoint(b"\x80\x02N.");
    let partial = streamed(&data, 0, 0);
    let mut out = Vec::new();
    let archive = Archive::open_partial(&partial, &location(), &Limits::default(), &mut out)
        .expect("the directory was kept");
    assert_eq!(ids(&out), [LIMIT_EXCEEDED.id], "{out:#?}");
    assert!(
        out[0].message.contains("local headers of 4 members"),
        "{}",
        out[0].message
    );
    let pickle = entry(&archive, "archive/data.pkl");
    assert_eq!(archive.peek(pickle, 4), Err(MemberError::NotHeld));
}

#[test]
fn crc_helper_matches_python() {
    assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
}

mod properties {
    use proptest::prelude::*;

    use super::*;
    use crate::fuzzing;

    fn limits() -> Limits {
        Limits {
            max_decompressed_bytes: 1 << 20,
            max_total_decompressed_bytes: 2 << 20,
            max_members: 64,
            ..Limits::default()
        }
    }

    fn reference() -> Vec<u8> {
        ZipBuilder {
            zip64_end: true,
            ..ZipBuilder::new(benign_members())
        }
        .build()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..4096)) {
            fuzzing::zip(&data, &limits());
            let mut with_magic = b"PK\x03\x04".to_vec();
            with_magic.extend_from_slice(&data);
            fuzzing::zip(&with_magic, &limits());
        }

        #[test]
        fn mutated_archives_never_panic_and_keep_members_in_bounds(
            flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..12),
            cut in any::<prop::sample::Index>(),
            truncate in any::<bool>(),
        ) {
            let mut data = reference();
            for (at, value) in flips {
                let i = at.index(data.len());
                data[i] = value;
            }
            if truncate {
                data.truncate(cut.index(data.len()));
            }
            fuzzing::zip(&data, &limits());
            let mut out = Vec::new();
            if let Some(archive) = Archive::open(&data, &location(), &limits(), &mut out) {
                prop_assert!(archive.entries().len() <= limits().max_members);
                for member in archive.entries() {
                    if let Some(bytes) = member_bytes(&data, member) {
                        prop_assert!(bytes.len() <= data.len());
                    }
                }
            }
        }
    }
}
