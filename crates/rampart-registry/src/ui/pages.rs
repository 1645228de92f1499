//! The bodies of the UI's pages, built from registry records with [`html`]'s escaping helpers.

use std::fmt::Write as _;

use serde_json::Value;

use super::html::{Escaped, badge, button, form, link, segment, table};
use crate::registry::Stages;
use crate::types::{
    GateResult, ModelSummary, Namespace, NamespacePolicy, Principal, Role, VersionRecord,
};

pub fn login(error: Option<&str>) -> String {
    let mut out = String::from("<h1>Sign in</h1>\n");
    if let Some(error) = error {
        let _ = writeln!(
            out,
            "<p class=\"error\" id=\"error\">{}</p>",
            Escaped(error)
        );
    }
    out.push_str(
        "<p>Paste a registry token (<code>rmp_…</code>). It is kept in an HttpOnly cookie for this \
         site only, until you sign out or close the browser.</p>\n\
         <form method=\"post\" action=\"/ui/login\"><input type=\"password\" name=\"token\" id=\"token\" \
         autocomplete=\"off\" size=\"60\" required> <button type=\"submit\" id=\"sign-in\">Sign in</button></form>\n",
    );
    out
}

fn namespace_url(namespace: &str) -> String {
    format!("/ui/{}/", segment(namespace))
}

fn model_url(namespace: &str, model: &str) -> String {
    format!("/ui/{}/{}", segment(namespace), segment(model))
}

fn version_url(record: &VersionRecord) -> String {
    super::version_url(&record.namespace, &record.model, &record.version)
}

pub fn namespaces(namespaces: &[Namespace]) -> String {
    let rows: Vec<Vec<String>> = namespaces
        .iter()
        .map(|namespace| {
            vec![
                link(&namespace_url(&namespace.name), &namespace.name),
                namespace.policy.trusted_keys.len().to_string(),
                Escaped(&stage_policies(&namespace.policy)).to_string(),
                format!(
                    "{} by {}",
                    Escaped(&namespace.updated_at),
                    Escaped(&namespace.updated_by)
                ),
            ]
        })
        .collect();
    format!(
        "<h1>Namespaces</h1>\n{}",
        table(&["namespace", "trusted keys", "stages", "updated"], &rows)
    )
}

fn stage_policies(policy: &NamespacePolicy) -> String {
    let described: Vec<String> = policy
        .stages
        .iter()
        .map(|(stage, requires)| {
            let mut needs = vec![format!("{} approval(s)", requires.approvals)];
            if requires.require_signature {
                needs.push("signature".to_owned());
            }
            if requires.require_provenance {
                needs.push("provenance".to_owned());
            }
            format!("{stage}: {}", needs.join(", "))
        })
        .collect();
    if described.is_empty() {
        "every stage: 1 approval".to_owned()
    } else {
        described.join("; ")
    }
}

pub fn models(namespace: &Namespace, models: &[ModelSummary]) -> String {
    let rows: Vec<Vec<String>> = models
        .iter()
        .map(|model| {
            let stages: Vec<String> = model
                .stages
                .iter()
                .map(|(stage, version)| format!("{}: {}", Escaped(stage), Escaped(version)))
                .collect();
            vec![
                link(&model_url(&model.namespace, &model.model), &model.model),
                model.versions.to_string(),
                stages.join(", "),
            ]
        })
        .collect();
    format!(
        "<h1>{}</h1>\n<p class=\"muted\">Stage policy: {}</p>\n{}",
        Escaped(&namespace.name),
        Escaped(&stage_policies(&namespace.policy)),
        table(&["model", "versions", "stages"], &rows)
    )
}

/// Whether forms for approving and moving stages are shown (the server decides anyway).
fn may_approve(principal: &Principal, namespace: &str) -> bool {
    principal.role == Role::Approver && principal.covers(namespace)
}

