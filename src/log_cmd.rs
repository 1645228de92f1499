//! `rampart log`: a local transparency log — append entries, sign checkpoints, hand out
//! proofs anyone can check offline with the log's verifier key.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use rampart_tlog::{
    ConsistencyProof, Error as LogError, KeyType, Log, SignerKey, TlogProof, TrustPolicy,
    VerifierKey,
};

#[derive(Args, Debug)]
pub struct LogArgs {
    #[command(subcommand)]
    pub command: LogCommand,
}

#[derive(Subcommand, Debug)]
pub enum LogCommand {
    /// Create a new, empty log in DIR; writes the verifier key to DIR/log.vkey.
    Init {
        dir: PathBuf,
        /// The log's name in its checkpoints [default: rampart.local/<DIR's name>, or the
        /// name of --key].
        #[arg(long, value_name = "NAME")]
        origin: Option<String>,
        /// An Ed25519 signed-note private key (`PRIVATE+KEY+name+id+key`) [default: a new one].
        /// The log keeps its private key in DIR/log.key (mode 0600).
        #[arg(long, value_name = "KEY")]
        key: Option<PathBuf>,
    },
    /// Append each FILE's bytes as one entry (`-` reads standard input); prints each index.
    /// The entries are on disk (fsynced) when the command returns.
    Append {
        dir: PathBuf,
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        #[command(flatten)]
        signer: SignerArgs,
    },
    /// Print the current signed checkpoint (signing one for the current size if needed), or
    /// a stored earlier one with --size.
    Checkpoint {
        dir: PathBuf,
        #[arg(long, value_name = "N")]
        size: Option<u64>,
        #[command(flatten)]
        signer: SignerArgs,
    },
    /// Print an offline proof (c2sp.org/tlog-proof@v1) that entry N is in the tree.
    Prove {
        dir: PathBuf,
        #[arg(long, value_name = "N")]
        index: u64,
        /// Prove against the checkpoint of this tree size [default: the current one].
        #[arg(long, value_name = "M")]
        size: Option<u64>,
        #[command(flatten)]
        signer: SignerArgs,
    },
    /// Print a proof that the tree of size B extends the tree of size A.
    Consistency {
        dir: PathBuf,
        #[arg(long, value_name = "A")]
        from: u64,
        /// [default: the current size]
        #[arg(long, value_name = "B")]
        to: Option<u64>,
        #[command(flatten)]
        signer: SignerArgs,
    },
    /// Verify a proof without the log: an inclusion proof (with --entry, against the entry's
    /// bytes), or a consistency proof against --old-checkpoint.
    VerifyProof {
        proof: PathBuf,
        /// The log's verifier key (`name+id+key`, as in DIR/log.vkey).
        #[arg(long, value_name = "FILE")]
        vkey: PathBuf,
        /// The entry the inclusion proof is for; without it, only the leaf hash the proof
        /// carries is checked, which proves nothing about any file.
        #[arg(long, value_name = "FILE")]
        entry: Option<PathBuf>,
        /// For a consistency proof: the signed checkpoint you trusted before.
        #[arg(long, value_name = "FILE")]
        old_checkpoint: Option<PathBuf>,
        /// A witness's cosignature verifier key; repeatable.
        #[arg(long, value_name = "FILE")]
        witness: Vec<PathBuf>,
        /// How many of the --witness keys must have cosigned [default: all given].
        #[arg(long, value_name = "K")]
        witness_threshold: Option<usize>,
    },
    /// Recompute the whole tree from the entries and check every stored checkpoint is
    /// signed and consistent with it.
    Verify {
        dir: PathBuf,
        /// Check signatures against this verifier key rather than DIR/log.vkey (which an
        /// attacker who rewrote the log could have replaced too).
        #[arg(long, value_name = "FILE")]
        vkey: Option<PathBuf>,
    },
}

#[derive(Args, Debug)]
pub struct SignerArgs {
    /// Sign with this private key instead of DIR/log.key.
    #[arg(long, value_name = "KEY")]
    key: Option<PathBuf>,
}

