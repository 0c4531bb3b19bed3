"""The library runners from Python: dynamical Bayes (eqs. 32–36), the DB-RG
flow (eqs. 38–45), SDE ensembles and the section-4 pruning run.

``spec`` is what the command's config file holds (docs/bayes.md, docs/sde.md,
docs/autoencoder.md), as a dict: the TOML tables become dicts, arrays lists
(NumPy arrays are accepted). ``run(kind, spec)`` gives the same numbers, bit
for bit, as ``bayesrg KIND config.toml`` (its CSV files) and as
``bayesrg sweep`` for the same spec and seed: all call the same library
function (``bayesrg::tasks::run``).

For ``bayes`` and ``flow`` the model may be an instance instead of a
description: a :class:`bayesrg.Model` or any object following the
:class:`bayesrg.PythonModel` protocol. It then runs through the same code
(``run_with_model`` of the Rust runners) as a built-in model.

Errors: :class:`bayesrg.InputError` for a spec that does not parse (the
message names the field, e.g. ``grid[0].lo``) or fails its checks;
:class:`bayesrg.ComputationError` for a failed computation; a Python model's
own exception as it was raised. The GIL is released during the run.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, cast

import numpy as np

from . import _bayesrg
from ._bayesrg import Model

__all__ = [
    "run",
    "bayes",
    "flow",
    "sde",
    "prune",
    "RunResult",
    "BayesResult",
    "FlowResult",
    "SdeResult",
    "PruneResult",
]


def _f(x: Any) -> np.ndarray:
    """Numbers (``None`` is NaN or ±∞ in Rust, written as JSON null) → float array."""
    return np.array(x, dtype=np.float64)


def _frame(rows: List[Dict[str, Any]], columns: Optional[List[str]] = None) -> Any:
    try:
        import pandas as pd
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("tables as DataFrames need pandas: pip install pandas") from e
    return pd.DataFrame(rows, columns=columns)


class RunResult:
    """What a runner returned: ``data`` is the plain document (the same as
    ``bayesrg sweep`` stores for the task); the typed subclasses add NumPy
    views and pandas tables. ``None`` in ``data`` is a NaN or ±∞ of Rust."""

    kind: str = ""

    def __init__(self, kind: str, data: Dict[str, Any]):
        self.kind = kind
        self.data = data

    @property
    def checks(self) -> List[Dict[str, Any]]:
        """Every self-check of the run: ``name``, ``value``, ``threshold``,
        ``relation``, ``oracle``, ``pass`` and ``note``."""
        return list(self.data.get("checks", []))

    @property
    def passed(self) -> bool:
        """True when every check passed."""
        return all(bool(c.get("pass")) for c in self.checks)

    def checks_frame(self) -> Any:
        """The checks as a ``pandas.DataFrame`` (one row per check)."""
        cols = ["name", "value", "threshold", "relation", "oracle", "pass", "note"]
        return _frame([{c: ch.get(c) for c in cols} for ch in self.checks], cols)

    def to_dict(self) -> Dict[str, Any]:
        """The result as plain data."""
        return self.data

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def __repr__(self) -> str:
        v = "pass" if self.passed else "FAIL"
        return f"{type(self).__name__}(kind={self.kind!r}, checks={len(self.checks)}, verdict={v})"


class BayesResult(RunResult):
    """Dynamical Bayes (``bayesrg bayes``, eqs. 32–36).

    One record per save point T (``records``); the arrays below stack them:
    shape (n_T,) for scalars, (n_T, d) per free coordinate (d = ``len(free)``),
    (n_T, d, d) for ``cov``.
    """

    kind = "bayes"

    @property
    def free(self) -> List[str]:
        """Names of the free coordinates."""
        return list(self.data["free"])

    @property
    def t(self) -> np.ndarray:
        """The save points T, shape (n_T,)."""
        return self.record("t")

    @property
    def fisher(self) -> np.ndarray:
        """I(θ*) on the free block (per observation, eq. 29), shape (d, d)."""
        return _f(self.data["fisher_at_theta_star"])

    def record(self, name: str) -> np.ndarray:
        """Field ``name`` of every record stacked: ``mean``, ``cov``,
        ``mean_34``, ``var_34``, ``var_35`` (diag I⁻¹/T, eq. 35), ``map``,
        ``particle_mean``, ``particle_var``, ``oracle_mean``, ``oracle_var``,
        ``e_k``, ``var_k``, ``de_k_dt``, ``ln_z``, ``ln_z_34``,
        ``particle_ess``, ``map_fisher_speed``."""
        return _f([r[name] for r in self.data["records"]])

    def records_frame(self) -> Any:
        """The records as a DataFrame, the columns of ``flow.csv`` of
        ``bayesrg bayes`` (``mean_mu``, ``var_mu``, …, ``E_K``, …)."""
        rows = []
        for r in self.data["records"]:
            row: Dict[str, Any] = {"T": r["t"]}
            for j, n in enumerate(self.free):
                row[f"mean_{n}"] = r["mean"][j]
                row[f"var_{n}"] = r["cov"][j][j]
                for c in ("mean_34", "var_34", "var_35", "map", "particle_mean",
                          "particle_var", "oracle_mean", "oracle_var"):
                    row[f"{c}_{n}"] = r[c][j]
            for c, k in (("E_K", "e_k"), ("Var_K", "var_k"), ("dE_K_dT", "de_k_dt"),
                         ("ln_Z", "ln_z"), ("ln_Z_34", "ln_z_34"),
                         ("particle_ess", "particle_ess"), ("map_fisher_speed", "map_fisher_speed")):
                row[c] = r[k]
            rows.append(row)
        return _frame(rows).astype(float)

    def data_frame(self) -> Any:
        """Eq. (32) on simulated data: ``n``, ``mean_*``, ``var_*``, ``ln_evidence``."""
        rows = []
        for r in self.data["data"]:
            row: Dict[str, Any] = {"n": r["n"]}
            for j, n in enumerate(self.free):
                row[f"mean_{n}"] = r["mean"][j]
                row[f"var_{n}"] = r["var"][j]
            row["ln_evidence"] = r["ln_evidence"]
            rows.append(row)
        return _frame(rows)


class FlowResult(RunResult):
    """The DB-RG flow (``bayesrg flow``, eqs. 38–45): one row per τ."""

    kind = "flow"

    @property
    def tau(self) -> np.ndarray:
        """τ, shape (n_τ,)."""
        return self.row("tau")

    @property
    def y(self) -> np.ndarray:
        """The y grid (empty without one), shape (n_y,)."""
        return _f(self.data["y"])

    @property
    def p0(self) -> np.ndarray:
        """p₀(y) = p(y | μ₀) on the y grid, shape (n_y,)."""
        return _f(self.data["p0"])

    @property
    def predictive(self) -> np.ndarray:
        """The predictive p_τ(y) (eq. 39) on the y grid, shape (n_τ, n_y)."""
        return _f(self.data["predictive"])

    def row(self, name: str) -> np.ndarray:
        """Field ``name`` of every row stacked: ``tau``, ``mu`` (n_τ, d),
        ``kl``, ``entropy``, ``fisher_eigenvalues`` (n_τ, d), ``widths``
        (n_τ, d), ``fisher_rank``, ``n_eff``, ``map_fisher_speed``,
        ``rejected_fraction``, ``kl_data``, ``entropy_data``,
        ``energy_distance``, ``energy_distance_floor``, ``moment_z``."""
        return _f([r[name] for r in self.data["rows"]])

    def rows_frame(self) -> Any:
        """The rows as a DataFrame (vector fields split into ``mu_0``, …)."""
        rows = []
        for r in self.data["rows"]:
            row: Dict[str, Any] = {}
            for k, v in r.items():
                if isinstance(v, list):
                    for i, x in enumerate(v):
                        row[f"{k}_{i}"] = x
                else:
                    row[k] = v
            rows.append(row)
        return _frame(rows)


class SdeResult(RunResult):
    """An SDE ensemble (``bayesrg sde``): moments at each saved time, against
    the exact law when one is known."""

    kind = "sde"

    @property
    def t(self) -> np.ndarray:
        """The saved times, shape (n_t,)."""
        return _f([s["t"] for s in self.data["saved"]])

    @property
    def mean(self) -> np.ndarray:
        """Ensemble means, shape (n_t, d)."""
        return _f([s["mean"] for s in self.data["saved"]])

    @property
    def cov(self) -> np.ndarray:
        """Ensemble covariances, shape (n_t, d, d)."""
        return _f([s["cov"] for s in self.data["saved"]])

    @property
    def exact_mean(self) -> Optional[np.ndarray]:
        """The exact law's means, shape (n_t, d), or None."""
        s = self.data["saved"]
        return _f([x["exact_mean"] for x in s]) if s and "exact_mean" in s[0] else None

    @property
    def exact_cov(self) -> Optional[np.ndarray]:
        """The exact law's covariances, shape (n_t, d, d), or None."""
        s = self.data["saved"]
        return _f([x["exact_cov"] for x in s]) if s and "exact_cov" in s[0] else None

    @property
    def states(self) -> np.ndarray:
        """The ensemble's states, shape (n_t, paths, d)."""
        d = self.data["dim"]
        return _f(self.data["states"]).reshape(len(self.data["saved"]), -1, d)


