//! The diffusion of `diffusion.type = "fisher"`: K⁻¹ = J I⁺ Jᵀ (eq. 44)
//! through the one implementation, `bayes::backward::pushforward`, as the SDE
//! runner builds it.

use bayesrg::core::bayes::backward;
use bayesrg::core::fisher;
use bayesrg::core::sde::runner::k_inverse;
use bayesrg::core::sde::{DiffusionSpec, SdeSpec};
use nalgebra::DMatrix;

fn spec(a: &str, cov: &str, y0: &str) -> SdeSpec {
    bayesrg::ensure_linked();
    let text = format!(
        "paths = 10\ndt = 0.1\nsave_at = [1.0]\ny0 = {y0}\n[drift]\ntype = \"zero\"\n\
         [diffusion]\ntype = \"fisher\"\ntheta = [1.0, -0.5]\npush_forward = true\n\
         model = {{ type = \"linear_gaussian\", a = {a}, noise_cov = {cov} }}\n"
    );
    bayesrg_cli::config::parse_toml(&text, "test").unwrap()
}

#[test]
fn pushforward_of_a_square_linear_model_is_its_noise_covariance() {
    // y = Aθ + N(0, Σ), A invertible: I = AᵀΣ⁻¹A, so J I⁻¹ Jᵀ = Σ (eq. 44).
    let s = spec(
        "[[1.0, 0.5], [0.0, 1.0]]",
        "[[0.5, 0.1], [0.1, 0.4]]",
        "[0.0, 0.0]",
    );
    s.validate().unwrap();
    let k_inv = k_inverse(&s).unwrap().unwrap();
    let sigma = DMatrix::from_row_slice(2, 2, &[0.5, 0.1, 0.1, 0.4]);
    assert!((k_inv - sigma).amax() < 1e-12);
}

#[test]
fn singular_fisher_pushforward_is_well_defined_and_refused_as_a_diffusion() {
    // A = [[1, 2], [2, 4]], Σ = 1 (rank-1 Fisher): J I⁺ Jᵀ is the projector
    // onto range A, [[0.2, 0.4], [0.4, 0.8]] (closed form uuᵀ/(uᵀu), u = (1, 2)).
    let s = spec(
        "[[1.0, 2.0], [2.0, 4.0]]",
        "[[1.0, 0.0], [0.0, 1.0]]",
        "[0.0, 0.0]",
    );
    let DiffusionSpec::Fisher(f) = &s.diffusion else {
        unreachable!()
    };
    let i = fisher::best(f.model.as_ref(), &f.theta, 1000, 1).unwrap();
    let j = f.model.forward_jacobian(&f.theta).unwrap();
    let pf = backward::pushforward(&j, &i).unwrap();
    let want = DMatrix::from_row_slice(2, 2, &[0.2, 0.4, 0.4, 0.8]);
    assert!((pf.k_inv - want).amax() < 1e-14);
    assert_eq!(pf.fisher_rank, 1);
    let e = k_inverse(&s).unwrap_err();
    assert!(e.is_bad_input());
    let msg = e.to_string();
    assert!(
        msg.contains("rank 1 < 2") && msg.contains("degenerate"),
        "{msg}"
    );
}

#[test]
fn rank_deficient_pushforward_is_refused_with_its_rank() {
    // Three observations, two parameters: K⁻¹ = J I⁻¹ Jᵀ has rank 2.
    let s = spec(
        "[[1.0, 0.0], [1.0, 1.0], [0.5, -1.0]]",
        "[[0.5, 0.0, 0.0], [0.0, 0.4, 0.0], [0.0, 0.0, 0.3]]",
        "[0.0, 0.0, 0.0]",
    );
    s.validate().unwrap();
    let e = k_inverse(&s).unwrap_err();
    assert!(e.to_string().contains("rank 2 < 3"), "{e}");
    // y0 of the wrong length for the map's 3 outputs is refused by validate.
    let s = spec(
        "[[1.0, 0.0], [1.0, 1.0], [0.5, -1.0]]",
        "[[0.5, 0.0, 0.0], [0.0, 0.4, 0.0], [0.0, 0.0, 0.3]]",
        "[0.0, 0.0]",
    );
    assert!(s.validate().unwrap_err().to_string().contains("`y0`"));
}
