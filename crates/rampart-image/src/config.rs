//! The image config (`application/vnd.oci.image.config.v1+json`, docker's image JSON): what
//! the image runs, as whom, with which environment, and how it was built.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::{ImageError, Result};

/// The parts of the image config a security review looks at.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageConfig {
    pub os: Option<String>,
    pub architecture: Option<String>,
    pub variant: Option<String>,
    pub created: Option<String>,
    /// `User`; `None` or empty means root.
    pub user: Option<String>,
    /// `Env` as `NAME=value` strings, in order.
    pub env: Vec<String>,
    pub labels: BTreeMap<String, String>,
    /// `ExposedPorts` keys such as `8080/tcp`.
    pub exposed_ports: Vec<String>,
    pub volumes: Vec<String>,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub working_dir: Option<String>,
    pub history: Vec<HistoryEntry>,
    /// `rootfs.diff_ids`: the digests of the uncompressed layer tars, in layer order.
    pub diff_ids: Vec<String>,
}

/// One build step.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct HistoryEntry {
    #[serde(default)]
    pub created: Option<String>,
    #[serde(default)]
    pub created_by: Option<String>,
    #[serde(default)]
    pub comment: Option<String>,
    /// The step changed only metadata and produced no layer.
    #[serde(default)]
    pub empty_layer: bool,
}

impl ImageConfig {
    pub(crate) fn parse(json: &[u8], what: &str) -> Result<ImageConfig> {
        let raw: RawConfig =
            serde_json::from_slice(json).map_err(|error| ImageError::Malformed {
                what: what.to_owned(),
                reason: error.to_string(),
            })?;
        let run = raw.config.unwrap_or_default();
        Ok(ImageConfig {
            os: raw.os,
            architecture: raw.architecture,
            variant: raw.variant,
            created: raw.created,
            user: run.user,
            env: run.env.unwrap_or_default(),
            labels: run.labels.unwrap_or_default(),
            exposed_ports: run.exposed_ports.unwrap_or_default().into_keys().collect(),
            volumes: run.volumes.unwrap_or_default().into_keys().collect(),
            entrypoint: run.entrypoint.unwrap_or_default(),
            cmd: run.cmd.unwrap_or_default(),
            working_dir: run.working_dir,
            history: raw.history.unwrap_or_default(),
            diff_ids: raw
                .rootfs
                .and_then(|rootfs| rootfs.diff_ids)
                .unwrap_or_default(),
        })
    }

    /// Whether the container runs as root: no `User`, or user 0 / `root` (with any group).
    pub fn runs_as_root(&self) -> bool {
        let user = self.user.as_deref().unwrap_or("");
        let name = user.split(':').next().unwrap_or("");
        name.is_empty() || name == "0" || name == "root"
    }

    /// The build step that produced layer `index`: history entries without `empty_layer`
    /// correspond to the layers in order.
    pub fn history_for_layer(&self, index: usize) -> Option<&HistoryEntry> {
        self.history
            .iter()
            .filter(|entry| !entry.empty_layer)
            .nth(index)
    }
}

#[derive(Deserialize)]
struct RawConfig {
    os: Option<String>,
    architecture: Option<String>,
    variant: Option<String>,
    created: Option<String>,
    config: Option<RunConfig>,
    rootfs: Option<RootFs>,
    history: Option<Vec<HistoryEntry>>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RunConfig {
    user: Option<String>,
    env: Option<Vec<String>>,
    labels: Option<BTreeMap<String, String>>,
    exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
    volumes: Option<BTreeMap<String, serde_json::Value>>,
    entrypoint: Option<Vec<String>>,
    cmd: Option<Vec<String>>,
    working_dir: Option<String>,
}

#[derive(Deserialize)]
struct RootFs {
    diff_ids: Option<Vec<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_docker_config_fields() {
        let json = br#"{"architecture":"amd64","os":"linux","created":"2024-01-01T00:00:00Z",
            "config":{"User":"1000:1000","Env":["PATH=/usr/bin","HF_TOKEN=hf_x"],
              "Labels":{"org.opencontainers.image.source":"https://example.com"},
              "ExposedPorts":{"8080/tcp":{}},"Volumes":{"/models":{}},
              "Entrypoint":["python","-m","serve"],"Cmd":null,"WorkingDir":"/app"},
            "rootfs":{"type":"layers","diff_ids":["sha256:aa"]},
            "history":[{"created_by":"ENV A=b","empty_layer":true},{"created_by":"RUN pip install x"}]}"#;
        let config = ImageConfig::parse(json, "config").ok();
        let Some(config) = config else {
            panic!("valid config did not parse");
        };
        assert_eq!(config.user.as_deref(), Some("1000:1000"));
        assert!(!config.runs_as_root());
        assert_eq!(config.env.len(), 2);
        assert_eq!(config.exposed_ports, ["8080/tcp"]);
        assert_eq!(config.volumes, ["/models"]);
        assert_eq!(config.entrypoint, ["python", "-m", "serve"]);
        assert!(config.cmd.is_empty());
        assert_eq!(config.diff_ids, ["sha256:aa"]);
        assert_eq!(
            config
                .history_for_layer(0)
                .and_then(|h| h.created_by.as_deref()),
            Some("RUN pip install x")
        );
        assert!(config.history_for_layer(1).is_none());
    }

    #[test]
    fn missing_user_is_root_and_bad_json_is_an_error() {
        let config = ImageConfig::parse(br#"{"config":{"User":"root:root"}}"#, "c").ok();
        assert!(config.is_some_and(|c| c.runs_as_root()));
        assert!(ImageConfig::parse(b"{}", "c").is_ok_and(|c| c.runs_as_root()));
        assert!(ImageConfig::parse(br#"{"config":{"Env":"A=b"}}"#, "c").is_err());
        assert!(ImageConfig::parse(b"[", "c").is_err());
    }
}
