//! `bayesrg prune`: the section-4 experiment — train the autoencoder on MNIST,
//! compute its diagonal Fisher (eq. 29), coarse-grain the encoder by the
//! information shell of eq. (55) over a sweep of scales Λ, and compare with
//! random, magnitude and KL-cost removal at matched counts.
//!
//! Defaults: Table 2 of the paper (784 → 20 → 784, no biases, ReLU, MSE, Adam
//! 0.001/0.9/0.999/1e-8, Λ = 0, 0.125, …, 2.375) plus the authors' training
//! settings (batch 1000, seed 42, pixels ÷ 255, Fisher over the test set).

use crate::commands::{Check, Summary};
use crate::output::OutDir;
use crate::plot::{self, Axes, Series};
use anyhow::{Context, Result, anyhow, bail};
use bayesrg_autoencoder::fisher::{self, WithFisher};
use bayesrg_autoencoder::mnist::{self, PIXELS, SIDE};
use bayesrg_autoencoder::net::{Architecture, Autoencoder, TrainConfig};
use bayesrg_schemes::Scheme;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Settings of `bayesrg prune` (a TOML file; every field optional).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PruneConfig {
    /// Network shape (`[arch]`: input, latent, bias).
    pub arch: Architecture,
    /// Adam and loop settings (`[train]`).
    pub train: TrainConfig,
    /// MNIST folder (standard IDX names, raw or gzip); the embedded subset if absent.
    pub data: Option<PathBuf>,
    /// Load trained weights from this file instead of training.
    pub weights: Option<PathBuf>,
    /// Use only the first this many training images.
    pub train_images: Option<usize>,
    /// Use only the first this many test images (loss and Fisher).
    pub test_images: Option<usize>,
    /// The Λ grid of the paper.
    pub lambdas: Vec<f64>,
    /// A fine grid near 0.
    pub fine_lambdas: Vec<f64>,
    /// Fractions of the encoder weights removed, for extra matched-count rows.
    pub fractions: Vec<f64>,
    /// Number of random permutations averaged for the random scheme.
    pub random_repeats: usize,
    /// Seed of the random scheme.
    pub random_seed: u64,
    /// Test images of the authors' small-sample protocol.
    pub protocol_images: usize,
    /// Λ values shown in the reconstruction grids (Figures 3–4).
    pub grid_lambdas: Vec<f64>,
    /// Test images per row of the reconstruction grids.
    pub grid_images: usize,
    /// Thresholds of the acceptance checks.
    pub acceptance: Acceptance,
}

/// The acceptance criteria of the experiment (issue item 6).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Acceptance {
    /// Allowed relative loss increase of the information shell.
    pub keep_tolerance: f64,
    /// Fraction of encoder weights it must remove within that tolerance.
    pub keep_fraction: f64,
    /// Minimum relative excess of random removal over the information shell.
    pub random_excess: f64,
    /// Allowed relative excess of the KL-cost shell over the better of the
    /// information shell and magnitude removal.
    pub kl_cost_slack: f64,
}

impl Default for Acceptance {
    fn default() -> Self {
        Acceptance {
            keep_tolerance: 0.02,
            keep_fraction: 0.60,
            random_excess: 0.20,
            kl_cost_slack: 0.01,
        }
    }
}

impl Default for PruneConfig {
    fn default() -> Self {
        PruneConfig {
            arch: Architecture::default(),
            // 60 passes over the 10,000-image embedded subset in batches of
            // 1,000 are the authors' 600 Adam steps (10 epochs of 60,000).
            train: TrainConfig {
                epochs: 60,
                ..TrainConfig::default()
            },
            data: None,
            weights: None,
            train_images: None,
            test_images: None,
            lambdas: (0..20).map(|k| 0.125 * k as f64).collect(),
            fine_lambdas: vec![1e-6, 1e-5, 1e-4, 1e-3, 0.005, 0.01, 0.02, 0.05],
            fractions: (1..20).map(|k| 0.05 * k as f64).collect(),
            random_repeats: 3,
            random_seed: 1,
            protocol_images: 10,
            grid_lambdas: vec![0.0, 0.125, 0.5, 1.0, 2.375],
            grid_images: 8,
            acceptance: Acceptance::default(),
        }
    }
}

