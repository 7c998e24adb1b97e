"""pyproject.toml against the Comfy Registry's documented rules (docs.comfy.org/registry/specifications, and what
comfy-cli reads), and the other files a release publishes: the changelog, .comfyignore, the help page, the icon.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from urllib.parse import urlparse

import pytest
from workflow_tools import load_workflows

tomllib = pytest.importorskip("tomllib", reason="Python 3.11 or newer reads TOML")

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT, COMFY = PYPROJECT["project"], PYPROJECT["tool"]["comfy"]
URLS = PROJECT["urls"]
# The model family of each example workflow, as the description names it.
WORKFLOW_FAMILIES = {
    "SDXL on vs off": "SDXL", "SDXL-Lightning": "Lightning", "SDXL with PAG": "SDXL", "SDXL with ControlNet": "SDXL",
    "Flux dev": "Flux", "Flux schnell": "Flux", "Flux.2 Klein": "Flux.2", "Qwen-Image": "Qwen-Image",
    "Z-Image Turbo": "Z-Image", "Wan 2.2": "Wan 2.x", "HunyuanVideo 1.5": "HunyuanVideo (and 1.5)",
}  # fmt: skip
# What ComfyUI loads from the pack; .comfyignore must keep all of it in the published archive.
SHIPPED = ("__init__.py", "nodes/", "pladis_core/", "web/", "example_workflows/", "requirements.txt", "README.md",
           "LICENSE", "pyproject.toml")  # fmt: skip
NOT_SHIPPED = ("tests/", "bench/", "scripts/", ".ci/")


def test_name_follows_the_registry_rules():
    name = PROJECT["name"]
    assert len(name) < 100 and re.fullmatch(r"[A-Za-z][A-Za-z0-9._-]*", name)
    assert not re.search(r"[._-]{2}", name) and "comfyui" not in name.lower()


def test_version_is_semver_and_the_changelog_names_it_first():
    assert re.fullmatch(r"\d+\.\d+\.\d+", PROJECT["version"])
    first = re.search(r"^## (\S+)", (ROOT / "CHANGELOG.md").read_text(), re.MULTILINE)
    assert first and first.group(1) == PROJECT["version"]


def test_license_file_exists():
    assert PROJECT["license"] == {"file": "LICENSE"} and (ROOT / "LICENSE").read_text().strip()


def test_dependencies_are_requirements_txt_and_never_torch_or_numpy():
    """ComfyUI-Manager installs requirements.txt, the Registry reads dependencies: the same list, which must not
    touch the torch and numpy ComfyUI's environment already has."""
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    requirements = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert PROJECT["dependencies"] == requirements
    names = {re.split(r"[<>=!~\[; ]", requirement)[0].lower() for requirement in requirements}
    assert not names & {"torch", "torchvision", "torchaudio", "numpy"}


def test_publisher_and_display_name_are_set():
    assert COMFY["PublisherId"] and COMFY["DisplayName"]


def test_requires_comfyui_is_the_oldest_version_the_readme_and_tests_name():
    """comfy-cli's pattern ([operator]X.Y.Z); the version is the README's minimum and the older of the two
    ComfyUI versions the integration tests run (v0.3.64, v0.33)."""
    requirement = COMFY["requires-comfyui"]
    match = re.fullmatch(r">=(\d+\.\d+\.\d+)", requirement)
    assert match and match.group(1) == "0.3.64"
    install = _readme_section("Install")
    assert f"ComfyUI v{match.group(1)} or newer" in install and "v0.33" in install


def _readme_section(title: str) -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def test_urls_derive_from_the_repository_and_carry_both_issue_keys():
    repository = URLS["Repository"]
    url = urlparse(repository)
    assert url.scheme == "https" and url.hostname == "github.com" and len(url.path.strip("/").split("/")) == 2
    assert URLS["Issues"] == URLS["Bug Tracker"] == repository + "/issues"
    assert URLS["Documentation"].startswith(repository)
    owner = url.path.strip("/").split("/")[0]
    readme_links = re.findall(rf"https://github\.com/{owner}/[^\s)`>]*", (ROOT / "README.md").read_text())
    assert readme_links and all(link.startswith(repository) for link in readme_links)


def test_icon_is_a_shipped_file_at_a_url_derived_from_the_repository():
    owner_and_name = urlparse(URLS["Repository"]).path.strip("/")
    prefix = f"https://raw.githubusercontent.com/{owner_and_name}/main/"
    assert COMFY["Icon"].startswith(prefix)
    icon = ROOT / COMFY["Icon"].removeprefix(prefix)
    assert icon.suffix in (".svg", ".png", ".jpg", ".gif") and icon.stat().st_size < 100_000
    if icon.suffix == ".svg":
        svg = ElementTree.parse(icon).getroot()
        assert svg.tag == "{http://www.w3.org/2000/svg}svg"
        assert int(svg.get("width")) <= 800 and int(svg.get("height")) <= 400  # the Registry's largest icon


def _family_of(workflow: str) -> str:
    families = [family for key, family in WORKFLOW_FAMILIES.items() if key in workflow]
    assert len(families) == 1, f"{workflow}: name its family in WORKFLOW_FAMILIES"
    return families[0]


@pytest.mark.parametrize("workflow", load_workflows())
def test_the_description_names_the_family_of_every_example_workflow(workflow):
    family = _family_of(workflow)
    assert re.search(rf"(^|[\s(,]){re.escape(family)}([\s,.)]|$)", PROJECT["description"]), family


def test_the_description_names_no_family_twice():
    names = [part.strip() for part in re.split(r"[,:]", PROJECT["description"].split("training-free.")[1])]
    assert len(names) == len(set(names))


def _ignore_patterns() -> list[str]:
    lines = (ROOT / ".comfyignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_comfyignore_keeps_what_comfyui_loads_and_drops_tests_and_tools():
    patterns = _ignore_patterns()
    assert set(NOT_SHIPPED) <= set(patterns)
    for path in SHIPPED:
        assert (ROOT / path).exists(), path
        assert not any(path.startswith(pattern) or pattern == path for pattern in patterns), path
    icon = COMFY["Icon"].rsplit("/", 1)[-1]
    assert icon not in patterns


def test_the_help_page_is_at_the_locale_path_and_the_default_with_one_family_list():
    default = ROOT / "web" / "docs" / "PLADISModelPatch.md"
    english = ROOT / "web" / "docs" / "PLADISModelPatch" / "en.md"
    assert english.read_text() == default.read_text()
    text = default.read_text()
    assert text.count("<!-- families:start -->") == text.count("<!-- families:end -->") == 1
    assert text.index("<!-- families:start -->") < text.index("<!-- families:end -->")


def test_the_publish_workflow_runs_on_a_pyproject_change_on_main():
    text = (ROOT / ".github" / "workflows" / "publish.yml").read_text()
    assert re.search(r"branches:\s*\n\s*- main\s*\n\s*paths:\s*\n\s*- \"pyproject.toml\"", text)
    assert "uses: Comfy-Org/publish-node-action@v1" in text
    assert "personal_access_token: ${{ secrets.REGISTRY_ACCESS_TOKEN }}" in text
