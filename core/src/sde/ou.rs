//! Linear SDEs dY = −B(Y − m)dτ + θdW, θθᵀ = K⁻¹ (Ornstein–Uhlenbeck; B = 0 is
//! the heat kernel of eqs. 21 and 43). Their law from a point y₀ is Gaussian:
//!
//!   Y_τ ~ N(m + e^{−Bτ}(y₀ − m), Σ_τ),  Σ_τ = ∫₀^τ e^{−Bs}K⁻¹e^{−Bᵀs}ds.
//!
//! (e^{−Bτ}, Σ_τ) come from [`propagators`]: Van Loan's block exponential on a
//! step short enough that nothing overflows, then doublings of the semigroup
//! that only ever form e^{−Bs}. This holds for any B: stable at any B·τ,
//! singular (B = 0 gives τK⁻¹), non-normal, and unstable. When B is stable,
//! Σ_τ = Σ∞ − e^{−Bτ}Σ∞e^{−Bᵀτ} with the stationary covariance Σ∞ solving the
//! Lyapunov equation BΣ∞ + Σ∞Bᵀ = K⁻¹ ([`lyapunov`], used as a second route in
//! tests).

use crate::error::{Error, Result};
use crate::gaussian::Gaussian;
use nalgebra::{DMatrix, DVector};

/// The exact transition over one step h: y ← m + E(y − m) + Lξ.
#[derive(Debug, Clone)]
pub struct OuTransition {
    /// E = e^{−Bh}.
    pub mean_map: DMatrix<f64>,
    /// The centre m.
    pub centre: DVector<f64>,
    /// Σ_h.
    pub cov: DMatrix<f64>,
    /// A factor L with LLᵀ = Σ_h (Cholesky, or a symmetric square root when Σ_h
    /// is only semi-definite).
    pub factor: DMatrix<f64>,
}

impl OuTransition {
    /// Applies the transition to `y` with standard normals ξⱼ = `xi(j)`;
    /// `scratch` holds d entries.
    #[inline]
    pub fn step(&self, y: &mut [f64], xi: impl Fn(usize) -> f64, scratch: &mut [f64]) {
        let d = y.len();
        for i in 0..d {
            scratch[i] = y[i] - self.centre[i];
        }
        for i in 0..d {
            let mut s = self.centre[i];
            for j in 0..d {
                s += self.mean_map[(i, j)] * scratch[j];
            }
            y[i] = s;
        }
        for j in 0..d {
            let x = xi(j);
            for i in j..d {
                y[i] += self.factor[(i, j)] * x;
            }
        }
    }
}

/// (e^{−Bt}, Σ_t) of dY = −B(Y − m)dτ + θdW, θθᵀ = Q = K⁻¹: the mean map and
/// the covariance Σ_t = ∫₀ᵗ e^{−Bs}Qe^{−Bᵀs}ds of the law at time t from a point.
///
/// Method (scaling and squaring of the OU semigroup):
/// 1. t is split into 2ᵏ equal steps h with ‖B‖₁h ≤ ½.
/// 2. On one step, Van Loan's block exponential
///    exp(h·[[B, Q̂], [0, −Bᵀ]]) = [[·, G], [0, F]] gives e^{−Bh} = Fᵀ and
///    Σ_h = FᵀG (Van Loan 1978, *IEEE TAC* 23:395). Q̂ = Q/max|Qᵢⱼ|, as Σ is
///    linear in Q. The e^{+Bh} block is at most e^{½} here.
/// 3. k doublings of the semigroup: Σ_{2s} = Σ_s + e^{−Bs}Σ_se^{−Bᵀs} and
///    e^{−2Bs} = (e^{−Bs})².
///
/// Only e^{−Bs} is ever formed beyond the first step, so a stable B (all
/// eigenvalues with positive real part) cannot overflow at any B·t: the
/// closed form Σ_h = FᵀG on the whole interval holds e^{+Bt}, which overflows
/// once B·t passes about 709. Each doubling adds two positive semi-definite
/// matrices, so no digits cancel: relative accuracy is kept from B·t = 10⁻⁸
/// (where Σ_t ≈ tQ) to B·t → ∞ (Σ_t → Σ∞). The Lyapunov form
/// Σ∞ − e^{−Bt}Σ∞e^{−Bᵀt} would lose digits at small B·t and fails for singular
/// B; the semigroup form holds for any B: singular (B = 0 gives the heat kernel
/// tQ of eq. 43), non-normal (Jordan blocks) and unstable (growing) B, where
/// the entries grow like the true law and overflow only when it does.
///
/// Shapes: B and Q are d × d, t ≥ 0 (t = 0 gives (I, 0)).
pub fn propagators(b: &DMatrix<f64>, q: &DMatrix<f64>, t: f64) -> (DMatrix<f64>, DMatrix<f64>) {
    let d = b.nrows();
    let norm_b = (0..d)
        .map(|j| b.column(j).iter().map(|v| v.abs()).sum::<f64>())
        .fold(0.0, f64::max);
    // 2ᵏ steps with ‖B‖₁h ≤ ½ (k ≤ 1100 covers every finite ‖B‖t).
    let mut k = 0i32;
    let mut h = t;
    while norm_b * h > 0.5 && k < 1100 {
        h *= 0.5;
        k += 1;
    }
    let qs = q.amax();
    let qn = if qs > 0.0 { q / qs } else { q.clone() };
    let mut m = DMatrix::zeros(2 * d, 2 * d);
    m.view_mut((0, 0), (d, d)).copy_from(&(b * h));
    m.view_mut((0, d), (d, d)).copy_from(&(&qn * h));
    m.view_mut((d, d), (d, d)).copy_from(&(-b.transpose() * h));
    let e = m.exp();
    let mut phi = e.view((d, d), (d, d)).transpose();
    let g = e.view((0, d), (d, d)).into_owned();
    let mut cov = &phi * g;
    cov = (&cov + cov.transpose()) * 0.5;
    for _ in 0..k {
        let grown = &phi * &cov * phi.transpose();
        cov += grown;
        cov = (&cov + cov.transpose()) * 0.5;
        phi = &phi * &phi;
    }
    (phi, cov * if qs > 0.0 { qs } else { 1.0 })
}

