"""bayesrg: information geometry and Bayesian renormalization from Python.

A NumPy-native face of the Rust library ``bayesrg`` (the paper *Bayesian
renormalization*; equation numbers below are the paper's). Every number is
computed by the Rust library itself, so a seed gives the same bits here, in
Rust and on the command line (``bayesrg fisher --json``).

Conventions
-----------
- ``theta``: the point θ, a sequence of ``d`` floats (``model.param_names``).
- ``y``: observations, a float64 array of shape ``(n, k)`` with
  ``k = model.obs_dim`` (a 1-D array of length n is read as ``(n, 1)``).
- The Fisher metric I(θ) is **per observation** (eq. 29); its units are
  1/(units of θᵢ · units of θⱼ).
- ``samples``: Monte Carlo draws per estimator; ``seed``: a 64-bit integer.
  Chunk c of 1024 draws uses stream c of the seed, whatever the number of
  threads, so a seed fixes every result bit for bit.

Runners
-------
:func:`run` (``bayes``, ``flow``, ``sde``, ``prune``) takes a command's config
as a dict and returns its result with NumPy arrays and pandas tables; a model
written in Python runs through :func:`bayes` and :func:`flow` like a built-in
one (``bayesrg.runners``).

Errors
------
- :class:`InputError` (a ``ValueError``): bad input — θ outside the parameter
  space or of the wrong length, too few samples, an unknown model type.
- :class:`ComputationError` (a ``RuntimeError``): a computation that failed —
  a solver that did not converge, a NaN that arose.
- An exception raised inside a model written in Python is re-raised as it was,
  with its traceback.

The GIL is released while Rust computes; a model written in Python takes it
back for each (batched) call into its methods. Ctrl-C (SIGINT, Jupyter's
interrupt) stops a long call with ``KeyboardInterrupt`` within one Monte Carlo
chunk (docs/python.md).
"""

from __future__ import annotations

import json
import operator
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _bayesrg
from ._bayesrg import ComputationError, InputError, Model

# The runners' names (bayesrg.runners.__all__: run, bayes, flow, sde, prune
# and their result classes) are added below, where they are imported.
__all__ = [
    "sweep",
    "SweepResult",
    "Model",
    "PythonModel",
    "InputError",
    "ComputationError",
    "model",
    "as_model",
    "model_types",
    "fisher",
    "FisherEstimate",
    "validate",
    "ValidationReport",
    "kl",
    "distance",
    "geodesic",
    "curvature",
    "spectrum",
    "DEFAULT_SAMPLES",
    "DEFAULT_SEED",
]

#: Monte Carlo samples per estimator of the validator (as ``bayesrg fisher``).
DEFAULT_SAMPLES: int = _bayesrg.DEFAULT_SAMPLES
#: The default seed (as ``bayesrg fisher``).
DEFAULT_SEED: int = _bayesrg.DEFAULT_SEED

ModelLike = Union[Model, Dict[str, Any], str, Any]


def model_types() -> List[str]:
    """The type tags of every built-in model (``normal``, ``gamma``, …)."""
    return list(_bayesrg.model_types())


def model(type: str, **params: Any) -> Model:
    """A built-in model by its type tag and its fields.

    >>> m = model("normal")
    >>> m.param_names
    ['mu', 'sigma']

    Raises :class:`InputError` for an unknown type or an unknown/missing field
    (the message lists the known types). The fields are those of the model's
    config table (``docs/models.md``).
    """
    return Model.from_json(json.dumps({"type": type, **params}))


def as_model(m: ModelLike) -> Model:
    """``m`` as a :class:`Model`: a Model is returned as it is, a dict is a
    built-in model's description (``{"type": "normal"}``), a string a type tag
    without fields, and any other object is wrapped as a model written in
    Python (see :class:`PythonModel`; ``TypeError`` when it lacks the protocol).
    """
    if isinstance(m, Model):
        return m
    if isinstance(m, dict):
        return Model.from_json(json.dumps(m))
    if isinstance(m, str):
        return model(m)
    return Model.from_python(m)


def _theta(theta: Sequence[float]) -> List[float]:
    a = np.asarray(theta, dtype=np.float64)
    if a.ndim != 1:
        raise InputError(f"theta must be a 1-D sequence of floats, got shape {a.shape}")
    return a.tolist()


