"""Writes a tiny SD1.5-structured UNet (random weights) that ComfyUI's UNETLoader detects as SD1.5.

    python make_tiny_unet.py OUTPUT.safetensors      (with ComfyUI's interpreter, its root as working directory)

Detection needs SD1.5's model width (320) and context width (768); everything else is cut down to one level.
"""

import os
import sys

OUTPUT = sys.argv[1]
sys.argv = [sys.argv[0], "--cpu"]
sys.path.insert(0, os.getcwd())

import comfy.options  # noqa: E402

comfy.options.enable_args_parsing()

import comfy.ldm.modules.diffusionmodules.openaimodel as openaimodel  # noqa: E402
import comfy.ops  # noqa: E402
import comfy.utils  # noqa: E402
import torch  # noqa: E402

config = dict(
    image_size=32, in_channels=4, out_channels=4, model_channels=320, num_res_blocks=[1], channel_mult=[1],
    transformer_depth=[1], transformer_depth_output=[1, 1], transformer_depth_middle=1, context_dim=768,
    num_heads=8, num_head_channels=-1, use_linear_in_transformer=False, adm_in_channels=None,
    use_temporal_attention=False, use_spatial_transformer=True, legacy=False, use_checkpoint=False,
    use_temporal_resblock=False, dtype=torch.float16, operations=comfy.ops.disable_weight_init,
)  # fmt: skip
unet = openaimodel.UNetModel(**config)
torch.manual_seed(0)
with torch.no_grad():
    for p in unet.parameters():
        p.normal_(0, 0.02)
comfy.utils.save_torch_file({k: v.contiguous() for k, v in unet.state_dict().items()}, OUTPUT)
print(OUTPUT, sum(p.numel() for p in unet.parameters()))
