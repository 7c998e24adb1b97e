"""bench/gpu_suite.py runs end to end in its reduced mode on CPU (the GPU figures need a GPU)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "gpu_suite.py"


def test_the_gpu_suite_smoke_run_writes_every_section(tmp_path, monkeypatch):
    monkeypatch.setenv("TRITON_INTERPRET", "0")  # the kernel paths then fall back to eager: quick
    spec = importlib.util.spec_from_file_location("gpu_suite", BENCH)
    suite = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(suite)
    assert suite.main(["--smoke", "--device", "cpu", "--out", str(tmp_path), "--sections", "per_call,flux,tiles"]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["environment"]["engine_would_run"] == "PLADIS engine: eager PyTorch (cpu tensors)"
    for section in ("per_call", "flux", "tiles"):
        assert "error" not in results[section], results[section]
    per_call = {(case["shape"], case["dtype"]): case for case in results["per_call"]["cases"]}
    assert per_call[("sdxl_64", "fp16")]["eager"]["median_ms"] > 0
    assert results["flux"]["pladis"]["output_finite"] and results["flux"]["unpatched"]["output_finite"]
    assert "PLADIS / unpatched" in (tmp_path / "summary.txt").read_text()
