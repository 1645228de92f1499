//! `rampart verify`: check a model against its OMS signature, or a dataset against a
//! detached manifest, and say exactly what differs.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, ValueEnum};
use rampart_integrity::{
    Diff, Failure, ManifestDocument, Signer, Verified, VerifyError, VerifyOptions, verify_bundle,
    verify_manifest,
};
use serde::Serialize;

use crate::integrity_args::{HashingArgs, TrustArgs};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum VerifyFormat {
    Table,
    Json,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The model or dataset: a directory or a single file.
    #[arg(value_name = "PATH")]
    pub path: PathBuf,

    /// The signature bundle to verify.
    #[arg(
        long,
        value_name = "SIG",
        required_unless_present = "manifest",
        conflicts_with = "manifest"
    )]
    pub signature: Option<PathBuf>,

    /// A manifest from `rampart hash --format json` to verify against, without keys.
    #[arg(long, value_name = "MANIFEST.json")]
    pub manifest: Option<PathBuf>,

    /// With --manifest: require the manifest's root digest to be this (hex), so a
    /// replaced manifest cannot pass.
    #[arg(long, value_name = "HEX", requires = "manifest")]
    pub root_digest: Option<String>,

    #[command(flatten)]
    pub trust: TrustArgs,

    #[command(flatten)]
    pub hashing: HashingArgs,

    /// Check only the files the signature names; extra files on disk are not looked at
    /// (a signed file that is missing still fails).
    #[arg(long)]
    pub ignore_unsigned_files: bool,

    /// Fail when the signature leaves paths other than git files out of what it covers.
    #[arg(long)]
    pub reject_signed_ignores: bool,

    #[arg(long, short = 'f', value_enum, default_value_t = VerifyFormat::Table)]
    pub format: VerifyFormat,

    /// Print nothing but errors.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

pub fn run(args: VerifyArgs) -> anyhow::Result<u8> {
    if !args.path.exists() {
        anyhow::bail!("`{}` does not exist", args.path.display());
    }
    // A signature or manifest kept inside the model is not part of what it covers.
    let own_file = args.signature.as_deref().or(args.manifest.as_deref());
    let options = verify_options(
        &args.path,
        &args.hashing,
        own_file,
        args.ignore_unsigned_files,
        args.reject_signed_ignores,
    )?;
    let outcome = match (&args.signature, &args.manifest) {
        (Some(signature), _) => {
            if !args.trust.is_given() {
                anyhow::bail!(
                    "say whom to trust: --key PUB.pem, or --certificate-chain ROOT.pem for certificate-signed models"
                );
            }
            let trust = args.trust.trust()?;
            let bundle = std::fs::read(signature)
                .with_context(|| format!("cannot read the signature `{}`", signature.display()))?;
            verify_bundle(&args.path, &bundle, &trust, &options)
        }
        (None, Some(manifest_path)) => {
            if args.trust.is_given() {
                anyhow::bail!(
                    "--key and --certificate-chain verify signatures; a --manifest is checked by digest (use --root-digest to pin it)"
                );
            }
            let bytes = std::fs::read(manifest_path).with_context(|| {
                format!("cannot read the manifest `{}`", manifest_path.display())
            })?;
            let manifest = ManifestDocument::parse(&bytes)
                .with_context(|| format!("`{}`", manifest_path.display()))?;
            if let Some(pinned) = &args.root_digest {
                let actual = hex::encode(manifest.root_digest());
                let pinned = pinned.trim().trim_start_matches("sha256:");
                if !actual.eq_ignore_ascii_case(pinned) {
                    let failure = Failure::Policy(format!(
                        "the manifest's root digest is {actual}, not the pinned {pinned}: the manifest itself was replaced"
                    ));
                    return report(&args, Err(VerifyError::Failed(failure)));
                }
            }
            verify_manifest(&args.path, manifest, &options)
        }
        (None, None) => anyhow::bail!("give --signature SIG or --manifest MANIFEST.json"),
    };
    report(&args, outcome)
}

