//! The files of `bayesrg bayes`: `flow.csv`, `data.csv` and the plots, from a
//! [`BayesResult`].

use crate::output::OutDir;
use crate::output::csv_number;
use crate::plot::{self, Axes, Series};
use anyhow::Result;
use bayesrg_core::bayes::experiment::{BayesResult, BayesSpec};

/// The files written (listed in summary.json).
pub const FILES: [&str; 5] = [
    "flow.csv",
    "data.csv",
    "mean.png",
    "variance.png",
    "energy.png",
];

/// summary.json's details: the headline numbers (the records are flow.csv and data.csv).
pub fn details(_: &BayesSpec, r: &BayesResult, _: bool) -> Result<serde_json::Value> {
    Ok(serde_json::json!({
        "model": r.model,
        "free": r.free,
        "theta_star": r.theta_star,
        "fisher_at_theta_star": r.fisher_at_theta_star,
        "late_time_error": r.late_time_error,
        "oracle": r.oracle,
        "stepper": "classical RK4 (order 4) on u = ln pi, from the prior at T = 0",
        "grid_scales": r.grid_scales,
        "map_notes": r.map_notes,
        "files": FILES,
    }))
}

/// Writes every file of `r` into `o`.
pub fn write(o: &OutDir, _: &BayesSpec, r: &BayesResult) -> Result<()> {
    flow_csv(o, r)?;
    data_csv(o, r)?;
    plots(o, r)
}

fn flow_csv(o: &OutDir, r: &BayesResult) -> Result<()> {
    let mut w = csv::Writer::from_path(o.path("flow.csv"))?;
    let mut head = vec!["T".to_string()];
    for n in &r.free {
        for c in [
            "mean",
            "var",
            "mean_34",
            "var_34",
            "var_35",
            "map",
            "particle_mean",
            "particle_var",
            "oracle_mean",
            "oracle_var",
        ] {
            head.push(format!("{c}_{n}"));
        }
    }
    for c in [
        "E_K",
        "Var_K",
        "dE_K_dT",
        "ln_Z",
        "ln_Z_34",
        "particle_ess",
        "map_fisher_speed",
    ] {
        head.push(c.into());
    }
    w.write_record(&head)?;
    for rec in &r.records {
        let mut row = vec![rec.t];
        for j in 0..r.free.len() {
            row.extend([
                rec.mean[j],
                rec.cov[j][j],
                rec.mean_34[j],
                rec.var_34[j],
                rec.var_35[j],
                rec.map[j],
                rec.particle_mean[j],
                rec.particle_var[j],
                rec.oracle_mean[j],
                rec.oracle_var[j],
            ]);
        }
        row.extend([
            rec.e_k,
            rec.var_k,
            rec.de_k_dt,
            rec.ln_z,
            rec.ln_z_34,
            rec.particle_ess,
            rec.map_fisher_speed,
        ]);
        w.write_record(row.iter().map(|v| csv_number(*v)))?;
    }
    w.flush()?;
    Ok(())
}

fn data_csv(o: &OutDir, r: &BayesResult) -> Result<()> {
    let mut w = csv::Writer::from_path(o.path("data.csv"))?;
    let mut head = vec!["n".to_string()];
    for n in &r.free {
        head.push(format!("mean_{n}"));
        head.push(format!("var_{n}"));
    }
    head.push("ln_evidence".into());
    w.write_record(&head)?;
    for d in &r.data {
        let mut row = vec![d.n as f64];
        for j in 0..r.free.len() {
            row.push(d.mean[j]);
            row.push(d.var[j]);
        }
        row.push(d.ln_evidence);
        w.write_record(row.iter().map(|v| csv_number(*v)))?;
    }
    w.flush()?;
    Ok(())
}

/// Mean and MAP, variance against (34) and (35), E[K]: T > 0 on log axes.
fn plots(o: &OutDir, r: &BayesResult) -> Result<()> {
    let recs: Vec<_> = r.records.iter().filter(|x| x.t > 0.0).collect();
    if recs.is_empty() {
        return Ok(());
    }
    let along = |f: &dyn Fn(&bayesrg_core::bayes::experiment::BayesRecord) -> f64| {
        recs.iter().map(|x| (x.t, f(x))).collect::<Vec<_>>()
    };
    let (mut s, mut sv) = (Vec::new(), Vec::new());
    for (j, name) in r.free.iter().enumerate() {
        s.push(Series::line(
            format!("mean {name} (RK4)"),
            along(&|x| x.mean[j]),
        ));
        s.push(Series::points(format!("MAP {name}"), along(&|x| x.map[j])));
        s.push(Series::line(
            format!("theta* {name}"),
            along(&|_| r.phi_star[j]),
        ));
        sv.push(Series::line(
            format!("var {name} (RK4)"),
            along(&|x| x.cov[j][j]),
        ));
        sv.push(Series::points(
            format!("var {name} (34)"),
            along(&|x| x.var_34[j]),
        ));
        sv.push(Series::line(
            format!("I^-1/T (35) {name}"),
            along(&|x| x.var_35[j]),
        ));
    }
    let axes = |title: &str, y_label: &str, log_y: bool| Axes {
        title: title.into(),
        x_label: "T".into(),
        y_label: y_label.into(),
        log_x: true,
        log_y,
    };
    plot::line_chart(
        &o.path("mean.png"),
        &axes("Posterior mean and MAP along T (eq. 33)", "theta", false),
        &s,
    )?;
    plot::line_chart(
        &o.path("variance.png"),
        &axes("Posterior variance vs (34) and (35)", "variance", true),
        &sv,
    )?;
    plot::line_chart(
        &o.path("energy.png"),
        &axes("E_pi[KL(theta*||theta)] along T", "E[K]", true),
        &[
            Series::line("E[K]", along(&|x| x.e_k)),
            Series::line("Var[K]", along(&|x| x.var_k)),
        ],
    )
}
