use crate::commands::Summary;
use crate::commands::reproduce::StageCtx;
use anyhow::{Context, Result};

/// The example configs of `bayesrg bayes`, built in.
const BAYES: &[(&str, &str)] = &[
    (
        "normal",
        include_str!("../../../examples/bayes/normal.toml"),
    ),
    (
        "normal_2d",
        include_str!("../../../examples/bayes/normal_2d.toml"),
    ),
    (
        "bernoulli",
        include_str!("../../../examples/bayes/bernoulli.toml"),
    ),
    (
        "poisson",
        include_str!("../../../examples/bayes/poisson.toml"),
    ),
    (
        "linear_gaussian",
        include_str!("../../../examples/bayes/linear_gaussian.toml"),
    ),
    (
        "sum_of_exponentials",
        include_str!("../../../examples/bayes/sum_of_exponentials.toml"),
    ),
];

/// The example configs of `bayesrg flow`, built in.
const FLOW: &[(&str, &str)] = &[
    ("normal", include_str!("../../../examples/flow/normal.toml")),
    (
        "normal_var",
        include_str!("../../../examples/flow/normal_var.toml"),
    ),
    (
        "bernoulli",
        include_str!("../../../examples/flow/bernoulli.toml"),
    ),
    (
        "poisson",
        include_str!("../../../examples/flow/poisson.toml"),
    ),
    (
        "linear_gaussian",
        include_str!("../../../examples/flow/linear_gaussian.toml"),
    ),
    (
        "sum_of_exponentials",
        include_str!("../../../examples/flow/sum_of_exponentials.toml"),
    ),
];

/// Stage `dynamical_bayes`: [`crate::commands::bayes::run`] and
/// [`crate::commands::flow::run`] (the library runners
/// `bayesrg_core::bayes::experiment::run` and `bayesrg_core::bayes::flow::run`) on every example config, each into its own
/// folder `bayes-<name>` / `flow-<name>` of the stage folder. With `quick`,
/// only the one-dimensional `bayes` examples and every flow.
pub fn dynamical_bayes(ctx: &StageCtx) -> Result<Vec<Summary>> {
    crate::ensure_linked();
    // Every bayes example, then every flow, side by side ([`super::in_order`]).
    let jobs: Vec<(bool, &str, &str)> = BAYES
        .iter()
        .filter(|(name, _)| {
            !(ctx.quick
                && matches!(
                    *name,
                    "normal_2d" | "linear_gaussian" | "sum_of_exponentials"
                ))
        })
        .map(|(n, t)| (true, *n, *t))
        .chain(FLOW.iter().map(|(n, t)| (false, *n, *t)))
        .collect();
    super::in_order(&jobs, |&(is_bayes, name, text)| {
        if is_bayes {
            let origin = format!("examples/bayes/{name}.toml");
            let spec: crate::commands::bayes::BayesSpec = crate::config::parse_toml(text, &origin)?;
            crate::commands::bayes::run(
                &spec,
                Some(&origin),
                Some(&ctx.dir.join(format!("bayes-{name}"))),
                false,
            )
            .with_context(|| origin.clone())
        } else {
            let origin = format!("examples/flow/{name}.toml");
            let spec: crate::commands::flow::FlowSpec = crate::config::parse_toml(text, &origin)?;
            crate::commands::flow::run(
                &spec,
                Some(&origin),
                Some(&ctx.dir.join(format!("flow-{name}"))),
                false,
            )
            .with_context(|| origin.clone())
        }
    })
}
