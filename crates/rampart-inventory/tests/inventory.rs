//! End-to-end: the fixture project (a trimmed real venv, requirements with an include, a model
//! directory, an ONNX model and datasets) collected, rendered in all three formats, validated
//! offline against the official schemas, snapshotted, and read back.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::fs;
use std::path::{Path, PathBuf};

use rampart_inventory::{
    Inventory, Options, PackageSource, ProblemKind, SbomFormat, SbomOptions, Scope, SourceFormat,
};
use serde_json::Value;

const PROJECT: &str = "tests/fixtures/project";

fn shared(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(relative)
}

fn read_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn fixed_options() -> SbomOptions {
    SbomOptions {
        tool_version: "0.1.0".to_owned(),
        serial: Some("3e671687-395b-41f5-a30f-a58921a69b79".to_owned()),
        timestamp: Some("2024-05-01T12:00:00Z".to_owned()),
    }
}

fn project() -> Inventory {
    // Relative to the crate (cargo's working directory for tests), so paths in the output do
    // not depend on where the checkout lives.
    Inventory::collect(Path::new(PROJECT), &Options::default()).unwrap()
}

fn render(inventory: &Inventory, format: SbomFormat) -> Value {
    serde_json::from_slice(&inventory.render(format, &fixed_options())).unwrap()
}

#[test]
fn collects_environment_manifests_models_and_datasets() {
    let inventory = project();
    assert!(inventory.problems.is_empty(), "{:#?}", inventory.problems);
    assert_eq!(inventory.subject.name, "project");
    let sources: Vec<(&str, SourceFormat)> = inventory
        .sources
        .iter()
        .map(|s| (s.path.as_str(), s.format))
        .collect();
    assert_eq!(
        sources,
        [
            // The walk is sorted: `requirements/` comes before `requirements.txt`, whose
            // include of it is then not read a second time.
            (
                "tests/fixtures/project/requirements/base.txt",
                SourceFormat::RequirementsTxt
            ),
            (
                "tests/fixtures/project/requirements.txt",
                SourceFormat::RequirementsTxt
            ),
            (
                "tests/fixtures/project/venv/lib/python3.11/site-packages",
                SourceFormat::Environment
            ),
        ]
    );

    let installed: Vec<_> = inventory
        .packages
        .iter()
        .filter(|p| p.origin == SourceFormat::Environment)
        .collect();
    assert_eq!(installed.len(), 13);
    let find = |name: &str| {
        installed
            .iter()
            .find(|p| p.normalized_name == name)
            .unwrap_or_else(|| panic!("{name} not installed"))
    };
    let requests = find("requests");
    assert_eq!(requests.version.as_deref(), Some("2.25.0"));
    assert_eq!(requests.direct, Some(true));
    assert_eq!(requests.installer.as_deref(), Some("pip"));
    assert_eq!(requests.license_expression.as_deref(), Some("Apache-2.0"));
    // chardet, idna, urllib3, certifi, and PySocks through the installed `socks` extra; not
    // win-inet-pton (Windows on Python 2.7 only) nor the uninstalled `security` extra.
    let mut dependencies: Vec<&str> = requests
        .dependencies
        .iter()
        .map(|&i| inventory.packages[i].normalized_name.as_str())
        .collect();
    dependencies.sort_unstable();
    assert_eq!(
        dependencies,
        ["certifi", "chardet", "idna", "pysocks", "urllib3"]
    );
    // Installed as a dependency only (the generator asks for urllib3 by name, so it is direct).
    assert_eq!(find("chardet").direct, Some(false));
    assert_eq!(find("urllib3").direct, Some(true));
    let local = find("localtool");
    assert!(local.editable);
    assert!(matches!(&local.source, PackageSource::Local { path } if path == "/src/localtool"));
    assert_eq!(
        local.location.to_string(),
        "tests/fixtures/project/venv/lib/python3.11/site-packages/localtool-0.1.0.dist-info/METADATA"
    );

    let declared: Vec<_> = inventory
        .packages
        .iter()
        .filter(|p| p.origin == SourceFormat::RequirementsTxt)
        .map(|p| {
            (
                p.normalized_name.as_str(),
                p.version.as_deref(),
                p.location.to_string(),
                p.hashes.len(),
            )
        })
        .collect();
    assert_eq!(
        declared,
        [
            (
                "jinja2",
                Some("2.11.3"),
                "tests/fixtures/project/requirements/base.txt:1".to_owned(),
                0
            ),
            (
                "pyyaml",
                None,
                "tests/fixtures/project/requirements/base.txt:2".to_owned(),
                0
            ),
            (
                "requests",
                Some("2.25.0"),
                "tests/fixtures/project/requirements.txt:3".to_owned(),
                1
            ),
            (
                "urllib3",
                None,
                "tests/fixtures/project/requirements.txt:5".to_owned(),
                0
            ),
            (
                "exampletool",
                None,
                "tests/fixtures/project/requirements.txt:6".to_owned(),
                0
            ),
        ]
    );
    assert!(
        inventory.has_lock(),
        "an installed environment pins everything"
    );

    let models: Vec<_> = inventory
        .models
        .iter()
        .map(|m| (m.name.as_str(), m.formats.clone(), m.files.len()))
        .collect();
    assert_eq!(
        models,
        [
            ("tiny-bert", vec!["safetensors".to_owned()], 4),
            ("classifier.onnx", vec!["onnx".to_owned()], 1),
        ]
    );
    let bert = &inventory.models[0];
    assert_eq!(bert.card.task.as_deref(), Some("text-classification"));
    assert_eq!(
        bert.card.model_architecture.as_deref(),
        Some("BertForSequenceClassification")
    );
    assert_eq!(bert.card.datasets, ["train"]);
    assert_eq!(
        bert.card.limitations.as_deref(),
        Some("Trained on four rows; predicts nothing useful.")
    );
    assert!(
        bert.files
            .iter()
            .all(|f| f.sha256.as_deref().is_some_and(|h| h.len() == 64))
    );
    let onnx = &inventory.models[1];
    assert!(onnx.properties.contains(&(
        "rampart:onnx.producer_name".to_owned(),
        "pytorch".to_owned()
    )));

    let datasets: Vec<_> = inventory
        .datasets
        .iter()
        .map(|d| {
            (
                d.name.as_str(),
                d.formats.clone(),
                d.files[0].sha256.clone(),
            )
        })
        .collect();
    assert_eq!(
        datasets,
        [
            (
                "eval.jsonl",
                vec!["jsonl".to_owned()],
                Some(sha256_of("data/eval.jsonl"))
            ),
            (
                "train.csv",
                vec!["csv".to_owned()],
                Some(sha256_of("data/train.csv"))
            ),
        ]
    );
}

