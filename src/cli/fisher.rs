//! `bayesrg fisher FILE.toml`: the Fisher validator on one config file.

use super::Status;
use crate::commands::fisher::{self, Overrides};
use anyhow::Result;
use bayesrg::core::empirical::EmpiricalComparison;
use bayesrg::core::validate::{KL_EPSILONS, Measure, Report, fmt_num};
use std::path::PathBuf;

/// Arguments of `bayesrg fisher`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The config file (TOML; see docs/fisher.md).
    file: PathBuf,
    /// Print one JSON object (the validator's report) instead of a table.
    #[arg(long)]
    json: bool,
    /// Monte Carlo samples per estimator (overrides the file).
    #[arg(long)]
    samples: Option<usize>,
    /// Seed (overrides the file).
    #[arg(long)]
    seed: Option<u64>,
}

pub fn run(args: Args) -> Result<Status> {
    let loaded = fisher::load(&args.file)?;
    let run = fisher::run_all(
        &loaded,
        Overrides {
            samples: args.samples,
            seed: args.seed,
        },
    )?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&run)?);
    } else {
        print!("{}", table(&run.report));
        if let Some(e) = &run.empirical {
            print!("{}", empirical_table(e, &run.report.params));
        }
    }
    Ok(Status::from_ok(run.report.verdict.pass))
}

fn matrix_lines(out: &mut String, m: &[Vec<f64>], se: Option<&Vec<Vec<f64>>>) {
    for (i, row) in m.iter().enumerate() {
        out.push_str("    [");
        for (j, v) in row.iter().enumerate() {
            match se {
                Some(se) => {
                    out.push_str(&format!(" {:>11} ± {:<9}", fmt_num(*v), fmt_num(se[i][j])))
                }
                None => out.push_str(&format!(" {:>11}", fmt_num(*v))),
            }
        }
        out.push_str(" ]\n");
    }
}

/// The readable report.
fn table(r: &Report) -> String {
    let mut o = String::new();
    let point: Vec<String> = r
        .params
        .iter()
        .zip(&r.theta)
        .map(|(n, v)| format!("{n} = {v}"))
        .collect();
    o.push_str(&format!(
        "Fisher validator: model `{}` at {}\n{} samples per Monte Carlo estimator, seed {}, z threshold {:.2}\n",
        r.model,
        point.join(", "),
        r.samples,
        r.seed,
        r.z_threshold
    ));
    match r.reference {
        Some(m) => o.push_str(&format!(
            "reference: {}\n",
            serde_json::to_value(m)
                .unwrap_or_default()
                .as_str()
                .unwrap_or("?")
        )),
        None => o.push_str("reference: none (Monte Carlo estimators compared with each other)\n"),
    }
    for e in &r.estimators {
        let name = serde_json::to_value(e.method).unwrap_or_default();
        o.push_str(&format!("\n{}", name.as_str().unwrap_or("?")));
        if e.std_err.is_some() {
            o.push_str(" (± standard error)");
        }
        o.push_str(":\n");
        matrix_lines(&mut o, &e.matrix, e.std_err.as_ref());
        for c in &e.comparisons {
            let what = match c.measure {
                Measure::ZScore => "worst z",
                Measure::RelError => "worst scaled error",
            };
            o.push_str(&format!(
                "    vs {}: {what} {} at ({}, {})\n",
                c.against,
                fmt_num(c.worst),
                r.params[c.worst_entry[0]],
                r.params[c.worst_entry[1]]
            ));
        }
    }
    if let Some(c) = &r.claimed {
        o.push_str("\nclaimed:\n");
        matrix_lines(&mut o, &c.matrix, None);
    }
    o.push_str(&format!(
        "\nscore mean (eq. 28): [{}], worst z {}\n",
        r.score_mean
            .mean
            .iter()
            .map(|v| fmt_num(*v))
            .collect::<Vec<_>>()
            .join(", "),
        fmt_num(r.score_mean.worst_z)
    ));
    if let Some(k) = &r.kl_expansion {
        o.push_str("\nKL(θ‖θ+δ) / (½δᵀIδ), eq. (31), steps ε in Fisher units:\n");
        o.push_str(&format!("    {:<16}", "direction"));
        for e in KL_EPSILONS {
            o.push_str(&format!(" {:>14}", format!("ε = {e:e}")));
        }
        o.push('\n');
        for d in &k.directions {
            o.push_str(&format!("    {:<16}", d.label));
            for v in &d.ratios {
                o.push_str(&format!(" {v:>14.9}"));
            }
            if d.shrink < 1.0 {
                o.push_str(&format!("  (step shrunk ×{})", fmt_num(d.shrink)));
            }
            o.push('\n');
        }
    }
    let s = &r.spectrum;
    o.push_str(&format!(
        "\nspectrum of {}: eigenvalues [{}], condition number {}\n",
        s.of,
        s.eigenvalues
            .iter()
            .map(|v| fmt_num(*v))
            .collect::<Vec<_>>()
            .join(", "),
        fmt_num(s.condition_number)
    ));
    for (name, d) in [("stiff ", &s.stiff), ("sloppy", &s.sloppy)] {
        o.push_str(&format!(
            "    {name} λ = {}  mostly {}  [{}]\n",
            fmt_num(d.eigenvalue),
            d.dominant,
            d.components
                .iter()
                .map(|v| format!("{v:.3}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    o.push_str("\nchecks:\n");
    for c in &r.checks {
        o.push_str(&format!(
            "  {}  {:<62} {:>11} {} {}\n",
            match (c.pass, c.note.is_some()) {
                (true, _) => "pass",
                (false, true) => "n/a ",
                (false, false) => "FAIL",
            },
            c.name,
            fmt_num(c.value),
            c.relation,
            fmt_num(c.threshold)
        ));
    }
    for n in &r.notes {
        o.push_str(&format!("  note: {n}\n"));
    }
    o.push_str(&format!(
        "\nverdict: {}\n",
        match (r.verdict.pass, r.verdict.inconclusive) {
            (true, _) => "PASS",
            (false, true) => "INCONCLUSIVE (a check could not be resolved; see below)",
            (false, false) => "FAIL",
        }
    ));
    for reason in &r.verdict.reasons {
        o.push_str(&format!("  {reason}\n"));
    }
    o
}

/// The empirical-Fisher section (informational; not part of the verdict).
fn empirical_table(e: &EmpiricalComparison, params: &[String]) -> String {
    let mut o = String::new();
    o.push_str(&format!(
        "\nempirical Fisher of the data, n = {} (± standard error; not part of the verdict):\n",
        e.observations
    ));
    matrix_lines(&mut o, &e.empirical, Some(&e.empirical_std_err));
    o.push_str(&format!(
        "    mean score: [{}]\n",
        params
            .iter()
            .zip(e.mean_score.iter().zip(&e.mean_score_z))
            .map(|(n, (m, z))| format!("{n}: {} (z {})", fmt_num(*m), fmt_num(*z)))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    if let Some(i) = &e.fisher {
        let name = serde_json::to_value(e.reference).unwrap_or_default();
        o.push_str(&format!(
            "    I(θ) ({}):\n",
            name.as_str().unwrap_or("reference")
        ));
        matrix_lines(&mut o, i, None);
    }
    o.push_str(&format!(
        "    diagnosis: {}\n",
        serde_json::to_value(e.diagnosis)
            .unwrap_or_default()
            .as_str()
            .unwrap_or("?")
    ));
    for line in &e.explanation {
        o.push_str(&format!("    {line}\n"));
    }
    o
}
