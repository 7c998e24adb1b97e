"""Stand-ins for ComfyUI's ModelPatcher and UNet, faithful to what the pack relies on.

- ``StandInModelPatcher``: ``clone`` (model_options copied as dicts/lists, patch objects shared, as in
  ComfyUI ≥ 0.13), ``model_options["transformer_options"]``, ``set_model_patch_replace`` /
  ``set_model_attn2_replace`` (copy-on-write of the nested dicts, 2- or 3-tuple keys), ``get_model_object``,
  ``add_wrapper_with_key`` / ``get_wrappers`` (wrappers keyed by type and key, copied on clone).
- ``run_unet``: one model call as a sampling step makes it: the transformer options with sigmas and
  cond_or_uncond, the APPLY_MODEL wrappers around ``apply_model(x, t, c_concat, c_crossattn, control,
  transformer_options)``.
- ``StandInUNet``: input/middle/output blocks holding spatial transformers whose transformer blocks
  dispatch attn2 the way ``BasicTransformerBlock.forward`` does: ``extra_options`` = transformer_options
  without the patches plus n_heads/dim_head/attn_precision, a replacement looked up by
  (part, block, block_index) first and (part, block) second, to_q/to_k/to_v before it and to_out after it;
  without one, ``optimized_attention`` with the transformer options.
"""

from __future__ import annotations

import functools

import torch
from comfy.ldm.modules import attention
from comfy.patcher_extension import WrappersMP
from torch import nn

SDXL_LAYOUT = {
    "input": {4: 2, 5: 2, 7: 10, 8: 10},
    "middle": {0: 10},
    "output": {0: 10, 1: 10, 2: 10, 3: 2, 4: 2, 5: 2},
}
SD15_LAYOUT = {
    "input": {1: 1, 2: 1, 4: 1, 5: 1, 7: 1, 8: 1},
    "middle": {0: 1},
    "output": dict.fromkeys(range(3, 12), 1),
}


