"""examples/python-tour.ipynb runs from top to bottom without an error
(issue 14: the notebook is executed by the test suite so that it cannot rot).

Executed through nbclient in a fresh kernel of this interpreter; each cell has
a time limit (the whole notebook takes seconds on the dev build), and the
kernel is shut down at the end whatever happens. The notebook's own `assert`
cells check its numbers (the Python model passes the validator, n_eff of the
flow is the closed form Σλ/(λ+τ), the Fisher scheme beats random removal).
"""
import pathlib

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

NOTEBOOK = pathlib.Path(__file__).resolve().parents[2] / "examples" / "python-tour.ipynb"


def test_the_python_tour_notebook_runs(tmp_path, monkeypatch):
    # The kernel draws with matplotlib's inline backend (headless PNGs).
    monkeypatch.delenv("MPLBACKEND", raising=False)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=120,  # seconds per cell
        startup_timeout=60,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()  # raises CellExecutionError naming the cell on any error
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    # The figures were drawn (inline PNGs).
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 2
