//! The web UI over HTTP: a server on 127.0.0.1:0 over a registry set up through its Rust API.

use std::sync::Arc;

use rampart_registry::registry::Upload;
use rampart_registry::{
    FileEntry, NamespacePolicy, NewToken, NewVersion, Registry, Role, ServeOptions,
};

mod common;
use common::{Running, serve_in_background};

const CLEAN: &[u8] = b"{\"architectures\": [\"BertModel\"]}\n";
/// GLOBAL os.system, a string argument, TUPLE1, REDUCE, STOP: runs `id` when unpickled.
const EVIL_PICKLE: &[u8] = b"\x80\x02cos\nsystem\nX\x02\x00\x00\x00id\x85R.";
const HOSTILE: &str = "\"><script>alert(1)</script>";

struct Fixture {
    base: String,
    registry: Arc<Registry>,
    agent: ureq::Agent,
    admin: String,
    reader: String,
    publisher: String,
    approver: String,
    /// An approver token of the user who publishes every version here.
    publisher_as_approver: String,
    outsider: String,
    _running: Running,
    _dir: tempfile::TempDir,
}

struct Reply {
    status: u16,
    body: String,
    cookies: Vec<String>,
    location: Option<String>,
    csp: Option<String>,
}

fn token(registry: &Registry, admin: &str, user: &str, role: Role, namespace: &str) -> String {
    let admin = registry.authenticate(admin).expect("admin");
    registry
        .create_token(
            &admin,
            NewToken {
                user: user.to_owned(),
                role,
                namespace: namespace.to_owned(),
                expires_in_days: None,
            },
        )
        .expect("token")
        .token
}

fn setup() -> Fixture {
    setup_with(false)
}

fn setup_with(tls: bool) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let admin = Registry::init(&data).expect("init");
    let registry = Arc::new(Registry::open(&data).expect("open"));
    let principal = registry.authenticate(&admin).expect("admin");
    for namespace in ["ml", "other"] {
        registry
            .put_namespace(&principal, namespace, NamespacePolicy::default())
            .expect("namespace");
    }
    let running = serve_in_background(Arc::clone(&registry), ServeOptions::default(), tls);
    Fixture {
        base: running.base.clone(),
        reader: token(&registry, &admin, "rita", Role::Reader, "ml"),
        publisher: token(&registry, &admin, "pat", Role::Publisher, "ml"),
        approver: token(&registry, &admin, "abe", Role::Approver, "ml"),
        publisher_as_approver: token(&registry, &admin, "pat", Role::Approver, "ml"),
        outsider: token(&registry, &admin, "olga", Role::Reader, "other"),
        admin,
        registry,
        agent: running.agent.clone(),
        _running: running,
        _dir: dir,
    }
}

impl Fixture {
    /// Publishes `files` as `ml/{model}:{version}` with the publisher's token.
    fn publish(&self, model: &str, version: &str, files: &[(&str, &[u8])]) -> String {
        let principal = self.registry.authenticate(&self.publisher).expect("pat");
        let mut entries = Vec::new();
        for (path, bytes) in files {
            let digest = rampart_registry::names::sha256(bytes);
            if let Upload::Expecting(mut writer) = self
                .registry
                .begin_upload(&principal, &digest)
                .expect("upload")
            {
                writer.write(bytes).expect("write");
                writer.commit(&digest).expect("commit");
            }
            entries.push(FileEntry {
                path: (*path).to_owned(),
                digest,
                size: bytes.len() as u64,
            });
        }
        let (_, record) = self
            .registry
            .create_version(
                &principal,
                "ml",
                model,
                NewVersion {
                    version: version.to_owned(),
                    files: entries,
                    signature: None,
                    provenance: None,
                },
            )
            .expect("version");
        record.state.name().to_owned()
    }

