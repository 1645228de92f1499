//! CycloneDX 1.6 JSON: the writer (packages, `machine-learning-model` components with a
//! `modelCard`, `data` components, the dependency graph) and a reader that takes any
//! CycloneDX JSON SBOM (rampart's or another tool's) back into packages, models and datasets.

use std::collections::HashMap;

use rampart_core::Location;
use serde_json::{Value, json};

use super::view::{self, DatasetLink, PackageComponent};
use super::{SbomOptions, set};
use crate::inventory::{
    ArtifactFile, ArtifactHash, Dataset, Distro, Ecosystem, Inventory, Model, ModelCard, OsPackage,
    Package, PackageSource, Scope, SourceFormat, Subject,
};
use crate::license::spdx_expression;
use crate::names::huggingface_purl;
use crate::problem::{Problem, ProblemKind};
use crate::requirement::source_of_url;
use crate::text::{LineIndex, excerpt};

const SCHEMA: &str = "http://cyclonedx.org/schema/bom-1.6.schema.json";

pub(crate) fn write(inventory: &Inventory, options: &SbomOptions) -> Value {
    let view = view::build(inventory);
    let mut components: Vec<Value> = view.packages.iter().map(package_component).collect();
    components.extend(
        view.models
            .iter()
            .map(|(reference, model, links)| model_component(reference, model, links)),
    );
    components.extend(
        view.datasets
            .iter()
            .map(|(reference, dataset)| dataset_component(reference, dataset)),
    );
    let mut dependencies = vec![json!({
        "ref": view.root_reference,
        "dependsOn": view.root_depends_on,
    })];
    dependencies.extend(view.packages.iter().map(|c| {
        json!({
            "ref": c.reference,
            "dependsOn": c.depends_on,
        })
    }));
    let mut root = json!({
        "type": "application",
        "bom-ref": view.root_reference,
        "name": inventory.subject.name,
    });
    insert_some(&mut root, "version", inventory.subject.version.as_deref());
    if let Some(image) = &inventory.image {
        set(&mut root, "type", json!("container"));
        set(&mut root, "purl", json!(image.purl));
        if let Some(hex) = image.digest.strip_prefix("sha256:") {
            set(
                &mut root,
                "hashes",
                json!([{"alg": "SHA-256", "content": hex}]),
            );
        }
        let mut facts = Vec::new();
        if let Some(platform) = &image.platform {
            facts.push(property("rampart:image:platform", platform));
        }
        if let Some(distro) = &image.distro {
            facts.push(property("rampart:image:os", &distro.id));
            if let Some(version) = &distro.version_id {
                facts.push(property("rampart:image:os-version", version));
            }
        }
        insert_nonempty(&mut root, "properties", facts);
    }
    let sources: Vec<Value> = inventory
        .sources
        .iter()
        .map(|s| property(&format!("rampart:source:{}", s.format.as_str()), &s.path))
        .collect();
    let mut metadata = json!({
        "timestamp": options.timestamp(),
        "tools": {
            "components": [{
                "type": "application",
                "name": "rampart",
                "version": options.tool_version,
            }]
        },
        "component": root,
    });
    if !sources.is_empty() {
        set(&mut metadata, "properties", Value::Array(sources));
    }
    json!({
        "$schema": SCHEMA,
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": format!("urn:uuid:{}", options.serial()),
        "version": 1,
        "metadata": metadata,
        "components": components,
        "dependencies": dependencies,
    })
}

fn property(name: &str, value: &str) -> Value {
    json!({ "name": name, "value": value })
}

fn insert_some(object: &mut Value, key: &str, value: Option<&str>) {
    if let (Some(value), Some(map)) = (value, object.as_object_mut()) {
        map.insert(key.to_owned(), Value::String(value.to_owned()));
    }
}

fn insert_nonempty(object: &mut Value, key: &str, values: Vec<Value>) {
    if let (false, Some(map)) = (values.is_empty(), object.as_object_mut()) {
        map.insert(key.to_owned(), Value::Array(values));
    }
}