/// The exact transition of dY = −B(Y − m)dτ + θdW over a step h > 0.
pub fn transition(
    b: &DMatrix<f64>,
    m: &DVector<f64>,
    k_inv: &DMatrix<f64>,
    h: f64,
) -> Result<OuTransition> {
    if h <= 0.0 || h.is_nan() || !h.is_finite() {
        return Err(Error::setting("dt", format!("step must be > 0, got {h}")));
    }
    let (mean_map, cov) = propagators(b, k_inv, h);
    let factor = psd_factor(&cov);
    Ok(OuTransition {
        mean_map,
        centre: m.clone(),
        cov,
        factor,
    })
}

/// The lower Cholesky factor L of Σ; when Σ is only semi-definite (rounding, or
/// a singular K⁻¹), the factor of Σ + εI with ε at rounding level.
fn psd_factor(cov: &DMatrix<f64>) -> DMatrix<f64> {
    if let Some(c) = cov.clone().cholesky() {
        return c.l();
    }
    let eps = 1e-14 * cov.diagonal().amax().max(f64::MIN_POSITIVE);
    let d = cov.nrows();
    (cov + DMatrix::identity(d, d) * eps)
        .cholesky()
        .map(|c| c.l())
        .unwrap_or_else(|| DMatrix::zeros(d, d))
}

/// Solves the Lyapunov equation BΣ + ΣBᵀ = Q by the Kronecker form
/// (I⊗B + B⊗I) vec Σ = vec Q (meant for small d; cost O(d⁶)).
pub fn lyapunov(b: &DMatrix<f64>, q: &DMatrix<f64>) -> Result<DMatrix<f64>> {
    let d = b.nrows();
    let n = d * d;
    let mut a = DMatrix::zeros(n, n);
    let id = DMatrix::<f64>::identity(d, d);
    // vec is column-major: vec(BΣ) = (I⊗B)vecΣ, vec(ΣBᵀ) = (B⊗I)vecΣ.
    a += id.kronecker(b);
    a += b.kronecker(&id);
    let rhs = DVector::from_column_slice(q.as_slice());
    let x = a.lu().solve(&rhs).ok_or_else(|| {
        Error::domain(
            "B",
            "a matrix with eigenvalues λ, −λ",
            "makes the Lyapunov equation BΣ + ΣBᵀ = Q singular",
        )
    })?;
    let s = DMatrix::from_column_slice(d, d, x.as_slice());
    Ok((&s + s.transpose()) * 0.5)
}

