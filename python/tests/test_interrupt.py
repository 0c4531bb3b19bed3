"""Ctrl-C stops a long call (tryout 5 B1: `bayesrg.fisher(…, samples=1e9)`
ignored SIGINT; in Jupyter only a kernel restart helped). Each case runs in
a child interpreter that starts a call of minutes, gets SIGINT about a second
later, and must end with KeyboardInterrupt, then still compute. No timing is
asserted beyond generous deadlines (the child's own and ours)."""

import os
import signal
import subprocess
import sys

import pytest

PRELUDE = """
import sys, numpy as np, bayesrg

class PyNormal:
    param_names, obs_dim = ["mu", "sigma"], 1
    def log_likelihood(self, theta, y):
        mu, s = theta
        return -0.5 * ((y[:, 0] - mu) / s) ** 2 - np.log(s) - 0.5 * np.log(2 * np.pi)
    def sample(self, theta, n, rng):
        return rng.normal(theta[0], theta[1], size=n)
"""

# Each a call that runs for minutes: a built-in model's Monte Carlo (the
# chunks of rng::par_chunks), a model written in Python (its calls back into
# Python), and a runner (its progress reports).
LONG = {
    "fisher_builtin": 'bayesrg.fisher("normal", [0.0, 1.0], method="score_outer", samples=10**9, seed=1)',
    "validate_python_model": "bayesrg.validate(PyNormal(), [0.0, 1.0], samples=10**8)",
    "sde_runner": (
        'bayesrg.run("sde", {"seed": 5, "paths": 4000, "dt": 1e-7, "save_at": [1.0], "y0": [1.0],'
        ' "stepper": "sra1", "drift": {"type": "ou", "b": [[1.0]], "centre": [0.0]},'
        ' "diffusion": {"type": "k_inv", "matrix": [[1.0]]}})'
    ),
    # The grid RK4 of eq. (33) over one interval of 5e5 steps on 2e5 cells
    # (tryout 7 F17: the stop was checked only at save points, here the end).
    "bayes_grid_rk4": (
        'bayesrg.bayes({"model": {"type": "normal"}, "theta_star": [0.5, 1.5], "free": ["mu"],'
        ' "t": [0.0, 1.0], "steps": 500000, "particles": 0, "seed": 11,'
        ' "prior": [{"dist": "normal", "mean": 0.3, "sd": 2.0}],'
        ' "grid": [{"lo": -15.0, "hi": 15.0, "n": 200000}]})'
    ),
}

# The call is written into the script (not `eval`ed: CPython then ends the
# process by SIGINT even though the KeyboardInterrupt was caught).
CHILD = PRELUDE + """
print("started", flush=True)
try:
    CALL
    print("finished")
except KeyboardInterrupt:
    print("KeyboardInterrupt", flush=True)
# After a stop the library computes again (the stop request is withdrawn).
f = bayesrg.fisher("normal", [0.0, 2.0], method="score_outer", samples=4000, seed=3)
print("again", f.matrix[0, 0] > 0, flush=True)
"""


@pytest.mark.parametrize("case", sorted(LONG))
def test_sigint_stops_a_long_call_with_keyboard_interrupt(case):
    p = subprocess.Popen(
        [sys.executable, "-c", CHILD.replace("CALL", LONG[case])],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert p.stdout.readline().strip() == "started"
        try:
            # About a second into the call (it runs for minutes); the child
            # must not have ended by itself.
            p.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            pass
        assert p.poll() is None, p.communicate()
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, err
    assert out.splitlines() == ["KeyboardInterrupt", "again True"], (out, err)
    assert "panicked" not in err and "Traceback" not in err, err
