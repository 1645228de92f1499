//! Passwords in the user-info part of URLs: database and broker connection strings
//! (`postgresql://app:…@db:5432/features`) and HTTP(S)/FTP URLs (private package indexes,
//! git remotes).

use std::ops::Range;

use rampart_core::Severity;

use crate::engine::{Hit, Pass, Priority};
use crate::filters::is_placeholder;
use crate::rules::{DATABASE_URL_PASSWORD, URL_PASSWORD};

/// The captured parts of `scheme://user:password@host`.
pub(crate) struct UserInfo<'h> {
    pub scheme: &'h [u8],
    pub user: &'h [u8],
    pub password: &'h [u8],
    pub host: &'h [u8],
}

/// Schemes of databases and brokers, with the name used in messages.
const DATABASES: &[(&str, &str)] = &[
    ("postgres", "PostgreSQL"),
    ("postgresql", "PostgreSQL"),
    ("pgsql", "PostgreSQL"),
    ("mysql", "MySQL"),
    ("mariadb", "MariaDB"),
    ("mongodb", "MongoDB"),
    ("redis", "Redis"),
    ("rediss", "Redis"),
    ("amqp", "AMQP"),
    ("amqps", "AMQP"),
    ("mssql", "SQL Server"),
    ("sqlserver", "SQL Server"),
    ("clickhouse", "ClickHouse"),
    ("cockroachdb", "CockroachDB"),
    ("oracle", "Oracle"),
    ("snowflake", "Snowflake"),
    ("neo4j", "Neo4j"),
    ("bolt", "Neo4j"),
    ("couchdb", "CouchDB"),
    ("cassandra", "Cassandra"),
    ("influxdb", "InfluxDB"),
    ("db2", "Db2"),
];

const WEB: &[&str] = &["http", "https", "ftp", "ftps", "sftp", "ldap", "ldaps"];

/// Passwords that tutorials, defaults and docker-compose files use: not worth a finding.
const DEFAULT_PASSWORDS: &[&str] = &[
    "password",
    "pass",
    "passwd",
    "pwd",
    "pw",
    "secret",
    "root",
    "admin",
    "postgres",
    "mysql",
    "guest",
    "user",
    "username",
    "changeme",
    "foo",
    "bar",
    "baz",
    "none",
    "null",
    "token",
    "apikey",
    "api_key",
    "key",
    "mypassword",
    "mysecret",
    "yourpassword",
    "dbpass",
    "dbpassword",
    "redis",
    "mongo",
    "rabbitmq",
    "default",
    "example",
];

/// User names documentation writes in example URLs (`https://user:…@host`).
const EXAMPLE_USERS: &[&str] = &[
    "user", "username", "usr", "login", "name", "someone", "me", "you", "foo", "john", "jdoe",
    "alice", "bob",
];

fn is_loopback(host: &[u8]) -> bool {
    let host = host.to_ascii_lowercase();
    host == b"localhost" || host.starts_with(b"127.") || host == b"0.0.0.0" || host == b"[::1]"
}

fn shown(part: &[u8]) -> String {
    String::from_utf8_lossy(part)
        .chars()
        .filter(|c| !c.is_control())
        .take(64)
        .collect()
}

pub(crate) fn check(url: &UserInfo<'_>, span: Range<usize>, pass: &mut Pass<'_>) {
    let scheme = url.scheme.to_ascii_lowercase();
    // `postgresql+psycopg2`, `mongodb+srv`: the driver suffix does not change the database.
    let base = scheme.split(|&b| b == b'+').next().unwrap_or_default();
    let database = DATABASES
        .iter()
        .find(|(name, _)| name.as_bytes() == base)
        .map(|(_, title)| *title);
    let web = WEB.iter().any(|name| name.as_bytes() == base);
    if database.is_none() && !web {
        return;
    }
    let password = url.password;
    let lowered = password.to_ascii_lowercase();
    // An unencoded `:` in the password is a host list (`a:1,b:2@c`), not a password.
    if String::from_utf8_lossy(password).chars().count() < 4
        || password.contains(&b':')
        || password == url.user
        || is_placeholder(password)
        || is_placeholder(url.user)
        || EXAMPLE_USERS
            .iter()
            .any(|u| u.as_bytes() == url.user.to_ascii_lowercase())
        || is_placeholder(url.host)
        || DEFAULT_PASSWORDS.iter().any(|d| d.as_bytes() == lowered)
        || password.iter().all(u8::is_ascii_digit) && password.len() <= 5
    {
        return;
    }
    let (user, host) = (shown(url.user), shown(url.host));
    let (rule, what) = match database {
        Some(title) => (&DATABASE_URL_PASSWORD, format!("{title} URL")),
        None => (&URL_PASSWORD, format!("{} URL", shown(url.scheme))),
    };
    let mut hit = Hit::new(
        rule,
        span,
        password,
        format!(
            "{what} for user `{user}` on `{host}` carries its password: anyone who reads the \
             file can log in as that user"
        ),
        Priority::Keyword,
    );
    if is_loopback(url.host) {
        hit = hit.with_severity(Severity::Low);
        hit.message = format!(
            "{what} for user `{user}` on the local machine (`{host}`) carries its password: \
             likely a development default, but it is a real password wherever the same \
             configuration is deployed"
        );
    }
    pass.push(hit);
}
