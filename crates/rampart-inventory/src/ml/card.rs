//! What a Hugging Face-style model directory says about itself: `config.json`
//! (architecture, model type, custom code) and the model card's YAML front matter and
//! limitations section (`README.md`).

use rampart_core::Location;
use serde_json::Value;

use super::task_of_architecture;
use crate::inventory::{Metric, ModelCard};
use crate::problem::{Problem, ProblemKind};
use crate::text::excerpt;
use crate::yaml::{self, Node};

/// Longest limitations text kept in the SBOM.
const MAX_LIMITATIONS: usize = 4000;
/// Longest single value copied from a card or config.
const MAX_VALUE: usize = 200;

/// True when a parsed `config.json` is a model configuration (transformers, diffusers,
/// sentence-transformers), not some application's settings.
pub(crate) fn is_model_config(config: &Value) -> bool {
    [
        "architectures",
        "model_type",
        "_name_or_path",
        "transformers_version",
        "_class_name",
    ]
    .iter()
    .any(|key| config.get(key).is_some())
}

/// Reads the architecture and task from `config.json` into the card, and the fields worth
/// recording into `properties`. `auto_map` is recorded because loading such a model with
/// `trust_remote_code=True` runs the Python files it names.
pub(crate) fn apply_config(
    config: &Value,
    card: &mut ModelCard,
    properties: &mut Vec<(String, String)>,
) {
    let text = |key: &str| {
        config
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(|s| excerpt(s, MAX_VALUE))
    };
    let architecture = config
        .get("architectures")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(Value::as_str)
        .map(|s| excerpt(s, MAX_VALUE))
        .or_else(|| text("_class_name"));
    if card.model_architecture.is_none() {
        card.model_architecture.clone_from(&architecture);
    }
    if card.architecture_family.is_none() {
        card.architecture_family = text("model_type");
    }
    if card.task.is_none() {
        card.task = architecture
            .as_deref()
            .and_then(task_of_architecture)
            .map(str::to_owned);
    }
    for (key, property) in [
        ("_name_or_path", "rampart:hf.name_or_path"),
        ("transformers_version", "rampart:hf.transformers_version"),
        ("torch_dtype", "rampart:hf.torch_dtype"),
        ("_diffusers_version", "rampart:hf.diffusers_version"),
    ] {
        if let Some(value) = text(key) {
            properties.push((property.to_owned(), value));
        }
    }
    if let Some(auto_map) = config.get("auto_map").and_then(Value::as_object) {
        let mut classes: Vec<String> = auto_map
            .values()
            .flat_map(|v| match v {
                Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
                other => other.as_str().into_iter().collect::<Vec<_>>(),
            })
            .map(|s| excerpt(s, MAX_VALUE))
            .collect();
        classes.sort();
        classes.dedup();
        properties.push(("rampart:hf.auto_map".to_owned(), classes.join(", ")));
    }
}

/// Reads a model card: YAML front matter (`license`, `datasets`, `base_model`,
/// `pipeline_tag`, `tags`, `language`, `library_name`, `model-index`) and the body's
/// limitations sections. A front matter that does not parse is a problem; the body is still
/// read.
pub(crate) fn apply_model_card(
    text: &str,
    location: &Location,
    max_nodes: u64,
    card: &mut ModelCard,
    problems: &mut Vec<Problem>,
) {
    let (front_matter, body) = split_front_matter(text);
    if let Some((yaml_text, first_line)) = front_matter {
        match yaml::parse(yaml_text, max_nodes) {
            Ok(document) => apply_front_matter(&document, card),
            Err(error) => problems.push(Problem::new(
                ProblemKind::Malformed,
                location.at_line(
                    error.line.saturating_add(first_line).saturating_sub(1),
                    None,
                ),
                format!(
                    "model card front matter could not be parsed: {}",
                    error.message
                ),
            )),
        }
    }
    card.limitations = limitations(body);
}

/// `---\n<yaml>\n---\n<body>` → (yaml and the line it starts on, body).
fn split_front_matter(text: &str) -> (Option<(&str, u32)>, &str) {
    let Some(rest) = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))
    else {
        return (None, text);
    };
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if matches!(line.trim_end(), "---" | "...") {
            let yaml_text = rest.get(..offset).unwrap_or_default();
            let body = rest.get(offset + line.len()..).unwrap_or_default();
            return (Some((yaml_text, 2)), body);
        }
        offset += line.len();
    }
    // No closing line: not front matter, but a document that starts with a rule.
    (None, text)
}

fn apply_front_matter(document: &Node, card: &mut ModelCard) {
    let text = |key: &str| {
        document
            .get(key)
            .and_then(Node::as_str)
            .map(|s| excerpt(s, MAX_VALUE))
    };
    let list = |key: &str| {
        document
            .get(key)
            .map(Node::strings)
            .unwrap_or_default()
            .iter()
            .map(|s| excerpt(s, MAX_VALUE))
            .collect::<Vec<_>>()
    };
    card.license = text("license").or_else(|| text("license_name"));
    card.datasets = list("datasets");
    card.base_models = list("base_model");
    card.tags = list("tags");
    card.languages = list("language");
    card.library = text("library_name");
    if let Some(task) = text("pipeline_tag") {
        card.task = Some(task);
    }
    for model in document
        .get("model-index")
        .map(Node::as_sequence)
        .unwrap_or_default()
    {
        for result in model
            .get("results")
            .map(Node::as_sequence)
            .unwrap_or_default()
        {
            let dataset = result.get("dataset");
            let slice = dataset
                .and_then(|d| d.get("name").or_else(|| d.get("type")))
                .and_then(Node::as_str)
                .map(
                    |name| match dataset.and_then(|d| d.get("split")).and_then(Node::as_str) {
                        Some(split) => format!("{name} ({split})"),
                        None => name.to_owned(),
                    },
                );
            for metric in result
                .get("metrics")
                .map(Node::as_sequence)
                .unwrap_or_default()
            {
                let kind = metric
                    .get("type")
                    .or_else(|| metric.get("name"))
                    .and_then(Node::as_str);
                let value = metric.get("value").and_then(Node::as_str);
                if let (Some(kind), Some(value)) = (kind, value) {
                    card.metrics.push(Metric {
                        kind: excerpt(kind, MAX_VALUE),
                        value: excerpt(value, MAX_VALUE),
                        slice: slice.as_deref().map(|s| excerpt(s, MAX_VALUE)),
                    });
                }
            }
        }
    }
}

