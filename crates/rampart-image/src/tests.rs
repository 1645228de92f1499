//! End-to-end tests over images assembled in the tests (see `test_support`).

use std::collections::BTreeMap;

use proptest::prelude::*;
use rampart_core::{Finding, Limits};
use serde_json::json;

use crate::test_support::{
    self, Blobs, Item, Spec, archive, docker_save, gzip, oci_layout, tar, write_dir,
};
use crate::{Digest, EntryKind, FileDigests, Image, ImageError, ImageFormat};

/// What a walk saw: path → (layer, deleted_in, data), one row per entry.
type Seen = Vec<(String, usize, Option<usize>, Vec<u8>)>;

fn walk(image: &Image) -> (Seen, Vec<Finding>) {
    let mut out = Vec::new();
    let mut seen = Vec::new();
    image.walk(&Limits::default(), FileDigests::Wanted, &mut out, |entry| {
        seen.push((
            entry.path.to_owned(),
            entry.layer.index,
            entry.deleted_in,
            entry.data.to_vec(),
        ));
    });
    (seen, out)
}

fn rule_ids(findings: &[Finding]) -> Vec<&'static str> {
    findings.iter().map(|f| f.rule.id).collect()
}

fn open_bytes(bytes: Vec<u8>, platform: Option<&str>) -> Result<Image, ImageError> {
    Image::from_archive_bytes(bytes, "image.tar", platform, &Limits::default())
}

fn model_server_layers() -> Vec<Vec<u8>> {
    vec![
        tar(&[
            Item::Dir("usr/"),
            Item::Dir("usr/bin/"),
            Item::File("usr/bin/python3", b"ELF"),
            Item::Symlink("usr/bin/python", "/usr/bin/python3"),
            Item::HardLink("usr/bin/python3.11", "usr/bin/python3"),
            Item::Dir("root/"),
            Item::File("root/.netrc", b"machine hf.co password hf_secret"),
            Item::Dir("opt/cache/"),
            Item::File("opt/cache/old.bin", b"stale"),
        ]),
        tar(&[
            Item::Dir("app/"),
            Item::File("app/serve.py", b"print('hi')"),
        ]),
        tar(&[
            Item::File("root/.wh..netrc", b""),
            Item::File("opt/cache/.wh..wh..opq", b""),
            Item::File("opt/cache/new.bin", b"fresh"),
            Item::File("app/serve.py", b"print('v2')"),
        ]),
    ]
}

fn find<'s>(
    seen: &'s Seen,
    path: &str,
    layer: usize,
) -> Option<&'s (String, usize, Option<usize>, Vec<u8>)> {
    seen.iter().find(|row| row.0 == path && row.1 == layer)
}

#[test]
fn oci_layout_directory_walks_with_whiteouts_and_opaque_dirs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = Spec::new(model_server_layers());
    write_dir(&oci_layout(&spec), dir.path());
    let image = Image::open(dir.path(), None, &Limits::default()).expect("opens");
    assert_eq!(image.format, ImageFormat::Oci);
    assert!(image.manifest_digest.is_some());
    assert_eq!(image.layers.len(), 3);
    assert_eq!(image.config.user.as_deref(), Some("1000"));
    assert_eq!(image.config.cmd, ["serve"]);
    assert_eq!(
        image.platform.as_ref().map(ToString::to_string).as_deref(),
        Some("linux/amd64")
    );
    assert!(image.findings().is_empty(), "{:?}", image.findings());

    let (seen, findings) = walk(&image);
    assert!(
        findings.is_empty(),
        "a benign image has no findings: {findings:?}"
    );
    let netrc = find(&seen, "root/.netrc", 0).expect("deleted file is still walked");
    assert_eq!(netrc.2, Some(2));
    assert_eq!(netrc.3, b"machine hf.co password hf_secret");
    assert_eq!(
        find(&seen, "opt/cache/old.bin", 0).map(|r| r.2),
        Some(Some(2))
    );
    assert_eq!(find(&seen, "opt/cache", 0).map(|r| r.2), Some(None));
    assert_eq!(find(&seen, "app/serve.py", 1).map(|r| r.2), Some(Some(2)));
    assert_eq!(find(&seen, "app/serve.py", 2).map(|r| r.2), Some(None));
    assert_eq!(find(&seen, "usr/bin/python3", 0).map(|r| r.2), Some(None));
    assert!(
        seen.iter().all(|row| !row.0.contains(".wh.")),
        "whiteouts are not visited"
    );
    // Top layer first.
    assert_eq!(seen.first().map(|row| row.1), Some(2));

    let mut out = Vec::new();
    let view = image.final_view(&Limits::default(), &mut out);
    assert!(out.is_empty());
    assert!(!view.contains_key("root/.netrc"));
    assert!(!view.contains_key("opt/cache/old.bin"));
    assert_eq!(view.get("opt/cache/new.bin").map(|e| e.layer), Some(2));
    assert_eq!(view.get("app/serve.py").map(|e| e.layer), Some(2));
    assert_eq!(view.get("app").map(|e| e.layer), Some(1));
    assert_eq!(
        view.get("usr/bin/python").map(|e| e.kind.clone()),
        Some(EntryKind::Symlink {
            target: "/usr/bin/python3".to_owned()
        })
    );
    assert_eq!(
        view.get("usr/bin/python3.11").map(|e| e.kind.clone()),
        Some(EntryKind::HardLink {
            target: "usr/bin/python3".to_owned()
        })
    );
}

