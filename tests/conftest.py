"""The repository root and tests/ on sys.path, for ``pladis_core`` and the test helpers."""

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS.parent))
sys.path.insert(0, str(TESTS))