    fn read(mut response: ureq::http::Response<ureq::Body>) -> Reply {
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        };
        let (location, csp) = (header("location"), header("content-security-policy"));
        let cookies = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|value| value.to_str().ok().map(str::to_owned))
            .collect();
        Reply {
            status: response.status().as_u16(),
            body: response.body_mut().read_to_string().unwrap_or_default(),
            cookies,
            location,
            csp,
        }
    }

    fn get(&self, path: &str, session: Option<&str>) -> Reply {
        let mut request = self.agent.get(format!("{}{path}", self.base));
        if let Some(token) = session {
            request = request.header("Cookie", format!("rampart_session={token}"));
        }
        Self::read(request.call().expect("request"))
    }

    fn post(&self, path: &str, session: Option<&str>, form: &str, origin: Option<&str>) -> Reply {
        let mut request = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("Content-Type", "application/x-www-form-urlencoded");
        if let Some(token) = session {
            request = request.header("Cookie", format!("rampart_session={token}"));
        }
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        Self::read(request.send(form.as_bytes()).expect("request"))
    }

    /// Posts a form as the signed-in browser would: same origin, with the session's CSRF token.
    fn submit(&self, path: &str, session: &str, fields: &str) -> Reply {
        let csrf = rampart_registry::ui::csrf_token(session);
        let form = if fields.is_empty() {
            format!("csrf={csrf}")
        } else {
            format!("csrf={csrf}&{fields}")
        };
        self.post(path, Some(session), &form, Some(&self.base))
    }
}

#[test]
fn every_page_renders_for_every_role_and_is_refused_to_others() {
    let fixture = setup();
    assert_eq!(
        fixture.publish("bert", "1.0.0", &[("config.json", CLEAN)]),
        "scanned"
    );
    let pages = [
        "/ui/",
        "/ui/ml/",
        "/ui/ml/bert",
        "/ui/ml/bert/1.0.0",
        "/ui/audit",
        "/ui/audit/proof?index=0",
    ];
    for session in [
        &fixture.reader,
        &fixture.publisher,
        &fixture.approver,
        &fixture.admin,
    ] {
        for page in pages {
            let reply = fixture.get(page, Some(session));
            assert_eq!(reply.status, 200, "{page}: {}", reply.body);
        }
    }
    let version = fixture.get("/ui/ml/bert/1.0.0", Some(&fixture.reader));
    assert!(version.body.contains("config.json"), "{}", version.body);
    assert!(version.body.contains("badge state-scanned"));
    let csp = version.csp.expect("a Content-Security-Policy header");
    assert!(csp.starts_with("default-src 'none'") && !csp.contains("script-src"));
    // Buttons only for approvers of the namespace (the server checks again on POST).
    assert!(!version.body.contains("id=\"approve\""));
    let for_approver = fixture.get("/ui/ml/bert/1.0.0", Some(&fixture.approver));
    assert!(for_approver.body.contains("id=\"approve\""));
    assert!(for_approver.body.contains("id=\"promote\""));

    for page in pages {
        let anonymous = fixture.get(page, None);
        assert_eq!(anonymous.status, 401, "{page}");
        assert!(anonymous.body.contains("/ui/login"));
        let wrong = fixture.get(page, Some("rmp_not-a-token"));
        assert_eq!(wrong.status, 401, "{page}");
    }
    for page in ["/ui/ml/", "/ui/ml/bert", "/ui/ml/bert/1.0.0"] {
        let outsider = fixture.get(page, Some(&fixture.outsider));
        assert_eq!(outsider.status, 403, "{page}: {}", outsider.body);
    }
    let listing = fixture.get("/ui/", Some(&fixture.outsider));
    assert!(listing.body.contains("/ui/other/") && !listing.body.contains("/ui/ml/"));
    assert_eq!(
        fixture.get("/ui/ml/nothing", Some(&fixture.reader)).status,
        404
    );
}

