"""The attention-map grid (an IMAGE) and the per-word MASKs.

Grid, per image of the batch: one row per word, columns dense | PLADIS | PLADIS − dense. Dense and PLADIS share
one sequential colour scale per row (so their colours compare), drawn under each cell with its end values; the
difference has a diverging scale symmetric around 0 (red: PLADIS gives the word more attention there, blue:
less). With an IMAGE given, each map is laid over it. Labels are escaped and cut short (``safe_text``). Text is
drawn with Pillow (ComfyUI's own dependency) and its bundled font.

MASKs: one per word and image, (B·words, H, W) with image b's word w at b·words + w, at the image size (the
latent-grid maps upsampled bilinearly), each divided by its maximum. PLADIS maps can be negative where λ > 1
(entmax's zeros get (1 − λ)·softmax): a mask keeps only the positive part.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont

from ...pladis_core.attention_maps import WordMaps
from ..safe_text import escape

__all__ = ["attention_grid", "colorize", "word_masks"]

# Anchors of a perceptually ordered dark-blue → green → yellow scale (close to viridis) and of a
# blue → white → red diverging one; colours in between are interpolated linearly.
SEQUENTIAL = ((0.267, 0.005, 0.329), (0.230, 0.322, 0.546), (0.128, 0.567, 0.551), (0.369, 0.789, 0.383))
SEQUENTIAL += ((0.993, 0.906, 0.144),)
DIVERGING = ((0.129, 0.400, 0.675), (0.573, 0.773, 0.871), (0.969, 0.969, 0.969), (0.957, 0.647, 0.510))
DIVERGING += ((0.698, 0.094, 0.169),)
BACKGROUND, INK, MUTED = (250, 250, 250), (20, 20, 20), (110, 110, 110)
LABEL_CHARACTERS = 24
OVERLAY_OPACITY = 0.6


def colorize(values: torch.Tensor, low: float, high: float, anchors: Sequence[tuple[float, ...]]) -> torch.Tensor:
    """(…) values → (…, 3) colours in [0, 1]: ``low`` maps to the first anchor, ``high`` to the last."""
    palette = torch.tensor(anchors, dtype=torch.float32)
    span = max(high - low, 1e-12)
    t = ((values.float() - low) / span).clamp(0, 1) * (len(anchors) - 1)
    index = t.floor().long().clamp(max=len(anchors) - 2)
    frac = (t - index)[..., None]
    return palette[index] * (1 - frac) + palette[index + 1] * frac


# A system font with wide coverage (Greek, symbols) where one is installed; else Pillow's bundled font.
FONTS = ("DejaVuSans.ttf", "Arial.ttf", "LiberationSans-Regular.ttf")


def _font(size: int) -> ImageFont.ImageFont:
    for name in FONTS:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size)


def _label(text: str, width: float, draw: ImageDraw.ImageDraw, font, limit: int = LABEL_CHARACTERS) -> str:
    """``text`` escaped, cut short (with '…') to ``limit`` characters and to ``width`` pixels."""
    shown = escape(text[: limit + 1])
    if len(text) <= limit and len(shown) <= limit and draw.textlength(shown, font=font) <= width:
        return shown
    shown = shown[:limit]
    while shown and draw.textlength(shown + "…", font=font) > width:
        shown = shown[:-1]
    return shown + "…"


def _number(value: float) -> str:
    return f"{value:.3g}"


def _resized(maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(maps.double()[None], size=size, mode="bilinear", align_corners=False)[0]


def _cell_colours(values, low, high, anchors, under: torch.Tensor | None) -> np.ndarray:
    colours = colorize(values, low, high, anchors)
    if under is not None:
        colours = under * (1 - OVERLAY_OPACITY) + colours * OVERLAY_OPACITY
    return (colours.clamp(0, 1) * 255).round().to(torch.uint8).numpy()


def _draw_scale(draw, canvas, x, y, width, low, high, anchors, font) -> None:
    bar = colorize(torch.linspace(low, high, width).expand(8, width), low, high, anchors)
    canvas.paste(Image.fromarray((bar * 255).round().to(torch.uint8).numpy()), (x, y))
    draw.text((x, y + 10), _number(low), fill=MUTED, font=font)
    right = _number(high)
    draw.text((x + width - draw.textlength(right, font=font), y + 10), right, fill=MUTED, font=font)


def attention_grid(
    words: Sequence[str],
    maps: WordMaps,
    image: torch.Tensor | None = None,
    *,
    cell: int = 192,
    title: str | None = None,
) -> torch.Tensor:
    """The grid as a ComfyUI IMAGE (B, H, W, 3) float in [0, 1]; ``maps`` are (B, words, h, w) latent-grid maps
    (``MapAccumulator.latent_maps``), ``image`` an optional IMAGE (B or 1, H, W, 3) to overlay."""
    batch, n_words, height, width = maps.dense.shape
    if len(words) != n_words:
        raise ValueError(f"{len(words)} labels for {n_words} maps")
    cell_h, cell_w = max(1, round(cell * height / width)), cell
    font, small, big = _font(15), _font(12), _font(17)
    margin, label_w, header_h, scale_h = 12, 150, 34 + (22 if title else 0), 30
    row_h = cell_h + scale_h + margin
    size = (label_w + 3 * (cell_w + margin) + margin, header_h + n_words * row_h + margin)
    columns = ("dense (softmax)", "PLADIS", "PLADIS - dense")
    out = []
    for b in range(batch):
        canvas = Image.new("RGB", size, BACKGROUND)
        draw = ImageDraw.Draw(canvas)
        if title:
            draw.text((margin, 8), _label(title, size[0] - 2 * margin, draw, big, 120), fill=INK, font=big)
        for c, name in enumerate(columns):
            x = label_w + c * (cell_w + margin)
            draw.text((x + (cell_w - draw.textlength(name, font=font)) / 2, header_h - 24), name, fill=INK, font=font)
        under = None
        if image is not None:
            picture = image[min(b, image.shape[0] - 1)].permute(2, 0, 1).float()
            under = F.interpolate(picture[None], size=(cell_h, cell_w), mode="bilinear", align_corners=False)
            under = under[0].permute(1, 2, 0).clamp(0, 1)
        for w in range(n_words):
            y = header_h + w * row_h
            dense, pladis = (_resized(m[b, w : w + 1], (cell_h, cell_w))[0] for m in (maps.dense, maps.pladis))
            difference = pladis - dense
            low = min(0.0, float(dense.min()), float(pladis.min()))
            high = max(float(dense.max()), float(pladis.max()), low + 1e-12)
            reach = max(float(difference.abs().max()), 1e-12)
            label = _label(words[w], label_w - 2 * margin, draw, font)
            draw.text((margin, y + cell_h / 2 - 9), label, fill=INK, font=font)
            cells = ((dense, low, high, SEQUENTIAL), (pladis, low, high, SEQUENTIAL))
            cells += ((difference, -reach, reach, DIVERGING),)
            for c, (values, lo, hi, anchors) in enumerate(cells):
                x = label_w + c * (cell_w + margin)
                canvas.paste(Image.fromarray(_cell_colours(values, lo, hi, anchors, under)), (x, y))
                _draw_scale(draw, canvas, x, y + cell_h + 3, cell_w, lo, hi, anchors, small)
        out.append(torch.from_numpy(np.asarray(canvas, dtype=np.float32) / 255.0))
    return torch.stack(out)


def word_masks(maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(B, words, h, w) maps → MASKs (B·words, H, W) in [0, 1]: upsampled to ``size``, positive part, each
    divided by its maximum (an all-zero map stays zero)."""
    batch, n_words = maps.shape[:2]
    up = F.interpolate(maps.double().flatten(0, 1)[:, None], size=size, mode="bilinear", align_corners=False)[:, 0]
    up = up.clamp(min=0)
    peak = up.flatten(1).amax(dim=1).clamp(min=1e-30).view(-1, 1, 1)
    return (up / peak).float().view(batch * n_words, *size)