#[test]
fn oci_archive_and_uncompressed_layers_read_the_same() {
    let mut spec = Spec::new(model_server_layers());
    spec.gzip = false;
    let image = open_bytes(archive(&oci_layout(&spec)), None).expect("opens");
    let (seen, findings) = walk(&image);
    assert!(findings.is_empty(), "{findings:?}");
    assert_eq!(find(&seen, "root/.netrc", 0).map(|r| r.2), Some(Some(2)));
    // The same archive, gzip-wrapped as `docker save | gzip` writes it.
    let wrapped = open_bytes(gzip(&archive(&oci_layout(&spec))), None).expect("opens gzip-wrapped");
    assert_eq!(walk(&wrapped).0, seen);
}

#[test]
fn zstd_layers_are_read() {
    let layer = tar(&[Item::File("model.safetensors", b"{}")]);
    // A skippable frame (as `zstd:chunked` writes) and the tar split over two frames.
    let mut zstd = vec![0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3];
    let (first, second) = layer.split_at(700);
    for part in [first, second] {
        zstd.extend(ruzstd::encoding::compress_to_vec(
            part,
            ruzstd::encoding::CompressionLevel::Fastest,
        ));
    }
    let spec = Spec::new(vec![layer]);
    let mut blobs = Blobs::default();
    let config = blobs.add(spec.config());
    let mut layer_descriptor = blobs.add(zstd);
    layer_descriptor["mediaType"] = json!("application/vnd.oci.image.layer.v1.tar+zstd");
    let manifest = blobs.add(
        serde_json::to_vec(
            &json!({"schemaVersion": 2, "config": config, "layers": [layer_descriptor]}),
        )
        .expect("json"),
    );
    let image = open_bytes(archive(&blobs.layout(vec![manifest])), None).expect("opens");
    let (seen, findings) = walk(&image);
    assert!(findings.is_empty(), "{findings:?}");
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].3, b"{}");
}

/// Every entry's digest, as `sha256()` gives it, against the digest of its data.
fn digests_agree(image: &Image) -> usize {
    let mut out = Vec::new();
    let mut files = 0;
    image.walk(&Limits::default(), FileDigests::Wanted, &mut out, |entry| {
        if *entry.kind == EntryKind::File {
            files += 1;
            assert!(entry.complete);
            assert_eq!(
                entry.sha256(),
                Some(Digest::of(entry.data)),
                "{}",
                entry.path
            );
        }
    });
    assert!(out.is_empty(), "{out:?}");
    files
}

