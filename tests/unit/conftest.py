"""Headless tests: ComfyUI is replaced by the stand-ins in tests/fakes and tests/comfy_standins.py."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "fakes"))
