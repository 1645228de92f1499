//! `rampart attest`: record and check the provenance of a training run (in-toto Statement v1,
//! SLSA Provenance v1, DSSE-signed).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use anyhow::Context;
use clap::{Args, Subcommand};
use rampart_integrity::VerifyingKey;
use rampart_integrity::provenance::{Artifact, Attestation, GitSource, Run};

#[derive(Args, Debug)]
pub struct AttestArgs {
    #[command(subcommand)]
    pub command: AttestCommand,
}

#[derive(Subcommand, Debug)]
pub enum AttestCommand {
    /// Hash the materials, run COMMAND, hash the products, and write a signed SLSA provenance
    /// attestation of the run. Nothing is written if the command fails or a material changes.
    Run(RunArgs),
    /// Check an attestation's signature, and that the given products and materials are the
    /// ones it records.
    Verify(VerifyAttestationArgs),
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// An input of the run (dataset, code, config): a file or a directory. Repeatable.
    #[arg(long, value_name = "PATH")]
    material: Vec<PathBuf>,
    /// An output of the run (model files or directory). Repeatable; at least one.
    #[arg(long, value_name = "PATH", required = true)]
    product: Vec<PathBuf>,
    /// The signing key (ECDSA P-256/P-384/P-521 or Ed25519, PEM).
    #[arg(long, value_name = "KEY.pem")]
    key: PathBuf,
    /// Read the key's password from FILE [or RAMPART_KEY_PASSWORD].
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
    /// Where to write the attestation (a DSSE envelope, JSON).
    #[arg(long, short = 'o', value_name = "ATTESTATION.json")]
    output: PathBuf,
    /// Also append the attestation to this transparency log.
    #[arg(long, value_name = "DIR")]
    log: Option<PathBuf>,
    /// A parameter of the run to record (hyper-parameter, dataset version, ...). Repeatable.
    #[arg(long = "param", value_name = "KEY=VALUE", value_parser = parse_param)]
    parameters: Vec<(String, String)>,
    /// The builder's identity (a URI naming the machine or CI runner) [default:
    /// https://rampart.dev/builders/local/<hostname>].
    #[arg(long, value_name = "URI")]
    builder_id: Option<String>,
    /// The run's id (scheduler job, CI run) [default: derived from the start time and process].
    #[arg(long, value_name = "ID")]
    invocation_id: Option<String>,
    /// The training command and its arguments.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    command: Vec<String>,
}

#[derive(Args, Debug)]
pub struct VerifyAttestationArgs {
    attestation: PathBuf,
    /// The signer's public key (PEM).
    #[arg(long, value_name = "PUB.pem")]
    key: PathBuf,
    /// A product to check against the attested subjects. Repeatable.
    #[arg(long, value_name = "PATH")]
    product: Vec<PathBuf>,
    /// A material to check against the recorded dependencies. Repeatable.
    #[arg(long, value_name = "PATH")]
    material: Vec<PathBuf>,
}

fn parse_param(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not KEY=VALUE"))?;
    if key.is_empty() {
        return Err(format!("`{text}` has an empty key"));
    }
    Ok((key.to_owned(), value.to_owned()))
}

pub fn run(args: AttestArgs) -> anyhow::Result<u8> {
    match args.command {
        AttestCommand::Run(args) => run_and_attest(args),
        AttestCommand::Verify(args) => verify(args),
    }
}

fn artifacts(paths: &[PathBuf], role: &str) -> anyhow::Result<Vec<Artifact>> {
    paths
        .iter()
        .map(|path| {
            Artifact::of(path).with_context(|| format!("cannot hash {role} `{}`", path.display()))
        })
        .collect()
}

fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn run_and_attest(args: RunArgs) -> anyhow::Result<u8> {
    let key = crate::sign_cmd::load_signing_key(&args.key, args.password_file.as_deref())?;
    let materials = artifacts(&args.material, "material")?;
    let git = git_source();
    let started_on = now();
    let (program, arguments) = args.command.split_first().context("no command to run")?;
    let status = Command::new(program)
        .args(arguments)
        .status()
        .with_context(|| format!("cannot run `{program}`"))?;
    let finished_on = now();
    if !status.success() {
        eprintln!("error: the command failed ({status}); no attestation was written");
        return Ok(1);
    }
    for (path, before) in args.material.iter().zip(&materials) {
        let after = Artifact::of(path)
            .with_context(|| format!("cannot hash material `{}` again", path.display()))?;
        if after.sha256 != before.sha256 {
            eprintln!(
                "error: material {} changed during the run (sha256:{} -> sha256:{}); no attestation was written",
                before.name, before.sha256, after.sha256
            );
            return Ok(1);
        }
    }
    let products = artifacts(&args.product, "product")?;
    let host = hostname();
    let invocation_id = args.invocation_id.unwrap_or_else(|| {
        format!(
            "{}-{}",
            started_on.replace([':', '-'], ""),
            std::process::id()
        )
    });
    let run = Run {
        command: args.command.clone(),
        working_directory: std::env::current_dir()
            .map(|dir| dir.display().to_string())
            .unwrap_or_default(),
        parameters: args.parameters.into_iter().collect(),
        materials,
        products,
        git,
        builder_id: args
            .builder_id
            .unwrap_or_else(|| format!("https://rampart.dev/builders/local/{host}")),
        invocation_id,
        started_on,
        finished_on,
        internal: BTreeMap::from([
            ("host".to_owned(), host),
            ("os".to_owned(), std::env::consts::OS.to_owned()),
            ("arch".to_owned(), std::env::consts::ARCH.to_owned()),
        ]),
    };
    let envelope = run.sign(&key);
    rampart_core::write_atomically(&args.output, &envelope)
        .with_context(|| format!("cannot write the attestation `{}`", args.output.display()))?;
    println!(
        "attested {} product(s) from {} material(s); written to {}",
        run.products.len(),
        run.materials.len(),
        args.output.display()
    );
    if let Some(dir) = &args.log {
        let mut log = rampart_tlog::Log::open(dir)?;
        let index = log.append(&[&envelope])?;
        if let Some(index) = index.first() {
            println!(
                "logged as entry {index} of {} (prove it with `rampart log prove {} --index {index}`)",
                log.origin(),
                dir.display()
            );
        }
    }
    Ok(0)
}

fn verify(args: VerifyAttestationArgs) -> anyhow::Result<u8> {
    let key_text = std::fs::read(&args.key)
        .with_context(|| format!("cannot read the key `{}`", args.key.display()))?;
    let key =
        VerifyingKey::from_pem(&key_text).with_context(|| format!("`{}`", args.key.display()))?;
    let envelope = std::fs::read(&args.attestation)
        .with_context(|| format!("cannot read `{}`", args.attestation.display()))?;
    let products = artifacts(&args.product, "product")?;
    let materials = artifacts(&args.material, "material")?;
    let outcome = Attestation::verify(&envelope, &key).and_then(|attestation| {
        let mut lines = Vec::new();
        for product in &products {
            let subject = attestation.check_product(product)?;
            lines.push(format!("  product {} = subject {subject}", product.name));
        }
        for material in &materials {
            let dependency = attestation.check_material(material)?;
            lines.push(format!(
                "  material {} = recorded dependency {dependency}",
                material.name
            ));
        }
        Ok((attestation, lines))
    });
    match outcome {
        Ok((attestation, lines)) => {
            let details = &attestation.statement["predicate"]["runDetails"];
            println!(
                "verified: {} signed by {} key {}; built by {} ({} .. {})",
                args.attestation.display(),
                key.algorithm(),
                key.hint(),
                details["builder"]["id"].as_str().unwrap_or("?"),
                details["metadata"]["startedOn"].as_str().unwrap_or("?"),
                details["metadata"]["finishedOn"].as_str().unwrap_or("?"),
            );
            for line in lines {
                println!("{line}");
            }
            if products.is_empty() {
                println!(
                    "  note: no --product given: the files on disk were not compared with the subjects"
                );
            }
            Ok(0)
        }
        Err(failure) => {
            eprintln!("verification failed: {failure}");
            Ok(1)
        }
    }
}

/// The git commit, remote and cleanliness of the working tree, when it is a git checkout
/// and git is installed; `None` otherwise (the attestation then records no source).
fn git_source() -> Option<GitSource> {
    let git = |args: &[&str]| -> Option<String> {
        let output = Command::new("git").args(args).output().ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    };
    let commit = git(&["rev-parse", "--verify", "HEAD"])?;
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
        .is_some_and(|status| !status.is_empty());
    let uri = git(&["config", "--get", "remote.origin.url"])
        .filter(|url| !url.is_empty())
        .map(|remote| match git(&["symbolic-ref", "-q", "HEAD"]) {
            Some(reference) => format!("git+{remote}@{reference}"),
            None => format!("git+{remote}"),
        });
    Some(GitSource { commit, uri, dirty })
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}
