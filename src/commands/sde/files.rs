//! The files of `bayesrg sde`: CSV tables and figures of an [`SdeResult`].

use crate::output::OutDir;
use crate::output::csv_number;
use crate::plot::{self, Axes, Series};
use anyhow::Result;
use bayesrg_core::fokker_planck::grid1d::normal_pdf;
use bayesrg_core::sde::{SdeResult, SdeSpec};

/// summary.json's details: the result without the states and the dense law.
pub fn details(_: &SdeSpec, r: &SdeResult, _: bool) -> Result<serde_json::Value> {
    let mut v = serde_json::to_value(r)?;
    if let Some(m) = v.as_object_mut() {
        for k in ["states", "law_curve", "checks", "oracle"] {
            m.remove(k);
        }
        if r.k_inv.is_none() {
            m.remove("k_inv");
        }
    }
    Ok(v)
}

/// Run times go to `timings.json`, not into the results: two runs with
/// one seed give byte-identical result files (issue 11 §5).
pub fn timings(dir: &OutDir, r: &SdeResult, secs: f64) -> Result<()> {
    let rate = (r.paths * r.steps_per_path) as f64 / secs.max(1e-12);
    dir.write_json(
        crate::output::TIMINGS_FILE,
        &serde_json::json!({ "seconds": secs, "path_steps_per_second": rate }),
    )
}

/// Writes moments.csv, paths_<k>.csv, the marginal histograms and the
/// mean and variance figures into `dir`.
pub fn write(dir: &OutDir, spec: &SdeSpec, r: &SdeResult) -> Result<()> {
    let d = r.dim;
    // moments.csv
    let mut w = csv::Writer::from_path(dir.path("moments.csv"))?;
    let exact = r.saved.iter().all(|s| s.exact_mean.is_some());
    let mut header = vec!["t".to_string()];
    let mean_cols: &[&str] = if exact {
        &["mean", "exact_mean"]
    } else {
        &["mean"]
    };
    let cov_cols: &[&str] = if exact {
        &["cov", "exact_cov"]
    } else {
        &["cov"]
    };
    for pre in mean_cols {
        header.extend((0..d).map(|j| format!("{pre}_{j}")));
    }
    for pre in cov_cols {
        for i in 0..d {
            header.extend((i..d).map(|j| format!("{pre}_{i}_{j}")));
        }
    }
    w.write_record(&header)?;
    for s in &r.saved {
        let mut row = vec![s.t];
        row.extend(&s.mean);
        row.extend(s.exact_mean.iter().flatten());
        for cov in std::iter::once(&s.cov).chain(&s.exact_cov) {
            for (i, r) in cov.iter().enumerate() {
                row.extend(&r[i..d]);
            }
        }
        w.write_record(row.iter().map(|v| csv_number(*v)))?;
    }
    w.flush()?;
    // paths_<k>.csv
    let keep = spec.sample_paths.min(r.paths);
    for (k, s) in r.saved.iter().enumerate() {
        let mut w = csv::Writer::from_path(dir.path(&format!("paths_{k}.csv")))?;
        let mut header = vec!["t".to_string(), "path".to_string()];
        header.extend((0..d).map(|j| format!("y_{j}")));
        w.write_record(&header)?;
        for (i, y) in r.states[k].chunks_exact(d).take(keep).enumerate() {
            let mut row = vec![csv_number(s.t), i.to_string()];
            row.extend(y.iter().map(|v| csv_number(*v)));
            w.write_record(&row)?;
        }
        w.flush()?;
    }
    // Marginal histograms against the exact density (first 4 coordinates).
    for (k, s) in r.saved.iter().enumerate() {
        for j in 0..d.min(4) {
            let curve = match (&s.exact_mean, &s.exact_cov) {
                (Some(m), Some(c)) => {
                    let (mu, v) = (m[j], c[j][j]);
                    let sd = v.sqrt();
                    let pts = (0..=200)
                        .map(|i| {
                            let x = mu + sd * (-4.5 + 9.0 * i as f64 / 200.0);
                            (x, normal_pdf(x, mu, v))
                        })
                        .collect();
                    vec![Series::line("exact law", pts)]
                }
                _ => vec![],
            };
            let coord: Vec<f64> = r.states[k].chunks_exact(d).map(|y| y[j]).collect();
            plot::histogram(
                &dir.path(&format!("marginal_{k}_y{j}.png")),
                &Axes {
                    title: format!("y{j} at τ = {}", s.t),
                    x_label: format!("y{j}"),
                    y_label: "density".into(),
                    ..Default::default()
                },
                &coord,
                spec.bins,
                &curve,
            )?;
        }
    }
    // Mean and variance against time (exact law dense in τ, ensemble at saved times).
    let (mut mean_series, mut var_series) = (Vec::new(), Vec::new());
    for j in 0..d.min(4) {
        let exact = |f: &dyn Fn(&bayesrg_core::sde::runner::LawPoint) -> f64| {
            r.law_curve.iter().map(|p| (p.t, f(p))).collect::<Vec<_>>()
        };
        let ens = |f: &dyn Fn(&bayesrg_core::sde::runner::SavedTime) -> f64| {
            r.saved.iter().map(|s| (s.t, f(s))).collect::<Vec<_>>()
        };
        if !r.law_curve.is_empty() {
            mean_series.push(Series::line(format!("exact y{j}"), exact(&|p| p.mean[j])));
        }
        mean_series.push(Series::points(
            format!("ensemble y{j}"),
            ens(&|s| s.mean[j]),
        ));
        if !r.law_curve.is_empty() {
            var_series.push(Series::line(
                format!("exact var y{j}"),
                exact(&|p| p.cov[j][j]),
            ));
        }
        var_series.push(Series::points(
            format!("ensemble var y{j}"),
            ens(&|s| s.cov[j][j]),
        ));
    }
    for (file, what, series) in [
        ("mean.png", "mean", mean_series),
        ("variance.png", "variance", var_series),
    ] {
        plot::line_chart(
            &dir.path(file),
            &Axes {
                title: format!("{what} against time"),
                x_label: "τ".into(),
                y_label: what.into(),
                ..Default::default()
            },
            &series,
        )?;
    }
    Ok(())
}