def _uint(name: str, v: Any) -> int:
    """An integer argument (``samples``, ``seed``) as a Python int in
    [0, 2**64); :class:`InputError` naming it otherwise. An integral float
    (``1e6``) is taken as its integer."""
    try:
        i = operator.index(v)
    except TypeError:
        if isinstance(v, (float, np.floating)) and float(v).is_integer():
            i = int(v)
        else:
            raise InputError(f"`{name}` = {v!r} must be an integer") from None
    if i < 0:
        raise InputError(f"`{name}` = {i} must be >= 0")
    if i >= 2**64:
        raise InputError(f"`{name}` = {i} must be < 2**64")
    return i


def _fisher_arg(samples: Any, seed: Any) -> Tuple[int, int]:
    """How the geometry functions compute the Fisher metric: ``(samples, seed)``."""
    return _uint("samples", samples), _uint("seed", seed)


def _obs(y: Any) -> np.ndarray:
    a = np.ascontiguousarray(y, dtype=np.float64)
    if a.ndim == 1:
        a = a.reshape(-1, 1)
    if a.ndim != 2:
        raise InputError(f"observations must have shape (n, k), got shape {a.shape}")
    return a


def _arr(x: Any) -> Optional[np.ndarray]:
    """JSON rows → float array (``null``, i.e. NaN/∞ in Rust, → NaN)."""
    if x is None:
        return None
    return np.array(x, dtype=np.float64)


