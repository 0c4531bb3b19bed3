#!/usr/bin/env python3
"""bayesrg's Monte Carlo −E[∇² ln p] against a vectorised NumPy estimator of the
same quantity, one after the other in one invocation (issue 13, item 5).

Usage, from the repository root (NumPy needed; the project's venv has it):

    /work/venv/bin/python benches/peers/fisher_mc.py [--samples 200000] [--repeats 3]

Model (benches/fisher_mc.rs): the d = 10 sum of exponentials
y_k = Σᵢ e^{−θᵢ t_k} + N(0, σ²), t_k = 0.5, 1, …, 6 (12 times), σ = 0.1,
θᵢ = 0.2·1.5ⁱ. Per observation, with J_ki = −t_k e^{−θᵢ t_k} and r = y − G(θ),

    −∇² ln p = (JᵀJ − diag(Σ_k r_k t_k² e^{−θᵢ t_k})) / σ²,

whose mean is the Fisher metric I = JᵀJ/σ² (eqs. 29, 40–42).

bayesrg side: the criterion bench binary in peer mode (`BAYESRG_FISHER_PEER=1
cargo bench --bench fisher_mc`): `fisher::neg_hessian` with the model's AD
Hessian, and with the Hessian hidden so that it takes the central-difference
Jacobian of the exact score (20 score calls per draw, the finite-difference
path of item 5), 2 rayon threads, best of --repeats.
NumPy side (this file): the same two estimators, vectorised over blocks of
draws: (1) the per-draw Hessian above in closed form; (2) central differences
of the vectorised score ℓ = Jᵀr/σ² at the same steps ε^{1/3}/√Iᵢᵢ. Each keeps
per-entry sums and sums of squares for the standard errors, as bayesrg does.
Best of --repeats, default BLAS threading.

Check: every entry of each of the four estimates must agree with the closed
form JᵀJ/σ² within z_crit Monte Carlo standard errors plus a rounding and
truncation allowance of 10⁻⁶·√(IᵢᵢIⱼⱼ) (the off-diagonal terms of this model
do not depend on y, so their standard error is 0), z_crit Bonferroni over all
entries at family level 10⁻³; bayesrg and NumPy must also agree with each other.
The script exits 1 otherwise. Prints samples per second on both sides, the
ratios, and the load average before and after (say whether the machine was
shared with any number).
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time
from statistics import NormalDist

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
D = 10
TIMES = 0.5 * np.arange(1, 13)
SIGMA = 0.1
THETA = 0.2 * 1.5 ** np.arange(D)
BLOCK = 8192


def jac(theta):
    """J_ki = −t_k e^{−θᵢ t_k} (12 × 10)."""
    return -TIMES[:, None] * np.exp(-np.outer(TIMES, theta))


def g(theta):
    return np.exp(-np.outer(TIMES, theta)).sum(axis=1)


def numpy_closed_form_hessian(n, rng):
    """Mean and SE of −∇² ln p over n draws, per-draw Hessian in closed form."""
    j = jac(THETA)
    jtj = j.T @ j / SIGMA ** 2
    w = (TIMES ** 2)[:, None] * np.exp(-np.outer(TIMES, THETA)) / SIGMA ** 2  # 12 × 10
    s = np.zeros((D, D))
    q = np.zeros((D, D))
    buf = np.empty((BLOCK, D, D))  # reused: no allocation per block
    idx = np.arange(D)
    done = 0
    while done < n:
        b = min(BLOCK, n - done)
        r = SIGMA * rng.standard_normal((b, TIMES.size))  # r = y − G(θ) directly
        diag = r @ w  # b × 10
        h = buf[:b]
        h[...] = jtj
        h[:, idx, idx] -= diag
        s += h.sum(axis=0)
        q += np.einsum("bij,bij->ij", h, h)
        done += b
    return s, q


def numpy_score_differences(n, rng, steps):
    """Mean and SE of −∇² ln p by central differences of the vectorised score."""
    s = np.zeros((D, D))
    q = np.zeros((D, D))
    g0 = g(THETA)
    buf = np.empty((BLOCK, D, D))
    done = 0
    while done < n:
        b = min(BLOCK, n - done)
        y = g0 + SIGMA * rng.standard_normal((b, TIMES.size))
        h = buf[:b]
        for jx in range(D):
            tp = THETA.copy()
            tm = THETA.copy()
            tp[jx] += steps[jx]
            tm[jx] -= steps[jx]
            sp = (y - g(tp)) @ jac(tp) / SIGMA ** 2  # score at θ + h eⱼ, b × 10
            sm = (y - g(tm)) @ jac(tm) / SIGMA ** 2
            h[:, :, jx] = (sp - sm) / (tp[jx] - tm[jx])
        h = -0.5 * (h + h.transpose(0, 2, 1))  # symmetrised, as bayesrg does
        s += h.sum(axis=0)
        q += np.einsum("bij,bij->ij", h, h)
        done += b
    return s, q


def mean_se(s, q, n):
    mean = s / n
    var = np.maximum(q / n - mean ** 2, 0.0) * n / (n - 1)
    return mean, np.sqrt(var / n)


def timed(f, n, repeats):
    best = math.inf
    out = None
    for k in range(repeats):
        rng = np.random.default_rng(k + 1)
        t0 = time.perf_counter()
        out = f(n, rng)
        best = min(best, time.perf_counter() - t0)
    return best, out


def worst_z(mean, se, exact, scale, other=None, other_se=None):
    """max over entries of |mean − exact| / (SE + allowance) (and against `other`)."""
    allow = 1e-6 * scale
    z = np.abs(mean - exact) / (se + allow)
    worst = float(z.max())
    if other is not None:
        zo = np.abs(mean - other) / (np.sqrt(se ** 2 + other_se ** 2) + allow)
        worst = max(worst, float(zo.max()))
    return worst


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=200_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--profile", default="bench",
                    help="cargo profile of the bayesrg side (bench = release; dev = opt-level 2, "
                         "dependencies at 3, debug assertions on)")
    ap.add_argument("--bench-exe", help="a built fisher_mc bench binary to run instead of cargo bench")
    a = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores; load average before: {os.getloadavg()}")
    print(f"NumPy {np.__version__}, Python {sys.version.split()[0]}")
    cargo = ["cargo", "bench", "--quiet", "--profile", a.profile, "--bench", "fisher_mc"]
    if a.bench_exe:
        cargo = [a.bench_exe]
        print(f"bayesrg side: {a.bench_exe}")
    else:
        print(f"bayesrg side: cargo profile `{a.profile}`")
        subprocess.run(cargo + ["--no-run"], cwd=ROOT, check=True)
    env = dict(os.environ, BAYESRG_FISHER_PEER="1", BAYESRG_FISHER_SAMPLES=str(a.samples),
               BAYESRG_FISHER_REPEATS=str(a.repeats))
    r = subprocess.run(cargo, cwd=ROOT, env=env,
                       check=True, capture_output=True, text=True)
    br = json.loads([l for l in r.stdout.splitlines() if l.startswith("{")][-1])
    exact = np.array(br["exact"])
    n = a.samples
    steps = np.finfo(float).eps ** (1 / 3) / np.sqrt(np.diag(exact))
    t_cf, (s, q) = timed(numpy_closed_form_hessian, n, a.repeats)
    np_cf = mean_se(s, q, n)
    t_fd, (s, q) = timed(lambda n, rng: numpy_score_differences(n, rng, steps), n, a.repeats)
    np_fd = mean_se(s, q, n)
    scale = np.sqrt(np.outer(np.diag(exact), np.diag(exact)))
    n_stats = 4 * D * (D + 1) // 2 + 2 * D * (D + 1) // 2
    z_crit = NormalDist().inv_cdf(1.0 - 1e-3 / (2 * n_stats))
    ok = True
    rows = []
    for label, key, npy, t_np in (("AD Hessian vs closed-form Hessian", "ad", np_cf, t_cf),
                                  ("differences of the score", "score_differences", np_fd, t_fd)):
        b = br[key]
        bm, bse = np.array(b["matrix"]), np.array(b["std_err"])
        zb = worst_z(bm, bse, exact, scale, npy[0], npy[1])
        zn = worst_z(npy[0], npy[1], exact, scale)
        same = zb < z_crit and zn < z_crit
        ok &= same
        np_rate = n / t_np
        ratio = b["samples_per_second"] / np_rate
        rows.append((label, b["samples_per_second"], np_rate, ratio, max(zb, zn), same))
        print(f"{label}: bayesrg {b['samples_per_second']:.3e} samples/s ({br['threads']} threads), "
              f"NumPy {np_rate:.3e}; ratio {ratio:.1f}x; worst z bayesrg {zb:.2f}, NumPy {zn:.2f} "
              f"(critical {z_crit:.2f}) -> {'same matrix' if same else 'MATRICES DIFFER'}", flush=True)
    print(f"load average after: {os.getloadavg()}")
    print()
    print(f"| estimator of −E[∇² ln p], d = 10, {n} draws | bayesrg samples/s | NumPy samples/s | ratio | agreement |")
    print("|---|---|---|---|---|")
    for label, bs, ns, ratio, z, same in rows:
        print(f"| {label} | {bs:.3g} | {ns:.3g} | {ratio:.1f}× | {'same' if same else 'DIFFERS'} (worst z {z:.1f}) |")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
