"""Records the schemas of the nodes the example workflows use, from a real ComfyUI, for the CI validation test.

    python scripts/record_node_schemas.py --comfyui /path/to/ComfyUI [--python /path/to/python]

Starts the ComfyUI (on CPU, its own temporary base directory, placeholder model files named as the workflows
name them), reads /object_info, keeps the node types that example_workflows/*.json use plus PLADISModelPatch,
and writes tests/workflows/node_schemas.json with the ComfyUI version it came from.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from comfyui_server import comfyui_server, get_json  # noqa: E402
from workflow_tools import FRONTEND_ONLY_TYPES, load_workflows  # noqa: E402

OUT = ROOT / "tests" / "workflows" / "node_schemas.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--comfyui", required=True)
    parser.add_argument("--python", default=None, help="default: COMFYUI/.venv/bin/python")
    parser.add_argument("--types", nargs="*", default=[], help="more node types to record")
    args = parser.parse_args()
    python = args.python or str(Path(args.comfyui, ".venv", "bin", "python"))
    used = {"PLADISModelPatch", *args.types}
    for workflow in load_workflows().values():
        used |= {node["type"] for node in workflow["nodes"]} - FRONTEND_ONLY_TYPES
    with tempfile.TemporaryDirectory() as base, comfyui_server(args.comfyui, python, Path(base)) as url:
        info = get_json(url + "/object_info")
        version = get_json(url + "/system_stats")["system"].get("comfyui_version", "unknown")
    missing = sorted(used - set(info))
    if missing:
        raise SystemExit(f"node types missing from this ComfyUI: {missing}")
    schemas = {"comfyui_version": version, "nodes": {name: info[name] for name in sorted(used)}}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(schemas, indent=1) + "\n")
    print(f"wrote {OUT} ({len(used)} node types, ComfyUI {version})")


if __name__ == "__main__":
    main()
