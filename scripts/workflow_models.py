"""The one table of the model files the example workflows load: each file's models folder and download URL.

scripts/workflow_graph.py copies the entries into ``properties.models`` of the loader nodes, where the front end's
missing-models list reads its Download links.
"""

from __future__ import annotations

HF = "https://huggingface.co/"
# Where each model file a workflow loads can be downloaded, grouped by where the link comes from. The links of the
# official templates are copied as they stand in properties.models of the loader nodes of the template that the
# workflow follows (comfyui-workflow-templates-json 0.1.123 on PyPI). Two files are in no official template: their
# links are the file's own Hugging Face repository, where the model page lists it under that name.
TEMPLATE_PACKAGE = "comfyui-workflow-templates-json 0.1.123"
# The official Flux.1 dev and schnell templates link the same text encoders and VAE.
FLUX1_ENCODERS_AND_VAE = {
    "clip_l.safetensors": (
        "text_encoders",
        HF + "comfyanonymous/flux_text_encoders/resolve/main/clip_l.safetensors",
    ),
    "t5xxl_fp16.safetensors": (
        "text_encoders",
        HF + "comfyanonymous/flux_text_encoders/resolve/main/t5xxl_fp16.safetensors",
    ),
    "ae.safetensors": (
        "vae",
        HF + "Comfy-Org/Lumina_Image_2.0_Repackaged/resolve/main/split_files/vae/ae.safetensors",
    ),
}
MODEL_LINKS: dict[str, dict[str, tuple[str, str]]] = {
    "image_sdxl_simple.json": {
        "sd_xl_base_1.0.safetensors": (
            "checkpoints",
            HF + "stabilityai/stable-diffusion-xl-base-1.0/resolve/main/sd_xl_base_1.0.safetensors?download=true",
        ),
    },
    "flux_dev_full_text_to_image.json": {
        "flux1-dev.safetensors": ("diffusion_models", HF + "Comfy-Org/flux1-dev/resolve/main/flux1-dev.safetensors"),
        **FLUX1_ENCODERS_AND_VAE,
    },
    "flux_schnell_full_text_to_image.json": {
        "flux1-schnell.safetensors": (
            "diffusion_models",
            HF + "Comfy-Org/flux1-schnell/resolve/main/flux1-schnell.safetensors",
        ),
        **FLUX1_ENCODERS_AND_VAE,
    },
    "image_z_image_turbo.json": {
        "z_image_turbo_bf16.safetensors": (
            "diffusion_models",
            HF + "Comfy-Org/z_image_turbo/resolve/main/split_files/diffusion_models/z_image_turbo_bf16.safetensors",
        ),
        "qwen_3_4b.safetensors": (
            "text_encoders",
            HF + "Comfy-Org/z_image_turbo/resolve/main/split_files/text_encoders/qwen_3_4b.safetensors",
        ),
        "ae.safetensors": ("vae", HF + "Comfy-Org/z_image_turbo/resolve/main/split_files/vae/ae.safetensors"),
    },
    "image_flux2_klein_text_to_image.json": {
        "flux-2-klein-4b.safetensors": (
            "diffusion_models",
            HF + "Comfy-Org/flux2-klein/resolve/main/split_files/diffusion_models/flux-2-klein-4b.safetensors",
        ),
        "qwen_3_4b.safetensors": (
            "text_encoders",
            HF + "Comfy-Org/flux2-klein/resolve/main/split_files/text_encoders/qwen_3_4b.safetensors",
        ),
        "flux2-vae.safetensors": ("vae", HF + "Comfy-Org/flux2-dev/resolve/main/split_files/vae/flux2-vae.safetensors"),
    },
    "image_qwen_image.json": {
        "qwen_image_fp8_e4m3fn.safetensors": (
            "diffusion_models",
            HF + "Comfy-Org/Qwen-Image_ComfyUI/resolve/main/split_files/diffusion_models/"
            "qwen_image_fp8_e4m3fn.safetensors",
        ),
        "qwen_2.5_vl_7b_fp8_scaled.safetensors": (
            "text_encoders",
            HF + "Comfy-Org/Qwen-Image_ComfyUI/resolve/main/split_files/text_encoders/"
            "qwen_2.5_vl_7b_fp8_scaled.safetensors",
        ),
        "qwen_image_vae.safetensors": (
            "vae",
            HF + "Comfy-Org/Qwen-Image_ComfyUI/resolve/main/split_files/vae/qwen_image_vae.safetensors",
        ),
    },
    "video_wan2_2_14B_t2v.json": {
        "wan2.2_t2v_high_noise_14B_fp8_scaled.safetensors": (
            "diffusion_models",
            HF + "Comfy-Org/Wan_2.2_ComfyUI_Repackaged/resolve/main/split_files/diffusion_models/"
            "wan2.2_t2v_high_noise_14B_fp8_scaled.safetensors",
        ),
        "wan2.2_t2v_low_noise_14B_fp8_scaled.safetensors": (
            "diffusion_models",
            HF + "Comfy-Org/Wan_2.2_ComfyUI_Repackaged/resolve/main/split_files/diffusion_models/"
            "wan2.2_t2v_low_noise_14B_fp8_scaled.safetensors",
        ),
        "umt5_xxl_fp8_e4m3fn_scaled.safetensors": (
            "text_encoders",
            HF + "Comfy-Org/Wan_2.1_ComfyUI_repackaged/resolve/main/split_files/text_encoders/"
            "umt5_xxl_fp8_e4m3fn_scaled.safetensors",
        ),
        "wan_2.1_vae.safetensors": (
            "vae",
            HF + "Comfy-Org/Wan_2.2_ComfyUI_Repackaged/resolve/main/split_files/vae/wan_2.1_vae.safetensors",
        ),
    },
    "video_hunyuan_video_1.5_720p_t2v.json": {
        "hunyuanvideo1.5_720p_t2v_fp16.safetensors": (
            "diffusion_models",
            HF + "Comfy-Org/HunyuanVideo_1.5_repackaged/resolve/main/split_files/diffusion_models/"
            "hunyuanvideo1.5_720p_t2v_fp16.safetensors",
        ),
        "qwen_2.5_vl_7b_fp8_scaled.safetensors": (
            "text_encoders",
            HF + "Comfy-Org/HunyuanVideo_1.5_repackaged/resolve/main/split_files/text_encoders/"
            "qwen_2.5_vl_7b_fp8_scaled.safetensors",
        ),
        "byt5_small_glyphxl_fp16.safetensors": (
            "text_encoders",
            HF + "Comfy-Org/HunyuanVideo_1.5_repackaged/resolve/main/split_files/text_encoders/"
            "byt5_small_glyphxl_fp16.safetensors",
        ),
        "hunyuanvideo15_vae_fp16.safetensors": (
            "vae",
            HF + "Comfy-Org/HunyuanVideo_1.5_repackaged/resolve/main/split_files/vae/"
            "hunyuanvideo15_vae_fp16.safetensors",
        ),
    },
    # In no official template (SDXL-Lightning, an SDXL canny ControlNet): the model's own repository.
    "ByteDance/SDXL-Lightning": {
        "sdxl_lightning_4step.safetensors": (
            "checkpoints",
            HF + "ByteDance/SDXL-Lightning/resolve/main/sdxl_lightning_4step.safetensors",
        ),
    },
    "stabilityai/control-lora": {
        "control-lora-canny-rank256.safetensors": (
            "controlnet",
            HF + "stabilityai/control-lora/resolve/main/control-LoRAs-rank256/control-lora-canny-rank256.safetensors",
        ),
    },
}
