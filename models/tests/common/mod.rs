//! Shared test cases: every model of the crate at three or more valid points.
#![allow(dead_code)]

use bayesrg_core::Model;
use bayesrg_models::*;
use nalgebra::DMatrix;

/// A model and the points θ at which it is tested.
pub struct Case {
    pub name: &'static str,
    pub model: Box<dyn Model>,
    pub points: Vec<Vec<f64>>,
}

fn case(name: &'static str, model: Box<dyn Model>, points: Vec<Vec<f64>>) -> Case {
    for p in &points {
        model
            .check_params(p)
            .unwrap_or_else(|e| panic!("{name} test point {p:?} invalid: {e}"));
    }
    Case {
        name,
        model,
        points,
    }
}

pub fn mat(r: usize, c: usize, v: &[f64]) -> DMatrix<f64> {
    DMatrix::from_row_slice(r, c, v)
}

/// Every model type of the crate (several configurations for the ones with
/// settings), each at three or more points spread over its parameter space.
pub fn cases() -> Vec<Case> {
    vec![
        case(
            "normal",
            Box::new(Normal {}),
            vec![vec![0.5, 1.5], vec![-2.0, 0.3], vec![3.0, 4.0]],
        ),
        case(
            "normal_var",
            Box::new(NormalVar {}),
            vec![vec![0.5, 2.25], vec![-1.0, 0.1], vec![2.0, 9.0]],
        ),
        case(
            "bernoulli",
            Box::new(Bernoulli {}),
            vec![vec![0.3], vec![0.05], vec![0.9]],
        ),
        case(
            "categorical",
            Box::new(Categorical::new(3).unwrap()),
            vec![vec![0.2, 0.5], vec![0.6, 0.1], vec![0.33, 0.33]],
        ),
        case(
            "categorical",
            Box::new(Categorical::new(4).unwrap()),
            vec![
                vec![0.1, 0.2, 0.3],
                vec![0.4, 0.05, 0.25],
                vec![0.25, 0.25, 0.25],
            ],
        ),
        case(
            "poisson",
            Box::new(Poisson {}),
            vec![vec![3.5], vec![0.2], vec![40.0]],
        ),
        case(
            "exponential",
            Box::new(Exponential {}),
            vec![vec![0.8], vec![0.05], vec![12.0]],
        ),
        case(
            "gamma",
            Box::new(Gamma {}),
            vec![vec![2.5, 1.5], vec![0.7, 0.2], vec![10.0, 5.0]],
        ),
        case(
            "beta",
            Box::new(Beta {}),
            vec![vec![2.0, 3.5], vec![0.6, 0.8], vec![8.0, 2.0]],
        ),
        case(
            "mvn_mean",
            Box::new(
                MvnMean::new(mat(3, 3, &[2.0, 0.6, 0.1, 0.6, 1.0, -0.3, 0.1, -0.3, 0.5])).unwrap(),
            ),
            vec![
                vec![0.5, -1.0, 0.0],
                vec![3.0, 2.0, -4.0],
                vec![-0.2, 0.1, 10.0],
            ],
        ),
        case(
            "mvn",
            Box::new(Mvn::new(2).unwrap()),
            vec![
                vec![0.5, -1.0, 2.0, 0.6, 1.0],
                vec![0.0, 0.0, 1.0, 0.0, 1.0],
                vec![-3.0, 2.0, 0.5, -0.4, 0.9],
            ],
        ),
        case(
            "mvn",
            Box::new(Mvn::new(3).unwrap()),
            vec![
                Mvn::pack(
                    &[0.0, 1.0, -1.0],
                    &mat(3, 3, &[2.0, 0.6, 0.1, 0.6, 1.0, -0.3, 0.1, -0.3, 0.5]),
                ),
                Mvn::pack(&[1.0, 2.0, 3.0], &DMatrix::identity(3, 3)),
                Mvn::pack(
                    &[-0.5, 0.0, 0.5],
                    &mat(3, 3, &[1.0, 0.5, 0.25, 0.5, 1.0, 0.5, 0.25, 0.5, 1.0]),
                ),
            ],
        ),
        case(
            "exp_family_finite",
            Box::new(
                ExpFamilyFinite::new(mat(4, 2, &[0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.5])).unwrap(),
            ),
            vec![vec![0.3, -0.5], vec![0.0, 0.0], vec![-1.5, 2.0]],
        ),
        case(
            "exp_family_finite",
            Box::new(
                ExpFamilyFinite::new(mat(
                    5,
                    3,
                    &[
                        -2.0, 4.0, 0.0, -1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, -1.0, 2.0, 4.0,
                        0.5,
                    ],
                ))
                .unwrap(),
            ),
            vec![
                vec![0.1, 0.2, -0.3],
                vec![1.0, -0.5, 0.5],
                vec![-0.4, 0.3, 2.0],
            ],
        ),
        case(
            "linear_gaussian",
            Box::new(
                LinearGaussian::new(
                    mat(3, 2, &[1.0, 0.0, 1.0, 1.0, 0.5, -1.0]),
                    mat(3, 3, &[0.5, 0.1, 0.0, 0.1, 0.4, 0.05, 0.0, 0.05, 0.3]),
                )
                .unwrap(),
            ),
            vec![vec![1.0, -0.5], vec![0.0, 0.0], vec![-3.0, 7.0]],
        ),
        case(
            "sum_of_exponentials",
            Box::new(
                SumOfExponentials::new(4, (1..=12).map(|k| 0.5 * k as f64).collect(), 0.1).unwrap(),
            ),
            vec![
                vec![0.3, 1.0, 3.0, 6.0],
                vec![0.5, 0.6, 0.7, 0.8],
                vec![0.1, 2.0, 5.0, 20.0],
            ],
        ),
    ]
}
