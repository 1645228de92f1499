//! `rampart coverage`: which MITRE ATLAS techniques and OWASP ML/LLM Top 10 entries in
//! rampart's scope the rules detect, and which they do not.

use std::fmt::Write;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use rampart_core::render::{Escaped, html_page};
use rampart_core::{Reference, Rule};
use serde::Serialize;

/// The ATLAS release the catalog was taken from, and its release date.
const ATLAS_VERSION: &str = "5.6.0";
const ATLAS_RELEASED: &str = "2026-04-30";
const CATALOG: &str = include_str!("coverage_catalog.tsv");

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CoverageFormat {
    Table,
    Json,
    /// A self-contained HTML page.
    Html,
}

#[derive(Args, Debug)]
pub struct CoverageArgs {
    #[arg(long, short = 'f', value_enum, default_value_t = CoverageFormat::Table)]
    pub format: CoverageFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Framework {
    Atlas,
    Owasp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    /// At least one rule references the entry itself.
    Covered,
    /// No rule references the technique, but some reference its sub-techniques.
    Partial,
    Uncovered,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Covered => "covered",
            Status::Partial => "partial",
            Status::Uncovered => "uncovered",
        }
    }
}

#[derive(Debug, Serialize)]
struct Entry {
    framework: Framework,
    id: &'static str,
    name: &'static str,
    /// ATLAS tactics, or which OWASP list.
    group: &'static str,
    /// False for ids rules reference that the catalog does not list.
    in_catalog: bool,
    status: Status,
    rules: Vec<&'static str>,
}

impl Entry {
    fn reference(&self) -> Reference {
        match self.framework {
            Framework::Atlas => Reference::Atlas(self.id),
            Framework::Owasp => Reference::Owasp(self.id),
        }
    }
}

#[derive(Debug, Default, Serialize)]
struct Counts {
    covered: usize,
    partial: usize,
    uncovered: usize,
}

#[derive(Debug, Serialize)]
struct Coverage {
    atlas_version: &'static str,
    atlas_released: &'static str,
    rules: usize,
    atlas: Counts,
    owasp: Counts,
    entries: Vec<Entry>,
}

fn parse_catalog() -> anyhow::Result<Vec<(Framework, &'static str, &'static str, &'static str)>> {
    let mut entries = Vec::new();
    for (number, line) in CATALOG.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&'static str> = line.split('\t').collect();
        let &[framework, id, name, group] = fields.as_slice() else {
            bail!(
                "coverage catalog line {}: expected 4 tab-separated fields",
                number + 1
            );
        };
        let framework = match framework {
            "atlas" => Framework::Atlas,
            "owasp" => Framework::Owasp,
            other => bail!(
                "coverage catalog line {}: unknown framework `{other}`",
                number + 1
            ),
        };
        entries.push((framework, id, name, group));
    }
    Ok(entries)
}

