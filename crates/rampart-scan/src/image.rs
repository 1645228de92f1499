//! Scanning a container image: its config, then every regular file of every layer through
//! the same per-file checks as a file on disk, one layer in memory at a time.
//!
//! Locations: a layer file is `IMAGE!/layer <index> (sha256:<12 hex>)!/<path in layer>`
//! (the layer counted from the bottom, 0, and named by its blob digest as `docker history`
//! shows it); the config is `IMAGE!/config (sha256:<12 hex>)` with the field as resource.
//! Files a later layer deleted or replaced are scanned too: they are still in the image.

use rampart_core::rules::LIMIT_EXCEEDED;
use rampart_core::{FileVerdict, Finding, Limits};
use rampart_image::rules::SECRET_IN_DELETED_LAYER;
use rampart_image::{EntryKind, FileDigests, Image, ImageFormat, LayerEntry};

use rayon::prelude::*;

use crate::analyze::{ScanOutput, Scanner};

impl Scanner {
    /// Scans `image`: the first output is the image itself (what opening, walking and the
    /// config checks found), then one per regular file of each layer, top layer first.
    /// `on_file` is called as each file finishes (for progress).
    pub fn scan_image(&self, image: &Image, on_file: &(dyn Fn() + Sync)) -> Vec<ScanOutput> {
        let mut image_findings: Vec<Finding> = image.findings().to_vec();
        let mut config_findings = Vec::new();
        image.check_config(&mut config_findings);
        image_findings.extend(
            config_findings
                .into_iter()
                .filter(|finding| self.runs(finding)),
        );
        let mut files = Vec::new();
        let mut walk_findings = Vec::new();
        // Scanning needs no digests of the files too large to hold.
        let digests = FileDigests::NotWanted;
        image.walk_layers(&self.limits, digests, &mut walk_findings, |entries| {
            // One layer is in memory at a time; its files are scanned in parallel.
            let scanned: Vec<ScanOutput> = entries
                .par_iter()
                .filter(|entry| *entry.kind == EntryKind::File)
                .map(|entry| {
                    let output = self.scan_layer_file(image, entry);
                    on_file();
                    output
                })
                .collect();
            files.extend(scanned);
        });
        image_findings.extend(walk_findings);
        let format = match image.format {
            ImageFormat::Oci => "oci-image",
            ImageFormat::DockerSave => "docker-archive",
        };
        let display = image.location().path.clone();
        let mut outputs = vec![ScanOutput {
            verdict: FileVerdict::new(display, format, 0),
            findings: image_findings,
            notices: Vec::new(),
        }];
        outputs.append(&mut files);
        outputs
    }

    fn runs(&self, finding: &Finding) -> bool {
        let scanners = self.scanners;
        match finding.rule.scanner {
            "secret" => scanners.secret,
            "config" => scanners.config,
            _ => true,
        }
    }

    fn scan_layer_file(&self, image: &Image, entry: &LayerEntry<'_>) -> ScanOutput {
        let (format, mut findings) = match (entry.exceeded_bound(), entry.partial_zip()) {
            (None, _) => self.scan_all_checks(entry.data, entry.location),
            (Some(_), Some(zip)) => self.scan_partial_zip(zip, entry.location),
            (Some(bound), None) => match streamed_header_checks(entry, &self.limits) {
                Some(checked) => checked,
                None => return not_scanned(entry, bound),
            },
        };
        if let Some(deleted_in) = entry.deleted_in {
            let how = if deleted_in == entry.layer.index {
                format!(
                    "the file is replaced later in {} itself, yet its first copy is still in the image",
                    entry.layer.label()
                )
            } else {
                let by = image
                    .layers
                    .get(deleted_in)
                    .map_or_else(|| format!("layer {deleted_in}"), |layer| layer.label());
                format!(
                    "the file was deleted or replaced by {by}, yet it is still in the image in {}",
                    entry.layer.label()
                )
            };
            for finding in &mut findings {
                finding.message.push_str(&format!(" ({how})"));
            }
            let secret = findings
                .iter()
                .find(|finding| finding.rule.scanner == "secret");
            if let Some(secret) = secret {
                let mut finding = Finding::new(
                    &SECRET_IN_DELETED_LAYER,
                    entry.location.clone(),
                    format!(
                        "{} holds a secret ({}) and {how}: `docker save` and a tar extraction of that \
                         layer recover it",
                        entry.path, secret.rule.title
                    ),
                );
                if let Some(evidence) = &secret.evidence {
                    finding = finding.with_evidence(evidence.clone());
                }
                findings.push(finding);
            }
        }
        ScanOutput {
            verdict: FileVerdict::new(entry.location.container_path(), format, entry.size),
            findings,
            notices: Vec::new(),
        }
    }
}

