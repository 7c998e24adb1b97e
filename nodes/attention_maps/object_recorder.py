"""The recorder on object-patched families (PixArt): a twin of each attention module, as PLADIS's object
patches make, whose forward returns exactly what the model's attention there returns and records its q and k.

Where PLADIS patched the module and its step range holds, the twin's forward is PLADIS's own computation (the
same ``PladisForward``, re-created with the recorder), and the q, k it hands to its attention are recorded: no
extra work. Elsewhere (no PLADIS, or outside its range) the module's own forward gives the output and the
family's forward, run on the side with an attention that only records, gives q and k: the module's q/k/v
projections run twice at the recorded steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from .. import comfy_bridge
from ..object_patch import CURRENT_CALL, WRAPPER_KEY, ObjectPatchWrapper, PladisForward, twin_of
from ..route import Target
from .recording import SUPPORTED, Recording, UnsupportedForMapsError, cond_rows

# Object-patched families whose text keys are the prompt's tokens one to one.
ONE_TO_ONE_OBJECT_FAMILIES = ("PixArt",)


@dataclass(eq=False, repr=False)
class RecordingForward(PladisForward):
    """A twin's forward: PLADIS's where ``applies_pladis`` (a PLADIS patch was here), the module's own otherwise;
    records the maps of its q and k within the recording's steps."""

    recording: Recording | None = None
    applies_pladis: bool = False

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        call = CURRENT_CALL.get(None)
        if call is None:
            return self.dense(*args, **kwargs)
        if self.applies_pladis and self.step_range.contains({"sigmas": call.sigmas}):
            return super().__call__(*args, **kwargs)  # PLADIS's forward; ``attention`` below records
        out = self.dense(*args, **kwargs)
        if self.recording.step_range.contains({"sigmas": call.sigmas}):
            scale = 0.0 if self.applies_pladis else self.recording.scale
            alpha = self.alpha if self.applies_pladis else self.recording.alpha
            with torch.no_grad():
                self.family.forward(_SideAttention(self, alpha, scale), call.layout, *args, **kwargs)
        return out

    def attention(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, layout: Any) -> torch.Tensor:
        call = CURRENT_CALL.get(None)
        if not self.applies_pladis:
            # a PLADIS patch added after the recorder chains this forward: its dense part, recorded nowhere
            self.recording.skip("PLADIS Model Patch was applied after the recorder: place the recorder after it")
            return self.family.attend(q, k, v, layout, self.alpha, 0.0)
        if call is not None and self.recording.step_range.contains({"sigmas": call.sigmas}):
            with torch.no_grad():
                record(self.recording, q, k, self.alpha, self.scale)
        return super().attention(q, k, v, layout)


@dataclass(eq=False)
class _SideAttention:
    """What the family's forward calls on the side: ``attention`` records q, k and returns zeros."""

    forward: RecordingForward
    alpha: float
    scale: float

    @property
    def twin(self) -> torch.nn.Module:
        return self.forward.twin

    def attention(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, layout: Any) -> torch.Tensor:
        record(self.forward.recording, q, k, self.alpha, self.scale)
        return torch.zeros(*q.shape[:3], v.shape[-1], dtype=v.dtype, device=v.device)


def record(recording: Recording, q: torch.Tensor, k: torch.Tensor, alpha: float, scale: float) -> None:
    """(B, H, N, d) image queries and text keys of one call: the cond rows' maps."""
    rows = cond_rows(q.shape[0], {"cond_or_uncond": recording.cond_or_uncond})
    if rows is None:
        return
    if not isinstance(rows, slice):
        rows = rows.to(q.device)
    recording.record(q[rows], k[rows], alpha, scale)


def install_object_recorder(model_patcher: Any, recording: Recording, target: Target) -> None:
    """A recording twin at each attention module PLADIS patched (every block's, when PLADIS is not there)."""
    family = target.family
    if family.name not in ONE_TO_ONE_OBJECT_FAMILIES:
        raise UnsupportedForMapsError(
            f"PLADIS Attention Maps cannot map words onto the text keys of {family.name} models yet "
            f"(supported: {SUPPORTED})"
        )
    names = [f"diffusion_model.{family.blocks}.{site.block}.{family.module}" for site in target.sites]
    current = {name: model_patcher.get_model_object(name) for name in names}
    patched = [name for name, module in current.items() if isinstance(vars(module).get("forward"), PladisForward)]
    for name in patched or names:
        module = current[name]
        pladis = vars(module).get("forward")
        twin = twin_of(module)
        if isinstance(pladis, PladisForward):
            args = (pladis.alpha, pladis.scale, pladis.step_range, pladis.previous)
            twin.forward = RecordingForward(family, twin, *args, recording=recording, applies_pladis=True)
        else:
            args = (recording.alpha, recording.scale, recording.step_range, None)
            twin.forward = RecordingForward(family, twin, *args, recording=recording)
        model_patcher.add_object_patch(name, twin)
    comfy_bridge.add_apply_model_wrapper(model_patcher, WRAPPER_KEY, ObjectPatchWrapper(family))
