"""What every patching route does: recognise a model, install PLADIS on a clone, say what it did.

The routes (``unet``: attn2 replacements; ``dit``: the attention override; ``object_patch``: object patches)
each recognise the models they can patch and return a ``Target`` bound to the model's family, so that nothing
looks the family up again, neither at install time nor at model-call time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from .families.attention_kind import AttentionKind
from .layer_selection import Site
from .step_range import SigmaRange


@dataclass(frozen=True, kw_only=True)
class Target:
    """A model a route can patch: its family (bound once), its sites, the parts the "default" preset patches
    (``left_out_of_default``: those it leaves out and says so), and how it attends to its text."""

    route: Route
    family: Any
    sites: tuple[Site, ...]
    default_parts: tuple[str, ...]
    attention: AttentionKind
    left_out_of_default: tuple[str, ...] = ()

    @property
    def architecture(self) -> str:
        return self.attention.architecture


@dataclass(frozen=True, kw_only=True)
class PladisParams:
    """What a node asks for, frozen at patch time: α, λ, the step range and the selected sites."""

    alpha: float
    scale: float
    step_range: SigmaRange
    sites: tuple[Site, ...]


@dataclass(frozen=True, kw_only=True)
class Installed:
    """What a route did: the sites it patched, how many earlier patches it kept in place, and any notes."""

    patched: tuple[Site, ...]
    kept_patches: int
    notes: tuple[str, ...] = ()


class Route(Protocol):
    def recognise(self, diffusion_model: Any) -> Target | None:
        """The model as this route patches it, or None when the route does not patch this model."""

    def install(self, model_patcher: Any, target: Target, params: PladisParams) -> Installed:
        """Installs PLADIS on ``model_patcher`` (a clone) at ``params.sites``."""


def family_target(route: Route, family: Any, diffusion_model: Any) -> Target | None:
    """The target of a model whose family record ``family`` (None: not this route's) the route recognised."""
    if family is None:
        return None
    return Target(
        route=route,
        family=family,
        sites=tuple(family.sites(diffusion_model)),
        default_parts=family.default_selection,
        attention=family.attention,
        left_out_of_default=family.left_out_of_default,
    )
