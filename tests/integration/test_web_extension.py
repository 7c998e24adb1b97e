"""The web extension in headless Chromium against a real ComfyUI server with its real front end.

Opt-in: needs COMFYUI_PATH (a ComfyUI with its front-end package) and Chromium (CHROMIUM, default
/usr/bin/chromium) driven by the Python ``playwright`` package. Checks that the extension loads without console
errors, that the preset changes the widgets without being saved, and that the report appears after a run on a
tiny SD1.5-structured UNet (generated at test time); that each example workflow, its models absent, gets a
Download for every file in the missing-models list; and the node's face: search aliases, the whole description in
the node library's preview, the preset's tooltip, the custom_layers placeholder, Node Info without a 404.
Screenshots go to PLADIS_SCREENSHOTS (default: a temp dir).

PLADIS_FRONTEND_ROOT=<comfyui_frontend_package>/static runs it against another front end than the one installed
with ComfyUI (``--front-end-root``), e.g. a newer comfyui-frontend-package unpacked from its wheel.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tempfile
from pathlib import Path

import pytest
from comfyui import COMFYUI_PATH, comfyui_python, requires_comfyui
from comfyui_server import comfyui_server, post_json
from web_presets import load_presets
from workflow_tools import FRONTEND_ONLY_TYPES, LOADER_FOLDERS, SCHEMAS, load_workflows

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FRONTEND_ROOT = os.environ.get("PLADIS_FRONTEND_ROOT")
SERVER_ARGS = ["--front-end-root", FRONTEND_ROOT] if FRONTEND_ROOT else []
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
        with comfyui_server(COMFYUI_PATH, comfyui_python(), Path(base), SERVER_ARGS) as url:
            yield url


@pytest.fixture(scope="module")
def bare_server():
    """A server without the example workflows' model files (the placeholders are removed once it runs)."""
    with (
        tempfile.TemporaryDirectory() as base,
        comfyui_server(COMFYUI_PATH, comfyui_python(), Path(base), SERVER_ARGS) as url,
    ):
        for placeholder in Path(base, "models").rglob("*.safetensors"):
            placeholder.unlink()
        yield url


