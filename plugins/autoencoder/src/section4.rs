//! The section-4 experiment of the paper as one library call: train the
//! 784 → 20 → 784 ReLU autoencoder on MNIST (eqs. 48–53), compute its exact
//! diagonal Fisher metric (eq. 29, regression form), coarse-grain the encoder
//! by the information shell of eq. (55) over a sweep of scales Λ, and compare
//! with random, magnitude and KL-cost removal at matched counts.
//!
//! ```no_run
//! use bayesrg_autoencoder::section4::{self, Section4Spec};
//! use bayesrg_core::observe::Silent;
//! let run = section4::run(&Section4Spec::quick(), &mut Silent).unwrap();
//! println!("unpruned test MSE {}", run.result.unpruned_loss);
//! for c in &run.result.checks {
//!     println!("{} {} {} {}: {}", c.name, c.value, c.relation, c.threshold, c.pass);
//! }
//! ```
//!
//! Defaults: Table 2 of the paper (784 → 20 → 784, no biases, ReLU, MSE, Adam
//! 0.001/0.9/0.999/1e-8, Λ = 0, 0.125, …, 2.375) with the authors' loop
//! (batch 1000, pixels ÷ 255, Fisher over the test set). On the embedded
//! subset (10,000 training images) 60 epochs are the authors' 600 Adam steps.
//!
//! Random numbers: every computation takes its own child of `seed`
//! ([`Seed::child`]): `"train/init"` (initial weights), `"train/shuffle"`
//! (stream e shuffles epoch e), `"random-removal"` (member r of the random
//! arm uses its child r).

use crate::batched::{self, Params, Pixels, Real, SparseImages, Work};
use crate::fisher::{self, WithFisher};
use crate::mnist::{self, Dataset, PIXELS};
use crate::net::{Architecture, Autoencoder};
use crate::train::{self, Precision, TrainSpec};
use bayesrg_core::budget;
use bayesrg_core::check::Check;
use bayesrg_core::error::{Error, Field, Result};
use bayesrg_core::observe::Observer;
use bayesrg_core::rng::Seed;
use bayesrg_schemes::sweep::{self, Arm, Point, Sweep};
use bayesrg_schemes::{Candidates, InformationShell, Scheme};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Instant;

/// Images in the full MNIST training set (the bound used for estimates
/// before the data are read).
const MNIST_TRAIN: usize = 60_000;
/// Images in the full MNIST test set.
const MNIST_TEST: usize = 10_000;

/// The settings of the experiment: the config file of `bayesrg prune`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Section4Spec {
    /// Network shape (`[arch]`: input, latent, bias).
    pub arch: Architecture,
    /// Adam, loop and precision settings (`[train]`).
    pub train: TrainSpec,
    /// The root of every random number of the run.
    pub seed: Seed,
    /// MNIST folder (standard IDX names, raw or gzip, or torchvision's
    /// `MNIST/raw`); the embedded subset if absent.
    pub data: Option<PathBuf>,
    /// Load trained weights from this file (written by an earlier run)
    /// instead of training.
    pub weights: Option<PathBuf>,
    /// Use only the first this many training images.
    pub train_images: Option<usize>,
    /// Use only the first this many test images (loss, Fisher and sweep).
    pub test_images: Option<usize>,
    /// The Λ grid of the paper.
    pub lambdas: Vec<f64>,
    /// A fine grid of Λ near 0.
    pub fine_lambdas: Vec<f64>,
    /// Fractions of the encoder weights removed, for extra matched-count rows.
    pub fractions: Vec<f64>,
    /// Random permutations averaged for the random scheme.
    pub random_repeats: usize,
    /// Test images of the authors' small-sample protocol (the first ones).
    pub protocol_images: usize,
    /// Λ values shown in the reconstruction grids (Figures 3–4).
    pub grid_lambdas: Vec<f64>,
    /// Test images per row of the reconstruction grids.
    pub grid_images: usize,
    /// Thresholds of the acceptance checks.
    pub acceptance: Acceptance,
}

/// The acceptance criteria of the experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

impl Default for Section4Spec {
    fn default() -> Self {
        Section4Spec {
            arch: Architecture::default(),
            // 60 passes over the 10,000-image embedded subset in batches of
            // 1,000 are the authors' 600 Adam steps (10 epochs of 60,000).
            train: TrainSpec {
                epochs: 60,
                ..TrainSpec::default()
            },
            seed: Seed::DEFAULT,
            data: None,
            weights: None,
            train_images: None,
            test_images: None,
            lambdas: (0..20).map(|k| 0.125 * k as f64).collect(),
            fine_lambdas: vec![1e-6, 1e-5, 1e-4, 1e-3, 0.005, 0.01, 0.02, 0.05],
            fractions: (1..20).map(|k| 0.05 * k as f64).collect(),
            random_repeats: 3,
            protocol_images: 10,
            grid_lambdas: vec![0.0, 0.125, 0.5, 1.0, 2.375],
            grid_images: 8,
            acceptance: Acceptance::default(),
        }
    }
}