class PruneResult(RunResult):
    """The section-4 pruning run (``bayesrg prune``): the plain document,
    its tables as DataFrames through :meth:`frame`."""

    kind = "prune"

    def frame(self, key: str) -> Any:
        """``data[key]`` (a list of records) as a DataFrame."""
        return _frame(list(self.data[key]))


_RESULTS = {"bayes": BayesResult, "flow": FlowResult, "sde": SdeResult, "prune": PruneResult}


def run(kind: str, spec: Mapping[str, Any]) -> RunResult:
    """Runs the library runner ``kind`` (``bayes``, ``flow``, ``sde``,
    ``prune``, ``fisher``) on ``spec`` (the config file's content as a dict)
    and returns its result (:class:`BayesResult`, :class:`FlowResult`,
    :class:`SdeResult`, :class:`PruneResult`; :class:`RunResult` for
    ``fisher``).

    For ``bayes`` and ``flow``, ``spec["model"]`` may be a model instance
    (a :class:`bayesrg.Model`, or an object with the
    :class:`bayesrg.PythonModel` protocol) instead of a description dict.

    Raises :class:`bayesrg.InputError` naming the field for a bad spec.
    """
    if not isinstance(spec, Mapping):
        raise _bayesrg.InputError(f"spec must be a dict (a config file's content), got {type(spec).__name__}")
    spec = dict(spec)
    m = spec.get("model")
    cls = _RESULTS.get(kind, RunResult)
    if m is not None and not isinstance(m, (dict, str)):
        if kind not in ("bayes", "flow"):
            raise _bayesrg.InputError(f"`model`: a model instance runs through bayes or flow, not {kind!r}")
        del spec["model"]
        mm = m if isinstance(m, Model) else Model.from_python(m)
        return cls(kind, _bayesrg.run_with_model(kind, mm, spec))
    if isinstance(m, str):
        spec["model"] = {"type": m}
    return cls(kind, _bayesrg.run_task(kind, spec))


