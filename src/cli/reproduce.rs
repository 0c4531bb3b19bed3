//! `bayesrg reproduce`: the whole reproduction, into one report.

use super::Status;
use crate::commands::reproduce::{self, Options};
use anyhow::Result;
use std::path::PathBuf;

/// Arguments of `bayesrg reproduce`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The report folder (replaced if it exists).
    #[arg(long, default_value = "report")]
    out: PathBuf,
    /// Fewer samples, paths and epochs: a first look in well under a minute.
    #[arg(long)]
    quick: bool,
    /// Run only these stages (repeatable).
    #[arg(long, num_args = 1..)]
    only: Vec<String>,
    /// No progress output.
    #[arg(long)]
    quiet: bool,
}

pub fn run(args: Args) -> Result<Status> {
    let opts = Options {
        out: args.out,
        quick: args.quick,
        only: args.only,
        quiet: args.quiet,
    };
    let (reports, dir) = reproduce::run(&opts)?;
    // A stage that could not finish (a full disk, a failed computation) says
    // why on stderr, whatever --quiet and whether stderr is a terminal; the
    // report holds the same message.
    for r in &reports {
        if let Some(e) = &r.error {
            eprintln!("error: stage `{}`: {e}", r.name);
        }
    }
    let pass = reports.iter().all(|r| r.pass());
    let (p, t) = reports.iter().fold((0, 0), |(p, t), r| {
        let (a, b) = r.counts();
        (p + a, t + b)
    });
    println!(
        "{}: {p}/{t} checks passed in {} stages; report: {}",
        if pass { "PASS" } else { "FAIL" },
        reports.len(),
        dir.join("index.html").display()
    );
    Ok(Status::from_ok(pass))
}
