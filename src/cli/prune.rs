//! `bayesrg prune`: the autoencoder information-shell experiment (section 4).

use super::Status;
use crate::commands::prune::{self, Section4Spec};
use anyhow::Result;
use std::io::IsTerminal;
use std::path::PathBuf;

/// Arguments of `bayesrg prune`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Config file (TOML); Table 2 and the authors' settings when absent.
    config: Option<PathBuf>,
    /// MNIST folder (standard IDX names, raw or .gz, or torchvision's MNIST/raw);
    /// the embedded 10k/2k subset when absent.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Load trained weights (a weights.bin written by an earlier run) instead of training.
    #[arg(long)]
    weights: Option<PathBuf>,
    /// The quick setting (400 Adam steps, 1,000 test images) instead of the defaults.
    #[arg(long)]
    quick: bool,
    /// Result folder.
    #[arg(long)]
    out: PathBuf,
    /// No progress bars.
    #[arg(long)]
    quiet: bool,
}

pub fn run(a: Args) -> Result<Status> {
    let mut spec = match &a.config {
        Some(p) => prune::load(p)?,
        None if a.quick => Section4Spec::quick(),
        None => Section4Spec::default(),
    };
    if a.data.is_some() {
        spec.data = a.data.clone();
    }
    if a.weights.is_some() {
        spec.weights = a.weights.clone();
    }
    let progress = !a.quiet && std::io::stderr().is_terminal();
    let name = a.config.as_ref().map(|p| p.display().to_string());
    let (s, t) = prune::run(&spec, name, Some(&a.out), progress)?;
    let d = &s.details;
    let sp = &d["spectrum"];
    println!(
        "unpruned test MSE {:.6} ({} test images); mean Fisher: encoder weights {:.4}, all parameters {:.4}",
        d["unpruned_loss"].as_f64().unwrap_or(f64::NAN),
        d["test_images"],
        sp["mean_fisher_encoder_weights"]
            .as_f64()
            .unwrap_or(f64::NAN),
        sp["mean_fisher_all_parameters"]
            .as_f64()
            .unwrap_or(f64::NAN),
    );
    println!(
        "seconds: load {:.2}, train {:.2}, Fisher {:.3}, sweep {:.2}, total {:.2}",
        t.load, t.train, t.fisher, t.sweep, t.total
    );
    super::print_checks(&s);
    println!("results in {}", a.out.display());
    Ok(Status::from_ok(s.pass))
}
