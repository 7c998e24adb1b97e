"""A real ComfyUI server with this pack loaded, for the opt-in tests and the schema recorder.

The server runs on CPU on a free local port, with its own base directory (models, input, output, user) so that
the ComfyUI tree is never written to. Model folders hold empty placeholder files with the names the example
workflows use: enough for ComfyUI to list them and validate prompts, not to run them.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PLACEHOLDER_MODELS = {
    "checkpoints": ["sd_xl_base_1.0.safetensors", "sdxl_lightning_4step.safetensors"],
    "diffusion_models": [
        "flux1-dev.safetensors",
        "flux1-schnell.safetensors",
        "flux-2-klein-4b.safetensors",
        "z_image_turbo_bf16.safetensors",
        "qwen_image_fp8_e4m3fn.safetensors",
        "wan2.2_t2v_high_noise_14B_fp8_scaled.safetensors",
        "wan2.2_t2v_low_noise_14B_fp8_scaled.safetensors",
        "hunyuanvideo1.5_720p_t2v_fp16.safetensors",
    ],
    "text_encoders": [
        "clip_l.safetensors",
        "t5xxl_fp16.safetensors",
        "qwen_3_4b.safetensors",
        "qwen_2.5_vl_7b_fp8_scaled.safetensors",
        "umt5_xxl_fp8_e4m3fn_scaled.safetensors",
        "byt5_small_glyphxl_fp16.safetensors",
    ],
    "vae": [
        "ae.safetensors",
        "flux2-vae.safetensors",
        "qwen_image_vae.safetensors",
        "wan_2.1_vae.safetensors",
        "hunyuanvideo15_vae_fp16.safetensors",
    ],
    "controlnet": ["control-lora-canny-rank256.safetensors"],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_base(base: Path) -> None:
    """The base directory (--base-directory): placeholder models, an input image, and the pack in custom_nodes."""
    for folder, names in PLACEHOLDER_MODELS.items():
        (base / "models" / folder).mkdir(parents=True, exist_ok=True)
        for name in names:
            (base / "models" / folder / name).touch()
    for folder in ("input", "output", "custom_nodes"):
        (base / folder).mkdir(parents=True, exist_ok=True)
    write_png(base / "input" / "example.png")
    link = base / "custom_nodes" / "pladis"
    if not link.exists():
        link.symlink_to(ROOT, target_is_directory=True)


def write_png(path: Path, size: int = 64) -> None:
    """A small grey PNG written with the standard library only."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + bytes([128, 128, 128]) * size for _ in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)


@contextlib.contextmanager
def comfyui_server(comfyui_path: str, python: str, base: Path, extra_args: list[str] | None = None) -> Iterator[str]:
    """Starts ComfyUI and yields its URL once /object_info answers; stops it afterwards."""
    prepare_base(base)
    port = free_port()
    log = open(base / "server.log", "w")  # noqa: SIM115 - closed in finally
    command = [
        python, "main.py", "--cpu", "--listen", "127.0.0.1", "--port", str(port), "--base-directory", str(base),
        "--database-url", "sqlite:///:memory:", *(extra_args or []),
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=comfyui_path, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 180
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"ComfyUI exited early; log:\n{(base / 'server.log').read_text()[-4000:]}")
            try:
                get_json(url + "/object_info/PLADISModelPatch")
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                if time.time() > deadline:
                    raise RuntimeError("ComfyUI did not start within 180 s") from None
                time.sleep(1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def post_json(url: str, payload: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, _json_or_empty(response.read())
    except urllib.error.HTTPError as error:
        return error.code, _json_or_empty(error.read())


def _json_or_empty(body: bytes) -> dict:
    try:
        return json.loads(body) if body.strip() else {}
    except json.JSONDecodeError:
        return {"text": body.decode(errors="replace")}


def run_prompt(url: str, prompt: dict, timeout: float = 180) -> dict:
    """Queues an API prompt and waits (at most ``timeout`` seconds) for its /history entry; returns the entry.

    Raises AssertionError if the prompt is refused at validation or does not finish in time (a stuck queue)."""
    status, answer = post_json(url + "/prompt", {"prompt": prompt})
    assert status == 200 and "prompt_id" in answer, (status, str(answer)[:2000])
    prompt_id = answer["prompt_id"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        entry = get_json(f"{url}/history/{prompt_id}").get(prompt_id)
        if entry and "status" in entry:
            return entry
        time.sleep(0.5)
    raise AssertionError(f"prompt {prompt_id} did not finish within {timeout} s (the queue is stuck)")


def execution_error(entry: dict) -> dict | None:
    """The execution_error message of a /history entry, or None if the prompt ran through."""
    for kind, data in entry.get("status", {}).get("messages", []):
        if kind == "execution_error":
            return data
    return None
