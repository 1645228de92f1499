//! Per-file analysis: detect, dispatch, recurse into containers, and turn whatever happens
//! (including an analyzer panicking) into findings and a verdict.

use std::fs::File;
use std::panic::{AssertUnwindSafe, catch_unwind};

use rampart_archive::compress::{self, Codec};
use rampart_archive::{Budget, tar, zip};
use rampart_core::{FileVerdict, Finding, Limits, Location, Severity, rules as core_rules};
use rampart_formats::{
    chat_template, gguf, json_document, keras, numpy, onnx, safetensors, savedmodel, torchscript,
};
use rampart_pickle::{PickleScanner, StreamInfo, StreamKind};
use rayon::prelude::*;

use crate::config::{Config, ConfigError, Scanners};
use crate::detect::{Expectation, Format, SNIFF_LEN, detect, is_text};
use crate::rules::{EXTENSION_MISMATCH, POLYGLOT, TRAILING_DATA};
use crate::{Input, InputKind};
use rampart_core::mapped::FileBytes;

/// The model scanner, configured once and shared by every worker thread.
pub struct Scanner {
    pickle: PickleScanner,
    pub(crate) limits: Limits,
    pub(crate) scanners: Scanners,
}

/// One input file's verdict and findings (before the policy is applied).
#[derive(Debug)]
pub struct ScanOutput {
    pub verdict: FileVerdict,
    pub findings: Vec<Finding>,
    /// Things the user should know about this file that are not findings (an inline
    /// suppression that was not honoured).
    pub notices: Vec<String>,
}

impl Scanner {
    pub fn new(config: &Config, origin: &std::path::Path) -> Result<Self, ConfigError> {
        let pickle = PickleScanner::new(&config.pickle).map_err(|e| ConfigError::Pickle {
            path: origin.to_owned(),
            message: e.to_string(),
        })?;
        let scanners = match &config.scan.scanners {
            Some(kinds) => Scanners::only(kinds),
            None => Scanners::default(),
        };
        Ok(Scanner {
            pickle,
            limits: config.limits.clone(),
            scanners,
        })
    }

    /// The limits every file is scanned within (from the configuration).
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Runs only these scanners (`--scanners`), whatever the configuration said.
    pub fn with_scanners(mut self, scanners: Scanners) -> Self {
        self.scanners = scanners;
        self
    }

    /// Scans every input in parallel; `on_done` is called as each file finishes (for
    /// progress). Results come back in input order.
    pub fn scan_all(
        &self,
        inputs: &[Input],
        on_done: &(dyn Fn(&ScanOutput) + Sync),
    ) -> Vec<ScanOutput> {
        let mut outputs: Vec<ScanOutput> = inputs
            .par_iter()
            .map(|input| {
                let output = self.scan_input(input);
                on_done(&output);
                output
            })
            .collect();
        if self.scanners.config {
            crate::checks::scan_terraform(inputs, &mut outputs);
        }
        outputs
    }

    pub fn scan_input(&self, input: &Input) -> ScanOutput {
        let location = Location::file(&input.display);
        match &input.kind {
            InputKind::File => self.scan_file(input, location),
            InputKind::Special => ScanOutput {
                verdict: FileVerdict::new(&input.display, "not-a-file", 0),
                findings: Vec::new(),
                notices: Vec::new(),
            },
            InputKind::Excluded => ScanOutput {
                verdict: FileVerdict::new(&input.display, rampart_core::EXCLUDED_FORMAT, 0),
                findings: Vec::new(),
                notices: Vec::new(),
            },
            InputKind::SymlinkInsideTree { .. } => ScanOutput {
                verdict: FileVerdict::new(&input.display, "symlink", 0),
                findings: Vec::new(),
                notices: Vec::new(),
            },
            InputKind::SymlinkOutsideTree { target } => ScanOutput {
                verdict: FileVerdict::new(&input.display, "symlink", 0),
                findings: vec![
                    Finding::new(
                        &core_rules::SYMLINK_OUTSIDE_TREE,
                        location,
                        "symlink points outside the scanned tree and was not followed",
                    )
                    .with_evidence(format!("-> {}", target.display())),
                ],
                notices: Vec::new(),
            },
        }
    }

