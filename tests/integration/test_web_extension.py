"""The web extension in headless Chromium against a real ComfyUI server with its real front end.

Opt-in: needs COMFYUI_PATH (a ComfyUI with its front-end package) and Chromium (CHROMIUM, default
/usr/bin/chromium) driven by the Python ``playwright`` package. Checks that the extension loads without console
errors, that the preset changes the widgets without being saved, and that the report appears after a run on a
tiny SD1.5-structured UNet (generated at test time). Screenshots go to PLADIS_SCREENSHOTS (default: a temp dir).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

import pytest
from comfyui import COMFYUI_PATH, comfyui_python, requires_comfyui
from comfyui_server import comfyui_server
from web_presets import load_presets
from workflow_tools import FRONTEND_ONLY_TYPES, SCHEMAS, load_workflows

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
playwright = pytest.importorskip("playwright.sync_api", reason="pip install playwright (no browser download needed)")
pytestmark = [
    requires_comfyui,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM} (set CHROMIUM)"),
]
HERE = Path(__file__).resolve().parent
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip


def tiny_graph(scale: float) -> dict:
    """UNETLoader (tiny SD1.5 UNet) -> PLADIS Model Patch -> PreviewAny, in UI format."""

    def node(node_id, kind, pos, widgets, inputs, outputs):
        return {
            "id": node_id, "type": kind, "pos": pos, "size": [340, 160], "flags": {}, "order": node_id - 1,
            "mode": 0, "inputs": inputs, "outputs": outputs, "properties": {}, "widgets_values": widgets,
        }  # fmt: skip

    return {
        "last_node_id": 3,
        "last_link_id": 2,
        "nodes": [
            node(
                1,
                "UNETLoader",
                [0, 0],
                ["tiny_sd15_unet.safetensors", "default"],
                [],
                [{"name": "MODEL", "type": "MODEL", "links": [1], "slot_index": 0}],
            ),
            node(
                2,
                "PLADISModelPatch",
                [400, 0],
                [1.5, scale, 0.0, 1.0, "default", ""],
                [{"name": "model", "type": "MODEL", "link": 1}],
                [{"name": "MODEL", "type": "MODEL", "links": [2], "slot_index": 0}],
            ),
            node(3, "PreviewAny", [820, 0], [], [{"name": "source", "type": "*", "link": 2}], []),
        ],  # fmt: skip
        "links": [[1, 1, 0, 2, 0, "MODEL"], [2, 2, 0, 3, 0, "MODEL"]],
        "groups": [],
        "config": {},
        "extra": {},
        "version": 0.4,
    }


@pytest.fixture(scope="module")
def server():
    with tempfile.TemporaryDirectory() as base:
        unet = Path(base, "models", "diffusion_models", "tiny_sd15_unet.safetensors")
        unet.parent.mkdir(parents=True)
        subprocess.run([comfyui_python(), str(HERE / "make_tiny_unet.py"), str(unet)], cwd=COMFYUI_PATH, check=True)
        with comfyui_server(COMFYUI_PATH, comfyui_python(), Path(base)) as url:
            yield url


@pytest.fixture(scope="module")
def screenshots():
    path = Path(os.environ.get("PLADIS_SCREENSHOTS") or tempfile.mkdtemp(prefix="pladis-screens-"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def page(server):
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.console_errors = []
        page.on("console", lambda m: m.type == "error" and page.console_errors.append(m))
        page.on("pageerror", lambda e: page.console_errors.append(e))
        page.goto(server, wait_until="domcontentloaded")
        page.wait_for_function("() => window.app?.graph && window.app.extensions?.length > 0", timeout=120_000)
        yield page
        browser.close()


def extension_errors(page) -> list[str]:
    """Console errors and uncaught exceptions that come from this pack's extension (its URL in the message, the
    location or the stack). The front end's own (its 404s for optional user files, failed lookups of remote
    services on a closed network, a startup TypeError of front end 1.27) are not the extension's."""
    found = []
    for entry in page.console_errors:
        if hasattr(entry, "location"):
            text = f"{entry.location.get('url', '')} {entry.text}"
        else:
            text = f"{entry} {getattr(entry, 'stack', '')}"
        if "/extensions/pladis/" in text or "pladis.js" in text:
            found.append(text)
    return found


def load(page, graph: dict) -> None:
    page.evaluate("async (g) => { await window.app.loadGraphData(g); }", graph)


def node_state(page) -> dict:
    return page.evaluate(
        """() => {
        const node = window.app.graph._nodes.find(n => n.comfyClass === "PLADISModelPatch");
        const values = Object.fromEntries(node.widgets.map(w => [w.name, w.value]));
        return {values, color: node.color ?? null, bgcolor: node.bgcolor ?? null,
                saved: node.serialize().widgets_values, id: node.id};
    }"""
    )