/// The law N(m + e^{−Bτ}(y₀ − m), Σ_τ) of the linear SDE at time τ > 0 from y₀
/// (B, K⁻¹: d × d; m, y₀: d entries).
///
/// Errors: τ not finite and > 0 (a setting); a law whose entries overflow f64,
/// which only an unstable B (an eigenvalue with negative real part, so the
/// process grows like e^{|λ|τ}) can give; a Σ_τ that is not positive definite
/// (K⁻¹ singular along a direction B never mixes in).
pub fn law(
    b: &DMatrix<f64>,
    m: &DVector<f64>,
    k_inv: &DMatrix<f64>,
    y0: &[f64],
    tau: f64,
) -> Result<Gaussian> {
    if !(tau > 0.0 && tau.is_finite()) {
        return Err(Error::setting(
            "tau",
            format!("the time must be finite and > 0, got {tau}"),
        ));
    }
    let (phi, cov) = propagators(b, k_inv, tau);
    let mean = m + phi * (DVector::from_column_slice(y0) - m);
    if mean.iter().chain(cov.iter()).any(|v| !v.is_finite()) {
        return Err(Error::failed(
            format!(
                "the exact Ornstein–Uhlenbeck law at τ = {}",
                crate::error::show(tau)
            ),
            "it overflows: B has an eigenvalue with negative real part, so the \
             process grows without bound",
        ));
    }
    Gaussian::new(mean, cov)
}

