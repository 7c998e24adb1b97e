"""The fused kernel still compiles for NVIDIA GPUs with the installed Triton (no GPU needed).

scripts/triton_aot.py compiles the launches the dispatch makes, with Triton's compiler and its ptxas, for a
stand-in sm_XX target; here a few representative ones (the full matrix, every tile × dtype × arch, is the
script's default run, reported in docs/gpu.md). A kernel that stops compiling would silently send every GPU
user to the eager path (as a fp64 literal did on Triton 3.2–3.6). Skipped where Triton or its CUDA toolchain
is missing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "triton_aot.py"
# SDXL's 77 keys (32×128 tile) in fp16 on a consumer card; Flux's 512 text keys (16×512) in bf16 on sm_90;
# fp32 at the smallest tile (the fp32 path, whose larger tiles take longer to compile).
REPRESENTATIVE = "86:fp16:77,90:bf16:512,80:fp32:16"


def test_representative_configurations_compile_for_sm_8x_and_sm_90(tmp_path):
    pytest.importorskip("triton")
    rows_path = tmp_path / "aot.json"
    env = dict(os.environ, TRITON_INTERPRET="0", TRITON_DEFAULT_FP_FUSION="1", TRITON_CACHE_DIR=str(tmp_path))
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--only", REPRESENTATIVE, "--json", str(rows_path)],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    if result.returncode == 2 and "toolchain missing" in result.stdout:
        pytest.skip(result.stdout.strip())
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = json.loads(rows_path.read_text())
    assert [(row["arch"], row["dtype"], row["keys"]) for row in rows] == [
        ("sm_86", "fp16", 77),
        ("sm_90", "bf16", 512),
        ("sm_80", "fp32", 16),
    ]
    assert [(row["block_m"], row["block_n"]) for row in rows] == [(32, 128), (16, 512), (64, 16)]
    for row in rows:
        assert row["ok"] and 0 < row["registers"] <= 255, row
