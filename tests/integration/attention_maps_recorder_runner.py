"""Runs inside a real ComfyUI and prints one JSON line: the attention-map recorder on a tiny model.

    python attention_maps_recorder_runner.py PACK_DIR {sdxl,flux,wan,pixart}

The tiny models, conds and sampling are those of comfyui_unet_runner.py (SDXL-shaped UNet, 154-token positive
and 77-token negative, CFG 5), comfyui_dit_runner.py (Flux joint, Wan cross; CFG 1) and
comfyui_objpatch_runner.py (PixArt, object patches; CFG 1; q, k as the twin's forward computed them, as that
runner checks PLADIS). For a model without and with PLADIS it reports whether the sampled latent with the
recorder is bit-identical to the one without, and the largest difference between the recorded maps and the
float64 formula computed here from the raw q/k of the recorded attention calls (cond rows, heads averaged,
words' keys summed, each call's maps upsampled to the latent grid and averaged; the first latent frame for Wan).
"""

from __future__ import annotations

import importlib
import json
import os
import sys

PACK_DIR, KIND = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(1, os.path.join(PACK_DIR, "tests"))
# The runner that builds and samples this kind of model reads PACK_DIR and its kind from argv when imported.
sys.argv = [sys.argv[0], PACK_DIR, KIND]
RUNNERS = {"sdxl": "comfyui_unet_runner", "pixart": "comfyui_objpatch_runner"}
base = importlib.import_module(RUNNERS.get(KIND, "comfyui_dit_runner"))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from oracles import aggregate, entmax_reference  # noqa: E402
from pack import import_pack  # noqa: E402

pack = import_pack()
recorder = importlib.import_module(f"{pack.__name__}.nodes.attention_maps.recorder")
object_recorder = importlib.import_module(f"{pack.__name__}.nodes.attention_maps.object_recorder")
patching = importlib.import_module(f"{pack.__name__}.nodes.patching")
step_range = importlib.import_module(f"{pack.__name__}.nodes.step_range")

WORD_KEYS = ((1,), (2, 3), (0, 4))  # one token, two tokens, two places
NODE_ALPHA, NODE_SCALE, PLADIS_SCALE = 1.5, 3.0, 2.0
CASE = base.CASES[KIND]() if KIND == "pixart" else None
LATENT_SIZE = tuple((CASE.latent if CASE else base.LATENT).shape[-2:])


def build_model():
    model = base.build(CASE) if CASE else base.build_model()
    return model[0] if isinstance(model, tuple) else model


def sample(model):
    return base.sample(CASE, model) if CASE else base.sample(model)


def recording(scale=NODE_SCALE):
    return recorder.Recording(
        words=("one", "two", "twice"),
        word_keys=WORD_KEYS,
        alpha=NODE_ALPHA,
        scale=scale,
        step_range=step_range.SigmaRange(float("inf"), 0.0, whole_schedule=True),
        family=KIND,
    )


def with_recorder(model, rec):
    clone = model.clone()
    recorder.install_recorder(clone, rec, patching.recognise(clone.get_model_object("diffusion_model")))
    return clone


def capture():
    """The raw inputs of every call the recorder records (its route's ``record`` methods, spied on)."""
    calls = []
    for cls in (recorder.RecordingCrossAttention, recorder.RecordingOverride):
        original = cls.record

        def spy(self, *args, _original=original, **kwargs):
            calls.append(args)
            return _original(self, *args, **kwargs)

        cls.record = spy
    original_record = object_recorder.record

    def object_spy(*args):
        calls.append(args)
        return original_record(*args)

    object_recorder.record = object_spy
    return calls


def cond(t, options):
    kinds = options.get("cond_or_uncond") or [0]
    chunk = t.shape[0] // len(kinds)
    return torch.cat([t[i * chunk : (i + 1) * chunk] for i, kind in enumerate(kinds) if kind == 0])


def word_maps(logits, dense_block, scale):
    """(dense, sparse, PLADIS) word maps from the text logits of the image rows and their dense text block."""
    sparse = dense_block.sum(-1, keepdim=True) * entmax_reference(logits, NODE_ALPHA)
    mixed = dense_block + scale * (sparse - dense_block)
    return torch.stack([aggregate(w, WORD_KEYS) for w in (dense_block, sparse, mixed)])