/// CycloneDX's name for a hash algorithm, when it has one and the digest has a valid length.
fn hash_value(algorithm: &str, hex: &str) -> Option<Value> {
    let alg = match algorithm {
        "md5" => "MD5",
        "sha1" => "SHA-1",
        "sha256" => "SHA-256",
        "sha384" => "SHA-384",
        "sha512" => "SHA-512",
        "blake2b" | "blake2b-512" => "BLAKE2b-512",
        "blake3" => "BLAKE3",
        _ => return None,
    };
    let valid =
        matches!(hex.len(), 32 | 40 | 64 | 96 | 128) && hex.bytes().all(|b| b.is_ascii_hexdigit());
    valid.then(|| json!({ "alg": alg, "content": hex }))
}

fn licenses(expression: Option<&str>, name: Option<&str>) -> Option<Value> {
    if let Some(expression) = expression {
        return Some(json!([{ "expression": expression }]));
    }
    let name = name?;
    Some(match spdx_expression(name) {
        Some(expression) => json!([{ "expression": expression }]),
        None => json!([{ "license": { "name": excerpt(name, 200) } }]),
    })
}

fn package_component(component: &PackageComponent<'_>) -> Value {
    let main = component.main;
    let mut value = json!({
        "type": "library",
        "bom-ref": component.reference,
        "name": main.name,
        "purl": component.purl,
        "scope": match component.scope() {
            Scope::Required => "required",
            Scope::Optional | Scope::Development | Scope::Constraint => "optional",
        },
    });
    insert_some(&mut value, "version", component.version());
    insert_some(&mut value, "description", main.summary.as_deref());
    if let Some(licenses) = licenses(
        main.license_expression.as_deref(),
        main.license_name.as_deref(),
    ) {
        set(&mut value, "licenses", licenses);
    }
    let mut references = Vec::new();
    if let Some(homepage) = &main.homepage {
        references.push(json!({ "type": "website", "url": homepage }));
    }
    let mut properties = Vec::new();
    for package in &component.occurrences {
        match &package.source {
            PackageSource::Vcs { url, .. } => references.push(json!({ "type": "vcs", "url": url })),
            PackageSource::Url { url } => {
                references.push(json!({ "type": "distribution", "url": url }))
            }
            PackageSource::Index { url } => {
                references.push(json!({ "type": "distribution", "url": url }))
            }
            PackageSource::Local { path } => properties.push(property("rampart:local-path", path)),
            PackageSource::Registry => {}
        }
        for hash in &package.hashes {
            artifact_hash(hash, &mut references, &mut properties);
        }
        if let Some(specifier) = &package.specifier {
            properties.push(property("rampart:specifier", specifier));
        }
        if let Some(marker) = &package.marker {
            properties.push(property("rampart:marker", marker));
        }
        if package.editable {
            properties.push(property("rampart:editable", "true"));
        }
        if let Some(installer) = &package.installer {
            properties.push(property("rampart:installer", installer));
        }
        if let Some(os) = &package.os {
            if let Some(source) = &os.source_name {
                properties.push(property("rampart:os:source-name", source));
            }
            if let Some(version) = &os.source_version {
                properties.push(property("rampart:os:source-version", version));
            }
        }
    }
    if component
        .occurrences
        .iter()
        .any(|p| p.scope == Scope::Development)
    {
        properties.push(property("rampart:dependency-group", "development"));
    }
    references.dedup();
    properties.sort_by_key(Value::to_string);
    properties.dedup();
    insert_nonempty(&mut value, "externalReferences", references);
    insert_nonempty(&mut value, "properties", properties);
    let occurrences: Vec<Value> = component
        .occurrences
        .iter()
        .map(|p| occurrence(&p.location))
        .collect();
    set(
        &mut value,
        "evidence",
        json!({ "occurrences": occurrences }),
    );
    value
}

fn occurrence(location: &Location) -> Value {
    let mut value = json!({ "location": location.container_path() });
    if let Some(line) = location.line {
        set(&mut value, "line", json!(line));
    }
    value
}

