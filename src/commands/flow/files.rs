//! The files of `bayesrg flow`: `observables.csv`, `predictive.csv` and the
//! plots, from a [`FlowResult`].

use crate::output::OutDir;
use crate::output::csv_number;
use crate::plot::{self, Axes, Series};
use anyhow::Result;
use bayesrg_core::bayes::flow::{FlowResult, FlowRow, FlowSpec};

/// The files written (listed in summary.json).
pub const FILES: [&str; 6] = [
    "observables.csv",
    "predictive.csv",
    "observables.png",
    "widths.png",
    "predictive.png",
    "discrepancy.png",
];

/// summary.json's details: the headline numbers per τ (the rest is observables.csv and
/// predictive.csv).
pub fn details(spec: &FlowSpec, r: &FlowResult, _: bool) -> Result<serde_json::Value> {
    let col = |f: &dyn Fn(&FlowRow) -> f64| r.rows.iter().map(f).collect::<Vec<_>>();
    Ok(serde_json::json!({
        "model": r.model,
        "tau": spec.tau,
        "kl_model_space": col(&|x| x.kl),
        "kl_data_space": col(&|x| x.kl_data),
        "energy_distance": col(&|x| x.energy_distance),
        "energy_distance_floor": col(&|x| x.energy_distance_floor),
        "n_eff": col(&|x| x.n_eff),
        "max_rejected_fraction": col(&|x| x.rejected_fraction).into_iter().fold(0.0, f64::max),
        "jacobian_spread": r.jacobian_spread,
        "data_space_sampler": "core::sde Euler-Maruyama ensemble, dY = theta dW, theta theta^T = J I^+ J^T, from G(mu) + noise (bayes::backward::simulate_data_space)",
        "fisher_rank": r.rows.iter().map(|x| x.fisher_rank).collect::<Vec<_>>(),
        "null_directions_at_start": r.null_directions_at_start,
        "posterior_along_null_directions": "held at mu (width 0): the likelihood is flat there, so eq. (38) gives no width; pi_tau = N(mu, tau I^+) (bayes::backward module docs)",
        "n_eff_definition": "sum_i lambda_i/(lambda_i + tau) = sum_i T lambda_i/(1 + T lambda_i), T = 1/tau",
        "files": FILES,
    }))
}

/// Writes every file of `r` into `o`.
pub fn write(o: &OutDir, _: &FlowSpec, r: &FlowResult) -> Result<()> {
    observables_csv(o, r)?;
    if !r.y.is_empty() {
        predictive(o, r)?;
    }
    plots(o, r)
}

fn observables_csv(o: &OutDir, r: &FlowResult) -> Result<()> {
    let d = r.param_names.len();
    let mut w = csv::Writer::from_path(o.path("observables.csv"))?;
    let mut head: Vec<String> = vec!["tau".into()];
    head.extend(r.param_names.iter().map(|n| format!("mu_{n}")));
    head.extend(
        [
            "kl_to_p0",
            "entropy",
            "n_eff",
            "map_fisher_speed",
            "rejected_fraction",
            "kl_to_p0_data",
            "entropy_data",
            "energy_distance",
            "energy_distance_floor",
            "moment_z",
        ]
        .map(String::from),
    );
    head.extend((0..d).map(|i| format!("fisher_eig_{i}")));
    head.extend((0..d).map(|i| format!("width_{i}")));
    w.write_record(&head)?;
    for x in &r.rows {
        let mut v = vec![x.tau];
        v.extend(&x.mu);
        v.extend([
            x.kl,
            x.entropy,
            x.n_eff,
            x.map_fisher_speed,
            x.rejected_fraction,
            x.kl_data,
            x.entropy_data,
            x.energy_distance,
            x.energy_distance_floor,
            x.moment_z,
        ]);
        v.extend(&x.fisher_eigenvalues);
        v.extend(&x.widths);
        w.write_record(v.iter().map(|x| csv_number(*x)))?;
    }
    w.flush()?;
    Ok(())
}

/// predictive.csv and predictive.png (p₀ and up to four τ).
fn predictive(o: &OutDir, r: &FlowResult) -> Result<()> {
    let mut w = csv::Writer::from_path(o.path("predictive.csv"))?;
    let mut head = vec!["y".to_string(), "p_0".to_string()];
    head.extend(
        r.rows
            .iter()
            .map(|x| format!("p_tau={}", bayesrg_core::error::show(x.tau))),
    );
    w.write_record(&head)?;
    for (k, y) in r.y.iter().enumerate() {
        let mut v = vec![*y, r.p0[k]];
        v.extend(r.predictive.iter().map(|p| p[k]));
        w.write_record(v.iter().map(|x| csv_number(*x)))?;
    }
    w.flush()?;
    let n = r.predictive.len();
    let pick: Vec<usize> = if n <= 4 {
        (0..n).collect()
    } else {
        (0..4).map(|i| i * (n - 1) / 3).collect()
    };
    let curve = |p: &[f64]| r.y.iter().copied().zip(p.iter().copied()).collect();
    let mut s = vec![Series::line("p_0 = p(y|mu_0)", curve(&r.p0))];
    for &i in &pick {
        s.push(Series::line(
            format!("tau = {}", bayesrg_core::error::show(r.rows[i].tau)),
            curve(&r.predictive[i]),
        ));
    }
    plot::line_chart(
        &o.path("predictive.png"),
        &Axes {
            title: "Predictive p_tau(y) (eq. 39)".into(),
            x_label: "y".into(),
            y_label: "density".into(),
            log_x: false,
            log_y: false,
        },
        &s,
    )
}

fn plots(o: &OutDir, r: &FlowResult) -> Result<()> {
    let ax = |t: &str, y: &str, log_y: bool| Axes {
        title: t.into(),
        x_label: "tau".into(),
        y_label: y.into(),
        log_x: true,
        log_y,
    };
    let along = |f: &dyn Fn(&bayesrg_core::bayes::flow::FlowRow) -> f64| {
        r.rows.iter().map(|x| (x.tau, f(x))).collect::<Vec<_>>()
    };
    let mut s = Vec::new();
    if !r.y.is_empty() {
        s.push(Series::line("KL(p_tau||p_0) model space", along(&|x| x.kl)));
        s.push(Series::line("entropy H(p_tau)", along(&|x| x.entropy)));
    }
    if r.data_space {
        s.push(Series::line("KL data space (43)", along(&|x| x.kl_data)));
    }
    s.push(Series::line("n_eff", along(&|x| x.n_eff)));
    plot::line_chart(
        &o.path("observables.png"),
        &ax("Flow observables along tau", "value", false),
        &s,
    )?;
    let s: Vec<Series> = (0..r.param_names.len())
        .map(|i| {
            Series::line(
                format!("width along Fisher eigendirection {i}"),
                along(&|x| x.widths[i]),
            )
        })
        .collect();
    plot::line_chart(
        &o.path("widths.png"),
        &ax(
            "Posterior widths sqrt(tau/lambda_i) (stiffest = 0)",
            "width",
            true,
        ),
        &s,
    )?;
    if r.data_space {
        plot::line_chart(
            &o.path("discrepancy.png"),
            &ax(
                "Model space (39) vs data space (43): energy distance",
                "energy distance",
                true,
            ),
            &[
                Series::line("energy distance", along(&|x| x.energy_distance.max(1e-12))),
                Series::line(
                    "Monte Carlo floor",
                    along(&|x| x.energy_distance_floor.max(1e-12)),
                ),
            ],
        )?;
    }
    Ok(())
}