    fn scan_file(&self, input: &Input, location: Location) -> ScanOutput {
        let opened = File::open(&input.path).and_then(|file| {
            let len = file.metadata()?.len();
            Ok((FileBytes::open(&file, len)?, len))
        });
        let (bytes, len) = match opened {
            Ok(opened) => opened,
            Err(e) => {
                return ScanOutput {
                    verdict: FileVerdict::new(&input.display, "unreadable", 0),
                    findings: vec![Finding::new(
                        &core_rules::UNREADABLE,
                        location,
                        format!("could not read the file: {e}"),
                    )],
                    notices: Vec::new(),
                };
            }
        };
        let (format, mut findings) = self.scan_all_checks(&bytes, &location);
        let notices = crate::suppress::apply_inline(&bytes, &input.display, &mut findings);
        ScanOutput {
            verdict: FileVerdict::new(&input.display, format, len),
            findings,
            notices,
        }
    }

    /// Every per-file check on `data` (model analyzers, then config and secret checks):
    /// the format label for the verdict and the findings. Checks pick files by the name of
    /// `location` (its last member inside a container).
    pub(crate) fn scan_all_checks(
        &self,
        data: &[u8],
        location: &Location,
    ) -> (String, Vec<Finding>) {
        let (model_label, mut findings) = self.scan_bytes_at(data, location);
        let label = crate::checks::scan_file(self.scanners, data, location, &mut findings);
        (label.map_or(model_label, str::to_owned), findings)
    }

    /// Scans bytes that are not a file on disk (an upload, a fuzz input), as if they were a
    /// file named `display`.
    pub fn scan_bytes(&self, display: &str, data: &[u8]) -> ScanOutput {
        let (format, findings) = self.scan_bytes_at(data, &Location::file(display));
        ScanOutput {
            verdict: FileVerdict::new(display, format, data.len() as u64),
            findings,
            notices: Vec::new(),
        }
    }

    fn scan_bytes_at(&self, data: &[u8], location: &Location) -> (String, Vec<Finding>) {
        self.analyzed(location, |scan| scan.analyze(data, location))
    }

    /// The model checks of a zip of which only the bytes they read were kept (a large
    /// file from a compressed image layer): what was not kept is reported, never read.
    pub(crate) fn scan_partial_zip(
        &self,
        zip: &zip::PartialZip,
        location: &Location,
    ) -> (String, Vec<Finding>) {
        self.analyzed(location, |scan| {
            if !scan.scanner.scanners.model {
                return "not-model-scanned".to_owned();
            }
            match zip::Archive::open_partial(zip, location, scan.limits, &mut scan.out) {
                Some(archive) => scan.zip_members(&archive, location),
                None => "zip".to_owned(),
            }
        })
    }

    /// Runs `analyze` on a fresh [`FileScan`]; a panic becomes a finding.
    fn analyzed(
        &self,
        location: &Location,
        analyze: impl FnOnce(&mut FileScan<'_>) -> String,
    ) -> (String, Vec<Finding>) {
        let mut scan = FileScan {
            scanner: self,
            limits: &self.limits,
            budget: Budget::new(&self.limits),
            out: Vec::new(),
        };
        let result = catch_unwind(AssertUnwindSafe(|| analyze(&mut scan)));
        match result {
            Ok(format) => (format, scan.out),
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".to_owned());
                let mut findings = scan.out;
                findings.push(
                    Finding::new(
                        &core_rules::INTERNAL_ERROR,
                        location.clone(),
                        "an analyzer failed on this file; it was not fully scanned",
                    )
                    .with_evidence(what),
                );
                ("error".to_owned(), findings)
            }
        }
    }
}

/// The state of one input file's scan: its decompression budget and its findings.
struct FileScan<'s> {
    scanner: &'s Scanner,
    limits: &'s Limits,
    budget: Budget,
    out: Vec<Finding>,
}

