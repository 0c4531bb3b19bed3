//! The files of `bayesrg geodesic`: `path.csv` and, for 2-D families,
//! `geodesic.png`; and summary.json's details, from a [`GeodesicResult`].

use crate::output::{OutDir, csv_number};
use crate::plot;
use anyhow::Result;
use bayesrg_core::geometry::fisher_rao::{Found, GeodesicResult, GeodesicSpec};
use serde_json::json;

/// Whether the run draws geodesic.png: asked for (or a 2-D family) and found.
fn plots(spec: &GeodesicSpec, r: &GeodesicResult) -> bool {
    spec.plots() && r.found.is_some()
}

/// A library error at its place in the config, or in "the geodesic config"
/// when the spec was not read from a file.
pub fn place(origin: Option<&str>, e: bayesrg_core::Error) -> anyhow::Error {
    crate::commands::at_origin(Some(origin.unwrap_or("the geodesic config")), e)
}

/// path.csv and, when [`plots`], geodesic.png.
pub fn write(o: &OutDir, spec: &GeodesicSpec, r: &GeodesicResult) -> Result<()> {
    if let Some(f) = &r.found {
        write_path(o, r, f)?;
        if plots(spec, r) {
            plot_path(o, r, f)?;
        }
    }
    Ok(())
}

/// summary.json's details; `files` lists what is written.
pub fn details(
    spec: &GeodesicSpec,
    r: &GeodesicResult,
    writing: bool,
) -> Result<serde_json::Value> {
    let files: &[&str] = match (writing, plots(spec, r)) {
        (false, _) => &[],
        (true, true) => &["summary.json", "path.csv", "geodesic.png"],
        (true, false) => &["summary.json", "path.csv"],
    };
    let mut d = json!({
        "model": r.model,
        "params": r.params,
        "from": r.from,
        "to": r.to,
        "closed_form": r.closed_form,
        "closed_form_family": r.closed_form_family,
        "closed_form_velocity": r.closed_form_velocity,
        "christoffel": r.christoffel,
    });
    if let Some(why) = &r.failure {
        d["failure"] = json!(why);
    }
    if let Some(f) = &r.found {
        d["distance"] = json!(f.distance);
        d["initial_velocity"] = json!(f.initial_velocity);
        d["residual"] = json!(f.residual);
        d["speed_drift"] = json!(f.speed_drift);
        d["path_error"] = json!(f.path_error);
        d["method"] = json!(f.method);
        d["attempts"] = json!(f.attempts);
        d["iterations"] = json!(f.iterations);
        d["path_points"] = json!(f.path.len());
        d["files"] = json!(files);
    }
    Ok(d)
}

/// path.csv: t, θ…, speed², and the closed-form curve when known.
fn write_path(o: &OutDir, r: &GeodesicResult, f: &Found) -> Result<()> {
    let mut csv = String::from("t");
    for n in &r.params {
        csv.push_str(&format!(",{n}"));
    }
    csv.push_str(",speed2");
    if f.closed_curve.is_some() {
        for n in &r.params {
            csv.push_str(&format!(",closed_{n}"));
        }
    }
    csv.push('\n');
    for p in &f.path {
        csv.push_str(&csv_number(p.t));
        for x in &p.theta {
            csv.push_str(&format!(",{}", csv_number(*x)));
        }
        csv.push_str(&format!(",{}", csv_number(p.speed2)));
        for x in p.closed.iter().flatten() {
            csv.push_str(&format!(",{}", csv_number(*x)));
        }
        csv.push('\n');
    }
    o.write_text("path.csv", &csv)
}

/// geodesic.png: the path in the plane of a 2-D family.
fn plot_path(o: &OutDir, r: &GeodesicResult, f: &Found) -> Result<()> {
    let geo: Vec<(f64, f64)> = f.path.iter().map(|p| (p.theta[0], p.theta[1])).collect();
    let chord = vec![(r.from[0], r.from[1]), (r.to[0], r.to[1])];
    let mut series = vec![
        plot::Series::line("geodesic", geo),
        plot::Series::line("coordinate chord", chord.clone()),
        plot::Series::points("end points", chord),
    ];
    if let Some(c) = &f.closed_curve {
        let cf: Vec<(f64, f64)> = c.iter().map(|p| (p[0], p[1])).collect();
        series.push(plot::Series::points("closed form", cf));
    }
    plot::line_chart(
        &o.path("geodesic.png"),
        &plot::Axes {
            title: format!("Fisher–Rao geodesic, {}: d = {:.6}", r.model, f.distance),
            x_label: r.params[0].clone(),
            y_label: r.params[1].clone(),
            ..Default::default()
        },
        &series,
    )
}
