"""Timing and memory measurement shared by the benchmarks.

Timing: methods are run round-robin; each round keeps the best of a few calls per method, and the
reported figure is the median over rounds, so that the ratios printed side by side were measured under
the same machine load.

Memory: each measurement runs in a fresh process with glibc's mmap threshold pinned, so that large
allocations are returned to the system when freed; the figure is the peak resident set during the call
minus the resident set before it (inputs already allocated).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import torch


def best_of(fn: Callable[[], object], calls: int) -> float:
    best = float("inf")
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def time_round_robin(methods: dict[str, Callable[[], object]], rounds: int, calls: int = 3) -> dict[str, float]:
    """Median over ``rounds`` of the best of ``calls`` calls, in milliseconds, per method."""
    with torch.inference_mode():
        for fn in methods.values():
            fn()
        samples: dict[str, list[float]] = {name: [] for name in methods}
        for _ in range(rounds):
            for name, fn in methods.items():
                samples[name].append(best_of(fn, calls) * 1e3)
    return {name: statistics.median(values) for name, values in samples.items()}


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_rss_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def reset_peak_rss() -> None:
    """Resets VmHWM to the current RSS (Linux: writing 5 to clear_refs)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def peak_extra_bytes(fn: Callable[[], object]) -> int:
    """Peak RSS growth while ``fn`` runs (call in a fresh process; see module docstring)."""
    with torch.inference_mode():
        reset_peak_rss()
        before = _rss_bytes()
        fn()
        return _peak_rss_bytes() - before


def measure_memory_in_subprocess(script: str, args: list[str]) -> dict:
    """Runs ``script --measure-memory ARGS`` in a fresh interpreter; it prints one JSON object."""
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536", MALLOC_TRIM_THRESHOLD_="0")
    out = subprocess.run(
        [sys.executable, script, "--measure-memory", *args], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])
