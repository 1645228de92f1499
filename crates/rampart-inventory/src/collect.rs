//! One walk of what the user named — a project directory, an environment, a site-packages
//! directory, a manifest, lock file, SBOM, or a single model or data file — into an
//! [`Inventory`].

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use rampart_core::Location;
use rampart_core::mapped::FileBytes;
use rampart_integrity::{HashAlgorithm, HashOptions, Serialization, hash_model};
use rampart_scan::detect::SNIFF_LEN;
use rayon::prelude::*;
use walkdir::WalkDir;

use crate::environment::{
    is_environment_root, is_site_packages, marker_environment, read_site_packages, site_packages_of,
};
use crate::inventory::{
    ArtifactFile, Dataset, Inventory, Model, ModelCard, SourceFile, SourceFormat, Subject,
};
use crate::manifests::{self, Parsed, format_of};
use crate::ml::{FileRole, card, classify, gguf, onnx};
use crate::names::huggingface_purl;
use crate::problem::{Problem, ProblemKind};
use crate::text::read_text;
use crate::{Error, Options};

/// Directories never walked: version control, caches, and JavaScript dependencies.
const SKIPPED_DIRECTORIES: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    "__pycache__",
    "node_modules",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".ipynb_checkpoints",
];

/// Extensions of source and text files that are never weights or data: not sniffed.
pub(crate) const TEXT_EXTENSIONS: &[&str] = &[
    "py", "pyi", "pyx", "md", "rst", "txt", "cfg", "ini", "toml", "yaml", "yml", "json", "js",
    "ts", "html", "css", "c", "h", "cc", "cpp", "hpp", "rs", "go", "java", "sh", "bat", "ps1",
    "lock", "xml", "ipynb", "jinja", "j2", "tex", "r", "sql",
];

/// Includes nest at most this deep (pip has no limit; a cycle is caught separately).
const MAX_INCLUDE_DEPTH: usize = 32;

/// A file the walk found, with what it is.
struct WalkedFile {
    path: PathBuf,
    display: String,
    /// Directory relative to the root, `/`-separated ("" for the root).
    directory: String,
    name: String,
    role: FileRole,
    size: u64,
}

struct Collector<'a> {
    options: &'a Options,
    root: PathBuf,
    /// Canonical root, to keep symlinks inside the tree.
    canonical_root: PathBuf,
    inventory: Inventory,
    /// Manifests already read (canonical paths), so includes and the walk read each once.
    read_manifests: HashSet<PathBuf>,
    files: Vec<WalkedFile>,
    subject_from_manifest: bool,
}

impl Inventory {
    /// Collects everything `path` holds (see the crate documentation). Fails only when `path`
    /// itself cannot be read; everything below that is a [`Problem`] in the result.
    pub fn collect(path: &Path, options: &Options) -> Result<Inventory, Error> {
        let metadata = fs::metadata(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        let canonical_root = fs::canonicalize(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        let root_display = display_of(path);
        let mut collector = Collector {
            options,
            root: path.to_owned(),
            canonical_root,
            inventory: Inventory {
                root: root_display.clone(),
                subject: Subject {
                    name: subject_name(path),
                    version: None,
                },
                ..Inventory::default()
            },
            read_manifests: HashSet::new(),
            files: Vec::new(),
            subject_from_manifest: false,
        };
        if metadata.is_file() {
            collector.single_file(path, &root_display);
        } else if is_environment_root(path) {
            collector.environment(Some(path), &root_display);
        } else if is_site_packages(path) {
            collector.site_packages(None, path, &root_display);
        } else {
            collector.walk();
        }
        collector.group_files();
        Ok(collector.inventory)
    }
}

/// Appends the packages and problems one source yielded, shifting its dependency indices.
pub(crate) fn append_source(
    inventory: &mut Inventory,
    parsed: &mut Parsed,
    path: &str,
    format: SourceFormat,
) {
    let offset = inventory.packages.len();
    for package in &mut parsed.packages {
        for dependency in &mut package.dependencies {
            *dependency += offset;
        }
    }
    inventory.sources.push(SourceFile {
        path: path.to_owned(),
        format,
        packages: parsed.packages.len(),
    });
    inventory.packages.append(&mut parsed.packages);
    inventory.problems.append(&mut parsed.problems);
}

fn display_of(path: &Path) -> String {
    let text = path.to_string_lossy();
    text.strip_prefix("./").unwrap_or(&text).to_owned()
}

fn subject_name(path: &Path) -> String {
    fs::canonicalize(path)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| display_of(path))
}

impl Collector<'_> {
    fn problem(&mut self, kind: ProblemKind, location: Location, message: String) {
        self.inventory
            .problems
            .push(Problem::new(kind, location, message));
    }

