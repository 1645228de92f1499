//! The hand-written OpenAPI 3.1 document served at `/openapi.json`. A test requires its
//! operations to be exactly the router's routes.

use serde_json::{Map, Value, json};

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": schema_ref("Error") } }
    })
}

fn json_response(description: &str, schema: Value) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": schema } } })
}

fn text_response(description: &str) -> Value {
    json!({ "description": description, "content": { "text/plain": { "schema": { "type": "string" } } } })
}

fn path_parameter(name: &str, description: &str) -> Value {
    json!({ "name": name, "in": "path", "required": true, "description": description, "schema": { "type": "string" } })
}

fn query_parameter(name: &str, required: bool, integer: bool) -> Value {
    let schema = if integer {
        json!({ "type": "integer", "minimum": 0, "maximum": u64::MAX })
    } else {
        json!({ "type": "string" })
    };
    json!({ "name": name, "in": "query", "required": required, "schema": schema })
}

struct Operation {
    summary: &'static str,
    /// Who may call it (shown in the description).
    roles: &'static str,
    parameters: Vec<Value>,
    body: Option<Value>,
    responses: Vec<(&'static str, Value)>,
    public: bool,
}

impl Operation {
    fn new(summary: &'static str, roles: &'static str) -> Self {
        Operation {
            summary,
            roles,
            parameters: Vec::new(),
            body: None,
            responses: Vec::new(),
            public: false,
        }
    }

    fn parameters(mut self, parameters: Vec<Value>) -> Self {
        self.parameters = parameters;
        self
    }

    fn body(mut self, schema: Value, required: bool) -> Self {
        self.body = Some(json!({
            "required": required,
            "content": { "application/json": { "schema": schema } }
        }));
        self
    }

    fn respond(mut self, status: &'static str, response: Value) -> Self {
        self.responses.push((status, response));
        self
    }

    fn public(mut self) -> Self {
        self.public = true;
        self
    }

