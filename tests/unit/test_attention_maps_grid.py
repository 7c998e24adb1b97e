"""The attention-map grid IMAGE and the per-word MASKs (nodes/attention_maps/grid.py)."""

import importlib

import pytest
import torch

pytest.importorskip("PIL", reason="the grid draws its labels with Pillow (ComfyUI's dependency)")

from pack import import_pack  # noqa: E402

from pladis_core.attention_maps import WordMaps  # noqa: E402

pack = import_pack()
grid = importlib.import_module(f"{pack.__name__}.nodes.attention_maps.grid")


def blob_maps(batch=1, n_words=2, size=(16, 24), scale=2.0):
    """Maps with one bright blob per word, PLADIS sharper than dense."""
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, size[0]), torch.linspace(-1, 1, size[1]), indexing="ij")
    dense = torch.stack([torch.exp(-((xs - 0.5 * w) ** 2 + ys**2) / 0.3) * 0.4 for w in range(n_words)])
    sparse = dense**2 / 0.4 * 1.5  # higher at the peak, lower in the tails
    dense, sparse = dense.expand(batch, -1, -1, -1).double(), sparse.expand(batch, -1, -1, -1).double()
    return WordMaps(dense, sparse, dense + scale * (sparse - dense))


def cell_box(image, row, column, cell=96, size=(16, 24)):
    """The pixels of one map cell, by the grid's layout constants."""
    cell_h = round(cell * size[0] / size[1])
    margin, label_w, header_h, scale_h = 12, 150, 34, 30
    y = header_h + row * (cell_h + scale_h + margin)
    x = label_w + column * (cell + margin)
    return image[y : y + cell_h, x : x + cell]


def test_the_grid_is_a_comfyui_image_per_batch_element():
    out = grid.attention_grid(["cat", "red hat"], blob_maps(batch=2), cell=96)
    assert out.dim() == 4 and out.shape[0] == 2 and out.shape[-1] == 3 and out.dtype == torch.float32
    assert float(out.min()) >= 0 and float(out.max()) <= 1
    assert out.shape[1] == 34 + 2 * (64 + 30 + 12) + 12  # header, two rows of 96×64 cells with their scales


def test_dense_and_pladis_share_a_scale_and_equal_maps_have_a_white_difference():
    maps = blob_maps(scale=0.0)  # λ = 0: PLADIS is dense
    out = grid.attention_grid(["cat", "dog"], maps, cell=96)[0]
    assert torch.equal(cell_box(out, 0, 0), cell_box(out, 0, 1))
    white = torch.tensor(grid.DIVERGING[2])
    torch.testing.assert_close(cell_box(out, 0, 2), white.expand_as(cell_box(out, 0, 2)), atol=1 / 255, rtol=0)


def test_the_difference_is_red_where_pladis_gives_more_and_blue_where_less():
    out = grid.attention_grid(["cat", "dog"], blob_maps(), cell=96)[0]
    difference = cell_box(out, 0, 2)
    centre, corner = difference[32, 48], difference[2, 2]  # word 0's blob is at the centre
    assert centre[0] > centre[2] + 0.3  # red: PLADIS concentrates the word on its region
    assert corner[2] >= corner[0]  # blue or white: less (or as much) attention elsewhere


def test_an_overlay_changes_the_cells_but_not_the_layout():
    maps = blob_maps()
    plain = grid.attention_grid(["cat", "dog"], maps, cell=96)
    picture = torch.zeros(1, 64, 96, 3)
    picture[..., 0] = 1.0
    laid = grid.attention_grid(["cat", "dog"], maps, picture, cell=96)
    assert laid.shape == plain.shape
    assert not torch.equal(cell_box(laid[0], 1, 0), cell_box(plain[0], 1, 0))
    assert torch.equal(laid[0, :30], plain[0, :30])  # the header is the same


def test_labels_are_escaped_cut_short_and_drawn():
    from PIL import Image, ImageDraw

    draw = ImageDraw.Draw(Image.new("RGB", (10, 10)))
    font = grid._font(15)
    word = "\x1b[31m" + "cat" * 40_000
    label = grid._label(word, 126, draw, font)
    assert label.startswith("\\x1b[31m") and label.endswith("…") and draw.textlength(label, font=font) <= 126
    assert grid._label("cat", 126, draw, font) == "cat"
    short = grid.attention_grid(["cat", "dog"], blob_maps(), cell=96)
    long = grid.attention_grid([word, "dog"], blob_maps(), cell=96)
    assert long.shape == short.shape
    label_column = long[0, 34:98, 12:138]
    assert float(label_column.min()) < 0.3  # dark ink: the label is drawn


def test_title_and_label_count():
    with pytest.raises(ValueError, match="1 labels for 2 maps"):
        grid.attention_grid(["cat"], blob_maps())
    titled = grid.attention_grid(["cat", "dog"], blob_maps(), cell=96, title="SDXL tiny · α = 1.5, λ = 2")
    assert titled.shape[1] == grid.attention_grid(["cat", "dog"], blob_maps(), cell=96).shape[1] + 22


def test_colorize_maps_the_ends_of_the_range_to_the_ends_of_the_scale():
    colours = grid.colorize(torch.tensor([-1.0, 0.0, 1.0, 5.0]), 0.0, 1.0, grid.SEQUENTIAL)
    first, last = torch.tensor(grid.SEQUENTIAL[0]), torch.tensor(grid.SEQUENTIAL[-1])
    torch.testing.assert_close(colours, torch.stack([first, first, last, last]))
    middle = grid.colorize(torch.tensor(0.5), 0.0, 1.0, grid.SEQUENTIAL)
    torch.testing.assert_close(middle, torch.tensor(grid.SEQUENTIAL[2]))


def test_masks_are_one_per_word_and_image_normalised_to_one():
    maps = blob_maps(batch=2, n_words=3).pladis.clone()
    maps[1, 2] = 0  # an all-zero map stays zero
    maps[0, 0] -= 0.05  # negative PLADIS weights (λ > 1) are cut off
    masks = grid.word_masks(maps, (64, 96))
    assert masks.shape == (6, 64, 96) and masks.dtype == torch.float32
    peaks = masks.flatten(1).amax(1)
    torch.testing.assert_close(peaks, torch.tensor([1.0, 1, 1, 1, 1, 0]))
    assert float(masks.min()) == 0.0
    # image b's word w is mask b·words + w
    torch.testing.assert_close(masks[1], masks[4], atol=1e-6, rtol=0)


def test_without_a_system_font_pillows_bundled_font_draws_the_labels(monkeypatch):
    monkeypatch.setattr(grid, "FONTS", ("no-such-font.ttf",))
    out = grid.attention_grid(["cat", "dog"], blob_maps(), cell=96)
    assert float(out[0, 34:98, 12:138].min()) < 0.3