fn sha256_of(relative: &str) -> String {
    use std::process::Command;
    // The system's sha256sum is the independent oracle for the mapped hashing path.
    let output = Command::new("sha256sum")
        .arg(Path::new(PROJECT).join(relative))
        .output()
        .unwrap();
    String::from_utf8(output.stdout).unwrap()[..64].to_owned()
}

#[test]
fn cyclonedx_snapshot() {
    let document = render(&project(), SbomFormat::CycloneDx);
    insta::assert_json_snapshot!("project_cyclonedx", document);
}

#[test]
fn output_is_deterministic_but_serial_and_time_are_fresh() {
    let inventory = project();
    let first = inventory.render(SbomFormat::CycloneDx, &fixed_options());
    let second = inventory.render(SbomFormat::CycloneDx, &fixed_options());
    assert_eq!(first, second);
    let fresh: Value = serde_json::from_slice(
        &inventory.render(SbomFormat::CycloneDx, &SbomOptions::new("0.1.0")),
    )
    .unwrap();
    let fixed: Value = serde_json::from_slice(&first).unwrap();
    assert_ne!(fresh["serialNumber"], fixed["serialNumber"]);
    assert_ne!(
        fresh["metadata"]["timestamp"],
        fixed["metadata"]["timestamp"]
    );
}

mod schemas {
    use super::*;
    use jsonschema::{Registry, Validator};

