use serde::Serialize;
use serde::ser::SerializeStruct;

use crate::Severity;

/// A detection with a stable identity. Every finding points at one rule; `rampart rules`
/// lists them all. Ids are `<domain>/<slug>` and are never reused for a new meaning.
#[derive(Debug)]
pub struct Rule {
    pub id: &'static str,
    /// Which `--scanners` group the rule belongs to: `model`, `config`, `secret`, ….
    pub scanner: &'static str,
    /// The default severity; a finding may raise or lower it (e.g. a denylisted call is
    /// critical where an unknown one is high) and the policy file may override it.
    pub severity: Severity,
    pub title: &'static str,
    /// What the rule detects and why it matters, for `rampart rules` and SARIF help.
    pub description: &'static str,
    pub remediation: &'static str,
    pub references: &'static [Reference],
}

impl PartialEq for Rule {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for Rule {}

/// A pointer to an external taxonomy entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reference {
    /// `Cwe(502)` is CWE-502.
    Cwe(u32),
    /// A MITRE ATLAS technique id such as `AML.T0010`.
    Atlas(&'static str),
    /// An OWASP Top 10 (ML or LLM) id such as `ML06:2023` or `LLM03:2025`.
    Owasp(&'static str),
    /// A CVE or GHSA id.
    Advisory(&'static str),
    Url(&'static str),
}

impl Reference {
    pub fn kind(&self) -> &'static str {
        match self {
            Reference::Cwe(_) => "cwe",
            Reference::Atlas(_) => "atlas",
            Reference::Owasp(_) => "owasp",
            Reference::Advisory(_) => "advisory",
            Reference::Url(_) => "url",
        }
    }

    pub fn id(&self) -> String {
        match self {
            Reference::Cwe(n) => format!("CWE-{n}"),
            Reference::Atlas(id) | Reference::Owasp(id) | Reference::Advisory(id) => {
                (*id).to_owned()
            }
            Reference::Url(url) => (*url).to_owned(),
        }
    }

    pub fn url(&self) -> String {
        match self {
            Reference::Cwe(n) => format!("https://cwe.mitre.org/data/definitions/{n}.html"),
            Reference::Atlas(id) => {
                // Sub-techniques (AML.T0010.001) live under their parent's page.
                format!("https://atlas.mitre.org/techniques/{id}")
            }
            Reference::Owasp(id) if id.starts_with("LLM") => {
                "https://genai.owasp.org/llm-top-10/".to_owned()
            }
            Reference::Owasp(_) => {
                "https://owasp.org/www-project-machine-learning-security-top-10/".to_owned()
            }
            Reference::Advisory(id) if id.starts_with("GHSA-") => {
                format!("https://github.com/advisories/{id}")
            }
            Reference::Advisory(id) => format!("https://www.cve.org/CVERecord?id={id}"),
            Reference::Url(url) => (*url).to_owned(),
        }
    }
}

impl Serialize for Reference {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Reference", 3)?;
        s.serialize_field("type", self.kind())?;
        s.serialize_field("id", &self.id())?;
        s.serialize_field("url", &self.url())?;
        s.end()
    }
}

impl Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Rule", 7)?;
        s.serialize_field("id", self.id)?;
        s.serialize_field("scanner", self.scanner)?;
        s.serialize_field("severity", &self.severity)?;
        s.serialize_field("title", self.title)?;
        s.serialize_field("description", self.description)?;
        s.serialize_field("remediation", self.remediation)?;
        s.serialize_field("references", self.references)?;
        s.end()
    }
}

/// What is wrong with a crate's rule table, for its tests: duplicate ids, ids that are not
/// lower-case `<domain>/<slug>`, a rule of another scanner, missing documentation, or no CWE.
/// Empty when the table is sound.
pub fn rule_table_problems(rules: &[&Rule], scanner: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut ids: Vec<&str> = rules.iter().map(|rule| rule.id).collect();
    ids.sort_unstable();
    for pair in ids.windows(2) {
        if let [a, b] = pair
            && a == b
        {
            problems.push(format!("{a}: duplicate id"));
        }
    }
    let well_formed = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    for rule in rules {
        let id = rule.id;
        match id.split_once('/') {
            Some((domain, slug)) if well_formed(domain) && well_formed(slug) => {}
            _ => problems.push(format!("{id}: not a lower-case `<domain>/<slug>` id")),
        }
        if rule.scanner != scanner {
            problems.push(format!(
                "{id}: scanner `{}`, expected `{scanner}`",
                rule.scanner
            ));
        }
        if rule.title.is_empty() || rule.description.len() < 40 || rule.remediation.len() < 20 {
            problems.push(format!(
                "{id}: title, description or remediation missing or too short"
            ));
        }
        if !rule
            .references
            .iter()
            .any(|reference| matches!(reference, Reference::Cwe(_)))
        {
            problems.push(format!("{id}: no CWE reference"));
        }
    }
    problems
}
