"""The nodes: "PLADIS Attention Maps Record" before the sampler, "PLADIS Attention Maps" after it.

Record returns the MODEL with the recorder (sample with it, with any sampler) and a handle; Attention Maps takes
the handle and the sampled LATENT (so that it runs after sampling) and draws the grid and the MASKs.
"""

from __future__ import annotations

import logging
from typing import Any

from comfy_api.latest import io

from ..node_schema import NodeFace, pack_schema, schedule_input, strength_input
from ..patching import ALPHA_RANGE, SCALE_RANGE, PatchRequest, recognise, step_range
from ..safe_text import escape
from .recorder import SUPPORTED, Recording, UnsupportedForMapsError, install_recorder
from .tokens import word_keys_for_prompt

logger = logging.getLogger(__name__)

Recorded = io.Custom("PLADIS_ATTENTION_MAPS")
# VAEs of the supported families decode 8 pixels per latent cell: the MASKs' size without an IMAGE.
PIXELS_PER_LATENT = 8

RECORD_DESCRIPTION = (
    "Records, during your own sampler's run, how the image attends to the chosen words of the prompt: the dense "
    "softmax attention and PLADIS's (softmax + λ·(α-entmax − softmax)), averaged over heads, layers and the "
    "chosen steps. Sample with the MODEL it returns and give its handle and the sampled LATENT to PLADIS "
    "Attention Maps. The sampled image is the same as without it. Place it after PLADIS Model Patch; on a model "
    "without PLADIS the PLADIS column shows what PLADIS would do with this node's α and λ. Supported: "
    + SUPPORTED
    + "."
)
MAPS_DESCRIPTION = (
    "Draws the attention maps recorded by PLADIS Attention Maps Record: one row per word, columns dense | PLADIS "
    "| difference, each with its colour scale; the PLADIS maps as MASKs (one per word and image)."
)

# Words users search for (the maps of other packs are known as DAAM, heat maps, cross-attention maps).
SEARCH_ALIASES = ("attention map", "attention heatmap", "heat map", "DAAM", "cross-attention map", "token map")
RECORD_FACE = NodeFace(
    "PLADISAttentionMapsRecord", "PLADIS Attention Maps Record", "model/patch", RECORD_DESCRIPTION, SEARCH_ALIASES
)
MAPS_FACE = NodeFace("PLADISAttentionMaps", "PLADIS Attention Maps", "image/analysis", MAPS_DESCRIPTION, SEARCH_ALIASES)


class PLADISAttentionMapsRecord(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return pack_schema(
            RECORD_FACE,
            inputs=[
                io.Model.Input(
                    "model",
                    tooltip="The model to sample with (after PLADIS Model Patch, if you use it). It is not changed: "
                    "a copy with the recorder is returned.",
                ),
                io.Clip.Input("clip", tooltip="The CLIP that encoded the prompt: its tokenizer finds the words."),
                io.String.Input(
                    "prompt",
                    multiline=True,
                    default="",
                    tooltip="The positive prompt, exactly as given to the text encoder.",
                ),
                io.String.Input(
                    "words",
                    default="",
                    placeholder="cat, red hat",
                    tooltip="The words to show, separated by commas (at most 16). A word split into several tokens, "
                    "or given twice in the prompt, gets all its tokens; '#N' is the token at position N. A word "
                    "not in the prompt is an error that lists the prompt's tokens.",
                ),
                strength_input(
                    "alpha",
                    1.5,
                    ALPHA_RANGE,
                    0.01,
                    "α of α-entmax for the PLADIS column where the model has no PLADIS patch (a patched model's own "
                    "α is used where PLADIS runs).",
                ),
                strength_input(
                    "scale",
                    2.0,
                    SCALE_RANGE,
                    0.05,
                    "λ for the PLADIS column where the model has no PLADIS patch (a patched model's own λ is used "
                    "where PLADIS runs, 0 outside its step range).",
                ),
                schedule_input("start_percent", 0.0, "The first part of the schedule recorded (0 = the first step)."),
                schedule_input("end_percent", 1.0, "The end of the recorded part of the schedule (1 = the last step)."),
            ],
            outputs=[
                io.Model.Output(display_name="MODEL", tooltip="The model with the recorder: sample with it."),
                Recorded.Output(display_name="maps", tooltip="The recording: connect it to PLADIS Attention Maps."),
            ],
        )

    @classmethod
    def execute(
        cls,
        model,
        clip,
        prompt: str,
        words: str,
        alpha: float,
        scale: float,
        start_percent: float,
        end_percent: float,
        **kwargs,
    ) -> io.NodeOutput:
        request = PatchRequest(alpha, scale, start_percent, end_percent)
        request.validate()
        if clip is None:
            raise ValueError("PLADIS Attention Maps Record needs the CLIP that encoded the prompt")
        found = word_keys_for_prompt(clip, prompt, words)
        recorded = model.clone()
        target = recognise(recorded.get_model_object("diffusion_model"))
        if target is None:
            name = type(recorded.get_model_object("diffusion_model")).__name__
            raise UnsupportedForMapsError(f"PLADIS Attention Maps cannot record this model ({escape(name)})")
        recording = Recording(
            words=tuple(w.word for w in found),
            word_keys=tuple(w.keys for w in found),
            alpha=alpha,
            scale=scale,
            step_range=step_range(recorded, request),
            family=getattr(target.family, "name", "UNet"),
        )
        install_recorder(recorded, recording, target)
        return io.NodeOutput(recorded, recording)


class PLADISAttentionMaps(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return pack_schema(
            MAPS_FACE,
            inputs=[
                Recorded.Input("maps", tooltip="The recording of PLADIS Attention Maps Record."),
                io.Latent.Input(
                    "samples",
                    tooltip="The sampler's output LATENT: the maps are drawn after sampling, on its latent grid.",
                ),
                io.Image.Input(
                    "image",
                    optional=True,
                    tooltip="Optional: the decoded image, to lay the maps over it (the MASKs take its size).",
                ),
            ],
            outputs=[
                io.Image.Output(display_name="grid", tooltip="Rows = words, columns dense | PLADIS | difference."),
                io.Mask.Output(
                    display_name="masks",
                    tooltip="The PLADIS maps, one MASK per word and image (image b's word w at b·words + w), each "
                    "scaled to [0, 1]; at the image's size, or 8 pixels per latent cell without an image.",
                ),
            ],
        )

    @classmethod
    def execute(cls, maps: Recording, samples: dict, image: Any = None, **kwargs) -> io.NodeOutput:
        from .grid import attention_grid, word_masks  # Pillow: ComfyUI's own dependency, loaded when drawing

        accumulator = maps.accumulator
        if accumulator.empty:
            reasons = "; ".join(f"{escape(r)} ({n}×)" for r, n in maps.skipped.items())
            raise ValueError(
                "PLADIS Attention Maps: no attention call was recorded. Sample with the MODEL of PLADIS Attention "
                "Maps Record, and check its step range" + (f"; calls skipped: {reasons}" if reasons else "")
            )
        latent = samples["samples"]
        size = (int(latent.shape[-2]), int(latent.shape[-1]))
        latent_maps = accumulator.latent_maps(size)
        if image is not None:
            mask_size = (int(image.shape[1]), int(image.shape[2]))
        else:
            mask_size = (size[0] * PIXELS_PER_LATENT, size[1] * PIXELS_PER_LATENT)
        title = f"{maps.family}: {maps.recorded_calls} attention calls recorded"
        grid = attention_grid(maps.words, latent_maps, image, title=title)
        masks = word_masks(latent_maps.pladis, mask_size)
        return io.NodeOutput(grid, masks)
