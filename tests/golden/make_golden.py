"""Regenerates golden.safetensors: float32 inputs and float64 reference outputs for the core's tests.

    python tests/golden/make_golden.py

The references come from tests/oracles.py: the formulas written naively in float64, with α-entmax from the
``entmax`` package. The file is committed so that a change of the oracle's dependencies cannot move them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from oracles import entmax_reference, pladis_reference  # noqa: E402

ENTMAX_CASES = [  # name, shape, logit scale, alpha
    ("entmax15_peaked", (8, 77), 3.0, 1.5),
    ("entmax15_flat", (8, 77), 0.2, 1.5),
    ("entmax15_long", (2, 512), 1.0, 1.5),
    ("sparsemax_peaked", (8, 77), 3.0, 2.0),
    ("sparsemax_flat", (8, 77), 0.2, 2.0),
    ("entmax125", (4, 77), 1.0, 1.25),
    ("entmax175", (4, 77), 1.0, 1.75),
]
ATTENTION_CASES = [  # name, batch, queries, heads, head dim, keys, alpha, lambda
    ("sdxl_like_entmax15", 2, 12, 2, 16, 77, 1.5, 2.0),
    ("sdxl_like_sparsemax", 2, 12, 2, 16, 77, 2.0, 2.0),
    ("sd15_like_lambda_1_5", 1, 12, 1, 40, 77, 1.5, 1.5),
    ("long_prompt_alpha_1_3", 1, 8, 2, 8, 154, 1.3, 3.0),
]


def main() -> None:
    g = torch.Generator().manual_seed(2025)
    tensors, cases = {}, {}
    for name, shape, scale, alpha in ENTMAX_CASES:
        logits = (torch.randn(shape, generator=g) * scale).float()
        tensors[f"{name}.logits"] = logits
        tensors[f"{name}.probs"] = entmax_reference(logits.double(), alpha)
        cases[name] = {"kind": "entmax", "alpha": alpha}
    for name, batch, n_query, heads, dim_head, n_key, alpha, scale in ATTENTION_CASES:
        q = torch.randn(batch, n_query, heads * dim_head, generator=g) * 1.6
        k = torch.randn(batch, n_key, heads * dim_head, generator=g)
        k[:, 0] *= 3.0
        v = torch.randn(batch, n_key, heads * dim_head, generator=g)
        tensors.update({f"{name}.q": q, f"{name}.k": k, f"{name}.v": v})
        tensors[f"{name}.out"] = pladis_reference(q.double(), k.double(), v.double(), heads, alpha, scale)
        cases[name] = {"kind": "attention", "alpha": alpha, "scale": scale, "heads": heads}
    save_file(
        {k: v.contiguous() for k, v in tensors.items()}, HERE / "golden.safetensors", {"cases": json.dumps(cases)}
    )


if __name__ == "__main__":
    main()
