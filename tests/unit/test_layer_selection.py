import pytest
from pack import import_pack

selection = import_pack().nodes.layer_selection
Site = selection.Site

SDXL_SITES = (
    [Site("input", b, i) for b, depth in [(4, 2), (5, 2), (7, 10), (8, 10)] for i in range(depth)]
    + [Site("middle", 0, i) for i in range(10)]
    + [Site("output", b, i) for b, depth in [(0, 10), (1, 10), (2, 10), (3, 2), (4, 2), (5, 2)] for i in range(depth)]
)


def select(text):
    return selection.select_sites(SDXL_SITES, selection.parse_layer_list(text))


def test_parts_blocks_ranges_and_transformer_indices():
    assert len(select("input, output")) == 60
    assert len(select("in, mid, out")) == 70
    assert select("input 7.0-1") == [Site("input", 7, 0), Site("input", 7, 1)]
    assert select("output 3-4") == [
        Site("output", 3, 0),
        Site("output", 3, 1),
        Site("output", 4, 0),
        Site("output", 4, 1),
    ]
    assert select(" Middle 0 . 9 ; input4.1") == [Site("input", 4, 1), Site("middle", 0, 9)]
    assert select("input.1") == [Site("input", b, 1) for b in (4, 5, 7, 8)]


def test_overlapping_entries_select_each_site_once_in_model_order():
    assert select("output 0, input 4, output 0.0") == [Site("input", 4, 0), Site("input", 4, 1)] + [
        Site("output", 0, i) for i in range(10)
    ]


@pytest.mark.parametrize("text", ["foo", "input x", "input 3-", "output 2-1", "input 4.", "4"])
def test_unreadable_entries_are_errors(text):
    with pytest.raises(ValueError, match="layer list entry"):
        select(text)


def test_an_entry_matching_nothing_is_an_error_listing_the_model_layers():
    with pytest.raises(ValueError, match=r"input 3.*matches no attention layer.*input 4-5 \(2 layers each\)"):
        select("input 3")
    with pytest.raises(ValueError, match="matches no attention layer"):
        select("double 0")


def test_inventory():
    assert selection.describe_sites(SDXL_SITES) == (
        "input 4-5 (2 layers each), input 7-8 (10 layers each), middle 0 (10 layers), "
        "output 0-2 (10 layers each), output 3-5 (2 layers each)"
    )


@pytest.mark.parametrize("text", ["input \ud800", "input \x1b[31m", "input \u202e7", "in\x00put 2"])
def test_an_unreadable_entry_is_quoted_escaped_in_one_printable_line(text):
    with pytest.raises(ValueError, match="is not understood") as caught:
        selection.parse_layer_list(text)
    assert str(caught.value).isprintable()


def test_a_huge_entry_is_quoted_short():
    with pytest.raises(ValueError, match=r"…' \(100005 characters\) is not understood") as caught:
        selection.parse_layer_list("input" + "#" * 100_000)
    assert len(str(caught.value)) < 1000


@pytest.mark.parametrize("text", ["input 0-" + "9" * 5000, "output " + "1" * 4301 + ".0", "input 3.10000"])
def test_a_number_beyond_any_model_is_out_of_range_naming_the_entry(text):
    with pytest.raises(ValueError, match=r"layer list entry '(input|output) .*out of range") as caught:
        selection.parse_layer_list(text)
    assert len(str(caught.value)) < 1000


def test_numbers_up_to_the_bound_parse():
    [rule] = selection.parse_layer_list(f"input 0-{selection.MAX_NUMBER}.{selection.MAX_NUMBER}")
    assert rule.blocks == range(selection.MAX_NUMBER + 1) and rule.indices == range(selection.MAX_NUMBER, 10_000)
