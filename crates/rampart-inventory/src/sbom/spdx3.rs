//! SPDX 3.0.1 JSON-LD: `software_Package` for packages, `ai_AIPackage` for models (task,
//! architecture, limitations, metrics), `dataset_DatasetPackage` for datasets, and
//! `dependsOn` / `trainedOn` / `hasDeclaredLicense` relationships.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::view;
use super::{SbomOptions, set};
use crate::inventory::{ArtifactFile, Inventory};
use crate::license::spdx_expression;

const CONTEXT: &str = "https://spdx.org/rdf/3.0.1/spdx-context.jsonld";
const CREATION_INFO: &str = "_:creationinfo";

struct Graph {
    namespace: String,
    elements: Vec<Value>,
    /// Every element id the document lists, in creation order.
    ids: Vec<String>,
    next_relationship: usize,
    licenses: HashMap<String, String>,
}

impl Graph {
    fn id(&self, local: &str) -> String {
        let cleaned: String = local
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_') {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        format!("{}#{cleaned}", self.namespace)
    }

    fn add(&mut self, element: Value) {
        if let Some(id) = element.get("spdxId").and_then(Value::as_str) {
            self.ids.push(id.to_owned());
        }
        self.elements.push(element);
    }

    fn relationship(&mut self, from: &str, kind: &str, to: Vec<String>) {
        if to.is_empty() {
            return;
        }
        self.next_relationship += 1;
        let id = self.id(&format!("relationship-{}", self.next_relationship));
        self.add(json!({
            "type": "Relationship",
            "spdxId": id,
            "creationInfo": CREATION_INFO,
            "from": from,
            "relationshipType": kind,
            "to": to,
        }));
    }

    /// A `hasDeclaredLicense` relationship to a (shared) license-expression element.
    fn declared_license(&mut self, from: &str, expression: Option<&str>) {
        let Some(expression) = expression else {
            return;
        };
        let license_id = match self.licenses.get(expression) {
            Some(id) => id.clone(),
            None => {
                let id = self.id(&format!("license-{}", self.licenses.len() + 1));
                self.licenses.insert(expression.to_owned(), id.clone());
                self.add(json!({
                    "type": "simplelicensing_LicenseExpression",
                    "spdxId": id,
                    "creationInfo": CREATION_INFO,
                    "simplelicensing_licenseExpression": expression,
                }));
                id
            }
        };
        self.relationship(from, "hasDeclaredLicense", vec![license_id]);
    }
}

fn verified_using(files: &[ArtifactFile]) -> Option<Value> {
    match files {
        [only] => only
            .sha256
            .as_ref()
            .map(|h| json!([{ "type": "Hash", "algorithm": "sha256", "hashValue": h }])),
        _ => None,
    }
}

fn package_url(value: &mut Value, purl: &str) {
    set(value, "software_packageUrl", json!(purl));
    set(
        value,
        "externalIdentifier",
        json!([{
            "type": "ExternalIdentifier",
            "externalIdentifierType": "packageUrl",
            "identifier": purl,
        }]),
    );
}

