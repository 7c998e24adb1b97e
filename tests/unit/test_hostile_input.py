"""Hostile input: text that would break a logger or flood a message, numbers that are not finite.

Also what two PLADIS nodes in a chain do: their corrections add, each with its own α and λ.
"""

import importlib
import logging
import math

import pytest
import torch
from comfy_standins import SD15_LAYOUT, ModelConfigSD15, make_dit_patcher, make_model_patcher, run_dit, run_unet
from oracles import joint_reference, pladis_reference
from pack import import_pack, patch

pack = import_pack()
Node = pack.nodes.PLADISModelPatch
safe_text = importlib.import_module(f"{pack.__name__}.nodes.safe_text")
selection = pack.nodes.layer_selection
core = pack.pladis_core

HOSTILE = {
    "lone surrogate": "input \ud800",
    "carriage return and forged log line": "input\rERROR fake entry",
    "ANSI escape": "input \x1b[2J\x1b[31mred",
    "bidi override": "input \u202eevil",
    "NUL and DEL": "input \x00\x7f",
    "line separator": "input \u2028x",
}
NUMBERS = ("alpha", "scale", "start_percent", "end_percent")
NOT_FINITE = (math.nan, math.inf, -math.inf)


def error_of(text: str) -> str:
    with pytest.raises(ValueError) as caught:
        patch(make_model_patcher(), layers="custom", custom_layers=text)
    return str(caught.value)


def logs_cleanly(message: str) -> bool:
    """What ComfyUI's prompt worker needs: one printable line that a strict UTF-8 log stream accepts."""
    try:
        message.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return message.isprintable()


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_quoted_text_is_one_printable_line(text):
    quoted = safe_text.quote(text)
    assert quoted.isprintable() and logs_cleanly(quoted)
    assert quoted.startswith("'input") and "\\" in quoted  # the hostile character is shown escaped, not dropped


def test_escaping_keeps_printable_unicode_and_marks_backslashes():
    assert safe_text.escape("λ α 画 é") == "λ α 画 é"
    assert safe_text.escape("a\\x00") == "a\\x5cx00"  # a typed backslash cannot pass for an escape


def test_long_text_is_cut_with_an_ellipsis_and_its_length():
    quoted = safe_text.quote("x" * 100_000)
    assert quoted == "'" + "x" * safe_text.MAX_QUOTED + "…' (100000 characters)"
    # escapes count against the cap too
    assert len(safe_text.quote("\x00" * 10_000)) < safe_text.MAX_QUOTED + 40
    assert safe_text.quote("y" * safe_text.MAX_QUOTED) == "'" + "y" * safe_text.MAX_QUOTED + "'"


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_layer_entry_gives_a_loggable_error_naming_it(text):
    message = error_of(text)
    assert "is not understood" in message and "layer list entry 'input" in message
    assert logs_cleanly(message)


def test_a_100_kB_entry_gives_a_short_error():
    message = error_of("input " + "z" * 100_000)
    assert len(message) < 1000 and "(100006 characters)" in message


@pytest.mark.parametrize("digits", ["9" * 5000, "9" * 5, "10000"])
def test_a_block_number_beyond_any_model_is_out_of_range_naming_the_entry(digits):
    message = error_of(f"input 0-{digits}")
    assert "out of range" in message and "layer list entry 'input 0-" in message
    assert len(message) < 1000


def test_numbers_up_to_the_bound_still_reach_the_model_check():
    assert "matches no attention layer" in error_of(f"input {selection.MAX_NUMBER}")
    assert "input 7-9999" in [r.text for r in selection.parse_layer_list("input 7-9999")]


def test_a_backwards_range_error_quotes_the_entry():
    message = error_of("output 5-4")
    assert "layer list entry 'output 5-4': range '5-4' is backwards" in message


@pytest.mark.parametrize("value", NOT_FINITE, ids=str)
@pytest.mark.parametrize("name", NUMBERS)
def test_a_number_that_is_not_finite_is_an_error_naming_it(name, value):
    with pytest.raises(ValueError, match=f"^{name} must be a finite number"):
        patch(make_model_patcher(), **{name: value})


@pytest.mark.parametrize("value", NOT_FINITE, ids=str)
def test_pladis_attention_refuses_a_scale_that_is_not_finite(value):
    q = k = v = torch.randn(1, 4, 8)
    with pytest.raises(ValueError, match="scale"):
        core.pladis_attention(q, k, v, 2, 1.5, value)


@pytest.mark.parametrize("value", NOT_FINITE, ids=str)
def test_check_alpha_refuses_an_alpha_that_is_not_finite(value):
    with pytest.raises(ValueError, match="alpha"):
        core.alpha_entmax.check_alpha(value)


