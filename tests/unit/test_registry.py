"""The family registry (nodes/families/registry.py) is the one source of what users read about families: the
generated docs, the node's error, the refusal reasons and the web presets agree with it."""

import dataclasses
import importlib.util
import subprocess
import sys

import pytest
from pack import ROOT, import_pack
from web_presets import load_presets

pack = import_pack()
families = pack.nodes.families
registry = families.registry
refused = families.refused
Node = pack.nodes.PLADISModelPatch


def build_docs():
    spec = importlib.util.spec_from_file_location("build_docs", ROOT / "scripts" / "build_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def records():
    return [*registry.UNETS, *registry.DITS, *registry.OBJECT_PATCHED, *registry.NOT_PATCHED]


def test_the_committed_docs_are_what_the_script_generates():
    docs = build_docs()
    for path, text in docs.outputs(docs.load_registry()).items():
        assert path.read_text(encoding="utf-8") == text, f"{path.relative_to(ROOT)}: run python scripts/build_docs.py"


def test_the_compatibility_table_has_every_records_rows():
    page = (ROOT / "docs" / "compatibility.md").read_text(encoding="utf-8")
    for record in records():
        for row in record.rows:
            assert f"| {row.models} | {row.supported} |" in page, record.name
    table_rows = [line for line in page.splitlines() if line.startswith("| ") and not line.startswith("| family |")]
    assert len(table_rows) == sum(len(record.rows) for record in records()) + len(registry.COMPOSITION)


def test_the_help_page_lists_every_supported_family():
    page = (ROOT / "web" / "docs" / "PLADISModelPatch.md").read_text(encoding="utf-8")
    listed = page.split("<!-- families:start -->")[1].split("<!-- families:end -->")[0]
    for record in records():
        assert record.supported_as in listed, record.name


def test_family_records_import_no_comfyui():
    script = (
        "import sys; sys.path.insert(0, 'scripts'); import build_docs; build_docs.load_registry(); "
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('comfy', 'comfy_api', 'comfy_extras')]; "
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True)


def test_records_are_frozen_and_keyword_only():
    for record in records():
        assert all(field.kw_only for field in dataclasses.fields(record)), record.name
        with pytest.raises(dataclasses.FrozenInstanceError):
            record.name = "changed"
        for row in record.rows:
            assert all(field.kw_only for field in dataclasses.fields(row))


def test_each_class_belongs_to_one_family_and_none_is_refused_too():
    classes = [name for record in [*registry.DITS, *registry.OBJECT_PATCHED] for name in record.classes]
    assert len(classes) == len(set(classes))
    assert not set(classes) & set(refused.REFUSED)


def test_every_refusal_reason_is_explained_by_one_record():
    by_class = [name for record in registry.NOT_PATCHED for name in record.classes]
    by_config = [name for record in registry.NOT_PATCHED for name in record.model_configs]
    assert sorted(by_class) == sorted(refused.REFUSED)
    assert sorted(by_config) == sorted(refused.REFUSED_FAMILIES)


def test_the_refusal_message_lists_the_registry():
    import torch
    from comfy_standins import JointBaseModelStandIn, StandInModelPatcher

    class UnknownDiT(torch.nn.Module):
        pass

    model = StandInModelPatcher(JointBaseModelStandIn(UnknownDiT()))
    defaults = dict(alpha=1.5, scale=2.0, start_percent=0.0, end_percent=1.0, layers="default", custom_layers="")
    with pytest.raises(ValueError) as error:
        Node.execute(model=model, **defaults)
    assert f"Supported: {registry.supported_text()}." in str(error.value)
    for record in [*registry.UNETS, *registry.DITS, *registry.OBJECT_PATCHED]:
        assert record.supported_as in str(error.value)


def test_the_web_presets_agree_with_the_registry():
    labels = set(load_presets())
    general = set(registry.GENERAL_PRESETS)
    named = {label for record in records() for row in record.rows for label in row.presets}
    assert named <= labels, f"presets the registry names but the web lacks: {sorted(named - labels)}"
    assert general <= labels
    assert labels - general <= named, f"web presets no family record names: {sorted(labels - general - named)}"
    for record in [*registry.UNETS, *registry.DITS, *registry.OBJECT_PATCHED]:
        assert all(row.presets for row in record.rows if row.supported == "yes"), record.name


def test_the_catalog_has_one_entry_per_record():
    names = [record.name for record in records()]
    assert len(names) == len(set(names))
    assert set(families.record.CATALOG) == {*names, families.record.COMPOSITION_ENTRY}
    for record in [*registry.DITS, *registry.OBJECT_PATCHED]:
        assert record.classes and record.text_keys and record.supported_as and record.rows, record.name
