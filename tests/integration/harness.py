"""What the runner scripts share. They run inside a real ComfyUI (its interpreter, its root as working directory)
and print one JSON line; tests/integration/comfyui.py starts them.

``start`` sets up ComfyUI's command line and import paths and must run before anything imports ``comfy``; the
helpers import ComfyUI's modules when called. The second half is the check every DiT family case goes through
(``family_report``): a tiny model built from ComfyUI's classes with random weights (fp32, CPU), the pack loaded
by ComfyUI's loader, sampling by ComfyUI; every attention call is recorded, each call PLADIS changed is compared
with the float64 formula over the text keys the case expects (tests/integration/family_cases/), every other call with
dense attention.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys

TEXT, CONTEXT_DIM = 5, 48
NEGATIVE_TEXT = 9  # a longer negative prompt: with CFG, batch elements hold different amounts of filler
DEFAULTS = dict(alpha=1.5, scale=2.0, start_percent=0.0, end_percent=1.0, layers="default", custom_layers="")


def start(pack_dir: str, flags: tuple[str, ...] = ()) -> None:
    """ComfyUI's arguments (CPU, plus ``flags``) and import paths: ComfyUI's root first (its ``nodes``), then the
    pack's tests (the oracles) and the pack itself (``pladis_core``)."""
    sys.argv = [sys.argv[0], "--cpu", *flags]
    sys.path.insert(0, os.getcwd())
    sys.path.insert(1, os.path.join(pack_dir, "tests"))
    sys.path.insert(2, pack_dir)
    import comfy.options

    comfy.options.enable_args_parsing()


def gen(seed):
    import torch

    return torch.Generator().manual_seed(seed)


def finite(t) -> bool:
    import torch

    return bool(torch.isfinite(t).all())


def load_pack(pack_dir: str) -> bool:
    """The pack loaded as ComfyUI loads a custom node."""
    import nodes

    return asyncio.run(nodes.load_custom_node(pack_dir))


def comfyui_version() -> str:
    import comfyui_version

    return comfyui_version.__version__


def pladis(model, **changes):
    """The PLADIS node as ComfyUI registered it, defaults but for ``changes``: (patched model, its UI report)."""
    import nodes

    node = nodes.NODE_CLASS_MAPPINGS["PLADISModelPatch"]
    output = node.execute(model=model, **{**DEFAULTS, **changes})
    return output.result[0], output.ui["pladis"][0]


def tiny_model(model_config, model_class, *, buffers: bool = True, eval_mode: bool = False):
    """ComfyUI's model of ``model_class`` in fp32 on CPU, weights (and float buffers) drawn N(0, 0.05²) from seed 0,
    in a ModelPatcher."""
    import comfy.model_patcher
    import torch

    cpu = torch.device("cpu")
    model_config.set_inference_dtype(torch.float32, None)
    model = model_class(model_config, device=cpu)
    if eval_mode:  # as ComfyUI's loaders return it (PixArt's get_model)
        model = model.eval()
    torch.manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.05)
        if buffers:  # (SD3's pos_embed buffer starts as torch.empty)
            for b in model.diffusion_model.buffers():
                if b.is_floating_point():
                    b.normal_(0, 0.05)
    return comfy.model_patcher.ModelPatcher(model, cpu, cpu)


def heads_view(t, heads, skip_reshape):
    """An attention input as (B, heads, L, D)."""
    if skip_reshape:
        return t
    if t.dim() == 4:
        return t.transpose(1, 2)
    return t.view(t.shape[0], t.shape[1], heads, -1).transpose(1, 2)


def unet_cross_attention_sites(model) -> list:
    """(part, block number, transformer index) of every attn2 of a UNet, as ComfyUI numbers them."""
    from comfy.ldm.modules import attention

    dm = model.get_model_object("diffusion_model")
    sites = []
    for part, blocks in (
        ("input", enumerate(dm.input_blocks)),
        ("middle", [(0, dm.middle_block)]),
        ("output", enumerate(dm.output_blocks)),
    ):
        for number, block in blocks:
            for layer in block:
                if isinstance(layer, attention.SpatialTransformer):
                    sites += [(part, number, i) for i, t in enumerate(layer.transformer_blocks) if t.attn2 is not None]
    return sites


