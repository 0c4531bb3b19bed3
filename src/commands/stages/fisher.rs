use crate::commands::Summary;
use crate::commands::reproduce::StageCtx;
use crate::plot::{Axes, Series, line_chart};
use anyhow::{Result, anyhow};
use bayesrg_core::registry;
use bayesrg_core::validate::{Settings, validate};

/// Stage `fisher`: the validator on every registered model at its example θ.
/// Writes `fisher/<model>.json` (the validator's report) and a plot of the
/// KL-expansion ratios (eq. 31) of every model against ε.
pub fn fisher(ctx: &StageCtx) -> Result<Vec<Summary>> {
    let settings = Settings {
        samples: if ctx.quick { 20_000 } else { 100_000 },
        ..Settings::default()
    };
    // Every model side by side ([`super::in_order`]), in registry order.
    let entries = registry::models().map_err(|e| anyhow!(e))?;
    let runs = super::in_order(&entries, |entry| {
        let model = (entry.example)();
        let theta = (entry.example_theta)();
        let report = validate(model.as_ref(), &theta, &settings)
            .map_err(|e| anyhow!("model `{}`: {e}", entry.tag))?;
        std::fs::write(
            ctx.dir
                .join(format!("{}.json", entry.tag.replace('/', "_"))),
            serde_json::to_string_pretty(&report)?,
        )?;
        let series = report.kl_expansion.as_ref().map(|kl| {
            // The worst direction's |ratio − 1| against ε: it must fall like O(ε).
            let pts: Vec<(f64, f64)> = kl
                .epsilons
                .iter()
                .enumerate()
                .map(|(k, &e)| {
                    let worst = kl
                        .directions
                        .iter()
                        .map(|d| (d.ratios[k] - 1.0).abs())
                        .fold(0.0, f64::max);
                    (e, worst.max(1e-16))
                })
                .collect();
            Series::line(entry.tag, pts)
        });
        let summary = Summary::new(
            "fisher",
            Some(format!("{} at {}", entry.tag, theta_label(&theta))),
            report.checks.clone(),
            serde_json::json!({ "model": entry.tag, "theta": theta }),
        );
        Ok((summary, series))
    })?;
    let mut out = vec![];
    let mut series = vec![];
    for (summary, s) in runs {
        out.push(summary);
        series.extend(s);
    }
    if !series.is_empty() {
        line_chart(
            &ctx.dir.join("kl_expansion.png"),
            &Axes {
                title: "eq. (31): |KL / (½ε²vᵀIv) − 1|, worst direction".into(),
                x_label: "ε".into(),
                y_label: "|ratio − 1|".into(),
                log_x: true,
                log_y: true,
            },
            &series,
        )?;
    }
    Ok(out)
}

/// θ for a table cell: the values when there are few, the dimension otherwise.
fn theta_label(theta: &[f64]) -> String {
    if theta.len() <= 6 {
        let v: Vec<String> = theta.iter().map(|x| format!("{x}")).collect();
        format!("θ = [{}]", v.join(", "))
    } else {
        format!("θ ∈ ℝ^{} (see the JSON file)", theta.len())
    }
}