def bayes(spec: Mapping[str, Any]) -> BayesResult:
    """Dynamical Bayes (eqs. 32–36): ``run("bayes", spec)``. The spec is a
    ``bayesrg bayes`` config (docs/bayes.md): ``model``, ``theta_star``,
    ``free``, ``prior``, ``grid``, ``t``, ``steps``, ``particles``,
    ``n_data``, ``seed``, …"""
    return cast(BayesResult, run("bayes", spec))


def flow(spec: Mapping[str, Any]) -> FlowResult:
    """The DB-RG flow (eqs. 38–45): ``run("flow", spec)``. The spec is a
    ``bayesrg flow`` config: ``model``, ``mu``, ``tau``, ``samples``,
    ``seed``, ``y_grid``, ``data_space``, …"""
    return cast(FlowResult, run("flow", spec))


def sde(spec: Mapping[str, Any]) -> SdeResult:
    """An SDE ensemble: ``run("sde", spec)``. The spec is a ``bayesrg sde``
    config (docs/sde.md): ``drift``, ``diffusion``, ``y0``, ``dt``,
    ``save_at``, ``paths``, ``stepper``, ``seed``, …"""
    return cast(SdeResult, run("sde", spec))


def prune(spec: Mapping[str, Any]) -> PruneResult:
    """The section-4 pruning run on MNIST: ``run("prune", spec)`` (a
    ``bayesrg prune`` config, docs/autoencoder.md)."""
    return cast(PruneResult, run("prune", spec))
