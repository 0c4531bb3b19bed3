//! The observations of a `bayesrg fisher` config (`data` or a CSV
//! `data_file`) and the empirical Fisher of them, with errors placed at the
//! file, line and row of a bad value.

use super::Loaded;
use crate::config;
use anyhow::{Result, anyhow};
use bayesrg_core::empirical::{self, EmpiricalComparison};
use bayesrg_core::fisher::Method;
use bayesrg_core::validate::Report;
use nalgebra::DMatrix;

/// The observations of a loaded config: `data`, or the rows of `data_file`
/// (CSV; a first line that is not all numbers is a header). `None` without
/// either. Errors name the file and line of a bad value.
pub fn observations(loaded: &Loaded) -> Result<Option<(Vec<Vec<f64>>, DataSource)>> {
    let c = &loaded.config;
    if let Some(d) = &c.data {
        return Ok(Some((d.clone(), DataSource::Inline)));
    }
    let Some(file) = &c.data_file else {
        return Ok(None);
    };
    let path = loaded.base.join(file);
    let shown = path.display().to_string();
    let text =
        config::read_text(&path).map_err(|e| anyhow!("{}: data_file: {e:#}", loaded.origin))?;
    let mut rows = Vec::new();
    let mut lines = Vec::new();
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    for (k, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| anyhow!("{shown}: {e}"))?;
        let line = rec.position().map(|p| p.line()).unwrap_or(k as u64 + 1);
        let parsed: Vec<Option<f64>> = rec.iter().map(|f| f.parse::<f64>().ok()).collect();
        if parsed.iter().all(Option::is_none) && rows.is_empty() && k == 0 {
            continue; // a header line
        }
        let mut row = Vec::with_capacity(parsed.len());
        for (j, (v, raw)) in parsed.iter().zip(rec.iter()).enumerate() {
            match v {
                Some(v) => row.push(*v),
                None => {
                    return Err(anyhow!(
                        "{shown}:{line}: column {} is `{raw}`, not a number",
                        j + 1
                    ));
                }
            }
        }
        rows.push(row);
        lines.push(line);
    }
    Ok(Some((rows, DataSource::File { path: shown, lines })))
}

/// Where the observations of a config came from, to place errors.
#[derive(Debug, Clone)]
pub enum DataSource {
    /// The `data` array of the config.
    Inline,
    /// A CSV file and the line of each row.
    File {
        /// The path, as shown.
        path: String,
        /// 1-based line of each row.
        lines: Vec<u64>,
    },
}

/// The empirical Fisher of the config's observations at θ beside the
/// report's reference (or, without one, its Monte Carlo E\[ℓℓᵀ\]); `None`
/// when the config gives no data. Bad data are errors naming the file, the
/// line and the row.
pub fn empirical_loaded(loaded: &Loaded, report: &Report) -> Result<Option<EmpiricalComparison>> {
    let Some((data, source)) = observations(loaded)? else {
        return Ok(None);
    };
    let c = &loaded.config;
    let wanted = report.reference.unwrap_or(Method::ScoreOuter);
    let reference = report
        .estimators
        .iter()
        .find(|e| e.method == wanted)
        .map(|e| {
            let d = e.matrix.len();
            (e.method, DMatrix::from_fn(d, d, |i, j| e.matrix[i][j]))
        });
    let got = empirical::compare(
        c.model.as_ref(),
        &c.theta,
        &data,
        reference.as_ref().map(|(m, i)| (*m, i)),
    );
    got.map(Some).map_err(|e| {
        let field = e.field();
        let row = field.as_ref().and_then(|f| match f.segments().get(1) {
            Some(bayesrg_core::error::Segment::Index(k)) => Some(*k),
            _ => None,
        });
        let place = match (&source, row) {
            (DataSource::File { path, lines }, Some(k)) => {
                let line = lines.get(k).copied().unwrap_or(0);
                format!("{path}:{line}: row {}", k + 1)
            }
            (DataSource::File { path, .. }, None) => path.clone(),
            (DataSource::Inline, _) => {
                let at = match (&loaded.text, &field) {
                    (Some(t), Some(f)) => crate::locate::locate(t, f)
                        .map(|(l, c)| format!(":{l}:{c}"))
                        .unwrap_or_default(),
                    _ => String::new(),
                };
                format!("{}{at}", loaded.origin)
            }
        };
        anyhow::Error::new(e).context(place)
    })
}
