use crate::commands::Summary;
use crate::commands::prune::{self, Section4Spec};
use crate::commands::reproduce::StageCtx;
use anyhow::Result;

/// Stage `autoencoder`: the section-4 runner through
/// [`crate::commands::prune::run`] on the embedded MNIST subset, into the
/// stage folder (the defaults, or [`Section4Spec::quick`]).
pub fn autoencoder(ctx: &StageCtx) -> Result<Vec<Summary>> {
    let (spec, name) = if ctx.quick {
        (
            Section4Spec::quick(),
            "Section4Spec::quick (configs/prune/quick.toml)",
        )
    } else {
        (
            Section4Spec::default(),
            "Section4Spec::default (configs/prune/paper.toml)",
        )
    };
    // prune::run writes through its own OutDir: give it a subfolder.
    let (s, _) = prune::run(
        &spec,
        Some(name.into()),
        Some(&ctx.dir.join("prune")),
        !ctx.quiet,
    )?;
    Ok(vec![s])
}
