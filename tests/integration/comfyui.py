"""Where the real ComfyUI for the opt-in integration tests is, and how to run a script inside it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMFYUI_PATH = os.environ.get("COMFYUI_PATH")


def comfyui_python() -> str:
    if os.environ.get("COMFYUI_PYTHON"):
        return os.environ["COMFYUI_PYTHON"]
    venv = Path(COMFYUI_PATH, ".venv", "bin", "python")
    return str(venv) if venv.exists() else sys.executable


requires_comfyui = pytest.mark.skipif(
    not COMFYUI_PATH, reason="set COMFYUI_PATH (and COMFYUI_PYTHON) to run against a real ComfyUI"
)


def run_in_comfyui(script: str, *args: str, timeout: int = 600) -> dict:
    """Runs tests/integration/SCRIPT inside ComfyUI and returns the JSON object it prints last."""
    result = subprocess.run(
        [comfyui_python(), str(Path(__file__).parent / script), str(ROOT), *args],
        cwd=COMFYUI_PATH,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise AssertionError(f"{script} {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}")
    line = result.stdout.strip().splitlines()[-1]
    if os.environ.get("PLADIS_REPORTS"):  # a file to collect every runner's report in, for the figures of a note
        with open(os.environ["PLADIS_REPORTS"], "a", encoding="utf-8") as reports:
            reports.write(line + "\n")
    return json.loads(line)
