#!/usr/bin/env bash
# Sets up a virtual environment (.venv) if needed and runs lint and the test suite.
#
#   ./scripts/test.sh [pytest arguments]
#
# Installs torch only when the environment has none (TORCH_SPEC, default torch==2.13.0; on a machine with a
# GPU, install the torch build you want into .venv first). The integration tests against a real ComfyUI run
# too when COMFYUI_PATH (and COMFYUI_PYTHON) are set; otherwise they are skipped. Installs triton
# (TRITON_SPEC, default triton==3.9.0) when missing, for the interpreter tests of the Triton kernels.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${PLADIS_VENV:-.venv}
if [[ ! -x $venv/bin/python ]]; then
  python3 -m venv "$venv"
fi
py=$venv/bin/python
"$py" -m pip install -q --upgrade pip
if ! "$py" -c "import torch" 2>/dev/null; then
  "$py" -m pip install -q "${TORCH_SPEC:-torch==2.13.0}"
fi
# pillow: the attention-map grid draws its labels with it (ComfyUI ships it; the tests need it here).
"$py" -m pip install -q -r requirements.txt pytest ruff numpy pillow
# Triton's CPU interpreter runs the fused kernels' tests (tests/unit/test_triton_*.py); they are skipped if
# it cannot be installed (e.g. no wheel for this platform), which does not fail the run.
if ! "$py" -c "import triton" 2>/dev/null; then
  "$py" -m pip install -q "${TRITON_SPEC:-triton==3.9.0}" || echo "triton not installed: its kernel tests are skipped"
fi
"$py" -m ruff check .
"$py" -m ruff format --check .
"$py" -m pytest "$@"