#[test]
fn files_on_disk_are_hashed_with_reads_and_streamed_layers_in_memory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = Spec::new(model_server_layers());
    // Uncompressed layers, members hashed from the archive file at their offsets.
    let saved = dir.path().join("saved.tar");
    std::fs::write(&saved, docker_save(&spec)).expect("write");
    let from_archive = Image::open(&saved, None, &Limits::default()).expect("opens");
    let files = digests_agree(&from_archive);
    assert!(files > 2);
    // An OCI layout directory: uncompressed blobs mapped per file, and gzip layers.
    for gzip in [false, true] {
        let layout = dir.path().join(format!("layout-{gzip}"));
        write_dir(
            &oci_layout(&Spec {
                gzip,
                ..Spec::new(model_server_layers())
            }),
            &layout,
        );
        let image = Image::open(&layout, None, &Limits::default()).expect("opens");
        assert_eq!(digests_agree(&image), files);
    }
}

#[test]
fn docker_save_archive_reads_config_tags_and_layers() {
    let spec = Spec::new(model_server_layers());
    let image = open_bytes(docker_save(&spec), None).expect("opens");
    assert_eq!(image.format, ImageFormat::DockerSave);
    assert_eq!(image.repo_tags, ["example/model-server:1.0"]);
    assert!(image.manifest_digest.is_none());
    assert_eq!(image.digest(), &image.config_digest);
    assert!(
        image
            .layers
            .iter()
            .all(|layer| layer.digest.is_none() && layer.diff_id.is_some())
    );
    assert_eq!(
        image
            .config
            .history_for_layer(1)
            .and_then(|h| h.created_by.as_deref()),
        Some("RUN step 1")
    );
    let (seen, findings) = walk(&image);
    assert!(findings.is_empty(), "{findings:?}");
    assert_eq!(find(&seen, "root/.netrc", 0).map(|r| r.2), Some(Some(2)));
    assert_eq!(find(&seen, "app/serve.py", 1).map(|r| r.2), Some(Some(2)));
}

#[test]
fn docker_save_layer_tampering_breaks_the_diff_id() {
    let spec = Spec::new(vec![tar(&[Item::File("app/model.pkl", b"benign")])]);
    let mut bytes = docker_save(&spec);
    let at = bytes
        .windows(6)
        .position(|w| w == b"benign")
        .expect("content present");
    bytes[at..at + 6].copy_from_slice(b"evil!!");
    let image = open_bytes(bytes, None).expect("opens");
    let (seen, findings) = walk(&image);
    assert_eq!(rule_ids(&findings), ["image/blob-digest-mismatch"]);
    assert_eq!(seen[0].3, b"evil!!", "the content is still scanned");
}

fn multi_arch() -> Vec<(String, Vec<u8>)> {
    let mut blobs = Blobs::default();
    let mut amd = Spec::new(vec![tar(&[Item::File("arch", b"amd64")])]);
    amd.platform = ("linux", "amd64");
    let mut arm = Spec::new(vec![tar(&[Item::File("arch", b"arm64")])]);
    arm.platform = ("linux", "arm64");
    let amd = blobs.add_image(&amd);
    let arm = blobs.add_image(&arm);
    let mut attestation = blobs.add(b"{}".to_vec());
    attestation["mediaType"] = json!("application/vnd.oci.image.manifest.v1+json");
    attestation["platform"] = json!({"os": "unknown", "architecture": "unknown"});
    // docker 25+ puts the platform index behind a top-level index.json.
    let mut nested = blobs.add(
        serde_json::to_vec(&json!({"schemaVersion": 2, "manifests": [amd, arm, attestation]}))
            .expect("json"),
    );
    nested["mediaType"] = json!("application/vnd.oci.image.index.v1+json");
    blobs.layout(vec![nested])
}

#[test]
fn multi_arch_index_needs_and_honours_a_platform() {
    let bytes = archive(&multi_arch());
    match open_bytes(bytes.clone(), None) {
        Err(ImageError::AmbiguousPlatform { available }) => {
            assert_eq!(available, "linux/amd64, linux/arm64");
        }
        other => panic!("expected an ambiguity error, got {:?}", other.map(|_| ())),
    }
    for (wanted, content) in [
        ("linux/arm64", b"arm64"),
        ("linux/amd64", b"amd64"),
        ("linux/arm64/v8", b"arm64"),
    ] {
        let image = open_bytes(bytes.clone(), Some(wanted)).expect("platform exists");
        assert_eq!(walk(&image).0[0].3, content, "{wanted}");
    }
    match open_bytes(bytes.clone(), Some("linux/s390x")) {
        Err(ImageError::PlatformNotFound { available, .. }) => {
            assert!(available.contains("linux/arm64"))
        }
        other => panic!("expected platform-not-found, got {:?}", other.map(|_| ())),
    }
    assert!(matches!(
        open_bytes(bytes, Some("linux")),
        Err(ImageError::BadPlatform(_))
    ));
}

