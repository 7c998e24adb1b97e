"""The texts the example workflows show: the prompts and the Markdown notes."""

from __future__ import annotations

PROMPT = (
    "a red glass teapot on a wooden table next to three yellow lemons and a blue ceramic cup, "
    "morning light through a window, photograph"
)
NEGATIVE = "blurry, low quality, watermark"

SDXL_NOTE = """## PLADIS — SDXL

PLADIS sharpens how the image attends to the prompt (sparse attention, extrapolated): same model, same number of
steps, no training.

Settings (the paper's): alpha 1.5 (entmax15), scale 2.0, steps 0–100 %, layers = default (input and output
blocks; the middle block is left alone).

**Try:** scale (λ) 1.0–3.0; above ~3 it over-sharpens like a too-high CFG.

The two samplers share seed and settings: "without PLADIS" runs the plain model, "with PLADIS" the patched one."""

LIGHTNING_NOTE = """## PLADIS — SDXL-Lightning, 4 steps, CFG 1

Guidance-distilled models run at CFG 1, where negative-prompt guidance does nothing; PLADIS still works because
it changes the attention inside the single model evaluation.

Settings: alpha 1.5, scale 2.0 (the paper's setting for Lightning, Turbo, DMD2 and Hyper-SDXL), all steps.
Sampler euler / sgm_uniform, 4 steps, CFG 1.0, as SDXL-Lightning's 4-step checkpoint expects.

**Try:** scale (λ) 1.0–3.0."""

FLUX_NOTE = """## PLADIS — Flux {variant}

In Flux, text and image tokens attend jointly. PLADIS changes only how image tokens attend to the text tokens,
keeping the share of attention each image token gives to the text (the official Flux recipe), in every double
and single block (layers = custom with "double" or "single" restricts it).

Settings: alpha 1.5, scale 1.5 as a starting point (the paper used PLADIS on Flux; its per-model scale is not
published in what we could read). {steps}

**Try:** scale (λ) 1.0–2.0."""

PAG_NOTE = """## PLADIS + Perturbed-Attention Guidance — SDXL

PLADIS (cross-attention) and PAG (self-attention of the middle block) act on different layers and stack: the
paper reports its best SDXL scores with PAG + PLADIS.

Order: Load Checkpoint -> PLADIS Model Patch -> PerturbedAttentionGuidance -> KSampler (PAG may also come first).
Settings: PLADIS alpha 1.5, scale 2.0; PAG scale 3.0; CFG 5.

**Try:** scale (λ) 1.0–3.0."""

CONTROLNET_NOTE = """## PLADIS + ControlNet — SDXL

ControlNet adds its residuals to the UNet; PLADIS changes the UNet's cross-attention. They compose.
Replace example.png with your image; Canny makes the edge map the ControlNet (Stability AI's canny Control-LoRA)
follows.

Settings: PLADIS alpha 1.5, scale 2.0; ControlNet strength 0.8.

**Try:** scale (λ) 1.0–3.0."""

VIDEO_PROMPT = (
    "a red paper boat drifts down a narrow rain-soaked street, the camera follows it slowly at water level, "
    "neon shop signs reflect in the puddles, cinematic"
)
# Wan's own negative prompt, as the official Wan 2.2 templates use it.
WAN_NEGATIVE = (
    "色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作，画面，静止，整体发灰，最差质量，低质量，JPEG压缩残留，丑陋的，"
    "残缺的，多余的手指，画得不好的手部，画得不好的脸部，畸形的，毁容的，形态畸形的肢体，手指融合，静止不动的画面，杂乱的背景，"
    "三条腿，背景人很多，倒着走"
)

NEW_FAMILY_NOTE = "\n\n".join(
    (
        "## PLADIS — {model}",
        "{how}",
        "Order: {order}.{why}",
        "Settings: alpha 1.5, scale 1.5, steps 0–100 %, layers = default. Not in the paper: our extension of the "
        "method to this model family ({source}).",
        "**Try:** scale (λ) 1.0–2.0.",
        "{sampling}",
        'Graph and file names as in ComfyUI\'s official "{template}" template ({template_file}).',
    )
)

JOINT = (
    "Text and image tokens attend jointly here; PLADIS changes only how image tokens attend to the text tokens, "
    "keeping the share of attention each image token gives to the text."
)
CROSS = "This model has true text cross-attention: PLADIS replaces it in every block; self-attention is untouched."