/// A lock file's artifact hash: an external reference to the artifact when its URL is known,
/// else a property.
fn artifact_hash(hash: &ArtifactHash, references: &mut Vec<Value>, properties: &mut Vec<Value>) {
    let cdx_hash = hash_value(&hash.algorithm, &hash.value);
    match (&hash.artifact, cdx_hash) {
        (Some(url), Some(cdx_hash)) if url.contains("://") => {
            references.push(json!({ "type": "distribution", "url": url, "hashes": [cdx_hash] }));
        }
        _ => properties.push(property(
            "rampart:artifact-hash",
            &format!("{}:{}", hash.algorithm, hash.value),
        )),
    }
}

fn file_hashes(file: &ArtifactFile) -> Vec<Value> {
    file.sha256
        .as_deref()
        .and_then(|h| hash_value("sha256", h))
        .into_iter()
        .collect()
}

/// The files of a model or dataset: a single file's hash on the component itself, several
/// files as nested `file` components.
fn attach_files(value: &mut Value, reference: &str, directory: &str, files: &[ArtifactFile]) {
    if let [only] = files {
        insert_nonempty(value, "hashes", file_hashes(only));
        return;
    }
    let nested: Vec<Value> = files
        .iter()
        .map(|file| {
            let name = file
                .path
                .strip_prefix(directory)
                .and_then(|rest| rest.strip_prefix('/'))
                .unwrap_or(&file.path);
            let mut nested = json!({
                "type": "file",
                "bom-ref": format!("{reference}!/{name}"),
                "name": name,
                "properties": [property("rampart:format", &file.format), property("rampart:size", &file.size.to_string())],
            });
            insert_nonempty(&mut nested, "hashes", file_hashes(file));
            nested
        })
        .collect();
    insert_nonempty(value, "components", nested);
}

fn properties_of(pairs: &[(String, String)]) -> Vec<Value> {
    pairs.iter().map(|(k, v)| property(k, v)).collect()
}

fn model_component(reference: &str, model: &Model, links: &[DatasetLink]) -> Value {
    let card = &model.card;
    let mut value = json!({
        "type": "machine-learning-model",
        "bom-ref": reference,
        "name": model.name,
    });
    insert_some(&mut value, "purl", model.purl.as_deref());
    attach_files(&mut value, reference, &model.path, &model.files);
    if let Some(licenses) = licenses(None, card.license.as_deref()) {
        set(&mut value, "licenses", licenses);
    }
    let mut parameters = json!({});
    insert_some(&mut parameters, "task", card.task.as_deref());
    insert_some(
        &mut parameters,
        "architectureFamily",
        card.architecture_family.as_deref(),
    );
    insert_some(
        &mut parameters,
        "modelArchitecture",
        card.model_architecture.as_deref(),
    );
    let datasets: Vec<Value> = links
        .iter()
        .map(|link| match &link.reference {
            Some(reference) => json!({ "ref": reference }),
            None => json!({ "type": "dataset", "name": link.name }),
        })
        .collect();
    insert_nonempty(&mut parameters, "datasets", datasets);
    let mut model_card =
        json!({ "bom-ref": format!("{reference}#model-card"), "modelParameters": parameters });
    let metrics: Vec<Value> = card
        .metrics
        .iter()
        .map(|m| {
            let mut metric = json!({ "type": m.kind, "value": m.value });
            insert_some(&mut metric, "slice", m.slice.as_deref());
            metric
        })
        .collect();
    if !metrics.is_empty() {
        set(
            &mut model_card,
            "quantitativeAnalysis",
            json!({ "performanceMetrics": metrics }),
        );
    }
    if let Some(limitations) = &card.limitations {
        set(
            &mut model_card,
            "considerations",
            json!({ "technicalLimitations": [limitations] }),
        );
    }
    set(&mut value, "modelCard", model_card);
    let ancestors: Vec<Value> = card
        .base_models
        .iter()
        .map(|base| {
            let mut ancestor = json!({ "type": "machine-learning-model", "name": base });
            insert_some(
                &mut ancestor,
                "purl",
                huggingface_purl(base, None).as_deref(),
            );
            ancestor
        })
        .collect();
    if !ancestors.is_empty() {
        set(&mut value, "pedigree", json!({ "ancestors": ancestors }));
    }
    let mut properties = vec![property("rampart:format", &model.formats.join(", "))];
    if let Some(library) = &card.library {
        properties.push(property("rampart:library", library));
    }
    properties.extend(properties_of(&model.properties));
    insert_nonempty(&mut value, "properties", properties);
    let tags: Vec<Value> = card
        .tags
        .iter()
        .chain(&card.languages)
        .map(|t| json!(t))
        .collect();
    insert_nonempty(&mut value, "tags", tags);
    set(
        &mut value,
        "evidence",
        json!({ "occurrences": [{ "location": model.path }] }),
    );
    value
}

