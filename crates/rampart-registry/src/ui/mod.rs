//! The web UI under `/ui`: server-rendered HTML pages over the same [`Registry`] calls as
//! the API, so roles and separation of duties are enforced in exactly one place.
//!
//! Browser sessions: the login form takes an API token and stores it in an `HttpOnly`,
//! `SameSite=Strict` cookie (`Secure` when served over TLS); nothing is stored server-side.
//! Every POST carries a CSRF token, HMAC-SHA256 keyed by the SHA-256 of the session's token,
//! and must not come from another site (`Origin`, `Sec-Fetch-Site`). Pages send a
//! Content-Security-Policy without any script source: buttons are plain form posts.

mod html;
mod pages;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::names::sha256;
use crate::registry::Registry;
use crate::types::Principal;
use crate::{Error, api};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "rampart_session";

#[derive(Clone)]
struct Ui {
    registry: Arc<Registry>,
    secure_cookies: bool,
}

/// The UI's routes. `secure_cookies` marks the session cookie `Secure` (the server runs TLS).
pub fn router(registry: Arc<Registry>, secure_cookies: bool) -> Router {
    Router::new()
        .route("/ui", get(|| async { see_other("/ui/") }))
        .route("/ui/", get(namespaces))
        .route("/ui/login", get(login_form).post(login))
        .route("/ui/logout", post(logout))
        .route("/ui/audit", get(audit))
        .route("/ui/audit/proof", get(inclusion_proof))
        .route("/ui/{namespace}/", get(models))
        .route("/ui/{namespace}/{model}", get(versions).post(rollback))
        .route("/ui/{namespace}/{model}/{version}", get(version))
        .route("/ui/{namespace}/{model}/{version}/approve", post(approve))
        .route("/ui/{namespace}/{model}/{version}/promote", post(promote))
        .with_state(Ui {
            registry,
            secure_cookies,
        })
}

// ---- sessions ---------------------------------------------------------------------------

/// The CSRF token of a session: HMAC-SHA256 keyed by the token's hash, so only someone
/// holding the token (or its stored hash) can compute it, and it needs no server-side state.
pub fn csrf_token(secret: &str) -> String {
    use hmac::{KeyInit as _, Mac as _};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&sha256(secret.as_bytes()).0)
        .expect("HMAC takes keys of any length");
    mac.update(b"rampart registry ui csrf v1");
    hex::encode(mac.finalize().into_bytes())
}

fn constant_time_equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
        .filter(|value| !value.is_empty())
}

/// A signed-in browser: who, and the CSRF token its forms carry.
struct Signed {
    principal: Principal,
    csrf: String,
}

impl Signed {
    fn session(&self) -> html::Session<'_> {
        html::Session {
            user: &self.principal.user,
            role: self.principal.role.name(),
            namespace: &self.principal.namespace,
            csrf: &self.csrf,
        }
    }
}

/// A failed page: the status and an HTML explanation.
struct UiError(Error);

impl From<Error> for UiError {
    fn from(error: Error) -> Self {
        UiError(error)
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let message = if status.is_server_error() {
            eprintln!("rampart serve: internal error: {}", self.0);
            "internal error: the server log has the details".to_owned()
        } else {
            self.0.to_string()
        };
        let mut body = format!(
            "<h1>{}</h1>\n<p class=\"error\" id=\"error\">{}</p>\n",
            status.as_u16(),
            html::Escaped(&message)
        );
        if status == StatusCode::UNAUTHORIZED {
            body.push_str("<p><a href=\"/ui/login\">Sign in with a token</a></p>\n");
        }
        html_response(status, html::page("Error", None, &body))
    }
}

type UiResult = Result<Response, UiError>;