pub fn versions(
    principal: &Principal,
    csrf: &str,
    versions: &[VersionRecord],
    stages: &Stages,
) -> String {
    let Some(first) = versions.first() else {
        return "<p class=\"muted\">No versions.</p>\n".to_owned();
    };
    let (namespace, model) = (&first.namespace, &first.model);
    let mut out = format!(
        "<h1>{} / {}</h1>\n",
        link(&namespace_url(namespace), namespace),
        Escaped(model)
    );
    let rows: Vec<Vec<String>> = versions
        .iter()
        .rev()
        .map(|record| {
            let current: Vec<String> = stages
                .current
                .iter()
                .filter(|(_, version)| **version == record.version)
                .map(|(stage, _)| badge("stage", stage))
                .collect();
            vec![
                link(&version_url(record), &record.version),
                badge("state", record.state.name()),
                current.join(" "),
                Escaped(&record.publisher).to_string(),
                Escaped(&record.created_at).to_string(),
                Escaped(record.reason.as_deref().unwrap_or_default()).to_string(),
            ]
        })
        .collect();
    out.push_str("<h2>Versions</h2>\n");
    out.push_str(&table(
        &[
            "version",
            "state",
            "stages",
            "publisher",
            "created",
            "reason",
        ],
        &rows,
    ));
    out.push_str("<h2>Stages</h2>\n");
    let current: Vec<Vec<String>> = stages
        .current
        .iter()
        .map(|(stage, version)| {
            let mut actions = String::new();
            if may_approve(principal, namespace) {
                actions = form(
                    &model_url(namespace, model),
                    csrf,
                    &format!(
                        "<input type=\"hidden\" name=\"stage\" value=\"{}\">",
                        Escaped(stage)
                    ),
                    &button("Roll back", &format!("rollback-{stage}")),
                );
            }
            vec![
                Escaped(stage).to_string(),
                Escaped(version).to_string(),
                actions,
            ]
        })
        .collect();
    out.push_str(&table(&["stage", "version", ""], &current));
    out.push_str("<h2>Stage history</h2>\n");
    out.push_str(&stage_history(&stages.history, true));
    out
}

fn stage_history(history: &[crate::types::StageEvent], with_version: bool) -> String {
    let rows: Vec<Vec<String>> = history
        .iter()
        .rev()
        .map(|event| {
            let mut row = vec![
                Escaped(&event.time).to_string(),
                Escaped(&event.stage).to_string(),
            ];
            if with_version {
                row.push(Escaped(&event.version).to_string());
            }
            row.extend([
                Escaped(&event.action).to_string(),
                Escaped(&event.actor).to_string(),
                Escaped(event.reason.as_deref().unwrap_or_default()).to_string(),
            ]);
            row
        })
        .collect();
    if with_version {
        table(
            &["time", "stage", "version", "action", "by", "reason"],
            &rows,
        )
    } else {
        table(&["time", "stage", "action", "by", "reason"], &rows)
    }
}

fn gate_row(name: &str, gate: &GateResult) -> Vec<String> {
    let status = serde_json::to_value(gate.status)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default();
    vec![
        Escaped(name).to_string(),
        badge("gate", &status),
        Escaped(&gate.detail).to_string(),
    ]
}

fn text_of<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// The findings of a stored `rampart scan` JSON report.
fn findings(report: &Value) -> String {
    let rows: Vec<Vec<String>> = report
        .get("findings")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|finding| {
            let location = finding
                .get("location")
                .map(|location| text_of(location, "display"))
                .unwrap_or_default();
            vec![
                format!(
                    "<span class=\"mono\">{}</span>",
                    Escaped(text_of(finding, "rule_id"))
                ),
                badge("sev", text_of(finding, "severity")),
                Escaped(text_of(finding, "message")).to_string(),
                format!("<span class=\"mono\">{}</span>", Escaped(location)),
            ]
        })
        .collect();
    table(&["rule", "severity", "message", "location"], &rows)
}