    /// Appends what one file yielded, shifting its dependency indices.
    fn absorb(&mut self, mut parsed: Parsed, path: &str, format: SourceFormat) {
        append_source(&mut self.inventory, &mut parsed, path, format);
        if let Some(subject) = parsed.subject
            && !self.subject_from_manifest
        {
            // pyproject.toml names the project best; other sources only when it is absent.
            self.subject_from_manifest = format == SourceFormat::Pyproject;
            self.inventory.subject = subject;
        }
    }

    fn single_file(&mut self, path: &Path, display: &str) {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".json") && self.try_sbom(path, display) {
            return;
        }
        // A `.txt` named on the command line is a requirements file whatever its name.
        let format = format_of(&name).or_else(|| {
            lower
                .ends_with(".txt")
                .then_some(SourceFormat::RequirementsTxt)
        });
        if let Some(format) = format {
            self.manifest(path, display, format);
            return;
        }
        self.record_file(path, display.to_owned(), String::new(), name);
        if !self.files.iter().any(|f| f.role != FileRole::Other) {
            self.problem(
                ProblemKind::Unsupported,
                Location::file(display),
                format!(
                    "{display} is neither a manifest, lock file, CycloneDX SBOM, model nor data \
                     file rampart recognises; nothing was inventoried"
                ),
            );
        }
    }

    /// Reads `path` as a CycloneDX JSON SBOM if it is one; false when it is other JSON.
    fn try_sbom(&mut self, path: &Path, display: &str) -> bool {
        let location = Location::file(display);
        let mut problems = Vec::new();
        let Some(text) = read_text(path, &location, &self.options.limits, &mut problems) else {
            self.inventory.problems.append(&mut problems);
            return true;
        };
        let Some(read) = crate::sbom::cyclonedx::read(
            &text,
            &location,
            self.options.limits.max_metadata_entries,
        ) else {
            return false;
        };
        self.inventory.problems.append(&mut problems);
        let package_count = read.packages.len();
        self.inventory.packages = read.packages;
        self.inventory.models = read.models;
        self.inventory.datasets = read.datasets;
        self.inventory.problems.extend(read.problems);
        if let Some(subject) = read.subject {
            self.inventory.subject = subject;
        }
        self.inventory.sources.push(SourceFile {
            path: display.to_owned(),
            format: SourceFormat::CycloneDx,
            packages: package_count,
        });
        true
    }

    /// Reads a manifest or lock file (once), then the files it includes.
    fn manifest(&mut self, path: &Path, display: &str, format: SourceFormat) {
        self.manifest_at_depth(path, display, format, false, 0);
    }

    fn manifest_at_depth(
        &mut self,
        path: &Path,
        display: &str,
        format: SourceFormat,
        constraint: bool,
        depth: usize,
    ) {
        let key = fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
        if !self.read_manifests.insert(key) {
            return;
        }
        let location = Location::file(display);
        let mut problems = Vec::new();
        let text = read_text(path, &location, &self.options.limits, &mut problems);
        self.inventory.problems.append(&mut problems);
        let Some(text) = text else {
            return;
        };
        let directory = path.parent().unwrap_or(Path::new("."));
        let directory_name = fs::canonicalize(directory)
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| self.inventory.subject.name.clone());
        let max = self.options.limits.max_metadata_entries;
        let mut parsed = if format == SourceFormat::RequirementsTxt {
            manifests::requirements::parse(&text, &location, constraint, &directory_name, max)
        } else {
            manifests::parse(format, &text, &location, &directory_name, max)
        };
        let includes = std::mem::take(&mut parsed.includes);
        self.absorb(parsed, display, format);
        for include in includes {
            if include.target.contains("://") {
                self.problem(
                    ProblemKind::Unsupported,
                    include.location,
                    format!(
                        "include `{}` is a URL; it was not fetched",
                        crate::names::redact_url(&include.target)
                    ),
                );
                continue;
            }
            if depth + 1 > MAX_INCLUDE_DEPTH {
                self.problem(
                    ProblemKind::LimitExceeded,
                    include.location,
                    format!(
                        "includes nest deeper than {MAX_INCLUDE_DEPTH} files; `{}` was not read",
                        include.target
                    ),
                );
                continue;
            }
            let target = directory.join(&include.target);
            if !target.is_file() {
                self.problem(
                    ProblemKind::Unreadable,
                    include.location,
                    format!("included file `{}` does not exist", include.target),
                );
                continue;
            }
            let target_display = display_of(&target);
            self.manifest_at_depth(
                &target,
                &target_display,
                SourceFormat::RequirementsTxt,
                include.constraint,
                depth + 1,
            );
        }
    }

    /// A virtualenv or conda environment: every site-packages directory in it.
    fn environment(&mut self, root: Option<&Path>, display: &str) {
        let Some(root) = root else {
            return;
        };
        let site_dirs = site_packages_of(root);
        if site_dirs.is_empty() {
            self.problem(
                ProblemKind::Unreadable,
                Location::file(display),
                format!(
                    "{display} looks like a Python environment but has no site-packages directory"
                ),
            );
        }
        for site in site_dirs {
            let relative = site.strip_prefix(root).unwrap_or(&site);
            let site_display = display_of(&Path::new(display).join(relative));
            self.site_packages(Some(root), &site, &site_display);
        }
    }

    fn site_packages(&mut self, root: Option<&Path>, dir: &Path, display: &str) {
        let markers = marker_environment(root, dir);
        let parsed = read_site_packages(dir, display, markers.as_ref(), &self.options.limits);
        self.absorb(parsed, display, SourceFormat::Environment);
    }

    fn walk(&mut self) {
        let root = self.root.clone();
        let mut walker = WalkDir::new(&root)
            .follow_links(false)
            .sort_by_file_name()
            .into_iter();
        let mut visited: usize = 0;
        while let Some(entry) = walker.next() {
            let entry = match entry {
                Ok(entry) => entry,
                Err(error) => {
                    let at = error
                        .path()
                        .map(display_of)
                        .unwrap_or_else(|| self.inventory.root.clone());
                    self.problem(
                        ProblemKind::Unreadable,
                        Location::file(&at),
                        format!("{at} could not be read: {error}"),
                    );
                    continue;
                }
            };
            let path = entry.path().to_owned();
            let display = display_of(&path);
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.file_type().is_dir() {
                if entry.depth() > 0 && SKIPPED_DIRECTORIES.contains(&name.as_str()) {
                    walker.skip_current_dir();
                } else if is_environment_root(&path) {
                    self.environment(Some(&path), &display);
                    walker.skip_current_dir();
                } else if is_site_packages(&path) {
                    self.site_packages(None, &path, &display);
                    walker.skip_current_dir();
                } else if name == "blobs" && is_huggingface_cache_entry(path.parent()) {
                    // The snapshot symlinks point here; each blob is read through its link.
                    walker.skip_current_dir();
                }
                continue;
            }
            visited += 1;
            if visited > self.options.limits.max_members {
                self.problem(
                    ProblemKind::LimitExceeded,
                    Location::file(self.inventory.root.clone()),
                    format!(
                        "more than max_members ({}) files under {}; the rest were not inventoried",
                        self.options.limits.max_members, self.inventory.root
                    ),
                );
                break;
            }
            let file_path = if entry.path_is_symlink() {
                match self.symlink_target(&path, &display) {
                    Some(target) => target,
                    None => continue,
                }
            } else if entry.file_type().is_file() {
                path.clone()
            } else {
                continue;
            };
            let directory = entry
                .path()
                .parent()
                .and_then(|p| p.strip_prefix(&root).ok())
                .map(|p| p.to_string_lossy().replace('\\', "/"))
                .unwrap_or_default();
            let in_requirements_dir =
                directory.rsplit('/').next() == Some("requirements") && name.ends_with(".txt");
            let format = format_of(&name)
                .or_else(|| in_requirements_dir.then_some(SourceFormat::RequirementsTxt));
            if let Some(format) = format {
                self.manifest(&file_path, &display, format);
                continue;
            }
            self.record_file(&file_path, display, directory, name);
        }
    }

    /// A symlink inside the tree is read where it points when that is a file inside the tree
    /// too; anything else is reported.
    fn symlink_target(&mut self, link: &Path, display: &str) -> Option<PathBuf> {
        let target = fs::canonicalize(link).ok();
        match target {
            Some(target) if target.starts_with(&self.canonical_root) && target.is_file() => {
                Some(target)
            }
            Some(target) if target.is_dir() => None,
            Some(target) if !target.starts_with(&self.canonical_root) => {
                self.problem(
                    ProblemKind::Unsupported,
                    Location::file(display),
                    format!(
                        "{display} is a symlink leading outside {}; it was not inventoried",
                        self.inventory.root
                    ),
                );
                None
            }
            _ => None,
        }
    }

    /// Sniffs a file's first bytes (unless its extension says source or text) and keeps it
    /// for grouping.
    fn record_file(&mut self, path: &Path, display: String, directory: String, name: String) {
        let lower = name.to_ascii_lowercase();
        let extension = lower.rsplit_once('.').map(|(_, e)| e).unwrap_or_default();
        let size = fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let role = if TEXT_EXTENSIONS.contains(&extension) {
            FileRole::Other
        } else {
            let mut head = Vec::with_capacity(SNIFF_LEN);
            let read =
                fs::File::open(path).and_then(|f| f.take(SNIFF_LEN as u64).read_to_end(&mut head));
            if let Err(error) = read {
                self.problem(
                    ProblemKind::Unreadable,
                    Location::file(&display),
                    format!("{display} could not be read: {error}"),
                );
                return;
            }
            classify(&head, &name)
        };
        if let FileRole::Data {
            format,
            verified: false,
        } = role
        {
            self.problem(
                ProblemKind::Malformed,
                Location::file(&display).at(0),
                format!("{display} is named as {format} but does not start with its magic number"),
            );
        }
        self.files.push(WalkedFile {
            path: path.to_owned(),
            display,
            directory,
            name,
            role,
            size,
        });
    }

    /// Turns the walked files into models and datasets: a directory with weights and a model
    /// `config.json` (or a TensorFlow `saved_model.pb`) is one model with all its files;
    /// other weights are single-file models; data files are datasets, a Hugging Face dataset
    /// snapshot being one.
    fn group_files(&mut self) {
        let files = std::mem::take(&mut self.files);
        let model_directories = self.model_directories(&files);
        let mut models: BTreeMap<String, Model> = BTreeMap::new();
        let mut single_models: Vec<Model> = Vec::new();
        let mut datasets: BTreeMap<String, Dataset> = BTreeMap::new();
        let mut file_paths: Vec<(String, PathBuf)> = Vec::new();
        for file in &files {
            let owner = model_directories
                .iter()
                .filter(|dir| is_within(&file.directory, dir))
                .max_by_key(|dir| dir.len());
            let artifact = ArtifactFile {
                path: file.display.clone(),
                size: file.size,
                sha256: None,
                format: match file.role {
                    FileRole::Weights(format) | FileRole::Data { format, .. } => format.to_owned(),
                    FileRole::Other => "other".to_owned(),
                },
            };
            if let Some(dir) = owner {
                file_paths.push((file.display.clone(), file.path.clone()));
                let model = models
                    .entry(dir.clone())
                    .or_insert_with(|| self.directory_model(dir));
                if let FileRole::Weights(format) = file.role {
                    model.formats.push(format.to_owned());
                }
                model.files.push(artifact);
                continue;
            }
            match file.role {
                FileRole::Weights(format) => {
                    file_paths.push((file.display.clone(), file.path.clone()));
                    single_models.push(Model {
                        name: file.name.clone(),
                        path: file.display.clone(),
                        formats: vec![format.to_owned()],
                        files: vec![artifact],
                        purl: None,
                        card: ModelCard::default(),
                        properties: Vec::new(),
                    });
                }
                FileRole::Data { format, .. } => {
                    file_paths.push((file.display.clone(), file.path.clone()));
                    let (key, name, path) = match huggingface_snapshot(&file.directory, "datasets")
                    {
                        Some((repository, snapshot)) => (
                            snapshot.clone(),
                            repository,
                            self.display_under_root(&snapshot),
                        ),
                        None => (
                            file.display.clone(),
                            file.name.clone(),
                            file.display.clone(),
                        ),
                    };
                    let dataset = datasets.entry(key).or_insert_with(|| Dataset {
                        name,
                        path,
                        formats: Vec::new(),
                        files: Vec::new(),
                        properties: Vec::new(),
                    });
                    dataset.formats.push(format.to_owned());
                    dataset.files.push(artifact);
                }
                FileRole::Other => {}
            }
        }
        let mut all_models: Vec<Model> = models.into_values().chain(single_models).collect();
        for file in &files {
            let FileRole::Weights(format @ ("gguf" | "onnx")) = file.role else {
                continue;
            };
            let owner = all_models
                .iter_mut()
                .find(|m| m.files.iter().any(|a| a.path == file.display));
            if let Some(model) = owner {
                self.header_facts(model, &file.path, &file.display, format);
            }
        }
        for model in &mut all_models {
            model.formats.sort();
            model.formats.dedup();
        }
        let mut all_datasets: Vec<Dataset> = datasets.into_values().collect();
        for dataset in &mut all_datasets {
            dataset.formats.sort();
            dataset.formats.dedup();
        }
        if self.options.hash_files {
            self.hash(&file_paths, &mut all_models, &mut all_datasets);
        }
        self.inventory.models.append(&mut all_models);
        self.inventory.datasets.append(&mut all_datasets);
    }

    fn display_under_root(&self, relative: &str) -> String {
        if relative.is_empty() {
            return self.inventory.root.clone();
        }
        display_of(&self.root.join(relative))
    }

    /// Directories (relative, `/`-separated) that hold a model: weights beside a model
    /// `config.json`, or a `saved_model.pb`.
    fn model_directories(&mut self, files: &[WalkedFile]) -> Vec<String> {
        let mut with_weights: HashSet<&str> = HashSet::new();
        let mut saved_models: HashSet<&str> = HashSet::new();
        for file in files {
            if let FileRole::Weights(format) = file.role {
                with_weights.insert(&file.directory);
                if format == "tensorflow-savedmodel" {
                    saved_models.insert(&file.directory);
                }
            }
        }
        let mut directories: Vec<String> = Vec::new();
        for file in files {
            if file.name != "config.json" || !with_weights.contains(file.directory.as_str()) {
                continue;
            }
            let location = Location::file(&file.display);
            let mut problems = Vec::new();
            let Some(text) = read_text(&file.path, &location, &self.options.limits, &mut problems)
            else {
                self.inventory.problems.append(&mut problems);
                continue;
            };
            match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(config) if card::is_model_config(&config) => {
                    directories.push(file.directory.clone())
                }
                Ok(_) => {}
                Err(error) => self.problem(
                    ProblemKind::Malformed,
                    location.at_line(u32::try_from(error.line()).unwrap_or(1).max(1), None),
                    format!("config.json beside model weights could not be parsed: {error}"),
                ),
            }
        }
        directories.extend(saved_models.into_iter().map(str::to_owned));
        directories.sort();
        directories.dedup();
        directories
    }

    /// The model of directory `dir`: its name (the Hugging Face repository for a cache
    /// snapshot), config.json facts and model card.
    fn directory_model(&mut self, dir: &str) -> Model {
        let path = self.display_under_root(dir);
        let directory = if dir.is_empty() {
            self.root.clone()
        } else {
            self.root.join(dir)
        };
        let snapshot = huggingface_snapshot(dir, "models");
        let name = match &snapshot {
            Some((repository, _)) => repository.clone(),
            None => directory
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| self.inventory.subject.name.clone()),
        };
        let purl = snapshot.as_ref().and_then(|(repository, snapshot_dir)| {
            let revision = snapshot_dir.rsplit('/').next();
            huggingface_purl(repository, revision)
        });
        let mut model = Model {
            name,
            path,
            formats: Vec::new(),
            files: Vec::new(),
            purl,
            card: ModelCard::default(),
            properties: Vec::new(),
        };
        let limits = self.options.limits.clone();
        let readme = directory.join("README.md");
        if readme.is_file() {
            let location = Location::file(display_of(&readme));
            let mut problems = Vec::new();
            if let Some(text) = read_text(&readme, &location, &limits, &mut problems) {
                card::apply_model_card(
                    &text,
                    &location,
                    limits.max_metadata_entries,
                    &mut model.card,
                    &mut problems,
                );
            }
            self.inventory.problems.append(&mut problems);
        }
        let config_path = directory.join("config.json");
        let location = Location::file(display_of(&config_path));
        let mut problems = Vec::new();
        if let Some(text) = read_text(&config_path, &location, &limits, &mut problems)
            && let Ok(config) = serde_json::from_str::<serde_json::Value>(&text)
        {
            card::apply_config(&config, &mut model.card, &mut model.properties);
        }
        self.inventory.problems.append(&mut problems);
        model
    }

    /// GGUF and ONNX header facts for the model holding `path`.
    fn header_facts(&mut self, model: &mut Model, path: &Path, display: &str, format: &str) {
        let location = Location::file(display);
        let bytes = fs::File::open(path).and_then(|file| {
            let len = file.metadata()?.len();
            FileBytes::open(&file, len)
        });
        let bytes = match bytes {
            Ok(bytes) => bytes,
            Err(error) => {
                self.problem(
                    ProblemKind::Unreadable,
                    location,
                    format!("{display} could not be read: {error}"),
                );
                return;
            }
        };
        let max = self.options.limits.max_metadata_entries;
        if format == "gguf" {
            match gguf::read(&bytes, max) {
                Ok(facts) => {
                    let card = &mut model.card;
                    if card.architecture_family.is_none() {
                        card.architecture_family.clone_from(&facts.architecture);
                    }
                    if card.license.is_none() {
                        card.license.clone_from(&facts.license);
                    }
                    if model.purl.is_none() {
                        model.purl = facts
                            .repository
                            .as_deref()
                            .and_then(|r| huggingface_purl(r, None));
                    }
                    if let (Some(name), true) = (&facts.name, model.files.len() == 1) {
                        model
                            .properties
                            .push(("rampart:gguf.name".to_owned(), name.clone()));
                    }
                    model.properties.extend(facts.properties);
                }
                Err(error) => self.problem(
                    ProblemKind::Malformed,
                    location.at(error.offset),
                    format!(
                        "GGUF metadata of {display} could not be read: {} (offset {})",
                        error.message, error.offset
                    ),
                ),
            }
        } else {
            match onnx::read(&bytes, max) {
                Ok(properties) => model.properties.extend(properties),
                Err(error) => self.problem(
                    ProblemKind::Malformed,
                    location.at(error.offset),
                    format!(
                        "ONNX metadata of {display} could not be read: {} (offset {})",
                        error.message, error.offset
                    ),
                ),
            }
        }
    }

    /// SHA-256 of every model and dataset file, in parallel, each file mapped (never read
    /// whole into memory).
    fn hash(
        &mut self,
        files: &[(String, PathBuf)],
        models: &mut [Model],
        datasets: &mut [Dataset],
    ) {
        let options = HashOptions {
            allow_symlinks: true,
            ..HashOptions::new(Serialization::Files {
                hash: HashAlgorithm::Sha256,
            })
        };
        let digests: Vec<(String, Result<String, String>)> = files
            .par_iter()
            .map(|(display, path)| {
                let digest = hash_model(path, &options)
                    .map_err(|e| e.to_string())
                    .and_then(|manifest| {
                        manifest
                            .resources
                            .first()
                            .map(|r| hex::encode(&r.digest))
                            .ok_or_else(|| "no digest was produced".to_owned())
                    });
                (display.clone(), digest)
            })
            .collect();
        let mut by_path: std::collections::HashMap<String, String> =
            std::collections::HashMap::new();
        for (display, digest) in digests {
            match digest {
                Ok(hex) => {
                    by_path.insert(display, hex);
                }
                Err(error) => self.problem(
                    ProblemKind::Unreadable,
                    Location::file(&display),
                    format!("{display} could not be hashed: {error}"),
                ),
            }
        }
        let artifacts = models
            .iter_mut()
            .flat_map(|m| m.files.iter_mut())
            .chain(datasets.iter_mut().flat_map(|d| d.files.iter_mut()));
        for artifact in artifacts {
            artifact.sha256 = by_path.get(&artifact.path).cloned();
        }
    }
}

