"""Models PLADIS does not patch, on purpose, as rows of the compatibility table: each record names the
classes (``refused.REFUSED``) or ComfyUI model families (``refused.REFUSED_FAMILIES``) whose refusal reason it
explains; a unit test checks that every refused name is explained by exactly one record."""

from __future__ import annotations

from dataclasses import dataclass, field

from .record import Described


@dataclass(frozen=True, kw_only=True)
class RefusedFamily(Described):
    """``classes``, ``model_configs`` (from the catalog): the refused diffusion-model classes and ComfyUI model
    families whose reasons its rows explain."""

    FROM_CATALOG = ("classes", "model_configs")
    classes: tuple[str, ...] = field(init=False)
    model_configs: tuple[str, ...] = field(init=False)


SVD = RefusedFamily(name="Stable Video Diffusion, SV3D, Stable Zero123")
CAUSAL_WAN = RefusedFamily(name="Causal Wan")
STABLE_CASCADE_B = RefusedFamily(name="Stable Cascade stage B")
SEEDVR2 = RefusedFamily(name="SeedVR2")
AUDIO = RefusedFamily(name="audio generators")
IMAGE_TO_3D = RefusedFamily(name="image-to-3D models")
NOT_GENERATORS = RefusedFamily(name="models that are not generators")