/// The text of the card's sections about limitations, bias, risks or out-of-scope use, as
/// the Hub's card template names them; template placeholders are dropped.
fn limitations(body: &str) -> Option<String> {
    let mut sections: Vec<String> = Vec::new();
    let mut current: Option<(usize, String)> = None;
    let mut in_code = false;
    for line in body.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
        }
        let heading_level = (!in_code)
            .then(|| line.bytes().take_while(|&b| b == b'#').count())
            .filter(|&level| (1..=6).contains(&level) && line.as_bytes().get(level) == Some(&b' '));
        if let Some(level) = heading_level {
            if let Some((open_level, text)) = &current
                && level <= *open_level
            {
                sections.push(text.clone());
                current = None;
            }
            let title = line.get(level..).unwrap_or_default().to_ascii_lowercase();
            if current.is_none()
                && ["limitation", "bias", "risk", "out-of-scope", "out of scope"]
                    .iter()
                    .any(|word| title.contains(word))
            {
                current = Some((level, String::new()));
            } else if let Some((open_level, text)) = &mut current
                && level > *open_level
            {
                text.push_str(line);
                text.push('\n');
            }
            continue;
        }
        if let Some((_, text)) = &mut current {
            text.push_str(line);
            text.push('\n');
        }
    }
    sections.extend(current.map(|(_, text)| text));
    let joined: Vec<String> = sections
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty() && !s.contains("[More Information Needed]"))
        .map(str::to_owned)
        .collect();
    if joined.is_empty() {
        return None;
    }
    let text = joined.join("\n\n");
    Some(match text.char_indices().nth(MAX_LIMITATIONS) {
        Some((cut, _)) => format!("{}…", text.get(..cut).unwrap_or_default()),
        None => text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CARD: &str = "---\nlicense: apache-2.0\ndatasets:\n- squad\n- glue\nbase_model: org/base\n\
pipeline_tag: question-answering\ntags: [bert, qa]\nlanguage: en\nlibrary_name: transformers\n\
model-index:\n- name: m\n  results:\n  - task: {type: question-answering}\n    dataset: {name: SQuAD, type: squad, split: validation}\n    metrics:\n    - type: f1\n      value: 88.5\n---\n\
# Model\n\nText.\n\n## Bias, Risks, and Limitations\n\nMay hallucinate.\n\n### Recommendations\n\nBe careful.\n\n## Training\n\n```\n# not a heading\n```\n\
## Out-of-Scope Use\n\n[More Information Needed]\n";

    #[test]
    fn front_matter_and_limitations() {
        let mut card = ModelCard::default();
        let mut problems = Vec::new();
        apply_model_card(
            CARD,
            &Location::file("README.md"),
            1000,
            &mut card,
            &mut problems,
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(card.license.as_deref(), Some("apache-2.0"));
        assert_eq!(card.datasets, ["squad", "glue"]);
        assert_eq!(card.base_models, ["org/base"]);
        assert_eq!(card.task.as_deref(), Some("question-answering"));
        assert_eq!(card.languages, ["en"]);
        assert_eq!(card.metrics.len(), 1);
        assert_eq!(card.metrics[0].slice.as_deref(), Some("SQuAD (validation)"));
        assert_eq!(
            card.limitations.as_deref(),
            Some("May hallucinate.\n\n### Recommendations\n\nBe careful.")
        );
    }

    #[test]
    fn broken_front_matter_is_a_problem_at_its_line() {
        let mut card = ModelCard::default();
        let mut problems = Vec::new();
        apply_model_card(
            "---\nlicense: mit\ntags: [a, b\n---\nbody\n",
            &Location::file("README.md"),
            100,
            &mut card,
            &mut problems,
        );
        assert_eq!(problems.len(), 1);
        assert!(problems[0].location.line.is_some());
        let mut plain = ModelCard::default();
        apply_model_card(
            "# Title\n---\n",
            &Location::file("README.md"),
            100,
            &mut plain,
            &mut problems,
        );
        assert_eq!(plain.license, None);
    }

    #[test]
    fn config_fields_and_custom_code() {
        let config: Value = serde_json::json!({
            "architectures": ["LlamaForCausalLM"],
            "model_type": "llama",
            "transformers_version": "4.40.0",
            "auto_map": {"AutoModel": "modeling_x.XModel", "AutoConfig": ["configuration_x.XConfig", null]}
        });
        assert!(is_model_config(&config));
        assert!(!is_model_config(&serde_json::json!({"port": 8080})));
        let mut card = ModelCard::default();
        let mut properties = Vec::new();
        apply_config(&config, &mut card, &mut properties);
        assert_eq!(card.task.as_deref(), Some("text-generation"));
        assert_eq!(card.architecture_family.as_deref(), Some("llama"));
        assert!(properties.contains(&(
            "rampart:hf.auto_map".to_owned(),
            "configuration_x.XConfig, modeling_x.XModel".to_owned()
        )));
    }
}
