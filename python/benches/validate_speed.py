"""Samples per second of the Fisher estimators on a vectorised model written in
Python beside the built-in model of the same family (docs/benchmarks.md,
"Python models"). Run after installing the package (scripts/test-all makes
target/pyvenv):

    target/pyvenv/bin/python python/benches/validate_speed.py

Model: the normal family N(mu, sigma) at theta = (0.5, 1.5), written in Python
with a vectorised log-likelihood, score and sampler, and the built-in `normal`.
Each line times one estimator call with `samples` draws (best of `repeat`).
"""
import math
import pathlib
import sys
import time

import bayesrg

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))
from normal_models import Normal  # noqa: E402  (the tests' model, one copy)


def best(f, repeat):
    t = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        t = min(t, time.perf_counter() - t0)
    return t


def main():
    samples = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    repeat = 3
    theta = [0.5, 1.5]
    py = bayesrg.as_model(Normal())
    rs = bayesrg.model("normal")
    print(f"samples per call: {samples}, best of {repeat}")
    print("| model | estimator | seconds | samples/s |")
    print("|---|---|---|---|")
    for name, m in [("built-in normal", rs), ("Python Normal (vectorised)", py)]:
        for method in ["score_outer", "neg_hessian"]:
            t = best(lambda: bayesrg.fisher(m, theta, method=method, samples=samples, seed=1), repeat)
            print(f"| {name} | {method} | {t:.3f} | {samples / t:.3g} |")
    n = max(samples // 5, 2)
    for name, m in [("built-in normal", rs), ("Python Normal (vectorised)", py)]:
        t = best(lambda: bayesrg.validate(m, theta, samples=n, seed=1), repeat)
        print(f"| {name} | validate (all checks, {n} samples/estimator) | {t:.3f} | {n / t:.3g} per estimator |")


if __name__ == "__main__":
    main()
