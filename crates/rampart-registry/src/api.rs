//! The HTTP API (`/api/v1`, JSON, bearer tokens) over a [`Registry`]. Handlers authenticate,
//! then run the registry call on a blocking thread; uploads and downloads stream through a
//! small bounded channel so memory stays flat whatever the blob size.

use std::collections::HashMap;
use std::future::Future;
use std::io::Read;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::handler::Handler;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, on};
use futures_util::StreamExt as _;
use serde::Deserialize;
use serde_json::json;

use crate::names::Digest;
use crate::registry::{NewToken, NewVersion, Registry, Upload};
use crate::types::{NamespacePolicy, Principal};
use crate::{Error, openapi};

/// Server limits.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Largest blob accepted by `PUT /blobs/…`.
    pub max_upload_size: u64,
    /// Largest JSON request body (manifests with signature and provenance).
    pub max_json_size: usize,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            max_upload_size: 20 << 30,
            max_json_size: 16 << 20,
        }
    }
}

#[derive(Clone)]
struct App {
    registry: Arc<Registry>,
    options: Arc<ServeOptions>,
}

/// An [`Error`] as an HTTP response: `{"error": {"code", "message"}}`.
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        ApiError(error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let message = if status.is_server_error() {
            eprintln!("rampart serve: internal error: {}", self.0);
            "internal error: the server log has the details".to_owned()
        } else {
            self.0.to_string()
        };
        let body = json!({ "error": { "code": self.0.code(), "message": message } });
        (status, axum::Json(body)).into_response()
    }
}

type ApiResult = Result<Response, ApiError>;

fn json_response(status: StatusCode, value: &impl serde::Serialize) -> Response {
    (status, axum::Json(value)).into_response()
}

fn ok(value: &impl serde::Serialize) -> ApiResult {
    Ok(json_response(StatusCode::OK, value))
}

fn text(body: impl Into<String>) -> ApiResult {
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body.into(),
    )
        .into_response())
}

fn bearer(headers: &HeaderMap) -> Result<String, Error> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| {
            Error::Unauthorized(
                "no token: send `Authorization: Bearer rmp_…` (rampart reads --token or RAMPART_TOKEN)"
                    .to_owned(),
            )
        })?;
    value
        .strip_prefix("Bearer ")
        .map(|token| token.trim().to_owned())
        .ok_or_else(|| {
            Error::Unauthorized("the Authorization header must be `Bearer <token>`".to_owned())
        })
}

pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| ApiError(Error::Internal(format!("a worker failed: {error}"))))?
        .map_err(ApiError)
}

/// Authenticates and runs `work` on a blocking thread.
async fn call<T: Send + 'static>(
    app: &App,
    headers: &HeaderMap,
    work: impl FnOnce(&Registry, &Principal) -> Result<T, Error> + Send + 'static,
) -> Result<T, ApiError> {
    let token = bearer(headers)?;
    let registry = Arc::clone(&app.registry);
    blocking(move || {
        let principal = registry.authenticate(&token)?;
        work(&registry, &principal)
    })
    .await
}

/// Reads a JSON body of at most `max_json_size` bytes (an empty body reads as `{}`).
async fn json_body<T: serde::de::DeserializeOwned>(app: &App, body: Body) -> Result<T, Error> {
    let bytes = axum::body::to_bytes(body, app.options.max_json_size)
        .await
        .map_err(|_| {
            Error::TooLarge(format!(
                "the request body is over {} bytes or was interrupted",
                app.options.max_json_size
            ))
        })?;
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        &bytes
    };
    serde_json::from_slice(bytes)
        .map_err(|error| Error::BadRequest(format!("the request body is not valid: {error}")))
}

/// The router and the table of every `(method, path)` it serves, kept together so the
/// OpenAPI document can be checked against it.
struct Routes {
    router: Router<App>,
    table: Vec<(&'static str, &'static str)>,
}

