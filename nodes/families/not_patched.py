"""Models PLADIS does not patch, on purpose, as rows of the compatibility table: each record names the
classes (``refused.REFUSED``) or ComfyUI model families (``refused.REFUSED_FAMILIES``) whose refusal reason it
explains; a unit test checks that every refused name is explained by exactly one record."""

from __future__ import annotations

from dataclasses import dataclass

from .record import Described


@dataclass(frozen=True, kw_only=True)
class RefusedFamily(Described):
    classes: tuple[str, ...] = ()
    model_configs: tuple[str, ...] = ()


SVD = RefusedFamily(
    name="Stable Video Diffusion, SV3D, Stable Zero123",
    model_configs=("SVD_img2vid", "Stable_Zero123"),
)
CAUSAL_WAN = RefusedFamily(
    name="Causal Wan",
    classes=("CausalWanModel",),
)
STABLE_CASCADE_B = RefusedFamily(
    name="Stable Cascade stage B",
    classes=("StageB",),
)
SEEDVR2 = RefusedFamily(
    name="SeedVR2",
    classes=("NaDiT",),
)
AUDIO = RefusedFamily(
    name="audio generators",
    classes=(
        "AudioDiffusionTransformer",
        "ACEStepTransformer2DModel",
        "AceStepConditionGenerationModel",
        "MiniMaxMusic3DiT",
    ),
)
IMAGE_TO_3D = RefusedFamily(
    name="image-to-3D models",
    classes=("Hunyuan3Dv2", "HunYuanDiTPlain", "Trellis2", "LatentSeqMMFlowModel"),
)
NOT_GENERATORS = RefusedFamily(
    name="models that are not generators",
)
