//! `bayesrg models`: the catalogue of registered model types.

use super::Status;
use anyhow::{Result, anyhow};
use bayesrg::core::Model;
use bayesrg::core::registry;
use serde::Serialize;

/// Arguments of `bayesrg models` and `bayesrg schemes`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print one JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Row {
    r#type: String,
    summary: String,
    params: Vec<String>,
    obs_dim: usize,
    closed_form_fisher: bool,
    closed_form_kl: bool,
    forward_map: bool,
}

pub fn run(args: Args) -> Result<Status> {
    let entries = registry::models().map_err(|e| anyhow!(e))?;
    let rows: Vec<Row> = entries
        .iter()
        .map(|e| {
            let m = (e.example)();
            let th = (e.example_theta)();
            Row {
                r#type: e.tag.to_string(),
                summary: e.summary.to_string(),
                params: m.param_names(),
                obs_dim: m.obs_dim(),
                closed_form_fisher: m.fisher(&th).is_some(),
                closed_form_kl: m.kl(&th, &th).is_some(),
                forward_map: m.forward(&th).is_some(),
            }
        })
        .collect();
    let mut rows = rows;
    // Models of the plugins loaded with --plugin, listed like built-ins. A
    // plugin whose declared example cannot be created is broken (exit 2),
    // but a listing runs none of a model's numerical functions: a model
    // whose `fisher` fails at its example θ must not hide the others, so the
    // closed forms are read from the plugin's table of functions.
    for t in bayesrg::plugins::model_types() {
        let m = t.example()?;
        rows.push(Row {
            r#type: t.tag.to_string(),
            summary: format!(
                "{} [plugin {} {}]",
                t.summary, t.plugin.name, t.plugin.version
            ),
            params: m.param_names(),
            obs_dim: m.obs_dim(),
            closed_form_fisher: t.provides_fisher(),
            closed_form_kl: t.provides_kl(),
            forward_map: false,
        });
    }
    rows.sort_by(|a, b| a.r#type.cmp(&b.r#type));
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        println!("{:<24} {:<28} summary", "type", "parameters");
        for r in &rows {
            println!("{:<24} {:<28} {}", r.r#type, r.params.join(", "), r.summary);
        }
    }
    Ok(Status::Pass)
}