impl FileScan<'_> {
    /// Detects `data`'s format and analyses it; returns the format label for the report.
    fn analyze(&mut self, data: &[u8], location: &Location) -> String {
        if !self.scanner.scanners.model {
            return "not-model-scanned".to_owned();
        }
        let head = &data[..data.len().min(SNIFF_LEN)];
        let format = detect(head, location.name());
        self.analyze_as(format, data, location)
    }

    fn analyze_as(&mut self, format: Format, data: &[u8], location: &Location) -> String {
        let expectation = Expectation::of(location.name());
        match format {
            Format::Empty => {
                if expectation.expects_model() {
                    // Nothing can run from an empty file, but a model that should be
                    // there is not.
                    self.out.push(
                        Finding::new(
                            &core_rules::MALFORMED,
                            location.clone(),
                            "the model file is empty",
                        )
                        .with_severity(Severity::Low),
                    );
                }
                "empty".to_owned()
            }
            Format::Zip => self.zip(data, location),
            Format::Tar => self.tar(data, location),
            // zlib's and lzma's few header bytes also open other binaries (a MATLAB .mat):
            // unless the name promised a compressed model, a stream that does not inflate
            // is data.
            Format::Compressed(codec @ (Codec::Zlib | Codec::Lzma))
                if matches!(expectation, Expectation::Nothing | Expectation::MaybePickle)
                    && strip_compression_suffix(location.name()) == base_name(location.name()) =>
            {
                let before = self.out.len();
                let label = self.decompressed(codec, data, location);
                self.keep_unless_only_malformed(before, label)
            }
            Format::Compressed(codec) => self.decompressed(codec, data, location),
            Format::Pickle => {
                if expectation == Expectation::DataOnlyModel {
                    self.out.push(Finding::new(
                        &EXTENSION_MISMATCH,
                        location.clone(),
                        format!(
                            "`{}` is named as a data-only format but holds a pickle",
                            base_name(location.name())
                        ),
                    ));
                }
                match expectation {
                    Expectation::Nothing | Expectation::MaybePickle => {
                        self.tentative_pickle(data, location)
                    }
                    _ => self.pickle(data, location),
                }
            }
            Format::NumPy => self.numpy(data, location),
            Format::Safetensors => {
                safetensors::scan(data, location, self.limits, &mut self.out);
                "safetensors".to_owned()
            }
            Format::Gguf => {
                gguf::scan(data, location, self.limits, &mut self.out);
                "gguf".to_owned()
            }
            Format::GgmlLegacy => "ggml".to_owned(),
            Format::Hdf5 => {
                keras::scan_hdf5(data, location, self.limits, &mut self.out);
                "hdf5".to_owned()
            }
            Format::Onnx => {
                onnx::scan(data, location, self.limits, &mut self.out);
                "onnx".to_owned()
            }
            Format::SavedModel if expectation == Expectation::Model => {
                savedmodel::scan(data, location, self.limits, &mut self.out);
                "tf-savedmodel".to_owned()
            }
            // A `.pb` of unknown purpose: a TensorFlow graph if it parses as one, else data.
            Format::SavedModel => {
                let limits = self.limits;
                self.tentatively("tf-savedmodel", |out| {
                    savedmodel::scan(data, location, limits, out)
                })
            }
            Format::GitLfsPointer => {
                self.out.push(
                    Finding::new(
                        &core_rules::UNKNOWN_FORMAT,
                        location.clone(),
                        "this is a Git LFS pointer, not the file it stands for: the real content was \
                         never fetched, so it was not scanned",
                    )
                    .with_severity(Severity::Medium)
                    .with_fix("Run `git lfs pull` (or fetch the artifact) and scan again."),
                );
                "git-lfs-pointer".to_owned()
            }
            Format::TfLite => "tflite".to_owned(),
            Format::Json => {
                json_document::scan(data, location, self.limits, &mut self.out).to_owned()
            }
            Format::ChatTemplate => {
                match std::str::from_utf8(data) {
                    Ok(template) => chat_template::scan_template(template, location, &mut self.out),
                    Err(e) => self.out.push(Finding::new(
                        &core_rules::MALFORMED,
                        location.at(e.valid_up_to() as u64),
                        "the chat template is not valid UTF-8, so it could not be checked",
                    )),
                }
                "chat-template".to_owned()
            }
            Format::Unknown => self.unknown(data, location, expectation),
        }
    }

    fn unknown(&mut self, data: &[u8], location: &Location, expectation: Expectation) -> String {
        // A zip behind bytes we don't recognise (a self-extracting stub, junk): readers
        // that look for the archive from the end still load it.
        if let Some(located) = appended_zip(data) {
            self.out.push(Finding::new(
                &TRAILING_DATA,
                location.clone(),
                format!(
                    "{} bytes of unknown content precede a zip archive",
                    located.start
                ),
            ));
            return self.zip(data, location);
        }
        let head = &data[..data.len().min(SNIFF_LEN)];
        match expectation {
            // Text under a pickle name (Python's own `.pth` path files) is only a pickle if
            // it parses as one.
            Expectation::Pickle if is_text(head) => self.tentative_pickle(data, location),
            Expectation::Pickle => self.pickle(data, location),
            Expectation::MaybePickle => self.tentative_pickle(data, location),
            Expectation::DataOnlyModel | Expectation::Model => {
                self.out.push(Finding::new(
                    &core_rules::UNKNOWN_FORMAT,
                    location.clone(),
                    format!(
                        "`{}` is named like a model but its content matches no known format",
                        base_name(location.name())
                    ),
                ));
                "unknown".to_owned()
            }
            Expectation::Nothing => "data".to_owned(),
        }
    }

    /// A pickle where nothing promised one: a `.bin`-style name whose content did not sniff
    /// as a pickle, or raw data whose first bytes happen to sniff as one (`80 04 95` opens
    /// float32 weights as readily as a pickle). If the stream broke before anything but
    /// allowlisted globals were touched, unpickling it could not have run code: it is data,
    /// not a malformed model.
    fn tentative_pickle(&mut self, data: &[u8], location: &Location) -> String {
        let before = self.out.len();
        let label = self.pickle(data, location);
        self.keep_unless_only_malformed(before, label)
    }

    /// Runs an analyzer on content only a generic name pointed to; see
    /// [`Self::keep_unless_only_malformed`].
    fn tentatively(&mut self, label: &str, analyze: impl FnOnce(&mut Vec<Finding>)) -> String {
        let before = self.out.len();
        analyze(&mut self.out);
        self.keep_unless_only_malformed(before, label.to_owned())
    }

    /// Content that failed to parse as a format nobody promised is plain data. An EXT
    /// opcode counts as part of the failure: a stock interpreter's extension registry is
    /// empty, so unpickling stops there with an error, having run nothing.
    fn keep_unless_only_malformed(&mut self, before: usize, label: String) -> String {
        let inert = |f: &Finding| {
            f.rule == &core_rules::MALFORMED || f.rule == &rampart_pickle::rules::EXTENSION_REGISTRY
        };
        let found = &self.out[before..];
        let broke = found.iter().any(|f| f.rule == &core_rules::MALFORMED);
        if broke && found.iter().all(inert) {
            self.out.truncate(before);
            return "data".to_owned();
        }
        label
    }

    fn pickle(&mut self, data: &[u8], location: &Location) -> String {
        let before = self.out.len();
        let info = self
            .scanner
            .pickle
            .scan(data, location, self.limits, &mut self.out);
        let label = match info.kind {
            StreamKind::Plain => "pickle",
            StreamKind::Joblib => "joblib",
            StreamKind::TorchLegacy => "pytorch-legacy",
        };
        let broke = self.out[before..]
            .iter()
            .any(|f| f.rule == &core_rules::MALFORMED);
        match self.after_pickle(data, &info, location, broke) {
            Some(rest) => format!("{label}+{rest}"),
            None => label.to_owned(),
        }
    }

    /// Whatever follows the last pickle: torch-legacy storages are expected; a zip or
    /// another format is a polyglot and gets scanned too; anything else is trailing data.
    /// Returns the label of a second format, if any.
    fn after_pickle(
        &mut self,
        data: &[u8],
        info: &StreamInfo,
        location: &Location,
        broke: bool,
    ) -> Option<String> {
        if info.end >= data.len() || info.kind == StreamKind::TorchLegacy || broke {
            return None;
        }
        if let Some(located) = appended_zip(data)
            && located.start >= info.end
        {
            self.out.push(Finding::new(
                &POLYGLOT,
                location.clone(),
                format!(
                    "a pickle (bytes 0..{}) with a zip archive appended at byte {}",
                    info.end, located.start
                ),
            ));
            return Some(self.zip(data, location));
        }
        let tail = &data[info.end..];
        let tail_location = location.at(info.end as u64);
        let tail_format = detect(&tail[..tail.len().min(SNIFF_LEN)], "");
        if matches!(tail_format, Format::Unknown | Format::Json) {
            self.out.push(Finding::new(
                &TRAILING_DATA,
                tail_location,
                format!("{} bytes follow the end of the pickle stream", tail.len()),
            ));
            return None;
        }
        self.out.push(Finding::new(
            &POLYGLOT,
            location.clone(),
            format!(
                "a pickle (bytes 0..{}) followed by {tail_format:?} content",
                info.end
            ),
        ));
        Some(self.analyze_as(tail_format, tail, &tail_location))
    }

    fn numpy(&mut self, data: &[u8], location: &Location) -> String {
        let info = numpy::scan(data, location, self.limits, &mut self.out);
        let Some(offset) = info.pickle_offset else {
            return "numpy".to_owned();
        };
        let Some(payload) = data.get(offset..) else {
            return "numpy".to_owned();
        };
        let payload_location = location.at(offset as u64);
        let before = self.out.len();
        let pickle =
            self.scanner
                .pickle
                .scan(payload, &payload_location, self.limits, &mut self.out);
        let broke = self.out[before..]
            .iter()
            .any(|f| f.rule == &core_rules::MALFORMED);
        match self.after_pickle(payload, &pickle, &payload_location, broke) {
            Some(rest) => format!("numpy-object+{rest}"),
            None => "numpy-object".to_owned(),
        }
    }

    fn too_deep(&mut self, location: &Location) -> bool {
        if location.depth() <= self.limits.max_depth {
            return false;
        }
        self.out.push(Finding::new(
            &core_rules::LIMIT_EXCEEDED,
            location.clone(),
            format!(
                "containers nest deeper than max_depth = {}; the inner content was not scanned",
                self.limits.max_depth
            ),
        ));
        true
    }

    fn zip(&mut self, data: &[u8], location: &Location) -> String {
        match zip::Archive::open(data, location, self.limits, &mut self.out) {
            Some(archive) => self.zip_members(&archive, location),
            None => "zip".to_owned(),
        }
    }

    fn zip_members(&mut self, archive: &zip::Archive<'_>, location: &Location) -> String {
        let limits = self.limits;
        let label = zip_label(archive.entries().iter().map(|e| e.name.as_str()));
        let is_torch_zip = matches!(label, "pytorch-zip" | "torchscript");
        for entry in archive.entries() {
            // Unreadable members (encrypted, unsupported method, no local header) were
            // already reported by `open`.
            if entry.is_dir || !entry.is_readable() {
                continue;
            }
            let member = location.member(&entry.name);
            if self.too_deep(&member) {
                continue;
            }
            if is_torch_zip && torchscript::is_storage_member(&entry.name) {
                // Raw tensor bytes: torch reads them with a plain read, never unpickles
                // them, so they are not sniffed (some start like a pickle by chance).
                continue;
            }
            let head = match archive.peek(entry, SNIFF_LEN) {
                Ok(head) => head,
                Err(e) => {
                    let rule = match e {
                        zip::MemberError::NotHeld => &core_rules::LIMIT_EXCEEDED,
                        _ => &core_rules::MALFORMED,
                    };
                    self.out.push(Finding::new(
                        rule,
                        member,
                        format!("member could not be read: {e}"),
                    ));
                    continue;
                }
            };
            if torchscript::is_code_member(&entry.name) {
                if let Some(source) =
                    archive.read(entry, &mut self.budget, &member, limits, &mut self.out)
                {
                    torchscript::scan_code(&source, &member, &mut self.out);
                }
                continue;
            }
            let format = detect(&head, &entry.name);
            if format == Format::Unknown && Expectation::of(&entry.name) == Expectation::Nothing {
                // Tensor storages and other plain data: never decompressed or read further.
                continue;
            }
            let Some(content) =
                archive.read(entry, &mut self.budget, &member, limits, &mut self.out)
            else {
                continue;
            };
            self.analyze_as(format, &content, &member);
        }
        label.to_owned()
    }

    fn tar(&mut self, data: &[u8], location: &Location) -> String {
        let limits = self.limits;
        let entries = tar::entries(data, location, limits, &mut self.out);
        let legacy_torch = LEGACY_TORCH_TAR_MEMBERS
            .iter()
            .all(|name| entries.iter().any(|e| e.name == *name));
        for entry in &entries {
            if !entry.is_file() {
                continue;
            }
            let member = location.member(&entry.name);
            if self.too_deep(&member) {
                continue;
            }
            match entry.name.as_str() {
                "storages" if legacy_torch => {
                    self.legacy_torch_records(entry.data, &member, storage_record_ends)
                }
                "tensors" if legacy_torch => {
                    self.legacy_torch_records(entry.data, &member, tensor_record_end)
                }
                _ => {
                    self.analyze(entry.data, &member);
                }
            }
        }
        if legacy_torch {
            "pytorch-legacy-tar"
        } else {
            "tar"
        }
        .to_owned()
    }

    /// The `storages` and `tensors` members of a legacy (torch < 0.4) tar checkpoint:
    /// pickles interleaved with raw records, every one of which `torch.load` unpickles.
    /// After each run of pickles, `next_records` says where the following pickle may start;
    /// positions the file's own layout cannot vouch for are scanned tentatively.
    fn legacy_torch_records(
        &mut self,
        data: &[u8],
        location: &Location,
        next_records: fn(&[u8], usize) -> Vec<usize>,
    ) {
        let mut pending = vec![0];
        let mut visited = std::collections::BTreeSet::new();
        let budget = self.limits.max_pickles_per_stream.saturating_mul(16);
        while let Some(start) = pending.pop() {
            if start >= data.len() || !visited.insert(start) {
                continue;
            }
            if visited.len() > budget {
                self.out.push(Finding::new(
                    &core_rules::LIMIT_EXCEEDED,
                    location.at(start as u64),
                    format!("more than {budget} pickle records in a legacy PyTorch member; the rest was not scanned"),
                ));
                return;
            }
            let records = &data[start..];
            let records_location = location.at(start as u64);
            let before = self.out.len();
            let info =
                self.scanner
                    .pickle
                    .scan(records, &records_location, self.limits, &mut self.out);
            let found = &self.out[before..];
            if start > 0
                && !found.is_empty()
                && found.iter().all(|f| f.rule == &core_rules::MALFORMED)
            {
                // A candidate position that turned out to be raw bytes.
                self.out.truncate(before);
                continue;
            }
            pending.extend(next_records(data, start.saturating_add(info.end)));
        }
    }

    fn decompressed(&mut self, codec: Codec, data: &[u8], location: &Location) -> String {
        let inner_name = strip_compression_suffix(location.name());
        let member = location.member(inner_name);
        if self.too_deep(&member) {
            return codec.name().to_owned();
        }
        let limits = self.limits;
        let Some(inner) = compress::decompress(
            codec,
            data,
            &mut self.budget,
            location,
            limits,
            &mut self.out,
        ) else {
            return codec.name().to_owned();
        };
        let inner_label = self.analyze(&inner, &member);
        format!("{}+{inner_label}", codec.name())
    }
}

