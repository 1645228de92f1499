//! Transparency-log benchmark, run by `bench/tlog_bench.sh` (release build; not part of CI).
//!
//! Builds a log of `--entries` audit-event-sized entries in batches, then measures single durable
//! appends on top of it, checkpoint signing, inclusion and consistency proof generation,
//! proof verification, reopening and a full `verify_all`. Prints a markdown table.
//!
//!     tlog_bench --dir DIR [--entries N] [--batch N] [--singles N] [--proofs N]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use rampart_tlog::{KeyType, Log, SignerKey, TlogProof, TrustPolicy, merkle};

struct Options {
    dir: PathBuf,
    entries: u64,
    batch: u64,
    singles: u64,
    proofs: u64,
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        dir: PathBuf::new(),
        entries: 1_000_000,
        batch: 10_000,
        singles: 1_000,
        proofs: 100_000,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<u64>()
                .map_err(|error| format!("{flag} {value}: {error}"))
        };
        match flag.as_str() {
            "--dir" => options.dir = PathBuf::from(&value),
            "--entries" => options.entries = number()?,
            "--batch" => options.batch = number()?.max(1),
            "--singles" => options.singles = number()?,
            "--proofs" => options.proofs = number()?.max(1),
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    if options.dir.as_os_str().is_empty() {
        return Err("--dir DIR is required (it must not exist or be empty)".to_owned());
    }
    Ok(options)
}

/// A compact audit event of about 150 bytes, like the registry will log.
fn event(index: u64) -> Vec<u8> {
    format!(
        r#"{{"actor":"ci@example.com","digest":"sha256:{:064x}","event":"model.version.created","index":{index},"model":"fraud-detector"}}"#,
        index.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    )
    .into_bytes()
}

struct Rng(u64);

impl Rng {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound.max(1)
    }
}

fn row(what: &str, count: u64, elapsed: Duration) {
    let seconds = elapsed.as_secs_f64();
    let per_second = count as f64 / seconds.max(f64::EPSILON);
    let micros = seconds * 1e6 / count.max(1) as f64;
    println!("| {what} | {count} | {seconds:.3} | {per_second:.0} | {micros:.2} |");
}

fn run(options: &Options) -> Result<(), rampart_tlog::Error> {
    let origin = "bench.rampart.example/log";
    let key = SignerKey::generate(origin, KeyType::Ed25519)?;
    let mut log = Log::init(&options.dir, origin, &key)?;
    println!("| operation | count | seconds | per second | µs each |");
    println!("| --- | ---: | ---: | ---: | ---: |");

    let started = Instant::now();
    let mut next = 0;
    while next < options.entries {
        let end = (next + options.batch).min(options.entries);
        let batch: Vec<Vec<u8>> = (next..end).map(event).collect();
        log.append(&batch)?;
        next = end;
    }
    row(
        &format!("append, durable batches of {}", options.batch),
        options.entries,
        started.elapsed(),
    );

    let started = Instant::now();
    for index in 0..options.singles {
        log.append(&[event(options.entries + index)])?;
    }
    row(
        "append, one durable entry per call",
        options.singles,
        started.elapsed(),
    );

    let started = Instant::now();
    let checkpoint = log.checkpoint()?;
    row("sign and store a checkpoint", 1, started.elapsed());

    let size = log.size();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let started = Instant::now();
    for _ in 0..options.proofs {
        std::hint::black_box(merkle::inclusion_proof(&log, rng.below(size), size)?);
    }
    row(
        "inclusion proof hashes (random index)",
        options.proofs,
        started.elapsed(),
    );

    let started = Instant::now();
    let mut proofs = Vec::new();
    for _ in 0..options.proofs {
        let proof = log.prove_inclusion(rng.below(size), Some(size))?;
        if proofs.len() < 1_000 {
            proofs.push(proof.to_string());
        }
    }
    row(
        "tlog-proof with signed checkpoint",
        options.proofs,
        started.elapsed(),
    );

    let started = Instant::now();
    for _ in 0..options.proofs {
        std::hint::black_box(merkle::consistency_proof(
            &log,
            1 + rng.below(size - 1),
            size,
        )?);
    }
    row(
        "consistency proof hashes (random old size)",
        options.proofs,
        started.elapsed(),
    );

    let policy = TrustPolicy::new(log.verifier_key().clone())?;
    let started = Instant::now();
    for proof in &proofs {
        TlogProof::verify_text(proof.as_bytes(), &policy, None)?;
    }
    row(
        "verify a tlog-proof (parse, Ed25519, path)",
        proofs.len() as u64,
        started.elapsed(),
    );
    drop(log);

    let started = Instant::now();
    let log = Log::open(&options.dir)?;
    row(
        "reopen (checks tails, right edge, latest checkpoint)",
        1,
        started.elapsed(),
    );
    assert_eq!(
        log.checkpoint_at(size)?.as_deref(),
        Some(checkpoint.as_str())
    );

    let started = Instant::now();
    let report = log.verify_all()?;
    row(
        "verify_all: rehash every entry and node",
        report.size,
        started.elapsed(),
    );

    let bytes: u64 = ["entries", "index", "hashes", "checkpoints", "state"]
        .iter()
        .filter_map(|name| std::fs::metadata(options.dir.join(name)).ok())
        .map(|metadata| metadata.len())
        .sum();
    println!();
    println!(
        "{} entries, {} bytes of entry data, {:.1} MiB on disk ({:.1} bytes per entry)",
        report.size,
        report.entry_bytes,
        bytes as f64 / (1 << 20) as f64,
        bytes as f64 / report.size.max(1) as f64
    );
    Ok(())
}

fn main() -> ExitCode {
    let options = match parse_options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("tlog_bench: {message}");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tlog_bench: {error}");
            ExitCode::FAILURE
        }
    }
}
