//! `bayesrg sde`: simulate a configured SDE ensemble and check it against its
//! exact law (see `docs/sde.md`).

use super::Status;
use crate::commands::sde;
use anyhow::{Context, Result};

/// Arguments of `bayesrg sde`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    io: super::ConfigOut,
    /// No progress bar and no table.
    #[arg(long)]
    quiet: bool,
}

pub fn run(args: Args) -> Result<Status> {
    let spec = sde::load(&args.io.config)?;
    let name = args.io.config.display().to_string();
    let out = args.io.out.as_deref();
    let ran = crate::commands::execute::<sde::Sde>(&spec, Some(name.clone()), out, !args.quiet)
        .with_context(|| name)?;
    let (s, secs) = (ran.summary, ran.seconds);
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
        let steps = s.details["paths"].as_f64().unwrap_or(f64::NAN)
            * s.details["steps_per_path"].as_f64().unwrap_or(f64::NAN);
        println!("path-steps per second: {:.3e}", steps / secs.max(1e-12));
        if let Some(o) = &args.io.out {
            println!("results in {}", o.display());
        }
    }
    Ok(Status::from_ok(s.pass))
}