impl Section4Spec {
    /// A quick setting for tests and `bayesrg reproduce --quick`: 4 epochs of
    /// the 10,000 embedded training images in batches of 100 (400 Adam
    /// steps), 1,000 test images, 1 random permutation.
    pub fn quick() -> Self {
        Section4Spec {
            train: TrainSpec {
                epochs: 4,
                batch_size: 100,
                ..TrainSpec::default()
            },
            test_images: Some(1000),
            random_repeats: 1,
            ..Section4Spec::default()
        }
    }

    /// Checks every value before any work: domains, and memory and work
    /// estimated from the sizes ([`bayesrg_core::budget`], with the full
    /// MNIST sizes as the bound when the image counts are not given). Errors
    /// name the field by its config path (`train.lr`, `lambdas[3]`,
    /// `arch.latent`).
    pub fn validate(&self) -> Result<()> {
        self.arch
            .validate()
            .map_err(|e| e.under(&Field::key("arch")))?;
        if self.arch.input != PIXELS {
            return Err(Error::domain(
                "arch.input",
                self.arch.input,
                format!("must be {PIXELS} (28 × 28 MNIST pixels)"),
            ));
        }
        self.train
            .validate()
            .map_err(|e| e.under(&Field::key("train")))?;
        sweep::check_rows(&self.lambdas, &self.fine_lambdas, &self.fractions)?;
        if let Some(i) = self
            .grid_lambdas
            .iter()
            .position(|l| !(l.is_finite() && *l >= 0.0))
        {
            return Err(Error::domain(
                Field::key("grid_lambdas").at(i),
                self.grid_lambdas[i],
                "must be finite and ≥ 0",
            ));
        }
        // Figures 3–4 draw one row per Λ and one 28-pixel column per image:
        // beyond these sizes the rows and columns are too thin to read, and
        // the result carries every image of the grid (tryout 8 G9: 20,000
        // Λ ran for minutes into a figure nobody could read).
        for (name, n) in [
            ("grid_lambdas", self.grid_lambdas.len()),
            ("grid_images", self.grid_images),
        ] {
            if n > MAX_GRID {
                return Err(Error::domain(
                    name,
                    n,
                    format!(
                        "must be at most {MAX_GRID} (the reconstruction figures have a row per \
                         Λ and a column per image); the sweep's table covers any number of Λ"
                    ),
                ));
            }
        }
        for (name, v) in [
            ("random_repeats", Some(self.random_repeats)),
            ("protocol_images", Some(self.protocol_images)),
            // Figures 3–4 need a column (tryout 9 H4: 0 failed after the
            // whole run with "no images to draw").
            ("grid_images", Some(self.grid_images)),
            ("train_images", self.train_images),
            ("test_images", self.test_images),
        ] {
            if v == Some(0) {
                return Err(Error::domain(name, 0, "must be at least 1"));
            }
        }
        // The files named are there before any work (tryout 9 H7: a sweep of
        // a missing `weights` ran every task into the same failure).
        if let Some(p) = &self.weights
            && !p.is_file()
        {
            return Err(Error::domain(
                "weights",
                p.display().to_string(),
                "is not a file (a weights.bin written by an earlier `bayesrg prune`); a \
                 relative path is read from the working folder",
            ));
        }
        if let Some(p) = &self.data
            && !p.is_dir()
        {
            return Err(Error::domain(
                "data",
                p.display().to_string(),
                "is not a folder (the MNIST files; scripts/fetch-mnist.sh); a relative path \
                 is read from the working folder",
            ));
        }
        let a = &self.acceptance;
        for (name, v, lo, hi) in [
            ("keep_tolerance", a.keep_tolerance, 0.0, f64::INFINITY),
            ("keep_fraction", a.keep_fraction, 0.0, 1.0),
            (
                "random_excess",
                a.random_excess,
                f64::NEG_INFINITY,
                f64::INFINITY,
            ),
            (
                "kl_cost_slack",
                a.kl_cost_slack,
                f64::NEG_INFINITY,
                f64::INFINITY,
            ),
        ] {
            if !(v.is_finite() && v >= lo && v <= hi) {
                return Err(Error::domain(
                    Field::key("acceptance").then(name),
                    v,
                    match (lo.is_finite(), hi.is_finite()) {
                        (true, true) => format!("must be in [{lo}, {hi}]"),
                        (true, false) => format!("must be finite and ≥ {lo}"),
                        _ => "must be finite".to_string(),
                    },
                ));
            }
        }
        self.check_budget()
    }

