//! `bayesrg geodesic FILE.toml`: Fisher–Rao distance and geodesic between two points.

use super::Status;
use crate::commands::geodesic;
use anyhow::Result;

/// Arguments of the command: the config, `--json`, `--out`.
pub type Args = super::geometry::OutArgs;

pub fn run(a: Args) -> Result<Status> {
    let s = geodesic::run_file(&a.config, a.out.as_deref())?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        let d = &s.details;
        println!("model     {}", d["model"].as_str().unwrap_or("?"));
        println!("from      {}", d["from"]);
        println!("to        {}", d["to"]);
        if let Some(why) = d["failure"].as_str() {
            println!("no geodesic found (a failed computation, not bad input):\n  {why}");
        } else {
            println!("distance  {}", d["distance"]);
        }
        if !d["closed_form"].is_null() {
            println!("closed    {}", d["closed_form"]);
        }
        if !d["method"].is_null() {
            println!("method    {}", d["method"].as_str().unwrap_or("?"));
            println!("velocity  {}", d["initial_velocity"]);
        }
        super::print_checks(&s);
    }
    Ok(Status::from_ok(s.pass))
}