impl Routes {
    fn add<H, T>(mut self, method: &'static str, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, App>,
        T: 'static,
    {
        let filter = match method {
            "GET" => MethodFilter::GET,
            "HEAD" => MethodFilter::HEAD,
            "PUT" => MethodFilter::PUT,
            _ => MethodFilter::POST,
        };
        self.router = self.router.route(path, on(filter, handler));
        self.table.push((method, path));
        self
    }
}

const VERSION_PATH: &str = "/api/v1/namespaces/{namespace}/models/{model}/versions/{version}";

fn routes() -> Routes {
    Routes {
        router: Router::new(),
        table: Vec::new(),
    }
    .add("GET", "/healthz", healthz)
    .add("GET", "/openapi.json", openapi_document)
    .add("HEAD", "/api/v1/blobs/{digest}", head_blob)
    .add("GET", "/api/v1/blobs/{digest}", get_blob)
    .add("PUT", "/api/v1/blobs/{digest}", put_blob)
    .add("GET", "/api/v1/namespaces", list_namespaces)
    .add("GET", "/api/v1/namespaces/{namespace}", get_namespace)
    .add("PUT", "/api/v1/namespaces/{namespace}", put_namespace)
    .add("GET", "/api/v1/namespaces/{namespace}/models", list_models)
    .add(
        "GET",
        "/api/v1/namespaces/{namespace}/models/{model}/versions",
        list_versions,
    )
    .add(
        "POST",
        "/api/v1/namespaces/{namespace}/models/{model}/versions",
        create_version,
    )
    .add("GET", VERSION_PATH, get_version)
    .add(
        "POST",
        "/api/v1/namespaces/{namespace}/models/{model}/versions/{version}/approve",
        approve,
    )
    .add(
        "POST",
        "/api/v1/namespaces/{namespace}/models/{model}/versions/{version}/yank",
        yank,
    )
    .add(
        "GET",
        "/api/v1/namespaces/{namespace}/models/{model}/stages",
        get_stages,
    )
    .add(
        "POST",
        "/api/v1/namespaces/{namespace}/models/{model}/stages/{stage}",
        promote,
    )
    .add(
        "POST",
        "/api/v1/namespaces/{namespace}/models/{model}/stages/{stage}/rollback",
        rollback,
    )
    .add("GET", "/api/v1/search", search)
    .add("GET", "/api/v1/tokens", list_tokens)
    .add("POST", "/api/v1/tokens", create_token)
    .add("POST", "/api/v1/tokens/{id}/revoke", revoke_token)
    .add("GET", "/api/v1/log/key", log_key)
    .add("GET", "/api/v1/log/checkpoint", log_checkpoint)
    .add("GET", "/api/v1/log/proof/inclusion", log_inclusion)
    .add("GET", "/api/v1/log/proof/consistency", log_consistency)
    .add("GET", "/api/v1/log/entries/{index}", log_entry)
}

/// Every `(method, path)` the router serves, in OpenAPI path syntax.
pub fn route_table() -> Vec<(&'static str, &'static str)> {
    routes().table
}

/// The API as an axum router, with the web UI under `/ui`.
pub fn router(registry: Arc<Registry>, options: ServeOptions) -> Router {
    router_with(registry, options, false)
}

/// The router; `secure_cookies` when it is served over TLS.
fn router_with(registry: Arc<Registry>, options: ServeOptions, secure_cookies: bool) -> Router {
    let ui = crate::ui::router(Arc::clone(&registry), secure_cookies);
    let max_json_size = options.max_json_size;
    routes()
        .router
        .layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                read_whole_body(max_json_size, request, next)
            },
        ))
        .fallback(|| async {
            ApiError(Error::NotFound(
                "no such endpoint: see /openapi.json".to_owned(),
            ))
        })
        .with_state(App {
            registry,
            options: Arc::new(options),
        })
        .merge(ui)
}

/// Serves the API on `listener` (a `TcpListener`, or a [`crate::tls::TlsListener`]) until
/// `shutdown` resolves, then finishes open requests.
pub async fn serve<L>(
    registry: Arc<Registry>,
    listener: L,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    let tls = std::any::TypeId::of::<L>() == std::any::TypeId::of::<crate::tls::TlsListener>();
    axum::serve(listener, router_with(registry, options, tls))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn healthz() -> ApiResult {
    ok(&json!({ "status": "ok" }))
}

async fn openapi_document() -> ApiResult {
    ok(&openapi::document())
}

// ---- blobs ------------------------------------------------------------------------------

async fn head_blob(
    State(app): State<App>,
    headers: HeaderMap,
    Path(digest): Path<String>,
) -> ApiResult {
    // Parsed after authentication: without a token every blob path is a 401.
    let size = call(&app, &headers, move |registry, principal| {
        registry.blob_size(principal, &Digest::parse(&digest)?)
    })
    .await?;
    Ok((
        [
            (header::CONTENT_LENGTH, HeaderValue::from(size)),
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            ),
        ],
        Body::empty(),
    )
        .into_response())
}

