"""Writes example_workflows/*.json (ComfyUI UI format, version 0.4) from the graphs described below.

    python scripts/build_example_workflows.py

Inputs, outputs and widget order come from tests/workflows/node_schemas.json (recorded from a real ComfyUI by
scripts/record_node_schemas.py), so that the files agree with the node definitions; the validation test checks
the written files, not this script.

Every loader node carries ``properties.models`` (file name, download URL, models folder), which is where the front
end's missing-models list reads its Download links; the links come from MODEL_LINKS, one table
(scripts/workflow_models.py). The nodes sit in labelled, coloured groups, one per stage (models, prompts, PLADIS,
sampling, output), laid out left to right (scripts/workflow_graph.py).

The workflows: scripts/workflow_paper_models.py (SDXL, Flux.1) and scripts/workflow_new_families.py (the families
the paper did not try), from the shared pieces of scripts/workflow_parts.py and the texts of
scripts/workflow_texts.py.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from workflow_new_families import flux2_klein, hunyuan_video_15, qwen_image, wan22_t2v, z_image_turbo  # noqa: E402
from workflow_paper_models import flux, sdxl_ab, sdxl_controlnet, sdxl_lightning, sdxl_pag  # noqa: E402
from workflow_tools import WORKFLOWS  # noqa: E402

WORKFLOW_BUILDERS = {
    "PLADIS - SDXL on vs off (same seed)": sdxl_ab,
    "PLADIS - SDXL-Lightning 4 steps CFG 1": sdxl_lightning,
    "PLADIS - Flux dev": lambda: flux("dev"),
    "PLADIS - Flux schnell": lambda: flux("schnell"),
    "PLADIS - SDXL with PAG": sdxl_pag,
    "PLADIS - SDXL with ControlNet": sdxl_controlnet,
    "PLADIS - Z-Image Turbo 8 steps CFG 1": z_image_turbo,
    "PLADIS - Flux.2 Klein 4B 4 steps CFG 1": flux2_klein,
    "PLADIS - Qwen-Image": qwen_image,
    "PLADIS - Wan 2.2 14B text to video": wan22_t2v,
    "PLADIS - HunyuanVideo 1.5 720p text to video": hunyuan_video_15,
}


def main() -> None:
    WORKFLOWS.mkdir(exist_ok=True)
    for name, build in WORKFLOW_BUILDERS.items():
        (WORKFLOWS / f"{name}.json").write_text(json.dumps(build(), indent=1, ensure_ascii=False) + "\n")
        print("wrote", name)


if __name__ == "__main__":
    main()
