//! Stage `fokker_planck`: the reference suite
//! [`bayesrg_core::fokker_planck::reference::run`] and its files.

use crate::commands::Summary;
use crate::commands::reproduce::StageCtx;
use crate::plot::{self, Axes, Series};
use anyhow::Result;
use bayesrg_core::fokker_planck::reference::{self, ReferenceResult, ReferenceSpec};
use serde_json::json;
use std::fmt::Write as _;
use std::path::Path;

/// Stage `fokker_planck`: the reference suite into the stage folder.
pub fn fokker_planck(ctx: &StageCtx) -> Result<Vec<Summary>> {
    Ok(vec![run(Some(&ctx.dir), ctx.quick)?])
}

/// Runs the suite; writes its CSV and figures into `dir` when given (the
/// caller owns the folder's atomicity, as `reproduce` does).
pub fn run(dir: Option<&Path>, quick: bool) -> Result<Summary> {
    let r = reference::run(&ReferenceSpec { quick }, &mut bayesrg_core::observe::Silent)?;
    if let Some(dir) = dir {
        write(dir, &r)?;
    }
    let details = json!({
        "ou_order": r.ou_order,
        "ou_l1_errors": r.ou_l1_errors,
        "semigroup_error_estimates": r.semigroup_error_estimates,
        "reverse_recovered": r.reverse_recovered,
        "reverse_statistics": r.reverse_statistics,
        "chi_square": r.chi_square,
        "fokker_planck_warnings": r.fokker_planck_warnings,
    });
    Ok(Summary::new("fokker_planck", None, r.checks, details))
}

fn write(dir: &Path, r: &ReferenceResult) -> Result<()> {
    let st = &r.stationary;
    let mut s = String::from("y,grid,exact,grid_without_divergence\n");
    for i in 0..st.y.len() {
        let (y, a, b, c) = (
            st.y[i],
            st.grid[i],
            st.exact[i],
            st.grid_without_divergence[i],
        );
        writeln!(s, "{y},{a},{b},{c}")?;
    }
    std::fs::write(dir.join("stationary.csv"), s)?;
    let mut csv = String::from("cells,h,l1_error\n");
    for (n, h, err) in &r.ou_convergence {
        writeln!(csv, "{n},{h},{err}")?;
    }
    std::fs::write(dir.join("ou_convergence.csv"), &csv)?;
    let pts = |v: &[f64]| {
        st.y.iter()
            .copied()
            .zip(v.iter().copied())
            .collect::<Vec<_>>()
    };
    plot::line_chart(
        &dir.join("stationary.png"),
        &Axes {
            title: "Stationary law exp(−V), state-dependent K⁻¹".into(),
            x_label: "y".into(),
            y_label: "density".into(),
            ..Default::default()
        },
        &[
            Series::line("exp(−V)/Z", pts(&st.exact)),
            Series::points("grid (with ½D′)", pts(&st.grid)),
            Series::line("grid without ½D′", pts(&st.grid_without_divergence)),
        ],
    )?;
    plot::line_chart(
        &dir.join("ou_convergence.png"),
        &Axes {
            title: format!("Grid L¹ error on OU, order {:.2}", r.ou_order),
            x_label: "h".into(),
            y_label: "L¹ error".into(),
            log_x: true,
            log_y: true,
        },
        &[Series::points(
            "L¹ error",
            r.ou_convergence.iter().map(|&(_, h, e)| (h, e)).collect(),
        )],
    )?;
    let mut s = String::from("y1,y2\n");
    for row in r.reverse_samples.chunks(2).take(2000) {
        writeln!(s, "{},{}", row[0], row[1])?;
    }
    std::fs::write(dir.join("reverse_samples.csv"), s)?;
    let xs: Vec<f64> = r.reverse_samples.chunks(2).map(|row| row[0]).collect();
    plot::histogram(
        &dir.join("reverse_marginal.png"),
        &Axes {
            title: "Reverse SDE from p_T: first coordinate against p₀".into(),
            x_label: "y₁".into(),
            y_label: "density".into(),
            ..Default::default()
        },
        &xs,
        60,
        &[Series::line("p₀ marginal", r.reverse_marginal.clone())],
    )?;
    plot::histogram(
        &dir.join("grid_vs_ensemble.png"),
        &Axes {
            title: "Euler–Maruyama ensemble against the Fokker–Planck grid, τ = 1".into(),
            x_label: "y".into(),
            y_label: "density".into(),
            ..Default::default()
        },
        &r.ensemble_sample,
        60,
        &[Series::line("grid", r.grid_curve.clone())],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn quick_run_passes_and_writes_its_files() {
        let dir = std::env::temp_dir().join(format!("bayesrg-fp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let s = super::run(Some(&dir), true).unwrap();
        for c in &s.checks {
            assert!(c.pass, "{c:?}");
        }
        assert!(s.pass);
        for f in [
            "stationary.csv",
            "stationary.png",
            "ou_convergence.csv",
            "reverse_samples.csv",
            "reverse_marginal.png",
            "grid_vs_ensemble.png",
        ] {
            assert!(dir.join(f).exists(), "{f}");
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}
