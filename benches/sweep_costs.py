"""Sweep costs for docs/scaling.md (issue 15): per-task time and bytes of each
command, and one sweep's wall time on this machine's threads and on a local
Dask cluster of 1 and 2 worker processes, side by side in one run.

Run from the repository root, with the package installed in a Python that has
`distributed` (scripts/test-all leaves one in target/pyvenv):

    cargo build --release            # or: BAYESRG_BIN=target/debug/bayesrg (dev build)
    target/pyvenv/bin/python benches/sweep_costs.py [--bin target/release/bayesrg]

It prints Markdown tables. Nothing here is a test: it measures, on whatever
machine runs it (say in the docs whether that machine was quiet).
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# command -> its example config (each command's own example, run as a
# 4-replicate sweep on one thread so the per-task time is one core's).
EXAMPLES = {
    "fisher": "examples/normal.toml",
    "flow": "examples/flow/sum_of_exponentials.toml",
    "bayes": "examples/bayes/poisson.toml",
    "sde": "examples/sde/ou_sra1.toml",
}


def load_toml(path):
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        import tomli as tomllib
    with open(path, "rb") as f:
        return tomllib.load(f)


def write_spec(folder, spec):
    path = os.path.join(folder, "spec.json")
    with open(path, "w") as f:
        json.dump(spec, f)
    return path


def run_cli(binary, spec_path, out, threads):
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    t = time.perf_counter()
    p = subprocess.run([binary, "sweep", spec_path, "--out", out, "--quiet"], env=env,
                       capture_output=True, text=True)
    dt = time.perf_counter() - t
    if p.returncode != 0:
        raise SystemExit(f"sweep failed ({p.returncode}): {p.stderr}{p.stdout}")
    return dt


def sizes(out):
    """Mean bytes sent (the task's config as JSON) and returned (its result as JSON)."""
    sent, back, n = 0, 0, 0
    tasks = os.path.join(out, "tasks")
    for name in os.listdir(tasks):
        if not name.endswith(".json") or name.endswith(".error.json"):
            continue
        with open(os.path.join(tasks, name)) as f:
            t = json.load(f)
        sent += len(json.dumps(t["task"]["config"], separators=(",", ":")))
        back += len(json.dumps(t.get("result", t.get("Result")), separators=(",", ":")))
        n += 1
    return sent / n, back / n


def per_task_costs(binary, work, reps):
    rows = []
    for command, example in EXAMPLES.items():
        base = load_toml(os.path.join(ROOT, example))
        spec = {"command": command, "seed": 11, "replicates": reps, "base": base, "axes": []}
        folder = tempfile.mkdtemp(dir=work)
        out = os.path.join(folder, "out")
        dt = run_cli(binary, write_spec(folder, spec), out, threads=1)
        s, b = sizes(out)
        rows.append((command, example, dt / reps, s, b))
    return rows


def py_local(spec_path, out, threads):
    """Wall time of `python -m bayesrg.sweep` without a scheduler: the same
    compiled package as the Dask rows, on this machine's rayon threads."""
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bayesrg.sweep", spec_path, "--out", out], check=True,
                   timeout=3600, capture_output=True, env=env)
    return time.perf_counter() - t


def start(args, log):
    return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)


def stop(p):
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGKILL)
    p.wait(timeout=30)


def dask_wall(spec_path, out, workers, work):
    """Wall time of `python -m bayesrg.sweep --scheduler` on a fresh local
    cluster: a scheduler and `workers` single-threaded worker processes, each
    task on one thread (RAYON_NUM_THREADS=1)."""
    py = sys.executable
    sched_file = os.path.join(work, f"scheduler-{workers}.json")
    log = open(os.path.join(work, f"cluster-{workers}.log"), "wb")
    env = dict(os.environ, RAYON_NUM_THREADS="1")
    procs = [start([py, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
                    "--no-dashboard", "--scheduler-file", sched_file], log)]
    try:
        addr, deadline = None, time.time() + 60
        while addr is None and time.time() < deadline:
            try:
                with open(sched_file) as f:
                    addr = json.load(f)["address"]
            except (OSError, ValueError, KeyError):
                time.sleep(0.1)
        for i in range(workers):
            procs.append(subprocess.Popen(
                [py, "-m", "distributed.cli.dask_worker", addr, "--nthreads", "1", "--no-nanny",
                 "--no-dashboard", "--name", f"w{i}", "--host", "127.0.0.1"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                start_new_session=True))
        subprocess.run([py, "-c", "import sys; from distributed import Client; "
                        "c = Client(sys.argv[1], timeout=60); c.wait_for_workers(int(sys.argv[2]), timeout=60); "
                        "c.close()", addr, str(workers)], check=True, timeout=150)
        t = time.perf_counter()
        subprocess.run([py, "-m", "bayesrg.sweep", spec_path, "--out", out, "--scheduler", addr],
                       check=True, timeout=3600, capture_output=True)
        return time.perf_counter() - t
    finally:
        for p in procs:
            stop(p)
        log.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.environ.get("BAYESRG_BIN", os.path.join(ROOT, "target/release/bayesrg")))
    ap.add_argument("--reps", type=int, default=4)
    ap.add_argument("--tasks", type=int, default=120, help="tasks of the scaling sweep")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="bayesrg-sweep-costs-")
    try:
        print(f"binary: {a.bin}; machine: {os.cpu_count()} cores; date: {time.strftime('%Y-%m-%d %H:%M %Z')}")
        print("\n| command (example config) | seconds per task | sent | returned |\n|---|---|---|---|")
        for command, example, t, s, b in per_task_costs(a.bin, work, a.reps):
            print(f"| `{command}` ({example}) | {t:.3g} | {s:.0f} B | {b / 1000:.1f} kB |")

        # Scaling: one Fisher sweep of `tasks` tasks (200,000 samples each),
        # through the Python package (the same compiled code for every row):
        # on 1 and 2 local threads, and on 1 and 2 Dask workers.
        spec = {"command": "fisher", "seed": 3, "replicates": 1,
                "base": {"model": {"type": "normal"}, "theta": [0.0, 1.0], "samples": 200000},
                "axes": [{"path": "theta[1]", "name": "sigma",
                          "range": {"start": 1e-3, "stop": 1e3, "num": a.tasks, "log": True}}]}
        spec_path = write_spec(work, spec)
        print(f"\n| {a.tasks} Fisher tasks (200,000 samples each) | wall seconds | speed-up |\n|---|---|---|")
        base = None
        ref = None
        for label, fn in [
            ("this machine, 1 thread", lambda o: py_local(spec_path, o, 1)),
            ("this machine, 2 threads", lambda o: py_local(spec_path, o, 2)),
            ("Dask, 1 worker", lambda o: dask_wall(spec_path, o, 1, work)),
            ("Dask, 2 workers", lambda o: dask_wall(spec_path, o, 2, work)),
        ]:
            out = tempfile.mkdtemp(dir=work)
            shutil.rmtree(out)
            dt = fn(out)
            with open(os.path.join(out, "results.csv"), "rb") as f:
                data = f.read()
            ref = ref or data
            same = "same bytes" if data == ref else "DIFFERENT BYTES"
            base = base or dt
            print(f"| {label} | {dt:.2f} | {base / dt:.2f}× ({same}) |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
