"""The repository root and tests/ on sys.path, for ``pladis_core`` and the test helpers."""

import os
import sys
from pathlib import Path

# Triton reads TRITON_INTERPRET whenever a @triton.jit function is defined, including triton.language's own
# helpers at `import triton`: it must be set before anything imports triton. Only kernels forced onto CPU
# tensors (tests/unit/test_triton_*.py) run interpreted; everything else takes the eager path on CPU.
os.environ.setdefault("TRITON_INTERPRET", "1")

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS.parent))
sys.path.insert(0, str(TESTS))
