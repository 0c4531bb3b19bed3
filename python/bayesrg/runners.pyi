"""Type stubs of ``bayesrg.runners`` (dynamical Bayes, the DB-RG flow, SDE
ensembles, the section-4 pruning run). Arrays are float64."""

from typing import Any, Dict, List, Mapping, Optional

import numpy as np
import numpy.typing as npt

_A = npt.NDArray[np.float64]

class RunResult:
    kind: str
    data: Dict[str, Any]
    def __init__(self, kind: str, data: Dict[str, Any]) -> None: ...
    @property
    def checks(self) -> List[Dict[str, Any]]: ...
    @property
    def passed(self) -> bool: ...
    def checks_frame(self) -> Any:
        """The checks as a pandas DataFrame (needs pandas)."""
    def to_dict(self) -> Dict[str, Any]: ...
    def __getitem__(self, key: str) -> Any: ...

class BayesResult(RunResult):
    @property
    def free(self) -> List[str]: ...
    @property
    def t(self) -> _A:
        """Save points T, shape (n_T,)."""
    @property
    def fisher(self) -> _A:
        """I(θ*) on the free block, shape (d, d)."""
    def record(self, name: str) -> _A:
        """A record field stacked over T: (n_T,), (n_T, d) or (n_T, d, d) for ``cov``."""
    def records_frame(self) -> Any:
        """The columns of ``flow.csv`` (``bayesrg bayes``) as a DataFrame."""
    def data_frame(self) -> Any:
        """Eq. (32) on simulated data: the columns of ``data.csv``."""

class FlowResult(RunResult):
    @property
    def tau(self) -> _A:
        """τ, shape (n_τ,)."""
    @property
    def y(self) -> _A:
        """The y grid, shape (n_y,)."""
    @property
    def p0(self) -> _A:
        """p₀(y), shape (n_y,)."""
    @property
    def predictive(self) -> _A:
        """p_τ(y) (eq. 39), shape (n_τ, n_y)."""
    def row(self, name: str) -> _A:
        """A row field stacked over τ: (n_τ,) or (n_τ, d)."""
    def rows_frame(self) -> Any: ...

class SdeResult(RunResult):
    @property
    def t(self) -> _A: ...
    @property
    def mean(self) -> _A:
        """Ensemble means, shape (n_t, d)."""
    @property
    def cov(self) -> _A:
        """Ensemble covariances, shape (n_t, d, d)."""
    @property
    def exact_mean(self) -> Optional[_A]: ...
    @property
    def exact_cov(self) -> Optional[_A]: ...
    @property
    def states(self) -> _A:
        """States, shape (n_t, paths, d)."""

class PruneResult(RunResult):
    def frame(self, key: str) -> Any: ...

def run(kind: str, spec: Mapping[str, Any]) -> RunResult:
    """Runs ``kind`` (bayes, flow, sde, prune, fisher) on a config dict.
    Raises InputError naming the field, ComputationError."""
def bayes(spec: Mapping[str, Any]) -> BayesResult: ...
def flow(spec: Mapping[str, Any]) -> FlowResult: ...
def sde(spec: Mapping[str, Any]) -> SdeResult: ...
def prune(spec: Mapping[str, Any]) -> PruneResult: ...
