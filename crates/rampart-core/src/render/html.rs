use std::collections::BTreeMap;
use std::fmt::{self, Write};

use crate::{Finding, Report, ScanStatus, Severity};

/// Findings are expanded by default only up to this many; beyond it the page stays
/// responsive because collapsed `<details>` bodies are not laid out.
const EXPAND_UP_TO: usize = 200;

/// The only script a report page may run: its SHA-256 is pinned in the page's
/// Content-Security-Policy, so markup that slipped past escaping still could not run
/// script (inline handlers and injected `<script>` elements are refused by the browser).
const FILTER_SCRIPT: &str = r#"(function () {
  var form = document.getElementById('filters');
  if (!form) return;
  var items = Array.prototype.slice.call(document.querySelectorAll('.finding'));
  var groups = Array.prototype.slice.call(document.querySelectorAll('.group'));
  var shown = document.getElementById('shown');
  var texts = null;
  function apply() {
    var severities = {};
    form.querySelectorAll('input[name=sev]').forEach(function (box) { severities[box.value] = box.checked; });
    var rule = form.elements.rule.value;
    var query = form.elements.q.value.trim().toLowerCase();
    var withWaived = form.elements.waived.checked;
    if (query && texts === null) texts = items.map(function (item) { return item.textContent.toLowerCase(); });
    groups.forEach(function (group) { group.hidden = true; });
    var count = 0;
    for (var i = 0; i < items.length; i++) {
      var item = items[i];
      var visible = severities[item.dataset.sev] === true &&
        (rule === '' || item.dataset.rule === rule) &&
        (withWaived || !item.hasAttribute('data-waived')) &&
        (query === '' || texts[i].indexOf(query) !== -1);
      item.hidden = !visible;
      if (visible) {
        count++;
        for (var up = item.parentElement; up !== null; up = up.parentElement) {
          if (up.classList.contains('group')) up.hidden = false;
        }
      }
    }
    shown.textContent = count + ' of ' + items.length + ' findings shown';
  }
  form.addEventListener('input', apply);
  form.addEventListener('submit', function (event) { event.preventDefault(); });
  apply();
})();
"#;

/// `sha256-` of [`FILTER_SCRIPT`], base64; a test recomputes it from the rendered page.
const FILTER_SCRIPT_SHA256: &str = "sha256-/+AA7a3a15asF8cKgwLmXwP0uztoSsXd4+2VgTif0zY=";

const STYLE: &str = "\
:root{--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--bg:#fff;--soft:#f6f8fa;\
--critical:#a40e26;--high:#cf222e;--medium:#9a6700;--low:#0969da;--info:#57606a;--pass:#1a7f37}\
*{box-sizing:border-box}[hidden]{display:none!important}\
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:var(--fg);background:var(--bg);margin:0 auto;padding:1.5rem;max-width:80rem}\
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.2rem;border-bottom:1px solid var(--line);padding-bottom:.25rem;margin-top:2rem}\
h3{font-size:1.05rem;margin:1.25rem 0 .5rem}h4{font-size:.95rem;margin:.75rem 0 .25rem;font-family:ui-monospace,monospace;word-break:break-all}\
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.9em}\
pre{background:var(--soft);border:1px solid var(--line);padding:.5rem;margin:0;white-space:pre-wrap;word-break:break-all}\
.meta,.muted{color:var(--muted)}\
.verdict{display:inline-block;padding:.1rem .6rem;border-radius:.3rem;color:#fff;font-weight:700}\
.verdict.fail{background:var(--critical)}.verdict.pass{background:var(--pass)}\
.counts{display:flex;flex-wrap:wrap;gap:.5rem;margin:1rem 0}\
.count{border:1px solid var(--line);border-left-width:.35rem;border-radius:.3rem;padding:.4rem .8rem;min-width:7rem}\
.count b{display:block;font-size:1.4rem}\
.sev{display:inline-block;min-width:4.8rem;text-align:center;border-radius:.25rem;color:#fff;font-size:.8em;font-weight:700;padding:0 .3rem;text-transform:uppercase}\
.sev-critical{border-left-color:var(--critical)}.sev.sev-critical{background:var(--critical)}\
.sev-high{border-left-color:var(--high)}.sev.sev-high{background:var(--high)}\
.sev-medium{border-left-color:var(--medium)}.sev.sev-medium{background:var(--medium)}\
.sev-low{border-left-color:var(--low)}.sev.sev-low{background:var(--low)}\
.sev-info{border-left-color:var(--info)}.sev.sev-info{background:var(--info)}\
table{border-collapse:collapse;width:100%}th,td{text-align:left;border-bottom:1px solid var(--line);padding:.25rem .5rem;vertical-align:top}\
td.path{font-family:ui-monospace,monospace;word-break:break-all}tr.fail td:first-child{color:var(--critical);font-weight:700}\
.notices li{color:var(--medium)}\
#filters{position:sticky;top:0;background:var(--bg);border-bottom:1px solid var(--line);padding:.5rem 0;display:flex;flex-wrap:wrap;gap:.75rem;align-items:center;z-index:1}\
#filters input[type=search]{min-width:16rem;padding:.2rem .4rem}\
details.finding{border:1px solid var(--line);border-radius:.3rem;margin:.35rem 0;background:var(--bg)}\
details.finding>summary{cursor:pointer;padding:.35rem .5rem;list-style-position:inside}\
details.finding[data-waived]{opacity:.75;border-style:dashed}\
details.finding dl{display:grid;grid-template-columns:8rem 1fr;gap:.25rem .75rem;margin:0;padding:.5rem .75rem .75rem;border-top:1px solid var(--line)}\
dt{color:var(--muted)}dd{margin:0;word-break:break-word}\
.waiver{color:var(--medium);font-weight:600}\
footer{margin-top:2rem;color:var(--muted);font-size:.85em}";

