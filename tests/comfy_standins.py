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
