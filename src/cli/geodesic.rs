//! `bayesrg geodesic FILE.toml`: Fisher–Rao distance and geodesic between two points.

use super::Status;
use anyhow::Result;
use serde_json::Value;

/// Arguments of the command: the config, `--json`, `--out`.
pub type Args = super::geometry::OutArgs;

pub fn run(a: Args) -> Result<Status> {
    super::geometry::run_out::<crate::commands::geodesic::Geodesic>(a, text)
}

/// The details as text.
fn text(d: &Value) {
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
}
