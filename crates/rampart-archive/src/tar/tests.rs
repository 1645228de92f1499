use std::path::Path;

use rampart_core::Severity;

use super::*;

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn list(data: &[u8]) -> (Vec<TarEntry<'_>>, Vec<Finding>) {
    list_with(data, &Limits::default())
}

fn list_with<'a>(data: &'a [u8], limits: &Limits) -> (Vec<TarEntry<'a>>, Vec<Finding>) {
    let mut out = Vec::new();
    let entries = entries(data, &Location::file("model.tar"), limits, &mut out);
    (entries, out)
}

fn ids(findings: &[Finding]) -> Vec<&'static str> {
    findings.iter().map(|f| f.rule.id).collect()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Magic {
    Ustar,
    Gnu,
    V7,
}

/// One header block with a correct checksum.
fn header(name: &str, size: usize, flag: u8, magic: Magic, link: &str) -> Vec<u8> {
    let mut block = vec![0u8; BLOCK];
    block[..name.len()].copy_from_slice(name.as_bytes());
    block[100..108].copy_from_slice(b"0000644\0");
    block[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    block[136..148].copy_from_slice(b"14540446400\0");
    block[156] = flag;
    block[157..157 + link.len()].copy_from_slice(link.as_bytes());
    match magic {
        Magic::Ustar => block[257..265].copy_from_slice(b"ustar\x0000"),
        Magic::Gnu => block[257..265].copy_from_slice(b"ustar  \0"),
        Magic::V7 => {}
    }
    seal(&mut block);
    block
}

fn seal(block: &mut [u8]) {
    block[148..156].copy_from_slice(b"        ");
    let sum: u32 = block.iter().map(|&b| u32::from(b)).sum();
    block[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
}

/// A member: header plus data padded to whole blocks.
fn member(name: &str, data: &[u8], magic: Magic) -> Vec<u8> {
    let mut out = header(name, data.len(), b'0', magic, "");
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(BLOCK) * BLOCK, 0);
    out
}

/// `"<len> key=value\n"`, the length counting itself.
fn pax_record(key: &str, value: &str) -> Vec<u8> {
    let body = format!(" {key}={value}\n");
    let mut len = body.len() + 1;
    while format!("{len}").len() + body.len() != len {
        len += 1;
    }
    format!("{len}{body}").into_bytes()
}

fn end() -> Vec<u8> {
    vec![0; 2 * BLOCK]
}

fn archive(parts: &[Vec<u8>]) -> Vec<u8> {
    let mut out: Vec<u8> = parts.concat();
    out.extend(end());
    out
}

#[test]
fn python_written_tars_list_without_findings() {
    for (name, long) in [("ustar.tar", false), ("gnu.tar", true), ("pax.tar", true)] {
        let data = fixture(name);
        assert!(looks_like_tar(&data), "{name}");
        let (entries, findings) = list(&data);
        assert!(findings.is_empty(), "{name}: {findings:#?}");
        let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names[..3],
            ["checkpoint", "checkpoint/sys_info", "checkpoint/pickle"],
            "{name}"
        );
        assert_eq!(entries[0].kind, TarKind::Directory);
        assert_eq!(entries[1].data, b"protocol_version: 1001\n");
        assert!(entries[2].data.starts_with(b"\x80\x02"));
        let latest = entries.last().unwrap();
        assert_eq!(
            (latest.kind, latest.link_target.as_deref()),
            (TarKind::Symlink, Some("pickle"))
        );
        assert!(latest.data.is_empty());
        if long {
            let long_member = &entries[3];
            assert!(
                long_member.name.len() > 200 && long_member.name.contains("caf\u{e9}_"),
                "{name}"
            );
            assert_eq!(long_member.data, b"long name\n");
        }
    }
}

#[test]
fn members_are_zero_copy_slices() {
    let data = fixture("ustar.tar");
    let (entries, _) = list(&data);
    let content = entries[1].data;
    let offset = content.as_ptr() as usize - data.as_ptr() as usize;
    assert_eq!(offset, entries[1].header_offset + BLOCK);
}

#[test]
fn v7_headers_are_read_by_checksum() {
    let data = archive(&[
        member("weights.pkl", b"\x80\x02v7", Magic::V7),
        header("dir/", 0, b'\0', Magic::V7, ""),
    ]);
    assert!(looks_like_tar(&data));
    let (entries, findings) = list(&data);
    assert!(findings.is_empty(), "{findings:#?}");
    assert_eq!(entries[0].data, b"\x80\x02v7");
    assert_eq!(entries[1].kind, TarKind::Directory);
}

