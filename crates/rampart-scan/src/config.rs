//! `rampart.toml`: the one configuration file, shared by the CLI and (later) the registry so
//! both reach the same verdict for the same bytes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rampart_core::policy::Waiver;
use rampart_core::{Limits, Policy, PolicyError, Rule, Severity};
use rampart_pickle::PickleConfig;
use serde::Deserialize;

pub const FILE_NAME: &str = "rampart.toml";

/// The parsed configuration file. Every table is optional; unknown keys are errors so a
/// typo never silently weakens a policy.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The lowest severity that fails the gate (exit code 1). `--fail-on` overrides it.
    pub fail_on: Option<Severity>,
    /// Per-rule severity overrides: `"pickle/disallowed-import" = "high"`.
    pub severity: BTreeMap<String, Severity>,
    /// `[[waiver]]` entries: rule, path glob, mandatory reason, optional expiry.
    pub waiver: Vec<Waiver>,
    pub limits: Limits,
    pub pickle: PickleConfig,
    pub scan: ScanTable,
}

/// `[scan]`: what `rampart scan` looks at.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScanTable {
    /// Scanners to run [default: all]; `--scanners` overrides.
    pub scanners: Option<Vec<ScannerKind>>,
    /// Paths not to read or enter (globs; see `Exclude`); `--exclude` adds to them.
    pub exclude: Vec<String>,
}

/// One family of checks `rampart scan` runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScannerKind {
    /// Model files: code that runs on load.
    Model,
    /// Infrastructure, IAM, Kubernetes, container and pipeline configuration.
    Config,
    /// Leaked credentials in code, configuration and notebooks.
    Secret,
}

impl std::str::FromStr for ScannerKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "model" => Ok(ScannerKind::Model),
            "config" => Ok(ScannerKind::Config),
            "secret" => Ok(ScannerKind::Secret),
            other => Err(format!(
                "unknown scanner `{other}` (expected model, config or secret)"
            )),
        }
    }
}

/// Which scanners run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scanners {
    pub model: bool,
    pub config: bool,
    pub secret: bool,
}

impl Default for Scanners {
    fn default() -> Self {
        Scanners {
            model: true,
            config: true,
            secret: true,
        }
    }
}

impl Scanners {
    pub fn only(kinds: &[ScannerKind]) -> Scanners {
        Scanners {
            model: kinds.contains(&ScannerKind::Model),
            config: kinds.contains(&ScannerKind::Config),
            secret: kinds.contains(&ScannerKind::Secret),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid policy in {path}: {source}")]
    Policy { path: PathBuf, source: PolicyError },
    #[error("invalid [pickle] table in {path}: {message}")]
    Pickle { path: PathBuf, message: String },
}

impl Config {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    /// Looks for `rampart.toml` in `start` and its ancestors, stopping at a repository root
    /// (a directory containing `.git`) so a config from outside the project never applies.
    pub fn discover(start: &Path) -> Option<PathBuf> {
        let mut dir = Some(start);
        while let Some(current) = dir {
            let candidate = current.join(FILE_NAME);
            if candidate.is_file() {
                return Some(candidate);
            }
            if current.join(".git").exists() {
                return None;
            }
            dir = current.parent();
        }
        None
    }

    /// The validated policy (overrides + waivers) against `known`, every rule the caller
    /// can report (the scan engine's and those of other checks the CLI composes).
    pub fn policy(&self, origin: &Path, known: &[&Rule]) -> Result<Policy, ConfigError> {
        Policy::new(
            self.severity.clone(),
            self.waiver.clone(),
            known.iter().map(|rule| rule.id),
        )
        .map_err(|source| ConfigError::Policy {
            path: origin.to_owned(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_table_and_rejects_typos() {
        let config: Config = toml::from_str(
            r#"
            fail_on = "medium"
            [severity]
            "pickle/disallowed-import" = "high"
            [limits]
            max_depth = 3
            [pickle]
            allow = ["mylab.models.*"]
            [[waiver]]
            rule = "scan/malformed"
            path = "vendor/**"
            reason = "vendored fixtures, see SEC-12"
            expires = 2027-01-31
            "#,
        )
        .unwrap();
        assert_eq!(config.fail_on, Some(Severity::Medium));
        assert_eq!(config.limits.max_depth, 3);
        assert_eq!(config.limits.max_members, Limits::default().max_members);
        assert_eq!(config.waiver[0].expires.unwrap().to_string(), "2027-01-31");
        assert!(toml::from_str::<Config>("fail-on = 'high'").is_err());
        assert!(toml::from_str::<Config>("[limits]\nmax_dept = 3").is_err());
    }
}
