"""Parameter studies: one command over axes of its configuration (issue 15).

A sweep spec is a dict (or a TOML/JSON file) with the same keys as for
``bayesrg sweep SPEC --out DIR`` (docs/scaling.md)::

    spec = {
        "command": "fisher", "seed": 7,
        "base": {"model": {"type": "normal"}, "theta": [0.0, 1.0], "samples": 4000},
        "axes": [{"path": "theta[1]", "range": {"start": 1e-3, "stop": 1e3, "num": 7, "log": True}}],
    }
    res = bayesrg.sweep(spec, "out/sweep")                    # this machine
    res = bayesrg.sweep(spec, "out/sweep", client=client)     # a Dask cluster
    df = res.results()                                        # pandas, one row per task and quantity

Every task's seed is derived from the sweep's seed and the task's
coordinates, so its result does not depend on where or beside what it runs;
each outcome is written once into ``DIR/tasks/``, and the folder is merged by
the same Rust function as the command line's, so a cluster run gives the same
bytes as a local one. A rerun into the same folder skips finished tasks.

On a cluster only the task's command and configuration (JSON text, about a
kilobyte) travel to the worker, and its outcome (JSON) comes back; the client
writes the files. Workers need this package installed (same version).
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from dataclasses import dataclass
from typing import Any, Dict, Optional, Union

from . import _bayesrg

__all__ = ["sweep", "run_task", "SweepResult"]


def run_task(command: str, config_json: str) -> str:
    """Run one task: ``command`` on ``config_json``; its outcome as JSON text.

    This is what a Dask worker runs. It never raises for a failed task: the
    outcome ``{"error": "..."}`` carries the reason back to the client.
    """
    return _bayesrg.sweep_run_task(command, config_json)


@dataclass(frozen=True)
class SweepResult:
    """A merged sweep folder.

    Attributes:
        out: the results folder.
        ok: tasks finished; failed: tasks that failed (see ``tasks()``);
        pending: tasks without an outcome.
    """

    out: str
    ok: int
    failed: int
    pending: int

    @property
    def results_csv(self) -> str:
        """Path of the tidy table: task, axes…, quantity, value."""
        return os.path.join(self.out, "results.csv")

    @property
    def tasks_csv(self) -> str:
        """Path of the task table: task, id, axes…, seed, status, error."""
        return os.path.join(self.out, "tasks.csv")

    def results(self):
        """The tidy table as a pandas DataFrame (needs pandas)."""
        import pandas as pd

        return pd.read_csv(self.results_csv)

    def tasks(self):
        """The task table as a pandas DataFrame (needs pandas)."""
        import pandas as pd

        return pd.read_csv(self.tasks_csv, keep_default_na=False)


def _spec_text(spec: Union[Dict[str, Any], str, os.PathLike]) -> tuple:
    """The spec as JSON text, and the input files (for the --out rules)."""
    if isinstance(spec, dict):
        return json.dumps(spec), []
    path = os.fspath(spec)
    with open(path, "rb") as f:
        raw = f.read()
    if path.endswith(".json"):
        return json.dumps(json.loads(raw)), [path]
    try:
        import tomllib  # Python >= 3.11
    except ImportError:  # pragma: no cover
        import tomli as tomllib  # type: ignore[no-redef]
    return json.dumps(tomllib.loads(raw.decode("utf-8"))), [path]


def sweep(
    spec: Union[Dict[str, Any], str, os.PathLike],
    out: Union[str, os.PathLike],
    client: Optional[Any] = None,
) -> SweepResult:
    """Run a sweep and merge it.

    Args:
        spec: a dict, or the path of a TOML or JSON sweep spec.
        out: the results folder: created, or an earlier run of a sweep
            resumed. A folder that is not a sweep's is refused untouched
            (``InputError``).
        client: a ``distributed.Client``; ``None`` runs on this machine's
            threads. On a cluster a worker that dies has its tasks run again
            elsewhere (Dask's rescheduling); a task whose workers keep dying
            is recorded as failed.

    Returns:
        The counts, and the paths of ``results.csv`` and ``tasks.csv``.

    Raises:
        InputError: a bad spec (the message names the field) or ``out``.
    """
    text, inputs = _spec_text(spec)
    out = os.fspath(out)
    opened = json.loads(_bayesrg.sweep_open(out, text, inputs))
    for w in opened["warnings"]:
        warnings.warn(w, RuntimeWarning, stacklevel=2)
    pending = opened["pending"]
    if client is None:
        _bayesrg.sweep_local(out, text)
    elif pending:
        from distributed import as_completed

        by_key: Dict[str, Any] = {}
        futures = []
        for task in pending:
            key = f"bayesrg-task-{task['id']}"
            if key in by_key:  # equal configurations are one task
                continue
            by_key[key] = task
            futures.append(
                client.submit(run_task, task["command"], json.dumps(task["config"]), key=key, pure=False)
            )
        for fut in as_completed(futures):
            task = by_key[fut.key]
            try:
                outcome = fut.result()
            except Exception as e:  # the task's workers died, or it was lost
                outcome = json.dumps({"error": f"the cluster lost the task: {type(e).__name__}: {e}"})
            _bayesrg.sweep_record(out, json.dumps(task), outcome)
    ok, failed, pending_n = _bayesrg.sweep_merge(out, text)
    return SweepResult(out=out, ok=ok, failed=failed, pending=pending_n)


def _check_address(address: str) -> Optional[str]:
    """Why ``address`` is not a Dask scheduler address, or None."""
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        scheme, loc = parse_address(address)
        if scheme in ("tcp", "tls", "ws", "wss", "ucx"):
            parse_host_port(loc)
    except (ValueError, TypeError) as e:
        return str(e)
    return None


def _main(argv=None, prog: str = "python -m bayesrg.sweep") -> int:
    """``python -m bayesrg.sweep SPEC --out DIR --scheduler ADDRESS`` (what
    ``bayesrg sweep --scheduler`` runs). Exit status: 0 all finished, 1 a task
    failed or the cluster could not be reached (one line, naming the address
    and the timeout), 2 bad input (the spec, ``--out``, a malformed address;
    one line), 130 interrupted."""
    import argparse

    p = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    p.add_argument("spec")
    p.add_argument("--out", required=True)
    p.add_argument("--scheduler", help="a Dask scheduler address, tcp://HOST:PORT")
    a = p.parse_args(argv)
    client = None
    try:
        if a.scheduler:
            import dask
            from distributed import Client

            why = _check_address(a.scheduler)
            if why is not None:
                print(
                    f"error: --scheduler {a.scheduler!r} is not a Dask scheduler address "
                    f"({why}); give tcp://HOST:PORT",
                    file=sys.stderr,
                    flush=True,
                )
                return 2
            timeout = dask.config.get("distributed.comm.timeouts.connect")
            try:
                client = Client(a.scheduler, timeout=timeout)
            except (OSError, TimeoutError) as e:
                print(
                    f"error: no Dask scheduler answered at {a.scheduler} within {timeout} "
                    f"(distributed.comm.timeouts.connect; DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT "
                    f"sets it): {type(e).__name__}: {e}".rstrip(": "),
                    file=sys.stderr,
                    flush=True,
                )
                return 1
        r = sweep(a.spec, a.out, client=client)
    except _bayesrg.InputError as e:
        print(f"error: {e}", file=sys.stderr, flush=True)
        return 2
    except (_bayesrg.ComputationError, OSError) as e:
        print(f"error: {e}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("interrupted: finished tasks are kept; a rerun resumes", file=sys.stderr, flush=True)
        return 130
    finally:
        if client is not None:
            client.close()
    print(f"{r.ok + r.failed + r.pending} tasks: {r.ok} finished, {r.failed} failed, {r.pending} pending")
    print(f"results: {r.results_csv}")
    return 0 if r.failed == 0 and r.pending == 0 else 1


if __name__ == "__main__":
    raise SystemExit(_main())
