#!/usr/bin/env python3
"""Wall and CPU time of `bayesrg reproduce` with its defaults, stage by stage
(issue 13, item 6).

Usage, from the repository root:

    python3 benches/reproduce_wall.py [--profile release|dev] [--threads 2,1]
        [--before OTHER_BAYESRG] [--per-stage]

Builds the `bayesrg` binary in the given cargo profile (release by default)
and runs `bayesrg reproduce --quiet --out <temporary folder>` once per thread
count (RAYON_NUM_THREADS); with --before, the given other binary (an earlier
build) runs right after it with the same settings, so that both see the same
machine load. Prints per run: the wall time, the CPU time of the process
(user + system over all its threads), the seconds of each stage (the report's
timings.json), whether every check passed, and the load average. With
--per-stage, each stage also runs alone (`--only NAME`) for its own CPU time.

On a shared machine the wall time measures the load, not bayesrg: with N
runnable processes on 2 cores a run gets about 2/N of them. The CPU time does
not depend on the load (up to cache effects). With one thread a quiet machine
needs about the CPU time as wall time (plus file writes); with two, at least
half of it. No timing here is a test: the checks are the reproduction's own.
"""
import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
STAGES = ["fisher", "sde", "fokker_planck", "dynamical_bayes", "geometry", "autoencoder"]


def cpu_children():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run(exe, threads, only=None):
    tmp = tempfile.mkdtemp(prefix="brg-reproduce-")
    out = os.path.join(tmp, "report")
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    args = [exe, "reproduce", "--quiet", "--out", out]
    if only:
        args += ["--only", only]
    c0 = cpu_children()
    t0 = time.perf_counter()
    r = subprocess.run(args, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    cpu = cpu_children() - c0
    try:
        summary = json.load(open(os.path.join(out, "summary.json")))
        timings = json.load(open(os.path.join(out, "timings.json")))
        passed = summary["pass"]
    except OSError:
        timings, passed = {}, False
    shutil.rmtree(tmp, ignore_errors=True)
    last = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else r.stderr[-500:]
    return wall, cpu, timings, passed and r.returncode == 0, last


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default="release")
    ap.add_argument("--threads", default="2,1")
    ap.add_argument("--before", help="another bayesrg binary, run right after this build's")
    ap.add_argument("--per-stage", action="store_true")
    ap.add_argument("--no-build", action="store_true", help="use the binary as it is")
    a = ap.parse_args()
    if not a.no_build:
        subprocess.run(["cargo", "build", "--quiet", "--profile", a.profile, "--bin", "bayesrg"],
                       cwd=ROOT, check=True)
    folder = "debug" if a.profile == "dev" else a.profile
    exe = os.path.join(ROOT, "target", folder, "bayesrg")
    sides = [("this build", exe)] + ([("before", a.before)] if a.before else [])
    print(f"profile {a.profile}; {os.cpu_count()} cores; load average before: {os.getloadavg()}")
    ok = True
    for threads in [int(t) for t in a.threads.split(",")]:
        for label, path in sides:
            wall, cpu, timings, passed, last = run(path, threads)
            ok &= passed
            stages = ", ".join(f"{n} {s:.1f}" for n, s in timings.items())
            print(f"{label}, {threads} thread(s): wall {wall:.1f} s, CPU {cpu:.1f} s, "
                  f"{'PASS' if passed else 'FAIL'}; stage seconds: {stages}; "
                  f"load average now: {os.getloadavg()}", flush=True)
            print(f"    {last}", flush=True)
            if a.per_stage:
                for st in STAGES:
                    w, c, _, p, _ = run(path, threads, st)
                    ok &= p
                    print(f"    --only {st}: wall {w:.1f} s, CPU {c:.1f} s, {'PASS' if p else 'FAIL'}",
                          flush=True)
    print(f"load average after: {os.getloadavg()}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