fn html_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(policy) = HeaderValue::from_str(&html::content_security_policy()) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn session_cookie(value: &str, max_age: Option<u32>, secure: bool) -> HeaderValue {
    let mut cookie = format!("{SESSION_COOKIE}={value}; Path=/ui; HttpOnly; SameSite=Strict");
    if let Some(max_age) = max_age {
        cookie.push_str(&format!("; Max-Age={max_age}"));
    }
    if secure {
        cookie.push_str("; Secure");
    }
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Authenticates the session cookie and runs `work` on a blocking thread.
async fn with_session<T: Send + 'static>(
    ui: &Ui,
    headers: &HeaderMap,
    work: impl FnOnce(&Registry, &Principal) -> Result<T, Error> + Send + 'static,
) -> Result<(Signed, T), UiError> {
    let secret = cookie_token(headers)
        .ok_or_else(|| Error::Unauthorized("you are not signed in".to_owned()))?;
    let registry = Arc::clone(&ui.registry);
    let csrf = csrf_token(&secret);
    let (principal, value) = api::blocking(move || {
        let principal = registry.authenticate(&secret)?;
        let value = work(&registry, &principal)?;
        Ok((principal, value))
    })
    .await
    .map_err(|api::ApiError(error)| UiError(error))?;
    Ok((Signed { principal, csrf }, value))
}

/// Refuses a POST that another site could have sent: a foreign `Origin` or a
/// `Sec-Fetch-Site` other than `same-origin` (or `none`: typed by the user).
fn check_same_site(headers: &HeaderMap) -> Result<(), Error> {
    let cross_site = || Error::Forbidden("cross-site form posts are refused".to_owned());
    let header_text = |name| headers.get(name).and_then(|value| value.to_str().ok());
    if let Some(site) = header_text(header::HeaderName::from_static("sec-fetch-site"))
        && site != "same-origin"
        && site != "none"
    {
        return Err(cross_site());
    }
    if let Some(origin) = header_text(header::ORIGIN) {
        let host = header_text(header::HOST).unwrap_or_default();
        let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
        if origin_host != host {
            return Err(cross_site());
        }
    }
    Ok(())
}

/// Refuses a POST from another site, without a session, or without the session's CSRF token.
fn check_post(headers: &HeaderMap, csrf: Option<&str>) -> Result<(), Error> {
    check_same_site(headers)?;
    let secret = cookie_token(headers)
        .ok_or_else(|| Error::Unauthorized("you are not signed in".to_owned()))?;
    let expected = csrf_token(&secret);
    if !csrf.is_some_and(|given| constant_time_equal(given.as_bytes(), expected.as_bytes())) {
        return Err(Error::Forbidden(
            "the form's CSRF token is missing or wrong: reload the page and try again".to_owned(),
        ));
    }
    Ok(())
}

/// Reads an `application/x-www-form-urlencoded` body.
async fn form_fields(body: axum::body::Body) -> Result<HashMap<String, String>, Error> {
    let bytes = axum::body::to_bytes(body, 64 << 10)
        .await
        .map_err(|_| Error::TooLarge("the form is over 64 KiB".to_owned()))?;
    let Query(fields) = Query::<HashMap<String, String>>::try_from_uri(
        &format!("/?{}", String::from_utf8_lossy(&bytes))
            .parse()
            .map_err(|_| Error::BadRequest("the form is not url-encoded".to_owned()))?,
    )
    .map_err(|_| Error::BadRequest("the form is not url-encoded".to_owned()))?;
    Ok(fields)
}

fn field<'a>(fields: &'a HashMap<String, String>, name: &str) -> Result<&'a str, Error> {
    fields
        .get(name)
        .map(|value| value.trim())
        .filter(|value| !value.is_empty())
        .ok_or_else(|| Error::BadRequest(format!("the form field `{name}` is required")))
}

// ---- sign in and out --------------------------------------------------------------------

async fn login_form() -> Response {
    html_response(
        StatusCode::OK,
        html::page("Sign in", None, &pages::login(None)),
    )
}

async fn login(State(ui): State<Ui>, headers: HeaderMap, body: axum::body::Body) -> UiResult {
    // No session yet: only the same-site checks apply (against login CSRF).
    check_same_site(&headers)?;
    let fields = form_fields(body).await?;
    let secret = field(&fields, "token")?.to_owned();
    let registry = Arc::clone(&ui.registry);
    let checked = secret.clone();
    let outcome = api::blocking(move || registry.authenticate(&checked)).await;
    match outcome {
        Ok(_) => {
            let mut response = see_other("/ui/");
            response.headers_mut().insert(
                header::SET_COOKIE,
                session_cookie(&secret, None, ui.secure_cookies),
            );
            Ok(response)
        }
        Err(api::ApiError(error)) if error.status() == 401 => Ok(html_response(
            StatusCode::UNAUTHORIZED,
            html::page("Sign in", None, &pages::login(Some(&error.to_string()))),
        )),
        Err(api::ApiError(error)) => Err(error.into()),
    }
}

