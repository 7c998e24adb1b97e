"""The pack's layering, read from its source with ``ast``: no import cycle among its modules, no ComfyUI (or
``nodes``) import in ``pladis_core/``, and no ComfyUI import at module level in the family records."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("pladis_core", "nodes")
# Top-level modules of ComfyUI that a custom node can import.
COMFYUI = {"comfy", "comfy_api", "comfy_extras", "comfy_execution", "folder_paths", "server", "execution"}
COMFYUI |= {"latent_preview", "node_helpers", "comfyui_version"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts) or "__init__"


def pack_files() -> list[Path]:
    return [ROOT / "__init__.py", *(p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py")))]


def imports(path: Path, module_level_only: bool = False) -> list[tuple[str, bool]]:
    """(absolute module name, at module level) for every import in ``path``; relative imports resolved
    inside the pack (the pack root is the module ``""``)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    if package == ["__init__"]:
        package = []
    module_level = set(map(id, tree.body))
    typing_only = {
        id(n) for block in ast.walk(tree) if _is_type_checking(block) for stmt in block.body for n in ast.walk(stmt)
    }
    found = []
    for node in ast.walk(tree):
        if id(node) in typing_only:  # ``if TYPE_CHECKING:`` imports never run
            continue
        top = id(node) in module_level
        if isinstance(node, ast.Import):
            found += [(alias.name, top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                found.append((node.module, top))
                continue
            base = package[: len(package) - node.level + 1] if node.level > 1 else package
            target = ".".join([*base, *([node.module] if node.module else [])])
            found.append((target, top))
            # ``from . import x`` imports the module x when x is one
            found += [(f"{target}.{alias.name}".lstrip("."), top) for alias in node.names]
    return [(name, top) for name, top in found if not module_level_only or top]


def _is_type_checking(node: ast.AST) -> bool:
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def pack_modules() -> dict[str, Path]:
    return {module_name(p): p for p in pack_files()}


def find_cycle(modules: dict[str, Path]) -> list[str] | None:
    """An import cycle among ``modules`` (name → file), as the list of names around it, or None."""
    graph = {name: {t for t, _ in imports(path) if t in modules and t != name} for name, path in modules.items()}
    # Importing a module runs its package's __init__ first: a submodule importing its parent is no edge back.
    for name, targets in graph.items():
        targets -= {parent for parent in modules if name.startswith(parent + ".") or parent == "__init__"}
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        path.append(name)
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                return path[path.index(target) :] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[name] = 2
        return None

    for name in sorted(graph):
        if name not in state and (cycle := visit(name)):
            return cycle
    return None


def test_no_import_cycle_among_the_pack_modules():
    modules = pack_modules()
    assert {"pladis_core.cross_attention", "pladis_core.dispatch", "nodes.patching"} <= set(modules)
    cycle = find_cycle(modules)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_pladis_core_imports_no_comfyui_and_no_nodes():
    offending = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in sorted((ROOT / "pladis_core").rglob("*.py"))
        for name, _ in imports(path)
        if name.split(".")[0] in COMFYUI | {"nodes"}
    ]
    assert offending == []


def test_family_records_import_no_comfyui_at_module_level():
    offending = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in sorted((ROOT / "nodes" / "families").rglob("*.py"))
        for name, _ in imports(path, module_level_only=True)
        if name.split(".")[0] in COMFYUI
    ]
    assert offending == []


def test_the_checks_see_a_cycle_and_a_nested_comfyui_import(tmp_path, monkeypatch):
    """Relative imports are resolved (a cycle written with them is found) and imports inside functions count."""
    package = tmp_path / "pladis_core"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from .b import x\n")
    (package / "b.py").write_text("def f():\n    import comfy.model_management\n    from . import a\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert ("comfy.model_management", False) in imports(package / "b.py")
    modules = {module_name(p): p for p in sorted(package.rglob("*.py"))}
    assert find_cycle(modules) == ["pladis_core.a", "pladis_core.b", "pladis_core.a"]