impl SignerArgs {
    fn open(&self, dir: &Path) -> anyhow::Result<Log> {
        let mut log = open_log(dir)?;
        if let Some(path) = &self.key {
            log.set_signer(read_signer(path)?)?;
        }
        Ok(log)
    }
}

fn open_log(dir: &Path) -> anyhow::Result<Log> {
    if !dir.is_dir() {
        anyhow::bail!(
            "`{}` is not a log directory (create one with `rampart log init`)",
            dir.display()
        );
    }
    let log = Log::open(dir)?;
    for repair in log.repairs() {
        eprintln!(
            "note: {} had {} bytes past its last committed write (an interrupted append); truncated to {}",
            repair.file.display(),
            repair.found_len.saturating_sub(repair.committed_len),
            repair.committed_len
        );
    }
    Ok(log)
}

fn read_signer(path: &Path) -> anyhow::Result<SignerKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the key `{}`", path.display()))?;
    SignerKey::parse(text.trim()).with_context(|| format!("`{}`", path.display()))
}

fn read_verifier(path: &Path) -> anyhow::Result<VerifierKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the verifier key `{}`", path.display()))?;
    VerifierKey::parse(text.trim()).with_context(|| format!("`{}`", path.display()))
}

/// Whether a log error means "the evidence is bad" (exit 1) rather than "could not run".
fn is_verification_failure(error: &LogError) -> bool {
    matches!(
        error,
        LogError::Corrupt { .. }
            | LogError::Malformed { .. }
            | LogError::ProofInvalid(_)
            | LogError::BadSignature { .. }
            | LogError::Unsigned { .. }
            | LogError::WitnessQuorum { .. }
            | LogError::OriginMismatch { .. }
            | LogError::IndexOutOfRange { .. }
            | LogError::EntryRequired
    )
}

/// Exit 1 with the reason for a verification failure; anything else is an error (exit 2).
fn verdict(result: Result<String, LogError>) -> anyhow::Result<u8> {
    match result {
        Ok(text) => {
            println!("{text}");
            Ok(0)
        }
        Err(error) if is_verification_failure(&error) => {
            eprintln!("verification failed: {error}");
            Ok(1)
        }
        Err(error) => Err(error.into()),
    }
}