impl PruneConfig {
    /// A quick setting for tests and `bayesrg reproduce --quick`: 4 epochs of
    /// the 10,000 embedded training images in batches of 100 (400 Adam steps),
    /// 1,000 test images, 1 random permutation.
    pub fn quick() -> Self {
        PruneConfig {
            train: TrainConfig {
                epochs: 4,
                batch_size: 100,
                ..TrainConfig::default()
            },
            train_images: None,
            test_images: Some(1000),
            random_repeats: 1,
            ..PruneConfig::default()
        }
    }

    /// Checks every setting, naming the first bad one.
    pub fn validate(&self) -> Result<()> {
        if self.arch.input != PIXELS {
            bail!(
                "arch.input = {} must be {PIXELS} for MNIST",
                self.arch.input
            );
        }
        if self.arch.latent == 0 {
            bail!("arch.latent must be at least 1");
        }
        self.train.validate().map_err(|e| anyhow!("train.{e}"))?;
        for (name, v) in [
            ("lambdas", &self.lambdas),
            ("fine_lambdas", &self.fine_lambdas),
            ("grid_lambdas", &self.grid_lambdas),
        ] {
            if let Some(l) = v.iter().find(|l| !l.is_finite() || **l < 0.0) {
                bail!("{name}: Λ = {l} must be finite and ≥ 0");
            }
        }
        if let Some(f) = self.fractions.iter().find(|f| !(0.0..=1.0).contains(*f)) {
            bail!("fractions: {f} must lie in [0, 1]");
        }
        if self.random_repeats == 0 {
            bail!("random_repeats must be at least 1");
        }
        if self.protocol_images == 0 {
            bail!("protocol_images must be at least 1");
        }
        if matches!(self.test_images, Some(0)) || matches!(self.train_images, Some(0)) {
            bail!("train_images and test_images must be at least 1");
        }
        Ok(())
    }
}

/// One row of the sweep: a removal count and the test loss of each scheme.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// `paper` (the Λ grid), `fine` (near 0) or `fraction` (a matched count).
    pub kind: String,
    /// Λ: for `fraction` rows, the Fisher value of the last weight removed.
    pub lambda: f64,
    /// Encoder weights removed.
    pub removed: usize,
    /// removed / encoder weights.
    pub fraction: f64,
    /// Test MSE of each scheme (whole test set), in [`SCHEMES`] order.
    pub loss: Vec<f64>,
    /// The same on the first `protocol_images` test images (authors' protocol).
    pub loss_protocol: Vec<f64>,
}

/// Column names of the schemes, in evaluation order.
pub const SCHEMES: [&str; 4] = ["information_shell", "random", "magnitude", "kl_cost_shell"];

/// Mean test MSE after zeroing the given encoder weights.
fn loss_without(net: &Autoencoder, removed: &[usize], data: &[f64]) -> f64 {
    net.with_zeroed(removed).mse(data)
}

/// The largest gap of the sorted positive encoder Fisher values, in decades:
/// (log₁₀ ratio, count below the gap, value below, value above).
fn largest_gap(sorted: &[f64]) -> (f64, usize, f64, f64) {
    let mut best = (0.0, 0, f64::NAN, f64::NAN);
    for i in 1..sorted.len() {
        let (a, b) = (sorted[i - 1], sorted[i]);
        if a > 0.0 {
            let g = (b / a).log10();
            if g > best.0 {
                best = (g, i, a, b);
            }
        }
    }
    best
}