#[test]
fn gnu_long_names_links_and_base256_sizes() {
    let long_name = "a/".repeat(80) + "model.pkl";
    let long_link = "b/".repeat(70) + "target";
    let mut name_header = header("././@LongLink", long_name.len() + 1, b'L', Magic::Gnu, "");
    name_header.extend_from_slice(long_name.as_bytes());
    name_header.push(0);
    name_header.resize(2 * BLOCK, 0);
    let mut link_header = header("././@LongLink", long_link.len(), b'K', Magic::Gnu, "");
    link_header.extend_from_slice(long_link.as_bytes());
    link_header.resize(2 * BLOCK, 0);
    let mut big = header("big.bin", 0, b'0', Magic::Gnu, "");
    big[124..136].copy_from_slice(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3]);
    seal(&mut big);
    big.extend_from_slice(b"abc");
    big.resize(2 * BLOCK, 0);
    let data = archive(&[
        name_header,
        member("short", b"content", Magic::Gnu),
        link_header,
        header("link", 0, b'2', Magic::Gnu, "short"),
        big,
    ]);
    let (entries, findings) = list(&data);
    assert!(findings.is_empty(), "{findings:#?}");
    assert_eq!(entries[0].name, long_name);
    assert_eq!(entries[0].data, b"content");
    assert_eq!(entries[1].link_target.as_deref(), Some(long_link.as_str()));
    assert_eq!(entries[2].data, b"abc");
}

#[test]
fn pax_headers_override_path_and_size() {
    let records = [
        pax_record("path", "pax/overridden/name.pkl"),
        pax_record("size", "4"),
    ]
    .concat();
    let mut pax = header("PaxHeader", records.len(), b'x', Magic::Ustar, "");
    pax.extend_from_slice(&records);
    pax.resize(2 * BLOCK, 0);
    let mut global = header("GlobalHead", 0, b'g', Magic::Ustar, "");
    global.resize(BLOCK, 0);
    let data = archive(&[global, pax, member("ignored", b"abcd", Magic::Ustar)]);
    let (entries, findings) = list(&data);
    assert!(findings.is_empty(), "{findings:#?}");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].name, "pax/overridden/name.pkl");
    assert_eq!(entries[0].data, b"abcd");

    let mut broken = header("PaxHeader", 12, b'x', Magic::Ustar, "");
    broken.extend_from_slice(b"99 path=x\n\0\0");
    broken.resize(2 * BLOCK, 0);
    let data = archive(&[broken, member("file", b"x", Magic::Ustar)]);
    let (entries, findings) = list(&data);
    assert_eq!(ids(&findings), [MALFORMED.id]);
    assert_eq!(entries[0].name, "file");
}

#[test]
fn ustar_prefix_joins_the_name() {
    let mut block = header("model.pkl", 0, b'0', Magic::Ustar, "");
    block[345..356].copy_from_slice(b"deep/prefix");
    seal(&mut block);
    let data = archive(&[block]);
    let (entries, _) = list(&data);
    assert_eq!(entries[0].name, "deep/prefix/model.pkl");
}

#[test]
fn truncated_members_are_reported_and_kept() {
    let mut data = member("model.pkl", &[7u8; 1000], Magic::Ustar);
    data.truncate(BLOCK + 600);
    let (entries, findings) = list(&data);
    assert_eq!(ids(&findings), [MALFORMED.id]);
    assert_eq!(entries[0].data.len(), 600);
    assert_eq!(entries[0].size, 1000);

    let mut partial_header = archive(&[member("a", b"x", Magic::Ustar)]);
    partial_header.truncate(2 * BLOCK);
    partial_header.extend_from_slice(b"partial header");
    let (_, findings) = list(&partial_header);
    assert_eq!(ids(&findings), [MALFORMED.id]);
}

#[test]
fn bad_checksums_are_reported_and_skipped_like_gnu_tar() {
    let mut corrupt = member("first", b"data", Magic::Ustar);
    corrupt[0] = b'F';
    let data = archive(&[corrupt, member("second.pkl", b"\x80\x02", Magic::Ustar)]);
    let (entries, findings) = list(&data);
    assert_eq!(ids(&findings), [TAR_BAD_CHECKSUM.id]);
    assert!(findings[0].message.contains("refuses"));
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].name, "second.pkl");
    assert!(looks_like_tar(&data), "the ustar magic is still there");
}

#[test]
fn traversal_in_names_and_links_is_reported() {
    let data = archive(&[
        member("../../etc/evil", b"x", Magic::Ustar),
        member("/abs/file", b"x", Magic::Ustar),
        header("escape", 0, b'2', Magic::Ustar, "../../../etc/passwd"),
        header("inside/link", 0, b'2', Magic::Ustar, "../sibling"),
        header("hard", 0, b'1', Magic::Ustar, "/etc/shadow"),
    ]);
    let (_, findings) = list(&data);
    assert_eq!(ids(&findings), [TAR_PATH_TRAVERSAL.id; 4], "{findings:#?}");
    assert!(findings.iter().all(|f| f.severity == Severity::High));
}

