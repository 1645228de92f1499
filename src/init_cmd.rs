//! `rampart init`: a commented `rampart.toml` and, on request, CI configuration, written
//! into a repository. It never overwrites a file unless told to.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, ValueEnum};

/// The configuration file `init` writes: every table rampart reads, with the defaults
/// active and examples commented out. Lines of prose start with `# `; example settings
/// start with `#` directly followed by TOML, so a test can switch them all on.
pub const CONFIG_TEMPLATE: &str = r#"# rampart configuration. `rampart scan` and `rampart audit` read the rampart.toml in the
# working directory or its parents, up to the repository root; `--config FILE` names
# another one and `--no-config` ignores it. Unknown keys are errors, so a typo never
# silently weakens the policy. `rampart rules` lists every rule id used below.

# Lowest severity that fails the run (exit code 1): info, low, medium, high or critical.
# `--fail-on` overrides it.
fail_on = "high"

# Severity overrides, by rule id: raise what matters more in this project, lower what
# matters less. Prefer a waiver for a single accepted finding.
[severity]
#"pickle/disallowed-import" = "critical"
#"gha/permissions-undeclared" = "medium"

# What `rampart scan` looks at. `--scanners` and `--exclude` override and add.
[scan]
# model: code that runs when a model is loaded; config: CI, containers, Kubernetes and
# infrastructure code; secret: leaked credentials.
scanners = ["model", "config", "secret"]
# Paths never read: a name at any depth, or a glob relative to the scanned directory.
# Excluded paths are listed as excluded in the report, never silently skipped.
exclude = [".git", "target", "node_modules"]

# Bounds every scan enforces. A file that hits one is reported (scan/limit-exceeded or
# scan/decompression-bomb) as not fully scanned, never skipped. Defaults shown.
[limits]
#max_depth = 8
#max_decompressed_bytes = 1073741824
#max_total_decompressed_bytes = 4294967296
#max_compression_ratio = 2000
#max_members = 100000
#max_pickle_opcodes = 50000000
#max_pickle_memory_entries = 5000000
#max_pickles_per_stream = 64
#max_header_bytes = 104857600
#max_metadata_entries = 10000000

# Pickle imports this project trusts, on top of the built-in allowlist of PyTorch, NumPy
# and friends: `module.qualname`, or `module.*` for a package you own. `deny` adds to the
# denylist and wins over everything.
[pickle]
#allow = ["mylab.models.*", "mylab.tokenizers.BPE"]
#deny = ["mylab.unsafe.*"]

# Waivers accept one known finding: it is still reported, marked waived, but does not fail
# the run. Every waiver needs a reason; an expiry makes it temporary (after that day the
# finding fails the run again and the report says so). Copy the block for each waiver.
#[[waiver]]
#rule = "scan/malformed"
#path = "tests/fixtures/truncated/*.pkl"
#resource = "column amount"   # optional: only findings about this column / IaC resource / job
#reason = "deliberately truncated test inputs, see SEC-123"
#expires = 2027-06-30
"#;

/// The example GitHub workflow; `init` fills in the rampart commit and version.
const GITHUB_WORKFLOW_TEMPLATE: &str = include_str!("../ci/github/rampart.yml");
/// The GitLab CI template, copied into the project so no unpinned include is needed.
const GITLAB_TEMPLATE: &str = include_str!("../ci/gitlab/rampart.gitlab-ci.yml");

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CiTarget {
    /// `.github/workflows/rampart.yml`, using the rampart action (needs --rampart-ref).
    Github,
    /// `.gitlab/rampart.gitlab-ci.yml`, to `include: local:` from .gitlab-ci.yml.
    Gitlab,
    /// `.pre-commit-config.yaml` with the rampart hook (needs --rampart-ref).
    PreCommit,
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Also write CI configuration for these systems (repeatable or comma-separated).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "SYSTEM")]
    pub ci: Vec<CiTarget>,

    /// The rampart commit (full 40-character SHA) the GitHub workflow and the pre-commit
    /// hook pin: third-party code in CI is referenced by commit, never by a movable tag.
    #[arg(long, value_name = "SHA", value_parser = parse_commit_sha)]
    pub rampart_ref: Option<String>,

    /// The repository to initialise.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,

    /// Replace files that already exist.
    #[arg(long)]
    pub force: bool,
}

fn parse_commit_sha(text: &str) -> Result<String, String> {
    if text.len() == 40 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(text.to_ascii_lowercase())
    } else {
        Err("expected a full 40-character commit SHA (a tag or branch can be moved)".to_owned())
    }
}