    /// A validator with every schema the document's schema references registered, so nothing
    /// is ever fetched.
    fn validator(schema: &str, references: &[(&str, &str)]) -> Validator {
        let mut registry = Registry::new();
        for (uri, file) in references {
            registry = registry.add(*uri, read_json(&shared(file))).unwrap();
        }
        let registry = registry.prepare().unwrap();
        jsonschema::options()
            .with_registry(&registry)
            .build(&read_json(&shared(schema)))
            .unwrap()
    }

    fn cyclonedx() -> Validator {
        validator(
            "schemas/cyclonedx/bom-1.6.schema.json",
            &[
                (
                    "http://cyclonedx.org/schema/spdx.schema.json",
                    "schemas/cyclonedx/spdx.schema.json",
                ),
                (
                    "http://cyclonedx.org/schema/jsf-0.82.schema.json",
                    "schemas/cyclonedx/jsf-0.82.schema.json",
                ),
            ],
        )
    }

    fn assert_valid(validator: &Validator, document: &Value, what: &str) {
        let errors: Vec<String> = validator
            .iter_errors(document)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .take(10)
            .collect();
        assert!(
            errors.is_empty(),
            "{what} is invalid:\n{}",
            errors.join("\n")
        );
    }

    #[test]
    fn cyclonedx_validates_and_the_validator_can_fail() {
        let validator = cyclonedx();
        assert_valid(
            &validator,
            &render(&project(), SbomFormat::CycloneDx),
            "CycloneDX output",
        );
        // The validator is not vacuous: the spec's own valid and invalid examples.
        let examples = shared("examples/cyclonedx");
        assert!(validator.is_valid(&read_json(
            &examples.join("valid-machine-learning-1.6.json")
        )));
        assert!(validator.is_valid(&read_json(&examples.join("valid-component-data-1.6.json"))));
        assert!(!validator.is_valid(&read_json(&examples.join("invalid-bomformat-1.6.json"))));
        let mut broken = render(&project(), SbomFormat::CycloneDx);
        broken["components"][0]["type"] = Value::from("model");
        assert!(!validator.is_valid(&broken));
    }

    #[test]
    fn image_sboms_validate() {
        let inventory = super::image::inventory();
        assert_valid(
            &cyclonedx(),
            &render(&inventory, SbomFormat::CycloneDx),
            "image CycloneDX output",
        );
        assert_valid(
            &validator("schemas/spdx/spdx-2.3.schema.json", &[]),
            &render(&inventory, SbomFormat::Spdx23),
            "image SPDX 2.3 output",
        );
        assert_valid(
            &validator("schemas/spdx/spdx-3.0.1.schema.json", &[]),
            &render(&inventory, SbomFormat::Spdx3),
            "image SPDX 3.0.1 output",
        );
    }

    #[test]
    fn spdx_2_3_validates() {
        let validator = validator("schemas/spdx/spdx-2.3.schema.json", &[]);
        assert_valid(
            &validator,
            &render(&project(), SbomFormat::Spdx23),
            "SPDX 2.3 output",
        );
        assert!(validator.is_valid(&read_json(&shared(
            "examples/spdx/SPDXJSONExample-v2.3.spdx.json"
        ))));
        let mut broken = render(&project(), SbomFormat::Spdx23);
        // The spelling the notes warn about: the schema's enum has a hyphen.
        broken["packages"][1]["externalRefs"][0]["referenceCategory"] =
            Value::from("PACKAGE_MANAGER");
        assert!(!validator.is_valid(&broken));
    }

    #[test]
    fn spdx_3_validates_with_ai_and_dataset_elements() {
        let validator = validator("schemas/spdx/spdx-3.0.1.schema.json", &[]);
        let document = render(&project(), SbomFormat::Spdx3);
        assert_valid(&validator, &document, "SPDX 3.0.1 output");
        let types: Vec<&str> = document["@graph"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["type"].as_str())
            .collect();
        assert!(types.contains(&"ai_AIPackage"));
        assert!(types.contains(&"dataset_DatasetPackage"));
        let mut broken = document.clone();
        let graph = broken["@graph"].as_array_mut().unwrap();
        let dataset = graph
            .iter_mut()
            .find(|e| e["type"] == "dataset_DatasetPackage")
            .unwrap();
        dataset
            .as_object_mut()
            .unwrap()
            .remove("dataset_datasetType");
        assert!(!validator.is_valid(&broken));
    }