fn dataset_component(reference: &str, dataset: &Dataset) -> Value {
    let mut value = json!({
        "type": "data",
        "bom-ref": reference,
        "name": dataset.name,
        "data": [{
            "type": "dataset",
            "name": dataset.name,
            "description": format!("{} ({} file{})", dataset.formats.join(", "), dataset.files.len(), if dataset.files.len() == 1 { "" } else { "s" }),
        }],
    });
    attach_files(&mut value, reference, &dataset.path, &dataset.files);
    let mut properties = vec![property("rampart:format", &dataset.formats.join(", "))];
    properties.extend(properties_of(&dataset.properties));
    insert_nonempty(&mut value, "properties", properties);
    set(
        &mut value,
        "evidence",
        json!({ "occurrences": [{ "location": dataset.path }] }),
    );
    value
}

/// What a CycloneDX document held.
pub(crate) struct Read {
    pub subject: Option<Subject>,
    pub packages: Vec<Package>,
    pub models: Vec<Model>,
    pub datasets: Vec<Dataset>,
    pub problems: Vec<Problem>,
}

/// Reads a CycloneDX JSON document; `None` when `text` is not one (other JSON).
pub(crate) fn read(text: &str, location: &Location, max_entries: u64) -> Option<Read> {
    let document: Value = match serde_json::from_str(text) {
        Ok(document) => document,
        // Broken JSON that says it is CycloneDX is a broken SBOM, not some other file.
        Err(error) if text.contains("\"bomFormat\"") => {
            return Some(Read {
                subject: None,
                packages: Vec::new(),
                models: Vec::new(),
                datasets: Vec::new(),
                problems: vec![Problem::new(
                    ProblemKind::Malformed,
                    location.at_line(u32::try_from(error.line()).unwrap_or(1).max(1), None),
                    format!("CycloneDX SBOM could not be parsed: {error}"),
                )],
            });
        }
        Err(_) => return None,
    };
    if document.get("bomFormat").and_then(Value::as_str) != Some("CycloneDX") {
        return None;
    }
    let mut read = Read {
        subject: None,
        packages: Vec::new(),
        models: Vec::new(),
        datasets: Vec::new(),
        problems: Vec::new(),
    };
    let spec_version = document
        .get("specVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !matches!(spec_version, "1.2" | "1.3" | "1.4" | "1.5" | "1.6" | "1.7") {
        read.problems.push(Problem::new(
            ProblemKind::Unsupported,
            location.clone(),
            format!(
                "CycloneDX specVersion `{}` is not one rampart knows; components were read as 1.6",
                excerpt(spec_version, 20)
            ),
        ));
    }
    let root = document.get("metadata").and_then(|m| m.get("component"));
    if let Some(name) = root.and_then(|c| c.get("name")).and_then(Value::as_str) {
        read.subject = Some(Subject {
            name: name.to_owned(),
            version: root
                .and_then(|c| c.get("version"))
                .and_then(Value::as_str)
                .map(str::to_owned),
        });
    }
    let lines = LineIndex::new(text);
    let mut reader = Reader {
        text,
        lines: &lines,
        location,
        visited: 0,
        references: HashMap::new(),
        read: &mut read,
    };
    // Nested components are walked with an explicit stack: documents can nest arbitrarily.
    let mut stack: Vec<&Value> = document
        .get("components")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .rev()
        .collect();
    while let Some(component) = stack.pop() {
        reader.visited += 1;
        if reader.visited > max_entries {
            reader.read.problems.push(Problem::new(
                ProblemKind::LimitExceeded,
                location.clone(),
                format!("more than max_metadata_entries ({max_entries}) components; the rest were not read"),
            ));
            break;
        }
        let nested_is_files = matches!(
            component.get("type").and_then(Value::as_str),
            Some("machine-learning-model" | "data")
        );
        reader.component(component);
        if !nested_is_files {
            stack.extend(
                component
                    .get("components")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .rev(),
            );
        }
    }
    let references = std::mem::take(&mut reader.references);
    link_graph(&document, root, &references, &mut read.packages);
    Some(read)
}

