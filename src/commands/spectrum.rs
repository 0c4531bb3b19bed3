//! `bayesrg spectrum FILE.toml`: the Fisher spectrum of a model at a point —
//! eigenvalues with error bounds, their log-spacing, stiff and sloppy
//! directions and the participation of each parameter — and, for a lattice
//! free field (`[free_field]`), the Wilson-shell analysis and the cutoff check
//! of eqs. (4)–(6).
//!
//! The config file is a [`SpectrumSpec`]; the work is
//! [`bayesrg_core::geometry::spectrum::run`]; this module names what of its
//! result goes where ([`Spectrum`], the files in `files`).
//!
//! Config:
//! ```toml
//! theta = [0.0, 1.0]     # the point (omit with [free_field])
//! expect_decades = 6.0   # optional: check that the digits support at least this many decades
//! expect_rank = 2        # optional: the rank of I (default: d, a positive-definite metric)
//! samples = 100000       # optional: Monte Carlo Fisher fallback
//! seed = 1               # optional
//!
//! [model]
//! type = "normal"
//!
//! # lattice_field only:
//! # [free_field]
//! # mass = 0.5
//! # cutoff = { lambda = 1.5, power = 2.0 }   # optional K_Λ = exp(−(p̂²/Λ²)ⁿ)
//! # taus = [1e-3, 1e-2, 0.1]                 # optional DB-RG scales
//! ```
//! Writes `summary.json`, `spectrum.csv`, `participation.csv`, `spectrum.png`;
//! with `[free_field]` also `shells.csv`, `dbrg.csv` and `fisher_vs_momentum.png`.

use bayesrg_core::geometry::spectrum::{self, SpectrumResult};

mod files;

pub use bayesrg_core::geometry::spectrum::SpectrumSpec;

/// The config of `bayesrg spectrum` (the library's spec).
pub type SpectrumConfig = SpectrumSpec;

command!(
    /// `bayesrg spectrum` as a [`Command`](super::Command).
    Spectrum = "spectrum", SpectrumSpec => SpectrumResult, spectrum::run
);

command_fns!(Spectrum, silent);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn example(name: &str) -> std::path::PathBuf {
        crate::commands::example("spectrum", name)
    }

    #[test]
    fn examples_pass() {
        for f in [
            "normal.toml",
            "poisson.toml",
            "categorical.toml",
            "sum_of_exponentials.toml",
            "lattice_1d.toml",
            "lattice_2d.toml",
            "lattice_10x10.toml",
            "gamma_large_shape.toml",
            "sum_of_exponentials_sloppy.toml",
            "linear_gaussian_singular.toml",
        ] {
            let s = run_file(&example(f), None).unwrap();
            assert!(s.pass, "{f}: {:?}", s.checks);
        }
    }

    #[test]
    fn normal_spectrum_is_the_closed_form() {
        // Oracle: I(μ, σ) = diag(1/σ², 2/σ²) at σ = 0.5 → eigenvalues 8, 4; the
        // stiff direction is σ, the sloppy one μ.
        let s = run_file(&example("normal.toml"), None).unwrap();
        let ev: Vec<f64> = serde_json::from_value(s.details["eigenvalues"].clone()).unwrap();
        assert_eq!(ev, vec![8.0, 4.0]);
        assert_eq!(s.details["dominant_param"], json!(["sigma", "mu"]));
    }

    #[test]
    fn singular_model_spectrum_reports_its_null_direction() {
        // linear_gaussian, A = [[1, 2], [2, 4]]: eigenvalues 25 and 0 (closed
        // form), null direction ±(2, −1)/√5; passes with expect_rank = 1 and
        // fails the default claim of a definite metric.
        let s = run_file(&example("linear_gaussian_singular.toml"), None).unwrap();
        assert!(s.pass, "{:?}", s.checks);
        assert_eq!(s.details["rank"], json!(1));
        assert_eq!(s.details["null_directions"], json!(1));
        let v: Vec<Vec<f64>> = serde_json::from_value(s.details["null_space"].clone()).unwrap();
        assert!(((2.0 * v[0][0] - v[0][1]).abs() / 5f64.sqrt() - 1.0).abs() < 1e-12);
        let mut cfg = load(&example("linear_gaussian_singular.toml")).unwrap();
        cfg.expect_rank = None;
        assert!(!run(&cfg, None, None).unwrap().pass);
    }

    #[test]
    fn writes_tables_and_plots() {
        let dir = std::env::temp_dir().join(format!("brg-spectrum-{}", std::process::id()));
        run_file(&example("lattice_1d.toml"), Some(&dir)).unwrap();
        for f in [
            "summary.json",
            "spectrum.csv",
            "participation.csv",
            "spectrum.png",
            "shells.csv",
            "dbrg.csv",
            "fisher_vs_momentum.png",
        ] {
            assert!(dir.join(f).exists(), "{f}");
        }
        let shells = std::fs::read_to_string(dir.join("shells.csv")).unwrap();
        assert_eq!(shells.lines().count(), 33, "header + 32 modes");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