    #[test]
    fn model_card_links_datasets_and_base_models() {
        let document = render(&project(), SbomFormat::CycloneDx);
        let components = document["components"].as_array().unwrap();
        let bert = components
            .iter()
            .find(|c| c["name"] == "tiny-bert")
            .unwrap();
        let datasets = &bert["modelCard"]["modelParameters"]["datasets"];
        assert_eq!(
            datasets[0]["ref"],
            "data:tests/fixtures/project/data/train.csv"
        );
        assert!(
            components
                .iter()
                .any(|c| c["bom-ref"] == datasets[0]["ref"] && c["type"] == "data")
        );
        assert_eq!(
            bert["pedigree"]["ancestors"][0]["purl"],
            "pkg:huggingface/google-bert/bert-base-uncased"
        );
    }
}

#[test]
fn cyclonedx_reads_back_into_the_same_packages() {
    let inventory = project();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bom.json");
    fs::write(
        &path,
        inventory.render(SbomFormat::CycloneDx, &fixed_options()),
    )
    .unwrap();
    let read = Inventory::collect(&path, &Options::default()).unwrap();
    assert!(read.problems.is_empty(), "{:#?}", read.problems);
    assert_eq!(read.sources[0].format, SourceFormat::CycloneDx);
    let mut expected: Vec<(String, Option<String>)> = inventory
        .packages
        .iter()
        .filter(|p| p.version.is_some())
        .map(|p| (p.normalized_name.clone(), p.version.clone()))
        .collect();
    expected.sort();
    expected.dedup();
    let mut got: Vec<(String, Option<String>)> = read
        .packages
        .iter()
        .filter(|p| p.version.is_some())
        .map(|p| (p.normalized_name.clone(), p.version.clone()))
        .collect();
    got.sort();
    assert_eq!(got, expected);
    let requests = read
        .packages
        .iter()
        .find(|p| p.normalized_name == "requests" && p.version.is_some())
        .unwrap();
    assert_eq!(requests.direct, Some(true));
    assert_eq!(requests.dependencies.len(), 5);
    assert!(requests.location.line.is_some());
    assert_eq!(read.models.len(), 2);
    assert_eq!(read.datasets.len(), 2);
}

#[test]
fn another_tools_sbom_with_foreign_components() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.cdx.json");
    fs::write(
        &path,
        r#"{"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
            "metadata": {"component": {"bom-ref": "app", "name": "app", "type": "application"}},
            "components": [
              {"type": "library", "bom-ref": "a", "name": "zope.interface", "version": "6.0", "purl": "pkg:pypi/zope.interface@6.0"},
              {"type": "library", "bom-ref": "b", "name": "left-pad", "version": "1.3.0", "purl": "pkg:npm/left-pad@1.3.0"},
              {"type": "library", "name": "mystery"}
            ],
            "dependencies": [{"ref": "app", "dependsOn": ["a"]}]}"#,
    )
    .unwrap();
    let read = Inventory::collect(&path, &Options::default()).unwrap();
    assert_eq!(read.subject.name, "app");
    assert_eq!(read.packages.len(), 1);
    assert_eq!(read.packages[0].normalized_name, "zope-interface");
    assert_eq!(read.packages[0].direct, Some(true));
    let kinds: Vec<_> = read
        .problems
        .iter()
        .map(|p| (p.kind, p.location.line))
        .collect();
    assert_eq!(
        kinds,
        [
            (ProblemKind::Unsupported, Some(5)),
            (ProblemKind::Unsupported, Some(6))
        ]
    );
    assert_eq!(
        read.problems[0].to_finding().rule.id,
        "inventory/unsupported-entry"
    );
}

