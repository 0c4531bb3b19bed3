"""Shared fixtures of the Python package's tests (run by scripts/test-all)."""
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def cli():
    """The `bayesrg` command line built by `cargo test --workspace`
    (BAYESRG_BIN overrides). scripts/test-all sets BAYESRG_REQUIRE_CLI=1, so
    the comparison with the command line cannot be skipped silently there."""
    path = pathlib.Path(os.environ.get("BAYESRG_BIN", ROOT / "target" / "debug" / "bayesrg"))
    if not path.exists():
        if os.environ.get("BAYESRG_REQUIRE_CLI") == "1":
            pytest.fail(f"the bayesrg binary is missing at {path}: run `cargo build` first")
        pytest.skip(f"the bayesrg binary is missing at {path}")

    def run(*args, cwd=None):
        r = subprocess.run([str(path), *args], capture_output=True, text=True, cwd=cwd)
        return r

    return run