#[test]
fn hostile_names_messages_and_reasons_render_inert() {
    let fixture = setup();
    let hostile_path = format!("{HOSTILE}.pkl");
    assert_eq!(
        fixture.publish("evil", "1", &[(hostile_path.as_str(), EVIL_PICKLE)]),
        "quarantined"
    );
    let admin = fixture
        .registry
        .authenticate(&fixture.admin)
        .expect("admin");
    fixture.publish("evil", "2", &[("config.json", CLEAN)]);
    fixture
        .registry
        .yank(&admin, "ml", "evil", "2", HOSTILE)
        .expect("yank");

    let quarantined = fixture.get("/ui/ml/evil/1", Some(&fixture.reader));
    assert_eq!(quarantined.status, 200);
    let body = &quarantined.body;
    assert!(!body.contains("<script"), "{body}");
    assert!(
        body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{body}"
    );
    assert!(body.contains("badge state-quarantined"));
    assert!(
        body.contains("id=\"reason\""),
        "the reason is shown: {body}"
    );
    assert!(
        body.contains("pickle/"),
        "the finding's rule is listed: {body}"
    );
    assert!(!body.contains("/api/v1/blobs/"), "no download link");
    assert!(!body.contains("id=\"approve\""));
    let for_approver = fixture.get("/ui/ml/evil/1", Some(&fixture.approver));
    assert!(
        !for_approver.body.contains("id=\"approve\""),
        "no buttons for a quarantined version"
    );

    let yanked = fixture.get("/ui/ml/evil/2", Some(&fixture.reader));
    assert!(!yanked.body.contains("<script"), "{}", yanked.body);
    assert!(yanked.body.contains("badge state-yanked"));
    for page in ["/ui/ml/evil", "/ui/audit"] {
        let reply = fixture.get(page, Some(&fixture.reader));
        assert_eq!(reply.status, 200);
        assert!(!reply.body.contains("<script"), "{page}: {}", reply.body);
    }
}

#[test]
fn sign_in_sets_a_strict_http_only_cookie_and_sign_out_clears_it() {
    let fixture = setup();
    let form = format!("token={}", fixture.reader);
    let reply = fixture.post("/ui/login", None, &form, Some(&fixture.base));
    assert_eq!(reply.status, 303, "{}", reply.body);
    assert_eq!(reply.location.as_deref(), Some("/ui/"));
    let cookie = reply.cookies.first().expect("a session cookie");
    assert!(cookie.starts_with(&format!("rampart_session={}", fixture.reader)));
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/ui"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");

    let wrong = fixture.post("/ui/login", None, "token=rmp_wrong", Some(&fixture.base));
    assert_eq!(wrong.status, 401);
    assert!(wrong.cookies.is_empty());
    let cross_site = fixture.post("/ui/login", None, &form, Some("https://evil.example"));
    assert_eq!(cross_site.status, 403, "no login CSRF");
    assert!(cross_site.cookies.is_empty());

    let no_csrf = fixture.post("/ui/logout", Some(&fixture.reader), "", Some(&fixture.base));
    assert_eq!(no_csrf.status, 403);
    let out = fixture.submit("/ui/logout", &fixture.reader, "");
    assert_eq!(out.status, 303);
    assert!(out.cookies.first().is_some_and(|c| c.contains("Max-Age=0")));
}

#[test]
fn posts_without_the_csrf_token_or_from_another_site_are_refused() {
    let fixture = setup();
    fixture.publish("bert", "1.0.0", &[("config.json", CLEAN)]);
    let approve = "/ui/ml/bert/1.0.0/approve";
    let without = fixture.post(approve, Some(&fixture.approver), "", Some(&fixture.base));
    assert_eq!(without.status, 403, "{}", without.body);
    assert!(without.body.contains("CSRF"));
    let other_session = format!("csrf={}", rampart_registry::ui::csrf_token(&fixture.reader));
    let borrowed = fixture.post(
        approve,
        Some(&fixture.approver),
        &other_session,
        Some(&fixture.base),
    );
    assert_eq!(borrowed.status, 403, "a CSRF token is bound to its session");
    let csrf = format!(
        "csrf={}",
        rampart_registry::ui::csrf_token(&fixture.approver)
    );
    let foreign = fixture.post(
        approve,
        Some(&fixture.approver),
        &csrf,
        Some("https://evil.example"),
    );
    assert_eq!(foreign.status, 403);
    let anonymous = fixture.post(approve, None, &csrf, Some(&fixture.base));
    assert_eq!(anonymous.status, 401);
    let reader = fixture
        .registry
        .authenticate(&fixture.reader)
        .expect("rita");
    let record = fixture
        .registry
        .version(&reader, "ml", "bert", "1.0.0")
        .expect("version");
    assert!(record.approvals.is_empty(), "nothing was approved");
}

