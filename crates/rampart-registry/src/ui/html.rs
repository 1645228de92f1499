//! HTML building blocks for the web UI. Every string that comes from the registry (names,
//! versions, finding messages, reasons, audit details) is attacker-controlled and goes through
//! [`Escaped`]; markup is only ever written by this crate.

use std::fmt::Write as _;

use base64::Engine as _;
pub use rampart_core::render::Escaped;

use crate::names::sha256;

/// The one stylesheet. Its SHA-256 is pinned in the Content-Security-Policy, so no other
/// style and no script at all can apply, whatever slipped into a page.
const STYLE: &str = "\
:root{--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--soft:#f6f8fa;--bad:#cf222e;--warn:#9a6700;--ok:#1a7f37;--info:#0969da}\
*{box-sizing:border-box}\
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:var(--fg);margin:0 auto;padding:1rem 1.5rem;max-width:80rem}\
nav{display:flex;gap:1rem;align-items:center;border-bottom:1px solid var(--line);padding-bottom:.5rem;margin-bottom:1rem}\
nav .who{margin-left:auto;color:var(--muted)}\
h1{font-size:1.4rem;margin:.5rem 0}h2{font-size:1.15rem;border-bottom:1px solid var(--line);padding-bottom:.2rem;margin-top:1.75rem}\
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.9em}\
pre{background:var(--soft);border:1px solid var(--line);padding:.5rem;white-space:pre-wrap;word-break:break-all}\
table{border-collapse:collapse;width:100%}th,td{text-align:left;border-bottom:1px solid var(--line);padding:.25rem .5rem;vertical-align:top}\
td .mono{word-break:break-all}.details{white-space:pre-wrap}.muted{color:var(--muted)}\
.badge{display:inline-block;border-radius:.25rem;color:#fff;font-size:.8em;font-weight:700;padding:0 .4rem;text-transform:uppercase}\
.state-quarantined,.state-yanked,.gate-failed,.sev-critical,.sev-high{background:var(--bad)}\
.sev-medium{background:var(--warn)}.sev-low,.state-scanned,.state-verified{background:var(--info)}\
.state-approved,.gate-passed{background:var(--ok)}.gate-absent,.sev-info{background:var(--muted)}\
.reason{border-left:.3rem solid var(--bad);background:var(--soft);padding:.4rem .75rem}\
.error{border-left:.3rem solid var(--bad);padding:.4rem .75rem;background:#ffebe9}\
form.inline{display:inline-flex;gap:.4rem;align-items:center;margin:.2rem .75rem .2rem 0}\
button{cursor:pointer}";

/// `'sha256-…'` of [`STYLE`] for the `style-src` directive.
fn style_hash() -> String {
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(sha256(STYLE.as_bytes()).0)
    )
}

/// The Content-Security-Policy of every UI page: nothing loads, no script runs, only the
/// pinned stylesheet applies, forms post only to this origin, and no other site may frame it.
pub fn content_security_policy() -> String {
    format!(
        "default-src 'none'; style-src {}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        style_hash()
    )
}

/// The signed-in user as shown in the navigation bar, and the CSRF token for its forms.
pub struct Session<'a> {
    pub user: &'a str,
    pub role: &'a str,
    pub namespace: &'a str,
    pub csrf: &'a str,
}

/// A complete page. `body` must already be escaped markup.
pub fn page(title: &str, session: Option<&Session<'_>>, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + STYLE.len() + 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"referrer\" content=\"same-origin\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{} · rampart registry</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<nav>\
         <a href=\"/ui/\">Namespaces</a><a href=\"/ui/audit\">Audit log</a>",
        Escaped(title)
    );
    match session {
        Some(session) => {
            let _ = write!(
                out,
                "<span class=\"who\">{} · {} in {}</span>{}",
                Escaped(session.user),
                Escaped(session.role),
                Escaped(session.namespace),
                form(
                    "/ui/logout",
                    session.csrf,
                    "",
                    &button("Sign out", "sign-out")
                )
            );
        }
        None => out.push_str("<span class=\"who\"><a href=\"/ui/login\">Sign in</a></span>"),
    }
    let _ = write!(out, "</nav>\n<main>\n{body}</main>\n</body>\n</html>\n");
    out
}

/// A POST form to `action` carrying the CSRF token, extra hidden or visible `fields` markup,
/// and `submit`.
pub fn form(action: &str, csrf: &str, fields: &str, submit: &str) -> String {
    format!(
        "<form class=\"inline\" method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">{fields}{submit}</form>",
        Escaped(action),
        Escaped(csrf)
    )
}

/// A submit button with an id for tests and browsers.
pub fn button(label: &str, id: &str) -> String {
    format!(
        "<button type=\"submit\" id=\"{}\">{}</button>",
        Escaped(id),
        Escaped(label)
    )
}

/// A coloured label such as a state, a gate status or a severity.
pub fn badge(kind: &str, value: &str) -> String {
    // The class is built from a fixed prefix and a value that is escaped; an unknown value
    // simply gets no colour.
    format!(
        "<span class=\"badge {}-{}\">{}</span>",
        Escaped(kind),
        Escaped(value),
        Escaped(value)
    )
}

/// A link.
pub fn link(href: &str, text: &str) -> String {
    format!("<a href=\"{}\">{}</a>", Escaped(href), Escaped(text))
}

/// A table with a header row; `rows` are cells of escaped markup.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    if rows.is_empty() {
        return "<p class=\"muted\">None.</p>\n".to_owned();
    }
    let mut out = String::from("<table>\n<thead><tr>");
    for header in headers {
        let _ = write!(out, "<th>{}</th>", Escaped(header));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{cell}</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

/// Percent-encodes a path segment (names are restricted, but versions allow `+`).
pub fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_pins_the_stylesheet_the_page_carries() {
        let page = page("t", None, "");
        let start = page.find("<style>").expect("style") + "<style>".len();
        let end = page.find("</style>").expect("end");
        let digest = sha256(&page.as_bytes()[start..end]);
        let expected = format!(
            "'sha256-{}'",
            base64::engine::general_purpose::STANDARD.encode(digest.0)
        );
        assert!(content_security_policy().contains(&expected));
        assert!(content_security_policy().contains("default-src 'none'"));
        assert!(!content_security_policy().contains("script-src"));
    }

    #[test]
    fn markup_in_values_is_inert() {
        let hostile = "\"><script>alert(1)</script>";
        for html in [
            badge("state", hostile),
            link(hostile, hostile),
            form(hostile, hostile, "", &button(hostile, hostile)),
            page(hostile, None, ""),
        ] {
            assert!(!html.contains("<script"), "{html}");
            assert!(!html.contains(hostile), "{html}");
            assert!(html.contains("&quot;&gt;&lt;script&gt;"), "{html}");
        }
        assert_eq!(segment("1.0+cpu/x"), "1.0%2Bcpu%2Fx");
    }
}