/// Text escaped for HTML element content and double-quoted attribute values. Every string
/// that comes from a report goes through this: file names, messages and evidence are
/// attacker-controlled.
pub struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(['&', '<', '>', '"', '\'']) {
            let (plain, tail) = rest.split_at(at);
            f.write_str(plain)?;
            let mut chars = tail.chars();
            let entity = match chars.next() {
                Some('&') => "&amp;",
                Some('<') => "&lt;",
                Some('>') => "&gt;",
                Some('"') => "&quot;",
                _ => "&#39;",
            };
            f.write_str(entity)?;
            rest = chars.as_str();
        }
        f.write_str(rest)
    }
}

/// A complete, self-contained HTML page: inline style, no script, and a
/// Content-Security-Policy that forbids loading anything. `body` must already be
/// escaped markup.
pub fn html_page(title: &str, body: &str) -> String {
    page(title, body, None)
}

fn page(title: &str, body: &str, script: Option<(&str, &str)>) -> String {
    let script_src = script.map_or_else(|| "'none'".to_owned(), |(_, hash)| format!("'{hash}'"));
    let mut out = String::with_capacity(body.len() + STYLE.len() + 2048);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; script-src {script_src}; img-src data:; \
         form-action 'none'; base-uri 'none'\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}",
        Escaped(title)
    );
    if let Some((code, _)) = script {
        let _ = writeln!(out, "<script>{code}</script>");
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// One self-contained, offline HTML page for people: the gate's verdict, counts by
/// severity, every file, and the findings grouped by severity and then by file, with
/// client-side filters (severity, rule, text, waived). Nothing on the page loads from
/// anywhere; reference links are plain links the reader may follow.
pub fn render_html(report: &Report) -> String {
    let mut body = String::with_capacity(4096 + report.findings.len() * 1200);
    write_header(&mut body, report);
    write_files(&mut body, report);
    write_findings(&mut body, report);
    let _ = writeln!(
        body,
        "<footer>Generated offline by {} {}. Everything on this page comes from the report; \
         nothing is loaded from the network.</footer>",
        Escaped(report.tool.name),
        Escaped(report.tool.version)
    );
    let title = format!(
        "{} {}: {}",
        report.tool.name,
        report.command,
        verdict_word(report)
    );
    page(&title, &body, Some((FILTER_SCRIPT, FILTER_SCRIPT_SHA256)))
}

fn verdict_word(report: &Report) -> &'static str {
    if report.summary.failed {
        "FAIL"
    } else {
        "PASS"
    }
}

