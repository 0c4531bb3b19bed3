//! Validation shared by the models: constraints on θ (checked by
//! [`Model::check_params`](bayesrg_core::Model::check_params)) and on config-time
//! settings (matrices, tables, times: checked when a model is deserialised, so a
//! bad config is an error naming the field).

use bayesrg_core::ParamError;
use bayesrg_core::error::{Error, Field, require};
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
pub fn matrix(field: &str, rows: &[Vec<f64>]) -> bayesrg_core::Result<DMatrix<f64>> {
    let nr = rows.len();
    if nr == 0 || rows[0].is_empty() {
        return Err(Error::domain(
            field,
            "[]",
            "must be a non-empty list of rows",
        ));
    }
    let nc = rows[0].len();
    for (i, r) in rows.iter().enumerate() {
        if r.len() != nc {
            return Err(Error::Dimension {
                field: Field::key(field).at(i),
                expected: format!("{nc}, like row 0 (`{field}` must be rectangular)"),
                got: r.len(),
            });
        }
        require::all_finite(Field::key(field).at(i), r)?;
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
pub fn spd(field: &str, m: &DMatrix<f64>) -> bayesrg_core::Result<Cholesky<f64, Dyn>> {
    if !m.is_square() {
        return Err(Error::Shape {
            what: format!("`{field}`"),
            got: format!("{}×{}", m.nrows(), m.ncols()),
            expected: "square".into(),
        });
    }
    if bayesrg_core::linalg::asymmetry(m) > 1e-12 {
        return Err(Error::NotSymmetric {
            what: format!("`{field}`"),
        });
    }
    m.clone()
        .cholesky()
        .ok_or_else(|| Error::NotPositiveDefinite {
            what: format!("`{field}`"),
        })
}

/// Σ⁻¹ from a Cholesky factor, symmetrised.
pub fn inverse(chol: &Cholesky<f64, Dyn>) -> DMatrix<f64> {
    let inv = chol.inverse();
    (&inv + inv.transpose()) * 0.5
}

#[cfg(test)]
mod tests {
    use crate::*;
    use bayesrg_core::Error;
    use nalgebra::DMatrix;

    /// Issue 12: the models' settings errors are typed core errors naming
    /// the field, all bad input (exit 2: `is_bad_input`). Each case is a
    /// deliberately wrong setting.
    #[test]
    fn settings_errors_are_typed_and_name_the_field() {
        let field = |e: &Error| e.field().map(|f| f.to_string()).unwrap_or_default();
        let cases: Vec<(Error, &str)> = vec![
            (Mvn::new(5).unwrap_err(), "dim"),
            (Categorical::new(1).unwrap_err(), "classes"),
            (
                SumOfExponentials::new(0, vec![1.0], 1.0).unwrap_err(),
                "terms",
            ),
            (
                SumOfExponentials::new(1, vec![1.0, -1.0], 1.0).unwrap_err(),
                "times[1]",
            ),
            (
                SumOfExponentials::new(1, vec![f64::NAN], 1.0).unwrap_err(),
                "times[0]",
            ),
            (
                SumOfExponentials::new(3, vec![1.0, 2.0], 1.0).unwrap_err(),
                "times",
            ),
            (
                SumOfExponentials::new(1, vec![1.0], 0.0).unwrap_err(),
                "sigma",
            ),
            (
                ExpFamilyFinite::new(DMatrix::zeros(1, 1)).unwrap_err(),
                "stats",
            ),
            (
                ExpFamilyFinite::new(DMatrix::from_element(2, 1, f64::NAN)).unwrap_err(),
                "stats[0][0]",
            ),
            (
                ExpFamilyFinite::new(DMatrix::from_row_slice(2, 1, &[1.0, 1.0])).unwrap_err(),
                "stats",
            ),
            (
                LinearGaussian::new(DMatrix::identity(2, 1), DMatrix::identity(1, 1)).unwrap_err(),
                "noise_cov",
            ),
            (
                LinearGaussian::new(
                    DMatrix::from_element(1, 1, f64::INFINITY),
                    DMatrix::identity(1, 1),
                )
                .unwrap_err(),
                "a[0][0]",
            ),
            (super::matrix("cov", &[]).unwrap_err(), "cov"),
            (
                super::matrix("cov", &[vec![1.0], vec![1.0, 2.0]]).unwrap_err(),
                "cov[1]",
            ),
            (
                super::matrix("cov", &[vec![1.0], vec![f64::NAN]]).unwrap_err(),
                "cov[1][0]",
            ),
        ];
        for (e, f) in &cases {
            assert!(e.is_bad_input(), "{e}");
            assert_eq!(field(e), *f, "{e}");
        }
        assert!(matches!(cases[0].0, Error::Domain { .. }));
        assert!(matches!(cases[5].0, Error::Dimension { got: 2, .. }));
        assert!(matches!(cases[8].0, Error::NotFinite { .. }));
        // The matrix checks without a field: shape, symmetry, definiteness.
        let e = MvnMean::new(DMatrix::zeros(1, 2)).unwrap_err();
        assert!(matches!(e, Error::Shape { .. }) && e.is_bad_input(), "{e}");
        assert_eq!(e.to_string(), "`cov` must be square, got 1×2");
        let e = MvnMean::new(DMatrix::from_row_slice(2, 2, &[1.0, 0.5, 0.0, 1.0])).unwrap_err();
        assert!(matches!(e, Error::NotSymmetric { .. }), "{e}");
        let e = MvnMean::new(-DMatrix::identity(2, 2)).unwrap_err();
        assert!(matches!(e, Error::NotPositiveDefinite { .. }), "{e}");
        // A scale vector of the wrong length for the KL Hessian (core's fisher).
        let e = bayesrg_core::fisher::kl_hessian_scaled(&Poisson {}, &[1.0], &[]).unwrap_err();
        assert!(
            matches!(e, Error::Dimension { got: 0, .. }) && e.is_bad_input(),
            "{e}"
        );
        assert_eq!(field(&e), "scales");
    }
}
