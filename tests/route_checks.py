"""Counts the pack's model detection (which family, which sites) while a test runs, wherever it is bound."""

from __future__ import annotations

import functools
import sys


def detection_functions(pack) -> list:
    """The functions that recognise a model: the family lookups of each route and the UNet site walk."""
    nodes = pack.nodes
    return [nodes.families.family_of, nodes.object_patch.family_of, nodes.unet.cross_attention_sites]


def count_detections(monkeypatch, pack) -> list[str]:
    """Replaces every binding of a detection function in the pack's modules with one that records its name in
    the returned list (the test's monkeypatch undoes it)."""
    calls: list[str] = []
    functions = detection_functions(pack)

    def counting(function):
        @functools.wraps(function)
        def counted(*args, **kwargs):
            calls.append(function.__qualname__)
            return function(*args, **kwargs)

        return counted

    for name, module in list(sys.modules.items()):
        if not name.startswith(f"{pack.__name__}.nodes"):
            continue
        for attribute, value in list(vars(module).items()):
            if any(value is function for function in functions):
                monkeypatch.setattr(module, attribute, counting(value))
    return calls


SAMPLING_SIGMAS = (14.0, 7.0, 3.0, 1.0)  # a 4-step sampling run


def assert_detected_at_patch_time_only(monkeypatch, pack, patch, run) -> list:
    """``patch()`` (a node on a fresh model) detects the model; the four model calls ``run(patched, sigma)`` of a
    sampling run detect nothing. Returns what the runs returned."""
    detections = count_detections(monkeypatch, pack)
    patched = patch()
    assert detections, "the node did not detect the model at patch time"
    detections.clear()
    results = [run(patched, sigma) for sigma in SAMPLING_SIGMAS]
    assert detections == [], f"the model was detected at model-call time: {detections}"
    return results
