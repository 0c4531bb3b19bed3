use crate::commands::Summary;
use crate::commands::prune::{self, PruneConfig};
use crate::commands::reproduce::StageCtx;
use anyhow::Result;

/// Stage `autoencoder`: [`crate::commands::prune::run`] on the embedded MNIST
/// subset into the stage folder (the defaults, or [`PruneConfig::quick`]).
pub fn autoencoder(ctx: &StageCtx) -> Result<Vec<Summary>> {
    let cfg = if ctx.quick {
        PruneConfig::quick()
    } else {
        PruneConfig::default()
    };
    let name = if ctx.quick {
        "PruneConfig::quick (configs/prune/quick.toml)"
    } else {
        "PruneConfig::default (configs/prune/paper.toml)"
    };
    // prune::run writes through its own OutDir: give it a subfolder.
    let s = prune::run(
        &cfg,
        Some(name.into()),
        Some(&ctx.dir.join("prune")),
        !ctx.quiet,
    )?;
    Ok(vec![s])
}