fn referenced_ids(rule: &Rule) -> impl Iterator<Item = (Framework, &'static str)> + '_ {
    rule.references
        .iter()
        .filter_map(|reference| match reference {
            Reference::Atlas(id) => Some((Framework::Atlas, *id)),
            Reference::Owasp(id) => Some((Framework::Owasp, *id)),
            _ => None,
        })
}

fn coverage(rules: &[&'static Rule]) -> anyhow::Result<Coverage> {
    let rules_citing = |framework: Framework, id: &str| -> Vec<&'static str> {
        rules
            .iter()
            .filter(|rule| referenced_ids(rule).any(|cited| cited == (framework, id)))
            .map(|rule| rule.id)
            .collect()
    };
    let mut entries: Vec<Entry> = parse_catalog()?
        .into_iter()
        .map(|(framework, id, name, group)| {
            let cited = rules_citing(framework, id);
            let sub_technique_prefix = format!("{id}.");
            let status = if !cited.is_empty() {
                Status::Covered
            } else if rules.iter().flat_map(|rule| referenced_ids(rule)).any(
                |(cited_framework, cited_id)| {
                    cited_framework == framework && cited_id.starts_with(&sub_technique_prefix)
                },
            ) {
                Status::Partial
            } else {
                Status::Uncovered
            };
            Entry {
                framework,
                id,
                name,
                group,
                in_catalog: true,
                status,
                rules: cited,
            }
        })
        .collect();
    // A rule may cite an id the catalog does not list (new, or outside the scope we chose):
    // it still counts as covered, flagged so the catalog can be extended.
    for rule in rules {
        for (framework, id) in referenced_ids(rule) {
            if !entries
                .iter()
                .any(|e| e.framework == framework && e.id == id)
            {
                entries.push(Entry {
                    framework,
                    id,
                    name: "",
                    group: "",
                    in_catalog: false,
                    status: Status::Covered,
                    rules: rules_citing(framework, id),
                });
            }
        }
    }
    let count = |framework: Framework| {
        let mut counts = Counts::default();
        for entry in entries.iter().filter(|e| e.framework == framework) {
            match entry.status {
                Status::Covered => counts.covered += 1,
                Status::Partial => counts.partial += 1,
                Status::Uncovered => counts.uncovered += 1,
            }
        }
        counts
    };
    Ok(Coverage {
        atlas_version: ATLAS_VERSION,
        atlas_released: ATLAS_RELEASED,
        rules: rules.len(),
        atlas: count(Framework::Atlas),
        owasp: count(Framework::Owasp),
        entries,
    })
}

fn headline(coverage: &Coverage) -> [String; 2] {
    let line = |title: &str, counts: &Counts| {
        format!(
            "{title}: {} covered, {} partly (sub-techniques only), {} uncovered",
            counts.covered, counts.partial, counts.uncovered
        )
    };
    [
        line(
            &format!(
                "MITRE ATLAS {} ({})",
                coverage.atlas_version, coverage.atlas_released
            ),
            &coverage.atlas,
        ),
        line("OWASP ML/LLM Top 10", &coverage.owasp),
    ]
}

/// At most this many rule ids per entry in the table; JSON and HTML list them all.
const TABLE_RULES: usize = 6;

fn render_table(coverage: &Coverage) -> String {
    let mut out = String::new();
    let id_width = coverage
        .entries
        .iter()
        .map(|e| e.id.len())
        .max()
        .unwrap_or(0);
    for framework in [Framework::Atlas, Framework::Owasp] {
        for entry in coverage.entries.iter().filter(|e| e.framework == framework) {
            let name = if entry.in_catalog {
                entry.name
            } else {
                "(not in rampart's catalog)"
            };
            let _ = write!(
                out,
                "{:<9}  {:<id_width$}  {name}",
                entry.status.as_str(),
                entry.id
            );
            if !entry.rules.is_empty() {
                let shown: Vec<&str> = entry.rules.iter().take(TABLE_RULES).copied().collect();
                let _ = write!(out, "  [{}", shown.join(", "));
                if entry.rules.len() > TABLE_RULES {
                    let _ = write!(out, ", +{} more", entry.rules.len() - TABLE_RULES);
                }
                out.push(']');
            }
            out.push('\n');
        }
        out.push('\n');
    }
    for line in headline(coverage) {
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out, "{} rules", coverage.rules);
    out
}

fn render_html(coverage: &Coverage) -> String {
    let mut body = String::from("<h1>rampart threat-model coverage</h1>\n");
    for line in headline(coverage) {
        let _ = writeln!(body, "<p class=\"meta\">{}</p>", Escaped(&line));
    }
    let _ = writeln!(body, "<p class=\"meta\">{} rules.</p>", coverage.rules);
    for (framework, title) in [
        (Framework::Atlas, "MITRE ATLAS"),
        (Framework::Owasp, "OWASP ML and LLM Top 10"),
    ] {
        let _ = writeln!(
            body,
            "<h2>{title}</h2>\n<table>\n<thead><tr><th>Status</th><th>Id</th><th>Name</th>\
             <th>Tactics / list</th><th>Rules</th></tr></thead>\n<tbody>"
        );
        for entry in coverage.entries.iter().filter(|e| e.framework == framework) {
            let status = entry.status.as_str();
            let row_class = if entry.status == Status::Uncovered {
                "fail"
            } else {
                "pass"
            };
            let _ = writeln!(
                body,
                "<tr class=\"{row_class}\"><td>{status}</td><td><a href=\"{}\" rel=\"noreferrer noopener\" \
                 target=\"_blank\">{}</a></td><td>{}</td><td>{}</td><td class=\"path\">{}</td></tr>",
                Escaped(&entry.reference().url()),
                Escaped(entry.id),
                Escaped(entry.name),
                Escaped(entry.group),
                Escaped(&entry.rules.join(", ")),
            );
        }
        body.push_str("</tbody>\n</table>\n");
    }
    html_page("rampart coverage", &body)
}

/// `rampart coverage`: prints the coverage of the catalog by every rule.
pub fn run(args: CoverageArgs) -> anyhow::Result<u8> {
    let coverage = coverage(&crate::rules_cmd::all_rules())?;
    let text = match args.format {
        CoverageFormat::Table => render_table(&coverage),
        CoverageFormat::Json => {
            let mut text = serde_json::to_string_pretty(&coverage)
                .context("cannot serialise the coverage report")?;
            text.push('\n');
            text
        }
        CoverageFormat::Html => render_html(&coverage),
    };
    crate::output::print_stdout(&text)?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use rampart_core::Severity;

    use super::*;

    static MODEL_RULE: Rule = Rule {
        id: "test/model",
        scanner: "model",
        severity: Severity::High,
        title: "t",
        description: "d",
        remediation: "r",
        references: &[
            Reference::Atlas("AML.T0010.003"),
            Reference::Atlas("AML.T0099"),
            Reference::Owasp("ML06:2023"),
            Reference::Cwe(502),
        ],
    };

    fn entry<'a>(coverage: &'a Coverage, id: &str) -> &'a Entry {
        coverage.entries.iter().find(|e| e.id == id).unwrap()
    }

    #[test]
    fn catalog_parses_with_unique_well_formed_ids() {
        let catalog = parse_catalog().unwrap();
        assert!(catalog.len() > 20);
        for (framework, id, name, group) in &catalog {
            assert!(!name.is_empty() && !group.is_empty(), "{id}");
            let well_formed = match framework {
                Framework::Atlas => id.strip_prefix("AML.T").is_some_and(|n| {
                    n.split('.')
                        .all(|part| part.chars().all(|c| c.is_ascii_digit()))
                }),
                Framework::Owasp => id.starts_with("ML") || id.starts_with("LLM"),
            };
            assert!(well_formed, "{id}");
            assert_eq!(catalog.iter().filter(|e| e.1 == *id).count(), 1, "{id}");
        }
        assert!(CATALOG.contains(&format!(
            "ATLAS {ATLAS_VERSION} (released {ATLAS_RELEASED})"
        )));
    }

    #[test]
    fn sub_technique_citations_make_the_parent_partial() {
        let coverage = coverage(&[&MODEL_RULE]).unwrap();
        assert_eq!(entry(&coverage, "AML.T0010.003").status, Status::Covered);
        assert_eq!(entry(&coverage, "AML.T0010.003").rules, ["test/model"]);
        assert_eq!(entry(&coverage, "AML.T0010").status, Status::Partial);
        assert_eq!(entry(&coverage, "AML.T0020").status, Status::Uncovered);
        assert_eq!(entry(&coverage, "ML06:2023").status, Status::Covered);
        let unknown = entry(&coverage, "AML.T0099");
        assert!(!unknown.in_catalog && unknown.status == Status::Covered);
        assert_eq!(coverage.owasp.covered, 1);
    }

    #[test]
    fn every_atlas_and_owasp_id_the_rules_cite_is_in_the_catalog() {
        // Keeps rules honest: an id missing here is either a typo or a technique to add
        // (with its name, from the ATLAS release) to coverage_catalog.tsv.
        let coverage = coverage(&crate::rules_cmd::all_rules()).unwrap();
        let unknown: Vec<&str> = coverage
            .entries
            .iter()
            .filter(|e| !e.in_catalog)
            .map(|e| e.id)
            .collect();
        assert!(unknown.is_empty(), "not in the catalog: {unknown:?}");
        assert!(coverage.atlas.covered > 5);
        assert!(coverage.atlas.uncovered > 0, "the catalog lists gaps too");
    }

    #[test]
    fn table_and_html_show_every_entry() {
        let coverage = coverage(&[&MODEL_RULE]).unwrap();
        let table = render_table(&coverage);
        assert!(table.contains("covered    AML.T0010.003"));
        assert!(table.contains("uncovered  AML.T0020"));
        assert!(table.contains("MITRE ATLAS 5.6.0 (2026-04-30): 2 covered, 1 partly"));
        let html = render_html(&coverage);
        assert!(html.contains("href=\"https://atlas.mitre.org/techniques/AML.T0020\""));
        assert!(!html.contains("<script"));
    }
}