def copy_lists_and_dicts(obj):
    if isinstance(obj, dict):
        return {k: copy_lists_and_dicts(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [copy_lists_and_dicts(v) for v in obj]
    return obj


class StandInModelPatcher:
    def __init__(self, model):
        self.model = model
        self.model_options = {"transformer_options": {}}
        self.wrappers = {}

    def clone(self):
        clone = StandInModelPatcher(self.model)
        clone.model_options = copy_lists_and_dicts(self.model_options)
        clone.wrappers = copy_lists_and_dicts(self.wrappers)
        return clone

    def add_wrapper_with_key(self, wrapper_type, key, wrapper):
        self.wrappers.setdefault(wrapper_type, {}).setdefault(key, []).append(wrapper)

    def get_wrappers(self, wrapper_type, key):
        return self.wrappers.get(wrapper_type, {}).get(key, [])

    def get_model_object(self, name):
        return getattr(self.model, name)

    def set_model_patch_replace(self, patch, name, block_name, number, transformer_index=None):
        to = self.model_options["transformer_options"].copy()
        to["patches_replace"] = dict(to.get("patches_replace", {}))
        to["patches_replace"][name] = dict(to["patches_replace"].get(name, {}))
        key = (block_name, number) if transformer_index is None else (block_name, number, transformer_index)
        to["patches_replace"][name][key] = patch
        self.model_options["transformer_options"] = to

    def set_model_attn2_replace(self, patch, block_name, number, transformer_index=None):
        self.set_model_patch_replace(patch, "attn2", block_name, number, transformer_index)

    def attn2_replacements(self) -> dict:
        return self.model_options["transformer_options"].get("patches_replace", {}).get("attn2", {})


class ModelSamplingStandIn:
    """percent_to_sigma with ComfyUI's conventions: 0 → 999999999.9, 1 → 0, decreasing in between, and the
    value of a float32 tensor read with .item(), as ModelSamplingDiscrete returns it."""

    sigma_max = 14.6

    def percent_to_sigma(self, percent: float) -> float:
        if percent <= 0.0:
            return 999999999.9
        if percent >= 1.0:
            return 0.0
        return torch.tensor(self.sigma_max * (1.0 - percent) ** 3, dtype=torch.float32).item()


class CrossAttentionStandIn(nn.Module):
    def __init__(self, dim: int, context_dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_k = nn.Linear(context_dim, dim, bias=False)
        self.to_v = nn.Linear(context_dim, dim, bias=False)
        self.to_out = nn.Sequential(nn.Linear(dim, dim))


class TransformerBlockStandIn(nn.Module):
    def __init__(self, dim: int, context_dim: int | None, heads: int):
        super().__init__()
        self.n_heads, self.d_head = heads, dim // heads
        self.attn2 = CrossAttentionStandIn(dim, context_dim, heads) if context_dim else None

    def forward(self, x, context, transformer_options):
        if self.attn2 is None:
            return x
        extra_options = {k: v for k, v in transformer_options.items() if k not in ("patches", "patches_replace")}
        extra_options.update(n_heads=self.n_heads, dim_head=self.d_head, attn_precision=None)
        block = transformer_options.get("block")
        key = (block[0], block[1], transformer_options.get("block_index", 0)) if block is not None else None
        replacements = transformer_options.get("patches_replace", {}).get("attn2", {})
        if key not in replacements:
            key = block
        attn = self.attn2
        if key in replacements:
            out = replacements[key](attn.to_q(x), attn.to_k(context), attn.to_v(context), extra_options)
        else:
            out = attention.optimized_attention(
                attn.to_q(x),
                attn.to_k(context),
                attn.to_v(context),
                attn.heads,
                attn_precision=None,
                transformer_options=transformer_options,
            )
        return x + attn.to_out(out)


class SpatialTransformerStandIn(nn.Module):
    def __init__(self, depth: int, dim: int, context_dim: int | None, heads: int):
        super().__init__()
        self.transformer_blocks = nn.ModuleList(TransformerBlockStandIn(dim, context_dim, heads) for _ in range(depth))

    def forward(self, x, context, transformer_options):
        for index, block in enumerate(self.transformer_blocks):
            transformer_options["block_index"] = index
            x = block(x, context, transformer_options)
        return x


class ResBlockStandIn(nn.Module):
    def forward(self, x, context, transformer_options):
        return x


class StandInUNet(nn.Module):
    """A UNet-shaped stack: one token width everywhere, the block layout of SD1.5 or SDXL."""

    def __init__(self, layout: dict, dim: int = 32, context_dim: int | None = 24, heads: int = 4):
        super().__init__()

        def block(depth: int | None):
            layers = [ResBlockStandIn()]
            if depth:
                layers.append(SpatialTransformerStandIn(depth, dim, context_dim, heads))
            return nn.ModuleList(layers)

        n_input = max(layout["input"]) + 1
        n_output = max(layout["output"]) + 1
        self.input_blocks = nn.ModuleList(block(layout["input"].get(n)) for n in range(n_input))
        self.middle_block = block(layout["middle"].get(0))
        self.output_blocks = nn.ModuleList(block(layout["output"].get(n)) for n in range(n_output))

    def forward(self, x, context, transformer_options):
        transformer_options = dict(transformer_options)
        parts = (
            ("input", enumerate(self.input_blocks)),
            ("middle", [(0, self.middle_block)]),
            ("output", enumerate(self.output_blocks)),
        )
        for part, blocks in parts:
            for number, block in blocks:
                transformer_options["block"] = (part, number)
                for layer in block:
                    x = layer(x, context, transformer_options)
        return x


class ModelConfigSDXL:
    pass


class ModelConfigSD15:
    pass


ModelConfigSDXL.__name__ = "SDXL"
ModelConfigSD15.__name__ = "SD15"


class BaseModelStandIn:
    def __init__(self, diffusion_model: nn.Module, config: type = ModelConfigSDXL):
        self.model_config = config()
        self.diffusion_model = diffusion_model
        self.model_sampling = ModelSamplingStandIn()


def make_model_patcher(layout=SDXL_LAYOUT, config=ModelConfigSDXL, context_dim: int | None = 24, seed: int = 0):
    torch.manual_seed(seed)
    unet = StandInUNet(layout, context_dim=context_dim)
    return StandInModelPatcher(BaseModelStandIn(unet, config))


def run_unet(model_patcher, x, context, sigma: float = 1.0, cond_or_uncond=(1, 0)):
    """One forward with the transformer options and APPLY_MODEL wrappers a ComfyUI sampling step would use."""
    transformer_options = copy_lists_and_dicts(model_patcher.model_options["transformer_options"])
    latent_batch = max(1, x.shape[0] // len(cond_or_uncond))
    sigmas = torch.full((latent_batch,), float(sigma))
    transformer_options.update(sigmas=sigmas, cond_or_uncond=list(cond_or_uncond))
    diffusion_model = model_patcher.get_model_object("diffusion_model")

    def apply_model(x, t, c_concat, c_crossattn, control, transformer_options):
        return diffusion_model(x, c_crossattn, transformer_options)

    call = apply_model
    for wrappers in model_patcher.wrappers.get(WrappersMP.APPLY_MODEL, {}).values():
        for wrapper in wrappers:
            call = functools.partial(wrapper, call)
    with torch.no_grad():
        return call(x, sigmas, None, context, None, transformer_options)


class JointDiTStandIn(nn.Module):
    """A Flux-shaped joint-attention stack: [text | image | reference] tokens, double blocks then single blocks,
    each making one ``optimized_attention`` call with (B, H, L, D) inputs and ``skip_reshape=True``.

    Records the q, k, v and output of every attention call in ``self.calls``.
    """

    patch_size = 2

    def __init__(self, doubles: int = 2, singles: int = 2, dim: int = 32, heads: int = 4, context_dim: int = 24):
        super().__init__()
        self.heads = heads
        self.txt_in = nn.Linear(context_dim, dim)
        self.img_in = nn.Linear(4 * 4, dim)
        self.double_blocks = nn.ModuleList(nn.Linear(dim, 3 * dim) for _ in range(doubles))
        self.single_blocks = nn.ModuleList(nn.Linear(dim, 3 * dim) for _ in range(singles))
        self.calls = []

    def patchify(self, x):
        b, c, h, w = x.shape
        return x.view(b, c, h // 2, 2, w // 2, 2).permute(0, 2, 4, 1, 3, 5).reshape(b, (h // 2) * (w // 2), c * 4)

    def forward(self, x, context, transformer_options, reference=None, mask=None):
        image = self.patchify(x)
        if reference is not None:
            image = torch.cat([image, self.patchify(reference)], dim=1)
        tokens = torch.cat([self.txt_in(context), self.img_in(image)], dim=1)
        for part, blocks in (("double", self.double_blocks), ("single", self.single_blocks)):
            for index, block in enumerate(blocks):
                q, k, v = block(tokens).view(tokens.shape[0], tokens.shape[1], 3, self.heads, -1).permute(2, 0, 3, 1, 4)
                extra = {} if mask is None else {"mask": mask}
                out = attention.optimized_attention(
                    q, k, v, self.heads, skip_reshape=True, transformer_options=transformer_options, **extra
                )
                self.calls.append({"site": (part, index), "q": q, "k": k, "v": v, "out": out, "mask": mask})
                tokens = tokens + out
        return tokens


JointDiTStandIn.__name__ = "Flux"


class ModelConfigFlux:
    pass


ModelConfigFlux.__name__ = "Flux"


class JointBaseModelStandIn(BaseModelStandIn):
    """model_base-like: ``apply_model(x, t, c_concat, c_crossattn, control, transformer_options, **kw)`` runs the
    APPLY_MODEL wrappers as ComfyUI's WrapperExecutor does (``executor.class_obj`` is this object)."""

    def __init__(self, diffusion_model):
        super().__init__(diffusion_model, ModelConfigFlux)


class _Executor:
    def __init__(self, wrappers, original, class_obj):
        self.wrappers, self.original, self.class_obj = wrappers, original, class_obj

    def __call__(self, *args, **kwargs):
        if not self.wrappers:
            return self.original(*args, **kwargs)
        return self.wrappers[0](_Executor(self.wrappers[1:], self.original, self.class_obj), *args, **kwargs)


def run_dit(model_patcher, x, context, sigma=1.0, reference=None, mask=None):
    """One model call through the APPLY_MODEL wrappers, with the transformer options of a sampling step."""
    options = copy_lists_and_dicts(model_patcher.model_options["transformer_options"])
    options.update(sigmas=torch.full((1,), float(sigma)), cond_or_uncond=[0])
    base = model_patcher.model

    def apply_model(x, t, c_concat, c_crossattn, control, transformer_options, **kwargs):
        return base.diffusion_model(x, c_crossattn, transformer_options, **kwargs)

    wrappers = [w for ws in model_patcher.wrappers.get(WrappersMP.APPLY_MODEL, {}).values() for w in ws]
    with torch.no_grad():
        return _Executor(wrappers, apply_model, base)(
            x, torch.full((1,), float(sigma)), None, context, None, options, reference=reference, mask=mask
        )


def make_dit_patcher(seed: int = 0, **kwargs):
    torch.manual_seed(seed)
    return StandInModelPatcher(JointBaseModelStandIn(JointDiTStandIn(**kwargs)))


class ObjectPatchingModelPatcher(StandInModelPatcher):
    """A stand-in ModelPatcher with ComfyUI's object patches: ``add_object_patch(dotted name, obj)``; the clone
    copies them and shares the backup; ``get_model_object`` answers the patch, else the backed-up original,
    else the model's attribute; ``patch_model`` sets them on the shared model (backing up what was there) and
    ``unpatch_model`` puts the backups back."""

    def __init__(self, model):
        super().__init__(model)
        self.object_patches = {}
        self.object_patches_backup = {}

    def clone(self):
        clone = ObjectPatchingModelPatcher(self.model)
        clone.model_options = copy_lists_and_dicts(self.model_options)
        clone.wrappers = copy_lists_and_dicts(self.wrappers)
        clone.object_patches = dict(self.object_patches)
        clone.object_patches_backup = self.object_patches_backup
        return clone

    def add_object_patch(self, name, obj):
        self.object_patches[name] = obj

    def get_model_object(self, name):
        if name in self.object_patches:
            return self.object_patches[name]
        if name in self.object_patches_backup:
            return self.object_patches_backup[name]
        return functools.reduce(getattr, name.split("."), self.model)

    def _set(self, name, value):
        *path, last = name.split(".")
        owner = functools.reduce(getattr, path, self.model)
        previous = getattr(owner, last)
        setattr(owner, last, value)
        return previous

    def patch_model(self):
        for name, obj in self.object_patches.items():
            previous = self._set(name, obj)
            self.object_patches_backup.setdefault(name, previous)

    def unpatch_model(self):
        for name, obj in self.object_patches_backup.items():
            self._set(name, obj)
        self.object_patches_backup.clear()


class PackedLayoutStandIn:
    """MiniMax H3's packed layout, as its extra_conds builds it: contiguous (start, stop, kind) segments."""

    def __init__(self, text, cond, audio, video):
        self.segments, start = [], 0
        for kind, n in (("text", text), ("cond", cond), ("audio", audio), ("video", video)):
            if n:
                self.segments.append((start, start + n, kind))
                start += n
        self.seq_len = start
