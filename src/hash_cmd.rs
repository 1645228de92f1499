//! `rampart hash`: the manifest of a model or dataset, as a table or as the JSON document
//! `rampart verify --manifest` pins.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use rampart_integrity::{Manifest, ManifestDocument, hash_model};

use crate::integrity_args::HashingArgs;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum HashFormat {
    /// One line per file or shard (`digest  size  name`) under a header with the root digest.
    Table,
    /// The manifest document `rampart verify --manifest` reads.
    Json,
}

#[derive(Args, Debug)]
pub struct HashArgs {
    /// The model or dataset: a directory or a single file.
    #[arg(value_name = "PATH")]
    pub path: PathBuf,

    #[command(flatten)]
    pub hashing: HashingArgs,

    #[arg(long, short = 'f', value_enum, default_value_t = HashFormat::Table)]
    pub format: HashFormat,

    /// Write the manifest to FILE instead of standard output (a FILE inside PATH is left out
    /// of the manifest).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub fn run(args: HashArgs) -> anyhow::Result<u8> {
    let own_output: Vec<String> = args
        .output
        .iter()
        .filter_map(|output| rampart_integrity::path_inside(&args.path, output))
        .collect();
    let options = args.hashing.hash_options(&args.path, own_output)?;
    let manifest = hash_model(&args.path, &options)?;
    let text = match args.format {
        HashFormat::Table => render_table(&manifest),
        HashFormat::Json => {
            let mut json = serde_json::to_string_pretty(&ManifestDocument::of(&manifest))?;
            json.push('\n');
            json
        }
    };
    match &args.output {
        Some(path) => rampart_core::write_atomically(path, text.as_bytes())
            .with_context(|| format!("cannot write the manifest to `{}`", path.display()))?,
        None => crate::output::print_stdout(&text)?,
    }
    Ok(0)
}

fn render_table(manifest: &Manifest) -> String {
    let mut out = String::new();
    let bytes = manifest.total_bytes().unwrap_or_default();
    let _ = writeln!(
        out,
        "# {} ({}): {} files, {}",
        manifest.name,
        manifest.serialization.describe(),
        manifest.file_count(),
        human_bytes(bytes)
    );
    let _ = writeln!(
        out,
        "# root digest sha256:{}",
        hex::encode(manifest.root_digest())
    );
    if !manifest.ignore_paths.is_empty() {
        let _ = writeln!(out, "# ignored: {}", manifest.ignore_paths.join(", "));
    }
    let width = manifest
        .resources
        .iter()
        .map(|resource| resource.size.unwrap_or_default().to_string().len())
        .max()
        .unwrap_or(1);
    for resource in &manifest.resources {
        let _ = writeln!(
            out,
            "{}  {:>width$}  {}",
            hex::encode(&resource.digest),
            resource.size.unwrap_or_default(),
            resource.key.name()
        );
    }
    out
}

/// `1.5 GiB`, `512 B`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