#[test]
fn the_publisher_cannot_approve_through_the_ui_and_other_roles_are_refused() {
    let fixture = setup();
    fixture.publish("bert", "1.0.0", &[("config.json", CLEAN)]);
    let approve = "/ui/ml/bert/1.0.0/approve";
    let own = fixture.submit(approve, &fixture.publisher_as_approver, "");
    assert_eq!(own.status, 403, "{}", own.body);
    assert!(own.body.contains("separation of duties"), "{}", own.body);
    for session in [&fixture.reader, &fixture.publisher, &fixture.admin] {
        let refused = fixture.submit(approve, session, "");
        assert_eq!(refused.status, 403, "{}", refused.body);
        assert!(refused.body.contains("approver role"), "{}", refused.body);
    }
    let promote = fixture.submit(
        "/ui/ml/bert/1.0.0/promote",
        &fixture.admin,
        "stage=production",
    );
    assert_eq!(promote.status, 403, "admins promote only with an override");
}

#[test]
fn an_approver_approves_promotes_and_rolls_back_with_forms() {
    let fixture = setup();
    for version in ["1.0.0", "2.0.0"] {
        fixture.publish("bert", version, &[("config.json", CLEAN)]);
        let base = format!("/ui/ml/bert/{version}");
        let approved = fixture.submit(&format!("{base}/approve"), &fixture.approver, "");
        assert_eq!(approved.status, 303, "{}", approved.body);
        assert_eq!(approved.location.as_deref(), Some(base.as_str()));
        let promoted = fixture.submit(
            &format!("{base}/promote"),
            &fixture.approver,
            "stage=production",
        );
        assert_eq!(promoted.status, 303, "{}", promoted.body);
    }
    let reader = fixture
        .registry
        .authenticate(&fixture.reader)
        .expect("rita");
    let stages = fixture
        .registry
        .stages(&reader, "ml", "bert")
        .expect("stages");
    assert_eq!(stages.current["production"], "2.0.0");
    let page = fixture.get("/ui/ml/bert", Some(&fixture.approver));
    assert!(
        page.body.contains("id=\"rollback-production\""),
        "{}",
        page.body
    );
    let rolled = fixture.submit("/ui/ml/bert", &fixture.approver, "stage=production");
    assert_eq!(rolled.status, 303, "{}", rolled.body);
    let stages = fixture
        .registry
        .stages(&reader, "ml", "bert")
        .expect("stages");
    assert_eq!(stages.current["production"], "1.0.0");

    let audit = fixture.get("/ui/audit", Some(&fixture.reader));
    for action in ["version.approve", "stage.promote", "stage.rollback"] {
        assert!(audit.body.contains(action), "{action}: {}", audit.body);
    }
    assert!(audit.body.contains("/ui/audit/proof?index="));
    let proof = fixture.get("/ui/audit/proof?index=0", Some(&fixture.reader));
    assert!(
        proof.body.starts_with("c2sp.org/tlog-proof@v1"),
        "{}",
        proof.body
    );
    let missing = fixture.submit("/ui/ml/bert/1.0.0/promote", &fixture.approver, "");
    assert_eq!(missing.status, 400, "the stage is required");
}

#[test]
fn over_tls_the_session_cookie_is_secure() {
    let fixture = setup_with(true);
    let form = format!("token={}", fixture.reader);
    let reply = fixture.post("/ui/login", None, &form, Some(&fixture.base));
    assert_eq!(reply.status, 303, "{}", reply.body);
    let cookie = reply.cookies.first().expect("a session cookie");
    assert!(cookie.ends_with("; Secure"), "{cookie}");
    assert_eq!(fixture.get("/ui/", Some(&fixture.reader)).status, 200);
}
