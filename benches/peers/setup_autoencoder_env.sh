#!/usr/bin/env bash
# Creates (or reuses) the Python environment of the section-4 peer benchmark:
# a virtual environment installed from PyPI with the pinned PyTorch,
# NNGeometry and NumPy of benches/peers/requirements-autoencoder.txt.
#
#   benches/peers/setup_autoencoder_env.sh [VENV_DIR]    # default target/peers-venv
#
# Prints the venv's python on its last line. About 3 GB (PyTorch's PyPI wheel
# pulls the CUDA libraries; the benchmark runs on the CPU).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${1:-$here/../../target/peers-venv}"
req="$here/requirements-autoencoder.txt"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
# Reinstall only when the pins changed.
stamp="$venv/.requirements-autoencoder"
if ! cmp -s "$req" "$stamp"; then
  "$venv/bin/python" -m pip install --quiet --upgrade pip >&2
  "$venv/bin/python" -m pip install --quiet -r "$req" >&2
  cp "$req" "$stamp"
fi
"$venv/bin/python" - <<'PY' >&2
import torch, nngeometry, numpy
print(f"peer environment: torch {torch.__version__}, nngeometry {getattr(nngeometry, '__version__', '0.4')}, numpy {numpy.__version__}")
PY
echo "$venv/bin/python"