#[test]
fn legacy_metadata_egg_info_and_broken_dists() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site-packages");
    let write = |relative: &str, text: &str| {
        let path = site.join(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    };
    // The directory name is lower case; the project is PyYAML.
    write(
        "pyyaml-5.3.dist-info/METADATA",
        "Metadata-Version: 2.1\nName: PyYAML\nVersion: 5.3\nLicense: MIT\n",
    );
    write(
        "pyyaml-5.3.dist-info/RECORD",
        "yaml/__init__.py,sha256=AAAA,10\n",
    );
    write(
        "Old_Pkg-1.0-py3.8.egg-info/PKG-INFO",
        "Metadata-Version: 1.1\nName: Old-Pkg\nVersion: 1.0\nLicense: UNKNOWN\n",
    );
    write(
        "Old_Pkg-1.0-py3.8.egg-info/requires.txt",
        "PyYAML>=5\n\n[extra]\nmissing-thing\n",
    );
    write(
        "single-2.0-py3.8.egg-info",
        "Metadata-Version: 1.0\nName: single\nVersion: 2.0\n",
    );
    write(
        "noname-1.0.dist-info/METADATA",
        "Metadata-Version: 2.1\nVersion: 1.0\n",
    );
    write("noname-1.0.dist-info/RECORD", "");
    write("tool.egg-link", "/nonexistent/project\n.\n");
    let inventory = Inventory::collect(&site, &Options::default()).unwrap();
    let names: Vec<_> = inventory
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_deref(), p.direct))
        .collect();
    assert_eq!(
        names,
        [
            ("Old-Pkg", Some("1.0"), None),
            ("noname", Some("1.0"), None),
            ("PyYAML", Some("5.3"), None),
            ("single", Some("2.0"), None),
        ]
    );
    let old = &inventory.packages[0];
    assert_eq!(
        old.dependencies,
        [2],
        "Old-Pkg requires PyYAML, not its uninstalled extra"
    );
    assert_eq!(
        inventory.packages[2].license_expression.as_deref(),
        Some("MIT")
    );
    let problems: Vec<_> = inventory
        .problems
        .iter()
        .map(|p| (p.kind, p.location.to_string()))
        .collect();
    assert_eq!(
        problems,
        [
            (
                ProblemKind::Malformed,
                format!("{}/noname-1.0.dist-info/METADATA", site.display())
            ),
            (
                ProblemKind::Unreadable,
                format!("{}/tool.egg-link", site.display())
            ),
        ]
    );
}

#[test]
fn lock_files_in_a_project_and_scopes() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("poetry.lock"),
        "[[package]]\nname = \"torch\"\nversion = \"2.1.0\"\n\n[[package]]\nname = \"pytest\"\nversion = \"7.0.0\"\ncategory = \"dev\"\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("uv.lock"),
        "version = 1\n[[package]]\nname = \"x\"\n[[package]\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("requirements.txt"),
        "-r missing.txt\n-r https://example.com/reqs.txt\n-c constraints.txt\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("constraints.txt"),
        "-c requirements.txt\nidna==2.10\n",
    )
    .unwrap();
    let inventory = Inventory::collect(dir.path(), &Options::default()).unwrap();
    let packages: Vec<_> = inventory
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.scope, p.origin))
        .collect();
    assert_eq!(
        packages,
        [
            ("torch", Scope::Required, SourceFormat::PoetryLock),
            ("pytest", Scope::Development, SourceFormat::PoetryLock),
            ("idna", Scope::Constraint, SourceFormat::RequirementsTxt),
        ]
    );
    let problems: Vec<_> = inventory
        .problems
        .iter()
        .map(|p| (p.kind, p.location.line))
        .collect();
    assert_eq!(
        problems,
        [
            (ProblemKind::Unreadable, Some(1)),
            (ProblemKind::Unsupported, Some(2)),
            (ProblemKind::Malformed, Some(4)),
        ]
    );
    // A constraint alone is no component.
    let document = render(&inventory, SbomFormat::CycloneDx);
    assert_eq!(document["components"].as_array().unwrap().len(), 2);
}