struct Reader<'a, 'r> {
    text: &'a str,
    lines: &'a LineIndex,
    location: &'a Location,
    visited: u64,
    /// bom-ref → package index.
    references: HashMap<String, usize>,
    read: &'r mut Read,
}

impl Reader<'_, '_> {
    /// The component's location: the document, at the line of its purl or name.
    fn locate(&self, needle: &str) -> Location {
        let quoted = serde_json::to_string(needle).unwrap_or_default();
        match self.text.find(&quoted) {
            Some(offset) => self.location.at_line(self.lines.line(offset), None),
            None => self.location.clone(),
        }
    }

    fn component(&mut self, component: &Value) {
        let text = |key: &str| component.get(key).and_then(Value::as_str);
        let kind = text("type").unwrap_or("library");
        let name = text("name").unwrap_or_default();
        let purl = text("purl");
        match kind {
            "machine-learning-model" => {
                let model = read_model(component, self.locate(purl.unwrap_or(name)));
                self.read.models.push(model);
                return;
            }
            "data" => {
                let files = component_files(component);
                self.read.datasets.push(Dataset {
                    name: name.to_owned(),
                    path: name.to_owned(),
                    formats: Vec::new(),
                    files,
                    properties: Vec::new(),
                });
                return;
            }
            _ => {}
        }
        let Some(purl) = purl else {
            if matches!(kind, "library" | "framework") {
                let here = self.locate(name);
                self.read.problems.push(Problem::new(
                    ProblemKind::Unsupported,
                    here,
                    format!(
                        "component `{}` has no package URL; it cannot be audited",
                        excerpt(name, 120)
                    ),
                ));
            }
            return;
        };
        let here = self.locate(purl);
        let Some(parsed) = parse_purl(purl) else {
            self.read.problems.push(Problem::new(
                ProblemKind::Malformed,
                here,
                format!("`{}` is not a valid package URL", excerpt(purl, 200)),
            ));
            return;
        };
        let ecosystem = match parsed.kind.as_str() {
            "pypi" => Ecosystem::PyPI,
            "conda" => Ecosystem::Conda,
            "deb" => Ecosystem::Deb,
            "apk" => Ecosystem::Apk,
            "rpm" => Ecosystem::Rpm,
            other => {
                self.read.problems.push(Problem::new(
                    ProblemKind::Unsupported,
                    here,
                    format!(
                        "component `{}` is a {other} package; rampart audits Python, Debian, Alpine and RPM packages only",
                        excerpt(purl, 200)
                    ),
                ));
                return;
            }
        };
        let display = if name.is_empty() {
            parsed.name.as_str()
        } else {
            name
        };
        let mut package = Package::named(display, SourceFormat::CycloneDx, here);
        package.ecosystem = ecosystem;
        package.version = text("version").map(str::to_owned).or_else(|| {
            // An rpm purl carries its epoch as a qualifier; the version compared is `E:V-R`.
            match (ecosystem, parsed.qualifiers.get("epoch"), &parsed.version) {
                (Ecosystem::Rpm, Some(epoch), Some(version)) => Some(format!("{epoch}:{version}")),
                _ => parsed.version.clone(),
            }
        });
        if matches!(ecosystem, Ecosystem::Deb | Ecosystem::Apk | Ecosystem::Rpm) {
            package.normalized_name = package.name.to_ascii_lowercase();
            package.os = Some(os_package(component, &parsed));
        }
        package.summary = text("description").map(str::to_owned);
        package.scope = match text("scope") {
            Some("optional") => Scope::Optional,
            _ => Scope::Required,
        };
        if let Some(url) = parsed.qualifiers.get("vcs_url") {
            package.source = source_of_url(url);
        } else if let Some(url) = parsed.qualifiers.get("download_url") {
            package.source = source_of_url(url);
        } else if let Some(url) = parsed.qualifiers.get("repository_url") {
            package.source = PackageSource::Index { url: url.clone() };
        }
        package.hashes = component
            .get("hashes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|h| {
                Some(ArtifactHash {
                    algorithm: h
                        .get("alg")?
                        .as_str()?
                        .to_ascii_lowercase()
                        .replace('-', ""),
                    value: h.get("content")?.as_str()?.to_ascii_lowercase(),
                    artifact: None,
                })
            })
            .collect();
        if let Some(licenses) = component.get("licenses").and_then(Value::as_array) {
            for license in licenses {
                if let Some(expression) = license.get("expression").and_then(Value::as_str) {
                    package.license_expression = Some(expression.to_owned());
                } else if let Some(id) = license
                    .get("license")
                    .and_then(|l| l.get("id"))
                    .and_then(Value::as_str)
                {
                    package.license_expression = Some(id.to_owned());
                } else if let Some(name) = license
                    .get("license")
                    .and_then(|l| l.get("name"))
                    .and_then(Value::as_str)
                {
                    package.license_name = Some(name.to_owned());
                }
            }
        }
        if let Some(reference) = text("bom-ref") {
            self.references
                .insert(reference.to_owned(), self.read.packages.len());
        }
        self.read.packages.push(package);
    }
}

