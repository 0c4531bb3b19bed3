//! `bayesrg prune`: the section-4 experiment. The config file is a
//! [`Section4Spec`]; the work is [`bayesrg_autoencoder::section4::run`]; this
//! module reads the config, calls the runner and writes its result:
//! `sweep.csv`, `fisher.csv`, `weights.bin`, `summary.json`, the figures, and
//! `timings.json` (the one file that differs from run to run).

use crate::commands::Summary;
use anyhow::Result;
use bayesrg_autoencoder::section4::{self, Section4Result, Timings};
use std::path::Path;

mod files;

pub use bayesrg_autoencoder::section4::Section4Spec;

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
        files::write_files(&o, r)?;
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