@pytest.fixture(scope="module")
def screenshots():
    path = Path(os.environ.get("PLADIS_SCREENSHOTS") or tempfile.mkdtemp(prefix="pladis-screens-"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def open_front_end(url: str):
    """The front end in headless Chromium, its console errors and failed responses recorded on the page."""
    post_json(url + "/settings/Comfy.TutorialCompleted", True)  # no first-run template browser over the canvas
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.console_errors, page.failed_responses = [], []
        page.on("console", lambda m: m.type == "error" and page.console_errors.append(m))
        page.on("pageerror", lambda e: page.console_errors.append(e))
        page.on("response", lambda r: r.status >= 400 and page.failed_responses.append(f"{r.status} {r.url}"))
        page.goto(url, wait_until="domcontentloaded")
        page.wait_for_function("() => window.app?.graph && window.app.extensions?.length > 0", timeout=120_000)
        wait_for_startup(page)
        yield page
        browser.close()


def wait_for_startup(page) -> None:
    """A returning user (Comfy.TutorialCompleted) gets the last or the default workflow restored, not the template
    browser: wait for that graph, so that it does not replace one a test loads."""
    with contextlib.suppress(playwright.Error):
        page.wait_for_function("() => window.app.graph._nodes.length > 0", timeout=15_000)
    page.wait_for_timeout(1000)


@pytest.fixture
def page(server):
    with open_front_end(server) as page:
        yield page


@pytest.fixture
def bare_page(bare_server):
    with open_front_end(bare_server) as page:
        yield page


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


def front_end_version(page) -> str:
    return page.evaluate("() => window.__COMFYUI_FRONTEND_VERSION__ ?? 'unknown'")


def missing_model_rows(page) -> dict:
    """The files the missing-models list names and how many Download buttons it has (excluding Download all)."""
    return page.evaluate(
        """() => {
        const group = document.querySelector('[data-testid="error-group-missing-model"]');
        if (!group) return null;
        const rows = group.querySelector('[data-testid="missing-model-importable-rows"]');
        const names = [...(rows?.querySelectorAll('button[title]:not([aria-label])') ?? [])].map(b => b.title);
        const downloads = [...group.querySelectorAll('[data-testid="missing-model-download"]')]
            .map(b => b.getAttribute('aria-label'));
        return {names, downloads};
    }"""
    )


def workflow_model_files(workflow: dict) -> set[str]:
    return {
        m["name"] for node in workflow["nodes"] if node["type"] in LOADER_FOLDERS for m in node["properties"]["models"]
    }


@pytest.mark.parametrize("name", load_workflows())
def test_missing_models_panel_offers_a_download_for_every_file(bare_page, screenshots, name):
    """With the models absent, the Workflow Overview's Missing Models list names every file of the workflow, each
    with its own Download button (the front end offers one only for a properties.models entry with a download URL
    it accepts)."""
    workflow = load_workflows()[name]
    known = set(bare_page.evaluate("async () => Object.keys(await (await fetch('/object_info')).json())"))
    if {n["type"] for n in workflow["nodes"]} - FRONTEND_ONLY_TYPES - known:
        pytest.skip("a model family this ComfyUI does not have")
    expected = workflow_model_files(workflow)
    bare_page.evaluate("async ([g, n]) => { await window.app.loadGraphData(g, true, true, n); }", [workflow, name])
    details = bare_page.get_by_text("View details")
    details.first.wait_for(timeout=30_000)
    details.first.click()
    bare_page.wait_for_function(
        """(expected) => { const g = document.querySelector('[data-testid="error-group-missing-model"]');
                           const rows = g?.querySelector('[data-testid="missing-model-importable-rows"]');
                           const names = [...(rows?.querySelectorAll('button[title]:not([aria-label])') ?? [])]
                               .map(b => b.title);
                           return JSON.stringify(names.sort()) === JSON.stringify(expected); }""",
        arg=sorted(expected),
        timeout=30_000,
    )
    rows = missing_model_rows(bare_page)
    bare_page.screenshot(path=str(screenshots / f"missing_models {name}.png"))
    assert sorted(rows["names"]) == sorted(expected), front_end_version(bare_page)
    assert sorted(rows["downloads"]) == sorted(f"Download {file}" for file in expected)


def node_definition(page) -> dict:
    return page.evaluate("async () => (await (await fetch('/object_info/PLADISModelPatch')).json()).PLADISModelPatch")


def add_pladis_node(page) -> None:
    """A graph holding only a PLADIS node, selected."""
    page.evaluate(
        """() => { const graph = window.app.graph; graph.clear();
                   const node = window.LiteGraph.createNode("PLADISModelPatch"); node.pos = [300, 200];
                   graph.add(node); window.app.canvas.selectNode(node); window.app.canvas.setDirty(true, true); }"""
    )
    page.wait_for_timeout(500)


def open_node_search(page):
    """The node search box, opened by a double click on the empty canvas as a user does; its input."""
    search = page.locator("input:focus")
    for _ in range(2):
        page.mouse.dblclick(800, 600)
        with contextlib.suppress(playwright.Error):
            search.wait_for(timeout=5_000)
            return search
        page.keyboard.press("Escape")
        page.wait_for_timeout(500)
    page.mouse.dblclick(800, 600)
    search.wait_for(timeout=5_000)
    return search


def test_each_search_alias_finds_the_node(page):
    aliases = node_definition(page).get("search_aliases")
    if not aliases:
        pytest.skip("this ComfyUI sends no search_aliases (its io.Schema has none)")
    page.evaluate("() => window.app.graph.clear()")
    missed = []
    for alias in aliases:
        open_node_search(page).fill(alias)
        try:
            page.get_by_text("PLADIS Model Patch", exact=True).first.wait_for(timeout=10_000)
        except playwright.Error:
            missed.append(alias)
        page.keyboard.press("Escape")
        page.wait_for_timeout(500)
    assert missed == [], f"front end {front_end_version(page)}"


def test_the_library_preview_shows_the_whole_description(page, screenshots):
    description = node_definition(page)["description"]
    library = page.locator('[data-testid="node-library-tab-button"]')
    if not library.count():
        pytest.skip(f"front end {front_end_version(page)}: no node-library-tab-button to open the library with")
    library.click()
    page.get_by_placeholder("Search Nodes").first.fill("PLADIS")
    page.get_by_text("PLADIS Model Patch", exact=True).first.hover()
    shown = page.get_by_text(description[:40]).first
    shown.wait_for(timeout=10_000)
    page.screenshot(path=str(screenshots / "library_preview.png"))
    box = shown.evaluate("e => ({text: e.innerText, scroll: e.scrollHeight, client: e.clientHeight})")
    assert box["text"].strip() == description
    assert box["scroll"] <= box["client"] + 1, box  # nothing cut off or scrolled away


def test_the_preset_has_a_tooltip_on_the_canvas(page):
    add_pladis_node(page)
    point = page.evaluate(
        """() => { const canvas = window.app.canvas;
                   const node = window.app.graph._nodes.find(n => n.comfyClass === "PLADISModelPatch");
                   const widget = node.widgets.find(w => w.name === "preset");
                   const [x, y] = canvas.ds.convertOffsetToCanvas([node.pos[0] + node.size[0] / 2,
                                                                   node.pos[1] + widget.y + 10]);
                   const rect = canvas.canvas.getBoundingClientRect();
                   return {x: rect.left + x, y: rect.top + y, tooltip: widget.tooltip}; }"""
    )
    assert point["tooltip"] and "starting point" in point["tooltip"]
    page.mouse.move(point["x"] - 5, point["y"])
    page.mouse.move(point["x"], point["y"])
    tooltip = page.locator(".node-tooltip")
    tooltip.wait_for(state="visible", timeout=10_000)
    assert tooltip.inner_text().strip() == point["tooltip"]


def test_the_custom_layers_placeholder_shows_while_empty_and_is_never_saved(page):
    placeholder = node_definition(page)["input"]["required"]["custom_layers"][1]["placeholder"]
    add_pladis_node(page)
    state = page.evaluate(
        """() => { const node = window.app.graph._nodes.find(n => n.comfyClass === "PLADISModelPatch");
                   const widget = node.widgets.find(w => w.name === "custom_layers");
                   const empty = widget._displayValue;
                   widget.value = "input 1"; const filled = widget._displayValue; widget.value = "";
                   return {empty, filled, option: widget.options.placeholder,
                           saved: node.serialize().widgets_values}; }"""
    )
    assert state["empty"] == f"(e.g. {placeholder})" and state["filled"] == "input 1"
    assert state["option"] == placeholder  # what the Vue node view and the properties panel show
    assert state["saved"][5] == ""


def test_node_info_opens_the_help_page_without_a_404(page, screenshots):
    add_pladis_node(page)
    info = page.locator('[data-testid="info-button"]')
    if not info.count():
        pytest.skip(f"front end {front_end_version(page)} has no Node Info button in the selection toolbox")
    info.first.click()
    page.get_by_text("Where to put it").first.wait_for(timeout=20_000)
    page.screenshot(path=str(screenshots / "node_info.png"))
    assert [r for r in page.failed_responses if "/docs/PLADISModelPatch" in r] == []


def test_both_help_page_paths_are_served(server):
    import urllib.request

    for path in ("PLADISModelPatch/en.md", "PLADISModelPatch.md"):
        with urllib.request.urlopen(f"{server}/extensions/pladis/docs/{path}", timeout=30) as response:
            assert response.status == 200 and "<!-- families:start -->" in response.read().decode()