#[test]
fn a_single_model_file_and_an_unknown_file() {
    let dir = tempfile::tempdir().unwrap();
    let gguf = dir.path().join("tiny.gguf");
    let mut bytes = b"GGUF".to_vec();
    bytes.extend(3u32.to_le_bytes());
    bytes.extend(0u64.to_le_bytes());
    bytes.extend(1u64.to_le_bytes());
    let key = b"general.source.huggingface.repository";
    bytes.extend((key.len() as u64).to_le_bytes());
    bytes.extend(key);
    bytes.extend(8u32.to_le_bytes());
    bytes.extend(9u64.to_le_bytes());
    bytes.extend(b"org/tiny1");
    fs::write(&gguf, &bytes).unwrap();
    let inventory = Inventory::collect(&gguf, &Options::default()).unwrap();
    assert!(inventory.problems.is_empty(), "{:#?}", inventory.problems);
    assert_eq!(
        inventory.models[0].purl.as_deref(),
        Some("pkg:huggingface/org/tiny1")
    );

    let notes = dir.path().join("notes.bin");
    fs::write(&notes, b"just some bytes").unwrap();
    let inventory = Inventory::collect(&notes, &Options::default()).unwrap();
    assert_eq!(inventory.problems.len(), 1);
    assert_eq!(inventory.problems[0].kind, ProblemKind::Unsupported);
    assert!(Inventory::collect(&dir.path().join("absent"), &Options::default()).is_err());
}

#[test]
fn hashing_can_be_turned_off() {
    let options = Options {
        hash_files: false,
        ..Options::default()
    };
    let inventory = Inventory::collect(Path::new(PROJECT), &options).unwrap();
    assert!(
        inventory
            .models
            .iter()
            .flat_map(|m| &m.files)
            .all(|f| f.sha256.is_none())
    );
}

#[cfg(unix)]
#[test]
fn huggingface_cache_models_and_datasets() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let hub = dir.path().join("hub");
    let entry = hub.join("models--org--tiny");
    let blobs = entry.join("blobs");
    let snapshot = entry.join("snapshots/0123456789abcdef0123456789abcdef01234567");
    fs::create_dir_all(&blobs).unwrap();
    fs::create_dir_all(&snapshot).unwrap();
    let mut weights = 16u64.to_le_bytes().to_vec();
    weights.extend_from_slice(b"{\"__metadata__\":{}}");
    fs::write(blobs.join("aaaa"), &weights).unwrap();
    fs::write(
        blobs.join("bbbb"),
        br#"{"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"]}"#,
    )
    .unwrap();
    symlink("../../blobs/aaaa", snapshot.join("model.safetensors")).unwrap();
    symlink("../../blobs/bbbb", snapshot.join("config.json")).unwrap();
    let data = hub.join("datasets--org--set/snapshots/abc/data");
    fs::create_dir_all(&data).unwrap();
    fs::write(data.join("train-00000-of-00002.parquet"), b"PAR1....PAR1").unwrap();
    fs::write(data.join("train-00001-of-00002.parquet"), b"PAR1----PAR1").unwrap();
    symlink("/etc/hostname", hub.join("outside.bin")).unwrap();

    let inventory = Inventory::collect(&hub, &Options::default()).unwrap();
    let [model] = inventory.models.as_slice() else {
        unreachable!("{:#?}", inventory.models)
    };
    assert_eq!(model.name, "org/tiny");
    assert_eq!(
        model.purl.as_deref(),
        Some("pkg:huggingface/org/tiny@0123456789abcdef0123456789abcdef01234567")
    );
    assert_eq!(model.card.task.as_deref(), Some("text-generation"));
    assert_eq!(
        model.files.len(),
        2,
        "blobs are read through their links only"
    );
    assert!(model.files.iter().all(|f| f.sha256.is_some()));
    let [dataset] = inventory.datasets.as_slice() else {
        unreachable!("{:#?}", inventory.datasets)
    };
    assert_eq!((dataset.name.as_str(), dataset.files.len()), ("org/set", 2));
    let problems: Vec<_> = inventory.problems.iter().map(|p| p.kind).collect();
    assert_eq!(
        problems,
        [ProblemKind::Unsupported],
        "{:#?}",
        inventory.problems
    );
}

/// `Inventory::collect_image` on an image assembled from bytes: a Debian base layer with dpkg
/// databases, a Python layer, a model layer, and a layer deleting a package database entry.
mod image {
    use super::*;
    use rampart_core::Limits;
    use rampart_image::Image;
    use rampart_image::test_support::{Item, Spec, docker_save, tar};

