"""The DiT family cases, one module per family (or a few alike): each ``CASES`` maps a kind, as the tests name
it, to a function that returns the family's ``harness.Case``, or None where this ComfyUI has no such family.
Import only after ``harness.start`` (the modules import ComfyUI's)."""

import importlib

MODULES = (
    "auraflow",
    "cascade",
    "cogvideo",
    "cosmos",
    "flux",
    "hidream",
    "hunyuan",
    "ideogram",
    "image_first",
    "kandinsky",
    "krea2",
    "ltx",
    "lumina",
    "mageflow",
    "minimax",
    "mochi",
    "omnigen2",
    "pixeldit",
    "wan",
)
CASES = {kind: make for name in MODULES for kind, make in importlib.import_module(f"family_cases.{name}").CASES.items()}
