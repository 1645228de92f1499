//! The library path of `rampart drift` / `rampart data check` without the CLI, for timing
//! when the `rampart` binary cannot be built (bench/drift_bench.sh takes it as `RAMPART=`):
//!
//!     data_bench drift REFERENCE CURRENT --format json
//!     data_bench data check CURRENT --reference PREVIOUS --label COLUMN --format json --no-config
//!
//! Prints the same `columns` / `findings` JSON fields the commands print.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use rampart_data::check::{CheckOptions, DEFAULT_MAX_ROWS, check_files};
use rampart_data::{
    DriftOptions, ProfileOptions, ReadOptions, compare, drift_findings, profile_table,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let read = ReadOptions::default();
    match args.first().map(String::as_str) {
        Some("--version") => println!("rampart-data {}", env!("CARGO_PKG_VERSION")),
        Some("drift") => {
            let profile =
                |path: &str| profile_table(Path::new(path), &read, &ProfileOptions::default());
            let (reference, current) = rayon::join(|| profile(&args[1]), || profile(&args[2]));
            let result = compare(&reference?, &current?, &DriftOptions::default())?;
            let findings = drift_findings(&result);
            let mut json = serde_json::to_value(&result)?;
            json["findings"] = serde_json::to_value(&findings)?;
            println!("{json}");
        }
        Some("data") => {
            let result = check_files(
                Path::new(&args[2]),
                Some(Path::new(&args[4])),
                &read,
                DEFAULT_MAX_ROWS,
                &CheckOptions::new(args[6].clone()),
            )?;
            println!(
                "{}",
                serde_json::json!({ "findings": result.findings, "flagged_rows": result.flagged_rows.len() })
            );
        }
        _ => {
            return Err(
                "usage: data_bench drift REF CUR | data check CUR --reference REF --label L".into(),
            );
        }
    }
    Ok(())
}