    /// Memory and work estimated from the sizes, refused before any work.
    /// Work is counted in thousands of multiply–adds (one elementary
    /// evaluation of a small model), so one run may do up to 10¹⁵
    /// multiply–adds: hours at this machine's rate.
    fn check_budget(&self) -> Result<()> {
        let (n, m) = (self.arch.input as f64, self.arch.latent as f64);
        let np = self.arch.n_params() as f64;
        let train = self.train_images.unwrap_or(MNIST_TRAIN).min(MNIST_TRAIN) as f64;
        let test = self.test_images.unwrap_or(MNIST_TEST).min(MNIST_TEST) as f64;
        let word = match self.train.precision {
            Precision::F32 => 4.0,
            Precision::F64 => 8.0,
        };
        // θ, the Fisher and its per-chunk partial sums (f64); θ, Adam's two
        // moments and one gradient per chunk of a batch (training precision).
        let fisher_chunks = (test / crate::net::CHUNK as f64).ceil() + 2.0;
        let batch = (self.train.batch_size as f64).min(train);
        let batch_chunks = (batch / batched::ROWS as f64).ceil();
        let params = 8.0 * np * (fisher_chunks + 2.0) + word * np * (3.0 + batch_chunks);
        budget::check_memory("arch.latent", params)?;
        // The images (f64 and sparse) and the chunk work spaces.
        let images = (train + test) * n * (8.0 + 2.0 * word)
            + batch_chunks * batched::ROWS as f64 * n * word;
        budget::check_memory("train_images", images)?;
        let orders = 8.0 * n * m * (self.random_repeats as f64 + 3.0);
        budget::check_memory("random_repeats", orders)?;
        // Multiply–adds: 5nm per image and step (plus 2nm per image for the
        // loss after each epoch), 2nm per image and sweep evaluation.
        let steps = self.train.epochs as f64 * train;
        budget::check_work("train.epochs", steps * 7.0 * n * m / 1e3)?;
        let rows = (self.lambdas.len() + self.fine_lambdas.len() + self.fractions.len() + 1) as f64;
        let evaluations = rows * (self.random_repeats as f64 + 3.0);
        budget::check_work("random_repeats", evaluations * test * 2.0 * n * m / 1e3)?;
        Ok(())
    }
}

/// The most Λ rows (`grid_lambdas`) and image columns (`grid_images`) of
/// the reconstruction figures.
pub const MAX_GRID: usize = 64;

/// Facts about the encoder's Fisher spectrum.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spectrum {
    /// Mean F_pp over the encoder weights.
    pub mean_fisher_encoder_weights: f64,
    /// Mean F_pp over all parameters.
    pub mean_fisher_all_parameters: f64,
    /// Encoder weights with F_pp = 0 exactly (pixels that are 0 in every
    /// test image, and dead latent units).
    pub encoder_weights_with_zero_fisher: usize,
    /// Latent units whose encoder weights all have F = 0.
    pub dead_latent_units: usize,
    /// The smallest positive encoder F_pp.
    pub smallest_positive_encoder_fisher: Option<f64>,
    /// The largest ratio between neighbours of the positive encoder F_pp.
    pub largest_gap: Gap,
}

/// The largest gap of the sorted positive encoder Fisher values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gap {
    /// log₁₀ of the ratio across the gap.
    pub decades: f64,
    /// Positive values below the gap.
    pub count_below: usize,
    /// count_below / positive values.
    pub fraction_below: f64,
    /// The value below the gap.
    pub fisher_below: f64,
    /// The value above the gap.
    pub fisher_above: f64,
}

/// The headline numbers behind the checks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Headline {
    /// The largest fraction of encoder weights the information shell removes
    /// with the test MSE within `keep_tolerance` of the unpruned one.
    pub information_shell_keep_fraction: f64,
    /// The least relative excess of random removal over the information
    /// shell, at every count from the Λ = 0 shell to the keep point.
    pub random_min_excess_from_lambda0_to_keep_point: f64,
    /// The same from one removed weight on (reported, not checked).
    pub random_min_excess_any_count_to_keep_point: f64,
    /// The count the random comparison starts from (the Λ = 0 shell, ≥ 1).
    pub random_compared_from_removed: usize,
    /// The largest relative excess of the KL-cost shell over the better of
    /// the information shell and magnitude removal.
    pub kl_cost_max_excess_over_best: f64,
    /// The count where it occurs.
    pub kl_cost_max_excess_at_removed: usize,
}

/// A grid of reconstructions (Figures 3–4): one panel per row of images.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reconstructions {
    /// Which scheme removed the weights (`information_shell`, `random`).
    pub scheme: String,
    /// The paper's figure this grid is: 3 for the information shell, 4 for
    /// its random rival at the same counts.
    pub figure: u32,
    /// What the grid shows, for a title ("information shell").
    pub title: String,
    /// Panels: the inputs, the unpruned network, then one per grid Λ.
    pub panels: Vec<Panel>,
}

