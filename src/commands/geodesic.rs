//! `bayesrg geodesic FILE.toml`: the Fisher–Rao distance and the geodesic
//! between two points of a model, checked against the family's closed form
//! when it has one.
//!
//! The config file is a [`GeodesicSpec`]; the work is
//! [`bayesrg_core::geometry::fisher_rao::run`]; this module names what of its
//! result goes where ([`Geodesic`], the files in `files`).
//!
//! Config:
//! ```toml
//! from = [0.0, 1.0]        # θ₁
//! to = [2.0, 0.5]          # θ₂
//! closed_form = "normal"   # optional: check against this named closed form
//!                          # (default: the model's own, when it has one)
//! plot = true              # optional: path plot (default: true for 2-D families)
//! tol = 1e-9               # optional: miss at `to` in Fisher units, relative to the distance
//! christoffel = "auto"     # optional: "auto" (closed form where known) or "differences"
//! samples = 100000         # optional: Monte Carlo Fisher fallback
//! seed = 1                 # optional: its seed
//!
//! [model]
//! type = "normal"
//! ```
//! Writes `summary.json`, `path.csv` (t, θ…, speed², and the closed-form
//! geodesic θ_cf(t) when the family has one) and, for 2-D families,
//! `geodesic.png`. Bad input exits with status 2; a geodesic that no method
//! finds is a failed computation: exit status 1, the reason in the summary.

use bayesrg_core::geometry::fisher_rao::{self, GeodesicResult};

mod files;

pub use bayesrg_core::geometry::fisher_rao::{DISTANCE_TOL, GeodesicSpec, PATH_TOL};

/// The config of `bayesrg geodesic` (the library's spec).
pub type GeodesicConfig = GeodesicSpec;

command!(
    /// `bayesrg geodesic` as a [`Command`](super::Command). A solver that
    /// does not converge gives a result with a failed check and the reason
    /// (exit 1), not an error.
    Geodesic = "geodesic", GeodesicSpec => GeodesicResult, fisher_rao::run,
    place = files::place
);

command_fns!(Geodesic, silent);

#[cfg(test)]
mod tests {
    use super::*;

    fn example(name: &str) -> std::path::PathBuf {
        crate::commands::example("geodesic", name)
    }

    #[test]
    fn examples_pass_and_agree() {
        // Oracle: the closed forms of the families; and the two
        // parametrisations describe the same pair of distributions.
        let a = run_file(&example("normal.toml"), None).unwrap();
        let b = run_file(&example("normal_var.toml"), None).unwrap();
        assert!(a.pass && b.pass, "{:?} {:?}", a.checks, b.checks);
        let (da, db) = (
            a.details["distance"].as_f64().unwrap(),
            b.details["distance"].as_f64().unwrap(),
        );
        assert!((da - db).abs() < 1e-9 * da, "{da} {db}");
        // Both runs carry the distance, velocity and curve checks.
        assert_eq!(a.checks.len(), 5, "{:?}", a.checks);
    }

    #[test]
    fn writes_path_and_plot() {
        let dir = std::env::temp_dir().join(format!("brg-geodesic-{}", std::process::id()));
        run_file(&example("normal.toml"), Some(&dir)).unwrap();
        let csv = std::fs::read_to_string(dir.join("path.csv")).unwrap();
        assert!(csv.starts_with("t,mu,sigma,speed2,closed_mu,closed_sigma\n"));
        assert!(csv.lines().count() > 50);
        assert!(dir.join("geodesic.png").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
