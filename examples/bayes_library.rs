//! Dynamical Bayes and a DB-RG flow from Rust, without files: a spec (the
//! content of a config file, here JSON) → one library runner → plain results.
//! Run: `cargo run --example bayes_library` (docs/bayes.md shows it).

use bayesrg::core::bayes::{experiment, flow};
use bayesrg::core::observe::Silent;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    bayesrg::ensure_linked(); // registers the built-in models ("poisson", …)

    // Eq. (33) for a Poisson rate under a Gamma(4, 1) prior, from T = 0.
    let spec: experiment::BayesSpec = serde_json::from_str(
        r#"{ "model": {"type": "poisson"}, "theta_star": [3.5],
             "prior": [{"dist": "gamma", "shape": 4.0, "rate": 1.0}],
             "grid": [{"lo": 0.0, "hi": 40.0, "n": 8000}],
             "t": [0, 5, 37], "particles": 2000, "seed": 7 }"#,
    )?;
    let r = experiment::run(&spec, &mut Silent)?;
    // Eq. (34) in closed form: Gamma(4 + 3.5 T, 1 + T), mean 21.5/6 at T = 5.
    assert!((r.records[1].mean[0] - 21.5 / 6.0).abs() < 1e-9);
    for c in &r.checks {
        println!(
            "[{}] {} = {:.3e}",
            if c.pass { "PASS" } else { "FAIL" },
            c.name,
            c.value
        );
    }

    // The DB-RG flow (eqs. 38–39) of the same model at its truth.
    let spec: flow::FlowSpec = serde_json::from_str(
        r#"{ "model": {"type": "poisson"}, "mu": [3.5], "tau": [0.01, 0.1, 1.0],
             "samples": 1000, "y_grid": {"lo": 0, "hi": 80, "discrete": true} }"#,
    )?;
    let f = flow::run(&spec, &mut Silent)?;
    for row in &f.rows {
        println!(
            "tau = {:<5} KL(p_tau||p_0) = {:.4e}  n_eff = {:.3}",
            row.tau, row.kl, row.n_eff
        );
    }
    Ok(())
}