fn write_header(out: &mut String, report: &Report) {
    let summary = &report.summary;
    let verdict = verdict_word(report);
    let _ = writeln!(
        out,
        "<header>\n<h1>{} {} <span class=\"verdict {}\">{verdict}</span></h1>\n\
         <p class=\"meta\">Gate: fail on <b>{}</b> or above. {} {} scanned, {} excluded, \
         {} not fully scanned, {} failing.</p>\n</header>",
        Escaped(report.tool.name),
        Escaped(&report.command),
        verdict.to_ascii_lowercase(),
        report.fail_on,
        summary.files,
        if summary.files == 1 { "file" } else { "files" },
        summary.excluded,
        summary.incomplete_files,
        summary.failed_files,
    );
    out.push_str("<section id=\"summary\" class=\"counts\">\n");
    for severity in Severity::ALL.iter().rev() {
        let count = summary.findings.get(severity).copied().unwrap_or(0);
        let _ = writeln!(
            out,
            "<div class=\"count sev-{severity}\"><b>{count}</b>{severity}</div>"
        );
    }
    let _ = writeln!(
        out,
        "<div class=\"count\"><b>{}</b>waived</div>\n</section>",
        summary.waived
    );
    if !report.notices.is_empty() {
        out.push_str("<h2>Notices</h2>\n<ul class=\"notices\">\n");
        for notice in &report.notices {
            let _ = writeln!(out, "<li>{}</li>", Escaped(notice));
        }
        out.push_str("</ul>\n");
    }
}

fn write_files(out: &mut String, report: &Report) {
    if report.files.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "<h2>Files ({})</h2>\n<table id=\"files\">\n<thead><tr><th>Verdict</th><th>Path</th>\
         <th>Format</th><th>Size</th><th>Scan</th><th>Findings</th><th>Worst</th></tr></thead>\n<tbody>",
        report.files.len()
    );
    for file in &report.files {
        let status = match file.status {
            ScanStatus::Complete => "complete",
            ScanStatus::Incomplete => "incomplete",
        };
        let worst = file.max_severity.map_or("", Severity::as_str);
        let _ = writeln!(
            out,
            "<tr class=\"{0}\"><td>{0}</td><td class=\"path\">{1}</td><td>{2}</td><td>{3}</td>\
             <td>{status}</td><td>{4}</td><td>{worst}</td></tr>",
            Escaped(file.verdict),
            Escaped(&file.path),
            Escaped(&file.format),
            file.size,
            file.findings,
        );
    }
    out.push_str("</tbody>\n</table>\n");
}

fn write_findings(out: &mut String, report: &Report) {
    let _ = writeln!(out, "<h2>Findings ({})</h2>", report.findings.len());
    if report.findings.is_empty() {
        out.push_str("<p>No findings.</p>\n");
        return;
    }
    write_filters(out, report);
    let expand = report.findings.len() <= EXPAND_UP_TO;
    // `Report::new` sorts by severity, then path: each group is one run of findings.
    for by_severity in report.findings.chunk_by(|a, b| a.severity == b.severity) {
        let Some(first) = by_severity.first() else {
            continue;
        };
        let severity = first.severity;
        let _ = writeln!(
            out,
            "<section class=\"group\" data-sev=\"{severity}\">\n<h3><span class=\"sev sev-{severity}\">\
             {severity}</span> {} finding{}</h3>",
            by_severity.len(),
            if by_severity.len() == 1 { "" } else { "s" }
        );
        for by_file in by_severity.chunk_by(|a, b| a.location.path == b.location.path) {
            let Some(first) = by_file.first() else {
                continue;
            };
            let _ = writeln!(
                out,
                "<div class=\"group\">\n<h4>{}</h4>",
                Escaped(&first.location.path)
            );
            for finding in by_file {
                write_finding(out, finding, expand);
            }
            out.push_str("</div>\n");
        }
        out.push_str("</section>\n");
    }
}

