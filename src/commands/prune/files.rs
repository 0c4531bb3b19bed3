//! The files of `bayesrg prune`: `sweep.csv`, `fisher.csv`, `weights.bin` and
//! the figures (2, 3, 4 and 5 of the paper), written from a
//! [`Section4Run`].

use crate::output::{OutDir, csv_number};
use crate::plot::{self, Axes, Series};
use anyhow::{Context, Result};
use bayesrg_autoencoder::mnist::SIDE;
use bayesrg_autoencoder::section4::{Section4Run, Section4Spec};
use std::path::Path;

/// The MNIST folder and the weights file, when given.
pub fn inputs(spec: &Section4Spec) -> Vec<&Path> {
    spec.data
        .iter()
        .chain(&spec.weights)
        .map(|p| p.as_path())
        .collect()
}

/// summary.json's details: the result without the per-parameter arrays (those are fisher.csv and
/// weights.bin) and the reconstructions (figures).
pub fn details(_: &Section4Spec, run: &Section4Run, _: bool) -> Result<serde_json::Value> {
    let r = &run.result;
    let mut v = serde_json::to_value(r)?;
    if let Some(m) = v.as_object_mut() {
        for k in ["net", "fisher", "reconstructions", "checks"] {
            m.remove(k);
        }
        m.insert("arch".into(), serde_json::to_value(r.net.arch)?);
    }
    Ok(v)
}

/// timings.json: the times of the run (the one file that differs from run to
/// run).
pub fn timings(dir: &OutDir, run: &Section4Run, _: f64) -> Result<()> {
    dir.write_json(crate::output::TIMINGS_FILE, &run.seconds)
}

/// Writes every result file but `summary.json` and `timings.json` into `o`.
pub fn write(o: &OutDir, _: &Section4Spec, run: &Section4Run) -> Result<()> {
    let r = &run.result;
    let arms = &r.sweep.arms;
    // sweep.csv: one row per point; the loss of each arm on all test images,
    // then on the protocol images.
    let mut w = csv::Writer::from_path(o.path("sweep.csv"))?;
    let mut header: Vec<String> = ["kind", "lambda", "removed", "fraction"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    header.extend(arms.iter().cloned());
    header.extend(arms.iter().map(|s| format!("{s}_protocol")));
    w.write_record(&header)?;
    for row in &r.sweep.rows {
        let mut rec = vec![
            row.kind.as_str().to_string(),
            csv_number(row.lambda),
            row.removed.to_string(),
            csv_number(row.fraction),
        ];
        rec.extend(row.loss.iter().map(|l| csv_number(l[0])));
        rec.extend(row.loss.iter().map(|l| csv_number(l[1])));
        w.write_record(&rec)?;
    }
    w.flush()?;
    // fisher.csv: every parameter.
    let mut w = csv::Writer::from_path(o.path("fisher.csv"))?;
    w.write_record(["index", "group", "theta", "fisher"])?;
    let a = r.net.arch;
    for (p, (t, v)) in r.net.theta.iter().zip(&r.fisher).enumerate() {
        let g = if p < a.encoder_weights() {
            "w1"
        } else if p < a.w2_offset() {
            "b1"
        } else if p < a.b2_offset() {
            "w2"
        } else {
            "b2"
        };
        w.write_record([p.to_string(), g.into(), csv_number(*t), csv_number(*v)])?;
    }
    w.flush()?;
    std::fs::write(o.path("weights.bin"), r.net.to_bytes()).context("writing weights.bin")?;

    // Figure 2: loss against removed count, every scheme.
    let mut by_count: Vec<_> = r.sweep.rows.iter().collect();
    by_count.sort_by_key(|row| row.removed);
    by_count.dedup_by_key(|row| row.removed);
    let labels = [
        "information shell (eq. 55)",
        "random",
        "magnitude",
        "KL-cost shell (½Fθ²)",
    ];
    let mut series: Vec<Series> = (0..arms.len())
        .map(|s| {
            let mut se = Series::line(
                labels.get(s).copied().unwrap_or(arms[s].as_str()),
                by_count
                    .iter()
                    .map(|row| (row.removed as f64, row.loss[s][0]))
                    .collect(),
            );
            se.style = plot::Style::LinePoints;
            se
        })
        .collect();
    series.push(Series::line(
        "unpruned",
        vec![
            (0.0, r.unpruned_loss),
            (r.encoder_weights as f64, r.unpruned_loss),
        ],
    ));
    plot::line_chart(
        &o.path("fig2_loss_vs_removed.png"),
        &Axes {
            title: "Test MSE after removing encoder weights (Figure 2)".into(),
            x_label: "encoder weights removed".into(),
            y_label: "test MSE".into(),
            log_y: true,
            ..Default::default()
        },
        &series,
    )?;
    // Figure 2, Λ axis: the paper grid.
    let paper: Vec<_> = r
        .sweep
        .rows
        .iter()
        .filter(|row| row.kind == bayesrg_schemes::sweep::RowKind::Paper)
        .collect();
    let s: Vec<Series> = (0..arms.len())
        .map(|k| {
            let mut se = Series::line(
                labels.get(k).copied().unwrap_or(arms[k].as_str()),
                paper
                    .iter()
                    .map(|row| (row.lambda, row.loss[k][0]))
                    .collect(),
            );
            se.style = plot::Style::LinePoints;
            se
        })
        .collect();
    plot::line_chart(
        &o.path("fig2_loss_vs_lambda.png"),
        &Axes {
            title: "Test MSE against the scale Λ (counts matched to the information shell)".into(),
            x_label: "Λ".into(),
            y_label: "test MSE".into(),
            log_y: true,
            ..Default::default()
        },
        &s,
    )?;
    // Figure 5: histogram of log10 of the positive encoder Fisher values.
    let enc = &r.fisher[..a.encoder_weights()];
    let logs: Vec<f64> = enc
        .iter()
        .filter(|&&v| v > 0.0)
        .map(|v| v.log10())
        .collect();
    if !logs.is_empty() {
        plot::histogram(
            &o.path("fig5_fisher_histogram.png"),
            &Axes {
                title: format!(
                    "Encoder Fisher diagonal ({} of {} are exactly 0, not shown)",
                    enc.len() - logs.len(),
                    enc.len()
                ),
                x_label: "log10 F_pp".into(),
                y_label: "density".into(),
                ..Default::default()
            },
            &logs,
            60,
            &[],
        )?;
    }
    // Figures 3–4: reconstructions.
    for g in &r.reconstructions {
        let name = format!("fig{}_reconstructions_{}.png", g.figure, g.scheme);
        let grid: Vec<(String, Vec<Vec<f64>>)> = g
            .panels
            .iter()
            .map(|p| (p.label.clone(), p.images.clone()))
            .collect();
        plot::image_grid(
            &o.path(&name),
            &format!("Reconstructions: {}", g.title),
            &grid,
            SIDE,
        )?;
    }
    Ok(())
}