/// Runs the experiment; writes its files into `out` when given.
pub fn run(
    cfg: &PruneConfig,
    config_name: Option<String>,
    out: Option<&Path>,
    progress: bool,
) -> Result<Summary> {
    cfg.validate()?;
    let inputs: Vec<&Path> = config_name
        .as_deref()
        .map(Path::new)
        .into_iter()
        .chain(cfg.data.as_deref())
        .chain(cfg.weights.as_deref())
        .collect();
    let staged = crate::output::stage(out, &inputs)?;
    let t0 = Instant::now();
    let data = mnist::load(cfg.data.as_deref())?;
    let train = cfg
        .train_images
        .map_or(data.train.clone(), |n| data.train.take(n));
    let test = cfg
        .test_images
        .map_or(data.test.clone(), |n| data.test.take(n));

    // 1. Train or load.
    let (net, train_losses) = match &cfg.weights {
        Some(p) => {
            let bytes = std::fs::read(p)
                .with_context(|| format!("cannot read weights `{}`", p.display()))?;
            let net = Autoencoder::from_bytes(&bytes, &p.display().to_string())
                .map_err(|e| anyhow!(e))?;
            if net.arch != cfg.arch {
                bail!(
                    "weights `{}` are for {:?}, the config asks for {:?}",
                    p.display(),
                    net.arch,
                    cfg.arch
                );
            }
            (net, vec![])
        }
        None => {
            let mut net = Autoencoder::init(cfg.arch, cfg.train.seed);
            let l = net.train(&train.images, &cfg.train, progress);
            (net, l)
        }
    };
    let t_train = t0.elapsed().as_secs_f64();

    // 2. The exact diagonal Fisher over the test set (the authors' choice).
    let t1 = Instant::now();
    let f = fisher::exact(&net, &test.images);
    let t_fisher = t1.elapsed().as_secs_f64();
    let wf = WithFisher {
        net: net.clone(),
        fisher: f.clone(),
    };
    let cand = wf.encoder_candidates();
    let enc = cand.len();

    // Spectrum facts.
    let mut sorted = cand.fisher.clone();
    sorted.sort_by(f64::total_cmp);
    let zero_fisher = sorted.iter().filter(|&&v| v == 0.0).count();
    let mean_enc = cand.fisher.iter().sum::<f64>() / enc as f64;
    let mean_all = f.iter().sum::<f64>() / f.len() as f64;
    let positive: Vec<f64> = sorted.iter().copied().filter(|&v| v > 0.0).collect();
    let gap = largest_gap(&positive);
    let m = cfg.arch.latent;
    let dead_units = (0..m)
        .filter(|&j| (0..PIXELS).all(|i| cand.fisher[i * m + j] == 0.0))
        .count();

    // 3. Removal orders of every scheme.
    let t2 = Instant::now();
    let info = bayesrg_schemes::InformationShell {};
    let magn = bayesrg_schemes::Magnitude {};
    let klc = bayesrg_schemes::KlCostShell {};
    let order_info = info.removal_order(&cand);
    let order_mag = magn.removal_order(&cand);
    let order_kl = klc.removal_order(&cand);
    let orders_rand: Vec<Vec<usize>> = (0..cfg.random_repeats)
        .map(|r| {
            bayesrg_schemes::Random {
                seed: cfg.random_seed + r as u64,
            }
            .removal_order(&cand)
        })
        .collect();

    // Rows: the paper grid, the fine grid, matched fractions.
    let mut plan: Vec<(String, f64, usize)> = Vec::new();
    for &l in &cfg.lambdas {
        plan.push(("paper".into(), l, cand.count_below(l)));
    }
    for &l in &cfg.fine_lambdas {
        plan.push(("fine".into(), l, cand.count_below(l)));
    }
    for &fr in &cfg.fractions {
        let c = (fr * enc as f64).round() as usize;
        let lam = if c == 0 { 0.0 } else { sorted[c - 1] };
        plan.push(("fraction".into(), lam, c));
    }
    plan.push(("fraction".into(), sorted[enc - 1], enc));
    let proto = test.take(cfg.protocol_images);
    let eval = |order: &[usize], c: usize| {
        (
            loss_without(&net, &order[..c], &test.images),
            loss_without(&net, &order[..c], &proto.images),
        )
    };
    let bar = if progress {
        indicatif::ProgressBar::new(plan.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut rows = Vec::with_capacity(plan.len());
    for (kind, lambda, c) in plan {
        let (li, pi) = eval(&order_info, c);
        let (mut lr, mut pr) = (0.0, 0.0);
        for o in &orders_rand {
            let (a, b) = eval(o, c);
            lr += a / orders_rand.len() as f64;
            pr += b / orders_rand.len() as f64;
        }
        let (lm, pm) = eval(&order_mag, c);
        let (lk, pk) = eval(&order_kl, c);
        rows.push(Row {
            kind,
            lambda,
            removed: c,
            fraction: c as f64 / enc as f64,
            loss: vec![li, lr, lm, lk],
            loss_protocol: vec![pi, pr, pm, pk],
        });
        bar.inc(1);
    }
    bar.finish_and_clear();
    let t_sweep = t2.elapsed().as_secs_f64();
    let unpruned = net.mse(&test.images);
    let unpruned_protocol = net.mse(&proto.images);

    // 4. Acceptance (issue item 6).
    let acc = &cfg.acceptance;
    let mut by_count: Vec<&Row> = rows.iter().collect();
    by_count.sort_by_key(|r| r.removed);
    let mut keep_fraction = 0.0;
    for r in &by_count {
        if r.loss[0] <= unpruned * (1.0 + acc.keep_tolerance) {
            keep_fraction = r.fraction;
        } else {
            break;
        }
    }
    let keep_count = (keep_fraction * enc as f64).round() as usize;
    // Random removal is compared from the paper's first scale Λ = 0 (the
    // weights with zero Fisher) up to the keep point: below that count any
    // removal of a few hundred weights costs little whatever the scheme, so
    // the least excess over *all* counts is reported beside it, not checked.
    let from = cand.count_below(0.0).max(1);
    let excess = |lo: usize| {
        by_count
            .iter()
            .filter(|r| r.removed >= lo && r.removed <= keep_count)
            .map(|r| r.loss[1] / r.loss[0] - 1.0)
            .fold(f64::INFINITY, f64::min)
    };
    let random_excess = excess(from);
    let random_excess_all = excess(1);
    let (mut kl_excess, mut kl_excess_at) = (f64::NEG_INFINITY, 0usize);
    for r in &by_count {
        let e = r.loss[3] / r.loss[0].min(r.loss[2]) - 1.0;
        if e > kl_excess {
            kl_excess = e;
            kl_excess_at = r.removed;
        }
    }
    let checks = vec![
        Check::at_least(
            format!(
                "fraction of encoder weights the information shell removes within {:.0}% of the unpruned loss",
                100.0 * acc.keep_tolerance
            ),
            keep_fraction,
            acc.keep_fraction,
            "unpruned test MSE",
        ),
        Check::at_least(
            "least relative excess of random removal over the information shell, at every count from the Λ = 0 shell up to there",
            random_excess,
            acc.random_excess,
            "information-shell test MSE at the same count",
        ),
        Check::at_most(
            "largest relative excess of the KL-cost shell over the better of information shell and magnitude",
            kl_excess,
            acc.kl_cost_slack,
            "min(information shell, magnitude) test MSE at the same count",
        ),
    ];

    let paper_rows: Vec<_> = rows
        .iter()
        .filter(|r| r.kind == "paper")
        .map(|r| json!({"lambda": r.lambda, "removed": r.removed, "fraction": r.fraction,
            "loss": SCHEMES.iter().zip(&r.loss).map(|(s, l)| (s.to_string(), json!(l))).collect::<serde_json::Map<_,_>>(),
            "loss_protocol": SCHEMES.iter().zip(&r.loss_protocol).map(|(s, l)| (s.to_string(), json!(l))).collect::<serde_json::Map<_,_>>()}))
        .collect();
    let details = json!({
        "data": data.source,
        "train_images": train.len(),
        "test_images": test.len(),
        "arch": cfg.arch,
        "train": cfg.train,
        "weights_loaded_from": cfg.weights,
        "train_losses": train_losses,
        "parameters": f.len(),
        "encoder_weights": enc,
        "unpruned_loss": unpruned,
        "unpruned_loss_protocol": unpruned_protocol,
        "protocol_images": proto.len(),
        "whole_encoder_removed_loss": rows.last().map(|r| r.loss[0]),
        "mean_fisher_encoder_weights": mean_enc,
        "mean_fisher_all_parameters": mean_all,
        "encoder_weights_with_zero_fisher": zero_fisher,
        "dead_latent_units": dead_units,
        "smallest_positive_encoder_fisher": positive.first(),
        "largest_gap": {"decades": gap.0, "count_below": gap.1, "fraction_below": gap.1 as f64 / positive.len().max(1) as f64 ,
            "fisher_below": gap.2, "fisher_above": gap.3, "note": "largest ratio between neighbours among the positive encoder Fisher values, sorted ascending; count_below counts positive values below the gap (the exactly-zero values, a gap of infinite ratio, are counted in encoder_weights_with_zero_fisher)"},
        "headline": {
            "information_shell_keep_fraction": keep_fraction,
            "random_min_excess_from_lambda0_to_keep_point": random_excess,
            "random_min_excess_any_count_to_keep_point": random_excess_all,
            "random_compared_from_removed": from,
            "kl_cost_max_excess_over_best": kl_excess,
            "kl_cost_max_excess_at_removed": kl_excess_at,
        },
        "paper_grid": paper_rows,
        "seconds": {"train": t_train, "fisher": t_fisher, "sweep": t_sweep},
    });
    let summary = Summary::new("prune", config_name, checks, details);

    if let Some(o) = staged {
        write_files(
            &o,
            cfg,
            &net,
            &f,
            &rows,
            unpruned,
            &sorted,
            &test,
            &order_info,
            &orders_rand[0],
        )?;
        o.write_json("summary.json", &summary)?;
        o.commit()?;
    }
    Ok(summary)
}

#[allow(clippy::too_many_arguments)]
fn write_files(
    o: &OutDir,
    cfg: &PruneConfig,
    net: &Autoencoder,
    f: &[f64],
    rows: &[Row],
    unpruned: f64,
    sorted_enc: &[f64],
    test: &mnist::Mnist,
    order_info: &[usize],
    order_rand: &[usize],
) -> Result<()> {
    // sweep.csv
    let mut w = csv::Writer::from_path(o.path("sweep.csv"))?;
    let mut header = vec![
        "kind".to_string(),
        "lambda".into(),
        "removed".into(),
        "fraction".into(),
    ];
    header.extend(SCHEMES.iter().map(|s| s.to_string()));
    header.extend(SCHEMES.iter().map(|s| format!("{s}_protocol")));
    w.write_record(&header)?;
    for r in rows {
        let mut rec = vec![
            r.kind.clone(),
            r.lambda.to_string(),
            r.removed.to_string(),
            r.fraction.to_string(),
        ];
        rec.extend(r.loss.iter().chain(&r.loss_protocol).map(|v| v.to_string()));
        w.write_record(&rec)?;
    }
    w.flush()?;
    // fisher.csv: every parameter.
    let mut w = csv::Writer::from_path(o.path("fisher.csv"))?;
    w.write_record(["index", "group", "theta", "fisher"])?;
    let a = net.arch;
    for (p, (t, v)) in net.theta.iter().zip(f).enumerate() {
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
    std::fs::write(o.path("weights.bin"), net.to_bytes())?;

    // Figure 2: loss against removed count, every scheme.
    let mut by_count: Vec<&Row> = rows.iter().collect();
    by_count.sort_by_key(|r| r.removed);
    by_count.dedup_by_key(|r| r.removed);
    let labels = [
        "information shell (eq. 55)",
        "random",
        "magnitude",
        "KL-cost shell (½Fθ²)",
    ];
    let mut series: Vec<Series> = (0..4)
        .map(|s| {
            let mut se = Series::line(
                labels[s],
                by_count
                    .iter()
                    .map(|r| (r.removed as f64, r.loss[s]))
                    .collect(),
            );
            se.style = plot::Style::LinePoints;
            se
        })
        .collect();
    series.push(Series::line(
        "unpruned",
        vec![(0.0, unpruned), (sorted_enc.len() as f64, unpruned)],
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
    let paper: Vec<&Row> = rows.iter().filter(|r| r.kind == "paper").collect();
    let s: Vec<Series> = (0..4)
        .map(|k| {
            let mut se = Series::line(
                labels[k],
                paper.iter().map(|r| (r.lambda, r.loss[k])).collect(),
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
    let logs: Vec<f64> = sorted_enc
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
                    sorted_enc.len() - logs.len(),
                    sorted_enc.len()
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
    // Figures 3–4: reconstructions at several Λ, information shell and random.
    let cand_f: Vec<f64> = f[..net.arch.encoder_weights()].to_vec();
    let k = cfg.grid_images.min(test.len());
    for (name, order, title) in [
        (
            "fig3_reconstructions_information_shell.png",
            order_info,
            "information shell",
        ),
        (
            "fig4_reconstructions_random.png",
            order_rand,
            "random removal, same counts",
        ),
    ] {
        let mut grid: Vec<(String, Vec<Vec<f64>>)> = vec![(
            "input".into(),
            (0..k).map(|n| test.image(n).to_vec()).collect(),
        )];
        grid.push((
            "unpruned".into(),
            (0..k).map(|n| net.forward(test.image(n))).collect(),
        ));
        for &l in &cfg.grid_lambdas {
            let c = cand_f.iter().filter(|&&v| v <= l).count();
            let pruned = net.with_zeroed(&order[..c]);
            grid.push((
                format!("Λ={l} ({:.0}%)", 100.0 * c as f64 / cand_f.len() as f64),
                (0..k).map(|n| pruned.forward(test.image(n))).collect(),
            ));
        }
        plot::image_grid(
            &o.path(name),
            &format!("Reconstructions: {title}"),
            &grid,
            SIDE,
        )?;
    }
    Ok(())
}
