#!/usr/bin/env python3
"""bayesrg's Euler–Maruyama ensemble against a vectorised NumPy Euler–Maruyama of
the same problem, one after the other in one invocation (issue 13, item 1).

Usage, from the repository root (NumPy needed; the project's venv has it):

    /work/venv/bin/python benches/peers/run_sde.py [--dims 1,10,100] [--paths 100000] [--steps 100]
        [--bench-binary target/release/deps/sde-HASH]   # a prebuilt bench executable, no cargo

Problem (core/benches/sde.rs and benches/peers/numpy_em.py): dY = −Y dτ + θ dW,
K⁻¹ᵢⱼ = 0.5^|i−j| = θθᵀ, y₀ = 1, h = 0.01. At d = 100 the number of steps is cut
so that paths × steps × d ≤ 10⁸ (the NumPy side would take minutes otherwise).

bayesrg side: the criterion bench binary in peer mode (`BAYESRG_SDE_PEER=1 cargo
bench -p bayesrg-core --bench sde`), which times `simulate` only (best of
--repeats), the former path-by-path ChaCha8 kernel (for before/after) and
then the floor: drawing the same number of standard normals with
the same seeded per-chunk generator on the same threads. NumPy side:
numpy_em.py, best of --repeats runs with default and with single-threaded BLAS.

Checks that both computed the same law: the Euler–Maruyama chain of this linear
problem is exactly Gaussian with mean (1 − h)ⁿ y₀ and covariance
K⁻¹ h Σₖ (1 − h)²ᵏ; each side's final mean and covariance entries must lie within
Bonferroni-corrected Monte Carlo standard errors of it (and of each other; family-wise level 10⁻³), and the script exits 1
otherwise. Prints the ratio bayesrg / NumPy and the floor fraction per d, with the
load average before and after (the machine may be shared: say so with any number).
"""
import argparse
import json
import math
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))


def em_law(d, steps, h):
    """Exact law of the Euler–Maruyama chain y ← (1 − h)y + θΔW from y₀ = 1."""
    a = 1.0 - h
    mean = [a ** steps] * d
    s = h * (1.0 - a ** (2 * steps)) / (1.0 - a * a)
    cov = [[s * 0.5 ** abs(i - j) for j in range(d)] for i in range(d)]
    return mean, cov


def max_z(mean, cov, law_mean, law_cov, n, other_mean=None, other_cov=None):
    """Largest |z| of the mean and covariance entries against the law (and, if
    given, against another sample of the same size: the standard error × √2)."""
    d = len(law_mean)
    z = 0.0
    for i in range(d):
        se = math.sqrt(law_cov[i][i] / n)
        z = max(z, abs(mean[i] - law_mean[i]) / se)
        if other_mean is not None:
            z = max(z, abs(mean[i] - other_mean[i]) / (se * math.sqrt(2)))
        for j in range(d):
            se = math.sqrt((law_cov[i][i] * law_cov[j][j] + law_cov[i][j] ** 2) / n)
            z = max(z, abs(cov[i][j] - law_cov[i][j]) / se)
            if other_cov is not None:
                z = max(z, abs(cov[i][j] - other_cov[i][j]) / (se * math.sqrt(2)))
    return z


def run_bayesrg(d, paths, steps, repeats, binary=None):
    env = dict(os.environ, BAYESRG_SDE_PEER="1", BAYESRG_SDE_DIM=str(d), BAYESRG_SDE_PATHS=str(paths),
               BAYESRG_SDE_STEPS=str(steps), BAYESRG_SDE_REPEATS=str(repeats))
    cmd = [binary] if binary else ["cargo", "bench", "--quiet", "-p", "bayesrg-core", "--bench", "sde"]
    r = subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    line = [l for l in r.stdout.splitlines() if l.startswith("{")][-1]
    return json.loads(line)


