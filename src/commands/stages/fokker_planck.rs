use crate::commands::Summary;
use crate::commands::reproduce::StageCtx;
use anyhow::Result;

/// Stage `fokker_planck`: [`crate::commands::fp::run`] into the stage folder.
pub fn fokker_planck(ctx: &StageCtx) -> Result<Vec<Summary>> {
    Ok(vec![crate::commands::fp::run(Some(&ctx.dir), ctx.quick)?])
}