async fn get_blob(
    State(app): State<App>,
    headers: HeaderMap,
    Path(digest): Path<String>,
) -> ApiResult {
    let (size, reader) = call(&app, &headers, move |registry, principal| {
        registry.open_blob(principal, &Digest::parse(&digest)?)
    })
    .await?;
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::task::spawn_blocking(move || {
        let mut reader = reader;
        loop {
            let mut buffer = vec![0u8; 256 << 10];
            match reader.read(&mut buffer) {
                Ok(0) => break,
                Ok(read) => {
                    buffer.truncate(read);
                    if sender.blocking_send(Ok(Bytes::from(buffer))).is_err() {
                        break;
                    }
                }
                Err(error) => {
                    let _ = sender.blocking_send(Err(error));
                    break;
                }
            }
        }
    });
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    });
    Ok((
        [
            (header::CONTENT_LENGTH, HeaderValue::from(size)),
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

async fn put_blob(
    State(app): State<App>,
    headers: HeaderMap,
    Path(digest): Path<String>,
    body: Body,
) -> ApiResult {
    let max = app.options.max_upload_size;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    let too_large = || {
        ApiError(Error::TooLarge(format!(
            "the blob is larger than this server's limit of {max} bytes (--max-upload-size)"
        )))
    };
    if declared.is_some_and(|declared| declared > max) {
        return Ok(finish_early(body, too_large().into_response()).await);
    }
    let upload = call(&app, &headers, move |registry, principal| {
        let digest = Digest::parse(&digest)?;
        Ok((digest, registry.begin_upload(principal, &digest)?))
    })
    .await;
    let (digest, mut writer) = match upload {
        Ok((digest, Upload::Expecting(writer))) => (digest, writer),
        Ok((digest, Upload::Present(size))) => {
            let reply = json!({ "digest": digest, "size": size, "created": false });
            return Ok(finish_early(body, json_response(StatusCode::OK, &reply)).await);
        }
        Err(error) => return Ok(finish_early(body, error.into_response()).await),
    };
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Bytes>(8);
    let write_task = tokio::task::spawn_blocking(move || {
        while let Some(chunk) = receiver.blocking_recv() {
            writer.write(&chunk)?;
        }
        Ok::<_, Error>(writer)
    });
    let mut stream = body.into_data_stream();
    let mut received: u64 = 0;
    let mut failure = None;
    while let Some(frame) = stream.next().await {
        match frame {
            Ok(chunk) => {
                received = received.saturating_add(chunk.len() as u64);
                if received > max {
                    failure = Some(too_large());
                    break;
                }
                if sender.send(chunk).await.is_err() {
                    break;
                }
            }
            Err(error) => {
                failure = Some(ApiError(Error::BadRequest(format!(
                    "the upload was interrupted after {received} bytes: {error}; nothing was stored, send it again"
                ))));
                break;
            }
        }
    }
    drop(sender);
    let writer = write_task
        .await
        .map_err(|error| ApiError(Error::Internal(format!("the writer failed: {error}"))))??;
    if let Some(failure) = failure {
        // Dropping the writer removes the staged bytes.
        let _ = tokio::task::spawn_blocking(move || drop(writer)).await;
        // The rest of the body is not read: the connection cannot be reused.
        let mut response = failure.into_response();
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return Ok(response);
    }
    let size = writer.written();
    let created = blocking(move || writer.commit(&digest)).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json_response(
        status,
        &json!({ "digest": digest, "size": size, "created": created }),
    ))
}

/// Reads every request body except a blob upload's before the handler runs. A handler that
/// answers without reading the body (a refused `approve`, a 401) would otherwise leave it
/// unread, and hyper then closes the connection without saying so: a client reusing it
/// fails with "peer disconnected". Uploads stream and drain themselves ([`finish_early`]).
async fn read_whole_body(
    limit: usize,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if request.method() == axum::http::Method::PUT
        && request.uri().path().starts_with("/api/v1/blobs/")
    {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => {
            next.run(axum::extract::Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(_) => {
            let mut response = ApiError(Error::TooLarge(format!(
                "the request body is over {limit} bytes or was interrupted"
            )))
            .into_response();
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            response
        }
    }
}

/// Most of an unread upload body read and dropped before answering early, so the client can
/// keep its connection; beyond it the connection is closed instead.
const DRAIN_LIMIT: usize = 1 << 20;

/// Answers an upload before reading its body (already stored, refused): reads and drops a
/// small body so the connection stays usable, else asks the client to close it.
async fn finish_early(body: Body, mut response: Response) -> Response {
    if axum::body::to_bytes(body, DRAIN_LIMIT).await.is_err() {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

// ---- namespaces and models --------------------------------------------------------------

async fn list_namespaces(State(app): State<App>, headers: HeaderMap) -> ApiResult {
    ok(&call(&app, &headers, |registry, principal| {
        registry.namespaces(principal)
    })
    .await?)
}

async fn get_namespace(
    State(app): State<App>,
    headers: HeaderMap,
    Path(namespace): Path<String>,
) -> ApiResult {
    ok(&call(&app, &headers, move |registry, principal| {
        registry.namespace(principal, &namespace)
    })
    .await?)
}

async fn put_namespace(
    State(app): State<App>,
    headers: HeaderMap,
    Path(namespace): Path<String>,
    body: Body,
) -> ApiResult {
    let policy: NamespacePolicy = json_body(&app, body).await?;
    let (created, namespace) = call(&app, &headers, move |registry, principal| {
        registry.put_namespace(principal, &namespace, policy)
    })
    .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json_response(status, &namespace))
}

async fn list_models(
    State(app): State<App>,
    headers: HeaderMap,
    Path(namespace): Path<String>,
) -> ApiResult {
    ok(&call(&app, &headers, move |registry, principal| {
        registry.models(principal, &namespace)
    })
    .await?)
}

async fn search(
    State(app): State<App>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult {
    let text = query.get("q").cloned().unwrap_or_default();
    ok(&call(&app, &headers, move |registry, principal| {
        registry.search(principal, &text)
    })
    .await?)
}

// ---- versions ---------------------------------------------------------------------------

async fn list_versions(
    State(app): State<App>,
    headers: HeaderMap,
    Path((namespace, model)): Path<(String, String)>,
) -> ApiResult {
    ok(&call(&app, &headers, move |registry, principal| {
        registry.versions(principal, &namespace, &model)
    })
    .await?)
}

async fn create_version(
    State(app): State<App>,
    headers: HeaderMap,
    Path((namespace, model)): Path<(String, String)>,
    body: Body,
) -> ApiResult {
    let request: NewVersion = json_body(&app, body).await?;
    let (created, record) = call(&app, &headers, move |registry, principal| {
        registry.create_version(principal, &namespace, &model, request)
    })
    .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json_response(status, &record))
}

async fn get_version(
    State(app): State<App>,
    headers: HeaderMap,
    Path((namespace, model, version)): Path<(String, String, String)>,
) -> ApiResult {
    ok(&call(&app, &headers, move |registry, principal| {
        registry.version(principal, &namespace, &model, &version)
    })
    .await?)
}

async fn approve(
    State(app): State<App>,
    headers: HeaderMap,
    Path((namespace, model, version)): Path<(String, String, String)>,
) -> ApiResult {
    ok(&call(&app, &headers, move |registry, principal| {
        registry.approve(principal, &namespace, &model, &version)
    })
    .await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YankRequest {
    reason: String,
}

async fn yank(
    State(app): State<App>,
    headers: HeaderMap,
    Path((namespace, model, version)): Path<(String, String, String)>,
    body: Body,
) -> ApiResult {
    let request: YankRequest = json_body(&app, body).await?;
    ok(&call(&app, &headers, move |registry, principal| {
        registry.yank(principal, &namespace, &model, &version, &request.reason)
    })
    .await?)
}

// ---- stages -----------------------------------------------------------------------------

async fn get_stages(
    State(app): State<App>,
    headers: HeaderMap,
    Path((namespace, model)): Path<(String, String)>,
) -> ApiResult {
    ok(&call(&app, &headers, move |registry, principal| {
        registry.stages(principal, &namespace, &model)
    })
    .await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PromoteRequest {
    version: String,
    #[serde(default)]
    override_reason: Option<String>,
}

async fn promote(
    State(app): State<App>,
    headers: HeaderMap,
    Path((namespace, model, stage)): Path<(String, String, String)>,
    body: Body,
) -> ApiResult {
    let request: PromoteRequest = json_body(&app, body).await?;
    ok(&call(&app, &headers, move |registry, principal| {
        registry.promote(
            principal,
            &namespace,
            &model,
            &stage,
            &request.version,
            request.override_reason.as_deref(),
        )
    })
    .await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RollbackRequest {
    #[serde(default)]
    override_reason: Option<String>,
}

async fn rollback(
    State(app): State<App>,
    headers: HeaderMap,
    Path((namespace, model, stage)): Path<(String, String, String)>,
    body: Body,
) -> ApiResult {
    let request: RollbackRequest = json_body(&app, body).await?;
    ok(&call(&app, &headers, move |registry, principal| {
        registry.rollback(
            principal,
            &namespace,
            &model,
            &stage,
            request.override_reason.as_deref(),
        )
    })
    .await?)
}

// ---- tokens -----------------------------------------------------------------------------

async fn list_tokens(State(app): State<App>, headers: HeaderMap) -> ApiResult {
    ok(&call(&app, &headers, |registry, principal| {
        registry.list_tokens(principal)
    })
    .await?)
}

async fn create_token(State(app): State<App>, headers: HeaderMap, body: Body) -> ApiResult {
    let request: NewToken = json_body(&app, body).await?;
    let issued = call(&app, &headers, move |registry, principal| {
        registry.create_token(principal, request)
    })
    .await?;
    Ok(json_response(StatusCode::CREATED, &issued))
}

async fn revoke_token(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    ok(&call(&app, &headers, move |registry, principal| {
        registry.revoke_token(principal, &id)
    })
    .await?)
}

// ---- audit log --------------------------------------------------------------------------

fn number(query: &HashMap<String, String>, name: &str) -> Result<Option<u64>, Error> {
    query
        .get(name)
        .map(|value| {
            value
                .parse::<u64>()
                .map_err(|_| Error::BadRequest(format!("`{name}` must be a non-negative integer")))
        })
        .transpose()
}

async fn log_key(State(app): State<App>, headers: HeaderMap) -> ApiResult {
    text(
        call(&app, &headers, |registry, principal| {
            registry.log_key(principal)
        })
        .await?
            + "\n",
    )
}

async fn log_checkpoint(State(app): State<App>, headers: HeaderMap) -> ApiResult {
    text(
        call(&app, &headers, |registry, principal| {
            registry.checkpoint(principal)
        })
        .await?,
    )
}

async fn log_inclusion(
    State(app): State<App>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult {
    let index = number(&query, "index")?
        .ok_or_else(|| Error::BadRequest("`index` is required".to_owned()))?;
    let size = number(&query, "size")?;
    text(
        call(&app, &headers, move |registry, principal| {
            registry.prove_inclusion(principal, index, size)
        })
        .await?,
    )
}

async fn log_consistency(
    State(app): State<App>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult {
    let from = number(&query, "from")?
        .ok_or_else(|| Error::BadRequest("`from` is required".to_owned()))?;
    let to = number(&query, "to")?;
    text(
        call(&app, &headers, move |registry, principal| {
            registry.prove_consistency(principal, from, to)
        })
        .await?,
    )
}

async fn log_entry(
    State(app): State<App>,
    headers: HeaderMap,
    Path(index): Path<String>,
) -> ApiResult {
    let index: u64 = index.parse().map_err(|_| {
        Error::BadRequest("the entry index must be a non-negative integer".to_owned())
    })?;
    let entry = call(&app, &headers, move |registry, principal| {
        registry.log_entry(principal, index)
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], entry).into_response())
}