/// One row of a reconstruction grid.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Panel {
    /// `input`, `unpruned` or `Λ=0.5 (58%)`.
    pub label: String,
    /// The images (784 pixel values each, row-major 28 × 28).
    pub images: Vec<Vec<f64>>,
}

/// Everything the experiment computed: every number and table the writers
/// need, and the checks. Plain data; no times (see [`Section4Run`]), so two
/// runs with one seed give identical results at any thread count.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Section4Result {
    /// Where the images came from.
    pub data: String,
    /// Training images used.
    pub train_images: usize,
    /// Test images used (loss, Fisher, sweep).
    pub test_images: usize,
    /// Test images of the small-sample protocol.
    pub protocol_images: usize,
    /// The weights file loaded instead of training, if any.
    pub weights_loaded_from: Option<PathBuf>,
    /// Training MSE per pixel after each epoch (empty when loaded).
    pub train_losses: Vec<f64>,
    /// Adam steps taken.
    pub steps: usize,
    /// Number of parameters.
    pub parameters: usize,
    /// Number of encoder weights (the removal candidates).
    pub encoder_weights: usize,
    /// Test MSE per pixel of the unpruned network.
    pub unpruned_loss: f64,
    /// The same on the protocol images.
    pub unpruned_loss_protocol: f64,
    /// Facts about the Fisher spectrum.
    pub spectrum: Spectrum,
    /// The numbers behind the checks.
    pub headline: Headline,
    /// The matched-count sweep: arms `information_shell`, `random`,
    /// `magnitude`, `kl_cost_shell`; loss sets 0 = all test images,
    /// 1 = protocol images.
    pub sweep: Sweep,
    /// Reconstruction grids of the information shell and of random removal.
    pub reconstructions: Vec<Reconstructions>,
    /// The acceptance checks.
    pub checks: Vec<Check>,
    /// The trained network (θ in the layout of [`crate::net`]).
    pub net: Autoencoder,
    /// Its exact diagonal Fisher, one value per parameter (eq. 29).
    pub fisher: Vec<f64>,
}

impl Section4Result {
    /// Whether every check passed.
    pub fn pass(&self) -> bool {
        self.checks.iter().all(|c| c.pass)
    }
}

/// Wall-clock seconds of each phase (kept apart from the result).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Timings {
    /// Reading MNIST (and weights).
    pub load: f64,
    /// Training (0 when weights were loaded).
    pub train: f64,
    /// The exact diagonal Fisher.
    pub fisher: f64,
    /// The sweep.
    pub sweep: f64,
    /// Everything.
    pub total: f64,
}

/// A result with the time it took.
#[derive(Debug, Clone)]
pub struct Section4Run {
    /// The result.
    pub result: Section4Result,
    /// The times.
    pub seconds: Timings,
}

/// Runs the experiment: checks the spec, reads MNIST (`spec.data`, or the
/// embedded subset) and the weights (`spec.weights`), then [`run_on`].
///
/// Errors: bad settings and unreadable or invalid data or weights are bad
/// input naming the field (`data`, `weights`, …); a computation that fails
/// (the training loss becoming NaN) is [`Error::Failed`]; [`Error::Cancelled`]
/// when `obs` asks to stop.
pub fn run(spec: &Section4Spec, obs: &mut dyn Observer) -> Result<Section4Run> {
    spec.validate()?;
    let t = Instant::now();
    obs.phase("load", None);
    let data = mnist::load(spec.data.as_deref()).map_err(|e| {
        Error::domain(
            "data",
            spec.data
                .as_deref()
                .map_or("(embedded)".into(), |p| p.display().to_string()),
            format!("is not a readable MNIST folder: {e}"),
        )
    })?;
    let weights = match &spec.weights {
        None => None,
        Some(p) => {
            let shown = p.display().to_string();
            let bad = |reason: String| Error::domain("weights", &shown, reason);
            let bytes = std::fs::read(p).map_err(|e| bad(format!("cannot be read: {e}")))?;
            let net = Autoencoder::from_bytes(&bytes, &shown).map_err(bad)?;
            if net.arch != spec.arch {
                return Err(bad(format!(
                    "holds a network of shape {:?}; the spec asks for {:?}",
                    net.arch, spec.arch
                )));
            }
            Some(net)
        }
    };
    let load = t.elapsed().as_secs_f64();
    let mut run = run_on(spec, &data, weights, obs)?;
    run.seconds.load = load;
    run.seconds.total += load;
    Ok(run)
}