fn write_filters(out: &mut String, report: &Report) {
    out.push_str("<form id=\"filters\" autocomplete=\"off\">\n<span>");
    for severity in Severity::ALL.iter().rev() {
        let _ = write!(
            out,
            "<label><input type=\"checkbox\" name=\"sev\" value=\"{severity}\" checked> {severity}</label> "
        );
    }
    out.push_str(
        "</span>\n<label>Rule <select name=\"rule\"><option value=\"\">all rules</option>",
    );
    let mut rules: BTreeMap<&str, usize> = BTreeMap::new();
    for finding in &report.findings {
        *rules.entry(finding.rule.id).or_default() += 1;
    }
    for (rule, count) in rules {
        let _ = write!(
            out,
            "<option value=\"{0}\">{0} ({count})</option>",
            Escaped(rule)
        );
    }
    out.push_str(
        "</select></label>\n<input type=\"search\" name=\"q\" placeholder=\"Search messages, \
         files, evidence\" aria-label=\"Search\">\n<label><input type=\"checkbox\" name=\"waived\" \
         checked> waived</label>\n<output id=\"shown\" class=\"muted\"></output>\n</form>\n",
    );
}

fn write_finding(out: &mut String, finding: &Finding, expand: bool) {
    let rule = finding.rule;
    let _ = write!(
        out,
        "<details class=\"finding\" data-sev=\"{}\" data-rule=\"{}\"{}{}>\n<summary>\
         <span class=\"sev sev-{0}\">{0}</span> <code>{1}</code> {}",
        finding.severity,
        Escaped(rule.id),
        if finding.waiver.is_some() {
            " data-waived"
        } else {
            ""
        },
        if expand { " open" } else { "" },
        Escaped(&finding.message),
    );
    if finding.waiver.is_some() {
        out.push_str(" <span class=\"waiver\">(waived)</span>");
    }
    let _ = write!(
        out,
        "</summary>\n<dl>\n<dt>Rule</dt><dd><code>{}</code>: {}</dd>\n\
         <dt>Location</dt><dd><code>{}</code></dd>\n",
        Escaped(rule.id),
        Escaped(rule.title),
        Escaped(&finding.location.to_string()),
    );
    if let Some(resource) = &finding.location.resource {
        let _ = writeln!(
            out,
            "<dt>Resource</dt><dd><code>{}</code></dd>",
            Escaped(resource)
        );
    }
    if let Some(evidence) = &finding.evidence {
        let _ = writeln!(
            out,
            "<dt>Evidence</dt><dd><pre>{}</pre></dd>",
            Escaped(evidence)
        );
    }
    let _ = writeln!(
        out,
        "<dt>Fix</dt><dd>{}</dd>",
        Escaped(finding.remediation())
    );
    if let Some(waiver) = &finding.waiver {
        let _ = write!(
            out,
            "<dt>Waived</dt><dd class=\"waiver\">{}",
            Escaped(&waiver.reason)
        );
        if let Some(expires) = &waiver.expires {
            let _ = write!(out, " (until {})", Escaped(expires));
        }
        out.push_str("</dd>\n");
    }
    if !rule.references.is_empty() {
        out.push_str("<dt>References</dt><dd>");
        for (i, reference) in rule.references.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let url = reference.url();
            if url.starts_with("https://") || url.starts_with("http://") {
                let _ = write!(
                    out,
                    "<a href=\"{}\" rel=\"noreferrer noopener\" target=\"_blank\">{}</a>",
                    Escaped(&url),
                    Escaped(&reference.id())
                );
            } else {
                let _ = write!(out, "{}", Escaped(&reference.id()));
            }
        }
        out.push_str("</dd>\n");
    }
    out.push_str("</dl>\n</details>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::AppliedWaiver;
    use crate::{FileVerdict, Location, Reference, Rule};

    static RULE: Rule = Rule {
        id: "test/rule",
        scanner: "model",
        severity: Severity::High,
        title: "A test rule",
        description: "Detects tests.",
        remediation: "Fix the test.",
        references: &[Reference::Cwe(502), Reference::Atlas("AML.T0010.003")],
    };

    fn report(findings: Vec<Finding>) -> Report {
        let files = vec![FileVerdict::new("model.pkl", "pickle", 10)];
        Report::new("scan", "0.0.0", Severity::High, files, findings, Vec::new())
    }

    #[test]
    fn escapes_every_markup_character() {
        assert_eq!(
            Escaped("<a href=\"x\" title='y'>&</a>").to_string(),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
        assert_eq!(Escaped("plain ünïcode").to_string(), "plain ünïcode");
    }

    #[test]
    fn hostile_strings_render_as_text() {
        let hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>";
        let location = Location::file(format!("{hostile}.pkl"))
            .member("\"><svg onload=alert(3)>")
            .with_resource(hostile);
        let finding = Finding::new(&RULE, location, hostile).with_evidence(hostile);
        let html = render_html(&report(vec![finding]));
        assert_eq!(html.matches("<script").count(), 1, "only the filter script");
        assert!(!html.contains("<img"));
        assert!(!html.contains("<svg"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    }

    #[test]
    fn groups_by_severity_then_file_and_marks_waivers() {
        let mut waived = Finding::new(&RULE, Location::file("b.pkl"), "second");
        waived.waiver = Some(AppliedWaiver {
            reason: "vendored test fixture".to_owned(),
            expires: Some("2030-01-01".to_owned()),
        });
        let findings = vec![
            Finding::new(&RULE, Location::file("a.pkl"), "first"),
            waived,
            Finding::new(&RULE, Location::file("a.pkl").at(7), "third")
                .with_severity(Severity::Critical),
        ];
        let html = render_html(&report(findings));
        let critical = html.find("data-sev=\"critical\"").unwrap();
        let high = html
            .find("<section class=\"group\" data-sev=\"high\"")
            .unwrap();
        assert!(critical < high, "most severe first");
        assert_eq!(
            html.matches("<h4>a.pkl</h4>").count(),
            2,
            "a.pkl under both"
        );
        assert!(html.contains("vendored test fixture (until 2030-01-01)"));
        assert!(html.contains(" data-waived"));
        assert!(html.contains("href=\"https://cwe.mitre.org/data/definitions/502.html\""));
        assert!(html.contains("<b>1</b>critical"));
        assert!(html.contains("<b>1</b>waived"));
    }

    #[test]
    fn loads_nothing_from_anywhere() {
        let html = render_html(&report(vec![Finding::new(
            &RULE,
            Location::file("a.pkl"),
            "x",
        )]));
        for attribute in ["src=", "srcset=", "url(", "@import", "<link", "action="] {
            assert!(!html.contains(attribute), "found {attribute}");
        }
        assert!(html.contains("default-src 'none'"));
    }

    #[test]
    fn clean_report_says_so() {
        let mut clean = report(Vec::new());
        clean
            .notices
            .push("waiver for `x/y` expired <today>".to_owned());
        let html = render_html(&clean);
        assert!(html.contains("<li>waiver for `x/y` expired &lt;today&gt;</li>"));
        assert!(html.contains("<span class=\"verdict pass\">PASS</span>"));
        assert!(html.contains("No findings."));
        assert!(!html.contains("id=\"filters\""));
    }

    #[test]
    fn renders_ten_thousand_findings_quickly() {
        let findings: Vec<Finding> = (0..10_000u32)
            .map(|i| {
                let location = Location::file(format!("models/{}.pkl", i % 500)).at(u64::from(i));
                Finding::new(&RULE, location, format!("call number {i}"))
                    .with_severity(Severity::ALL[(i % 5) as usize])
                    .with_evidence(format!("posix.system('echo {i}')"))
            })
            .collect();
        let report = report(findings);
        let started = std::time::Instant::now();
        let html = render_html(&report);
        let elapsed = started.elapsed();
        // Debug builds render this in well under a second; the bound leaves room for a
        // loaded CI machine while still catching accidental quadratic work.
        assert!(elapsed.as_secs() < 5, "took {elapsed:?}");
        assert_eq!(html.matches("<details class=\"finding\"").count(), 10_000);
        assert!(!html.contains(" open>"), "large reports start collapsed");
        // One element per finding plus a fixed handful for its fields keeps the DOM small.
        assert!(html.len() < 10_000 * 1_500, "{} bytes", html.len());
    }

    #[test]
    fn coverage_style_pages_have_no_script() {
        let html = html_page("<t>", "<p>body</p>");
        assert!(html.contains("<title>&lt;t&gt;</title>"));
        assert!(html.contains("script-src 'none'"));
        assert!(!html.contains("<script"));
    }
}