pub fn run(args: InitArgs) -> anyhow::Result<u8> {
    if !args.dir.is_dir() {
        anyhow::bail!("`{}` is not a directory", args.dir.display());
    }
    let files = planned_files(&args)?;
    // All or nothing: check every target before writing any, so a refused run leaves the
    // repository as it was.
    if !args.force {
        let existing: Vec<String> = files
            .iter()
            .filter(|(path, _)| args.dir.join(path).exists())
            .map(|(path, _)| path.display().to_string())
            .collect();
        if !existing.is_empty() {
            anyhow::bail!(
                "not overwriting {} in `{}`: move them away or pass --force",
                existing.join(", "),
                args.dir.display()
            );
        }
    }
    for (path, contents) in &files {
        let target = args.dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create `{}`", parent.display()))?;
        }
        rampart_core::write_atomically(&target, contents.as_bytes())
            .with_context(|| format!("cannot write `{}`", target.display()))?;
        eprintln!("wrote {}", target.display());
    }
    if args.ci.contains(&CiTarget::Gitlab) {
        eprintln!(
            "add to .gitlab-ci.yml:\n  include:\n    - local: .gitlab/rampart.gitlab-ci.yml\nand set RAMPART_REF (the rampart commit to build) in the CI/CD variables"
        );
    }
    Ok(0)
}

/// Every file `init` would write, relative to the repository, with its contents.
fn planned_files(args: &InitArgs) -> anyhow::Result<Vec<(PathBuf, String)>> {
    let mut files = vec![(
        PathBuf::from(rampart_scan::config::FILE_NAME),
        CONFIG_TEMPLATE.to_owned(),
    )];
    for &target in &args.ci {
        let file = match target {
            CiTarget::Github => (
                Path::new(".github/workflows/rampart.yml").to_owned(),
                github_workflow(required_ref(args, "github")?),
            ),
            CiTarget::Gitlab => (
                Path::new(".gitlab/rampart.gitlab-ci.yml").to_owned(),
                GITLAB_TEMPLATE.to_owned(),
            ),
            CiTarget::PreCommit => (
                Path::new(".pre-commit-config.yaml").to_owned(),
                pre_commit_config(required_ref(args, "pre-commit")?),
            ),
        };
        if !files.iter().any(|(path, _)| *path == file.0) {
            files.push(file);
        }
    }
    Ok(files)
}

fn required_ref<'a>(args: &'a InitArgs, system: &str) -> anyhow::Result<&'a str> {
    args.rampart_ref.as_deref().with_context(|| {
        format!(
            "--ci {system} needs --rampart-ref SHA: the full commit of the rampart release to pin"
        )
    })
}

pub fn github_workflow(rampart_ref: &str) -> String {
    GITHUB_WORKFLOW_TEMPLATE
        .replace("RAMPART_COMMIT_SHA", rampart_ref)
        .replace("RAMPART_VERSION", env!("CARGO_PKG_VERSION"))
}

fn pre_commit_config(rampart_ref: &str) -> String {
    format!(
        "# pre-commit hooks (https://pre-commit.com): `pre-commit install` once per clone.\n\
         # rampart-scan fails the commit when a staged model, config, notebook or requirements\n\
         # file has a finding at rampart.toml's fail_on. pre-commit builds rampart for it on\n\
         # first use (needs a Rust toolchain and protoc); with rampart already installed on\n\
         # PATH, use `id: rampart-scan-system` instead.\n\
         repos:\n\
         \x20 - repo: {url}\n\
         \x20   rev: {rampart_ref} # rampart {version}\n\
         \x20   hooks:\n\
         \x20     - id: rampart-scan\n",
        url = env!("CARGO_PKG_REPOSITORY"),
        version = env!("CARGO_PKG_VERSION"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_refs_must_be_full_shas() {
        assert!(parse_commit_sha(&"a".repeat(40)).is_ok());
        assert!(parse_commit_sha("v1.2.3").is_err());
        assert!(parse_commit_sha(&"g".repeat(40)).is_err());
    }

    #[test]
    fn workflow_pins_the_given_commit() {
        let sha = "0123456789abcdef0123456789abcdef01234567";
        let workflow = github_workflow(sha);
        assert!(workflow.contains(&format!("uses: rampart-sec/rampart@{sha} # rampart ")));
        assert!(!workflow.contains("RAMPART_"), "{workflow}");
    }
}