/// Runs the experiment on data in memory (`data.train`, `data.test` cut to
/// `spec.train_images` / `spec.test_images`), training from the seed unless
/// `weights` are given.
pub fn run_on(
    spec: &Section4Spec,
    data: &Dataset,
    weights: Option<Autoencoder>,
    obs: &mut dyn Observer,
) -> Result<Section4Run> {
    spec.validate()?;
    // Sizes beyond the data are refused, not cut silently: a user who asks
    // for 10⁸ test images must not get a table of 2,000 without a word.
    for (field, asked, have, which) in [
        (
            "train_images",
            spec.train_images,
            data.train.len(),
            "training",
        ),
        ("test_images", spec.test_images, data.test.len(), "test"),
    ] {
        if let Some(n) = asked
            && n > have
        {
            return Err(Error::domain(
                field,
                n,
                format!("is more than the {have} {which} images of {}", data.source),
            ));
        }
    }
    let training_images = spec.train_images.unwrap_or(data.train.len());
    if weights.is_none() && spec.train.batch_size > training_images && training_images > 0 {
        return Err(Error::domain(
            "batch_size",
            spec.train.batch_size,
            format!("is more than the {training_images} training images"),
        )
        .under(&Field::key("train")));
    }
    let t0 = Instant::now();
    let mut seconds = Timings::default();
    // The pixel bytes of the images used, borrowed (no copy).
    let train_set = data
        .train
        .first_pixels(spec.train_images.unwrap_or(usize::MAX));
    let train_count = train_set.len() / PIXELS;
    let test_bytes = data
        .test
        .first_pixels(spec.test_images.unwrap_or(usize::MAX));
    let test_count = test_bytes.len() / PIXELS;
    if test_count == 0 {
        return Err(Error::domain("data", &data.source, "holds no test images"));
    }
    if weights.is_none() && train_count == 0 {
        return Err(Error::domain(
            "data",
            &data.source,
            "holds no training images",
        ));
    }
    for (field, asked) in [
        ("protocol_images", spec.protocol_images),
        ("grid_images", spec.grid_images),
    ] {
        if asked > test_count {
            return Err(Error::domain(
                field,
                asked,
                format!(
                    "is more than the {test_count} test images used (`test_images`, at most \
                     the {} of {})",
                    data.test.len(),
                    data.source
                ),
            ));
        }
    }
    if let Some(w) = &weights
        && w.arch != spec.arch
    {
        return Err(Error::domain(
            "weights",
            format!("{:?}", w.arch),
            format!("must have the shape of `arch`, {:?}", spec.arch),
        ));
    }

    // 1. Train or load.
    let loaded = weights.is_some();
    let (net, training) = match weights {
        Some(net) => (net, None),
        None => {
            let s = spec.seed.child("train");
            let mut net = Autoencoder::init(spec.arch, s.child("init"));
            let t = Instant::now();
            let r = train::train_on(
                &mut net,
                Pixels::Bytes(train_set),
                &spec.train,
                s.child("shuffle"),
                obs,
            )?;
            seconds.train = t.elapsed().as_secs_f64();
            (net, Some(r))
        }
    };

    // 2. The exact diagonal Fisher over the test set (the authors' choice).
    obs.phase("fisher", None);
    let t = Instant::now();
    let f = fisher::exact_pixels(&net, Pixels::Bytes(test_bytes));
    seconds.fisher = t.elapsed().as_secs_f64();
    if let Some(p) = f.iter().position(|v| !v.is_finite()) {
        return Err(Error::failed(
            "the diagonal Fisher",
            format!("F[{p}] = {} is not finite", f[p]),
        ));
    }
    let wf = WithFisher {
        net: net.clone(),
        fisher: f.clone(),
    };
    let cand = wf.encoder_candidates();
    let spectrum = spectrum(&cand, &f, spec.arch.latent);

    // 3. The matched-count sweep of eq. (55).
    let t = Instant::now();
    let random_seed = spec.seed.child("random-removal");
    let arms = sweep::paper_arms(random_seed, spec.random_repeats as u64);
    let points = sweep::plan(&cand, &spec.lambdas, &spec.fine_lambdas, &spec.fractions)?;
    let protocol = spec.protocol_images;
    let (sweep, unpruned) = match spec.train.precision {
        Precision::F32 => sweep_in::<f32>(&net, test_bytes, protocol, &cand, &arms, &points, obs)?,
        Precision::F64 => sweep_in::<f64>(&net, test_bytes, protocol, &cand, &arms, &points, obs)?,
    };
    seconds.sweep = t.elapsed().as_secs_f64();

    // 4. Acceptance.
    let (headline, checks) = acceptance(&spec.acceptance, &sweep, &cand, unpruned[0]);

    // 5. Reconstructions (Figures 3–4), with the f64 reference network.
    let k = spec.grid_images;
    let inputs: Vec<Vec<f64>> = test_bytes
        .chunks_exact(PIXELS)
        .take(k)
        .map(|x| x.iter().map(|&b| mnist::pixel_value(b)).collect())
        .collect();
    let orders = [
        (
            "information_shell",
            3,
            "information shell",
            InformationShell {}.removal_order(&cand),
        ),
        (
            "random",
            4,
            "random removal, same counts",
            arms[1].members[0].removal_order(&cand),
        ),
    ];
    let reconstructions = orders
        .iter()
        .map(|(name, figure, title, order)| {
            let mut panels = vec![
                Panel {
                    label: "input".into(),
                    images: inputs.clone(),
                },
                Panel {
                    label: "unpruned".into(),
                    images: inputs.iter().map(|x| net.forward(x)).collect(),
                },
            ];
            for &l in &spec.grid_lambdas {
                let c = cand.count_below(l);
                let pruned = net.with_zeroed(&order[..c]);
                panels.push(Panel {
                    label: format!("Λ={l} ({:.0}%)", 100.0 * c as f64 / cand.len() as f64),
                    images: inputs.iter().map(|x| pruned.forward(x)).collect(),
                });
            }
            Reconstructions {
                scheme: (*name).into(),
                figure: *figure,
                title: (*title).into(),
                panels,
            }
        })
        .collect();

    seconds.total = t0.elapsed().as_secs_f64();
    let (train_losses, steps) = training.map_or((vec![], 0), |r| (r.losses, r.steps));
    Ok(Section4Run {
        result: Section4Result {
            data: data.source.clone(),
            train_images: if loaded { 0 } else { train_count },
            test_images: test_count,
            protocol_images: protocol,
            weights_loaded_from: if loaded { spec.weights.clone() } else { None },
            train_losses,
            steps,
            parameters: f.len(),
            encoder_weights: cand.len(),
            unpruned_loss: unpruned[0],
            unpruned_loss_protocol: unpruned[1],
            spectrum,
            headline,
            sweep,
            reconstructions,
            checks,
            net,
            fisher: f,
        },
        seconds,
    })
}