    const OS_RELEASE: &[u8] = b"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nID=debian\n";
    const STATUS: &[u8] = b"Package: openssl\nStatus: install ok installed\nArchitecture: amd64\nVersion: 3.0.15-1~deb12u1\nDescription: Secure Sockets Layer toolkit\n\nPackage: libgcc-s1\nStatus: install ok installed\nArchitecture: amd64\nSource: gcc-12 (12.2.0-14)\nVersion: 12.2.0-14\nDescription: GCC support library\n";
    const DISTROLESS: &[u8] = b"Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n";
    const METADATA: &[u8] = b"Metadata-Version: 2.1\nName: numpy\nVersion: 2.1.0\nSummary: Fundamental package for array computing in Python\nRequires-Dist: packaging\n\nbody\n";
    const PACKAGING: &[u8] = b"Metadata-Version: 2.1\nName: packaging\nVersion: 24.1\n";

    fn safetensors() -> Vec<u8> {
        let header = br#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#;
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header);
        bytes.extend_from_slice(&[0, 0, 128, 63]);
        bytes
    }

    pub(super) fn inventory() -> Inventory {
        let model = safetensors();
        let site = "usr/local/lib/python3.12/site-packages";
        let spec = Spec::new(vec![
            tar(&[
                Item::File("usr/lib/os-release", OS_RELEASE),
                Item::Symlink("etc/os-release", "../usr/lib/os-release"),
                Item::File("var/lib/dpkg/status", STATUS),
                Item::File("var/lib/dpkg/status.d/tzdata", DISTROLESS),
                Item::File(
                    "var/lib/dpkg/status.d/tzdata.md5sums",
                    b"abc  usr/share/zoneinfo/UTC\n",
                ),
            ]),
            tar(&[
                Item::File(&format!("{site}/numpy-2.1.0.dist-info/METADATA"), METADATA),
                Item::File(
                    &format!("{site}/packaging-24.1.dist-info/METADATA"),
                    PACKAGING,
                ),
                Item::File(
                    &format!("{site}/numpy/core/tests/data/umath-validation-set.csv"),
                    b"a,b\n1,2\n",
                ),
            ]),
            tar(&[Item::File("models/classifier.safetensors", &model)]),
        ]);
        let image =
            Image::from_archive_bytes(docker_save(&spec), "server.tar", None, &Limits::default())
                .unwrap();
        let mut findings = Vec::new();
        let inventory = Inventory::collect_image(&image, &Options::default(), &mut findings);
        assert!(findings.is_empty(), "{findings:#?}");
        inventory
    }

    #[test]
    fn collects_os_and_python_packages_models_and_the_image() {
        let inventory = inventory();
        assert!(inventory.problems.is_empty(), "{:#?}", inventory.problems);
        let packages: Vec<(String, String)> = inventory
            .packages
            .iter()
            .map(|p| (p.name.clone(), p.version.clone().unwrap_or_default()))
            .collect();
        assert_eq!(
            packages,
            [
                ("openssl".to_owned(), "3.0.15-1~deb12u1".to_owned()),
                ("libgcc-s1".to_owned(), "12.2.0-14".to_owned()),
                ("tzdata".to_owned(), "2024a-0+deb12u1".to_owned()),
                ("numpy".to_owned(), "2.1.0".to_owned()),
                ("packaging".to_owned(), "24.1".to_owned()),
            ]
        );
        assert_eq!(inventory.subject.name, "example/model-server");
        assert_eq!(inventory.subject.version.as_deref(), Some("1.0"));
        let image = inventory.image.as_ref().unwrap();
        assert!(
            image.purl.starts_with("pkg:oci/model-server@sha256%3A"),
            "{}",
            image.purl
        );
        assert!(image.purl.contains("tag=1.0"), "{}", image.purl);
        assert_eq!(
            inventory.models.len(),
            1,
            "library test data is not a dataset"
        );
        assert!(inventory.datasets.is_empty());
        let model = &inventory.models[0];
        assert!(
            model.path.ends_with("!/models/classifier.safetensors"),
            "{}",
            model.path
        );
        assert!(model.files[0].sha256.is_some());

        let document = render(&inventory, SbomFormat::CycloneDx);
        let purls: Vec<&str> = document["components"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["purl"].as_str())
            .collect();
        for wanted in [
            "pkg:deb/debian/openssl@3.0.15-1~deb12u1?arch=amd64&distro=debian-12",
            "pkg:deb/debian/libgcc-s1@12.2.0-14?arch=amd64&distro=debian-12",
            "pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all&distro=debian-12",
            "pkg:pypi/numpy@2.1.0",
            "pkg:pypi/packaging@24.1",
        ] {
            assert!(purls.contains(&wanted), "{wanted} missing from {purls:#?}");
        }
        let root = &document["metadata"]["component"];
        assert_eq!(root["type"], "container");
        assert_eq!(root["purl"].as_str(), Some(image.purl.as_str()));
        let gcc = document["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "libgcc-s1")
            .unwrap();
        assert!(gcc["properties"].to_string().contains("gcc-12"), "{gcc:#}");
        let numpy = document["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "numpy")
            .unwrap();
        let reference = numpy["bom-ref"].as_str().unwrap();
        let graph = document["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["ref"] == reference)
            .unwrap();
        assert_eq!(graph["dependsOn"][0], "pkg:pypi/packaging@24.1");
    }

    #[test]
    fn an_image_sbom_reads_back_with_distribution_facts() {
        let temp = tempfile::tempdir().unwrap();
        let path = temp.path().join("image.cdx.json");
        fs::write(
            &path,
            inventory().render(SbomFormat::CycloneDx, &fixed_options()),
        )
        .unwrap();
        let read = Inventory::collect(&path, &Options::default()).unwrap();
        assert!(read.problems.is_empty(), "{:#?}", read.problems);
        let gcc = read
            .packages
            .iter()
            .find(|p| p.name == "libgcc-s1")
            .unwrap();
        let os = gcc.os.as_ref().unwrap();
        assert_eq!(os.advisory_ecosystem.as_deref(), Some("Debian:12"));
        assert_eq!(os.source_name.as_deref(), Some("gcc-12"));
        assert_eq!(os.arch.as_deref(), Some("amd64"));
        assert_eq!(gcc.version.as_deref(), Some("12.2.0-14"));
        let numpy = read.packages.iter().find(|p| p.name == "numpy").unwrap();
        assert!(numpy.os.is_none());
    }

    /// A CentOS 8 image: rpm's BerkeleyDB `Packages` is read; a damaged NDB `Packages.db`
    /// is one finding.
    #[test]
    fn reads_rpm_berkeley_db_and_reports_a_damaged_ndb() {
        let packages_le = include_bytes!("fixtures/rpm/Packages-le");
        let os_release = b"NAME=\"CentOS Linux\"\nVERSION_ID=\"8\"\nID=\"centos\"\n";
        let spec = Spec::new(vec![tar(&[
            Item::File("etc/os-release", os_release),
            Item::File("var/lib/rpm/Packages", packages_le),
            Item::File("usr/lib/sysimage/rpm/Packages.db", b"RpmP"),
        ])]);
        let image =
            Image::from_archive_bytes(docker_save(&spec), "centos.tar", None, &Limits::default())
                .unwrap();
        let mut findings = Vec::new();
        let inventory = Inventory::collect_image(&image, &Options::default(), &mut findings);
        assert!(findings.is_empty(), "{findings:#?}");
        let versions: Vec<(&str, &str)> = inventory
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_deref().unwrap_or_default()))
            .collect();
        assert_eq!(
            versions,
            [
                ("rampart-alpha", "1.2.3-5.el8"),
                ("rampart-beta", "2:1.2.4-5.el8"),
                ("tiny", "0.1-1"),
            ]
        );
        assert_eq!(inventory.problems.len(), 1, "{:#?}", inventory.problems);
        assert_eq!(inventory.problems[0].kind, ProblemKind::Malformed);
        assert!(inventory.problems[0].message.contains("NDB header"));
        assert_eq!(
            inventory.problems[0]
                .location
                .members
                .last()
                .map(String::as_str),
            Some("usr/lib/sysimage/rpm/Packages.db")
        );
        let document = render(&inventory, SbomFormat::CycloneDx);
        let purls: Vec<&str> = document["components"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["purl"].as_str())
            .collect();
        assert!(
            purls
                .iter()
                .any(|purl| purl.starts_with("pkg:rpm/centos/rampart-beta@")),
            "{purls:#?}"
        );
    }
}