pub fn version(
    principal: &Principal,
    csrf: &str,
    record: &VersionRecord,
    policy: &NamespacePolicy,
) -> String {
    let mut out = format!(
        "<h1>{} / {} : {}</h1>\n<p>{} published by {} at {}</p>\n",
        link(&namespace_url(&record.namespace), &record.namespace),
        link(&model_url(&record.namespace, &record.model), &record.model),
        Escaped(&record.version),
        badge("state", record.state.name()),
        Escaped(&record.publisher),
        Escaped(&record.created_at)
    );
    if let Some(reason) = &record.reason {
        let _ = writeln!(
            out,
            "<p class=\"reason\" id=\"reason\"><b>{}:</b> {}</p>",
            Escaped(record.state.name()),
            Escaped(reason)
        );
    }
    let _ = writeln!(
        out,
        "<p>Manifest digest <code>{}</code></p>",
        Escaped(&record.manifest_digest.to_string())
    );
    if may_approve(principal, &record.namespace) && record.state.servable() {
        let base = version_url(record);
        out.push_str("<h2>Actions</h2>\n<p>");
        out.push_str(&form(
            &format!("{base}/approve"),
            csrf,
            "",
            &button("Approve", "approve"),
        ));
        let mut stages: Vec<&str> = policy.stages.keys().map(String::as_str).collect();
        for usual in ["staging", "production"] {
            if !stages.contains(&usual) {
                stages.push(usual);
            }
        }
        let options: String = stages
            .iter()
            .map(|stage| format!("<option value=\"{0}\">{0}</option>", Escaped(stage)))
            .collect();
        out.push_str(&form(
            &format!("{base}/promote"),
            csrf,
            &format!("<select name=\"stage\" id=\"stage\">{options}</select>"),
            &button("Promote", "promote"),
        ));
        out.push_str("</p>\n");
    }
    out.push_str("<h2>Files</h2>\n");
    let files: Vec<Vec<String>> = record
        .files
        .iter()
        .map(|file| {
            vec![
                format!("<span class=\"mono\">{}</span>", Escaped(&file.path)),
                format!(
                    "<span class=\"mono\">{}</span>",
                    Escaped(&file.digest.to_string())
                ),
                file.size.to_string(),
            ]
        })
        .collect();
    out.push_str(&table(&["path", "digest", "bytes"], &files));
    if record.state.servable() {
        out.push_str(
            "<p class=\"muted\">Download with <code>rampart pull</code>, which verifies every digest, \
             the signature and the audit log before writing anything.</p>\n",
        );
    } else {
        out.push_str(
            "<p class=\"muted\">This version did not pass its gates or was yanked: its files are never served.</p>\n",
        );
    }
    out.push_str("<h2>Gates</h2>\n");
    match &record.gates {
        Some(gates) => {
            out.push_str(&table(
                &["gate", "status", "detail"],
                &[
                    gate_row("scan", &gates.scan),
                    gate_row("signature", &gates.signature),
                    gate_row("provenance", &gates.provenance),
                ],
            ));
            out.push_str("<h2>Scan findings</h2>\n");
            out.push_str(&findings(&gates.scan_report));
        }
        None => out.push_str("<p class=\"muted\">The gates have not run yet.</p>\n"),
    }
    out.push_str("<h2>Approvals</h2>\n");
    let approvals: Vec<Vec<String>> = record
        .approvals
        .iter()
        .map(|approval| {
            vec![
                Escaped(&approval.user).to_string(),
                Escaped(&approval.time).to_string(),
            ]
        })
        .collect();
    out.push_str(&table(&["approver", "time"], &approvals));
    out.push_str("<h2>Stage history</h2>\n");
    out.push_str(&stage_history(&record.stage_history, false));
    out.push_str("<h2>Audit entries</h2>\n");
    let audit: Vec<Vec<String>> = record
        .audit
        .iter()
        .map(|entry| {
            vec![
                Escaped(&entry.action).to_string(),
                entry.index.map_or_else(String::new, proof_link),
            ]
        })
        .collect();
    out.push_str(&table(&["action", "log index"], &audit));
    out
}

fn proof_link(index: u64) -> String {
    format!(
        "{index} ({})",
        link(&format!("/ui/audit/proof?index={index}"), "inclusion proof")
    )
}

pub fn audit(
    checkpoint: &str,
    entries: &[(u64, Vec<u8>)],
    size: u64,
    page: u64,
    per_page: u64,
) -> String {
    let mut out = format!(
        "<h1>Audit log</h1>\n<p>{size} entries. Latest checkpoint (verify offline with \
         <code>rampart log verify-proof</code>):</p>\n<pre id=\"checkpoint\">{}</pre>\n",
        Escaped(checkpoint)
    );
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|(index, bytes)| {
            let entry: Value = serde_json::from_slice(bytes).unwrap_or(Value::Null);
            let transition = match (text_of(&entry, "before"), text_of(&entry, "after")) {
                ("", "") => String::new(),
                (before, after) => format!("{before} → {after}"),
            };
            let details: Vec<String> = entry
                .get("details")
                .and_then(Value::as_object)
                .map(|details| {
                    details
                        .iter()
                        .map(|(key, value)| format!("{key}={}", value.as_str().unwrap_or_default()))
                        .collect()
                })
                .unwrap_or_default();
            vec![
                proof_link(*index),
                Escaped(text_of(&entry, "time")).to_string(),
                format!(
                    "<span class=\"mono action\">{}</span>",
                    Escaped(text_of(&entry, "action"))
                ),
                Escaped(text_of(&entry, "actor")).to_string(),
                format!(
                    "<span class=\"mono\">{}</span>",
                    Escaped(text_of(&entry, "object"))
                ),
                Escaped(&transition).to_string(),
                format!(
                    "<span class=\"mono details\">{}</span>",
                    Escaped(&details.join("\n"))
                ),
            ]
        })
        .collect();
    out.push_str(&table(
        &[
            "index", "time", "action", "actor", "object", "state", "details",
        ],
        &rows,
    ));
    out.push_str("<p>");
    if page > 0 {
        out.push_str(&link(
            &format!("/ui/audit?page={}", page.saturating_sub(1)),
            "← newer",
        ));
        out.push(' ');
    }
    if size > (page + 1).saturating_mul(per_page) {
        out.push_str(&link(&format!("/ui/audit?page={}", page + 1), "older →"));
    }
    out.push_str("</p>\n<p class=\"muted\">The same proofs for scripts: <code>GET /api/v1/log/proof/inclusion?index=N</code> with a bearer token.</p>\n");
    out
}
