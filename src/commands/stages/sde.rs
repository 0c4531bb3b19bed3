use crate::commands::Summary;
use crate::commands::reproduce::StageCtx;
use anyhow::{Context, Result};

/// The example configs of `bayesrg sde`, built in.
const SDE: &[(&str, &str)] = &[
    (
        "heat_kernel",
        include_str!("../../../examples/sde/heat_kernel.toml"),
    ),
    (
        "fisher_normal",
        include_str!("../../../examples/sde/fisher_normal.toml"),
    ),
    (
        "fisher_pushforward",
        include_str!("../../../examples/sde/fisher_pushforward.toml"),
    ),
    (
        "ou_sra1",
        include_str!("../../../examples/sde/ou_sra1.toml"),
    ),
    (
        "quadratic_potential",
        include_str!("../../../examples/sde/quadratic_potential.toml"),
    ),
];

/// Stage `sde`: [`crate::commands::sde::run`] on every example config, each
/// into its own folder of the stage folder; the ensembles are checked against
/// the heat kernel N(γ_τ, τK⁻¹) (eq. 43) or the exact Ornstein–Uhlenbeck law.
/// With `quick`, a quarter of the paths. The examples run side by side
/// (`stages::in_order`: results in order, whatever finishes first).
pub fn sde(ctx: &StageCtx) -> Result<Vec<Summary>> {
    super::in_order(SDE, |(name, text)| {
        let origin = format!("examples/sde/{name}.toml");
        let mut cfg: crate::commands::sde::SdeSpec = crate::config::parse_toml(text, &origin)?;
        if ctx.quick {
            cfg.paths = (cfg.paths / 4).max(2000);
        }
        crate::commands::sde::run(&cfg, Some(origin.clone()), Some(&ctx.dir.join(name)), true)
            .with_context(|| origin)
    })
}
