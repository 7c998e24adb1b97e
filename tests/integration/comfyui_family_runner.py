"""Runs inside a real ComfyUI (its interpreter, its root as working directory) and prints one JSON line.

    python comfyui_family_runner.py PACK_DIR KIND

KIND is a DiT family case of tests/integration/family_cases/ (its tiny model, its prompts, where its text keys are),
checked by ``harness.family_report``; or one of the checks below. ``{"absent": true}`` when this ComfyUI has no
such family.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys

import harness

PACK_DIR, KIND = sys.argv[1], sys.argv[2]
harness.start(PACK_DIR)

import comfy.model_base  # noqa: E402
import comfy.model_patcher  # noqa: E402
import comfy.sample  # noqa: E402
import comfy.supported_models  # noqa: E402
import torch  # noqa: E402
from family_cases import CASES  # noqa: E402
from family_cases.flux import flux_case  # noqa: E402
from family_cases.ltx import LTX2_CONTEXT, ltx2_case  # noqa: E402
from harness import CONTEXT_DIM, build, finite, gen, oracle_errors, pladis, probe, record_calls, sample  # noqa: E402
from oracles import joint_reference  # noqa: E402, F401  (imported before the pack, as the checks' oracle)

import nodes  # noqa: E402
from pladis_core.joint_attention import additive_mask  # noqa: E402, F401  (the top-level copy first, as before)


def backend_order():
    """ComfyUI's ModelAttentionBackend node after PLADIS, and before it, on a tiny Flux."""
    try:
        from comfy_extras.nodes_model_advanced import ModelAttentionBackend
    except ImportError:
        return {"absent": True, "kind": KIND}
    report = {"kind": KIND, "absent": False, "loaded": asyncio.run(nodes.load_custom_node(PACK_DIR))}
    case = flux_case(False)
    model = build(case)

    def backend(m):
        return ModelAttentionBackend().patch(m, "pytorch attention")[0]

    after, before, alone = backend(pladis(model)[0]), pladis(backend(model))[0], backend(model)
    out_after, out_before, out_alone = (sample(case, m, cfg=2.0) for m in (after, before, alone))
    report["after_equals_before_max_diff"] = float((out_after - out_before).abs().max())
    report["pladis_acts_after"] = not torch.equal(out_after, out_alone)
    report["finite"] = finite(out_after)
    calls = probe(case, after, 1.0)
    report["after_changed_calls"] = sum(c[3] for c in calls)
    _, report["after_oracle_max_error"], report["after_dense_max_error"] = oracle_errors(case, calls)
    return report


def ltx2_compat():
    """LTX-2 given a prompt that already went through the connectors (the text encoder's compatibility mode):
    where the prompt ends is unknown, so PLADIS must leave the model unchanged and say so."""
    import logging

    case = ltx2_case("2.0")
    if case is None:
        return {"absent": True, "kind": KIND}
    report = {"kind": KIND, "absent": False, "loaded": asyncio.run(nodes.load_custom_node(PACK_DIR))}

    def connected(seed):  # 1024 connected tokens, both streams' halves, as the compatibility mode returns them
        return [[torch.randn(1, LTX2_CONTEXT, 2 * CONTEXT_DIM, generator=gen(seed)), {}]]

    case.positive, case.negative = connected(1), connected(2)
    model = build(case)
    records = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())
    logging.getLogger().addHandler(handler)
    patched = pladis(model)[0]
    calls = record_calls(patched)
    out = sample(case, patched, cfg=2.0)
    report["changed_calls"] = sum(c[3] for c in calls)
    report["equals_unpatched"] = torch.equal(out, sample(case, model, cfg=2.0))
    report["logged"] = sum("already through its embeddings connector" in m for m in records)
    return report


def refused_classes():
    """Which of the classes the pack refuses by name this ComfyUI has (a stale name would refuse nothing)."""
    import importlib.util

    path = os.path.join(PACK_DIR, "nodes", "families", "refused.py")  # (the pack's "nodes" is not ComfyUI's)
    spec = importlib.util.spec_from_file_location("pladis_refused", path)
    refused = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(refused)
    REFUSED, REFUSED_FAMILIES = refused.REFUSED, refused.REFUSED_FAMILIES

    ldm_classes = {
        name
        for module_name, module in list(sys.modules.items())
        if module_name.startswith("comfy.ldm.") and module is not None
        for name, value in vars(module).items()
        if isinstance(value, type)
    }
    import comfyui_version

    return {
        "absent": False,
        "comfyui": comfyui_version.__version__,
        "diffusion_classes": {name: name in ldm_classes for name in REFUSED},
        "families": {name: hasattr(comfy.supported_models, name) for name in REFUSED_FAMILIES},
    }


CHECKS = {"refused_classes": refused_classes, "backend_order": backend_order, "ltx2_compat": ltx2_compat}


def main():
    if KIND in CHECKS:
        print(json.dumps(CHECKS[KIND]()))
        return
    case = CASES[KIND]()
    if case is None:
        print(json.dumps({"absent": True, "kind": KIND}))
        return
    print(json.dumps(harness.family_report(case, KIND, PACK_DIR)))


if __name__ == "__main__":
    main()
