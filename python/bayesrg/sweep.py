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
from ._bayesrg import InputError

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
        ok: tasks finished with every check passed; failed: tasks that
        failed (see ``tasks()``); pending: tasks without an outcome;
        check_failed: tasks finished with a failed check (status
        ``check_failed`` in ``tasks()``; what the command line reports by
        exit status 1).
    """

    out: str
    ok: int
    failed: int
    pending: int
    check_failed: int = 0

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
    """The spec as JSON text, and the input files (for the --out rules).

    A file that cannot be read, is not UTF-8, or does not parse is
    ``InputError``: one line, with ``file:line:col`` for a syntax error."""
    if isinstance(spec, dict):
        return json.dumps(spec), []
    path = os.fspath(spec)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise InputError(f"cannot read the sweep spec `{path}`: {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line, col = _line_col(raw[: e.start].decode("utf-8", "replace"))
        raise InputError(f"{path}:{line}:{col}: the sweep spec is not UTF-8 text") from None
    if path.endswith(".json"):
        try:
            return json.dumps(json.loads(text)), [path]
        except json.JSONDecodeError as e:
            raise InputError(f"{path}:{e.lineno}:{e.colno}: invalid JSON: {e.msg}") from None
    try:
        import tomllib  # Python >= 3.11
    except ImportError:  # pragma: no cover
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        return json.dumps(tomllib.loads(text)), [path]
    except tomllib.TOMLDecodeError as e:
        msg, line, col = _toml_error(e, text)
        raise InputError(f"{path}:{line}:{col}: invalid TOML: {msg}") from None


def _line_col(before: str) -> tuple:
    """1-based line and column just after the text ``before``."""
    return before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1


def _toml_error(e: Exception, text: str) -> tuple:
    """The message, line and column of a ``TOMLDecodeError`` (its attributes
    from Python 3.14 on; before, the ``(at line L, column C)`` or ``(at end
    of document)`` tail of its text)."""
    import re

    if getattr(e, "lineno", None) is not None:
        return e.msg, e.lineno, e.colno  # type: ignore[attr-defined]
    m = re.fullmatch(r"(.*) \(at (?:line (\d+), column (\d+)|end of document)\)", str(e), re.S)
    if m is None:
        return str(e), *_line_col(text)
    if m.group(2) is None:
        return m.group(1), *_line_col(text)
    return m.group(1), int(m.group(2)), int(m.group(3))


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
        InputError: a bad spec (the message names the field; for a file that
            does not parse, ``file:line:col``), a spec file that cannot be
            read, or a bad ``out``.
    """
    text, inputs = _spec_text(spec)
    out = os.fspath(out)
    opened = json.loads(_bayesrg.sweep_open(out, text, inputs))
    # sweep_open holds the folder against other processes' sweeps (a
    # second sweep into it is refused); let go when this one ends.
    try:
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
        ok, check_failed, failed, pending_n = _bayesrg.sweep_merge(out, text)
    finally:
        _bayesrg.sweep_release(out)
    return SweepResult(out=out, ok=ok, failed=failed, pending=pending_n, check_failed=check_failed)


def _check_address(address: str) -> Optional[str]:
    """Why ``address`` is not an address ``--scheduler`` can use, or None.

    Only ``tcp://HOST:PORT`` (or ``HOST:PORT``) is taken: ``tls://`` needs
    security settings this command line cannot pass, ``inproc://`` is a
    cluster inside one process, and ``ucx://``, ``ws://``, ``wss://`` need
    extra packages and settings; a ``distributed.Client`` made in Python can
    use any of them with ``bayesrg.sweep(..., client=client)``."""
    from distributed.comm.addressing import parse_address, parse_host_port

    if not address.strip():
        return "it is empty"
    try:
        scheme, loc = parse_address(address)
    except (ValueError, TypeError) as e:
        return str(e)
    if scheme != "tcp":
        return (
            f"the scheme {scheme}:// is not supported here (only tcp://; for another one make a "
            "distributed.Client in Python and call bayesrg.sweep(spec, out, client=client))"
        )
    try:
        _host, port = parse_host_port(loc)
    except (ValueError, TypeError) as e:
        return str(e)
    if port is None:
        return "it has no port"
    return None


