"""Sweeps (issue 15): the Python route against the command line, and a real
Dask cluster (a scheduler and two worker processes over TCP on 127.0.0.1,
started here) against the local run, with a worker killed mid-sweep."""

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

import bayesrg

# 240 tasks of a fast command: the Fisher metric of a normal model over
# decades of sigma and values of mu, 2 replicates.
SPEC = {
    "command": "fisher",
    "seed": 5,
    "replicates": 2,
    "base": {"model": {"type": "normal"}, "theta": [0.0, 1.0], "samples": 20000},
    "axes": [
        {"path": "theta[1]", "name": "sigma", "range": {"start": 1e-3, "stop": 1e3, "num": 20, "log": True}},
        {"path": "theta[0]", "name": "mu", "values": [-2.0, -1.0, 0.0, 1.0, 2.0, 3.0]},
    ],
}
N_TASKS = 20 * 6 * 2


def read(out, name):
    with open(os.path.join(out, name), "rb") as f:
        return f.read()


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("sweep") / "local")
    r = bayesrg.sweep(SPEC, out)
    assert (r.ok, r.failed, r.pending) == (N_TASKS, 0, 0)
    return out


def test_local_sweep_is_tidy_and_matches_its_oracle(local):
    import csv

    with open(os.path.join(local, "results.csv")) as f:
        rows = list(csv.DictReader(f))
    assert rows[0].keys() >= {"task", "sigma", "mu", "replicate", "quantity", "value"}
    # The closed-form Fisher metric of N(mu, sigma^2) is diag(1/sigma^2, 2/sigma^2):
    # every task's result must carry it, whatever sigma.
    tasks = {int(r["task"]) for r in rows}
    assert tasks == set(range(N_TASKS))
    task_files = os.listdir(os.path.join(local, "tasks"))
    assert len(task_files) == N_TASKS, "one file per task, none written twice"