async fn logout(State(ui): State<Ui>, headers: HeaderMap, body: axum::body::Body) -> UiResult {
    let fields = form_fields(body).await?;
    check_post(&headers, fields.get("csrf").map(String::as_str))?;
    let mut response = see_other("/ui/login");
    response.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie("", Some(0), ui.secure_cookies),
    );
    Ok(response)
}

// ---- pages ------------------------------------------------------------------------------

async fn namespaces(State(ui): State<Ui>, headers: HeaderMap) -> UiResult {
    let (signed, namespaces) = with_session(&ui, &headers, |registry, principal| {
        registry.namespaces(principal)
    })
    .await?;
    Ok(html_response(
        StatusCode::OK,
        html::page(
            "Namespaces",
            Some(&signed.session()),
            &pages::namespaces(&namespaces),
        ),
    ))
}

async fn models(
    State(ui): State<Ui>,
    headers: HeaderMap,
    Path(namespace): Path<String>,
) -> UiResult {
    let name = namespace.clone();
    let (signed, (namespace, models)) = with_session(&ui, &headers, move |registry, principal| {
        Ok((
            registry.namespace(principal, &name)?,
            registry.models(principal, &name)?,
        ))
    })
    .await?;
    Ok(html_response(
        StatusCode::OK,
        html::page(
            &namespace.name,
            Some(&signed.session()),
            &pages::models(&namespace, &models),
        ),
    ))
}

async fn versions(
    State(ui): State<Ui>,
    headers: HeaderMap,
    Path((namespace, model)): Path<(String, String)>,
) -> UiResult {
    let (ns, name) = (namespace.clone(), model.clone());
    let (signed, (versions, stages)) = with_session(&ui, &headers, move |registry, principal| {
        let versions = registry.versions(principal, &ns, &name)?;
        if versions.is_empty() {
            return Err(Error::NotFound(format!("no model {ns}/{name}")));
        }
        Ok((versions, registry.stages(principal, &ns, &name)?))
    })
    .await?;
    let body = pages::versions(&signed.principal, &signed.csrf, &versions, &stages);
    Ok(html_response(
        StatusCode::OK,
        html::page(
            &format!("{namespace}/{model}"),
            Some(&signed.session()),
            &body,
        ),
    ))
}

async fn version(
    State(ui): State<Ui>,
    headers: HeaderMap,
    Path((namespace, model, version)): Path<(String, String, String)>,
) -> UiResult {
    let (signed, (record, policy)) = with_session(&ui, &headers, move |registry, principal| {
        let record = registry.version(principal, &namespace, &model, &version)?;
        Ok((record, registry.namespace(principal, &namespace)?.policy))
    })
    .await?;
    let body = pages::version(&signed.principal, &signed.csrf, &record, &policy);
    Ok(html_response(
        StatusCode::OK,
        html::page(&record.object(), Some(&signed.session()), &body),
    ))
}

/// Entries per audit page.
const AUDIT_PAGE: u64 = 50;