class PythonModel:
    """The protocol of a model written in Python (subclassing is optional).

    Required
    --------
    param_names : list of str
        Names of θ₁…θ_d.
    obs_dim : int
        k, the number of values in one observation.
    log_likelihood(theta, y) -> ndarray (n,)
        ln p(yᵢ | θ) for each row of ``y`` (shape (n, k)); ``-inf`` outside
        the support. Vectorised over the rows: it is called once per batch of
        1024 draws.
    sample(theta, n, rng) -> ndarray (n, k) (or (n,) when k = 1)
        n draws from p(· | θ) using ``rng``, a ``numpy.random.Generator``
        seeded from the library's stream (use only it, so a seed fixes the bits).

    Optional
    --------
    score(theta, y) -> ndarray (n, d)
        ∂ ln p(yᵢ | θ)/∂θ (eq. 28). Without it the score is a central difference
        of ``log_likelihood`` (steps in Fisher units).
    hessian(theta, y) -> ndarray (n, d, d)
        ∇²_θ ln p(yᵢ | θ).
    fisher(theta) -> ndarray (d, d)
        A closed-form Fisher metric; the validator then tests it.
    kl(theta, theta2) -> float
        A closed-form KL(θ ‖ θ′) (eq. 30); enables the quadratic-expansion check (eq. 31).
    check_params(theta) -> None
        Raise (any exception) when θ is outside the parameter space; its
        message becomes the :class:`InputError`'s.

    Anything these methods raise comes back to the caller of
    :func:`validate` / :func:`fisher` / … as the same exception.
    """

    param_names: Sequence[str] = ()
    obs_dim: int = 1

    def log_likelihood(self, theta: np.ndarray, y: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def sample(self, theta: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError


@dataclass(frozen=True)
class FisherEstimate:
    """One estimate of the Fisher metric I(θ) (eq. 29).

    Attributes
    ----------
    method : str
        ``closed_form``, ``score_outer`` (E[ℓℓᵀ]), ``neg_hessian`` (−E[∇² ln p]),
        ``kl_hessian`` (eq. 31), ``jacobian`` (JᵀΣ⁻¹J, eqs. 40–42) or ``empirical``.
    matrix : ndarray (d, d)
        The symmetric estimate.
    std_err : ndarray (d, d) or None
        Per-entry Monte Carlo standard errors.
    samples : int or None
        Draws used (Monte Carlo and empirical estimators).
    biased : bool
        True for the empirical Fisher.
    enumerated : dict or None
        ``{"points", "tail_mass"}`` when the expectation was an exact sum over
        the model's support (then no standard error).
    effective_samples : ndarray (d, d) or None
        Kish's effective sample size of each entry's terms.
    """

    method: str
    matrix: np.ndarray
    std_err: Optional[np.ndarray]
    samples: Optional[int]
    biased: bool
    enumerated: Optional[Dict[str, Any]]
    effective_samples: Optional[np.ndarray]


def fisher(
    m: ModelLike,
    theta: Sequence[float],
    method: str = "score_outer",
    samples: int = DEFAULT_SAMPLES,
    seed: int = DEFAULT_SEED,
    data: Any = None,
) -> FisherEstimate:
    """The Fisher metric I(θ) by one estimator (eq. 29).

    ``method``: ``closed_form``, ``score_outer``, ``neg_hessian``,
    ``kl_hessian``, ``jacobian`` or ``empirical`` (needs ``data``, shape (n, k)).
    ``score_outer`` and ``neg_hessian`` are exact sums for discrete families
    that enumerate their support, otherwise Monte Carlo with ``samples`` draws
    of ``seed`` (the same bits as ``bayesrg_core::fisher`` for that seed).

    Raises :class:`InputError` (θ outside the space, fewer than 2 samples, an
    unknown method, a capability the model lacks).
    """
    mm = as_model(m)
    d = None if data is None else _obs(data)
    r = json.loads(_bayesrg.fisher_estimate(mm, _theta(theta), method, _uint("samples", samples), _uint("seed", seed), d))
    return FisherEstimate(
        method=r["method"],
        matrix=_arr(r["matrix"]),
        std_err=_arr(r["std_err"]),
        samples=r["samples"],
        biased=r["biased"],
        enumerated=r["enumerated"],
        effective_samples=_arr(r["effective_samples"]),
    )


@dataclass
class ValidationReport:
    """What the Fisher validator found (``bayesrg fisher``; docs/fisher.md).

    ``report`` is the full JSON document (the same as ``bayesrg fisher --json``
    prints for the same model, θ, samples and seed); the attributes below are
    views of it.
    """

    report: Dict[str, Any] = field(repr=False)

    @property
    def passed(self) -> bool:
        """True when every check passed."""
        return bool(self.report["verdict"]["pass"])

    @property
    def inconclusive(self) -> bool:
        """True when only Monte Carlo checks that could not be resolved failed."""
        return bool(self.report["verdict"]["inconclusive"])

    @property
    def reasons(self) -> List[str]:
        """The failed checks, or one line saying all passed."""
        return list(self.report["verdict"]["reasons"])

    @property
    def checks(self) -> List[Dict[str, Any]]:
        """Every check: ``name``, ``value``, ``threshold``, ``relation``
        (``<=``/``>=``), ``oracle``, ``pass`` and ``note``."""
        return list(self.report["checks"])

    @property
    def reference(self) -> Optional[str]:
        """The matrix the others were compared with (``closed_form``, …) or None."""
        return self.report["reference"]

    def estimate(self, method: str) -> FisherEstimate:
        """The estimator ``method``'s matrix and standard errors in this run."""
        for e in self.report["estimators"]:
            if e["method"] == method:
                return FisherEstimate(
                    method=e["method"],
                    matrix=_arr(e["matrix"]),
                    std_err=_arr(e["std_err"]),
                    samples=e["samples"],
                    biased=False,
                    enumerated=e["enumerated"],
                    effective_samples=None,
                )
        ran = [e["method"] for e in self.report["estimators"]]
        raise KeyError(f"estimator {method!r} did not run; ran: {ran}")

    def checks_frame(self) -> "Any":
        """The checks as a ``pandas.DataFrame`` (one row per check).

        Raises ``ImportError`` when pandas is not installed.
        """
        try:
            import pandas as pd
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError("checks_frame() needs pandas: pip install pandas") from e
        cols = ["name", "value", "threshold", "relation", "oracle", "pass", "note"]
        return pd.DataFrame([{c: ch.get(c) for c in cols} for ch in self.checks], columns=cols)

    def to_dict(self) -> Dict[str, Any]:
        """The report as plain JSON data."""
        return self.report

    def __repr__(self) -> str:
        v = "pass" if self.passed else ("inconclusive" if self.inconclusive else "FAIL")
        return (
            f"ValidationReport(model={self.report['model']!r}, theta={self.report['theta']}, "
            f"verdict={v}, checks={len(self.report['checks'])})"
        )


def validate(
    m: ModelLike,
    theta: Sequence[float],
    samples: int = DEFAULT_SAMPLES,
    seed: int = DEFAULT_SEED,
    claimed: Optional[Any] = None,
) -> ValidationReport:
    """Validates a model's Fisher metric at θ: every applicable estimator
    against its oracle, the zero-mean score (eq. 28), the KL expansion (eq. 31),
    symmetry and positive semi-definiteness (docs/fisher.md).

    ``claimed``: an optional hand-derived Fisher matrix, shape (d, d).
    Works the same for built-in models and models written in Python.
    Raises :class:`InputError` for bad input; a Python model's own exception
    as it was raised.
    """
    mm = as_model(m)
    c = None if claimed is None else np.asarray(claimed, dtype=np.float64).tolist()
    return ValidationReport(
        json.loads(_bayesrg.validate_json(mm, _theta(theta), _uint("samples", samples), _uint("seed", seed), c))
    )


def kl(
    m: ModelLike,
    theta: Sequence[float],
    theta_prime: Sequence[float],
    samples: int = 100_000,
    seed: int = DEFAULT_SEED,
) -> Dict[str, Any]:
    """KL(θ ‖ θ′) (eq. 30) by every route the model allows, as a dict:
    ``closed_form`` (or None), ``exact_sum`` (discrete support), ``monte_carlo``
    (``value``, ``std_err``, ``samples``; draws from the seed's child ``"kl"``),
    ``z`` (Monte Carlo against the closed form) and ``quadratic``, ½ΔθᵀI(θ)Δθ
    (eq. 31). Units: nats.
    """
    mm = as_model(m)
    return json.loads(_bayesrg.kl_json(mm, _theta(theta), _theta(theta_prime), _uint("samples", samples), _uint("seed", seed)))


def _geodesic(g: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "t": _arr(g["t"]),
        "points": _arr(g["points"]),
        "velocities": _arr(g["velocities"]),
        "length": g["length"],
        "speed_drift": g["speed_drift"],
    }


def distance(
    m: ModelLike,
    theta1: Sequence[float],
    theta2: Sequence[float],
    samples: int = 100_000,
    seed: int = 1,
) -> Dict[str, Any]:
    """The Fisher–Rao distance from θ₁ to θ₂ and the geodesic joining them.

    Returns a dict: ``distance`` (in Fisher units, √(vᵀI(θ₁)v)), ``velocity``
    (θ̇(0) on t ∈ [0, 1]), ``residual`` (the miss at θ₂ in Fisher units),
    ``method``, ``attempts``, ``iterations`` and ``geodesic`` (``t`` (m,),
    ``points`` (m, d), ``velocities`` (m, d), ``length``, ``speed_drift``).
    The metric is the closed form when the model has one, else Monte Carlo
    E[ℓℓᵀ] with ``samples`` draws of the fixed ``seed``.
    Raises :class:`ComputationError` when no shooting method converges.
    """
    mm = as_model(m)
    r = json.loads(_bayesrg.distance_json(mm, _theta(theta1), _theta(theta2), _fisher_arg(samples, seed)))
    r["velocity"] = _arr(r["velocity"])
    r["geodesic"] = _geodesic(r["geodesic"])
    return r


def geodesic(
    m: ModelLike,
    theta: Sequence[float],
    velocity: Sequence[float],
    samples: int = 100_000,
    seed: int = 1,
) -> Dict[str, Any]:
    """The geodesic θ(t), t ∈ [0, 1], leaving θ with velocity v (the
    exponential map): ``t`` (m,), ``points`` (m, d), ``velocities`` (m, d),
    ``length`` and ``speed_drift`` (the integration error)."""
    mm = as_model(m)
    return _geodesic(
        json.loads(_bayesrg.geodesic_json_fn(mm, _theta(theta), _theta(velocity), _fisher_arg(samples, seed)))
    )


def curvature(
    m: ModelLike, theta: Sequence[float], samples: int = 100_000, seed: int = 1
) -> Dict[str, Any]:
    """Curvature of the Fisher metric at θ: ``scalar`` R, ``ricci`` (d, d),
    ``sectional`` (one dict per coordinate plane i < j), ``gaussian`` (d = 2)
    and ``metric`` (d, d). Units: 1/(metric units)."""
    mm = as_model(m)
    r = json.loads(_bayesrg.curvature_json(mm, _theta(theta), _fisher_arg(samples, seed)))
    r["metric"] = _arr(r["metric"])
    r["ricci"] = _arr(r["ricci"])
    return r


def spectrum(
    m: ModelLike, theta: Sequence[float], samples: int = 100_000, seed: int = 1
) -> Dict[str, Any]:
    """The sloppiness spectrum of I(θ): ``eigenvalues`` (stiffest first) with
    ``error_bounds`` and ``digits``, ``decades``, ``rank``, ``null_directions``,
    ``participation`` (d, d) and ``dominant_param``."""
    mm = as_model(m)
    r = json.loads(_bayesrg.spectrum_json(mm, _theta(theta), _fisher_arg(samples, seed)))
    for k in ("eigenvalues", "error_bounds", "digits", "log10_eigenvalues", "participation"):
        r[k] = _arr(r[k])
    return r


from . import runners as _runners  # noqa: E402  (after the names it builds on)
from .runners import *  # noqa: E402,F401,F403  (its __all__: the runners and their results)

__all__ = [*_runners.__all__, *__all__]
from .sweep import SweepResult, sweep  # noqa: E402  (after the names it builds on)
