"""What the node does with a model: validate the request, pick the layers, register the patches, report."""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from ..pladis_core.dispatch import backend_log_line
from . import dit, families, object_patch, unet
from .families import refused, registry
from .layer_selection import LAYER_PRESETS, Site, parse_layer_list, select_sites
from .route import PladisParams, Route, Target
from .safe_text import escape, quote
from .step_range import SigmaRange

logger = logging.getLogger(__name__)

ROUTES: tuple[Route, ...] = (unet.ROUTE, object_patch.ROUTE, dit.ROUTE)


# The node's input ranges, checked again here for API prompts and direct calls. Below α = 1.01 the α-entmax solve
# loses accuracy (its exponent 1/(α−1) grows without bound); λ above 10 only over-sharpens, and towards 1e38
# it overflows float32.
ALPHA_RANGE = (1.01, 2.0)
SCALE_RANGE = (0.0, 10.0)


class UnsupportedModelError(ValueError):
    """The model has no attention PLADIS knows how to patch."""


@dataclass(frozen=True)
class PatchRequest:
    alpha: float = 1.5
    scale: float = 2.0
    start_percent: float = 0.0
    end_percent: float = 1.0
    layers: str = "default"
    custom_layers: str = ""

    def validate(self) -> None:
        for name in ("alpha", "scale", "start_percent", "end_percent"):
            _check_finite(name, getattr(self, name))
        if not ALPHA_RANGE[0] <= self.alpha <= ALPHA_RANGE[1]:
            raise ValueError(
                f"alpha must be between {ALPHA_RANGE[0]:g} and {ALPHA_RANGE[1]:g} (1.5 = entmax15, 2 = sparsemax), "
                f"got {self.alpha}"
            )
        if not SCALE_RANGE[0] <= self.scale <= SCALE_RANGE[1]:
            raise ValueError(f"scale (λ) must be between {SCALE_RANGE[0]:g} and {SCALE_RANGE[1]:g}, got {self.scale}")
        for name in ("start_percent", "end_percent"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {getattr(self, name)}")
        if self.start_percent > self.end_percent:
            raise ValueError(
                f"start_percent ({self.start_percent}) is after end_percent ({self.end_percent}): "
                "PLADIS would never run"
            )
        if not isinstance(self.layers, str) or not isinstance(self.custom_layers, str):
            raise ValueError("layers and custom_layers must be text")
        if self.layers not in LAYER_PRESETS:
            raise ValueError(f"layers must be one of {', '.join(LAYER_PRESETS)}, got {quote(self.layers)}")
        if self.layers == "custom" and not self.custom_layers.strip():
            raise ValueError(
                "layers is 'custom' but custom_layers is empty: list the layers, e.g. 'input 7-8, output 0-2'"
            )

    @property
    def whole_schedule(self) -> bool:
        return self.start_percent <= 0.0 and self.end_percent >= 1.0


def _check_finite(name: str, value: Any) -> None:
    """NaN passes every range check (all its comparisons are False), so finiteness is checked first."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number, got {value}")
    elif isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be a finite number, got a {type(value).__name__}")
    elif value.bit_length() > 64:
        raise ValueError(f"{name} must be a finite number, got an integer of {value.bit_length()} bits")


@dataclass
class PatchReport:
    family: str
    architecture: str
    alpha: float
    scale: float
    start_percent: float
    end_percent: float
    layers: str
    patched: int = 0
    available: int = 0
    kept_patches: int = 0
    engine: str = ""
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.patched == 0:
            text = f"{self.family}: nothing patched"
        else:
            text = (
                f"{self.family}: patched {self.patched} of {self.available} {self.architecture} layers "
                f"({self.layers}) with α={self.alpha:g}, λ={self.scale:g}, "
                f"steps {self.start_percent:.0%}–{self.end_percent:.0%}"
            )
            if self.kept_patches:
                text += f"; kept {self.kept_patches} earlier attention patch(es) in place"
            if self.engine:
                text += f"; {self.engine}"
        return escape("; ".join([text, *self.notes]))

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "summary": self.summary()}


def model_family(model_patcher: Any) -> str:
    """The model's ComfyUI family name (SD15, SDXL, Flux, …), as ComfyUI's supported_models call it."""
    base = model_patcher.model
    config = getattr(base, "model_config", None)
    return type(config).__name__ if config is not None else type(base).__name__


def choose_sites(sites: list[Site], request: PatchRequest, default_parts: tuple[str, ...]) -> list[Site]:
    if request.layers == "all":
        return list(sites)
    if request.layers == "custom":
        rules = parse_layer_list(request.custom_layers)
        if not rules:
            raise ValueError(f"layers is 'custom' but custom_layers lists no layer: {quote(request.custom_layers)}")
        return select_sites(sites, rules)
    return [site for site in sites if site.part in default_parts]


def step_range(model_patcher: Any, request: PatchRequest) -> SigmaRange:
    if request.whole_schedule:
        return SigmaRange(float("inf"), 0.0, whole_schedule=True)
    sampling = model_patcher.get_model_object("model_sampling")
    return SigmaRange(
        float(sampling.percent_to_sigma(request.start_percent)),
        float(sampling.percent_to_sigma(request.end_percent)),
        whole_schedule=False,
    )


def recognise(diffusion_model: Any) -> Target | None:
    """The model as the first route that patches it sees it: UNet cross-attention, object patches, then DiTs."""
    return next((t for route in ROUTES if (t := route.recognise(diffusion_model)) is not None), None)


def apply_pladis(model: Any, request: PatchRequest) -> tuple[Any, PatchReport]:
    """Returns a patched clone of ``model`` (never ``model`` itself) and what was done to it."""
    request.validate()
    patched = model.clone()
    report = PatchReport(
        family=model_family(patched),
        architecture="cross-attention",
        alpha=request.alpha,
        scale=request.scale,
        start_percent=request.start_percent,
        end_percent=request.end_percent,
        layers=request.layers,
        engine=backend_log_line(getattr(patched, "load_device", "cpu")),
    )
    if request.custom_layers.strip() and request.layers != "custom":
        report.notes.append(f"custom_layers is ignored because layers is '{request.layers}'")
    if request.scale == 0:
        report.notes.append("scale (λ) is 0, so PLADIS is off and the model is returned unpatched")
        return patched, report

    diffusion_model = patched.get_model_object("diffusion_model")
    reason = refused.family_refusal(getattr(patched.model, "model_config", None))
    if reason is not None:
        raise UnsupportedModelError(f"PLADIS Model Patch cannot patch this {report.family} model: {reason}.")
    target = recognise(diffusion_model)
    if target is None:
        raise UnsupportedModelError(
            f"PLADIS Model Patch cannot patch this {report.family} model ({type(diffusion_model).__name__}): "
            f"{families.refusal(diffusion_model)}. Supported: {registry.supported_text()}."
        )
    report.architecture = target.architecture
    selected = choose_sites(list(target.sites), request, target.default_parts)
    if request.layers == "default" and target.left_out_of_default:
        parts = dict.fromkeys(site.part for site in target.sites)
        report.notes.append(
            f"not in the default: the {', '.join(target.left_out_of_default)} part (layers = custom, custom_layers = "
            f'"{", ".join(parts)}" patches it too)'
        )
    params = PladisParams(
        alpha=request.alpha, scale=request.scale, step_range=step_range(patched, request), sites=tuple(selected)
    )
    installed = target.route.install(patched, target, params)
    report.kept_patches = installed.kept_patches
    report.notes.extend(installed.notes)
    report.available = len(target.sites)
    report.patched = len(installed.patched)
    return patched, report
