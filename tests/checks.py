"""Array assertions that say what differed: the largest error, where it is, and the bound it broke."""

from __future__ import annotations

import torch


def _where(flat_index: int, shape: torch.Size) -> tuple[int, ...]:
    return tuple(int(i) for i in torch.unravel_index(torch.tensor(flat_index), shape)) if shape else ()


def assert_all(mask: torch.Tensor, what: str) -> None:
    """Every element of ``mask`` is true; else the count of false elements and the first index."""
    if bool(mask.all()):
        return
    misses = (~mask.bool()).flatten().nonzero()
    first = _where(int(misses[0]), mask.shape)
    raise AssertionError(f"{what}: false at {misses.numel()} of {mask.numel()} elements, first at index {first}")


def assert_finite(t: torch.Tensor, what: str) -> None:
    """No NaN or infinity in ``t``."""
    assert_all(torch.isfinite(t), f"{what} is finite")


def assert_close(
    actual: torch.Tensor,
    expected: torch.Tensor,
    *,
    atol: float | torch.Tensor = 0.0,
    rtol: float | torch.Tensor | None = None,
    what: str,
) -> None:
    """|actual − expected| ≤ atol (+ rtol·|expected|) element by element; else the max error, where, and the bound."""
    error = (actual - expected).abs()
    bound = atol if rtol is None else rtol * expected.abs() + atol
    if bool((error <= bound).all()):
        return
    excess = (error - bound) if isinstance(bound, torch.Tensor) else error
    at = _where(int(excess.flatten().argmax()), error.shape)
    bound_at = float(bound[at] if isinstance(bound, torch.Tensor) and bound.dim() else bound)
    raise AssertionError(
        f"{what}: max |error| {float(error.max()):.3g}; at index {at} the error is {float(error[at]):.3g} "
        f"over the bound {bound_at:.3g} (actual {float(actual[at]):.6g}, expected {float(expected[at]):.6g})"
    )


def assert_equal(actual: torch.Tensor, expected: torch.Tensor, what: str) -> None:
    """Bit for bit equal (``torch.equal``); else the shapes or the max difference and the first index."""
    if torch.equal(actual, expected):
        return
    if actual.shape != expected.shape or actual.dtype != expected.dtype:
        raise AssertionError(f"{what}: {actual.dtype}{list(actual.shape)} vs {expected.dtype}{list(expected.shape)}")
    differs = (actual != expected).flatten().nonzero()
    first = _where(int(differs[0]), actual.shape)
    error = float((actual.double() - expected.double()).abs().max())
    raise AssertionError(
        f"{what}: {differs.numel()} of {actual.numel()} elements differ, max |difference| {error:.3g}, "
        f"first at index {first} ({float(actual[first]):.6g} vs {float(expected[first]):.6g})"
    )


def assert_differ(a: torch.Tensor, b: torch.Tensor, *, more_than: float, what: str) -> None:
    """max |a − b| > more_than: the change being checked happened."""
    difference = float((a - b).abs().max())
    assert difference > more_than, f"{what}: max |difference| {difference:.3g}, not above {more_than:.3g}"