#[test]
fn single_image_platform_is_checked_against_its_config() {
    let mut blobs = Blobs::default();
    let mut manifest = blobs.add_image(&Spec::new(vec![tar(&[])]));
    manifest.as_object_mut().expect("object").remove("platform");
    let bytes = archive(&blobs.layout(vec![manifest]));
    assert!(open_bytes(bytes.clone(), Some("linux/amd64")).is_ok());
    assert!(matches!(
        open_bytes(bytes, Some("linux/arm64")),
        Err(ImageError::PlatformNotFound { .. })
    ));
}

#[test]
fn manifest_and_config_digest_mismatches_are_errors_naming_the_blob() {
    let spec = Spec::new(vec![tar(&[Item::File("a", b"a")])]);
    let files = oci_layout(&spec);
    let config = spec.config();
    let config_name = format!(
        "blobs/sha256/{}",
        &test_support::digest(&config)["sha256:".len()..]
    );
    let tampered: Vec<(String, Vec<u8>)> = files
        .into_iter()
        .map(|(name, bytes)| {
            let bytes = if name == config_name {
                String::from_utf8(bytes)
                    .expect("utf8")
                    .replace("\"1000\"", "\"0000\"")
                    .into_bytes()
            } else {
                bytes
            };
            (name, bytes)
        })
        .collect();
    match open_bytes(archive(&tampered), None) {
        Err(ImageError::DigestMismatch { blob, .. }) => assert_eq!(blob, config_name),
        other => panic!("expected a digest mismatch, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn layer_digest_mismatch_and_truncation_are_reported_and_read_on() {
    let content: Vec<u8> = (0..50_000u32).flat_map(|n| n.to_le_bytes()).collect();
    let spec = Spec::new(vec![tar(&[
        Item::File("first.txt", b"first"),
        Item::File("big.bin", &content),
    ])]);
    let mut files = oci_layout(&spec);
    let layer_digest = test_support::digest(&gzip(&spec.layers[0]));
    let layer_name = format!("blobs/sha256/{}", &layer_digest["sha256:".len()..]);
    for (name, bytes) in &mut files {
        if *name == layer_name {
            bytes.truncate(bytes.len() / 2);
        }
    }
    let image = open_bytes(archive(&files), None).expect("opens: layers are checked while walking");
    let (seen, findings) = walk(&image);
    let ids = rule_ids(&findings);
    assert!(ids.contains(&"image/blob-digest-mismatch"), "{ids:?}");
    assert!(ids.contains(&"scan/malformed"), "{ids:?}");
    let mismatch = findings
        .iter()
        .find(|f| f.rule.id == "image/blob-digest-mismatch")
        .expect("found");
    assert!(
        mismatch.message.contains(&layer_name),
        "{}",
        mismatch.message
    );
    assert_eq!(
        mismatch.location.to_string(),
        format!("image.tar!/layer 0 (sha256:{})", &layer_digest[7..19])
    );
    assert_eq!(
        find(&seen, "first.txt", 0).map(|r| r.3.clone()),
        Some(b"first".to_vec())
    );
}

#[test]
fn missing_layer_is_reported_not_skipped() {
    let spec = Spec::new(vec![tar(&[Item::File("a", b"a")])]);
    let layer_name = format!(
        "blobs/sha256/{}",
        &test_support::digest(&gzip(&spec.layers[0]))["sha256:".len()..]
    );
    let files: Vec<_> = oci_layout(&spec)
        .into_iter()
        .filter(|(name, _)| *name != layer_name)
        .collect();
    let image = open_bytes(archive(&files), None).expect("opens");
    let (seen, findings) = walk(&image);
    assert!(seen.is_empty());
    assert_eq!(rule_ids(&findings), ["scan/malformed"]);
}

#[test]
fn hostile_layer_paths_are_reported_and_clamped() {
    let layer = tar(&[
        Item::File("../../etc/cron.d/evil", b"* * * * * root sh"),
        Item::File("/abs/file", b"x"),
        Item::HardLink("app/link", "../../../etc/shadow"),
        Item::Symlink("app/python", "/usr/bin/python3"),
        Item::Symlink("app/up", "../../../.."),
    ]);
    let image = open_bytes(archive(&oci_layout(&Spec::new(vec![layer]))), None).expect("opens");
    let (seen, findings) = walk(&image);
    let traversal: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.rule.id == "image/layer-path-traversal")
        .collect();
    assert_eq!(traversal.len(), 3, "{findings:?}");
    assert_eq!(
        findings.len(),
        3,
        "symlink targets are not escapes in an image: {findings:?}"
    );
    let paths: Vec<&str> = seen.iter().map(|row| row.0.as_str()).collect();
    assert_eq!(
        paths,
        [
            "etc/cron.d/evil",
            "abs/file",
            "app/link",
            "app/python",
            "app/up"
        ]
    );
}

#[test]
fn overlong_paths_are_bounded_and_reported() {
    let deep = "d/".repeat(2100) + "f";
    let body = format!(" path={deep}\n");
    // A pax record's length counts its own digits.
    let digits = (1..)
        .find(|&d: &usize| (d + body.len()).to_string().len() == d)
        .expect("exists");
    let record = format!("{}{body}", digits + body.len());
    let mut layer = tar(&[Item::File("paxheader", record.as_bytes())]);
    layer[156] = b'x';
    let sum: u32 = layer[..512]
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(b)
            }
        })
        .sum();
    layer[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    layer.truncate(layer.len() - 1024);
    layer.extend(tar(&[Item::File("placeholder", b"deep")]));
    let image = open_bytes(archive(&oci_layout(&Spec::new(vec![layer]))), None).expect("opens");
    let (seen, findings) = walk(&image);
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0, deep);
    assert_eq!(rule_ids(&findings), ["scan/limit-exceeded"]);
}