/// The sweep with the batched loss in precision `T`, and the unpruned losses
/// from the same evaluator (so that a row removing nothing equals them).
fn sweep_in<T: Real>(
    net: &Autoencoder,
    test: &[u8],
    protocol: usize,
    cand: &Candidates,
    arms: &[Arm],
    points: &[Point],
    obs: &mut dyn Observer,
) -> Result<(Sweep, Vec<f64>)> {
    let base = Params::<T>::from_f64(net.arch, &net.theta);
    let x = SparseImages::<T>::from_pixels(Pixels::Bytes(test), net.arch.input);
    let all: Vec<usize> = (0..x.len()).collect();
    let n = net.arch.input as f64;
    let enc = cand.len();
    // Scratch kept between evaluations (one set per running evaluation,
    // taken and given back): allocating and zeroing it for each of the
    // hundreds of evaluations was measured at about 1 % of a run. Nothing
    // computed depends on which set an evaluation gets (the kernels
    // overwrite what they read).
    type Scratch<T> = (Params<T>, Work<T>, Vec<f64>);
    let pool: std::sync::Mutex<Vec<Scratch<T>>> = Default::default();
    // One pass over the test images gives both losses: the protocol images
    // are the first ones, summed in the same association as on their own.
    let loss = |w1: &[f64]| -> Vec<f64> {
        let taken = pool.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let (mut p, mut w, mut per) =
            taken.unwrap_or_else(|| (base.clone(), Work::new(net.arch), vec![0.0; all.len()]));
        p.theta.copy_from_slice(&base.theta);
        for (t, &w) in p.theta[..enc].iter_mut().zip(w1) {
            *t = T::from_f64(w);
        }
        batched::row_sses(&p, &x, &all, &mut w, &mut per);
        let out = vec![
            batched::chunked_sum(&per) / (all.len() as f64 * n),
            batched::chunked_sum(&per[..protocol]) / (protocol as f64 * n),
        ];
        pool.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((p, w, per));
        out
    };
    let unpruned = loss(&cand.theta);
    let s = sweep::run(cand, arms, points, &loss, obs)?;
    Ok((s, unpruned))
}

/// Spectrum facts of the encoder Fisher values.
fn spectrum(cand: &Candidates, all: &[f64], latent: usize) -> Spectrum {
    let enc = cand.len();
    let mut sorted = cand.fisher.clone();
    sorted.sort_by(f64::total_cmp);
    let positive: Vec<f64> = sorted.iter().copied().filter(|&v| v > 0.0).collect();
    let mut gap = Gap {
        decades: 0.0,
        count_below: 0,
        fraction_below: 0.0,
        fisher_below: f64::NAN,
        fisher_above: f64::NAN,
    };
    for i in 1..positive.len() {
        let g = (positive[i] / positive[i - 1]).log10();
        if g > gap.decades {
            gap = Gap {
                decades: g,
                count_below: i,
                fraction_below: i as f64 / positive.len() as f64,
                fisher_below: positive[i - 1],
                fisher_above: positive[i],
            };
        }
    }
    let pixels = enc / latent;
    Spectrum {
        mean_fisher_encoder_weights: cand.fisher.iter().sum::<f64>() / enc as f64,
        mean_fisher_all_parameters: all.iter().sum::<f64>() / all.len() as f64,
        encoder_weights_with_zero_fisher: sorted.iter().filter(|&&v| v == 0.0).count(),
        dead_latent_units: (0..latent)
            .filter(|&j| (0..pixels).all(|i| cand.fisher[i * latent + j] == 0.0))
            .count(),
        smallest_positive_encoder_fisher: positive.first().copied(),
        largest_gap: gap,
    }
}

