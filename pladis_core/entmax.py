"""α-entmax (Peters, Niculae & Martins 2019), forward only, computed in float32 or wider.

    α-entmax(z)_i = [(α−1)·z_i − τ]_+^(1/(α−1)),   τ such that Σ_i p_i = 1          (PLADIS eq. 6)

The solvers work on *shifted* logits s = z − max(z) (every row's maximum is 0; a fully masked row is all
−inf) and look for a threshold σ in logit units (σ = τ/(α−1)):

    p_i = [s_i − σ]_+^β / R,   β = 1/(α−1),   Σ_i [s_i − σ]_+^β = R,   R = m·(α−1)^(−β)

R is the row's *target mass*. m = 1 gives α-entmax. A row whose keys each occur m times (ComfyUI pads a
short context by repeating it) gets mass m·(α−1)^(−β): each copy then receives exactly 1/m of what the key
gets over the un-repeated row, which is α-entmax of the logits divided by m^(α−1).

α = 1.5 (β = 2, R = 4m) and α = 2 (sparsemax, β = 1, R = m) are solved exactly: a few bisection and Newton
steps from the left of the root, then the closed form on the support found, checked, with a sort-based
solve for the rare rows whose support was not yet the right one. Other α are solved by bisection in the
units of (α−1)·s, where R = m stays small whatever β, and renormalised.
"""

from __future__ import annotations

import torch

__all__ = ["entmax", "entmax15", "sparsemax", "shifted_entmax", "unnormalized_shifted_entmax"]

# Newton from the left of the root is monotone (f is convex and decreasing), so σ never overshoots;
# the bisection steps before it make flat rows with wide supports converge as fast as peaked ones.
BISECTION_STEPS = 2
NEWTON_STEPS = 3
GENERAL_ALPHA_BISECTION_STEPS = {torch.float32: 30, torch.float64: 60}


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype the maps are computed in: float64 stays float64, everything else is float32."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def entmax(logits: torch.Tensor, alpha: float = 1.5, dim: int = -1) -> torch.Tensor:
    """α-entmax along ``dim`` for 1 < α ≤ 2, returned in the input dtype (computed in fp32 or fp64).

    ``-inf`` logits get probability 0; a row with no finite logit gives all zeros, never NaN.
    """
    check_alpha(alpha)
    x = logits.movedim(dim, -1).to(compute_dtype(logits.dtype))
    row_max = x.amax(dim=-1, keepdim=True)
    s = x - torch.where(torch.isfinite(row_max), row_max, torch.zeros_like(row_max))
    probs = shifted_entmax(s, alpha)
    return probs.to(logits.dtype).movedim(-1, dim)


