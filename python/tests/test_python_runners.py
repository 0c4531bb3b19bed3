"""A model written in Python diffused and flowed by the same runners as a
built-in one (issue 14): dynamical Bayes (eqs. 32–36) and the DB-RG flow
(eqs. 38–45) through `run_with_model` of the Rust runners.

`PyNormal` does the built-in `normal` model's arithmetic operation for
operation (IEEE +, −, ×, ÷ give the same bits in NumPy and Rust; ln of the
scalar σ is `math.log`, the C library's `log`, as Rust's `f64::ln` is), so
every number that depends only on log_likelihood, check_params, fisher and kl
must be the same double. Its draws do not match the built-in's (NumPy's
generator, not rand_distr's), so nothing drawn from the *model* is compared
bit for bit: the dynamical-Bayes runs below have no simulated data
(n_data = 0; the particles are drawn from the prior, not the model), and the
flow draws θ from π_τ, not y from the model. What is drawn from the model
(the Monte Carlo K(θ) of a model without a closed-form KL) is compared within
its Monte Carlo standard error instead.
"""
import math

import numpy as np
import pytest

import bayesrg

LN_2PI = 1.837_877_066_409_345_5  # the library's constant (core/src/gaussian.rs)


class PyNormal:
    """N(μ, σ²): the built-in `normal`'s arithmetic (models/src/normal.rs)."""

    param_names = ["mu", "sigma"]
    obs_dim = 1

    def check_params(self, theta):
        if not theta[1] > 0:
            raise ValueError(f"sigma = {theta[1]} must be > 0")

    def log_likelihood(self, theta, y):
        mu, s = float(theta[0]), float(theta[1])
        z = (y[:, 0] - mu) / s
        return -0.5 * (LN_2PI + z * z) - math.log(s)

    def sample(self, theta, n, rng):
        return theta[0] + theta[1] * rng.standard_normal(n)

    def fisher(self, theta):
        s2 = theta[1] * theta[1]
        return np.diag([1.0 / s2, 2.0 / s2])

    def kl(self, a, b):
        # Normal::kl of models/src/normal.rs: x = ((σ₁ − σ₂)/σ₂)((σ₁ + σ₂)/σ₂),
        # z = (μ₁ − μ₂)/σ₂, −½ log1pmx(x) + ½ z². Along a free μ (σ held at σ*)
        # x = 0 and log1pmx(0) = 0 exactly, so this is the library's double.
        s1, s2 = a[1], b[1]
        x = ((s1 - s2) / s2) * ((s1 + s2) / s2)
        log1pmx = math.log1p(x) - x
        z = (a[0] - b[0]) / s2
        return -0.5 * log1pmx + 0.5 * (z * z)


class PyNormalNoKl(PyNormal):
    """The same model without a closed-form KL: K(θ) is Monte Carlo."""

    kl = None  # not callable: the wrapper sees no `kl`


SPEC = {
    "theta_star": [0.5, 1.5],
    "free": ["mu"],
    "t": [0.0, 1.0, 10.0, 100.0],
    "particles": 500,
    "seed": 4,
    "prior": [{"dist": "normal", "mean": 0.0, "sd": 2.0}],
    "grid": [{"lo": -14.0, "hi": 14.0, "n": 800}],
}

SAME = ["t", "mean", "cov", "mean_34", "var_34", "var_35", "map", "particle_mean",
        "particle_var", "e_k", "var_k", "de_k_dt", "ln_z", "ln_z_34", "particle_ess",
        "map_fisher_speed"]


def bits(a):
    return np.asarray(a, dtype=np.float64).view(np.uint64)


def test_bayes_python_normal_equals_the_builtin_bit_for_bit():
    py = bayesrg.bayes(dict(SPEC, model=PyNormal()))
    rs = bayesrg.bayes(dict(SPEC, model={"type": "normal"}))
    assert py.data["model"] == "python/PyNormal"
    for k in SAME:
        a, b = py.record(k), rs.record(k)
        assert np.array_equal(np.isnan(a), np.isnan(b)), k
        assert np.array_equal(bits(np.nan_to_num(a)), bits(np.nan_to_num(b))), k
    assert np.array_equal(bits(py.fisher), bits(rs.fisher))
    # The built-in has the conjugate oracle (a Python model does not offer one).
    assert rs.data["oracle"] is not None and py.data["oracle"] is None
    assert py.passed, py.checks_frame()


