//! `bayesrg spectrum FILE.toml`: the Fisher spectrum, stiff and sloppy directions.

use super::Status;
use anyhow::Result;
use serde_json::Value;

/// Arguments of the command: the config, `--json`, `--out`.
pub type Args = super::geometry::OutArgs;

pub fn run(a: Args) -> Result<Status> {
    super::geometry::run_out::<crate::commands::spectrum::Spectrum>(a, text)
}

/// The details as text.
fn text(d: &Value) {
    println!("model    {}", d["model"].as_str().unwrap_or("?"));
    println!(
        "fisher   {} (spectrum: {})",
        d["fisher_source"].as_str().unwrap_or("?"),
        d["method_description"].as_str().unwrap_or("?")
    );
    // JSON has no infinity: null is an exactly singular metric (∞ decades).
    let dec = |key: &str| {
        d[key]
            .as_f64()
            .map_or("∞".to_string(), |v| format!("{v:.3}"))
    };
    println!(
        "decades  {} (supported by the digits: {})",
        dec("decades"),
        dec("decades_lower_bound")
    );
    println!(
        "rank     {} ({} null direction(s))",
        d["rank"], d["null_directions"]
    );
    println!(
        "{:>5} {:>14} {:>11} {:>6} {:>10}  dominant parameter",
        "k", "eigenvalue", "± bound", "digits", "log10"
    );
    let num = |key: &str| -> Vec<f64> {
        d[key]
            .as_array()
            .map(|a| a.iter().map(|v| v.as_f64().unwrap_or(f64::NAN)).collect())
            .unwrap_or_default()
    };
    let (ev, err, dig) = (num("eigenvalues"), num("error_bounds"), num("digits"));
    let shown = ev.len().min(20);
    let dom = d["dominant_param"].as_array().cloned().unwrap_or_default();
    for (k, &v) in ev.iter().take(shown).enumerate() {
        let p = dom.get(k).and_then(|p| p.as_str()).unwrap_or("");
        let e = err.get(k).copied().unwrap_or(f64::NAN);
        let null = if v.abs() > e { "" } else { "  (null)" };
        println!(
            "{:>5} {:>14.6e} {:>11.2e} {:>6.1} {:>10.3}  {p}{null}",
            k + 1,
            v,
            e,
            dig.get(k).copied().unwrap_or(0.0),
            v.log10()
        );
    }
    if ev.len() > shown {
        println!("  … {} more (see --json or --out)", ev.len() - shown);
    }
    if let Some(l) = d.get("lattice") {
        println!(
            "lattice: spearman(Fisher, |p|) = {}",
            l["spearman_fisher_momentum"]
        );
        for r in l["dbrg"].as_array().cloned().unwrap_or_default() {
            println!(
                "  tau {:<8} Lambda {:<10.4} resolved: {} by Fisher, {} by momentum",
                r["tau"],
                r["lambda"].as_f64().unwrap_or(f64::NAN),
                r["resolved_by_fisher"],
                r["resolved_by_momentum"]
            );
        }
    }
}
