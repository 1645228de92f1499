//! `rampart sign`: hash a model and write an OpenSSF Model Signing v1.0 bundle.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use rampart_integrity::{HashAlgorithm, Serialization, SigningKey, sign_model};

use crate::hash_cmd::human_bytes;
use crate::integrity_args::HashingArgs;

#[derive(Args, Debug)]
pub struct SignArgs {
    /// The model: a directory or a single file.
    #[arg(value_name = "PATH")]
    pub path: PathBuf,

    /// The private key (PEM: PKCS#8, encrypted PKCS#8 or SEC1). ECDSA P-256, P-384 or P-521
    /// for OMS-compatible signatures; Ed25519 as a rampart extension.
    #[arg(long, value_name = "KEY.pem")]
    pub key: PathBuf,

    /// Where to write the signature bundle. Inside PATH, it is left out of what is signed.
    #[arg(long, value_name = "OUT.sig")]
    pub signature: PathBuf,

    /// Read the private key's password from FILE (first line) [or the environment variable
    /// RAMPART_KEY_PASSWORD].
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,

    /// Certificate mode: the signing certificate (PEM) for --key.
    #[arg(long, value_name = "LEAF.pem")]
    pub certificate: Option<PathBuf>,

    /// Certificates to ship with the signing certificate (intermediates, optionally the root),
    /// in order. Repeatable.
    #[arg(
        long = "certificate-chain",
        value_name = "CHAIN.pem",
        requires = "certificate"
    )]
    pub certificate_chain: Vec<PathBuf>,

    #[command(flatten)]
    pub hashing: HashingArgs,

    /// Print nothing on success.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

pub fn run(args: SignArgs) -> anyhow::Result<u8> {
    let key = load_signing_key(&args.key, args.password_file.as_deref())?;
    let certificates = match &args.certificate {
        Some(leaf) => {
            let mut chain = read_certificates(leaf)?;
            chain.truncate(1);
            refuse_outside_validity(leaf, &chain)?;
            for path in &args.certificate_chain {
                chain.extend(read_certificates(path)?);
            }
            Some(chain)
        }
        None => None,
    };
    if !args.path.exists() {
        anyhow::bail!("`{}` does not exist", args.path.display());
    }
    let own_signature: Vec<String> = rampart_integrity::path_inside(&args.path, &args.signature)
        .into_iter()
        .collect();
    let options = args.hashing.hash_options(&args.path, own_signature)?;
    let (manifest, bundle) = sign_model(&args.path, &options, &key, certificates.as_deref())?;
    rampart_core::write_atomically(&args.signature, &bundle)
        .with_context(|| format!("cannot write the signature `{}`", args.signature.display()))?;

    if !key.algorithm().oms_compatible() {
        eprintln!(
            "warning: {} is a rampart extension: `rampart verify` checks this signature, model_signing cannot",
            key.algorithm()
        );
    }
    if manifest.serialization
        != (Serialization::Files {
            hash: HashAlgorithm::Sha256,
        })
    {
        eprintln!(
            "note: {} manifests verify with `rampart verify` and model_signing's Python API, not with its CLI (files, sha256 only)",
            manifest.serialization.describe()
        );
    }
    let empty_shards = manifest
        .resources
        .iter()
        .filter(|resource| matches!(resource.key.range, Some((start, end)) if start == end))
        .count();
    if empty_shards > 0 {
        eprintln!(
            "note: {empty_shards} empty file(s) recorded as zero-length shards so their removal or addition is detected; model_signing does not record them and will report them missing"
        );
    }
    if !args.quiet {
        println!(
            "signed {} ({}): {} files, {}; root digest sha256:{}",
            manifest.name,
            manifest.serialization.describe(),
            manifest.file_count(),
            human_bytes(manifest.total_bytes().unwrap_or_default()),
            hex::encode(manifest.root_digest())
        );
        let signer = match &args.certificate {
            Some(leaf) => format!("{} certificate {}", key.algorithm(), leaf.display()),
            None => format!(
                "{} key, hint {}",
                key.algorithm(),
                key.verifying_key().hint()
            ),
        };
        println!(
            "signature written to {} ({signer})",
            args.signature.display()
        );
    }
    Ok(0)
}

pub(crate) fn load_signing_key(
    path: &Path,
    password_file: Option<&Path>,
) -> anyhow::Result<SigningKey> {
    let text =
        std::fs::read(path).with_context(|| format!("cannot read the key `{}`", path.display()))?;
    let password = match password_file {
        Some(file) => {
            let content = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read the password file `{}`", file.display()))?;
            Some(content.lines().next().unwrap_or_default().to_owned())
        }
        None => std::env::var("RAMPART_KEY_PASSWORD").ok(),
    };
    let key =
        SigningKey::from_pem(&text, password.as_deref().map(str::as_bytes)).map_err(|error| {
            let hint = match error {
                rampart_integrity::KeyError::PasswordNeeded => {
                    " (use --password-file FILE or set RAMPART_KEY_PASSWORD)"
                }
                _ => "",
            };
            anyhow::anyhow!("`{}`: {error}{hint}", path.display())
        })?;
    Ok(key)
}

/// A signature made with a certificate that is not valid now would be refused by any
/// verifier that checks expiry: better to say so before signing.
fn refuse_outside_validity(path: &Path, chain: &[Vec<u8>]) -> anyhow::Result<()> {
    let Some(der) = chain.first() else {
        return Ok(());
    };
    let leaf = rampart_x509::Certificate::from_der(der)
        .with_context(|| format!("`{}`", path.display()))?;
    let now = std::time::SystemTime::now();
    let when = |time: std::time::SystemTime| {
        jiff::Timestamp::try_from(time)
            .map(|time| time.to_string())
            .unwrap_or_default()
    };
    if now > leaf.not_after() {
        anyhow::bail!(
            "the signing certificate `{}` expired on {}",
            path.display(),
            when(leaf.not_after())
        );
    }
    if now < leaf.not_before() {
        anyhow::bail!(
            "the signing certificate `{}` is not valid before {}",
            path.display(),
            when(leaf.not_before())
        );
    }
    Ok(())
}

fn read_certificates(path: &Path) -> anyhow::Result<Vec<Vec<u8>>> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read the certificate `{}`", path.display()))?;
    let certificates = rampart_x509::parse_certificates(&bytes)
        .with_context(|| format!("`{}`", path.display()))?;
    if certificates.is_empty() {
        anyhow::bail!("`{}` holds no certificate", path.display());
    }
    Ok(certificates
        .iter()
        .map(|certificate| certificate.der().to_vec())
        .collect())
}
