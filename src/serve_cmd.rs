//! `rampart serve`: the model registry's HTTP server over a data directory.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use rampart_registry::{Registry, ServeOptions};

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The registry's data directory (create one with `rampart registry init DIR`).
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,

    /// Address and port to listen on (port 0 picks a free one; the address is printed).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8700")]
    pub listen: String,

    /// Largest blob accepted, e.g. 500MiB, 20GiB.
    #[arg(long, value_name = "SIZE", default_value = "20GiB", value_parser = parse_size)]
    pub max_upload_size: u64,

    /// Serve HTTPS with this PEM certificate chain (leaf first); needs --tls-key.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Keep the metadata in PostgreSQL (postgres://user:password@host:5432/db) instead of the
    /// data directory's SQLite, so several `rampart serve` processes can share it. The audit
    /// log then lives in the database too: each process's data directory needs only a copy of
    /// log/log.key and log/log.vkey. Prefer the environment variable for a URL with a
    /// password.
    #[arg(
        long,
        env = "RAMPART_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database: Option<String>,

    /// Keep blobs in an S3-compatible bucket instead of the data directory:
    /// s3://BUCKET[/PREFIX]?endpoint=https://host:port&region=REGION (credentials from
    /// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY). With --database, several processes share it.
    #[arg(long, env = "RAMPART_STORAGE_URL", value_name = "URL")]
    pub storage: Option<String>,
}

/// `20GiB`, `500MB`, `1024` → bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size: use a number and a unit, e.g. 20GiB"))?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "kib" | "k" => 1 << 10,
        "mb" => 1_000_000,
        "mib" | "m" => 1 << 20,
        "gb" => 1_000_000_000,
        "gib" | "g" => 1 << 30,
        "tb" => 1_000_000_000_000,
        "tib" | "t" => 1 << 40,
        other => {
            return Err(format!(
                "unknown size unit `{other}`: use B, KiB, MiB, GiB or TiB"
            ));
        }
    };
    number
        .checked_mul(multiplier)
        .ok_or_else(|| format!("`{text}` is too large"))
}

pub fn run(args: ServeArgs) -> anyhow::Result<u8> {
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(certificate), Some(key)) => {
            let read = |path: &PathBuf| {
                std::fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))
            };
            Some(rampart_registry::tls::server_config(
                &read(certificate)?,
                &read(key)?,
            )?)
        }
        _ => None,
    };
    let backends = rampart_registry::Backends {
        database: args.database.clone(),
    };
    // The causes say what to do: another process holds the log, the blob store is
    // unreachable, the database refuses the connection.
    let registry = Registry::open_with_storage(&args.data, &backends, args.storage.as_deref())
        .with_context(|| format!("cannot open the registry in `{}`", args.data.display()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let address = listener.local_addr().context("no local address")?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        // Tests and scripts read this first line to find a port chosen with :0.
        crate::output::print_stdout(&format!(
            "rampart serve: listening on {scheme}://{address}\n"
        ))?;
        let options = ServeOptions {
            max_upload_size: args.max_upload_size,
            ..ServeOptions::default()
        };
        let registry = Arc::new(registry);
        match tls {
            Some(config) => {
                let listener = rampart_registry::tls::TlsListener::new(listener, config)
                    .context("cannot start the TLS listener")?;
                rampart_registry::serve(registry, listener, options, shutdown_signal()).await
            }
            None => rampart_registry::serve(registry, listener, options, shutdown_signal()).await,
        }
        .context("the server failed")?;
        eprintln!("rampart serve: stopped");
        Ok(0)
    })
}

/// Resolves on ctrl-c or SIGTERM; open requests then finish before the server exits.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_and_decimal_units() {
        assert_eq!(parse_size("20GiB"), Ok(20 << 30));
        assert_eq!(parse_size("500MB"), Ok(500_000_000));
        assert_eq!(parse_size("1024"), Ok(1024));
        assert!(parse_size("GiB").is_err());
        assert!(parse_size("5 parsecs").is_err());
        assert!(parse_size("99999999999TiB").is_err());
    }
}