def run_numpy(d, paths, steps, repeats):
    best = None
    for _ in range(repeats):
        # NumPy at its best: default BLAS threading and single-threaded BLAS
        # (which avoids oversubscription for these skinny products).
        for threads in (None, "1"):
            env = dict(os.environ)
            if threads:
                env.update(OPENBLAS_NUM_THREADS=threads, OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
            r = subprocess.run([sys.executable, os.path.join(HERE, "numpy_em.py"), "--dim", str(d),
                                "--paths", str(paths), "--steps", str(steps)],
                               check=True, capture_output=True, text=True, env=env)
            out = json.loads(r.stdout)
            if best is None or out["path_steps_per_second"] > best["path_steps_per_second"]:
                best = out
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dims", default="1,10,100")
    ap.add_argument("--paths", type=int, default=100_000)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--bench-binary", default=None,
                    help="an already built `sde` bench executable (target/release/deps/sde-…) to run "
                         "instead of `cargo bench` (no build inside the script)")
    a = ap.parse_args()
    h = 0.01
    import numpy as np
    import time
    print(f"machine: {os.cpu_count()} cores; load average before: {os.getloadavg()}")
    print(f"NumPy {np.__version__}, Python {sys.version.split()[0]}")
    # Build first so that compiling is not inside any timing.
    if not a.bench_binary:
        subprocess.run(["cargo", "bench", "--quiet", "-p", "bayesrg-core", "--bench", "sde", "--no-run"],
                       cwd=ROOT, check=True)
    ok = True
    rows = []
    for d in [int(x) for x in a.dims.split(",")]:
        steps = max(1, min(a.steps, 10 ** 8 // (a.paths * d)))
        br = run_bayesrg(d, a.paths, steps, a.repeats, a.bench_binary)
        npy = run_numpy(d, a.paths, steps, a.repeats)
        law_mean, law_cov = em_law(d, steps, h)
        zb = max_z(br["mean"], br["cov"], law_mean, law_cov, a.paths, npy["mean"], npy["cov"])
        zn = max_z(npy["mean"], npy["cov"], law_mean, law_cov, a.paths)
        # Bonferroni over the 2(d + d(d+1)/2) + (d + d(d+1)/2) statistics (each
        # side against the law, and the two sides against each other): a correct
        # pair fails with probability at most 10⁻³.
        from statistics import NormalDist
        n_stats = 3 * (d + d * (d + 1) // 2)
        z_crit = NormalDist().inv_cdf(1.0 - 1e-3 / (2 * n_stats))
        same = zb < z_crit and zn < z_crit
        ok &= same
        ratio = br["path_steps_per_second"] / npy["path_steps_per_second"]
        rows.append((d, steps, br, npy, ratio, zb, zn, same))
        print(f"d = {d:3}, paths = {a.paths}, steps = {steps}: bayesrg {br['path_steps_per_second']:.3e} "
              f"path-steps/s ({br['threads']} threads, {br['kernel']} lanes), NumPy "
              f"{npy['path_steps_per_second']:.3e}; ratio {ratio:.1f}x (former path-by-path kernel "
              f"{br['before_path_steps_per_second']:.3e}: {br['before_path_steps_per_second'] / npy['path_steps_per_second']:.1f}x); floor fraction "
              f"{br['floor_fraction']:.2f} (floor {br['floor_normals_per_second']:.3e} normals/s); "
              f"law max|z| bayesrg {zb:.2f}, NumPy {zn:.2f} -> {'same law' if same else 'LAW DIFFERS'}",
              flush=True)
    rng = np.random.default_rng(0)
    buf = np.empty(10_000_000)
    t0 = time.perf_counter()
    rng.standard_normal(out=buf)
    np_normals = buf.size / (time.perf_counter() - t0)
    print(f"NumPy standard_normal alone: {np_normals:.3e} normals/s (one thread)")
    print(f"load average after: {os.getloadavg()}")
    print()
    print("| d | steps | bayesrg path-steps/s | former kernel | NumPy path-steps/s | ratio (former) | floor fraction | law |")
    print("|---|---|---|---|---|---|---|---|")
    for d, steps, br, npy, ratio, zb, zn, same in rows:
        before = br["before_path_steps_per_second"]
        print(f"| {d} | {steps} | {br['path_steps_per_second']:.2e} | {before:.2e} | {npy['path_steps_per_second']:.2e} | "
              f"{ratio:.1f}x ({before / npy['path_steps_per_second']:.1f}x) | {br['floor_fraction']:.2f} | {'same' if same else 'DIFFERS'} "
              f"(max abs z {max(zb, zn):.1f}) |")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