/// A file too large to hold from a compressed layer whose format's checks need only its
/// header (safetensors: the walk kept all of it): those checks, against its real size.
fn streamed_header_checks(
    entry: &LayerEntry<'_>,
    limits: &Limits,
) -> Option<(String, Vec<Finding>)> {
    let extent = rampart_formats::safetensors::header_extent(entry.data)?;
    if (entry.data.len() as u64) < extent {
        return None;
    }
    let mut findings = Vec::new();
    rampart_formats::safetensors::scan_prefix(
        entry.data,
        entry.size,
        entry.location,
        limits,
        &mut findings,
    );
    Some(("safetensors".to_owned(), findings))
}

fn not_scanned(entry: &LayerEntry<'_>, bound: u64) -> ScanOutput {
    ScanOutput {
        verdict: FileVerdict::new(entry.location.container_path(), "not-scanned", entry.size),
        findings: vec![Finding::new(
            &LIMIT_EXCEEDED,
            entry.location.clone(),
            format!(
                "{} is {} bytes, more than max_decompressed_bytes ({bound}), the most rampart \
                 holds in memory of one file from a compressed layer; none of its checks ran \
                 (zip-based models such as PyTorch checkpoints, safetensors and GGUF files are checked \
                 from the parts their checks read, whatever their size). Raise \
                 [limits] max_decompressed_bytes, or store the layer uncompressed (files of \
                 uncompressed layers are read in place, whatever their size)",
                entry.path, entry.size
            ),
        )],
        notices: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use rampart_image::test_support::{Item, Spec, archive, oci_layout, tar, torch_zip};

    use super::*;
    use crate::Config;

    /// `os.system('id')` as a protocol 2 pickle.
    const MALICIOUS_PICKLE: &[u8] =
        b"\x80\x02cposix\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03.";

    fn scan(layers: Vec<Vec<u8>>) -> Vec<ScanOutput> {
        scan_with(&Config::default(), layers)
    }

    /// Scans an OCI archive of gzip `layers` with `config`.
    fn scan_with(config: &Config, layers: Vec<Vec<u8>>) -> Vec<ScanOutput> {
        let spec = Spec::new(layers);
        let image = Image::from_archive_bytes(
            archive(&oci_layout(&spec)),
            "image.tar",
            None,
            &config.limits,
        )
        .expect("opens");
        let scanner = Scanner::new(config, std::path::Path::new("(test)")).expect("scanner");
        scanner.scan_image(&image, &|| {})
    }

    /// The output of the layer file whose path ends with `name`.
    fn output<'o>(outputs: &'o [ScanOutput], name: &str) -> &'o ScanOutput {
        outputs
            .iter()
            .find(|o| o.verdict.path.ends_with(name))
            .unwrap_or_else(|| panic!("{name} listed"))
    }

    #[test]
    fn deleted_pickle_and_secret_are_found_in_their_layer() {
        let aws = concat!(
            "aws_access_key_id = AKIA",
            "Z7VRSQ5TLHX4MNQW\naws_secret_access_key = q8Vd2kR7pLm3Xn9Tz4",
            "Bw6Yc1Hf5Js0Ga8Ue2Wi7O\n"
        )
        .as_bytes();
        let outputs = scan(vec![
            tar(&[Item::Dir("etc/"), Item::File("etc/hostname", b"box\n")]),
            tar(&[
                Item::Dir("app/"),
                Item::File("app/model.pkl", MALICIOUS_PICKLE),
                Item::File("root/.aws/credentials", aws),
            ]),
            tar(&[
                Item::File("app/.wh.model.pkl", b""),
                Item::File("root/.aws/.wh.credentials", b""),
                Item::File("app/serve.py", b"print('serving')\n"),
            ]),
        ]);
        let files: Vec<&str> = outputs.iter().map(|o| o.verdict.path.as_str()).collect();
        assert_eq!(files.len(), 5, "the image and its four files: {files:?}");
        let findings: Vec<&Finding> = outputs.iter().flat_map(|o| &o.findings).collect();
        let pickle = findings
            .iter()
            .find(|f| f.rule.id.starts_with("pickle/"))
            .unwrap_or_else(|| panic!("no pickle finding: {findings:#?}"));
        let shown = pickle.location.container_path();
        assert!(shown.starts_with("image.tar!/layer 1 (sha256:"), "{shown}");
        assert!(shown.ends_with(")!/app/model.pkl"), "{shown}");
        assert!(pickle.message.contains("deleted"), "{}", pickle.message);
        assert!(
            pickle.message.contains("layer 2 (sha256:"),
            "{}",
            pickle.message
        );
        let deleted_secret = findings
            .iter()
            .find(|f| f.rule.id == "image/secret-in-deleted-layer")
            .unwrap_or_else(|| panic!("no deleted-secret finding: {findings:#?}"));
        assert!(
            deleted_secret
                .location
                .container_path()
                .ends_with("!/root/.aws/credentials")
        );
        assert!(
            !deleted_secret
                .message
                .contains(concat!("AKIA", "Z7VRSQ5TLHX4MNQW"))
        );
        assert!(
            findings
                .iter()
                .filter(|f| f.location.to_string().contains("serve.py")
                    || f.location.to_string().contains("hostname"))
                .count()
                == 0,
            "{findings:#?}"
        );
    }

    #[test]
    fn a_safetensors_file_too_large_to_hold_is_checked_from_its_header() {
        let mut config = Config::default();
        config.limits.max_decompressed_bytes = 1000;
        let safetensors = |header: &str, data: usize| {
            let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
            bytes.extend_from_slice(header.as_bytes());
            bytes.resize(bytes.len() + data, 0);
            bytes
        };
        let good = safetensors(
            r#"{"w":{"dtype":"F32","shape":[1250],"data_offsets":[0,5000]}}"#,
            5000,
        );
        let short = safetensors(
            r#"{"w":{"dtype":"F32","shape":[1250],"data_offsets":[0,5000]}}"#,
            3000,
        );
        // A GGUF file whose chat template (padded past the bound) is a known injection.
        let template = format!(
            "{{{{ cycler.__init__.__globals__.os.popen('id').read() }}}}{}",
            " ".repeat(1200)
        );
        let mut gguf = b"GGUF".to_vec();
        gguf.extend_from_slice(&3u32.to_le_bytes());
        gguf.extend_from_slice(&0u64.to_le_bytes());
        gguf.extend_from_slice(&1u64.to_le_bytes());
        for text in ["tokenizer.chat_template", &template] {
            gguf.extend_from_slice(&(text.len() as u64).to_le_bytes());
            gguf.extend_from_slice(text.as_bytes());
            if text == "tokenizer.chat_template" {
                gguf.extend_from_slice(&8u32.to_le_bytes());
            }
        }
        let outputs = scan_with(
            &config,
            vec![tar(&[
                Item::File("models/good.safetensors", &good),
                Item::File("models/short.safetensors", &short),
                Item::File("models/chat.gguf", &gguf),
            ])],
        );
        let of = |name: &str| output(&outputs, name);
        let good = of("!/models/good.safetensors");
        assert_eq!(good.verdict.format, "safetensors");
        assert!(good.findings.is_empty(), "{:#?}", good.findings);
        let short = of("!/models/short.safetensors");
        assert_eq!(short.verdict.format, "safetensors");
        let ids: Vec<&str> = short.findings.iter().map(|f| f.rule.id).collect();
        assert_eq!(
            ids,
            ["safetensors/tensor-layout"],
            "checked against its real size"
        );
    }

    #[test]
    fn a_pytorch_checkpoint_too_large_to_hold_is_scanned_from_the_parts_it_reads() {
        let mut config = Config::default();
        config.limits.max_decompressed_bytes = 200_000;
        let tensor = vec![0x3c_u8; 600_000];
        let checkpoint = |pickle: &[u8]| {
            torch_zip(&[
                ("archive/data.pkl", pickle),
                ("archive/byteorder", b"little"),
                ("archive/data/0", &tensor),
                ("archive/data/1", &tensor),
                ("archive/version", b"3\n"),
            ])
        };
        let clean = checkpoint(b"\x80\x02}q\x00X\x01\x00\x00\x00wq\x01K\x01s.");
        let evil = checkpoint(MALICIOUS_PICKLE);
        // A member the scanner needs but could not keep: a pickle past the budget.
        let mut big_pickle = b"\x80\x02X\x00\x00\x04\x00".to_vec();
        big_pickle.resize(big_pickle.len() + 0x40000, b'a');
        big_pickle.extend(b"q\x00.");
        let too_big = checkpoint(&big_pickle);
        let outputs = scan_with(
            &config,
            vec![tar(&[
                Item::File("models/clean.pt", &clean),
                Item::File("models/evil.pt", &evil),
                Item::File("models/too_big.pt", &too_big),
            ])],
        );
        let of = |name: &str| output(&outputs, name);
        let clean = of("!/models/clean.pt");
        assert_eq!(clean.verdict.format, "pytorch-zip");
        assert!(clean.findings.is_empty(), "{:#?}", clean.findings);
        let evil = of("!/models/evil.pt");
        assert_eq!(evil.verdict.format, "pytorch-zip");
        let finding = evil
            .findings
            .iter()
            .find(|f| f.rule.id.starts_with("pickle/"))
            .unwrap_or_else(|| panic!("the pickle was scanned: {:#?}", evil.findings));
        assert!(
            finding
                .location
                .container_path()
                .ends_with("!/models/evil.pt!/archive/data.pkl"),
            "{}",
            finding.location.container_path()
        );
        let too_big = of("!/models/too_big.pt");
        // Fails closed: the pickle (and the small members after it, once the budget was
        // spent) are reported as not kept, never read as zeros.
        assert!(
            too_big
                .findings
                .iter()
                .all(|f| f.rule.id == "scan/limit-exceeded"),
            "{:#?}",
            too_big.findings
        );
        assert!(
            too_big
                .findings
                .iter()
                .any(|f| f.message.contains("'archive/data.pkl'"))
        );
    }

    #[test]
    fn a_file_too_large_to_hold_is_reported_against_itself() {
        let mut config = Config::default();
        config.limits.max_decompressed_bytes = 1000;
        let outputs = scan_with(
            &config,
            vec![tar(&[
                Item::File("app/model.pkl", MALICIOUS_PICKLE),
                Item::File("app/big.bin", &[7u8; 5000]),
            ])],
        );
        let big = output(&outputs, "!/app/big.bin");
        assert_eq!(big.verdict.format, "not-scanned");
        assert_eq!(big.findings.len(), 1);
        assert_eq!(big.findings[0].rule.id, "scan/limit-exceeded");
        assert!(
            big.findings[0]
                .message
                .contains("max_decompressed_bytes (1000)")
        );
        let pickle = output(&outputs, "!/app/model.pkl");
        assert!(
            pickle
                .findings
                .iter()
                .any(|f| f.rule.id.starts_with("pickle/"))
        );
    }

    #[test]
    fn clean_non_root_image_has_no_findings() {
        let outputs = scan(vec![tar(&[
            Item::Dir("app/"),
            Item::File(
                "app/serve.py",
                b"import os\nprint(os.environ.get('PORT', '8000'))\n",
            ),
            Item::File(
                "app/config.json",
                br#"{"model": "bert-base-uncased", "port": 8000}"#,
            ),
        ])]);
        let findings: Vec<&Finding> = outputs.iter().flat_map(|o| &o.findings).collect();
        assert!(findings.is_empty(), "{findings:#?}");
        assert_eq!(outputs.len(), 3);
    }
}
