use crate::Report;

/// The versioned JSON report (`schema_version`), pretty-printed.
pub fn render_json(report: &Report) -> String {
    let mut out = serde_json::to_string_pretty(report)
        .unwrap_or_else(|e| format!("{{\"error\": \"could not serialise report: {e}\"}}"));
    out.push('\n');
    out
}