pub fn run(args: LogArgs) -> anyhow::Result<u8> {
    match args.command {
        LogCommand::Init { dir, origin, key } => init(&dir, origin, key.as_deref()),
        LogCommand::Append { dir, files, signer } => {
            let mut log = signer.open(&dir)?;
            let mut entries = Vec::with_capacity(files.len());
            for file in &files {
                entries.push(read_entry(file)?);
            }
            let indices = log.append(&entries)?;
            for (index, file) in indices.iter().zip(&files) {
                println!("{index}\t{}", file.display());
            }
            Ok(0)
        }
        LogCommand::Checkpoint { dir, size, signer } => {
            let mut log = signer.open(&dir)?;
            let note = match size {
                None => log.checkpoint()?,
                Some(size) => log.checkpoint_at(size)?.with_context(|| {
                    format!("no checkpoint of size {size} was signed (checkpoints are signed when asked for)")
                })?,
            };
            print!("{note}");
            Ok(0)
        }
        LogCommand::Prove {
            dir,
            index,
            size,
            signer,
        } => {
            let proof = signer.open(&dir)?.prove_inclusion(index, size)?;
            print!("{proof}");
            Ok(0)
        }
        LogCommand::Consistency {
            dir,
            from,
            to,
            signer,
        } => {
            let proof = signer.open(&dir)?.prove_consistency(from, to)?;
            print!("{proof}");
            Ok(0)
        }
        LogCommand::VerifyProof {
            proof,
            vkey,
            entry,
            old_checkpoint,
            witness,
            witness_threshold,
        } => {
            let mut policy = TrustPolicy::new(read_verifier(&vkey)?)?;
            if !witness.is_empty() {
                let keys = witness
                    .iter()
                    .map(|path| read_verifier(path))
                    .collect::<anyhow::Result<Vec<_>>>()?;
                let threshold = witness_threshold.unwrap_or(keys.len());
                policy = policy.with_witnesses(keys, threshold)?;
            }
            let text = std::fs::read(&proof)
                .with_context(|| format!("cannot read the proof `{}`", proof.display()))?;
            if let Some(old) = old_checkpoint {
                let old = std::fs::read(&old)
                    .with_context(|| format!("cannot read the checkpoint `{}`", old.display()))?;
                return verdict(
                    ConsistencyProof::parse(&text)
                        .and_then(|proof| proof.verify(&old, &policy))
                        .map(|verified| {
                            format!(
                                "verified: {} grew from {} to {} entries without rewriting any",
                                verified.new.checkpoint.origin(),
                                verified.old.checkpoint.size(),
                                verified.new.checkpoint.size()
                            )
                        }),
                );
            }
            let entry = match &entry {
                Some(path) => Some(read_entry(path)?),
                None => None,
            };
            verdict(
                TlogProof::verify_text(&text, &policy, entry.as_deref()).map(|verified| {
                    let what = if verified.entry_checked {
                        "the given entry".to_owned()
                    } else {
                        format!(
                            "leaf hash {} (the entry itself was not checked: pass --entry FILE)",
                            hex::encode(verified.leaf_hash)
                        )
                    };
                    format!(
                        "verified: {what} is entry {} of {} (tree of {} entries, root {})",
                        verified.index,
                        verified.checkpoint.checkpoint.origin(),
                        verified.checkpoint.checkpoint.size(),
                        hex::encode(verified.checkpoint.checkpoint.root())
                    )
                }),
            )
        }
        LogCommand::Verify { dir, vkey } => {
            if !dir.is_dir() {
                anyhow::bail!("`{}` is not a log directory", dir.display());
            }
            let log = Log::open_read_only(&dir);
            let report = match (log, vkey) {
                (Ok(log), Some(vkey)) => log.verify_all_against(&read_verifier(&vkey)?),
                (Ok(log), None) => log.verify_all(),
                (Err(error), _) => Err(error),
            };
            verdict(report.map(|report| {
                format!(
                    "verified: {} entries ({} bytes) hash to root {}; {} stored checkpoints are signed and consistent with it",
                    report.size,
                    report.entry_bytes,
                    hex::encode(report.root),
                    report.checkpoints
                )
            }))
        }
    }
}

fn init(dir: &Path, origin: Option<String>, key: Option<&Path>) -> anyhow::Result<u8> {
    let signer = match key {
        Some(path) => {
            let signer = read_signer(path)?;
            if let Some(origin) = &origin
                && origin != signer.name()
            {
                anyhow::bail!(
                    "--origin `{origin}` differs from the key's name `{}`: a log's checkpoints are signed under its origin",
                    signer.name()
                );
            }
            signer
        }
        None => {
            let origin = origin.unwrap_or_else(|| default_origin(dir));
            SignerKey::generate(&origin, KeyType::Ed25519)?
        }
    };
    let log = Log::init(dir, signer.name(), &signer)?;
    println!("created log {} (origin {})", dir.display(), log.origin());
    println!(
        "verifier key (also in {}): {}",
        dir.join("log.vkey").display(),
        log.verifier_key()
    );
    Ok(0)
}

fn default_origin(dir: &Path) -> String {
    let name = std::fs::canonicalize(dir)
        .ok()
        .and_then(|path| {
            path.file_name()
                .map(|name| name.to_string_lossy().into_owned())
        })
        .or_else(|| {
            dir.file_name()
                .map(|name| name.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "log".to_owned());
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("rampart.local/{name}")
}

fn read_entry(path: &Path) -> anyhow::Result<Vec<u8>> {
    if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("cannot read standard input")?;
        return Ok(bytes);
    }
    std::fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))
}
