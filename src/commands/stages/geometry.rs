use crate::commands::reproduce::StageCtx;
use crate::commands::{Summary, geodesic, spectrum};
use crate::config::parse_toml;
use anyhow::Result;

/// The example configs of `bayesrg geodesic`, embedded (name, text).
const GEODESIC: &[(&str, &str)] = &[
    (
        "normal",
        include_str!("../../../examples/geodesic/normal.toml"),
    ),
    (
        "normal_var",
        include_str!("../../../examples/geodesic/normal_var.toml"),
    ),
    (
        "poisson",
        include_str!("../../../examples/geodesic/poisson.toml"),
    ),
    (
        "categorical",
        include_str!("../../../examples/geodesic/categorical.toml"),
    ),
    (
        "gamma",
        include_str!("../../../examples/geodesic/gamma.toml"),
    ),
];

/// The example configs of `bayesrg spectrum`, embedded (name, text).
const SPECTRUM: &[(&str, &str)] = &[
    (
        "normal",
        include_str!("../../../examples/spectrum/normal.toml"),
    ),
    (
        "poisson",
        include_str!("../../../examples/spectrum/poisson.toml"),
    ),
    (
        "categorical",
        include_str!("../../../examples/spectrum/categorical.toml"),
    ),
    (
        "sum_of_exponentials",
        include_str!("../../../examples/spectrum/sum_of_exponentials.toml"),
    ),
    (
        "lattice_1d",
        include_str!("../../../examples/spectrum/lattice_1d.toml"),
    ),
    (
        "lattice_2d",
        include_str!("../../../examples/spectrum/lattice_2d.toml"),
    ),
    (
        "lattice_10x10",
        include_str!("../../../examples/spectrum/lattice_10x10.toml"),
    ),
    (
        "gamma_large_shape",
        include_str!("../../../examples/spectrum/gamma_large_shape.toml"),
    ),
    (
        "sum_of_exponentials_sloppy",
        include_str!("../../../examples/spectrum/sum_of_exponentials_sloppy.toml"),
    ),
    (
        "linear_gaussian_singular",
        include_str!("../../../examples/spectrum/linear_gaussian_singular.toml"),
    ),
];

/// Stage `geometry`: Fisher–Rao distances by shooting against their closed
/// forms, the Fisher spectrum of the sloppy sum of exponentials, and the
/// lattice free field's information shells against Wilson's momentum shells.
/// Each example writes its folder `geodesic-<name>` or `spectrum-<name>`.
pub fn geometry(ctx: &StageCtx) -> Result<Vec<Summary>> {
    // Geodesics and spectra side by side ([`super::in_order`]), in this order.
    let jobs: Vec<(bool, &str, &str)> = GEODESIC
        .iter()
        .map(|(n, t)| (true, *n, *t))
        .chain(SPECTRUM.iter().map(|(n, t)| (false, *n, *t)))
        .collect();
    super::in_order(&jobs, |&(is_geodesic, name, text)| {
        if is_geodesic {
            let origin = format!("examples/geodesic/{name}.toml");
            let cfg: geodesic::GeodesicConfig = parse_toml(text, &origin)?;
            let dir = ctx.dir.join(format!("geodesic-{name}"));
            geodesic::run(&cfg, Some(origin), Some(&dir))
        } else {
            let origin = format!("examples/spectrum/{name}.toml");
            let cfg: spectrum::SpectrumConfig = parse_toml(text, &origin)?;
            let dir = ctx.dir.join(format!("spectrum-{name}"));
            spectrum::run(&cfg, Some(origin), Some(&dir))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_examples_are_the_files() {
        // Every file under examples/geodesic and examples/spectrum is embedded.
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        for (sub, list) in [("geodesic", GEODESIC), ("spectrum", SPECTRUM)] {
            let mut files: Vec<String> = std::fs::read_dir(root.join(sub))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            files.sort();
            let mut names: Vec<String> = list.iter().map(|(n, _)| format!("{n}.toml")).collect();
            names.sort();
            assert_eq!(files, names, "{sub}");
        }
    }

    #[test]
    fn stage_passes() {
        let dir = std::env::temp_dir().join(format!("brg-stage-geometry-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ctx = StageCtx {
            dir: dir.clone(),
            quick: true,
            quiet: true,
        };
        let s = geometry(&ctx).unwrap();
        assert_eq!(s.len(), GEODESIC.len() + SPECTRUM.len());
        for x in &s {
            assert!(x.pass, "{:?}: {:?}", x.config, x.checks);
        }
        assert!(
            dir.join("spectrum-lattice_2d/fisher_vs_momentum.png")
                .exists()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