#[test]
fn not_an_image_is_an_error() {
    assert!(matches!(
        open_bytes(b"hello".to_vec(), None),
        Err(ImageError::NotAnImage { .. })
    ));
    let other_tar = tar(&[Item::File("README", b"hi")]);
    assert!(matches!(
        open_bytes(other_tar, None),
        Err(ImageError::NotAnImage { .. })
    ));
    let hostile = archive(&[(
        "manifest.json".to_owned(),
        br#"[{"Config":"../../etc/passwd","Layers":[]}]"#.to_vec(),
    )]);
    assert!(matches!(
        open_bytes(hostile, None),
        Err(ImageError::Malformed { .. })
    ));
}

#[test]
fn a_compressed_archive_over_the_limit_says_how_to_read_it() {
    let spec = Spec {
        gzip: false,
        ..Spec::new(vec![tar(&[Item::File("app/data.bin", &[1u8; 50_000])])])
    };
    let wrapped = gzip(&archive(&oci_layout(&spec)));
    let limits = Limits {
        max_decompressed_bytes: 10_000,
        ..Limits::default()
    };
    let error = Image::from_archive_bytes(wrapped.clone(), "image.tar.gz", None, &limits)
        .err()
        .expect("over the limit");
    assert!(
        matches!(error, ImageError::Undecompressed { .. }),
        "{error}"
    );
    let message = error.to_string();
    assert!(message.contains("max_decompressed_bytes"), "{message}");
    assert!(message.contains("gunzip -k"), "{message}");
    assert!(Image::from_archive_bytes(wrapped, "image.tar.gz", None, &Limits::default()).is_ok());
}