def test_the_summary_the_ui_and_the_log_get_is_printable(caplog):
    with caplog.at_level(logging.INFO):
        _, report = patch(make_model_patcher(), layers="all", custom_layers="input \ud800\x1b[31m")
    assert "custom_layers is ignored" in report["summary"] and report["summary"].isprintable()
    assert all(logs_cleanly(r.getMessage()) for r in caplog.records if "[PLADIS]" in r.getMessage())


def inputs(seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(2, 16, 32, generator=g), torch.randn(2, 77, 24, generator=g)


def test_two_unet_nodes_in_a_chain_add_their_corrections_each_with_its_own_alpha_and_scale():
    model = make_model_patcher(SD15_LAYOUT, ModelConfigSD15)
    first, _ = patch(model, alpha=1.5, scale=1.0, layers="custom", custom_layers="output 11")
    second, report = patch(first, alpha=2.0, scale=0.75, layers="custom", custom_layers="output 11")
    assert report["kept_patches"] == 1
    block = model.get_model_object("diffusion_model").output_blocks[11][1].transformer_blocks[0]
    seen = {}
    hook = block.register_forward_hook(lambda module, args, out: seen.update(args=args))
    out = run_unet(second, *inputs())
    hook.remove()
    h, context, _ = seen["args"]
    attn = block.attn2
    q, k, v = attn.to_q(h), attn.to_k(context), attn.to_v(context)
    dense = pladis_reference(q, k, v, 4, 1.5, 0.0)
    expected = (
        dense + (pladis_reference(q, k, v, 4, 1.5, 1.0) - dense) + (pladis_reference(q, k, v, 4, 2.0, 0.75) - dense)
    )
    torch.testing.assert_close(out, h + attn.to_out(expected.float()), atol=1e-5, rtol=0)


def test_two_dit_nodes_in_a_chain_add_their_corrections_each_with_its_own_alpha_and_scale():
    model = make_dit_patcher()
    first, _ = patch(model, alpha=1.5, scale=1.0)
    second, report = patch(first, alpha=2.0, scale=0.75, layers="custom", custom_layers="double 1")
    assert report["kept_patches"] == 1
    diffusion_model = second.get_model_object("diffusion_model")
    diffusion_model.calls.clear()
    g = torch.Generator().manual_seed(1)
    run_dit(second, torch.randn(1, 4, 8, 8, generator=g), torch.randn(1, 5, 24, generator=g))
    text, image = slice(0, 5), slice(5, 21)
    for call in diffusion_model.calls:
        q, k, v = call["q"], call["k"], call["v"]
        dense = joint_reference(q, k, v, text, image, 1.5, 0.0)
        expected = joint_reference(q, k, v, text, image, 1.5, 1.0)
        if call["site"] == ("double", 1):
            expected = expected + joint_reference(q, k, v, text, image, 2.0, 0.75) - dense
        out = call["out"].view(1, q.shape[2], 4, -1).transpose(1, 2)
        torch.testing.assert_close(out.double(), expected, atol=2e-5, rtol=0)


@pytest.mark.parametrize(
    ("value", "shown"),
    [(10**5000, "an integer of 16610 bits"), ("2", "a str"), (True, "a bool")],
    ids=["5001-digit int", "str", "bool"],
)
def test_a_value_that_is_not_a_usable_number_is_an_error_naming_the_input(value, shown):
    with pytest.raises(ValueError, match=f"^scale must be a finite number, got {shown}$"):
        patch(make_model_patcher(), scale=value)


@pytest.mark.parametrize("text", [",", " ; ,\n, "])
def test_a_custom_list_of_separators_only_is_an_error_not_a_silent_no_op(text):
    with pytest.raises(ValueError, match="custom_layers lists no layer"):
        patch(make_model_patcher(), layers="custom", custom_layers=text)


@pytest.mark.parametrize(
    ("name", "value"), [("alpha", 1.0 + 1e-9), ("alpha", 1.005), ("alpha", 2.01), ("scale", 10.5), ("scale", 1e300)]
)
def test_a_finite_number_outside_the_node_range_is_an_error_naming_it(name, value):
    with pytest.raises(ValueError, match=f"^{name}.* must be between"):
        patch(make_model_patcher(), **{name: value})


def test_the_checked_ranges_are_the_node_inputs_ranges():
    inputs = {i.id: i for i in Node.define_schema().inputs}
    assert (inputs["alpha"].min, inputs["alpha"].max) == pack.nodes.patching.ALPHA_RANGE
    assert (inputs["scale"].min, inputs["scale"].max) == pack.nodes.patching.SCALE_RANGE
    patch(make_model_patcher(), alpha=1.01, scale=10.0)