#[test]
fn duplicate_file_names_are_reported() {
    let data = archive(&[
        member("pickle", b"benign", Magic::Ustar),
        member("pickle", b"evil", Magic::Ustar),
    ]);
    let (entries, findings) = list(&data);
    assert_eq!(ids(&findings), [TAR_DUPLICATE_NAME.id]);
    assert_eq!(entries.len(), 2);
}

#[test]
fn members_after_the_end_marker_are_reported_and_listed() {
    let mut data = archive(&[member("a", b"x", Magic::Ustar)]);
    data.extend(archive(&[member("hidden.pkl", b"\x80\x02", Magic::Ustar)]));
    let (entries, findings) = list(&data);
    assert_eq!(ids(&findings), [TAR_DATA_AFTER_END.id]);
    assert_eq!(entries.len(), 2);
    assert!(entries[1].after_end && !entries[0].after_end);
}

#[test]
fn member_count_and_header_sizes_are_limited() {
    let members: Vec<Vec<u8>> = (0..5)
        .map(|i| member(&format!("m{i}"), b"x", Magic::Ustar))
        .collect();
    let limits = Limits {
        max_members: 2,
        ..Limits::default()
    };
    let data = archive(&members);
    let (entries, findings) = list_with(&data, &limits);
    assert_eq!(entries.len(), 2);
    assert_eq!(ids(&findings), [LIMIT_EXCEEDED.id]);

    let mut long = header("././@LongLink", 5000, b'L', Magic::Gnu, "");
    long.resize(BLOCK + 5120, b'a');
    let limits = Limits {
        max_header_bytes: 1000,
        ..Limits::default()
    };
    let data = archive(&[long, member("short", b"x", Magic::Gnu)]);
    let (entries, findings) = list_with(&data, &limits);
    assert_eq!(ids(&findings), [LIMIT_EXCEEDED.id]);
    assert_eq!(entries[0].name, "short");
}

#[test]
fn links_and_directories_with_sizes_carry_no_content() {
    let mut dir = header("dir/", 512, b'5', Magic::Ustar, "");
    dir.extend(member(
        "inner",
        b"read as a header, as Python does",
        Magic::Ustar,
    ));
    let data = archive(&[dir]);
    let (entries, _) = list(&data);
    assert_eq!(entries[0].kind, TarKind::Directory);
    assert!(entries[0].data.is_empty());
    assert_eq!(entries[1].name, "inner");
}

#[test]
fn sparse_members_fail_closed() {
    let mut sparse = header("sparse.bin", 3, b'S', Magic::Gnu, "");
    sparse.extend_from_slice(b"abc");
    sparse.resize(2 * BLOCK, 0);
    let data = archive(&[sparse]);
    let (entries, findings) = list(&data);
    assert_eq!(ids(&findings), [MALFORMED.id]);
    assert_eq!(
        (entries[0].kind, entries[0].data),
        (TarKind::Sparse, &b"abc"[..])
    );
}

#[test]
fn sniffing_needs_a_header() {
    assert!(!looks_like_tar(&[0u8; BLOCK]));
    assert!(!looks_like_tar(b"ustar"));
    assert!(!looks_like_tar(&[b'a'; 2 * BLOCK]));
    assert!(looks_like_tar(&header("x", 0, b'0', Magic::V7, "")));
    assert_eq!(number(b"  755 \0"), Some(0o755));
    assert_eq!(number(b"\0\0\0"), Some(0));
    assert_eq!(number(b"\xff\xff"), None);
    assert_eq!(number(b"9"), None);
}

mod properties {
    use proptest::prelude::*;

    use super::*;
    use crate::fuzzing;

    fn limits() -> Limits {
        Limits {
            max_members: 64,
            max_header_bytes: 1 << 16,
            ..Limits::default()
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..4096)) {
            fuzzing::tar(&data, &limits());
        }

        #[test]
        fn mutated_archives_never_panic(
            which in 0usize..3,
            flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..12),
            reseal in any::<bool>(),
        ) {
            let mut data = fixture(["ustar.tar", "gnu.tar", "pax.tar"][which]);
            for (at, value) in flips {
                let i = at.index(data.len());
                data[i] = value;
                if reseal {
                    // Keep the header valid so the mutation reaches the field parsers.
                    let block = i / BLOCK * BLOCK;
                    seal(&mut data[block..block + BLOCK]);
                }
            }
            fuzzing::tar(&data, &limits());
        }
    }
}
