//! `bayesrg schemes`: the coarse-graining scheme types linked into the binary.

use super::Status;
use anyhow::{Result, anyhow};
use bayesrg::schemes::Scheme;
use serde::Serialize;

/// Arguments of `bayesrg schemes`: `--json`, as `bayesrg models`.
pub use super::models::Args;

#[derive(Serialize)]
struct Row {
    r#type: &'static str,
    label: String,
}

pub fn run(args: Args) -> Result<Status> {
    let tags = bayesrg::core::registry::unique_by_tag(
        bayesrg::schemes::SCHEME_TYPES.iter().copied(),
        |t| t,
        "scheme",
    )
    .map_err(|e| anyhow!(e))?;
    let rows = tags
        .into_iter()
        .map(|t| {
            // Each declared tag must deserialise through typetag with defaults.
            let s: Box<dyn Scheme> = serde_json::from_value(serde_json::json!({ "type": t }))
                .map_err(|e| anyhow!("scheme type `{t}` is declared but not registered: {e}"))?;
            Ok(Row {
                r#type: t,
                label: s.label(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        println!("{:<24} label (default settings)", "type");
        for r in &rows {
            println!("{:<24} {}", r.r#type, r.label);
        }
    }
    Ok(Status::Pass)
}
