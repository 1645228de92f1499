//! `rampart registry`: create a registry data directory and manage its tokens with direct
//! access to it (the server must be stopped; with it running use the tokens API).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use rampart_registry::{NewToken, Registry, Role, TokenRecord};

#[derive(Args, Debug)]
pub struct RegistryArgs {
    #[command(subcommand)]
    pub command: RegistryCommand,
}

#[derive(Subcommand, Debug)]
pub enum RegistryCommand {
    /// Create a data directory (database, blob store, audit log and its key) and print the
    /// first admin token. It is shown once: store it in a secret manager.
    Init {
        /// A new or empty directory.
        dir: PathBuf,
        /// Keep the metadata in this (empty) PostgreSQL database instead of SQLite; serve
        /// with the same --database. Issue further tokens through the tokens API.
        #[arg(
            long,
            env = "RAMPART_DATABASE_URL",
            value_name = "URL",
            hide_env_values = true
        )]
        database: Option<String>,
    },
    /// Verify the registry's audit log: recompute every hash from the entries and check
    /// every stored checkpoint's signature and root. With --database, the log the database
    /// keeps (read only; servers may keep running).
    VerifyLog {
        /// The registry's data directory (its log/log.vkey is the key checked against).
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// The shared PostgreSQL database that keeps the log.
        #[arg(
            long,
            env = "RAMPART_DATABASE_URL",
            value_name = "URL",
            hide_env_values = true
        )]
        database: Option<String>,
        /// Check checkpoints against this verifier key file instead of the data directory's.
        #[arg(long, value_name = "FILE")]
        vkey: Option<PathBuf>,
    },
    /// Issue, revoke and list tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Issue a token and print it (once).
    Create {
        /// The registry's data directory.
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// Who the token belongs to (separation of duties compares users, not tokens).
        #[arg(long)]
        user: String,
        /// reader, publisher, approver or admin.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// The namespace it is limited to, or `*` for all.
        #[arg(long)]
        namespace: String,
        /// Lifetime, e.g. 30d (days) [default: never expires].
        #[arg(long, value_name = "DAYS", value_parser = parse_days)]
        expires: Option<u32>,
    },
    /// Revoke a token by id (see `token list`).
    Revoke {
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        id: String,
    },
    /// List tokens (never their secrets).
    List {
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
    },
}

fn parse_role(text: &str) -> Result<Role, String> {
    text.parse()
}

/// `30d` or `30` → 30 days.
fn parse_days(text: &str) -> Result<u32, String> {
    let digits = text.strip_suffix('d').unwrap_or(text);
    match digits.parse::<u32>() {
        Ok(days) if days > 0 => Ok(days),
        _ => Err(format!(
            "`{text}` is not a lifetime: use a number of days such as 30d"
        )),
    }
}

fn open(data: &Path) -> anyhow::Result<Registry> {
    Registry::open(data).with_context(|| {
        format!(
            "cannot open the registry in `{}`; if `rampart serve` is running, stop it or use the tokens API (POST /api/v1/tokens)",
            data.display()
        )
    })
}

pub fn run(args: RegistryArgs) -> anyhow::Result<u8> {
    match args.command {
        RegistryCommand::Init { dir, database } => {
            let backends = rampart_registry::Backends { database };
            let token = Registry::init_with(&dir, &backends)
                .with_context(|| format!("cannot create a registry in `{}`", dir.display()))?;
            eprintln!(
                "Created a registry in {}. The admin token below is shown once; pass it with --token or RAMPART_TOKEN:",
                dir.display()
            );
            crate::output::print_stdout(&format!("{token}\n"))?;
            eprintln!(
                "Next: rampart serve --data {} and create a namespace (PUT /api/v1/namespaces/NAME).",
                dir.display()
            );
            Ok(0)
        }
        RegistryCommand::VerifyLog {
            data,
            database,
            vkey,
        } => verify_log(&data, database, vkey.as_deref()),
        RegistryCommand::Token { command } => match command {
            TokenCommand::Create {
                data,
                user,
                role,
                namespace,
                expires,
            } => {
                let issued = open(&data)?.create_token_locally(NewToken {
                    user,
                    role,
                    namespace,
                    expires_in_days: expires,
                })?;
                eprintln!(
                    "Issued {} ({} {} in {}); the token is shown once:",
                    issued.record.id,
                    issued.record.user,
                    issued.record.role,
                    issued.record.namespace
                );
                crate::output::print_stdout(&format!("{}\n", issued.token))?;
                Ok(0)
            }
            TokenCommand::Revoke { data, id } => {
                let token = open(&data)?.revoke_token_locally(&id)?;
                eprintln!("Revoked {} ({})", token.id, token.user);
                Ok(0)
            }
            TokenCommand::List { data } => {
                let tokens = open(&data)?.list_tokens_locally()?;
                crate::output::print_stdout(&render_tokens(&tokens))?;
                Ok(0)
            }
        },
    }
}

fn verify_log(data: &Path, database: Option<String>, vkey: Option<&Path>) -> anyhow::Result<u8> {
    let trusted = match vkey {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the verifier key `{}`", path.display()))?;
            Some(
                rampart_tlog::VerifierKey::parse(&text)
                    .with_context(|| format!("`{}` is not a verifier key", path.display()))?,
            )
        }
        None => None,
    };
    let backends = rampart_registry::Backends { database };
    match Registry::verify_log(data, &backends, trusted.as_ref()) {
        Ok(report) => {
            crate::output::print_stdout(&format!(
                "verified: {} entries ({} bytes) hash to root {}; {} stored checkpoints are signed and consistent with it\n",
                report.size,
                report.entry_bytes,
                hex::encode(report.root),
                report.checkpoints
            ))?;
            Ok(0)
        }
        // Failing to read the log is a usage or connection error (2); reading a log that
        // does not verify is a failed verification (1).
        Err(rampart_registry::Error::Log(error))
            if !matches!(
                error,
                rampart_tlog::Error::Storage(_)
                    | rampart_tlog::Error::Io { .. }
                    | rampart_tlog::Error::InvalidLogDir { .. }
            ) =>
        {
            eprintln!("verification FAILED: {error}");
            Ok(1)
        }
        Err(error) => Err(error).with_context(|| {
            format!(
                "cannot read the audit log of the registry in `{}`",
                data.display()
            )
        }),
    }
}

fn render_tokens(tokens: &[TokenRecord]) -> String {
    let mut text = String::from("ID                    USER  ROLE  NAMESPACE  EXPIRES  STATUS\n");
    for token in tokens {
        let _ = writeln!(
            text,
            "{}  {}  {}  {}  {}  {}",
            token.id,
            token.user,
            token.role,
            token.namespace,
            token.expires_at.as_deref().unwrap_or("never"),
            if token.revoked { "revoked" } else { "active" }
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_are_days() {
        assert_eq!(parse_days("30d"), Ok(30));
        assert_eq!(parse_days("7"), Ok(7));
        assert!(parse_days("0d").is_err());
        assert!(parse_days("1w").is_err());
    }
}