pub(crate) fn write(inventory: &Inventory, options: &SbomOptions) -> Value {
    let view = view::build(inventory);
    let serial = options.serial();
    let mut graph = Graph {
        namespace: format!("https://rampart.invalid/spdx/{serial}"),
        elements: Vec::new(),
        ids: Vec::new(),
        next_relationship: 0,
        licenses: HashMap::new(),
    };
    let tool_id = graph.id("tool-rampart");
    let agent_id = graph.id("agent-rampart");
    let creation_info = json!({
        "type": "CreationInfo",
        "@id": CREATION_INFO,
        "specVersion": "3.0.1",
        "created": options.timestamp(),
        "createdBy": [agent_id],
        "createdUsing": [tool_id],
    });
    graph.add(json!({
        "type": "SoftwareAgent",
        "spdxId": agent_id,
        "creationInfo": CREATION_INFO,
        "name": "rampart",
    }));
    graph.add(json!({
        "type": "Tool",
        "spdxId": tool_id,
        "creationInfo": CREATION_INFO,
        "name": format!("rampart {}", options.tool_version),
    }));
    let mut ids: HashMap<String, String> = HashMap::new();
    let root_id = graph.id("root");
    let mut root = json!({
        "type": "software_Package",
        "spdxId": root_id,
        "creationInfo": CREATION_INFO,
        "name": inventory.subject.name,
        "software_primaryPurpose": "application",
    });
    if let Some(version) = &inventory.subject.version {
        set(&mut root, "software_packageVersion", json!(version));
    }
    if let Some(image) = &inventory.image {
        set(&mut root, "software_primaryPurpose", json!("container"));
        package_url(&mut root, &image.purl);
    }
    graph.add(root);
    ids.insert(view.root_reference.clone(), root_id.clone());
    for (index, component) in view.packages.iter().enumerate() {
        let main = component.main;
        let id = graph.id(&format!("package-{}-{}", index + 1, main.normalized_name));
        let mut value = json!({
            "type": "software_Package",
            "spdxId": id,
            "creationInfo": CREATION_INFO,
            "name": main.name,
            "software_primaryPurpose": "library",
        });
        if let Some(version) = component.version() {
            set(&mut value, "software_packageVersion", json!(version));
        }
        package_url(&mut value, &component.purl);
        if let Some(summary) = &main.summary {
            set(&mut value, "summary", json!(summary));
        }
        if let Some(homepage) = main.homepage.as_deref().filter(|h| h.starts_with("http")) {
            set(&mut value, "software_homePage", json!(homepage));
        }
        graph.add(value);
        graph.declared_license(&id, main.license_expression.as_deref());
        ids.insert(component.reference.clone(), id);
    }
    for (index, (reference, dataset)) in view.datasets.iter().enumerate() {
        let id = graph.id(&format!("dataset-{}", index + 1));
        let mut value = json!({
            "type": "dataset_DatasetPackage",
            "spdxId": id,
            "creationInfo": CREATION_INFO,
            "name": dataset.name,
            "software_primaryPurpose": "data",
            "dataset_datasetType": [dataset_type(&dataset.formats)],
            "description": format!("{} ({} file{})", dataset.formats.join(", "), dataset.files.len(), if dataset.files.len() == 1 { "" } else { "s" }),
        });
        if let Some(hashes) = verified_using(&dataset.files) {
            set(&mut value, "verifiedUsing", hashes);
        }
        let size: u64 = dataset.files.iter().map(|f| f.size).sum();
        if size > 0 {
            set(&mut value, "dataset_datasetSize", json!(size));
        }
        graph.add(value);
        ids.insert(reference.clone(), id);
    }
    for (index, (reference, model, links)) in view.models.iter().enumerate() {
        let id = graph.id(&format!("model-{}", index + 1));
        let card = &model.card;
        let mut value = json!({
            "type": "ai_AIPackage",
            "spdxId": id,
            "creationInfo": CREATION_INFO,
            "name": model.name,
            "software_primaryPurpose": "model",
        });
        if let Some(purl) = &model.purl {
            package_url(&mut value, purl);
        }
        let types: Vec<&String> = card
            .model_architecture
            .iter()
            .chain(&card.architecture_family)
            .collect();
        if !types.is_empty() {
            set(&mut value, "ai_typeOfModel", json!(types));
        }
        if let Some(task) = &card.task {
            set(
                &mut value,
                "ai_informationAboutApplication",
                json!(format!("task: {task}")),
            );
        }
        if let Some(limitations) = &card.limitations {
            set(&mut value, "ai_limitation", json!(limitations));
        }
        if !card.metrics.is_empty() {
            set(&mut value, "ai_metric", json!(card
                .metrics
                .iter()
                .map(|m| json!({
                    "type": "DictionaryEntry",
                    "key": match &m.slice { Some(s) => format!("{} ({s})", m.kind), None => m.kind.clone() },
                    "value": m.value,
                }))
                .collect::<Vec<_>>()));
        }
        if !card.tags.is_empty() {
            set(&mut value, "ai_domain", json!(card.tags));
        }
        if let Some(hashes) = verified_using(&model.files) {
            set(&mut value, "verifiedUsing", hashes);
        }
        graph.add(value);
        let license = card.license.as_deref().and_then(spdx_expression);
        graph.declared_license(&id, license.as_deref());
        let trained_on: Vec<String> = links
            .iter()
            .filter_map(|l| l.reference.as_ref())
            .filter_map(|r| ids.get(r).cloned())
            .collect();
        graph.relationship(&id, "trainedOn", trained_on);
        ids.insert(reference.clone(), id);
    }
    let edges: Vec<(String, Vec<String>)> =
        std::iter::once((view.root_reference.clone(), view.root_depends_on.clone()))
            .chain(
                view.packages
                    .iter()
                    .map(|c| (c.reference.clone(), c.depends_on.clone())),
            )
            .collect();
    for (from, targets) in edges {
        let Some(from_id) = ids.get(&from).cloned() else {
            continue;
        };
        let to: Vec<String> = targets.iter().filter_map(|t| ids.get(t).cloned()).collect();
        graph.relationship(&from_id, "dependsOn", to);
    }
    let sbom_id = graph.id("sbom");
    let mut elements = graph.ids.clone();
    elements.retain(|id| *id != sbom_id);
    graph.add(json!({
        "type": "software_Sbom",
        "spdxId": sbom_id,
        "creationInfo": CREATION_INFO,
        "rootElement": [root_id],
        "element": elements,
        "software_sbomType": ["analyzed"],
    }));
    let document_id = graph.id("document");
    graph.add(json!({
        "type": "SpdxDocument",
        "spdxId": document_id,
        "creationInfo": CREATION_INFO,
        "name": inventory.subject.name,
        "profileConformance": ["core", "software", "simpleLicensing", "ai", "dataset"],
        "rootElement": [sbom_id],
    }));
    let mut all = vec![creation_info];
    all.append(&mut graph.elements);
    json!({
        "@context": CONTEXT,
        "@graph": all,
    })
}

/// SPDX's dataset types for the file formats found.
fn dataset_type(formats: &[String]) -> &'static str {
    let structured = formats.iter().any(|f| {
        matches!(
            f.as_str(),
            "csv" | "tsv" | "psv" | "parquet" | "arrow" | "feather" | "avro" | "orc"
        )
    });
    if structured {
        "structured"
    } else if formats.iter().any(|f| matches!(f.as_str(), "npy" | "npz")) {
        "numeric"
    } else if formats.iter().any(|f| f == "jsonl") {
        "text"
    } else {
        "other"
    }
}
