"""Models written in Python, validated by the same Rust machinery.

Oracle of the von Mises tests: I(mu, kappa) = diag(kappa A, 1 - A/kappa - A^2),
A = I1/I0, from tests/oracles/von_mises_fisher.py (mpmath, 50 digits).
"""
import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import bayesrg
from normal_models import NormalNoScore

# (kappa, A(kappa), I_mu_mu, I_kappa_kappa) printed by tests/oracles/von_mises_fisher.py
VON_MISES = [
    (0.01, 0.0049999375010416488, 4.9999375010416488e-5, 0.4999812505208208),
    (0.1, 0.049937603987938919, 0.0049937603987938919, 0.49813019582855459),
    (1, 0.44638996589653451, 0.44638996589653451, 0.35434603245035625),
    (10, 0.94859982595484596, 9.4859982595484596, 0.005298387602951359),
    (100, 0.99498737300516877, 99.498737300516877, 5.0253830221470357e-5),
    (1000, 0.99949987487480428, 999.49987487480428, 5.0025037578328756e-7),
]


def bessel_ratio(kappa):
    """A(kappa) = I1/I0 by Gauss's continued fraction, evaluated backwards."""
    r = 0.0
    for j in range(int(kappa) + 80, 0, -1):
        r = 1.0 / (2.0 * j / kappa + r)
    return r


def log_i0(kappa):
    if kappa < 500:
        return math.log(np.i0(kappa))
    x = 8.0 * kappa  # asymptotic series of I0, error below 1e-12 here
    return kappa - 0.5 * math.log(2 * math.pi * kappa) + math.log1p(1 / x + 9 / (2 * x * x) + 225 / (6 * x**3))


class VonMises:
    """A user's von Mises model: vectorised log-likelihood, score and sampler."""

    param_names = ["mu", "kappa"]
    obs_dim = 1

    def check_params(self, theta):
        if not theta[1] > 0:
            raise ValueError(f"kappa = {theta[1]} must be > 0")

    def log_likelihood(self, theta, y):
        mu, kappa = theta
        return kappa * np.cos(y[:, 0] - mu) - math.log(2 * math.pi) - log_i0(kappa)

    def score(self, theta, y):
        mu, kappa = theta
        d = y[:, 0] - mu
        return np.stack([kappa * np.sin(d), np.cos(d) - bessel_ratio(kappa)], axis=1)

    def sample(self, theta, n, rng):
        return rng.vonmises(theta[0], theta[1], size=n)


class VonMisesClaimed(VonMises):
    """The same model with a closed-form Fisher (right or deliberately wrong)."""

    def __init__(self, factor=1.0):
        self.factor = factor

    def fisher(self, theta):
        k = theta[1]
        a = bessel_ratio(k)
        return np.diag([k * a, self.factor * (1 - a / k - a * a)])


def test_bessel_ratio_matches_the_oracle():
    # The user's helper itself, against mpmath (so the model below is right).
    for kappa, a, _, _ in VON_MISES:
        assert math.isclose(bessel_ratio(kappa), a, rel_tol=1e-13)


@pytest.mark.parametrize("kappa,a,i_mu,i_kappa", VON_MISES)
def test_von_mises_fisher_estimators_against_closed_form(kappa, a, i_mu, i_kappa):
    theta = [0.7, kappa]
    oracle = np.diag([i_mu, i_kappa])
    scale = np.sqrt(np.outer(np.diag(oracle), np.diag(oracle)))
    for method in ["score_outer", "neg_hessian"]:
        e = bayesrg.fisher(VonMises(), theta, method=method, samples=50_000, seed=4)
        # Allowance: 5 standard errors, plus 1e-6 of the entry's scale for the
        # central differences of the score inside neg_hessian.
        tol = 5 * e.std_err + 1e-6 * scale
        assert np.all(np.abs(e.matrix - oracle) <= tol), (method, e.matrix, oracle, e.std_err)


@pytest.mark.parametrize("kappa", [0.01, 1.0, 100.0])
def test_von_mises_validator_passes_right_and_fails_wrong_closed_form(kappa):
    ok = bayesrg.validate(VonMisesClaimed(), [0.3, kappa], samples=50_000, seed=2)
    assert ok.passed, ok.reasons
    assert ok.reference == "closed_form"
    assert ok.report["model"] == "python/VonMisesClaimed"
    wrong = bayesrg.validate(VonMisesClaimed(factor=1.05), [0.3, kappa], samples=50_000, seed=2)
    assert not wrong.passed


