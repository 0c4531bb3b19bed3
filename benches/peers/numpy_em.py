#!/usr/bin/env python3
"""Vectorised NumPy Euler–Maruyama on the bayesrg benchmark problem (peer, not CI).

dY = −B(Y − m) dτ + θ dW with B = I, m = 0, K⁻¹ᵢⱼ = 0.5^|i−j| = θθᵀ (Cholesky),
y₀ = 1, step h. All paths advance together: per step one (paths × d) array of
standard normals, one matrix product for the drift and one for the noise.
Prints JSON with the path-steps per second and the final mean and covariance
(computed after the timed loop).
"""
import argparse
import json
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dim", type=int, default=10)
    ap.add_argument("--paths", type=int, default=100_000)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--dt", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    d = a.dim
    idx = np.arange(d)
    k_inv = 0.5 ** np.abs(idx[:, None] - idx[None, :])
    theta_t = np.linalg.cholesky(k_inv).T.copy()  # row-vector form: ξ @ θᵀ
    b_t = np.eye(d).T.copy()
    rng = np.random.default_rng(a.seed)
    y = np.ones((a.paths, d))
    sh = np.sqrt(a.dt)
    xi = np.empty((a.paths, d))
    t0 = time.perf_counter()
    for _ in range(a.steps):
        rng.standard_normal(out=xi)
        drift = y @ b_t
        y -= a.dt * drift
        y += sh * (xi @ theta_t)
    secs = time.perf_counter() - t0
    print(json.dumps({
        "dim": d,
        "paths": a.paths,
        "steps": a.steps,
        "seconds": secs,
        "path_steps_per_second": a.paths * a.steps / secs,
        "mean": y.mean(axis=0).tolist(),
        "cov": np.atleast_2d(np.cov(y, rowvar=False)).tolist(),
    }))


if __name__ == "__main__":
    main()