/// A zip found from the end of data that did not start like one. The end-of-archive
/// signature is four bytes any binary can contain, so only a record whose central
/// directory is where it says and lists members counts.
fn appended_zip(data: &[u8]) -> Option<zip::Located> {
    zip::locate(data).filter(|z| z.central_directory.is_some() && z.entry_count > 0)
}

/// The members `torch.save` wrote in its original tar format (`_legacy_save`).
const LEGACY_TORCH_TAR_MEMBERS: [&str; 4] = ["sys_info", "pickle", "storages", "tensors"];

/// After a storage header pickle: an int64 element count and the raw elements. The element
/// size comes from the storage type inside the pickle, so every size a storage can have is
/// a candidate; the next record is a pickle or the end of the member.
fn storage_record_ends(data: &[u8], at: usize) -> Vec<usize> {
    let Some(count) = read_le::<8>(data, at).map(u64::from_le_bytes) else {
        return Vec::new();
    };
    [1u64, 2, 4, 8, 16]
        .iter()
        .filter_map(|size| {
            let bytes = count.checked_mul(*size)?.checked_add(8)?;
            let next = at.checked_add(usize::try_from(bytes).ok()?)?;
            let head = data.get(next..)?;
            rampart_pickle::looks_like_pickle(&head[..head.len().min(SNIFF_LEN)]).then_some(next)
        })
        .collect()
}