def test_python_model_without_score_uses_differences():
    for s in [1e-2, 1.0, 1e2]:
        e = bayesrg.fisher(NormalNoScore(column=True), [1.0, s], method="score_outer", samples=40_000, seed=6)
        oracle = np.diag([1 / s**2, 2 / s**2])
        assert np.all(np.abs(e.matrix - oracle) <= 5 * e.std_err + 1e-5 * np.diag(oracle).max())


def test_python_model_seed_fixes_bits():
    a = bayesrg.fisher(VonMises(), [0.1, 2.0], samples=5000, seed=9)
    b = bayesrg.fisher(VonMises(), [0.1, 2.0], samples=5000, seed=9)
    assert np.array_equal(a.matrix, b.matrix) and np.array_equal(a.std_err, b.std_err)


def test_python_model_bits_do_not_depend_on_threads(tmp_path):
    # The batch cache must not make results depend on which thread ran a chunk.
    here = os.path.dirname(__file__)
    prog = textwrap.dedent(
        f"""
        import sys, json
        sys.path.insert(0, {here!r})
        import bayesrg
        from test_python_models import VonMisesClaimed
        r = bayesrg.validate(VonMisesClaimed(), [0.2, 3.0], samples=9000, seed=5)
        print(json.dumps(r.to_dict()))
        """
    )
    outs = []
    for threads in ["1", "3"]:
        env = dict(os.environ, RAYON_NUM_THREADS=threads)
        r = subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True, env=env)
        assert r.returncode == 0, r.stderr
        outs.append(r.stdout)
    assert outs[0] == outs[1]


class Boom(VonMises):
    def __init__(self, after):
        self.calls = 0
        self.after = after

    def score(self, theta, y):
        self.calls += 1
        if self.calls > self.after:
            raise ZeroDivisionError("boom in the user's score")
        return super().score(theta, y)


@pytest.mark.parametrize("after", [0, 3])
def test_exception_in_user_code_surfaces_with_traceback(after):
    with pytest.raises(ZeroDivisionError, match="boom in the user's score") as info:
        bayesrg.validate(Boom(after), [0.0, 1.0], samples=20_000, seed=1)
    # The traceback reaches into the user's method.
    assert any(entry.name == "score" for entry in info.traceback)
    # The interpreter is unharmed: the next call works.
    assert bayesrg.fisher(VonMises(), [0.0, 1.0], samples=2000, seed=1).matrix.shape == (2, 2)


def test_wrong_shape_and_missing_methods_are_clear_errors():
    class BadShape(VonMises):
        def score(self, theta, y):
            return np.zeros(len(y))

    with pytest.raises(ValueError, match=r"BadShape.score` returned .*expected shape \(1024, 2\)"):
        bayesrg.fisher(BadShape(), [0.0, 1.0], samples=4000, seed=1)

    # What was returned, in Python's words (tryout 5 D9: "returned
    # ValueError: an array of shape [1999]").
    class Short(VonMises):
        def score(self, theta, y):
            return np.zeros((len(y) - 1, 2))

    with pytest.raises(ValueError) as info:
        bayesrg.fisher(Short(), [0.0, 1.0], samples=4000, seed=1)
    assert str(info.value) == "`Short.score` returned an array of shape (1023, 2); expected shape (1024, 2)"

    class Text(VonMises):
        def score(self, theta, y):
            return "oops"

    with pytest.raises(ValueError, match=r"^`Text.score` returned a value of type str that NumPy cannot read"):
        bayesrg.fisher(Text(), [0.0, 1.0], samples=4000, seed=1)

    class NoSample:
        param_names = ["a"]
        obs_dim = 1

        def log_likelihood(self, theta, y):
            return np.zeros(len(y))

    with pytest.raises(TypeError, match="sample"):
        bayesrg.fisher(NoSample(), [0.0])


def test_check_params_rejection_is_input_error():
    with pytest.raises(bayesrg.InputError, match="kappa = -1.0 must be > 0"):
        bayesrg.fisher(VonMises(), [0.0, -1.0], samples=100)


def test_kl_of_python_model_monte_carlo_against_built_in_normal():
    # The Python model's Monte Carlo KL vs the built-in closed form.
    r = bayesrg.kl(NormalNoScore(), [0.0, 1.0], [0.5, 1.5], samples=50_000, seed=3)
    exact = bayesrg.kl("normal", [0.0, 1.0], [0.5, 1.5])["closed_form"]
    mc = r["monte_carlo"]
    assert r["closed_form"] is None
    assert abs(mc["value"] - exact) < 5 * mc["std_err"]
