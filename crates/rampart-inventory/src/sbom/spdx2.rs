//! SPDX 2.3 JSON: one package per component (models and datasets as packages of purpose
//! `OTHER`, described in their comment), `DESCRIBES` and `DEPENDS_ON` relationships.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::view;
use super::{SbomOptions, set};
use crate::inventory::{ArtifactFile, Inventory};

/// `SPDXRef-` + the characters SPDX ids allow (letters, digits, `.` and `-`).
fn spdx_id(prefix: &str, name: &str, taken: &mut HashMap<String, usize>) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let base = format!("SPDXRef-{prefix}-{cleaned}");
    let count = taken.entry(base.clone()).or_insert(0);
    *count += 1;
    if *count == 1 {
        base
    } else {
        format!("{base}-{count}")
    }
}

fn checksums(files: &[ArtifactFile]) -> Vec<Value> {
    match files {
        [only] => only
            .sha256
            .iter()
            .map(|h| json!({ "algorithm": "SHA256", "checksumValue": h }))
            .collect(),
        _ => Vec::new(),
    }
}

fn package(id: &str, name: &str, version: Option<&str>, purpose: &str) -> Value {
    let mut value = json!({
        "SPDXID": id,
        "name": name,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": "NOASSERTION",
        "copyrightText": "NOASSERTION",
        "primaryPackagePurpose": purpose,
    });
    if let Some(version) = version {
        set(&mut value, "versionInfo", json!(version));
    }
    value
}

fn purl_reference(purl: &str) -> Value {
    json!([{
        "referenceCategory": "PACKAGE-MANAGER",
        "referenceType": "purl",
        "referenceLocator": purl,
    }])
}

fn declared_license(value: &mut Value, expression: Option<&str>) {
    if let Some(expression) = expression {
        set(value, "licenseDeclared", json!(expression));
    }
}

pub(crate) fn write(inventory: &Inventory, options: &SbomOptions) -> Value {
    let view = view::build(inventory);
    let mut taken = HashMap::new();
    let mut ids: HashMap<String, String> = HashMap::new();
    let root_id = spdx_id("Root", &inventory.subject.name, &mut taken);
    ids.insert(view.root_reference.clone(), root_id.clone());
    let mut root = package(
        &root_id,
        &inventory.subject.name,
        inventory.subject.version.as_deref(),
        if inventory.image.is_some() {
            "CONTAINER"
        } else {
            "APPLICATION"
        },
    );
    if let Some(image) = &inventory.image {
        set(&mut root, "externalRefs", purl_reference(&image.purl));
    }
    let mut packages = vec![root];
    for component in &view.packages {
        let main = component.main;
        let id = spdx_id(
            "Package",
            &format!(
                "{}-{}",
                main.normalized_name,
                component.version().unwrap_or("")
            ),
            &mut taken,
        );
        let mut value = package(&id, &main.name, component.version(), "LIBRARY");
        set(&mut value, "externalRefs", purl_reference(&component.purl));
        declared_license(&mut value, main.license_expression.as_deref());
        if let Some(summary) = &main.summary {
            set(&mut value, "summary", json!(summary));
        }
        if let Some(homepage) = main.homepage.as_deref().filter(|h| h.starts_with("http")) {
            set(&mut value, "homepage", json!(homepage));
        }
        ids.insert(component.reference.clone(), id);
        packages.push(value);
    }
    for (reference, model, _) in &view.models {
        let id = spdx_id("Model", &model.name, &mut taken);
        let mut value = package(&id, &model.name, None, "OTHER");
        set(
            &mut value,
            "comment",
            json!(format!(
                "machine-learning-model ({}){}",
                model.formats.join(", "),
                model
                    .card
                    .task
                    .as_deref()
                    .map(|t| format!(", task {t}"))
                    .unwrap_or_default()
            )),
        );
        if let Some(purl) = &model.purl {
            set(&mut value, "externalRefs", purl_reference(purl));
        }
        let sums = checksums(&model.files);
        if !sums.is_empty() {
            set(&mut value, "checksums", json!(sums));
        }
        declared_license(
            &mut value,
            model
                .card
                .license
                .as_deref()
                .and_then(crate::license::spdx_expression)
                .as_deref(),
        );
        ids.insert(reference.clone(), id);
        packages.push(value);
    }
    for (reference, dataset) in &view.datasets {
        let id = spdx_id("Dataset", &dataset.name, &mut taken);
        let mut value = package(&id, &dataset.name, None, "OTHER");
        set(
            &mut value,
            "comment",
            json!(format!("dataset ({})", dataset.formats.join(", "))),
        );
        let sums = checksums(&dataset.files);
        if !sums.is_empty() {
            set(&mut value, "checksums", json!(sums));
        }
        ids.insert(reference.clone(), id);
        packages.push(value);
    }
    let mut relationships = vec![json!({
        "spdxElementId": "SPDXRef-DOCUMENT",
        "relationshipType": "DESCRIBES",
        "relatedSpdxElement": root_id,
    })];
    let mut depends = |from: &str, targets: &[String]| {
        let Some(from_id) = ids.get(from) else {
            return;
        };
        for target in targets {
            if let Some(to_id) = ids.get(target) {
                relationships.push(json!({
                    "spdxElementId": from_id,
                    "relationshipType": "DEPENDS_ON",
                    "relatedSpdxElement": to_id,
                }));
            }
        }
    };
    depends(&view.root_reference, &view.root_depends_on);
    for component in &view.packages {
        depends(&component.reference, &component.depends_on);
    }
    for (reference, _, links) in &view.models {
        let trained_on: Vec<String> = links.iter().filter_map(|l| l.reference.clone()).collect();
        depends(reference, &trained_on);
    }
    let serial = options.serial();
    let namespace_name: String = inventory
        .subject
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": inventory.subject.name,
        "documentNamespace": format!("https://rampart.invalid/spdx/{namespace_name}-{serial}"),
        "creationInfo": {
            "created": options.timestamp(),
            "creators": [format!("Tool: rampart-{}", options.tool_version)],
        },
        "packages": packages,
        "relationships": relationships,
    })
}