def test_bayes_python_model_without_kl_within_monte_carlo_error():
    """K(μ) estimated from n draws y ~ N(μ*, σ²) is, for the normal mean,
    [(μ − ȳ)² − (μ* − ȳ)²]/(2σ²): the exact K with its centre moved from μ* to
    the sample mean ȳ. So the posterior mean at T moves by
    T(ȳ − μ*)/(σ²·prec), prec = 1/s0² + T/σ², with ȳ − μ* of sd σ/√n; the
    variance does not move."""
    n = 4000
    spec = dict(SPEC, model=PyNormalNoKl(), kl_samples=n)
    py = bayesrg.bayes(spec)
    rs = bayesrg.bayes(dict(SPEC, model={"type": "normal"}))
    sigma, s0 = 1.5, 2.0
    t = py.t
    prec = 1 / s0**2 + t / sigma**2
    se = (t / sigma**2) / prec * sigma / math.sqrt(n)
    dev = np.abs(py.record("mean")[:, 0] - rs.record("mean")[:, 0])
    assert np.all(dev <= 5 * se + 1e-12), (dev, se)
    # The variance does not depend on ȳ: the same to the grid's rounding.
    np.testing.assert_allclose(py.record("cov"), rs.record("cov"), rtol=1e-9)


FLOW = {
    "mu": [0.0, 1.0],
    "tau": [0.001, 0.01, 0.03],
    "samples": 300,
    "seed": 9,
    "y_grid": {"lo": -8.0, "hi": 8.0, "n": 200},
}


def test_flow_python_normal_equals_the_builtin_bit_for_bit():
    py = bayesrg.flow(dict(FLOW, model=PyNormal()))
    rs = bayesrg.flow(dict(FLOW, model="normal"))
    assert np.array_equal(bits(py.predictive), bits(rs.predictive))
    assert np.array_equal(bits(py.p0), bits(rs.p0))
    for k in ("kl", "entropy", "n_eff", "widths", "fisher_eigenvalues", "rejected_fraction"):
        assert np.array_equal(bits(py.row(k)), bits(rs.row(k))), k


def test_a_wrong_python_model_is_caught():
    """The comparison can fail: a model whose log-likelihood is off by a
    constant (an unnormalised density) gives another predictive."""

    class Off(PyNormal):
        def log_likelihood(self, theta, y):
            return super().log_likelihood(theta, y) + 1e-9

    py = bayesrg.flow(dict(FLOW, model=Off()))
    rs = bayesrg.flow(dict(FLOW, model="normal"))
    assert not np.array_equal(bits(py.predictive), bits(rs.predictive))


def test_an_exception_in_the_python_model_comes_back_during_a_flow():
    class Broken(PyNormal):
        def log_likelihood(self, theta, y):
            raise ZeroDivisionError("broken on purpose")

    with pytest.raises(ZeroDivisionError, match="broken on purpose"):
        bayesrg.flow(dict(FLOW, model=Broken()))


def test_a_model_with_minus_inf_inside_its_support_is_named_not_the_grid():
    # Tryout 5 D7: -inf on every 7th row was reported as a y_grid too narrow.
    class Holes(PyNormal):
        def log_likelihood(self, theta, y):
            v = np.array(super().log_likelihood(theta, y), dtype=float)
            v[::7] = -np.inf
            return v

    with pytest.raises(bayesrg.InputError) as info:
        bayesrg.flow(dict(FLOW, model=Holes()))
    msg = str(info.value)
    assert msg.startswith("`model` = python/Holes has log_likelihood = -inf"), msg
    assert "rows 7, 14, 21, 28, 35, …" in msg and "not the grid" in msg, msg
    # The grid message stays for a grid that is too narrow (the other case).
    with pytest.raises(bayesrg.InputError, match="y_grid.*widen y_grid"):
        bayesrg.flow(dict(FLOW, model=PyNormal(), y_grid={"lo": -1.0, "hi": 1.0, "n": 200}))


def test_a_model_instance_runs_only_through_bayes_and_flow():
    with pytest.raises(bayesrg.InputError, match="sde"):
        bayesrg.run("sde", dict(FLOW, model=PyNormal()))