# ---- the check of a DiT family case ---------------------------------------------------------------------------


@dataclasses.dataclass
class Case:
    """A family's tiny model and inputs, and where its text keys and changed rows are (per batch element)."""

    config: object
    model_class: object
    latent: object
    positive: list
    negative: list
    expect: object  # (q length, k length, context length of that batch element) -> (text, image) or None
    parts: list
    batch_context: object = None  # batch element -> its context length, for batches of mixed prompts
    width_aware: bool = False  # expect also takes the queries' width (heads x head size)
    # name -> (the node's inputs changed, the expect of that run): other layer choices, checked at CFG 2
    other_runs: dict = dataclasses.field(default_factory=dict)


def build(case):
    return tiny_model(case.config, case.model_class)


def sample(case, model, cfg=1.0, steps=2):
    import comfy.sample
    import torch

    if case.latent.is_nested:  # several streams (LTX-2's video and audio)
        from comfy.nested_tensor import NestedTensor

        noise = NestedTensor([torch.randn(t.shape, generator=gen(3)) for t in case.latent.unbind()])
    else:
        noise = torch.randn(case.latent.shape, generator=gen(3))
    with torch.inference_mode():  # as ComfyUI samples
        return flat(
            comfy.sample.sample(
                model,
                noise,
                steps,
                cfg,
                "euler",
                "simple",
                case.positive,
                case.negative,
                case.latent,
                disable_pbar=True,
                seed=0,
            )
        )


def flat(t):
    """A sampled latent as one tensor (the streams of a nested one, flattened and concatenated)."""
    import torch

    return torch.cat([u.flatten() for u in t.unbind()]) if t.is_nested else t


def record_calls(model):
    """Wraps the installed override (as the APPLY_MODEL wrapper hands it out): records each call and whether
    PLADIS changed it."""
    import torch

    calls = []

    def spy_wrapper(executor, *args, **kwargs):
        def spy_options(transformer_options):
            inner = transformer_options["optimized_attention_override"]

            def spy(func, *a, **kw):
                forward = (kw.get("transformer_options") or {}).get("pladis_joint_forward")
                before = forward.patched_calls if forward else 0
                out = inner(func, *a, **kw)
                # Copies: some models (Wan Animate-2) pass views of buffers they overwrite in later blocks.
                a = tuple(t.clone() if isinstance(t, torch.Tensor) else t for t in a)
                changed = bool(forward and forward.patched_calls > before)
                calls.append((a, dict(kw), out.clone(), changed, context_lengths))
                return out

            return {**transformer_options, "optimized_attention_override": spy}

        transformer_options = kwargs.get("transformer_options", args[5] if len(args) > 5 else {})
        # Batch element b is the positive (0) or negative (1) prompt: cond_or_uncond says which.
        context_lengths = [NEGATIVE_TEXT if c else TEXT for c in transformer_options["cond_or_uncond"]]
        if "transformer_options" in kwargs:
            return executor(*args, **{**kwargs, "transformer_options": spy_options(transformer_options)})
        return executor(*args[:5], spy_options(transformer_options), *args[6:], **kwargs)

    model.add_wrapper_with_key("apply_model", "zz_runner_spy", spy_wrapper)  # runs inside PLADIS's wrapper
    return calls


def expected(case, q4, k4, n_text, expect=None):
    expect = expect or case.expect
    width = (q4.shape[1] * q4.shape[3],) if case.width_aware else ()
    return expect(q4.shape[2], k4.shape[2], n_text, *width)


def probe(case, patched, cfg):
    """The attention calls of one sampling step of ``patched``, recorded."""
    calls = record_calls(patched)
    sample(case, patched, cfg=cfg, steps=1)
    return calls