def unet_expected(args, scale):
    q, k, options = args
    heads = options["n_heads"]
    q, k = (cond(t, options).double() for t in (q, k))
    q, k = (t.view(t.shape[0], t.shape[1], heads, -1).transpose(1, 2) for t in (q, k))
    unique = 77 if k.shape[2] % 77 == 0 and torch.allclose(k, k[:, :, :77].repeat(1, 1, k.shape[2] // 77, 1)) else None
    k = k[:, :, :unique]  # a cond repeated to a common length: its keys once, as the formula has them
    logits = q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5
    return word_maps(logits, logits.softmax(-1), scale)


def dit_expected(args, scale):
    call, raw, kwargs, options, _ = args
    heads = raw[3] if len(raw) > 3 else kwargs["heads"]
    skip = kwargs.get("skip_reshape", False)
    q, k = (cond(base.heads_view(t, heads, skip), options).double() for t in raw[:2])
    text, image = base.text_and_image(q.shape[2], k.shape[2])
    logits = q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5
    rows = logits[:, :, image]
    return word_maps(rows[..., text], rows.softmax(-1)[..., text], scale)


def object_expected(args, scale):
    _, q, k, _, _ = args  # (recording, q, k, α, λ): cond rows only at CFG 1
    logits = q.double() @ k.double().transpose(-1, -2) / q.shape[-1] ** 0.5
    return word_maps(logits, logits.softmax(-1), scale)


def on_latent_grid(maps):
    """(3, B, words, Nq) → (3, B, words, H, W): the first frame's queries on their grid, upsampled."""
    height, width = LATENT_SIZE
    for patch in (1, 2, 4, 8, 16):
        h, w = -(-height // patch), -(-width // patch)
        if maps.shape[-1] % (h * w) == 0:
            break
    grid = maps[..., : h * w].reshape(3 * maps.shape[1], maps.shape[2], h, w)
    up = F.interpolate(grid, size=LATENT_SIZE, mode="bilinear", align_corners=False)
    return up.view(3, maps.shape[1], maps.shape[2], *LATENT_SIZE)


def expected_maps(calls, scale):
    expected = {"sdxl": unet_expected, "pixart": object_expected}.get(KIND, dit_expected)
    total = sum(on_latent_grid(expected(args, scale)) for args in calls)
    return total / len(calls)


def check(model, scale, report, name):
    reference = sample(model)
    rec = recording()
    calls = capture()
    out = sample(with_recorder(model, rec))
    report[f"{name}_bit_identical"] = bool(torch.equal(out, reference))
    report[f"{name}_recorded_calls"], report[f"{name}_spied_calls"] = rec.recorded_calls, len(calls)
    got = torch.stack(tuple(rec.accumulator.latent_maps(LATENT_SIZE)))
    report[f"{name}_max_error"] = float((got - expected_maps(calls, scale)).abs().max())
    report[f"{name}_skipped"] = rec.skipped


def main():
    report = {"kind": KIND}
    model = build_model()
    check(model, NODE_SCALE, report, "dense_model")
    patched, _ = patching.apply_pladis(model, patching.PatchRequest(NODE_ALPHA, PLADIS_SCALE))
    check(patched, PLADIS_SCALE, report, "pladis_model")
    rec = recording(scale=0.0)
    sample(with_recorder(model, rec))
    maps = rec.accumulator.latent_maps(LATENT_SIZE)
    report["lambda0_identical"] = bool(torch.equal(maps.dense, maps.pladis))
    report["lambda0_sparse_differs"] = not torch.equal(maps.dense, maps.sparse)
    if KIND == "sdxl":
        nodes_path(patched, report)
    print(json.dumps(report))


def nodes_path(model, report):
    """The two nodes with ComfyUI's own SDXL tokenizer (the tiny model's conds are random: the grid shows the
    keys at the words' positions); the grid is saved where PLADIS_GRID_PNG says."""
    import comfy.sdxl_clip
    import numpy as np
    from PIL import Image

    nodes = importlib.import_module(f"{pack.__name__}.nodes.attention_maps.nodes")
    tokenizer = comfy.sdxl_clip.SDXLTokenizer(embedding_directory=None, tokenizer_data={})
    clip = type(
        "Clip", (), {"tokenizer": tokenizer, "tokenize": lambda self, text, **kw: tokenizer.tokenize_with_weights(text)}
    )()
    recorded, handle = nodes.PLADISAttentionMapsRecord.execute(
        model=model, clip=clip, prompt="a photo of a cat wearing a red hat", words="cat, red hat", alpha=1.5,
        scale=2.0, start_percent=0.0, end_percent=1.0,
    ).result  # fmt: skip
    latent = sample(recorded)
    grid, masks = nodes.PLADISAttentionMaps.execute(maps=handle, samples={"samples": latent}).result
    report["node_grid_shape"], report["node_masks_shape"] = list(grid.shape), list(masks.shape)
    report["node_words"], report["node_word_keys"] = list(handle.words), [list(k) for k in handle.word_keys]
    if os.environ.get("PLADIS_GRID_PNG"):
        Image.fromarray((grid[0].numpy() * 255).round().astype(np.uint8)).save(os.environ["PLADIS_GRID_PNG"])


if __name__ == "__main__":
    main()
