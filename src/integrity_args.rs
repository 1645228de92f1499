//! Arguments shared by `hash`, `sign`, `verify` and `scan --verify-signature`, and their
//! translation into the integrity crate's options.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, ValueEnum};
use rampart_integrity::{HashAlgorithm, HashOptions, Serialization, Trust, VerifyingKey};
use rampart_x509::{PathPolicy, ValidationTime};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AlgorithmArg {
    /// SHA-256 (the OMS default; the only hash model_signing's CLI verifies).
    Sha256,
    /// BLAKE3: fastest, uses every core even on one file.
    Blake3,
    /// BLAKE2b-512.
    Blake2b,
}

impl From<AlgorithmArg> for HashAlgorithm {
    fn from(value: AlgorithmArg) -> Self {
        match value {
            AlgorithmArg::Sha256 => HashAlgorithm::Sha256,
            AlgorithmArg::Blake3 => HashAlgorithm::Blake3,
            AlgorithmArg::Blake2b => HashAlgorithm::Blake2b,
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct HashingArgs {
    /// Content hash [default: sha256; when verifying: the one the signature records].
    #[arg(long, value_enum, value_name = "ALGORITHM")]
    pub algorithm: Option<AlgorithmArg>,

    /// Shards mode: hash every file in pieces of SIZE bytes, so one big file uses every
    /// core (accepts K, M, G, KiB, MiB, GiB suffixes). model_signing's CLI cannot verify it.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub shard_size: Option<u64>,

    /// Leave PATH out (a file or a directory; relative to the current directory like
    /// model_signing, or to the model). Repeatable.
    #[arg(long = "ignore-paths", value_name = "PATH")]
    pub ignore_paths: Vec<PathBuf>,

    /// Also hash .git, .gitattributes, .github and .gitignore (left out by default).
    #[arg(long)]
    pub no_ignore_git_paths: bool,

    /// Hash a symlink to a file as the content it points to (by default a symlink is an error).
    #[arg(long)]
    pub allow_symlinks: bool,
}

impl HashingArgs {
    /// The serialization asked for, if any flag chose one.
    pub fn serialization(&self) -> anyhow::Result<Option<Serialization>> {
        let hash = self.algorithm.map(HashAlgorithm::from);
        match (self.shard_size, hash) {
            (Some(_), Some(HashAlgorithm::Blake3)) => anyhow::bail!(
                "--shard-size works with sha256 and blake2b; blake3 already hashes one file on every core"
            ),
            (Some(0), _) => anyhow::bail!("--shard-size must be at least 1 byte"),
            (Some(shard_size), hash) => Ok(Some(Serialization::Shards {
                hash: hash.unwrap_or(HashAlgorithm::Sha256),
                shard_size,
            })),
            (None, Some(hash)) => Ok(Some(Serialization::Files { hash })),
            (None, None) => Ok(None),
        }
    }

    /// Hash options for `model`, with `extra_ignores` (model-relative) added.
    pub fn hash_options(
        &self,
        model: &Path,
        extra_ignores: Vec<String>,
    ) -> anyhow::Result<HashOptions> {
        let serialization = self.serialization()?.unwrap_or(Serialization::Files {
            hash: HashAlgorithm::Sha256,
        });
        let mut options = HashOptions::new(serialization);
        options.ignore_git_paths = !self.no_ignore_git_paths;
        options.allow_symlinks = self.allow_symlinks;
        options.ignore_paths = self.model_relative_ignores(model);
        options.ignore_paths.extend(extra_ignores);
        Ok(options)
    }

    /// `--ignore-paths` as paths inside `model`. Each is taken relative to the current
    /// directory first (as model_signing does), then relative to the model; one that is in
    /// neither is reported and has no effect.
    pub fn model_relative_ignores(&self, model: &Path) -> Vec<String> {
        let mut inside = Vec::new();
        for path in &self.ignore_paths {
            if let Some(relative) = rampart_integrity::path_inside(model, path) {
                inside.push(relative);
            } else if path.is_relative() && model.join(path).exists() {
                if let Some(relative) = rampart_integrity::path_inside(model, &model.join(path)) {
                    inside.push(relative);
                }
            } else {
                eprintln!(
                    "warning: --ignore-paths {} is not inside {}; it has no effect",
                    path.display(),
                    model.display()
                );
            }
        }
        inside
    }
}

/// Whom a signature must come from.
#[derive(Args, Debug, Clone, Default)]
pub struct TrustArgs {
    /// The signer's public key (PEM SubjectPublicKeyInfo).
    #[arg(long, value_name = "PUB.pem", conflicts_with = "certificate_chain")]
    pub key: Option<PathBuf>,

    /// Trust anchors for certificate-signed models: PEM files of root (and optionally
    /// intermediate) certificates. Repeatable. No system or web roots are ever used.
    #[arg(long = "certificate-chain", value_name = "ROOT.pem")]
    pub certificate_chain: Vec<PathBuf>,

    /// Require the signing certificate to name this identity (an e-mail, URI or DNS name
    /// in its subjectAltName, or its subject CN). Repeatable: any one matches.
    #[arg(
        long = "certificate-identity",
        value_name = "IDENTITY",
        requires = "certificate_chain"
    )]
    pub certificate_identity: Vec<String>,

    /// Refuse a signing certificate that has expired (by default, like model_signing, the
    /// chain is checked at the time the certificate became valid, and expiry is a warning).
    #[arg(long, requires = "certificate_chain")]
    pub reject_expired: bool,
}

impl TrustArgs {
    pub fn is_given(&self) -> bool {
        self.key.is_some() || !self.certificate_chain.is_empty()
    }

