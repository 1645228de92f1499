//! `rampart completions` and `rampart manpage`: generated from the clap definition, so they
//! never drift from the real options.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, CommandFactory};
use clap_complete::Shell;

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to generate completions for.
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Args, Debug)]
pub struct ManpageArgs {
    /// Write one page per command (rampart.1, rampart-scan.1, …) into DIR instead of
    /// printing rampart.1 to standard output.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// `rampart completions SHELL`: the completion script on standard output.
pub fn completions(args: CompletionsArgs) -> anyhow::Result<u8> {
    let mut command = crate::cli::Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "rampart", &mut script);
    crate::output::print_stdout(&String::from_utf8_lossy(&script))?;
    Ok(0)
}

/// `rampart manpage`: roff for `man`, on standard output or as one file per command.
pub fn manpage(args: ManpageArgs) -> anyhow::Result<u8> {
    let command = crate::cli::Cli::command();
    match args.dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create `{}`", dir.display()))?;
            clap_mangen::generate_to(command, &dir)
                .with_context(|| format!("cannot write man pages to `{}`", dir.display()))?;
        }
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command)
                .render(&mut page)
                .context("cannot render the man page")?;
            crate::output::print_stdout(&String::from_utf8_lossy(&page))?;
        }
    }
    Ok(0)
}