def _stop_on_signals() -> None:
    """SIGINT, SIGTERM and SIGHUP raise ``KeyboardInterrupt`` once (later ones
    are ignored), so the sweep stops between two task files whichever comes:
    ``bayesrg sweep --scheduler`` forwards the signals it gets, and with
    Ctrl-C in a terminal both processes get one; if bayesrg dies, Linux
    sends SIGTERM here (``PR_SET_PDEATHSIG``)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return
    fired = []

    def handler(signum, frame):
        if fired:
            return
        fired.append(signum)
        raise KeyboardInterrupt

    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), handler)


def _error(text: str, status: int) -> int:
    print(f"error: {text}", file=sys.stderr, flush=True)
    return status


def _main(argv=None, prog: str = "python -m bayesrg.sweep") -> int:
    """``python -m bayesrg.sweep SPEC --out DIR --scheduler ADDRESS`` (what
    ``bayesrg sweep --scheduler`` runs). Exit status: 0 all finished, 1 a task
    failed or the cluster could not be reached or failed (one line, naming
    the address and the timeout), 2 bad input (the spec, ``--out``, an empty,
    malformed or unsupported address; one line), 130 interrupted (SIGINT,
    SIGTERM, SIGHUP: the finished tasks are kept)."""
    import argparse

    p = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    p.add_argument("spec")
    p.add_argument("--out", required=True)
    p.add_argument("--scheduler", help="a Dask scheduler address, tcp://HOST:PORT")
    a = p.parse_args(argv)
    _stop_on_signals()
    try:
        return _run_main(a)
    except KeyboardInterrupt:  # at any point, also while closing the client
        print("interrupted: finished tasks are kept; a rerun resumes", file=sys.stderr, flush=True)
        return 130


def _run_main(a) -> int:
    """:func:`_main` after its arguments are parsed; a ``KeyboardInterrupt``
    passes through."""
    client = None
    try:
        _spec_text(a.spec)  # a spec file that does not parse fails before any connection
        if a.scheduler is not None:
            why = _check_address(a.scheduler)
            if why is not None:
                return _error(
                    f"--scheduler {a.scheduler!r} is not a Dask scheduler address this command can use "
                    f"({why}); give tcp://HOST:PORT",
                    2,
                )
            import dask
            from distributed import Client

            timeout = dask.config.get("distributed.comm.timeouts.connect")
            try:
                client = Client(a.scheduler, timeout=timeout)
            except (OSError, TimeoutError) as e:
                return _error(
                    f"no Dask scheduler answered at --scheduler {a.scheduler} within {timeout} "
                    f"(distributed.comm.timeouts.connect; DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT "
                    f"sets it): {type(e).__name__}: {e}".rstrip(": "),
                    1,
                )
            except (ValueError, TypeError) as e:  # an address Dask's Client refuses
                return _error(f"--scheduler {a.scheduler!r}: Dask refuses the address ({e}); give tcp://HOST:PORT", 2)
        r = sweep(a.spec, a.out, client=client)
    except _bayesrg.InputError as e:
        return _error(str(e), 2)
    except (_bayesrg.ComputationError, OSError) as e:
        return _error(str(e), 1)
    except Exception as e:  # the cluster failed under the sweep (its scheduler died, ...)
        where = f" on the cluster at {a.scheduler}" if a.scheduler else ""
        return _error(
            f"the sweep failed{where}: {type(e).__name__}: {e}; finished tasks are kept, a rerun resumes".replace(
                "\n", " "
            ),
            1,
        )
    finally:
        if client is not None:
            try:
                client.close()
            except Exception:  # noqa: BLE001 - the sweep's own status is what counts
                pass
    print(
        f"{r.ok + r.check_failed + r.failed + r.pending} tasks: {r.ok} finished, {r.failed} failed, "
        f"{r.check_failed} failed their checks, {r.pending} pending"
    )
    print(f"results: {r.results_csv}")
    return 0 if r.failed == 0 and r.check_failed == 0 and r.pending == 0 else 1


if __name__ == "__main__":
    raise SystemExit(_main())