#[test]
fn layer_limits_are_reported() {
    let layer = tar(&[Item::File("zeros", &[0u8; 100_000])]);
    let image = open_bytes(archive(&oci_layout(&Spec::new(vec![layer]))), None).expect("opens");
    let limits = Limits {
        max_decompressed_bytes: 10_000,
        ..Limits::default()
    };
    let mut out = Vec::new();
    let mut visited = Vec::new();
    image.walk(&limits, FileDigests::Wanted, &mut out, |entry| {
        visited.push((
            entry.complete,
            entry.data.len(),
            entry.exceeded_bound(),
            entry.sha256(),
        ))
    });
    assert!(out.is_empty(), "{out:?}");
    // Too large to hold: the walk hands out a prefix and the digest of all of it; the
    // consumer reports what it could not check.
    assert_eq!(
        visited,
        [(
            false,
            64 * 1024,
            Some(10_000),
            Some(Digest::of(&[0u8; 100_000]))
        )]
    );
    let limits = Limits {
        max_total_decompressed_bytes: 10_000,
        ..Limits::default()
    };
    let mut out = Vec::new();
    image.walk(&limits, FileDigests::Wanted, &mut out, |_| {});
    assert!(rule_ids(&out).contains(&"scan/limit-exceeded"), "{out:?}");
}

#[test]
fn open_reads_a_file_on_disk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("image.tar");
    std::fs::write(&path, docker_save(&Spec::new(model_server_layers()))).expect("write");
    let image = Image::open(&path, None, &Limits::default()).expect("opens");
    assert_eq!(image.location().path, path.display().to_string());
    let mut out = Vec::new();
    let view: BTreeMap<_, _> = image.final_view(&Limits::default(), &mut out);
    assert!(view.contains_key("app/serve.py"));
    assert!(matches!(
        Image::open(&dir.path().join("missing"), None, &Limits::default()),
        Err(ImageError::Io { .. })
    ));
}

#[test]
fn fuzz_corpus_replays_without_panic() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/image_archive");
    let mut replayed = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus directory exists") {
        let bytes = std::fs::read(entry.expect("entry").path()).expect("readable");
        crate::fuzzing::image_archive(&bytes);
        replayed += 1;
    }
    assert!(replayed > 0, "the corpus is empty");
}

/// Writes the fuzz seeds: `cargo test -p rampart-image -- --ignored write_fuzz_seeds`.
#[test]
#[ignore = "regenerates fuzz/corpus/image_archive"]
fn write_fuzz_seeds() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/image_archive");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let small = || {
        vec![
            tar(&[
                Item::File("a/secret", b"s"),
                Item::Symlink("a/l", "/a/secret"),
            ]),
            tar(&[
                Item::File("a/.wh.secret", b""),
                Item::File("b/.wh..wh..opq", b""),
            ]),
        ]
    };
    let mut uncompressed = Spec::new(small());
    uncompressed.gzip = false;
    let seeds = [
        ("oci_gzip.tar", archive(&oci_layout(&Spec::new(small())))),
        ("oci_plain.tar", archive(&oci_layout(&uncompressed))),
        ("docker_save.tar", docker_save(&Spec::new(small()))),
        ("multi_arch.tar", archive(&multi_arch())),
    ];
    for (name, bytes) in seeds {
        std::fs::write(dir.join(name), bytes).expect("write seed");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        crate::fuzzing::image_archive(&bytes);
    }

    #[test]
    fn mutated_images_never_panic(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
                                  cut in any::<usize>()) {
        let mut bytes = docker_save(&Spec::new(model_server_layers()));
        if flips.len() % 2 == 0 {
            bytes = archive(&oci_layout(&Spec::new(model_server_layers())));
        }
        for (at, value) in flips {
            let len = bytes.len();
            bytes[at % len] = value;
        }
        bytes.truncate(bytes.len() - cut % 64);
        crate::fuzzing::image_archive(&bytes);
    }
}

#[test]
fn arbitrary_file_on_disk_never_panics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("blob");
    for bytes in [
        &b""[..],
        b"\x1f\x8b\x08garbage",
        b"\x28\xb5\x2f\xfdjunk",
        &[0u8; 1024],
    ] {
        std::fs::write(&path, bytes).expect("write");
        assert!(Image::open(&path, None, &Limits::default()).is_err());
    }
}
