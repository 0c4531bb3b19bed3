"""Type stubs of the compiled module ``bayesrg._bayesrg`` (Rust, PyO3).

Use the functions of ``bayesrg`` (``python/bayesrg/__init__.py``); these are
the raw entry points they call. Reports cross as JSON text.
"""

from typing import Any, List, Optional, Sequence, Tuple

import numpy as np
import numpy.typing as npt

DEFAULT_SAMPLES: int
DEFAULT_SEED: int

class InputError(ValueError):
    """Bad input: a value outside its domain, of the wrong shape or not finite."""

class ComputationError(RuntimeError):
    """A computation that failed: a solver that did not converge, a NaN that arose."""

class Model:
    """A statistical model p(y | θ): built in (``from_json``) or written in Python (``from_python``)."""

    @staticmethod
    def from_json(text: str) -> "Model":
        """A built-in model from ``{"type": TAG, ...fields}``. Raises InputError."""
    @staticmethod
    def from_python(obj: Any) -> "Model":
        """Wraps an object with ``param_names``, ``obs_dim``, ``log_likelihood``,
        ``sample`` (and optionally ``score``, ``hessian``, ``fisher``, ``kl``,
        ``check_params``). Raises TypeError when it lacks the protocol."""
    @property
    def python_object(self) -> Optional[Any]:
        """The wrapped Python object (None for a built-in model)."""
    @property
    def type_name(self) -> str:
        """``normal``, …; ``python/ClassName`` for a model written in Python."""
    @property
    def param_names(self) -> List[str]:
        """Names of θ₁…θ_d."""
    @property
    def dim(self) -> int:
        """d, the number of parameters."""
    @property
    def obs_dim(self) -> int:
        """k, the number of values in one observation."""
    def to_json(self) -> str:
        """The JSON description of a built-in model."""
    def check_params(self, theta: Sequence[float]) -> None:
        """Raises InputError naming the parameter when θ is outside the space."""
    def log_likelihood(self, theta: Sequence[float], y: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """ln p(yᵢ | θ) for each row of y, shape (n, k) (or (n,) when k = 1; any
        dtype NumPy reads as float64) → (n,)."""
    def score(self, theta: Sequence[float], y: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """∂ ln p(yᵢ | θ)/∂θ (eq. 28), y as for log_likelihood → (n, d)."""
    def sample(self, theta: Sequence[float], n: int, seed: int) -> npt.NDArray[np.float64]:
        """n seeded draws y ~ p(· | θ), shape (n, k)."""
    def fisher_closed_form(self, theta: Sequence[float]) -> Optional[npt.NDArray[np.float64]]:
        """The closed-form I(θ) (eq. 29), shape (d, d), or None."""
    def kl_closed_form(self, theta: Sequence[float], theta2: Sequence[float]) -> Optional[float]:
        """The closed-form KL(θ ‖ θ′) in nats (eq. 30), or None."""

def fisher_estimate(
    model: Model,
    theta: Sequence[float],
    method: str,
    samples: int,
    seed: int,
    data: Optional[npt.NDArray[np.float64]] = None,
) -> str: ...
def validate_json(
    model: Model,
    theta: Sequence[float],
    samples: int,
    seed: int,
    claimed: Optional[Sequence[Sequence[float]]] = None,
) -> str: ...
def kl_json(model: Model, theta: Sequence[float], theta_prime: Sequence[float], samples: int, seed: int) -> str: ...
def distance_json(model: Model, theta1: Sequence[float], theta2: Sequence[float], fisher: Tuple[int, int]) -> str: ...
def geodesic_json_fn(model: Model, theta: Sequence[float], velocity: Sequence[float], fisher: Tuple[int, int]) -> str: ...
def curvature_json(model: Model, theta: Sequence[float], fisher: Tuple[int, int]) -> str: ...
def spectrum_json(model: Model, theta: Sequence[float], fisher: Tuple[int, int]) -> str: ...
def model_types() -> List[str]: ...
def run_task(kind: str, spec: Any) -> Any:
    """Runs the library runner ``kind`` (bayes, flow, sde, prune, fisher) on
    ``spec`` (a config as Python data) → its result as Python data (None for
    NaN/±∞). Raises InputError (naming the field) or ComputationError."""
def run_with_model(kind: str, model: Model, spec: Any) -> Any:
    """Dynamical Bayes (``bayes``) or the DB-RG flow (``flow``) on the model
    instance ``model``; ``spec`` without ``model``. Raises InputError,
    ComputationError or the Python model's own exception."""
def run_kinds() -> List[str]: ...