/// After a tensor header pickle: int32 ndim, 4 bytes of padding, ndim int64 sizes, ndim
/// int64 strides and an int64 storage offset.
fn tensor_record_end(data: &[u8], at: usize) -> Vec<usize> {
    let Some(ndim) = read_le::<4>(data, at).map(i32::from_le_bytes) else {
        return Vec::new();
    };
    let Ok(ndim) = usize::try_from(ndim) else {
        return Vec::new();
    };
    ndim.checked_mul(16)
        .and_then(|dims| dims.checked_add(16))
        .and_then(|len| at.checked_add(len))
        .into_iter()
        .collect()
}

fn read_le<const N: usize>(data: &[u8], at: usize) -> Option<[u8; N]> {
    data.get(at..at.checked_add(N)?)?.try_into().ok()
}

/// What kind of zip this is, for the report: PyTorch and Keras write recognisable layouts.
fn zip_label<'a>(mut names: impl Iterator<Item = &'a str> + Clone) -> &'static str {
    let has = |suffix: &str| {
        names
            .clone()
            .any(|n| n == suffix || n.ends_with(&format!("/{suffix}")))
    };
    if has("constants.pkl")
        && names
            .clone()
            .any(|n| n.contains("/code/") || n.starts_with("code/"))
    {
        "torchscript"
    } else if has("data.pkl") {
        "pytorch-zip"
    } else if names.clone().any(|n| n == "config.json")
        && names.clone().any(|n| n == "metadata.json")
    {
        "keras"
    } else if names.clone().next().is_some()
        && names.all(|n| n.ends_with(".npy") || n.ends_with('/'))
    {
        "npz"
    } else {
        "zip"
    }
}

fn base_name(name: &str) -> &str {
    name.rsplit(['/', '\\']).next().unwrap_or(name)
}

/// `model.tar.gz` → `model.tar`; names without a compression suffix are kept, so the
/// inner content keeps the name's hint (a compressed `.joblib` is still a joblib).
fn strip_compression_suffix(name: &str) -> String {
    let base = base_name(name);
    let lower = base.to_ascii_lowercase();
    for suffix in [".gz", ".tgz", ".bz2", ".xz", ".lzma", ".z", ".lz4", ".zlib"] {
        if lower.ends_with(suffix) {
            let stem = &base[..base.len() - suffix.len()];
            return if suffix == ".tgz" {
                format!("{stem}.tar")
            } else {
                stem.to_owned()
            };
        }
    }
    base.to_owned()
}

/// Scans raw bytes with the default configuration (fuzzing, tests).
pub fn scan_bytes_default(display: &str, data: &[u8]) -> Option<ScanOutput> {
    let scanner = Scanner::new(&Config::default(), std::path::Path::new("")).ok()?;
    Some(scanner.scan_bytes(display, data))
}
