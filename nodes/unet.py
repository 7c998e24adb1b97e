"""UNet models (SD1.5, SD2.x, SDXL and its distilled variants): find and patch the cross-attentions."""

from __future__ import annotations

from typing import Any

from . import comfy_bridge
from .cross_attention_patch import PladisCrossAttention
from .families.unets import UNET
from .layer_selection import Site
from .route import Installed, PladisParams, Target
from .step_range import SigmaRange

DEFAULT_PARTS = ("input", "output")


class UnetRoute:
    """UNets: a PLADIS attn2 replacement at each selected text cross-attention."""

    def recognise(self, diffusion_model: Any) -> Target | None:
        sites = cross_attention_sites(diffusion_model)
        if not sites:
            return None
        return Target(
            route=self, family=UNET, sites=tuple(sites), default_parts=DEFAULT_PARTS, attention=UNET.attention
        )

    def install(self, model_patcher: Any, target: Target, params: PladisParams) -> Installed:
        sites = list(params.sites)
        kept = patch_cross_attention(model_patcher, sites, params.alpha, params.scale, params.step_range)
        return Installed(patched=params.sites, kept_patches=kept)


def cross_attention_sites(diffusion_model: Any) -> list[Site]:
    """Every text cross-attention of a UNet, keyed as ComfyUI's attn2 replacements are.

    Walks the input, middle and output blocks for spatial transformers (modules with ``transformer_blocks``)
    and keeps the transformer blocks that have an ``attn2``. The middle block is numbered 0, as ComfyUI's
    ``transformer_options["block"]`` numbers it.
    """
    if not all(hasattr(diffusion_model, name) for name in ("input_blocks", "middle_block", "output_blocks")):
        return []
    parts = (
        ("input", enumerate(diffusion_model.input_blocks)),
        ("middle", [(0, diffusion_model.middle_block)]),
        ("output", enumerate(diffusion_model.output_blocks)),
    )
    sites = []
    for part, blocks in parts:
        for number, block in blocks:
            for layer in block:
                for index, transformer in enumerate(getattr(layer, "transformer_blocks", ())):
                    if getattr(transformer, "attn2", None) is not None:
                        sites.append(Site(part, number, index))
    return sites


def patch_cross_attention(
    model_patcher: Any, sites: list[Site], alpha: float, scale: float, step_range: SigmaRange
) -> int:
    """Registers a PLADIS attn2 replacement at every site; returns how many wrap an earlier replacement."""
    existing = model_patcher.model_options.get("transformer_options", {}).get("patches_replace", {}).get("attn2", {})
    wrapped = 0
    for site in sites:
        # BasicTransformerBlock looks a replacement up by (part, block, index) first, then (part, block).
        previous = existing.get(tuple(site), existing.get((site.part, site.block)))
        wrapped += previous is not None
        patch = PladisCrossAttention(alpha, scale, step_range, previous)
        model_patcher.set_model_attn2_replace(patch, site.part, site.block, site.index)
    comfy_bridge.add_apply_model_wrapper(model_patcher, "pladis_late_attn2_patches", adopt_late_patches_wrapper)
    return wrapped


def adopt_late_patches(transformer_options: dict) -> dict:
    """``transformer_options`` in which PLADIS also wraps the attn2 patches added after it at (part, block) keys.

    Nodes applied after PLADIS that key their patch by (part, block) — IPAdapter on SD1.5 does — would be
    shadowed by PLADIS's (part, block, index) keys, which ComfyUI looks up first. The given dict is not changed.
    """
    attn2 = transformer_options.get("patches_replace", {}).get("attn2", {})
    adopted = {}
    for key, patch in attn2.items():
        if len(key) == 3 and isinstance(patch, PladisCrossAttention) and patch.previous is None:
            late = attn2.get(key[:2])
            if late is not None and not isinstance(late, PladisCrossAttention):
                adopted[key] = patch.wrapping(late)
    if not adopted:
        return transformer_options
    patches_replace = {**transformer_options["patches_replace"], "attn2": {**attn2, **adopted}}
    return {**transformer_options, "patches_replace": patches_replace}


def adopt_late_patches_wrapper(executor: Any, *args: Any, **kwargs: Any) -> Any:
    """APPLY_MODEL wrapper: runs the model with ``adopt_late_patches`` applied to its transformer options."""
    return comfy_bridge.call_apply_model(executor, args, kwargs, adopt_late_patches)


ROUTE = UnetRoute()
