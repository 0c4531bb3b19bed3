//! `bayesrg prune`: the section-4 experiment. The config file is a
//! [`Section4Spec`]; the work is [`bayesrg_autoencoder::section4::run`]; this
//! module reads the config, calls the runner and writes its result:
//! `sweep.csv`, `fisher.csv`, `weights.bin`, `summary.json`, the figures, and
//! `timings.json` (the one file that differs from run to run).

use crate::commands::Summary;
use crate::output::OutDir;
use crate::plot::{self, Axes, Series};
use anyhow::{Context, Result};
use bayesrg_autoencoder::mnist::SIDE;
use bayesrg_autoencoder::section4::{self, Section4Result, Timings};
use std::path::Path;

pub use bayesrg_autoencoder::section4::Section4Spec;

/// The config of `bayesrg prune` (the section-4 spec).
pub type PruneConfig = Section4Spec;

/// Reads a config file into a spec and checks it; a bad value is reported
/// at its `file:line:col`.
pub fn load(path: &Path) -> Result<Section4Spec> {
    let spec: Section4Spec = crate::config::load(path)?;
    if let Err(e) = spec.validate() {
        let at = e.field().and_then(|f| {
            let text = std::fs::read_to_string(path).ok()?;
            crate::locate::locate(&text, &f)
        });
        return Err(match at {
            Some((l, c)) => anyhow::Error::new(e).context(format!("{}:{l}:{c}", path.display())),
            None => anyhow::Error::new(e).context(path.display().to_string()),
        });
    }
    Ok(spec)
}

/// Runs the experiment and writes its files into `out` when given; returns
/// the summary and the times.
pub fn run(
    spec: &Section4Spec,
    config_name: Option<String>,
    out: Option<&Path>,
    progress: bool,
) -> Result<(Summary, Timings)> {
    spec.validate()?;
    let inputs: Vec<&Path> = config_name
        .as_deref()
        .map(Path::new)
        .into_iter()
        .chain(spec.data.as_deref())
        .chain(spec.weights.as_deref())
        .collect();
    let staged = crate::output::stage(out, &inputs)?;
    let mut bars = crate::progress::Bars::new(progress);
    let run = section4::run(spec, &mut bars)?;
    drop(bars);
    let r = &run.result;
    let summary = Summary::new("prune", config_name, r.checks.clone(), details(r)?);
    if let Some(o) = staged {
        write_files(&o, r)?;
        o.write_json("summary.json", &summary)?;
        o.write_json("timings.json", &run.seconds)?;
        o.commit()?;
    }
    Ok((summary, run.seconds))
}

/// summary.json's details: the result without the per-parameter arrays
/// (those are fisher.csv and weights.bin) and the reconstructions (figures).
fn details(r: &Section4Result) -> Result<serde_json::Value> {
    let mut v = serde_json::to_value(r)?;
    if let Some(m) = v.as_object_mut() {
        for k in ["net", "fisher", "reconstructions", "checks"] {
            m.remove(k);
        }
        m.insert("arch".into(), serde_json::to_value(r.net.arch)?);
    }
    Ok(v)
}

fn write_files(o: &OutDir, r: &Section4Result) -> Result<()> {
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
            row.lambda.to_string(),
            row.removed.to_string(),
            row.fraction.to_string(),
        ];
        rec.extend(row.loss.iter().map(|l| l[0].to_string()));
        rec.extend(row.loss.iter().map(|l| l[1].to_string()));
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
        w.write_record([p.to_string(), g.into(), t.to_string(), v.to_string()])?;
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
        let (name, title) = match g.scheme.as_str() {
            "information_shell" => (
                "fig3_reconstructions_information_shell.png",
                "information shell",
            ),
            _ => (
                "fig4_reconstructions_random.png",
                "random removal, same counts",
            ),
        };
        let grid: Vec<(String, Vec<Vec<f64>>)> = g
            .panels
            .iter()
            .map(|p| (p.label.clone(), p.images.clone()))
            .collect();
        plot::image_grid(
            &o.path(name),
            &format!("Reconstructions: {title}"),
            &grid,
            SIDE,
        )?;
    }
    Ok(())
}