    fn build(self, id: &str) -> Value {
        let mut responses = Map::new();
        for (status, response) in self.responses {
            responses.insert(status.to_owned(), response);
        }
        if !self.public {
            responses
                .entry("400")
                .or_insert_with(|| error_response("Invalid request"));
            responses.insert("401".into(), error_response("No valid token"));
            responses.insert(
                "403".into(),
                error_response("The token's role or namespace does not allow this"),
            );
            responses
                .entry("404")
                .or_insert_with(|| error_response("Not found or not visible to the caller"));
            responses.insert("500".into(), error_response("Internal error"));
        }
        let mut operation = json!({
            "operationId": id,
            "summary": self.summary,
            "description": format!("Allowed for: {}.", self.roles),
            "responses": responses,
        });
        if !self.parameters.is_empty() {
            operation["parameters"] = Value::Array(self.parameters);
        }
        if let Some(body) = self.body {
            operation["requestBody"] = body;
        }
        if self.public {
            operation["security"] = json!([]);
        }
        operation
    }
}

/// A path parameter whose values the handlers validate with `pattern` (the rules of
/// `names.rs`), so generated clients and fuzzers know what is valid.
fn patterned(name: &str, description: &str, pattern: &str) -> Value {
    let mut parameter = path_parameter(name, description);
    parameter["schema"]["pattern"] = json!(pattern);
    parameter
}
const NAME_PATTERN: &str = "^[a-z0-9][a-z0-9._-]{0,63}$";

fn ns() -> Value {
    patterned("namespace", "Namespace name", NAME_PATTERN)
}
fn model() -> Value {
    patterned("model", "Model name", NAME_PATTERN)
}
fn version() -> Value {
    patterned("version", "Version", "^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")
}
fn stage() -> Value {
    patterned("stage", "Stage name, e.g. production", NAME_PATTERN)
}
fn digest() -> Value {
    patterned(
        "digest",
        "`sha256:` and 64 lower-case hex digits",
        "^sha256:[0-9a-f]{64}$",
    )
}

fn array_of(name: &str) -> Value {
    json!({ "type": "array", "items": schema_ref(name) })
}

fn operations() -> Vec<(&'static str, &'static str, &'static str, Operation)> {
    let version_ok = || json_response("The version", schema_ref("Version"));
    let stages_ok = || json_response("The model's stages", schema_ref("Stages"));
    vec![
        ("/healthz", "get", "healthz", Operation::new("Liveness check", "anyone")
            .public()
            .respond("200", json_response("Up", json!({ "type": "object", "properties": { "status": { "type": "string" } } })))),
        ("/openapi.json", "get", "openapi", Operation::new("This document", "anyone")
            .public()
            .respond("200", json_response("The OpenAPI document", json!({ "type": "object" })))),
        ("/api/v1/blobs/{digest}", "head", "headBlob", Operation::new("Whether a blob is stored, and its size (Content-Length)", "publishers (any blob), others (blobs of versions they may read)")
            .parameters(vec![digest()])
            .respond("200", json!({ "description": "Stored; Content-Length is its size" }))),
        ("/api/v1/blobs/{digest}", "get", "getBlob", Operation::new("Download a blob of a version that passed its gates", "every role, for blobs of servable versions in its namespaces")
            .parameters(vec![digest()])
            .respond("200", json!({ "description": "The bytes", "content": { "application/octet-stream": { "schema": { "type": "string", "contentMediaType": "application/octet-stream" } } } }))),
        ("/api/v1/blobs/{digest}", "put", "putBlob", Operation::new("Upload a blob; the body's SHA-256 must equal the digest", "publisher")
            .parameters(vec![digest()])
            .respond("200", json_response("Already stored (nothing written)", schema_ref("BlobStored")))
            .respond("201", json_response("Stored", schema_ref("BlobStored")))
            .respond("400", error_response("Invalid digest, or the body does not hash to it (code digest_mismatch); nothing stored"))
            .respond("413", error_response("Larger than --max-upload-size; nothing stored"))),
        ("/api/v1/namespaces", "get", "listNamespaces", Operation::new("Namespaces the token covers", "every role")
            .respond("200", json_response("Namespaces", array_of("Namespace")))),
        ("/api/v1/namespaces/{namespace}", "get", "getNamespace", Operation::new("A namespace and its policy", "every role in the namespace")
            .parameters(vec![ns()])
            .respond("200", json_response("The namespace", schema_ref("Namespace")))),
        ("/api/v1/namespaces/{namespace}", "put", "putNamespace", Operation::new("Create a namespace or replace its policy (audited)", "admin")
            .parameters(vec![ns()])
            .body(schema_ref("NamespacePolicy"), true)
            .respond("200", json_response("Updated", schema_ref("Namespace")))
            .respond("201", json_response("Created", schema_ref("Namespace")))
            .respond("413", error_response("Body too large"))),
        ("/api/v1/namespaces/{namespace}/models", "get", "listModels", Operation::new("Models of a namespace with their stage pointers", "every role in the namespace")
            .parameters(vec![ns()])
            .respond("200", json_response("Models", array_of("ModelSummary")))),
        ("/api/v1/namespaces/{namespace}/models/{model}/versions", "get", "listVersions", Operation::new("Versions of a model, oldest first", "every role in the namespace")
            .parameters(vec![ns(), model()])
            .respond("200", json_response("Versions", array_of("Version")))),
        ("/api/v1/namespaces/{namespace}/models/{model}/versions", "post", "createVersion", Operation::new("Create a version from uploaded blobs and run its gates synchronously", "publisher")
            .parameters(vec![ns(), model()])
            .body(schema_ref("NewVersion"), true)
            .respond("200", json_response("An identical version already existed", schema_ref("Version")))
            .respond("201", json_response("Created; see state and gates", schema_ref("Version")))
            .respond("409", error_response("The version exists with different content"))
            .respond("413", error_response("Body too large"))),
        ("/api/v1/namespaces/{namespace}/models/{model}/versions/{version}", "get", "getVersion", Operation::new("A version: files, state, gate results, approvals, audit entries", "every role in the namespace")
            .parameters(vec![ns(), model(), version()])
            .respond("200", version_ok())),
        ("/api/v1/namespaces/{namespace}/models/{model}/versions/{version}/approve", "post", "approveVersion", Operation::new("Approve a version that passed its gates (never one's own)", "approver (not the publisher)")
            .parameters(vec![ns(), model(), version()])
            .respond("200", version_ok())
            .respond("409", error_response("Quarantined or yanked, or already approved by this user"))),
        ("/api/v1/namespaces/{namespace}/models/{model}/versions/{version}/yank", "post", "yankVersion", Operation::new("Withdraw a version (audited; never served again)", "admin")
            .parameters(vec![ns(), model(), version()])
            .body(json!({ "type": "object", "required": ["reason"], "additionalProperties": false, "properties": { "reason": { "type": "string" } } }), true)
            .respond("200", version_ok())
            .respond("409", error_response("Already yanked"))
            .respond("413", error_response("Body too large"))),
        ("/api/v1/namespaces/{namespace}/models/{model}/stages", "get", "getStages", Operation::new("Current stage pointers and their history", "every role in the namespace")
            .parameters(vec![ns(), model()])
            .respond("200", stages_ok())),
        ("/api/v1/namespaces/{namespace}/models/{model}/stages/{stage}", "post", "promote", Operation::new("Point a stage at a version: approvers when the stage policy is met; admins only with override_reason (audited)", "approver, or admin with override_reason; never the version's publisher")
            .parameters(vec![ns(), model(), stage()])
            .body(json!({ "type": "object", "required": ["version"], "additionalProperties": false, "properties": { "version": { "type": "string" }, "override_reason": { "type": "string" } } }), true)
            .respond("200", stages_ok())
            .respond("409", error_response("The version or the stage policy does not allow it"))
            .respond("413", error_response("Body too large"))),
        ("/api/v1/namespaces/{namespace}/models/{model}/stages/{stage}/rollback", "post", "rollback", Operation::new("Point a stage back at the previous version in its history that is still approved", "approver, or admin with override_reason; never the target's publisher")
            .parameters(vec![ns(), model(), stage()])
            .body(json!({ "type": "object", "additionalProperties": false, "properties": { "override_reason": { "type": "string" } } }), false)
            .respond("200", stages_ok())
            .respond("409", error_response("No earlier approved version"))
            .respond("413", error_response("Body too large"))),
        ("/api/v1/search", "get", "search", Operation::new("Models whose name contains q, in the namespaces the token covers", "every role")
            .parameters(vec![query_parameter("q", false, false)])
            .respond("200", json_response("Models", array_of("ModelSummary")))),
        ("/api/v1/tokens", "get", "listTokens", Operation::new("Tokens (never their secrets)", "admin")
            .respond("200", json_response("Tokens", array_of("Token")))),
        ("/api/v1/tokens", "post", "createToken", Operation::new("Issue a token; the secret is returned once", "admin (a namespace admin only for its namespace)")
            .body(schema_ref("NewToken"), true)
            .respond("201", json_response("Issued", schema_ref("IssuedToken")))
            .respond("413", error_response("Body too large"))),
        ("/api/v1/tokens/{id}/revoke", "post", "revokeToken", Operation::new("Revoke a token (audited)", "admin")
            .parameters(vec![path_parameter("id", "Token id")])
            .respond("200", json_response("The revoked token", schema_ref("Token")))),
        ("/api/v1/log/key", "get", "logKey", Operation::new("The audit log's verifier key (name+id+key)", "every role")
            .respond("200", text_response("The key"))),
        ("/api/v1/log/checkpoint", "get", "logCheckpoint", Operation::new("The latest signed checkpoint (C2SP tlog-checkpoint)", "every role")
            .respond("200", text_response("The signed note"))),
        ("/api/v1/log/proof/inclusion", "get", "logInclusionProof", Operation::new("A c2sp.org/tlog-proof@v1 proof that entry index is in the tree of size (default: current)", "every role")
            .parameters(vec![query_parameter("index", true, true), query_parameter("size", false, true)])
            .respond("200", text_response("The proof, for `rampart log verify-proof`"))),
        ("/api/v1/log/proof/consistency", "get", "logConsistencyProof", Operation::new("A consistency proof from tree size from to to (default: current)", "every role")
            .parameters(vec![query_parameter("from", true, true), query_parameter("to", false, true)])
            .respond("200", text_response("The proof"))),
        ("/api/v1/log/entries/{index}", "get", "logEntry", Operation::new("The bytes of one audit entry (canonical JSON)", "every role")
            .parameters(vec![json!({ "name": "index", "in": "path", "required": true, "description": "Entry index", "schema": { "type": "integer", "minimum": 0, "maximum": u64::MAX } })])
            .respond("200", json_response("The entry", schema_ref("AuditEntry")))),
    ]
}

fn schemas() -> Value {
    let gate = json!({
        "type": "object", "required": ["status", "detail"],
        "properties": {
            "status": { "type": "string", "enum": ["passed", "failed", "absent"] },
            "detail": { "type": "string" }
        }
    });
    let string = json!({ "type": "string" });
    let nullable_string = json!({ "type": ["string", "null"] });
    json!({
        "Error": {
            "type": "object", "required": ["error"],
            "properties": { "error": { "type": "object", "required": ["code", "message"], "properties": {
                "code": { "type": "string", "enum": ["bad_request", "digest_mismatch", "unauthorized", "forbidden", "not_found", "conflict", "refused", "too_large", "internal"] },
                "message": string
            } } }
        },
        "BlobStored": {
            "type": "object", "required": ["digest", "size", "created"],
            "properties": { "digest": string, "size": { "type": "integer" }, "created": { "type": "boolean" } }
        },
        "FileEntry": {
            "type": "object", "required": ["path", "digest", "size"], "additionalProperties": false,
            "properties": {
                "path": { "type": "string", "description": "Relative, /-separated, no `..`, no backslash or control characters" },
                "digest": { "type": "string", "pattern": "^sha256:[0-9a-f]{64}$" },
                "size": { "type": "integer", "minimum": 0 }
            }
        },
        "NewVersion": {
            "type": "object", "required": ["version", "files"], "additionalProperties": false,
            "properties": {
                "version": string,
                "files": { "type": "array", "items": schema_ref("FileEntry") },
                "signature": { "type": ["object", "null"], "description": "OMS signature bundle (rampart sign)" },
                "provenance": { "type": ["object", "null"], "description": "DSSE envelope with SLSA provenance (rampart attest)" }
            }
        },
        "Gates": {
            "type": "object", "required": ["scan", "scan_report", "signature", "provenance"],
            "properties": { "scan": gate, "scan_report": { "description": "The rampart scan JSON report" }, "signature": gate, "provenance": gate }
        },
        "Version": {
            "type": "object",
            "required": ["namespace", "model", "version", "files", "manifest_digest", "publisher", "state", "created_at", "approvals", "audit"],
            "properties": {
                "namespace": string, "model": string, "version": string,
                "files": { "type": "array", "items": schema_ref("FileEntry") },
                "manifest_digest": string,
                "signature": { "type": ["object", "null"] },
                "provenance": { "type": ["object", "null"] },
                "publisher": string,
                "state": { "type": "string", "enum": ["quarantined", "scanned", "verified", "approved", "yanked"] },
                "reason": nullable_string,
                "created_at": string,
                "gates": { "oneOf": [schema_ref("Gates"), { "type": "null" }] },
                "approvals": { "type": "array", "items": { "type": "object", "properties": { "user": string, "time": string } } },
                "audit": { "type": "array", "items": { "type": "object", "properties": { "action": string, "index": { "type": ["integer", "null"] } } } },
                "stage_history": { "type": "array", "items": schema_ref("StageEvent") }
            }
        },
        "StagePolicy": {
            "type": "object", "additionalProperties": false,
            "properties": {
                "require_signature": { "type": "boolean", "default": false },
                "require_provenance": { "type": "boolean", "default": false },
                "approvals": { "type": "integer", "minimum": 0, "default": 1 }
            }
        },
        "NamespacePolicy": {
            "type": "object", "additionalProperties": false,
            "properties": {
                "trusted_keys": { "type": "array", "items": { "type": "string", "description": "PEM public key" } },
                "stages": { "type": "object", "additionalProperties": schema_ref("StagePolicy") }
            }
        },
        "Namespace": {
            "type": "object", "required": ["name", "policy", "updated_at", "updated_by"],
            "properties": { "name": string, "policy": schema_ref("NamespacePolicy"), "updated_at": string, "updated_by": string }
        },
        "ModelSummary": {
            "type": "object", "required": ["namespace", "model", "versions", "stages"],
            "properties": { "namespace": string, "model": string, "versions": { "type": "integer" }, "stages": { "type": "object", "additionalProperties": string } }
        },
        "Stages": {
            "type": "object", "required": ["current", "history"],
            "properties": {
                "current": { "type": "object", "additionalProperties": string },
                "history": { "type": "array", "items": schema_ref("StageEvent") }
            }
        },
        "StageEvent": {
            "type": "object", "required": ["stage", "version", "action", "actor", "time"],
            "properties": {
                "stage": string, "version": string,
                "action": { "type": "string", "enum": ["promote", "rollback", "override"] },
                "actor": string, "time": string, "reason": nullable_string
            }
        },
        "NewToken": {
            "type": "object", "required": ["user", "role", "namespace"], "additionalProperties": false,
            "properties": {
                "user": string,
                "role": { "type": "string", "enum": ["reader", "publisher", "approver", "admin"] },
                "namespace": { "type": "string", "description": "A namespace or *" },
                "expires_in_days": { "type": ["integer", "null"], "minimum": 1 }
            }
        },
        "Token": {
            "type": "object", "required": ["id", "user", "role", "namespace", "revoked", "created_at", "created_by"],
            "properties": {
                "id": string, "user": string, "role": { "type": "string", "enum": ["reader", "publisher", "approver", "admin"] },
                "namespace": string, "expires_at": nullable_string, "revoked": { "type": "boolean" },
                "created_at": string, "created_by": string
            }
        },
        "IssuedToken": {
            "allOf": [schema_ref("Token"), { "type": "object", "required": ["token"], "properties": { "token": { "type": "string", "description": "rmp_… shown once" } } }]
        },
        "AuditEntry": {
            "type": "object", "required": ["action", "actor", "details", "object", "time"],
            "properties": {
                "action": string, "actor": string, "after": nullable_string, "before": nullable_string,
                "details": { "type": "object", "additionalProperties": string }, "object": string, "time": string
            }
        }
    })
}

/// The OpenAPI 3.1 document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for (path, method, id, operation) in operations() {
        let entry = paths
            .entry(path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(methods) = entry {
            methods.insert(method.to_owned(), operation.build(id));
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "rampart model registry",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Immutable model versions behind scan, signature and provenance gates, per-namespace roles with separation of duties, and a transparency log of every state change."
        },
        "servers": [{ "url": "/" }],
        "security": [{ "bearer": [] }],
        "paths": paths,
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer", "description": "rmp_… token from `rampart registry init` or `rampart registry token create`" } },
            "schemas": schemas()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_lists_exactly_the_routes() {
        let mut documented: Vec<(String, String)> = Vec::new();
        let doc = document();
        for (path, methods) in doc["paths"].as_object().expect("paths") {
            for method in methods.as_object().expect("methods").keys() {
                documented.push((method.to_uppercase(), path.clone()));
            }
        }
        let mut routed: Vec<(String, String)> = crate::api::route_table()
            .into_iter()
            .map(|(method, path)| (method.to_owned(), path.to_owned()))
            .collect();
        documented.sort();
        routed.sort();
        assert_eq!(documented, routed);
    }

    #[test]
    fn every_reference_resolves() {
        let doc = document();
        let text = doc.to_string();
        let schemas = doc["components"]["schemas"].as_object().expect("schemas");
        for reference in text.split("#/components/schemas/").skip(1) {
            let name: String = reference
                .chars()
                .take_while(|c| c.is_alphanumeric())
                .collect();
            assert!(
                schemas.contains_key(&name),
                "{name} is referenced but not defined"
            );
        }
    }
}