#[cfg(test)]
// mpmath values pasted as printed (tests/oracles/ou_law.py).
#[allow(clippy::excessive_precision, clippy::type_complexity)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    fn example() -> (DMatrix<f64>, DMatrix<f64>) {
        let b = DMatrix::from_row_slice(2, 2, &[1.0, 0.4, -0.3, 0.7]);
        let q = DMatrix::from_row_slice(2, 2, &[1.0, 0.2, 0.2, 0.5]);
        (b, q)
    }

    #[test]
    fn van_loan_matches_lyapunov_form() {
        // Σ_h = Σ∞ − e^{−Bh}Σ∞e^{−Bᵀh} for stable B (two independent routes).
        let (b, q) = example();
        let s_inf = lyapunov(&b, &q).unwrap();
        assert_relative_eq!(&b * &s_inf + &s_inf * b.transpose(), q, epsilon = 1e-12);
        let h = 0.37;
        let (phi, cov) = propagators(&b, &q, h);
        assert_relative_eq!(phi, (-&b * h).exp(), epsilon = 1e-12);
        let want = &s_inf - &phi * &s_inf * phi.transpose();
        assert_relative_eq!(cov, want, epsilon = 1e-12);
    }

    #[test]
    fn zero_drift_is_the_heat_kernel() {
        // B = 0: Σ_τ = τK⁻¹ (eq. 43).
        let (_, q) = example();
        let (phi, cov) = propagators(&DMatrix::zeros(2, 2), &q, 2.5);
        assert_relative_eq!(phi, DMatrix::identity(2, 2), epsilon = 1e-14);
        assert_relative_eq!(cov, q * 2.5, epsilon = 1e-12);
    }

    #[test]
    fn transitions_compose() {
        // Two steps of h give one step of 2h (semigroup of the exact law).
        let (b, q) = example();
        let m = DVector::from_vec(vec![0.5, -1.0]);
        let t1 = transition(&b, &m, &q, 0.2).unwrap();
        let t2 = transition(&b, &m, &q, 0.4).unwrap();
        let cov2 = &t1.mean_map * &t1.cov * t1.mean_map.transpose() + &t1.cov;
        assert_relative_eq!(cov2, t2.cov, epsilon = 1e-12);
        assert_relative_eq!(&t1.mean_map * &t1.mean_map, t2.mean_map, epsilon = 1e-12);
    }

    /// Largest |a − b| relative to max|b| (matrices compared on their own scale).
    fn rel(a: &DMatrix<f64>, b: &DMatrix<f64>) -> f64 {
        (a - b).amax() / b.amax()
    }

    #[test]
    fn scalar_ou_variance_across_scales() {
        // Oracle: closed form Var = q(1 − e^{−2bt})/(2b) = −q·expm1(−2bt)/(2b),
        // mean map e^{−bt}, at b·t from 1e-8 to 1e4 (11 decades, 4 per decade),
        // at three time scales and two noise scales. The old Van Loan form on
        // the whole interval overflowed past b·t ≈ 350 (e^{2bt}).
        for t in [1e-3, 1.0, 1e3] {
            for q in [1.0, 1e-6] {
                for i in 0..=48 {
                    let bt = 10f64.powf(-8.0 + i as f64 / 4.0);
                    let b = bt / t;
                    let (phi, cov) = propagators(
                        &DMatrix::from_element(1, 1, b),
                        &DMatrix::from_element(1, 1, q),
                        t,
                    );
                    let want = -q * (-2.0 * bt).exp_m1() / (2.0 * b);
                    let err = (cov[(0, 0)] - want).abs() / want;
                    assert!(
                        err < 1e-14,
                        "b·t = {bt:e}, t = {t}: {} vs {want} ({err:e})",
                        cov[(0, 0)]
                    );
                    let want_phi = (-bt).exp();
                    let err = (phi[(0, 0)] - want_phi).abs() / want_phi.max(f64::MIN_POSITIVE);
                    assert!(
                        err < 1e-12 || (want_phi < 1e-300 && phi[(0, 0)] < 1e-300),
                        "b·t = {bt:e}: e^(-bt) {} vs {want_phi}",
                        phi[(0, 0)]
                    );
                }
            }
        }
    }

    #[test]
    fn scalar_ou_variance_against_mpmath() {
        // Oracle: tests/oracles/ou_law.py (mpmath, 40 digits), q = 1, t = 1;
        // b < 0 is the unstable (growing) process.
        let table = [
            (1e-8, 0.99999999000000006667),
            (1e-4, 0.99990000666633334667),
            (0.5, 0.6321205588285576784),
            (1.0, 0.43233235838169365405),
            (700.0, 0.00071428571428571428571),
            (1000.0, 0.0005),
            (1e4, 0.00005),
            (-0.5, 1.7182818284590452354),
            (-3.0, 67.071465582122520435),
        ];
        for (b, want) in table {
            let l = law(
                &DMatrix::from_element(1, 1, b),
                &DVector::zeros(1),
                &DMatrix::from_element(1, 1, 1.0),
                &[2.0],
                1.0,
            )
            .unwrap();
            let got: f64 = l.cov()[(0, 0)];
            assert!(
                (got - want).abs() / want < 1e-13,
                "b = {b}: {got} vs {want}"
            );
            assert!((l.mean()[0] - 2.0 * (-b).exp()).abs() <= 1e-13 * 2.0 * (-b).exp().max(1e-300));
        }
    }

    #[test]
    fn the_issue_case_b_1000_at_t_1() {
        // Issue #16, item 5: b = 1000, unit noise, t = 1 gave "covariance has a
        // non-finite entry". Oracle: N(2e^{−1000} ≈ 0, (1 − e^{−2000})/2000).
        let l = law(
            &DMatrix::from_element(1, 1, 1000.0),
            &DVector::zeros(1),
            &DMatrix::from_element(1, 1, 1.0),
            &[1.0],
            1.0,
        )
        .unwrap();
        assert_eq!(l.mean()[0], 0.0);
        assert!((l.cov()[(0, 0)] - 5e-4).abs() < 1e-17);
    }

    /// (B, Q, t, e^{−Bt}, Σ_t) from tests/oracles/ou_law.py (mpmath expm and
    /// tanh-sinh quadrature of ∫₀ᵗ e^{−Bs}Qe^{−Bᵀs}ds, 40 digits), row-major.
    fn mpmath_cases() -> Vec<(DMatrix<f64>, DMatrix<f64>, f64, DMatrix<f64>, DMatrix<f64>)> {
        let m2 = |v: &[f64]| DMatrix::from_row_slice(2, 2, v);
        let m3 = |v: &[f64]| DMatrix::from_row_slice(3, 3, v);
        vec![
            // A zero eigenvalue: B = [[1, 1], [1, 1]] (eigenvalues 0 and 2).
            (
                m2(&[1.0, 1.0, 1.0, 1.0]),
                m2(&[1.0, 0.3, 0.3, 0.5]),
                2.5,
                m2(&[
                    0.50336897349954273355,
                    -0.49663102650045726645,
                    -0.49663102650045726645,
                    0.50336897349954273355,
                ]),
                m2(&[
                    0.81790179788433300297,
                    -0.4312559587407813414,
                    -0.4312559587407813414,
                    0.56958628463410436974,
                ]),
            ),
            // Non-normal: a Jordan block.
            (
                m2(&[2.0, 5.0, 0.0, 2.0]),
                m2(&[0.7, 0.1, 0.1, 1.2]),
                1.3,
                m2(&[
                    0.074273578214333873831,
                    -0.4827782583931701964,
                    0.0,
                    0.074273578214333873831,
                ]),
                m2(&[
                    0.94918478521059685102,
                    -0.33731190183225021054,
                    -0.33731190183225021054,
                    0.29834503067377175753,
                ]),
            ),
            // A stiff Jordan block, B·t = 2000 (e^{−Bt} underflows to 0).
            (
                m2(&[50.0, 200.0, 0.0, 50.0]),
                m2(&[0.7, 0.1, 0.1, 1.2]),
                40.0,
                m2(&[0.0, 0.0, 0.0, 0.0]),
                m2(&[
                    0.098999999999999995781,
                    -0.022999999999999999056,
                    -0.022999999999999999056,
                    0.011999999999999999556,
                ]),
            ),
            // Nilpotent 3 × 3 Jordan block (every eigenvalue 0).
            (
                m3(&[0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]),
                DMatrix::identity(3, 3),
                2.0,
                m3(&[1.0, -2.0, 2.0, 0.0, 1.0, -2.0, 0.0, 0.0, 1.0]),
                m3(&[
                    6.2666666666666666667,
                    -4.0,
                    1.3333333333333333333,
                    -4.0,
                    4.6666666666666666667,
                    -2.0,
                    1.3333333333333333333,
                    -2.0,
                    2.0,
                ]),
            ),
            // Unstable (growing): eigenvalues of B negative.
            (
                m2(&[-0.8, 0.4, 0.1, -0.3]),
                m2(&[1.0, 0.2, 0.2, 0.6]),
                3.0,
                m2(&[
                    12.333079101198896193,
                    -7.2543611451477485959,
                    -1.813590286286937149,
                    3.2651276697642099446,
                ]),
                m2(&[
                    85.025289382620565884,
                    -13.565483182581591036,
                    -13.565483182581591036,
                    6.6733446329425041259,
                ]),
            ),
        ]
    }

    #[test]
    fn singular_non_normal_and_unstable_b_against_mpmath() {
        for (k, (b, q, t, phi_want, cov_want)) in mpmath_cases().into_iter().enumerate() {
            let (phi, cov) = propagators(&b, &q, t);
            let e = rel(&cov, &cov_want);
            assert!(e < 1e-14, "case {k}: Σ_t off by {e:e}\n{cov}{cov_want}");
            let e = (&phi - &phi_want).amax() / phi_want.amax().max(1e-300);
            assert!(
                e < 1e-13 || phi_want.amax() == 0.0 && phi.amax() < 1e-300,
                "case {k}: e^(-Bt) off by {e:e}"
            );
        }
    }

    #[test]
    fn a_wrong_law_fails_the_mpmath_check() {
        // The checks above can fail: the transposed Van Loan product GᵀF (the
        // law of dY = −BᵀY dt + θdW), or a missing doubling, is caught at the
        // same tolerance on the non-normal case.
        let (b, q, t, _, cov_want) = mpmath_cases().swap_remove(1);
        let (_, wrong) = propagators(&b.transpose(), &q, t);
        assert!(rel(&wrong, &cov_want) > 1e-3);
        let (_, half) = propagators(&b, &q, t / 2.0);
        assert!(rel(&half, &cov_want) > 1e-3);
        let want: f64 = -(-2.0f64).exp_m1() / 2.0;
        let (_, c) = propagators(
            &DMatrix::from_element(1, 1, 1.0),
            &DMatrix::from_element(1, 1, 1.0),
            1.0 + 1e-12,
        );
        assert!(
            (c[(0, 0)] - want).abs() / want > 1e-13,
            "a 1e-12 change of t is visible"
        );
    }

    #[test]
    fn zero_drift_is_the_heat_kernel_at_every_time_scale() {
        // B = 0: Σ_t = tQ exactly (eq. 43), from t = 1e-10 to 1e10.
        let (_, q) = example();
        for t in [1e-10, 1e-3, 1.0, 1e3, 1e10] {
            let (phi, cov) = propagators(&DMatrix::zeros(2, 2), &q, t);
            assert_eq!(phi, DMatrix::identity(2, 2));
            assert!(rel(&cov, &(&q * t)) < 1e-15, "t = {t}");
        }
    }

    #[test]
    fn unstable_law_that_overflows_is_an_error() {
        let e = law(
            &DMatrix::from_element(1, 1, -1.0),
            &DVector::zeros(1),
            &DMatrix::from_element(1, 1, 1.0),
            &[1.0],
            1000.0,
        )
        .unwrap_err();
        assert!(e.to_string().contains("overflows"), "{e}");
        assert!(
            law(
                &DMatrix::zeros(1, 1),
                &DVector::zeros(1),
                &DMatrix::identity(1, 1),
                &[0.0],
                0.0
            )
            .is_err()
        );
    }
}