def oracle_errors(case, calls, scale=2.0, expect=None):
    """(changed calls, max error of changed calls vs the formula, max error of the others vs dense attention)."""
    import torch
    from oracles import joint_reference

    from pladis_core.joint_attention import additive_mask

    worst_patched, worst_dense, changed = 0.0, 0.0, 0
    for args, kwargs, out, was_patched, context_lengths in calls:
        heads = args[3] if len(args) > 3 else kwargs["heads"]
        skip = kwargs.get("skip_reshape", False)
        q4, k4, v4 = (heads_view(t, heads, skip) for t in args[:3])
        if kwargs.get("enable_gqa") and k4.shape[1] != q4.shape[1]:  # grouped k/v heads, as the backends repeat them
            k4, v4 = (t.repeat_interleave(q4.shape[1] // t.shape[1], dim=1) for t in (k4, v4))
        n_query = q4.shape[2]
        out4 = out if kwargs.get("skip_output_reshape") else out.view(out.shape[0], n_query, heads, -1).transpose(1, 2)
        mask = args[4] if len(args) > 4 else kwargs.get("mask")
        bias = additive_mask(mask, torch.float64)
        changed += was_patched
        for b in range(q4.shape[0]):
            n_text = context_lengths[b * len(context_lengths) // q4.shape[0]]
            expectation = expected(case, q4, k4, n_text, expect)
            text, image = expectation if expectation else (slice(0, 1), slice(0, 1))  # (dense: no change anywhere)
            s = scale if was_patched else 0.0
            if was_patched and expectation is None:
                return changed, float("inf"), worst_dense  # PLADIS changed a call that is not text attention
            bias_b = None if bias is None else bias[b : b + 1] if bias.shape[0] > 1 else bias
            reference = joint_reference(q4[b : b + 1], k4[b : b + 1], v4[b : b + 1], text, image, 1.5, s, bias=bias_b)
            error = float((out4[b : b + 1].double() - reference).abs().max() / reference.abs().max())
            if was_patched:
                worst_patched = max(worst_patched, error)
            else:
                worst_dense = max(worst_dense, error)
    return changed, worst_patched, worst_dense


def missed_calls(case, calls):
    """Calls this case expects to be text attention (every default block) that PLADIS left dense."""
    missed = 0
    for args, kwargs, _, was_patched, context_lengths in calls:
        heads = args[3] if len(args) > 3 else kwargs["heads"]
        q4, k4 = (heads_view(t, heads, kwargs.get("skip_reshape", False)) for t in args[:2])
        missed += not was_patched and expected(case, q4, k4, context_lengths[0]) is not None
    return missed


def family_report(case, kind: str, pack_dir: str) -> dict:
    """Everything test_comfyui_families.py checks of one family case."""
    import torch

    report = {"kind": kind, "absent": False, "comfyui": comfyui_version()}
    report["loaded"] = load_pack(pack_dir)
    model = build(case)
    patched, info = pladis(model)
    report["summary"] = info["summary"]
    report["patched"], report["available"] = info["patched"], info["available"]
    report["family_class"] = type(model.model.diffusion_model).__name__

    base = sample(case, model)
    out = sample(case, patched)
    report["finite"], report["changes_output"] = finite(out), not torch.equal(out, base)
    report["cfg2_finite"] = finite(sample(case, patched, cfg=2.0))
    report["scale0_bit_identical"] = torch.equal(sample(case, pladis(model, scale=0.0)[0]), base)

    for name, cfg in (("cfg1", 1.0), ("cfg2", 2.0)):
        calls = probe(case, pladis(model)[0], cfg)
        changed, worst_patched, worst_dense = oracle_errors(case, calls)
        report[f"{name}_calls"], report[f"{name}_changed_calls"] = len(calls), changed
        report[f"{name}_oracle_max_error"], report[f"{name}_dense_max_error"] = worst_patched, worst_dense
        report[f"{name}_batched"] = max(len(c[4]) for c in calls) if calls else 0
        report[f"{name}_missed_calls"] = missed_calls(case, calls)
    for name, (changes, expect) in case.other_runs.items():
        patched, other_info = pladis(model, **changes)
        report[f"{name}_patched"] = other_info["patched"]
        calls = probe(case, patched, 2.0)
        changed, worst_patched, worst_dense = oracle_errors(case, calls, expect=expect)
        report[f"{name}_changed_calls"], report[f"{name}_oracle_max_error"] = changed, worst_patched
        report[f"{name}_dense_max_error"] = worst_dense
    report["other_runs"] = list(case.other_runs)
    report["parts"] = case.parts
    return report