    pub fn trust(&self) -> anyhow::Result<Trust> {
        if let Some(path) = &self.key {
            let text = std::fs::read(path)
                .with_context(|| format!("cannot read the key `{}`", path.display()))?;
            let key =
                VerifyingKey::from_pem(&text).with_context(|| format!("`{}`", path.display()))?;
            return Ok(Trust::Key(key));
        }
        if self.certificate_chain.is_empty() {
            anyhow::bail!(
                "say whom to trust: --key PUB.pem, or --certificate-chain ROOT.pem for certificate-signed models"
            );
        }
        let mut anchors = Vec::new();
        for path in &self.certificate_chain {
            let bytes = std::fs::read(path).with_context(|| {
                format!("cannot read the certificate chain `{}`", path.display())
            })?;
            let certificates = rampart_x509::parse_certificates(&bytes)
                .with_context(|| format!("`{}`", path.display()))?;
            if certificates.is_empty() {
                anyhow::bail!("`{}` holds no certificate", path.display());
            }
            anchors.extend(certificates);
        }
        let time = if self.reject_expired {
            ValidationTime::At(std::time::SystemTime::now())
        } else {
            ValidationTime::LeafNotBefore
        };
        Ok(Trust::Certificates {
            anchors,
            policy: PathPolicy {
                time,
                identities: self.certificate_identity.clone(),
            },
        })
    }
}

/// `1048576`, `1M`, `1MiB`, `256KiB`, `1G`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a size"))?;
    let multiplier: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "m" | "mb" => 1_000_000,
        "g" | "gb" => 1_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        _ => {
            return Err(format!(
                "unknown size unit `{unit}` (use K, M, G, KiB, MiB or GiB)"
            ));
        }
    };
    number
        .checked_mul(multiplier)
        .ok_or_else(|| format!("`{text}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_with_decimal_and_binary_units() {
        assert_eq!(parse_size("1048576"), Ok(1_048_576));
        assert_eq!(parse_size("1MiB"), Ok(1_048_576));
        assert_eq!(parse_size("1G"), Ok(1_000_000_000));
        assert_eq!(parse_size("256kib"), Ok(262_144));
        assert!(parse_size("1.5G").is_err());
        assert!(parse_size("99999999999999999999G").is_err());
    }
}