/// The acceptance checks on the sweep (arms in the order of [`run_on`]).
fn acceptance(
    acc: &Acceptance,
    sweep: &Sweep,
    cand: &Candidates,
    unpruned: f64,
) -> (Headline, Vec<Check>) {
    let enc = cand.len();
    let mut by_count: Vec<&sweep::Row> = sweep.rows.iter().collect();
    by_count.sort_by_key(|r| r.removed);
    let l = |r: &sweep::Row, arm: usize| r.loss[arm][0];
    let mut keep_fraction = 0.0;
    for r in &by_count {
        if l(r, 0) <= unpruned * (1.0 + acc.keep_tolerance) {
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
            .map(|r| l(r, 1) / l(r, 0) - 1.0)
            .fold(f64::INFINITY, f64::min)
    };
    let (mut kl_excess, mut kl_at) = (f64::NEG_INFINITY, 0usize);
    for r in &by_count {
        let e = l(r, 3) / l(r, 0).min(l(r, 2)) - 1.0;
        if e > kl_excess {
            kl_excess = e;
            kl_at = r.removed;
        }
    }
    let headline = Headline {
        information_shell_keep_fraction: keep_fraction,
        random_min_excess_from_lambda0_to_keep_point: excess(from),
        random_min_excess_any_count_to_keep_point: excess(1),
        random_compared_from_removed: from,
        kl_cost_max_excess_over_best: kl_excess,
        kl_cost_max_excess_at_removed: kl_at,
    };
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
            headline.random_min_excess_from_lambda0_to_keep_point,
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
    (headline, checks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bayesrg_core::observe::Silent;
    use bayesrg_schemes::Random;

    /// A small run on the embedded subset: 2 epochs of 1,000 images.
    fn tiny() -> Section4Spec {
        Section4Spec {
            train: TrainSpec {
                epochs: 2,
                batch_size: 100,
                ..TrainSpec::default()
            },
            train_images: Some(1000),
            test_images: Some(300),
            random_repeats: 2,
            fractions: vec![0.25, 0.5, 0.75],
            fine_lambdas: vec![1e-4, 0.01],
            grid_images: 2,
            ..Section4Spec::default()
        }
    }

    #[test]
    fn same_result_at_any_thread_count_and_consistent() {
        let spec = tiny();
        let go = |t| crate::testutil::on_threads(t, || run(&spec, &mut Silent).unwrap().result);
        // A seed fixes every bit at 1, 2 and 4 threads (the kernels reduce in
        // chunk order, the sweep evaluates each set on its own).
        let one = go(1);
        assert_eq!(one, go(2));
        assert_eq!(one, go(4));
        let r = &one;
        assert_eq!(r.steps, 20);
        assert_eq!(r.encoder_weights, 15_680);
        // The sweep's loss of the empty set is the unpruned loss, and that is
        // the f64 reference loss of the network up to f32 rounding of the
        // forward pass (relative γ_{n+m+2} ≈ 5·10⁻⁵ at most).
        let test = mnist::embedded().test.take(300);
        let reference = r.net.mse(&test.images());
        assert!((r.unpruned_loss - reference).abs() <= 5e-5 * reference);
        // Λ rows remove exactly the shell sizes, recounted from the Fisher.
        for row in r
            .sweep
            .rows
            .iter()
            .filter(|row| row.kind != sweep::RowKind::Fraction)
        {
            let c = r.fisher[..15_680]
                .iter()
                .filter(|&&v| v <= row.lambda)
                .count();
            assert_eq!(row.removed, c);
        }
        // Removing everything is the same for every scheme.
        let full = r.sweep.rows.last().unwrap();
        assert_eq!(full.removed, 15_680);
        assert!(full.loss.iter().all(|l| l == &full.loss[0]));
        // Every child seed is its own stream: the random removal orders of
        // the two repeats differ from each other.
        let cand = WithFisher {
            net: r.net.clone(),
            fisher: r.fisher.clone(),
        }
        .encoder_candidates();
        let s = spec.seed.child("random-removal");
        let a = Random {
            seed: s.child_index(0),
        }
        .removal_order(&cand);
        let b = Random {
            seed: s.child_index(1),
        }
        .removal_order(&cand);
        assert_ne!(a, b);
    }

    /// Records the phases and progress it is told of; asks to stop once the
    /// phase `stop_in` has reported progress.
    #[derive(Default)]
    struct Recorder {
        phases: Vec<(String, Option<u64>)>,
        last: u64,
        stop_in: Option<&'static str>,
    }

    impl Observer for Recorder {
        fn phase(&mut self, name: &str, total: Option<u64>) {
            self.phases.push((name.into(), total));
            self.last = 0;
        }
        fn progress(&mut self, done: u64) {
            assert!(done >= self.last, "progress is a running count");
            self.last = done;
        }
        fn keep_going(&mut self) -> bool {
            let now = self.phases.last().map(|p| p.0.as_str());
            self.stop_in.is_none() || now != self.stop_in
        }
    }

    #[test]
    fn progress_reaches_the_observer_and_a_stop_is_cancelled() {
        let spec = Section4Spec {
            random_repeats: 1,
            fractions: vec![0.5],
            fine_lambdas: vec![],
            lambdas: vec![0.0, 1.0],
            ..tiny()
        };
        let mut rec = Recorder::default();
        run(&spec, &mut rec).unwrap();
        let names: Vec<&str> = rec.phases.iter().map(|p| p.0.as_str()).collect();
        assert_eq!(names, ["load", "train", "fisher", "sweep"]);
        // Training announces its steps: 2 epochs × 1,000 / 100.
        assert_eq!(rec.phases[1].1, Some(20));
        assert_eq!(
            rec.last,
            rec.phases[3].1.unwrap(),
            "the sweep reports its end"
        );
        for stop in ["train", "sweep"] {
            let mut rec = Recorder {
                stop_in: Some(stop),
                ..Recorder::default()
            };
            let e = run(&spec, &mut rec).unwrap_err();
            assert!(matches!(e, Error::Cancelled), "{stop}: {e}");
            assert_eq!(rec.phases.last().unwrap().0, stop);
        }
    }

    #[test]
    fn the_streams_of_one_run_are_distinct() {
        let s = Section4Spec::default().seed;
        let t = s.child("train");
        let seeds = [
            t.child("init"),
            t.child("shuffle"),
            s.child("random-removal").child_index(0),
            s.child("random-removal").child_index(1),
            s.child("random-removal").child_index(2),
        ];
        let set: std::collections::HashSet<_> = seeds.iter().collect();
        assert_eq!(set.len(), seeds.len());
    }

    #[test]
    fn bad_specs_name_the_field_before_any_work() {
        let field = |s: Section4Spec| s.validate().unwrap_err().field().unwrap().to_string();
        let mut s = Section4Spec::default();
        s.train.lr = f64::NAN;
        assert_eq!(field(s), "train.lr");
        let mut s = Section4Spec::default();
        s.lambdas[3] = -1.0;
        assert_eq!(field(s), "lambdas[3]");
        let mut s = Section4Spec::default();
        s.arch.latent = 0;
        assert_eq!(field(s), "arch.latent");
        let mut s = Section4Spec::default();
        s.arch.input = 100;
        assert_eq!(field(s), "arch.input");
        // Issue 11 §3: an enormous latent or epochs count aborted; both are
        // refused from the spec, naming the field.
        let mut s = Section4Spec::default();
        s.arch.latent = 1 << 21;
        let e = s.validate().unwrap_err();
        assert!(matches!(e, Error::TooLarge { .. }), "{e}");
        assert_eq!(e.field().unwrap().to_string(), "arch.latent");
        let mut s = Section4Spec::default();
        s.train.epochs = 1 << 40;
        let e = s.validate().unwrap_err();
        assert!(matches!(e, Error::TooLarge { .. }), "{e}");
        assert_eq!(e.field().unwrap().to_string(), "train.epochs");
        let s = Section4Spec {
            random_repeats: 1 << 40,
            ..Section4Spec::default()
        };
        assert_eq!(field(s), "random_repeats");
        let mut s = Section4Spec::default();
        s.acceptance.keep_fraction = 2.0;
        assert_eq!(field(s), "acceptance.keep_fraction");
        for v in [f64::NAN, -1e-9, f64::INFINITY] {
            let mut s = Section4Spec::default();
            s.acceptance.keep_tolerance = v;
            assert_eq!(field(s), "acceptance.keep_tolerance", "{v}");
        }
        // The boundary value is accepted (the check above can fail).
        let mut s = Section4Spec::default();
        s.acceptance.keep_tolerance = 0.0;
        assert!(s.validate().is_ok());
        // A missing data folder is bad input naming `data`.
        let s = Section4Spec {
            data: Some("/nonexistent-mnist".into()),
            ..tiny()
        };
        let e = run(&s, &mut Silent).unwrap_err();
        assert!(e.is_bad_input());
        assert_eq!(e.field().unwrap().to_string(), "data");
        assert!(e.to_string().contains("/nonexistent-mnist"), "{e}");
    }
}