async fn audit(
    State(ui): State<Ui>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> UiResult {
    let page: u64 = match query.get("page") {
        Some(page) => page
            .parse()
            .map_err(|_| Error::BadRequest("`page` must be a non-negative integer".to_owned()))?,
        None => 0,
    };
    let (signed, (checkpoint, entries, size)) =
        with_session(&ui, &headers, move |registry, principal| {
            let checkpoint = registry.checkpoint(principal)?;
            let size = checkpoint_size(&checkpoint)?;
            let newest = size.saturating_sub(page.saturating_mul(AUDIT_PAGE));
            let oldest = newest.saturating_sub(AUDIT_PAGE);
            let mut entries = Vec::new();
            for index in (oldest..newest).rev() {
                entries.push((index, registry.log_entry(principal, index)?));
            }
            Ok((checkpoint, entries, size))
        })
        .await?;
    let body = pages::audit(&checkpoint, &entries, size, page, AUDIT_PAGE);
    Ok(html_response(
        StatusCode::OK,
        html::page("Audit log", Some(&signed.session()), &body),
    ))
}

/// The tree size, the second line of a checkpoint.
fn checkpoint_size(checkpoint: &str) -> Result<u64, Error> {
    checkpoint
        .lines()
        .nth(1)
        .and_then(|line| line.parse().ok())
        .ok_or_else(|| Error::Internal("the log's checkpoint has no tree size".to_owned()))
}

async fn inclusion_proof(
    State(ui): State<Ui>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> UiResult {
    let number = |name: &str| -> Result<Option<u64>, Error> {
        query
            .get(name)
            .map(|value| {
                value.parse::<u64>().map_err(|_| {
                    Error::BadRequest(format!("`{name}` must be a non-negative integer"))
                })
            })
            .transpose()
    };
    let index = number("index")?.ok_or_else(|| Error::BadRequest("`index` is required".into()))?;
    let size = number("size")?;
    let (_, proof) = with_session(&ui, &headers, move |registry, principal| {
        registry.prove_inclusion(principal, index, size)
    })
    .await?;
    let mut response = (StatusCode::OK, proof).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

// ---- actions ----------------------------------------------------------------------------

/// Checks a form post, then runs `work` with the session's principal and redirects to
/// `back` (or shows why it was refused).
async fn act(
    ui: &Ui,
    headers: &HeaderMap,
    body: axum::body::Body,
    back: String,
    work: impl FnOnce(&Registry, &Principal, &HashMap<String, String>) -> Result<(), Error>
    + Send
    + 'static,
) -> UiResult {
    let fields = form_fields(body).await?;
    check_post(headers, fields.get("csrf").map(String::as_str))?;
    with_session(ui, headers, move |registry, principal| {
        work(registry, principal, &fields)
    })
    .await?;
    Ok(see_other(&back))
}

fn version_url(namespace: &str, model: &str, version: &str) -> String {
    format!(
        "/ui/{}/{}/{}",
        html::segment(namespace),
        html::segment(model),
        html::segment(version)
    )
}

async fn approve(
    State(ui): State<Ui>,
    headers: HeaderMap,
    Path((namespace, model, version)): Path<(String, String, String)>,
    body: axum::body::Body,
) -> UiResult {
    let back = version_url(&namespace, &model, &version);
    act(&ui, &headers, body, back, move |registry, principal, _| {
        registry
            .approve(principal, &namespace, &model, &version)
            .map(drop)
    })
    .await
}

async fn promote(
    State(ui): State<Ui>,
    headers: HeaderMap,
    Path((namespace, model, version)): Path<(String, String, String)>,
    body: axum::body::Body,
) -> UiResult {
    let back = version_url(&namespace, &model, &version);
    act(
        &ui,
        &headers,
        body,
        back,
        move |registry, principal, fields| {
            let stage = field(fields, "stage")?;
            registry
                .promote(principal, &namespace, &model, stage, &version, None)
                .map(drop)
        },
    )
    .await
}

async fn rollback(
    State(ui): State<Ui>,
    headers: HeaderMap,
    Path((namespace, model)): Path<(String, String)>,
    body: axum::body::Body,
) -> UiResult {
    let back = format!(
        "/ui/{}/{}",
        html::segment(&namespace),
        html::segment(&model)
    );
    act(
        &ui,
        &headers,
        body,
        back,
        move |registry, principal, fields| {
            let stage = field(fields, "stage")?;
            registry
                .rollback(principal, &namespace, &model, stage, None)
                .map(drop)
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_tokens_differ_per_session() {
        assert_ne!(csrf_token("rmp_one"), csrf_token("rmp_two"));
        assert_eq!(csrf_token("rmp_one").len(), 64);
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=b; rampart_session=rmp_x; c=d"),
        );
        assert_eq!(cookie_token(&headers).as_deref(), Some("rmp_x"));
        assert!(cookie_token(&HeaderMap::new()).is_none());
    }

    #[test]
    fn posts_from_other_sites_are_refused() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("registry:8700"));
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("rampart_session=rmp_x"),
        );
        let csrf = csrf_token("rmp_x");
        assert!(check_post(&headers, Some(&csrf)).is_ok());
        assert!(check_post(&headers, Some("0")).is_err());
        assert!(check_post(&headers, None).is_err());
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(check_post(&headers, Some(&csrf)).is_err());
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://registry:8700"),
        );
        headers.insert(
            header::HeaderName::from_static("sec-fetch-site"),
            HeaderValue::from_static("cross-site"),
        );
        assert!(check_post(&headers, Some(&csrf)).is_err());
    }
}