def run_and_wait(page) -> None:
    page.evaluate("async () => { await window.app.queuePrompt(0, 1); }")
    page.wait_for_function(
        """() => { const n = window.app.graph._nodes.find(n => n.comfyClass === "PLADISModelPatch");
                   const w = n?.widgets?.find(w => w.name === "pladis_report");
                   return w && !String(w.value).startsWith("Run the workflow"); }""",
        timeout=120_000,
    )


def test_extension_loads_without_console_errors(page):
    assert page.evaluate("() => window.app.extensions.some(e => e.name === 'pladis.ModelPatch')")
    load(page, tiny_graph(2.0))
    assert extension_errors(page) == []


def test_preset_fills_the_widgets_and_is_not_saved(page):
    load(page, tiny_graph(2.0))
    before = node_state(page)
    assert {"preset", "pladis_report"} <= set(before["values"])
    choices = page.evaluate(
        """() => window.app.graph._nodes.find(n => n.comfyClass === "PLADISModelPatch")
                     .widgets.find(w => w.name === "preset").options.values"""
    )
    assert choices == ["custom (keep my values)", *load_presets()]
    page.evaluate(
        """() => { const n = window.app.graph._nodes.find(n => n.comfyClass === "PLADISModelPatch");
                   const w = n.widgets.find(w => w.name === "preset");
                   w.value = w.options.values.find(v => v.startsWith("Flux")); w.callback(w.value); }"""
    )
    after = node_state(page)
    assert after["values"]["scale"] == 1.5 and after["values"]["alpha"] == 1.5
    assert after["saved"] == [1.5, 1.5, 0.0, 1.0, "default", ""]
    prompt = page.evaluate("async () => (await window.app.graphToPrompt()).output")
    assert set(prompt[str(after["id"])]["inputs"]) == {
        "model", "alpha", "scale", "start_percent", "end_percent", "layers", "custom_layers",
    }  # fmt: skip
    assert extension_errors(page) == []


def test_report_appears_after_a_run(page, screenshots):
    load(page, tiny_graph(2.0))
    run_and_wait(page)
    state = node_state(page)
    # The tiny UNet has cross-attention in input block 1, the middle block and output blocks 0 and 1.
    assert "SD15: 3 of 4 cross-attention layers (default)" in state["values"]["pladis_report"]
    assert "α = 1.5" in state["values"]["pladis_report"] and "λ = 2" in state["values"]["pladis_report"]
    page.screenshot(path=str(screenshots / "pladis_node_after_run.png"))
    (screenshots / "pladis_node_after_run.json").write_text(json.dumps(state, indent=1, ensure_ascii=False))
    assert extension_errors(page) == []


def test_a_warning_when_nothing_was_patched(page, screenshots):
    load(page, tiny_graph(0.0))
    run_and_wait(page)
    state = node_state(page)
    assert state["values"]["pladis_report"].startswith("⚠ Nothing patched")
    assert state["bgcolor"] == "#533"
    page.screenshot(path=str(screenshots / "pladis_node_nothing_patched.png"))
    assert extension_errors(page) == []


def test_in_ui_help_is_served(server):
    import urllib.request

    with urllib.request.urlopen(f"{server}/extensions/pladis/docs/PLADISModelPatch.md", timeout=30) as response:
        assert response.status == 200
        assert "# PLADIS Model Patch" in response.read().decode()


def test_every_template_loads_in_the_front_end_with_its_values(page):
    """Each template the server has every node type of loads with the widget values in its file: the front end reads
    widgets_values as the workflows were written (dynamic combos and their nested widgets included). An older
    ComfyUI than the one the schemas come from drops the trailing values of inputs it lacks."""
    names = page.evaluate("async () => (await (await fetch('/api/workflow_templates')).json()).pladis")
    assert sorted(names) == sorted(load_workflows())
    known = set(page.evaluate("async () => Object.keys(await (await fetch('/object_info')).json())"))
    version = page.evaluate("async () => (await (await fetch('/system_stats')).json()).system.comfyui_version")
    recorded = version == json.loads(SCHEMAS.read_text())["comfyui_version"]
    for name in names:
        workflow = page.evaluate(
            "async (n) => (await fetch(`/api/workflow_templates/pladis/${encodeURIComponent(n)}.json`)).json()", name
        )
        if {n["type"] for n in workflow["nodes"]} - FRONTEND_ONLY_TYPES - known:
            continue  # a model family this ComfyUI does not have (test_workflows_live.py says which)
        load(page, workflow)
        loaded = page.evaluate(
            """() => window.app.graph._nodes.map(n => ({id: n.id, type: n.type,
                                                         saved: n.serialize().widgets_values ?? []}))"""
        )
        assert len(loaded) == len(workflow["nodes"]), name
        saved = {str(n["id"]): n["saved"] for n in loaded}
        for node in workflow["nodes"]:
            values = saved[str(node["id"])]
            assert values == (node["widgets_values"] if recorded else node["widgets_values"][: len(values)]), name
    assert extension_errors(page) == []
