use std::fmt::Write;

use rampart_core::Rule;

use crate::cli::{RulesArgs, RulesFormat};

/// Every rule any rampart command can report: what `rampart rules` lists and what
/// rampart.toml may name.
pub fn all_rules() -> Vec<&'static Rule> {
    let mut rules = rampart_scan::rules();
    rules.extend_from_slice(rampart_integrity::rules::RULES);
    rules.extend_from_slice(rampart_advisories::RULES);
    rules.extend_from_slice(rampart_inventory::rules::RULES);
    rules.extend_from_slice(rampart_redteam::RULES);
    rules.extend_from_slice(rampart_data::RULES);
    rules
}

/// `rampart rules`: every rule with its documentation.
pub fn run(args: RulesArgs) -> anyhow::Result<u8> {
    let rules = all_rules();
    let text = match args.format {
        RulesFormat::Json => {
            let mut text = serde_json::to_string_pretty(&rules)?;
            text.push('\n');
            text
        }
        RulesFormat::Table => {
            let mut out = String::new();
            for rule in &rules {
                let refs: Vec<String> = rule.references.iter().map(|r| r.id()).collect();
                let _ = writeln!(
                    out,
                    "{}  [{}]  scanner: {}",
                    rule.id, rule.severity, rule.scanner
                );
                let _ = writeln!(out, "    {}", rule.title);
                let _ = writeln!(out, "    {}", rule.description);
                let _ = writeln!(out, "    Fix: {}", rule.remediation);
                if !refs.is_empty() {
                    let _ = writeln!(out, "    References: {}", refs.join(", "));
                }
                out.push('\n');
            }
            let _ = writeln!(out, "{} rules", rules.len());
            out
        }
    };
    print!("{text}");
    Ok(0)
}
