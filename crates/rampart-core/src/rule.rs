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
