//! The files of `bayesrg spectrum`: `spectrum.csv`, `participation.csv`,
//! `spectrum.png` and, for a free field, `shells.csv`, `dbrg.csv` and
//! `fisher_vs_momentum.png`; and summary.json's details, from a
//! [`SpectrumResult`].

use crate::output::{OutDir, csv_number};
use crate::plot;
use anyhow::Result;
use bayesrg_core::geometry::spectrum::{SpectrumResult, SpectrumSpec};
use serde_json::json;

/// summary.json's details.
pub fn details(_: &SpectrumSpec, r: &SpectrumResult, _: bool) -> Result<serde_json::Value> {
    let s = &r.spectrum;
    let mut d = json!({
        "model": r.model,
        "params": r.params,
        "theta": r.theta,
        "fisher_source": r.fisher_source,
        "method": s.method,
        "method_description": s.method.describe(),
        "eigenvalues": s.eigenvalues,
        "error_bounds": s.error_bounds,
        "digits": s.digits,
        "rank": s.rank,
        "null_directions": r.null_directions,
        "null_space": s.null_directions,
        "decades": s.decades,
        "decades_lower_bound": s.decades_lower_bound,
        "log10_spacings": s.log10_spacings,
        "mean_log10_spacing": r.mean_log10_spacing,
        "stiffest_direction_dominant_param": s.dominant_param.first(),
        "sloppiest_direction_dominant_param": s.dominant_param.last(),
        "participation_ratio": s.participation_ratio,
        "dominant_param": s.dominant_param,
    });
    if let Some(w) = &r.lattice {
        d["lattice"] = json!({
            "shape": w.shape,
            "mass": w.free_field.mass,
            "cutoff": w.cutoff,
            "spearman_fisher_momentum": w.correspondence.spearman_fisher_momentum,
            "ordering": "sorted directly by diagonal Fisher (eq. 55)",
            "dbrg": w.dbrg,
        });
    }
    Ok(d)
}

/// spectrum.csv, participation.csv, spectrum.png and, for a free field,
/// shells.csv, dbrg.csv and fisher_vs_momentum.png.
pub fn write(o: &OutDir, _: &SpectrumSpec, r: &SpectrumResult) -> Result<()> {
    let s = &r.spectrum;
    let mut csv = String::from(
        "index,eigenvalue,error_bound,digits,null,log10_eigenvalue,log10_spacing_to_next,dominant_param,participation_ratio\n",
    );
    for k in 0..s.eigenvalues.len() {
        csv.push_str(&format!(
            "{},{},{},{:.2},{},{},{},{},{}\n",
            k + 1,
            csv_number(s.eigenvalues[k]),
            csv_number(s.error_bounds[k]),
            s.digits[k],
            s.eigenvalues[k].abs() <= s.error_bounds[k] || s.eigenvalues[k].is_nan(),
            csv_number(s.log10_eigenvalues[k]),
            csv_number(s.log10_spacings.get(k).copied().unwrap_or(f64::NAN)),
            s.dominant_param[k],
            csv_number(s.participation_ratio[k])
        ));
    }
    o.write_text("spectrum.csv", &csv)?;
    let mut p = String::from("param");
    for k in 0..s.eigenvalues.len() {
        p.push_str(&format!(",dir{}", k + 1));
    }
    p.push('\n');
    for (i, n) in r.params.iter().enumerate() {
        p.push_str(n);
        for k in 0..s.eigenvalues.len() {
            p.push_str(&format!(",{}", csv_number(s.participation[i][k])));
        }
        p.push('\n');
    }
    o.write_text("participation.csv", &p)?;
    let pts: Vec<(f64, f64)> = s
        .eigenvalues
        .iter()
        .enumerate()
        .map(|(k, v)| ((k + 1) as f64, *v))
        .collect();
    plot::line_chart(
        &o.path("spectrum.png"),
        &plot::Axes {
            title: format!("Fisher spectrum, {}: {:.1} decades", r.model, s.decades),
            x_label: "eigenvalue index (stiffest first)".into(),
            y_label: "eigenvalue of I".into(),
            log_y: true,
            ..Default::default()
        },
        &[plot::Series {
            label: "eigenvalues".into(),
            points: pts,
            style: plot::Style::LinePoints,
        }],
    )?;
    let Some(w) = &r.lattice else {
        return Ok(());
    };
    let c = &w.correspondence;
    let mut t = String::from("mode,p_hat,theta,fisher,fisher_rank,momentum_rank\n");
    for r in &c.rows {
        t.push_str(&format!(
            "{},{},{},{},{},{}\n",
            r.mode,
            csv_number(r.p_hat),
            csv_number(r.theta),
            csv_number(r.fisher),
            r.fisher_rank,
            r.momentum_rank
        ));
    }
    o.write_text("shells.csv", &t)?;
    let mut t = String::from("tau,lambda,resolved_by_fisher,resolved_by_momentum\n");
    for r in &w.dbrg {
        t.push_str(&format!(
            "{},{},{},{}\n",
            csv_number(r.tau),
            csv_number(r.lambda),
            r.resolved_by_fisher,
            r.resolved_by_momentum
        ));
    }
    o.write_text("dbrg.csv", &t)?;
    let modes: Vec<(f64, f64)> = c.rows.iter().map(|r| (r.p_hat, r.fisher)).collect();
    let pmax = modes.iter().map(|m| m.0).fold(0.0, f64::max);
    let mut series = vec![
        plot::Series::points("modes (closed-form Fisher)", modes),
        plot::Series::line("K²/(2(p²+m²)²)", w.fisher_curve.clone()),
    ];
    if let Some(k) = &w.cutoff {
        series.push(plot::Series::line(
            format!("Fisher threshold I_Λ at Λ = {}", k.lambda),
            vec![(0.0, k.fisher_threshold), (pmax, k.fisher_threshold)],
        ));
    }
    plot::line_chart(
        &o.path("fisher_vs_momentum.png"),
        &plot::Axes {
            title: format!("Lattice free field {:?}: Fisher against |p̂|", w.shape),
            x_label: "|p̂|".into(),
            y_label: "diagonal Fisher I_jj".into(),
            log_y: true,
            ..Default::default()
        },
        &series,
    )?;
    Ok(())
}