def test_cli_gives_the_same_bytes(local, tmp_path):
    binary = os.environ.get("BAYESRG_BIN")
    if not binary:
        pytest.skip("BAYESRG_BIN not set (scripts/test-all sets it)")
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(SPEC))
    out = tmp_path / "cli"
    p = subprocess.run([binary, "sweep", str(spec), "--out", str(out), "--quiet"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert read(out, "results.csv") == read(local, "results.csv")
    assert read(out, "tasks.csv") == read(local, "tasks.csv")


def test_rerun_skips_finished_and_refuses_foreign_folders(local, tmp_path):
    before = {n: os.path.getmtime(os.path.join(local, "tasks", n)) for n in os.listdir(os.path.join(local, "tasks"))}
    r = bayesrg.sweep(SPEC, local)
    assert r.ok == N_TASKS
    after = {n: os.path.getmtime(os.path.join(local, "tasks", n)) for n in os.listdir(os.path.join(local, "tasks"))}
    assert before == after, "finished tasks are not run or written again"
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "precious.txt").write_text("keep me")
    with pytest.raises(bayesrg.InputError, match="not the folder of this bayesrg sweep"):
        bayesrg.sweep(SPEC, str(mine))
    assert os.listdir(mine) == ["precious.txt"]


def test_a_finished_python_sweep_lets_another_process_resume_its_folder(local):
    """Tryout 8 G1: a sweep holds its folder while it runs (a second sweep
    into it is refused as in use); `bayesrg.sweep` lets go when it returns,
    so the command line can resume the folder from this same session."""
    binary = os.environ.get("BAYESRG_BIN")
    if not binary:
        pytest.skip("BAYESRG_BIN not set (scripts/test-all sets it)")
    bayesrg.sweep(SPEC, local)  # holds and releases again
    spec = os.path.join(os.path.dirname(local), "spec.json")
    with open(spec, "w") as f:
        json.dump(SPEC, f)
    p = subprocess.run([binary, "sweep", spec, "--out", local, "--quiet"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert f"0 finished now, {N_TASKS} finished before" in p.stdout, p.stdout


def test_bad_spec_names_the_field(tmp_path):
    bad = dict(SPEC, axes=[{"path": "theta[7]", "values": [1.0]}])
    with pytest.raises(bayesrg.InputError, match=r"axes\[0\]\.path"):
        bayesrg.sweep(bad, str(tmp_path / "o"))


def test_the_worker_entry_point_runs_a_task():
    # What a Dask worker runs: command and config as JSON text in, the
    # outcome as JSON text out, never raising for a failed task. (Its binding
    # was once shadowed by another of the same name, and every task of a
    # cluster run failed.)
    from bayesrg.sweep import run_task

    base = dict(SPEC["base"], theta=[0.0, 2.0], samples=2000)
    out = json.loads(run_task("fisher", json.dumps(base)))
    assert out["result"]["closed_form"] == [[0.25, 0.0], [0.0, 0.5]]
    bad = json.loads(run_task("fisher", json.dumps(dict(base, theta=[0.0, -1.0]))))
    assert "sigma" in bad["error"]


def test_a_bad_task_is_refused_before_any_runs(tmp_path):
    # Every task's configuration is checked first (tryout 5 D2): a value the
    # model refuses is bad input naming the task, not a failed task.
    spec = dict(SPEC, replicates=1, axes=[{"path": "theta[1]", "values": [1.0, -1.0, 2.0]}])
    with pytest.raises(bayesrg.InputError, match=r"task 1 .*sigma"):
        bayesrg.sweep(spec, str(tmp_path / "o"))


def test_failed_task_is_reported_and_others_run(tmp_path):
    # θ* = 60 passes the checks made before any work but lies beyond the grid
    # [0, 40], which only the run sees (it needs the model).
    spec = {
        "command": "bayes",
        "base": {
            "theta_star": [3.5], "t": [0.0, 1.0, 10.0], "n_data": 20,
            "model": {"type": "poisson"},
            "prior": [{"dist": "gamma", "shape": 4.0, "rate": 1.0}],
            "grid": [{"lo": 0.0, "hi": 40.0, "n": 2000}],
        },
        "axes": [{"path": "theta_star[0]", "name": "rate", "values": [3.5, 60.0, 5.0]}],
    }
    r = bayesrg.sweep(spec, str(tmp_path / "o"))
    # θ* = 5 finishes, but its late-time check of eq. (35) at T = 10 fails
    # (0.107 > 0.1: T = 10 is not late enough for it), as `bayesrg bayes` on
    # that configuration exits 1: the sweep counts it apart (tryout 9 H2).
    assert (r.ok, r.check_failed, r.failed) == (1, 1, 1)
    text = read(tmp_path / "o", "tasks.csv").decode()
    assert "failed" in text and "theta* = 60" in text.split(",failed,", 1)[1]
    assert "check_failed,failed checks: checks[6]" in text


# ---------------------------------------------------------------- Dask
#
# Nothing of Dask runs inside the pytest process: the scheduler, the two
# workers and the client (`python -m bayesrg.sweep --scheduler`, the route
# `bayesrg sweep --scheduler` takes) are child processes, each in its own
# session, each waited for with a deadline and killed at teardown. A cluster
# that misbehaves fails this test; it cannot hang the suite.

DEADLINE = 300  # seconds for any one child; the sweep itself takes a few


def _start(args, log, env=None):
    return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True, env=env)


def _kill(p):
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass


@contextlib.contextmanager
def _cluster_at(tmp):
    """A scheduler and two one-thread worker processes on 127.0.0.1, logging
    into ``tmp``; yields (address, worker processes) and kills them all."""
    pytest.importorskip("distributed")
    sched_file = tmp / "scheduler.json"
    log_path = tmp / "cluster.log"
    logs = open(log_path, "wb")
    py = sys.executable
    procs = []
    try:
        procs.append(_start(
            [py, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
             "--no-dashboard", "--scheduler-file", str(sched_file)],
            logs,
        ))
        addr = None
        deadline = time.time() + 60
        while addr is None and time.time() < deadline:
            try:
                addr = json.loads(sched_file.read_text())["address"]
            except (OSError, ValueError, KeyError):  # not there yet, or half written
                time.sleep(0.1)
        assert addr, "the scheduler did not start: " + log_path.read_text(errors="replace")
        assert addr.startswith("tcp://127.0.0.1:"), addr
        workers = []
        for i in range(2):
            workers.append(_start(
                [py, "-m", "distributed.cli.dask_worker", addr, "--nthreads", "1",
                 "--no-nanny", "--no-dashboard", "--name", f"w{i}", "--host", "127.0.0.1"],
                logs,
            ))
        procs += workers
        # Wait for both workers from a child process too (a client in this
        # process would leave Dask's event loop thread behind).
        wait = subprocess.run(
            [py, "-c", "import sys; from distributed import Client; "
             "c = Client(sys.argv[1], timeout=60); c.wait_for_workers(2, timeout=60); c.close(timeout=20)", addr],
            capture_output=True, text=True, timeout=150, stdin=subprocess.DEVNULL,
        )
        assert wait.returncode == 0, "the workers did not join: " + wait.stderr[-2000:]
        yield addr, workers
    finally:
        for p in procs:
            _kill(p)
        logs.close()


@pytest.fixture()
def cluster(tmp_path):
    with _cluster_at(tmp_path) as c:
        yield c


@pytest.fixture(scope="module")
def shared_cluster(tmp_path_factory):
    """One cluster for the tests that do not harm it."""
    with _cluster_at(tmp_path_factory.mktemp("cluster")) as c:
        yield c[0]


def test_dask_cluster_with_a_killed_worker_gives_the_local_bytes(local, cluster, tmp_path):
    addr, workers = cluster
    out = str(tmp_path / "dask")
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(SPEC))
    log = open(tmp_path / "client.log", "wb")
    # The command line's route, `bayesrg sweep --scheduler` (which runs
    # `python -m bayesrg.sweep` with BAYESRG_PYTHON), when the binary is there.
    binary = os.environ.get("BAYESRG_BIN")
    args = [binary, "sweep"] if binary else [sys.executable, "-m", "bayesrg.sweep"]
    env = dict(os.environ, BAYESRG_PYTHON=sys.executable)
    client = _start(args + [str(spec), "--out", out, "--scheduler", addr], log, env)
    try:
        # Kill one worker once the cluster has made some progress: its tasks
        # (running or queued there) must be run again by the other worker.
        tasks_dir = os.path.join(out, "tasks")
        killed = False
        deadline = time.time() + DEADLINE
        while time.time() < deadline and client.poll() is None:
            if not killed and os.path.isdir(tasks_dir) and len(os.listdir(tasks_dir)) >= 20:
                os.killpg(workers[0].pid, signal.SIGKILL)
                killed = True
            time.sleep(0.02)
        rc = client.wait(timeout=max(1.0, deadline - time.time()))
    except subprocess.TimeoutExpired:
        pytest.fail(f"the Dask sweep did not finish within {DEADLINE} s")
    finally:
        _kill(client)
        log.close()
    text = (tmp_path / "client.log").read_text(errors="replace")
    assert rc == 0, text
    assert killed, "the sweep finished before a worker could be killed"
    assert workers[0].wait(timeout=10) == -signal.SIGKILL
    assert f"{N_TASKS} tasks: {N_TASKS} finished, 0 failed, 0 failed their checks, 0 pending" in text, text
    assert read(out, "results.csv") == read(local, "results.csv")
    assert read(out, "tasks.csv") == read(local, "tasks.csv")
    assert len(os.listdir(os.path.join(out, "tasks"))) == N_TASKS, "no task written twice"


SMALL = {
    "command": "fisher",
    "seed": 3,
    "base": {"model": {"type": "normal"}, "theta": [0.0, 1.0], "samples": 2000},
    "axes": [{"path": "theta[1]", "name": "sigma", "values": [0.5, 1.0, 2.0]}],
}


def test_an_unreadable_task_file_is_run_again_with_a_warning(tmp_path):
    # Tryout 5 D5: one truncated tasks/ID.json blocked every resume.
    out = tmp_path / "o"
    first = bayesrg.sweep(SMALL, str(out))
    assert first.ok == 3
    table = read(out, "results.csv")
    names = sorted(os.listdir(out / "tasks"))
    victim = out / "tasks" / names[1]
    whole = victim.read_bytes()
    victim.write_bytes(whole[: len(whole) // 2])
    (out / "notes.txt").write_text("mine")
    with pytest.warns(RuntimeWarning, match=r"task \d+, .*cannot be read .*runs again"):
        again = bayesrg.sweep(SMALL, str(out))
    assert (again.ok, again.failed, again.pending) == (3, 0, 0)
    assert victim.read_bytes() == whole, "the task ran again with its seed"
    assert read(out, "results.csv") == table
    assert (out / "notes.txt").read_text() == "mine"
    assert sorted(os.listdir(out / "tasks")) == names


def test_keep_keeps_named_texts_and_refuses_entries_matching_nothing(tmp_path, cli):
    # Tryout 5 D4: texts were never kept; a keep matching nothing gave an
    # empty table and exit 0.
    spec = dict(SMALL, keep=["verdict.reasons", "model"])
    r = bayesrg.sweep(spec, str(tmp_path / "texts"))
    df = r.results()
    assert set(df["quantity"]) >= {"verdict.reasons[0]", "model"}
    assert list(df.loc[df["quantity"] == "model", "value"]) == ["normal"] * 3
    bad = dict(SMALL, keep=["verdict.pass", "nonexistent", "verdict.reason_s"])
    with pytest.raises(bayesrg.InputError, match=r"`keep\[1\]` = \[\"nonexistent\", \"verdict.reason_s\"\] matches no quantity"):
        bayesrg.sweep(bad, str(tmp_path / "py"))
    # The command line: exit 2, one line naming the entries.
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    p = cli("sweep", str(path), "--out", str(tmp_path / "cli"), "--quiet")
    assert p.returncode == 2, p.stderr
    assert p.stderr.count("\n") == 1 and "nonexistent" in p.stderr, p.stderr


def test_python_errors_name_python_arguments(tmp_path):
    # Tryout 5 D9: `bayesrg.sweep(..., out)` errors said `--out`.
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "precious.txt").write_text("x")
    with pytest.raises(bayesrg.InputError, match=r"^`out` = "):
        bayesrg.sweep(SMALL, str(mine))


def _scheduler_cli(cli, tmp_path, address, **env):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(SMALL))
    binary = os.environ.get("BAYESRG_BIN")
    if not binary:
        pytest.skip("BAYESRG_BIN not set (scripts/test-all sets it)")
    e = dict(os.environ, BAYESRG_PYTHON=sys.executable, **env)
    return subprocess.run(
        [binary, "sweep", str(spec), "--out", str(tmp_path / "o"), "--scheduler", address],
        capture_output=True, text=True, env=e, timeout=120,
    )


def test_scheduler_errors_are_one_line(cli, tmp_path):
    # Tryout 5 D6: a 56-line traceback, a RuntimeWarning on every Dask run,
    # and exit 1 for a malformed address.
    p = _scheduler_cli(cli, tmp_path, "notanaddress")
    assert p.returncode == 2, p.stderr
    assert p.stderr.count("\n") == 1 and "notanaddress" in p.stderr, p.stderr
    assert not (tmp_path / "o").exists()
    p = _scheduler_cli(cli, tmp_path, "tcp://127.0.0.1:1", DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT="1s")
    assert p.returncode == 1, p.stderr
    lines = [l for l in p.stderr.splitlines() if l.startswith("error:")]
    assert len(lines) == 1 and "tcp://127.0.0.1:1" in lines[0] and "1s" in lines[0], p.stderr
    assert "Traceback" not in p.stderr and "RuntimeWarning" not in p.stderr, p.stderr


@pytest.mark.parametrize("address", ["inproc://x", "ucx://127.0.0.1:8799", "tls://127.0.0.1:8799", "",
                                     "tcp://127.0.0.1", "tcp://127.0.0.1:notaport"])
def test_unusable_scheduler_addresses_are_bad_input(cli, tmp_path, address):
    # Tryout 7 F16: inproc, ucx and tls ended in tracebacks (exit 1), and an
    # empty address ran the whole sweep on this machine without a word.
    pytest.importorskip("distributed")
    p = _scheduler_cli(cli, tmp_path, address)
    assert p.returncode == 2, p.stderr
    assert p.stderr.count("\n") == 1 and "--scheduler" in p.stderr, p.stderr
    assert f"{address!r}" in p.stderr, p.stderr
    assert not (tmp_path / "o").exists()


def test_an_address_without_a_scheduler_fails_with_the_reason(cli, tmp_path):
    # It parses, but nothing answers: a failed run (exit 1), one line naming
    # the address and the (here shortened) connect timeout.
    pytest.importorskip("distributed")
    p = _scheduler_cli(cli, tmp_path, "tcp://nosuchhost.invalid:8786",
                       DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT="2s")
    assert p.returncode == 1, p.stderr
    assert p.stderr.count("\n") == 1 and "--scheduler tcp://nosuchhost.invalid:8786" in p.stderr, p.stderr
    assert "within 2s" in p.stderr, p.stderr


# The sweep's command line as `bayesrg sweep --scheduler` runs it (`python -m
# bayesrg.sweep` adds runpy's warning that the package imported the module).
MAIN = [sys.executable, "-c", "from bayesrg.sweep import _main; raise SystemExit(_main())"]

BAD_TOML = 'command = "fisher"\nseed = = 5\n'


def _bad_toml_column():
    line = BAD_TOML.splitlines()[1]
    return line.index("=", line.index("=") + 1) + 1  # the second '=' of line 2


def test_a_malformed_spec_file_is_one_line_with_its_position(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(BAD_TOML)
    where = f"{bad}:2:{_bad_toml_column()}:"
    p = subprocess.run(MAIN + [str(bad), "--out", str(tmp_path / "o")], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2, p.stderr
    assert p.stderr.count("\n") == 1 and p.stderr.startswith(f"error: {where}"), p.stderr
    with pytest.raises(bayesrg.InputError, match="^" + re.escape(where)):
        bayesrg.sweep(str(bad), str(tmp_path / "o"))
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"command": "fisher",\n "seed": }')
    with pytest.raises(bayesrg.InputError, match="^" + re.escape(f"{bad_json}:2:10:")):
        bayesrg.sweep(str(bad_json), str(tmp_path / "o"))
    # A missing spec file is bad input too.
    missing = tmp_path / "missing.toml"
    p = subprocess.run(MAIN + [str(missing), "--out", str(tmp_path / "o")], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 2, p.stderr
    assert p.stderr.count("\n") == 1 and str(missing) in p.stderr, p.stderr
    with pytest.raises(bayesrg.InputError, match="cannot read the sweep spec"):
        bayesrg.sweep(str(missing), str(tmp_path / "o"))
    assert not (tmp_path / "o").exists()


def test_a_spec_dict_error_names_the_key_path(tmp_path):
    # Tryout 7 F19: positions in the JSON text made from the dict.
    bad = dict(SMALL, axes=[{"path": "theta[1]", "range": {"start": 1.0, "stop": 2.0, "num": -3}}])
    with pytest.raises(bayesrg.InputError, match=r"`axes\[0\]\.range\.num`") as e:
        bayesrg.sweep(bad, str(tmp_path / "o"))
    assert "column" not in str(e.value), e.value


def test_scheduler_without_the_package_says_how_to_point_at_it(cli, tmp_path):
    other = "/usr/bin/python3"
    if not os.path.exists(other) or subprocess.run([other, "-c", "import bayesrg"], capture_output=True).returncode == 0:
        pytest.skip("needs an interpreter without bayesrg at /usr/bin/python3")
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(SMALL))
    binary = os.environ.get("BAYESRG_BIN")
    if not binary:
        pytest.skip("BAYESRG_BIN not set (scripts/test-all sets it)")
    p = subprocess.run(
        [binary, "sweep", str(spec), "--out", str(tmp_path / "o"), "--scheduler", "tcp://127.0.0.1:1"],
        capture_output=True, text=True, env=dict(os.environ, BAYESRG_PYTHON=other), timeout=120,
    )
    assert p.returncode == 2, p.stderr
    assert p.stderr.count("\n") == 1 and "BAYESRG_PYTHON" in p.stderr, p.stderr


# ------------------------------------------------ signals (tryout 7 F15)
#
# `bayesrg sweep --scheduler` runs the sweep in a Python child. A signal sent
# to bayesrg's process alone (a batch system's SIGTERM, `timeout`'s) reached
# only bayesrg, which died while the orphaned child went on writing into
# --out. Now bayesrg forwards it, waits, and exits 130; the child stops
# between two task files. If bayesrg is killed outright, Linux signals the
# child (PR_SET_PDEATHSIG).

SLOW = dict(SPEC, seed=11, base=dict(SPEC["base"], samples=400000))


def _children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def _alive(pid):
    """Whether process `pid` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _temporaries(out):
    tasks = os.path.join(out, "tasks")
    return [n for n in os.listdir(tasks) if n.startswith(".")] if os.path.isdir(tasks) else []


@contextlib.contextmanager
def _cluster_sweep(addr, tmp_path):
    """`bayesrg sweep SLOW --scheduler addr` in its own process group, once
    its Python child runs and a few task files are written: yields (bayesrg
    process, child pid, out folder, stderr path)."""
    binary = os.environ.get("BAYESRG_BIN")
    if not binary:
        pytest.skip("BAYESRG_BIN not set (scripts/test-all sets it)")
    if not os.path.exists("/proc/self/task"):
        pytest.skip("needs Linux's /proc")
    spec = tmp_path / "slow.json"
    spec.write_text(json.dumps(SLOW))
    out = str(tmp_path / "o")
    err_path = tmp_path / "stderr.log"
    err = open(err_path, "wb")
    env = dict(os.environ, BAYESRG_PYTHON=sys.executable)
    p = _start([binary, "sweep", str(spec), "--out", out, "--scheduler", addr], err, env)
    try:
        child = None
        deadline = time.time() + 60
        while time.time() < deadline and p.poll() is None:
            child = child or next(iter(_children(p.pid)), None)
            tasks = os.path.join(out, "tasks")
            if child and os.path.isdir(tasks) and len(os.listdir(tasks)) >= 4:
                break
            time.sleep(0.02)
        assert p.poll() is None, "the sweep ended before the signal: " + err_path.read_text(errors="replace")
        assert child is not None and _alive(child)
        yield p, child, out, err_path
    finally:
        _kill(p)
        err.close()


@pytest.mark.parametrize("how", ["SIGTERM", "SIGHUP", "SIGINT", "group SIGINT"])
def test_a_signal_to_bayesrg_stops_the_cluster_sweep_with_130(shared_cluster, tmp_path, how):
    with _cluster_sweep(shared_cluster, tmp_path) as (p, child, out, err_path):
        if how == "group SIGINT":  # Ctrl-C in a terminal: both processes get it
            os.killpg(p.pid, signal.SIGINT)
        else:  # to bayesrg's process alone
            os.kill(p.pid, getattr(signal, how))
        rc = p.wait(timeout=60)
        # bayesrg waited for its child (and reaped it): nothing writes on.
        assert not _alive(child)
    err = err_path.read_text(errors="replace")
    assert rc == 130, err
    assert err.count("\n") == 1 and err.startswith("interrupted:") and "rerun resumes" in err, err
    assert _temporaries(out) == []
    kept = len(os.listdir(os.path.join(out, "tasks")))
    assert 4 <= kept < N_TASKS
    if how == "SIGTERM":
        # The finished tasks are kept: a rerun (here on this machine) runs
        # only the others.
        r = subprocess.run([os.environ["BAYESRG_BIN"], "sweep", str(tmp_path / "slow.json"), "--out", out,
                            "--quiet"], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        assert f"{N_TASKS} tasks: {N_TASKS - kept} finished now, {kept} finished before, 0 failed" in r.stdout


def test_sigkill_of_bayesrg_ends_its_python_child(shared_cluster, tmp_path):
    with _cluster_sweep(shared_cluster, tmp_path) as (p, child, out, _err):
        os.kill(p.pid, signal.SIGKILL)
        assert p.wait(timeout=30) == -signal.SIGKILL
        deadline = time.time() + 60
        while _alive(child) and time.time() < deadline:
            time.sleep(0.05)
        assert not _alive(child), "the Python child outlived bayesrg and goes on writing"
    assert _temporaries(out) == []
    assert len(os.listdir(os.path.join(out, "tasks"))) < N_TASKS


def test_a_killed_python_child_is_reported(shared_cluster, tmp_path):
    with _cluster_sweep(shared_cluster, tmp_path) as (p, child, out, err_path):
        os.kill(child, signal.SIGKILL)
        rc = p.wait(timeout=60)
    err = err_path.read_text(errors="replace")
    assert rc == 1, err
    assert err.count("\n") == 1 and "SIGKILL" in err and "rerun resumes" in err, err