def entmax15(logits: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """1.5-entmax: p_i = [z_i/2 − τ]_+²."""
    return entmax(logits, 1.5, dim)


def sparsemax(logits: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Sparsemax (Martins & Astudillo 2016) = 2-entmax: p_i = [z_i − τ]_+."""
    return entmax(logits, 2.0, dim)


def check_alpha(alpha: float) -> None:
    if not 1.0 < alpha <= 2.0:
        raise ValueError(f"alpha must satisfy 1 < alpha <= 2 (1.5 = entmax15, 2 = sparsemax), got {alpha}")


def shifted_entmax(
    s: torch.Tensor, alpha: float, repeats: float | torch.Tensor = 1.0, out: torch.Tensor | None = None
) -> torch.Tensor:
    """α-entmax of shifted logits ``s`` (row max 0, or a row of −inf) along the last dimension.

    ``repeats`` (a float, or a tensor broadcastable to ``s[..., :1]``) is m above. ``out`` may be given to
    reuse a buffer of ``s``'s shape; ``s`` itself is left unchanged.
    """
    values, factor = unnormalized_shifted_entmax(s, alpha, repeats, out)
    return values.mul_(factor)


def unnormalized_shifted_entmax(
    s: torch.Tensor, alpha: float, repeats: float | torch.Tensor = 1.0, out: torch.Tensor | None = None
) -> tuple[torch.Tensor, float | torch.Tensor]:
    """(values, factor) with α-entmax(s) = values·factor, for callers that fold the factor into their own."""
    beta = 1.0 / (alpha - 1.0)
    if out is None:
        out = torch.empty_like(s)
    if beta in (1.0, 2.0):
        mass = repeats * (alpha - 1.0) ** -beta
        _exact_solve(s, int(beta), mass, out)
        return out, 1.0 / mass
    _bisection_solve(s * (alpha - 1.0), beta, repeats, out)
    return out, 1.0 / repeats


def _power_(t: torch.Tensor, beta: float) -> torch.Tensor:
    if beta == 1.0:
        return t
    if beta == 2.0:
        return t.mul_(t)
    return t.pow_(beta)


def _positive_part(s: torch.Tensor, sigma: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    return torch.sub(s, sigma, out=out).clamp_(min=0)


def _bracket(s: torch.Tensor, beta: float, mass: float | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """σ_lo ≤ σ* ≤ σ_hi: at σ_lo the row maximum alone carries mass R, at σ_hi every key carries R/n."""
    n = s.shape[-1]
    shape = (*s.shape[:-1], 1)
    mass_t = torch.as_tensor(mass, dtype=s.dtype, device=s.device)
    lo = (-(mass_t ** (1.0 / beta))).expand(shape).clone()
    hi = (-((mass_t / n) ** (1.0 / beta))).expand(shape).clone()
    return lo, hi


def _bisect(s, beta, mass, lo, hi, steps, work):
    for _ in range(steps):
        mid = (lo + hi) * 0.5
        excess = _power_(_positive_part(s, mid, work), beta).sum(dim=-1, keepdim=True) - mass
        above = excess >= 0
        lo = torch.where(above, mid, lo)
        hi = torch.where(above, hi, mid)
    return lo, hi


def _exact_solve(s: torch.Tensor, beta: int, mass, out: torch.Tensor) -> None:
    """Writes [s − σ*]_+^β into ``out`` for β ∈ {1, 2}, σ* exact up to rounding."""
    lo, hi = _bracket(s, beta, mass)
    lo, _ = _bisect(s, beta, mass, lo, hi, BISECTION_STEPS, out)
    # A row without a finite logit has no support: its σ stays put and its result is all zeros.
    for _ in range(NEWTON_STEPS):
        t = _positive_part(s, lo, out)
        if beta == 1:
            value, slope = t.sum(dim=-1, keepdim=True), torch.count_nonzero(t, dim=-1).unsqueeze(-1)
        else:
            value, slope = torch.linalg.vecdot(t, t).unsqueeze(-1), 2.0 * t.sum(dim=-1, keepdim=True)
        lo = torch.where(slope > 0, lo + (value - mass) / slope, lo)

    # Closed form on the support {s > lo}: exact as soon as that support is the final one.
    t = _positive_part(s, lo, out)
    count = torch.count_nonzero(t, dim=-1).unsqueeze(-1)
    sum_t = t.sum(dim=-1, keepdim=True)
    if beta == 1:
        step = (sum_t - mass) / count
    else:
        # Smaller root δ of  k·δ² − 2·Σt·δ + Σt² − R = 0, in the cancellation-free form.
        sum_sq = torch.linalg.vecdot(t, t).unsqueeze(-1)
        excess = sum_sq - mass
        disc = (sum_t * sum_t - count * excess).clamp(min=0)
        step = excess / (sum_t + disc.sqrt())
    sigma = torch.where(count > 0, lo + step, lo)
    result = _power_(_positive_part(s, sigma, out), beta)

    # The support at σ must be the one the closed form assumed; otherwise σ overshot: solve by sorting.
    wrong = torch.count_nonzero(result, dim=-1) != count.squeeze(-1)
    if bool(wrong.any()):
        rows = wrong.nonzero(as_tuple=True)
        row_mass = mass.expand(*s.shape[:-1], 1)[rows] if torch.is_tensor(mass) else mass
        result[rows] = _sorted_solve(s[rows], beta, row_mass)


def _sorted_solve(s: torch.Tensor, beta: int, mass) -> torch.Tensor:
    """[s − σ*]_+^β by the sort-based algorithm (Peters et al. 2019, Alg. 2) for rows of shape (r, n)."""
    n = s.shape[-1]
    mass_t = torch.as_tensor(mass, dtype=s.dtype, device=s.device).reshape(-1, 1).expand(s.shape[0], 1)
    # Keys below −R^(1/β) never enter the support; flooring them keeps the prefix sums finite.
    floor = -(mass_t ** (1.0 / beta)) - 1.0
    x, _ = torch.maximum(s, floor).sort(dim=-1, descending=True)
    k = torch.arange(1, n + 1, dtype=s.dtype, device=s.device)
    sum_x = x.cumsum(dim=-1)
    if beta == 1:
        sigma_k = (sum_x - mass_t) / k
    else:
        sum_sq = (x * x).cumsum(dim=-1)
        sigma_k = (sum_x - (sum_x * sum_x - k * (sum_sq - mass_t)).sqrt()) / k
    support = (sigma_k <= x).sum(dim=-1, keepdim=True).clamp(min=1)
    sigma = sigma_k.gather(-1, support - 1)
    return _power_((s - sigma).clamp_(min=0), beta)


def _bisection_solve(s: torch.Tensor, beta: float, mass, out: torch.Tensor) -> None:
    """Any α: bisection on σ, then a renormalisation so that every row sums to R exactly."""
    lo, hi = _bracket(s, beta, mass)
    steps = GENERAL_ALPHA_BISECTION_STEPS[s.dtype]
    lo, _ = _bisect(s, beta, mass, lo, hi, steps, out)
    result = _power_(_positive_part(s, lo, out), beta)
    total = result.sum(dim=-1, keepdim=True)
    result.mul_(mass / total.clamp(min=torch.finfo(s.dtype).tiny))