/// `dependencies[]` → package edges; the root's direct dependencies are marked direct.
fn link_graph(
    document: &Value,
    root: Option<&Value>,
    references: &HashMap<String, usize>,
    packages: &mut [Package],
) {
    let root_reference = root.and_then(|r| r.get("bom-ref")).and_then(Value::as_str);
    let mut direct: Vec<usize> = Vec::new();
    let mut has_root_entry = false;
    for entry in document
        .get("dependencies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(from) = entry.get("ref").and_then(Value::as_str) else {
            continue;
        };
        let targets: Vec<usize> = entry
            .get("dependsOn")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter_map(|r| references.get(r).copied())
            .collect();
        if Some(from) == root_reference {
            has_root_entry = true;
            direct.extend(&targets);
        } else if let Some(package) = references.get(from).and_then(|&i| packages.get_mut(i)) {
            package.dependencies = targets;
            package.dependencies.sort_unstable();
            package.dependencies.dedup();
        }
    }
    if has_root_entry {
        for (index, package) in packages.iter_mut().enumerate() {
            package.direct = Some(direct.contains(&index));
        }
    }
}

fn component_files(component: &Value) -> Vec<ArtifactFile> {
    let sha256 = |c: &Value| {
        c.get("hashes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|h| h.get("alg").and_then(Value::as_str) == Some("SHA-256"))
            .and_then(|h| h.get("content"))
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase)
    };
    let name = |c: &Value| {
        c.get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let nested: Vec<ArtifactFile> = component
        .get("components")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| ArtifactFile {
            path: name(c),
            size: 0,
            sha256: sha256(c),
            format: "other".to_owned(),
        })
        .collect();
    if !nested.is_empty() {
        return nested;
    }
    vec![ArtifactFile {
        path: name(component),
        size: 0,
        sha256: sha256(component),
        format: "other".to_owned(),
    }]
}

