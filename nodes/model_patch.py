"""The "PLADIS Model Patch" node: a MODEL in, a patched clone out."""

from __future__ import annotations

import logging

from comfy_api.latest import io

from .node_schema import NodeFace, pack_schema, schedule_input, strength_input
from .patching import ALPHA_RANGE, SCALE_RANGE, PatchRequest, apply_pladis

logger = logging.getLogger(__name__)

# What the search preview and the node library's hover preview show: what the node does and where it goes. The model
# families it supports are listed in its help page (web/docs/PLADISModelPatch.md) and the README.
DESCRIPTION = (
    "Sharper prompt following from sparse attention (PLADIS, ICCV 2025): pushes the text attention from softmax "
    "towards α-entmax, with no training and no extra steps. Place it after IPAdapter, LoRA and "
    "model-sampling nodes, right before the sampler."
)
# Words users search for that are not in the node's name; the front end matches them where ComfyUI sends them.
SEARCH_ALIASES = [
    "entmax",
    "sparse attention",
    "sparsemax",
    "prompt following",
    "prompt adherence",
    "sharpen",
    "cross-attention",
    "attention patch",
]

FACE = NodeFace("PLADISModelPatch", "PLADIS Model Patch", "model/patch", DESCRIPTION, tuple(SEARCH_ALIASES))


class PLADISModelPatch(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return pack_schema(
            FACE,
            inputs=[
                io.Model.Input(
                    "model", tooltip="The diffusion model to patch. It is not changed: a patched copy is returned."
                ),
                strength_input(
                    "alpha",
                    1.5,
                    ALPHA_RANGE,
                    0.01,
                    "α of α-entmax, the sparse attention PLADIS extrapolates towards: 1.5 (entmax15, the "
                    "paper's default) or 2.0 (sparsemax, sparser) are exact and fast; other values (1 < α ≤ 2) "
                    "use a slower iterative solve.",
                ),
                strength_input(
                    "scale",
                    2.0,
                    SCALE_RANGE,
                    0.05,
                    "λ: how far to push from dense (softmax) towards sparse (entmax) attention. 0 = off (the "
                    "model is returned unpatched), 1 = pure entmax, 2 = the paper's default; 1.5-2.5 is the useful "
                    "range, values above ~3 over-sharpen like a too-high CFG.",
                ),
                schedule_input(
                    "start_percent",
                    0.0,
                    "Where in the sampling schedule PLADIS starts (0 = the first step). Outside "
                    "start_percent..end_percent the model's own attention runs.",
                ),
                schedule_input("end_percent", 1.0, "Where in the sampling schedule PLADIS stops (1 = the last step)."),
                io.Combo.Input(
                    "layers",
                    options=["default", "all", "custom"],
                    default="default",
                    tooltip="Which layers to patch. default: the paper's choice — UNet input and output blocks, "
                    "middle block excluded; every block of a DiT. all: every cross-attention, UNet middle block "
                    "included. custom: the list in custom_layers.",
                ),
                io.String.Input(
                    "custom_layers",
                    default="",
                    multiline=False,
                    placeholder="input 7-8, output 0-2.0-4",
                    tooltip="Used when layers = custom. Comma-separated entries: a part (UNets: input, middle, "
                    "output; Flux/Chroma: double, single; SD3/Qwen-Image: double; Wan: block; LTX-2: video, audio), "
                    "optional block numbers and, for UNets, after a dot the transformer indices, e.g. 'input 7-8, "
                    "middle, output 0.0-4' or 'double 0-9'. Block numbers are ComfyUI's (the ones IPAdapter and the "
                    "attn2 keys use). An entry that matches no layer is an error.",
                ),
            ],
            outputs=[io.Model.Output(display_name="MODEL", tooltip="A patched copy of the model.")],
        )

    @classmethod
    def execute(
        cls,
        model,
        alpha: float,
        scale: float,
        start_percent: float,
        end_percent: float,
        layers: str,
        custom_layers: str,
        **kwargs,
    ) -> io.NodeOutput:
        request = PatchRequest(alpha, scale, start_percent, end_percent, layers, custom_layers)
        patched, report = apply_pladis(model, request)
        logger.info("[PLADIS] %s", report.summary())
        return io.NodeOutput(patched, ui={"pladis": [report.as_dict()]})