fn is_within(directory: &str, ancestor: &str) -> bool {
    ancestor.is_empty()
        || directory == ancestor
        || directory
            .strip_prefix(ancestor)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// `…/models--org--name/snapshots/<revision>[/…]` (the Hugging Face cache) → (`org/name`,
/// the snapshot directory). `kind` is `models` or `datasets`.
fn huggingface_snapshot(directory: &str, kind: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = directory.split('/').collect();
    let prefix = format!("{kind}--");
    let at = parts.iter().rposition(|p| p.starts_with(&prefix))?;
    if parts.get(at + 1) != Some(&"snapshots") {
        return None;
    }
    parts.get(at + 2)?;
    let repository = parts.get(at)?.strip_prefix(&prefix)?.replacen("--", "/", 1);
    let snapshot = parts.get(..at + 3)?.join("/");
    Some((repository, snapshot))
}

fn is_huggingface_cache_entry(parent: Option<&Path>) -> bool {
    parent
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("models--") || n.starts_with("datasets--"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huggingface_cache_layout() {
        assert_eq!(
            huggingface_snapshot("hub/models--org--name/snapshots/abc123", "models"),
            Some((
                "org/name".to_owned(),
                "hub/models--org--name/snapshots/abc123".to_owned()
            ))
        );
        assert_eq!(
            huggingface_snapshot("models--gpt2/snapshots/abc/onnx", "models"),
            Some(("gpt2".to_owned(), "models--gpt2/snapshots/abc".to_owned()))
        );
        assert_eq!(
            huggingface_snapshot("models--org--name/blobs", "models"),
            None
        );
        assert!(is_within("a/b", "a"));
        assert!(!is_within("ab", "a"));
        assert!(is_within("x", ""));
    }
}