/// Verification options for `model`; `own_file` (the signature or manifest) is left out
/// when it lies inside the model, as model_signing does for signatures.
pub fn verify_options(
    model: &Path,
    hashing: &HashingArgs,
    own_file: Option<&Path>,
    ignore_unsigned_files: bool,
    reject_signed_ignores: bool,
) -> anyhow::Result<VerifyOptions> {
    let mut ignore_paths = hashing.model_relative_ignores(model);
    ignore_paths.extend(own_file.and_then(|path| rampart_integrity::path_inside(model, path)));
    Ok(VerifyOptions {
        hashing: hashing.serialization()?,
        ignore_git_paths: !hashing.no_ignore_git_paths,
        ignore_paths,
        allow_symlinks: hashing.allow_symlinks,
        ignore_unsigned_files,
        reject_signed_ignores,
    })
}

#[derive(Serialize)]
struct JsonOutcome<'a> {
    verified: bool,
    model: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    signature: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    manifest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signer: Option<&'a Signer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    root_digest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hashing: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    files: Option<usize>,
    warnings: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    failure: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    differences: Option<&'a Diff>,
}

fn report(args: &VerifyArgs, outcome: Result<Verified, VerifyError>) -> anyhow::Result<u8> {
    let failure = match outcome {
        Ok(verified) => {
            render(args, Some(&verified), None)?;
            return Ok(0);
        }
        Err(VerifyError::Unable(error)) => return Err(error.into()),
        Err(VerifyError::Failed(failure)) => failure,
    };
    render(args, None, Some(&failure))?;
    Ok(1)
}

fn render(
    args: &VerifyArgs,
    verified: Option<&Verified>,
    failure: Option<&Failure>,
) -> anyhow::Result<()> {
    let (diff, signer) = match failure {
        Some(Failure::Content(mismatch)) => (Some(&mismatch.diff), mismatch.signer.as_ref()),
        _ => (None, verified.and_then(|verified| verified.signer.as_ref())),
    };
    let no_warnings = Vec::new();
    let warnings = verified.map_or(&no_warnings, |verified| &verified.warnings);
    match args.format {
        VerifyFormat::Json => {
            let manifest = verified
                .map(|verified| &verified.manifest)
                .or(match failure {
                    Some(Failure::Content(mismatch)) => Some(&mismatch.manifest),
                    _ => None,
                });
            let outcome = JsonOutcome {
                verified: verified.is_some(),
                model: args.path.display().to_string(),
                signature: args
                    .signature
                    .as_ref()
                    .map(|path| path.display().to_string()),
                manifest: args
                    .manifest
                    .as_ref()
                    .map(|path| path.display().to_string()),
                signer,
                root_digest: manifest.map(|manifest| hex::encode(manifest.root_digest())),
                hashing: verified.map(|verified| verified.hashing.describe()),
                files: manifest.map(|manifest| manifest.file_count()),
                warnings,
                failure: failure.map(ToString::to_string),
                differences: diff,
            };
            let mut json = serde_json::to_string_pretty(&outcome)?;
            json.push('\n');
            crate::output::print_stdout(&json)
        }
        VerifyFormat::Table => {
            let mut out = String::new();
            if let Some(verified) = verified {
                if args.quiet {
                    return Ok(());
                }
                let _ = writeln!(
                    out,
                    "verified {}: {} files ({}), root digest sha256:{}",
                    args.path.display(),
                    verified.manifest.file_count(),
                    verified.hashing.describe(),
                    hex::encode(verified.manifest.root_digest())
                );
                if let Some(signer) = signer {
                    let _ = writeln!(out, "  signed by {}", describe_signer(signer));
                }
                for warning in warnings {
                    let _ = writeln!(out, "warning: {warning}");
                }
                return crate::output::print_stdout(&out);
            }
            if let Some(failure) = failure {
                let _ = writeln!(out, "verification failed: {failure}");
                if let Some(diff) = diff {
                    for line in diff.lines() {
                        let _ = writeln!(out, "  {line}");
                    }
                }
            }
            eprint!("{out}");
            Ok(())
        }
    }
}

fn describe_signer(signer: &Signer) -> String {
    match signer {
        Signer::Key { algorithm, hint } => format!("{algorithm} key, hint {hint}"),
        Signer::Certificate {
            algorithm,
            subject,
            issuer,
            matched_identity,
            ..
        } => {
            let identity = matched_identity
                .as_ref()
                .map(|identity| format!(", identity {identity}"))
                .unwrap_or_default();
            format!("{algorithm} certificate `{subject}` issued by `{issuer}`{identity}")
        }
    }
}
