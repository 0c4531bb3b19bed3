#!/usr/bin/env python3
"""Runs bayesrg's Euler–Maruyama ensemble and the NumPy peer on the same problem,
side by side, and prints the ratio. Usage (from the repository root):

    python3 benches/peers/run_sde.py [--dim 10] [--paths 100000] [--steps 100]

bayesrg is run as `bayesrg sde CONFIG --quiet --out DIR` (release build); its
simulation time is `details.seconds` in summary.json (the law checks and files
afterwards are not timed, as the NumPy loop times only its steps). Also prints
the machine's rate of drawing standard normals in NumPy for reference.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))


def matrix(rows):
    return "[" + ", ".join("[" + ", ".join(repr(v) for v in r) + "]" for r in rows) + "]"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dim", type=int, default=10)
    ap.add_argument("--paths", type=int, default=100_000)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    d, dt = a.dim, 0.01
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "bayesrg"], cwd=ROOT, check=True)
    exe = os.path.join(ROOT, "target", "release", "bayesrg")
    k_inv = [[0.5 ** abs(i - j) for j in range(d)] for i in range(d)]
    eye = [[1.0 if i == j else 0.0 for j in range(d)] for i in range(d)]
    cfg = f"""seed = 1
paths = {a.paths}
dt = {dt}
save_at = [{a.steps * dt}]
y0 = {[1.0] * d}
sample_paths = 0
stepper = "euler_maruyama"

[drift]
type = "ou"
b = {matrix(eye)}

[diffusion]
type = "k_inv"
matrix = {matrix(k_inv)}
"""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.toml")
        with open(path, "w") as f:
            f.write(cfg)
        rust, peer = [], []
        for _ in range(a.repeats):
            out = os.path.join(tmp, "out")
            subprocess.run([exe, "sde", path, "--quiet", "--out", out], check=False)
            with open(os.path.join(out, "summary.json")) as f:
                rust.append(json.load(f)["details"]["path_steps_per_second"])
            # NumPy at its best: default BLAS threading and single-threaded BLAS
            # (which avoids oversubscription for these skinny products).
            for threads in (None, "1"):
                env = dict(os.environ)
                if threads:
                    env.update(OPENBLAS_NUM_THREADS=threads, OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
                r = subprocess.run([sys.executable, os.path.join(HERE, "numpy_em.py"), "--dim", str(d),
                                    "--paths", str(a.paths), "--steps", str(a.steps)],
                                   check=True, capture_output=True, text=True, env=env)
                peer.append(json.loads(r.stdout)["path_steps_per_second"])
    import numpy as np
    rng = np.random.default_rng(0)
    buf = np.empty(10_000_000)
    import time
    t0 = time.perf_counter()
    rng.standard_normal(out=buf)
    np_normals = buf.size / (time.perf_counter() - t0)
    br, bp = max(rust), max(peer)
    print(f"d = {d}, paths = {a.paths}, steps = {a.steps} (best of {a.repeats})")
    print(f"bayesrg: {br:.3e} path-steps/s   ({br * d:.3e} normals/s used)")
    print(f"NumPy:   {bp:.3e} path-steps/s (best of default and single-threaded BLAS)")
    print(f"ratio bayesrg / NumPy: {br / bp:.2f}")
    print(f"NumPy standard_normal alone: {np_normals:.3e} normals/s (one thread)")


if __name__ == "__main__":
    main()
