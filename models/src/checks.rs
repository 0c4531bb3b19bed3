//! Validation shared by the models: constraints on θ (checked by
//! [`Model::check_params`](bayesrg_core::Model::check_params)) and on config-time
//! settings (matrices, tables, times: checked when a model is deserialised, so a
//! bad config is an error naming the field).

use bayesrg_core::ParamError;
use nalgebra::{Cholesky, DMatrix, Dyn};

/// θᵢ > 0, else an error naming the parameter.
pub fn positive(name: &str, v: f64) -> Result<(), ParamError> {
    if v > 0.0 {
        Ok(())
    } else {
        Err(ParamError::invalid(name, v, "must be > 0"))
    }
}

/// 0 < θᵢ < 1, else an error naming the parameter.
pub fn open_unit(name: &str, v: f64) -> Result<(), ParamError> {
    if v > 0.0 && v < 1.0 {
        Ok(())
    } else {
        Err(ParamError::invalid(name, v, "must be in (0, 1)"))
    }
}

/// Parameter names `prefix1 … prefixd`.
pub fn numbered(prefix: &str, d: usize) -> Vec<String> {
    (1..=d).map(|i| format!("{prefix}{i}")).collect()
}

/// A matrix given as a list of rows in the config field `field`: non-empty,
/// rectangular and finite.
pub fn matrix(field: &str, rows: &[Vec<f64>]) -> Result<DMatrix<f64>, String> {
    let nr = rows.len();
    if nr == 0 || rows[0].is_empty() {
        return Err(format!("`{field}` must be a non-empty list of rows"));
    }
    let nc = rows[0].len();
    for (i, r) in rows.iter().enumerate() {
        if r.len() != nc {
            return Err(format!(
                "`{field}` is not rectangular: row {} has {} entries but row 1 has {nc}",
                i + 1,
                r.len()
            ));
        }
        if let Some(j) = r.iter().position(|v| !v.is_finite()) {
            return Err(format!(
                "`{field}` has a non-finite entry at row {}, column {}",
                i + 1,
                j + 1
            ));
        }
    }
    Ok(DMatrix::from_fn(nr, nc, |i, j| rows[i][j]))
}

/// The rows of a matrix, for serialising it back into a config.
pub fn rows(m: &DMatrix<f64>) -> Vec<Vec<f64>> {
    (0..m.nrows())
        .map(|i| m.row(i).iter().copied().collect())
        .collect()
}

/// Checks that the matrix in config field `field` is square, symmetric (to
/// 1e-12 relative) and positive definite, and returns its Cholesky factor.
pub fn spd(field: &str, m: &DMatrix<f64>) -> Result<Cholesky<f64, Dyn>, String> {
    if !m.is_square() {
        return Err(format!(
            "`{field}` must be square, got {}×{}",
            m.nrows(),
            m.ncols()
        ));
    }
    if bayesrg_core::linalg::asymmetry(m) > 1e-12 {
        return Err(format!("`{field}` must be symmetric"));
    }
    m.clone()
        .cholesky()
        .ok_or_else(|| format!("`{field}` is not positive definite"))
}

/// Σ⁻¹ from a Cholesky factor, symmetrised.
pub fn inverse(chol: &Cholesky<f64, Dyn>) -> DMatrix<f64> {
    let inv = chol.inverse();
    (&inv + inv.transpose()) * 0.5
}
