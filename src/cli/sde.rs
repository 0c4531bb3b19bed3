//! `bayesrg sde`: simulate a configured SDE ensemble and check it against its
//! exact law (see `docs/sde.md`).

use super::Status;
use anyhow::Result;
use std::path::PathBuf;

/// Arguments of `bayesrg sde`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The config file (TOML, or JSON by extension).
    config: PathBuf,
    /// The result folder (written atomically).
    #[arg(long)]
    out: Option<PathBuf>,
    /// No progress bar and no table.
    #[arg(long)]
    quiet: bool,
}

pub fn run(args: Args) -> Result<Status> {
    let s = crate::commands::sde::run_file(&args.config, args.out.as_deref(), args.quiet)?;
    if !args.quiet {
        for c in &s.checks {
            println!(
                "{} {:<55} {:>12.4e} {} {:e}",
                if c.pass { "pass" } else { "FAIL" },
                c.name,
                c.value,
                c.relation,
                c.threshold
            );
        }
        if let Some(r) = s.details.get("path_steps_per_second") {
            println!(
                "path-steps per second: {:.3e}",
                r.as_f64().unwrap_or(f64::NAN)
            );
        }
        if let Some(o) = &args.out {
            println!("results in {}", o.display());
        }
    }
    Ok(Status::from_ok(s.pass))
}
