"""Imports the repository the way ComfyUI imports a custom node: a package loaded from its __init__.py."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The node's inputs, in order: the saved-workflow interface, which must stay stable.
NODE_INPUTS = ("model", "alpha", "scale", "start_percent", "end_percent", "layers", "custom_layers")
# The node's default inputs (those of the UI), which the node tests change one at a time.
DEFAULTS = dict(alpha=1.5, scale=2.0, start_percent=0.0, end_percent=1.0, layers="default", custom_layers="")


def import_pack(name: str = "pladis_pack"):
    """The package, with its ``nodes`` subpackage imported (ComfyUI imports it through comfy_entrypoint)."""
    if name not in sys.modules:
        _load(name)
    importlib.import_module(f"{name}.nodes")
    return sys.modules[name]


def _load(name: str) -> None:
    spec = importlib.util.spec_from_file_location(name, ROOT / "__init__.py", submodule_search_locations=[str(ROOT)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)


def patch(model, **changes):
    """The node applied to ``model`` with its defaults but for ``changes``: (the patched model, its UI report)."""
    output = import_pack().nodes.PLADISModelPatch.execute(model=model, **{**DEFAULTS, **changes})
    return output.result[0], output.ui["pladis"][0]