fn read_model(component: &Value, here: Location) -> Model {
    let text = |v: Option<&Value>, key: &str| {
        v.and_then(|v| v.get(key))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let parameters = component
        .get("modelCard")
        .and_then(|c| c.get("modelParameters"));
    let purl = text(Some(component), "purl");
    let name = text(Some(component), "name").unwrap_or_default();
    Model {
        path: here.container_path(),
        purl,
        name,
        formats: Vec::new(),
        files: component_files(component),
        card: ModelCard {
            task: text(parameters, "task"),
            architecture_family: text(parameters, "architectureFamily"),
            model_architecture: text(parameters, "modelArchitecture"),
            ..ModelCard::default()
        },
        properties: Vec::new(),
    }
}

/// The parts of a package URL (`pkg:type/namespace/name@version?qualifiers#subpath`).
/// What an OS package component says about its distribution: the purl's namespace and
/// `distro`/`arch` qualifiers, the source package from rampart's properties or syft's
/// `upstream` qualifier.
fn os_package(component: &Value, purl: &ParsedPurl) -> OsPackage {
    let property = |wanted: &str| {
        component
            .get("properties")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|p| p.get("name").and_then(Value::as_str) == Some(wanted))
            .and_then(|p| p.get("value").and_then(Value::as_str))
            .map(str::to_owned)
    };
    let distro_qualifier = purl.qualifiers.get("distro").cloned();
    let distro = Distro {
        id: purl.namespace.to_ascii_lowercase(),
        // `debian-12` (or a codename, which names no release number) for dpkg, `3.20.3` for apk.
        version_id: distro_qualifier.as_deref().and_then(|d| {
            let version = d
                .strip_prefix(&format!("{}-", purl.namespace.to_ascii_lowercase()))
                .unwrap_or(d);
            version
                .starts_with(|c: char| c.is_ascii_digit())
                .then(|| version.to_owned())
        }),
        codename: None,
    };
    let upstream = purl.qualifiers.get("upstream").map(|u| {
        u.split_once(' ')
            .map_or(u.as_str(), |(name, _)| name)
            .to_owned()
    });
    OsPackage {
        namespace: distro.id.clone(),
        distro: distro_qualifier,
        arch: purl.qualifiers.get("arch").cloned(),
        source_name: property("rampart:os:source-name").or(upstream),
        source_version: property("rampart:os:source-version"),
        advisory_ecosystem: distro.advisory_ecosystem(),
    }
}

struct ParsedPurl {
    kind: String,
    /// The namespace (`debian` in `pkg:deb/debian/openssl`), empty when there is none.
    namespace: String,
    name: String,
    version: Option<String>,
    qualifiers: HashMap<String, String>,
}

fn parse_purl(purl: &str) -> Option<ParsedPurl> {
    let rest = purl.strip_prefix("pkg:")?.trim_start_matches('/');
    let rest = rest.split('#').next().unwrap_or_default();
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (kind, path) = rest.split_once('/')?;
    let (path, version) = match path.rsplit_once('@') {
        Some((path, version)) => (path, Some(percent_decode(version))),
        None => (path, None),
    };
    let name = percent_decode(path.rsplit('/').next().unwrap_or_default());
    let namespace = path
        .rsplit_once('/')
        .map(|(namespace, _)| percent_decode(namespace))
        .unwrap_or_default();
    if kind.is_empty() || name.is_empty() {
        return None;
    }
    let qualifiers = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_ascii_lowercase(), percent_decode(v)))
        .collect();
    Some(ParsedPurl {
        kind: kind.to_ascii_lowercase(),
        namespace,
        name,
        version,
        qualifiers,
    })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%'
            && let Some(hex) = text.get(i + 1..i + 3)
            && let Ok(decoded) = u8::from_str_radix(hex, 16)
        {
            out.push(decoded);
            i += 3;
            continue;
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls_parse() {
        let purl =
            parse_purl("pkg:pypi/torch@2.1.0%2Bcu118?vcs_url=git%2Bhttps%3A%2F%2Fh%2Fr").unwrap();
        assert_eq!((purl.kind.as_str(), purl.name.as_str()), ("pypi", "torch"));
        assert_eq!(purl.version.as_deref(), Some("2.1.0+cu118"));
        assert_eq!(
            purl.qualifiers.get("vcs_url").map(String::as_str),
            Some("git+https://h/r")
        );
        assert!(parse_purl("not-a-purl").is_none());
        assert!(parse_purl("pkg:pypi/").is_none());
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
