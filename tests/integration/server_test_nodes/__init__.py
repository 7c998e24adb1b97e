"""Test-only ComfyUI nodes for tests/integration/test_server_hostile.py; loaded only by that test's server.

The live server has no text encoder, so conditioning comes from a seeded random tensor; the sampled latent is
reported (its SHA-256, whether it is finite) in the prompt's /history outputs, for runs to be compared bit for bit.
"""

import hashlib

import torch


class PladisTestConditioning:
    """Seeded random CONDITIONING of SD1.5's width (768), standing in for a CLIP text encoder."""

    CATEGORY = "testing/pladis"
    RETURN_TYPES = ("CONDITIONING",)
    FUNCTION = "make"

    @classmethod
    def INPUT_TYPES(cls):
        seed = ("INT", {"default": 0, "min": 0, "max": 2**31})
        return {"required": {"seed": seed, "tokens": ("INT", {"default": 77, "min": 1, "max": 231})}}

    def make(self, seed, tokens):
        generator = torch.Generator().manual_seed(seed)
        return ([[torch.randn(1, tokens, 768, generator=generator), {}]],)


class PladisTestLatentDigest:
    """An output node: the latent's SHA-256 and finiteness in its UI output. ``label`` keeps prompts distinct."""

    CATEGORY = "testing/pladis"
    RETURN_TYPES = ()
    FUNCTION = "digest"
    OUTPUT_NODE = True

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"samples": ("LATENT",), "label": ("STRING", {"default": ""})}}

    def digest(self, samples, label):
        latent = samples["samples"].detach().to("cpu", torch.float32).contiguous()
        report = {
            "label": label,
            "sha256": hashlib.sha256(latent.numpy().tobytes()).hexdigest(),
            "finite": bool(torch.isfinite(latent).all()),
            "shape": list(latent.shape),
        }
        return {"ui": {"pladis_test_digest": [report]}, "result": ()}


NODE_CLASS_MAPPINGS = {
    "PladisTestConditioning": PladisTestConditioning,
    "PladisTestLatentDigest": PladisTestLatentDigest,
}
