"""α-entmax (Peters, Niculae & Martins 2019), forward only, computed in float32 or wider.

    α-entmax(z)_i = [(α−1)·z_i − τ]_+^(1/(α−1)),   τ such that Σ_i p_i = 1          (PLADIS eq. 6)

The solvers look for the threshold σ in logit units (σ = τ/(α−1)), with s = z − max(z):

    p_i = [s_i − σ]_+^β / R,   β = 1/(α−1),   Σ_i [s_i − σ]_+^β = R,   R = m·(α−1)^(−β)

R is the row's *target mass*. m = 1 gives α-entmax. A row whose keys each occur m times (ComfyUI pads a
short context by repeating it) gets mass m·(α−1)^(−β): each copy then receives exactly 1/m of what the key
gets over the un-repeated row, which is α-entmax of the logits divided by m^(α−1).

α = 1.5 (β = 2, R = 4m) and α = 2 (sparsemax, β = 1, R = m) are solved exactly, by one of two solvers:

- "refine" (CPU): a few bisection and Newton steps from the left of the root, then the closed form on the
  support found, checked, with a sort-based solve for the rare rows whose support was not yet the right one.
  Fastest on CPU, but the check reads a flag on the host and the refinement picks rows by data.
- "sort" (accelerators and torch.compile): the sort-based solve on every row (Peters et al. 2019, Alg. 2),
  then the closed form on the support it found. A fixed, short sequence of kernels, no host synchronisation.

Other α are solved by bisection in the units of (α−1)·s, where R = m stays small whatever β, and renormalised.
"""

from __future__ import annotations

import torch

__all__ = ["EXACT_SOLVERS", "entmax", "entmax15", "exact_solver", "sparsemax", "unnormalized_entmax"]

# Newton from the left of the root is monotone (f is convex and decreasing), so σ never overshoots;
# the bisection steps before it make flat rows with wide supports converge as fast as peaked ones.
BISECTION_STEPS = 2
NEWTON_STEPS = 3
REFINE_STEPS = 4
GENERAL_ALPHA_BISECTION_STEPS = {torch.float32: 30, torch.float64: 60}
EXACT_SOLVERS = ("refine", "sort")


def exact_solver(device: torch.device) -> str:
    """The solver for α ∈ {1.5, 2}: "refine" in eager CPU code, "sort" on accelerators and under torch.compile
    (where a host read of data breaks the graph)."""
    if device.type == "cpu" and not torch.compiler.is_compiling():
        return "refine"
    return "sort"


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype the maps are computed in: float64 stays float64, everything else is float32."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def entmax(logits: torch.Tensor, alpha: float = 1.5, dim: int = -1, *, solver: str | None = None) -> torch.Tensor:
    """α-entmax along ``dim`` for 1 < α ≤ 2, returned in the input dtype (computed in fp32 or fp64).

    ``-inf`` logits get probability 0; a row with no finite logit gives all zeros, never NaN. ``solver``
    (one of EXACT_SOLVERS) overrides ``exact_solver``'s choice for α ∈ {1.5, 2}.
    """
    check_alpha(alpha)
    x = logits.movedim(dim, -1).to(compute_dtype(logits.dtype))
    values, factor = unnormalized_entmax(x, finite_row_max(x), alpha, solver=solver)
    return values.mul_(factor).to(logits.dtype).movedim(-1, dim)


def entmax15(logits: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """1.5-entmax: p_i = [z_i/2 − τ]_+²."""
    return entmax(logits, 1.5, dim)


def sparsemax(logits: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Sparsemax (Martins & Astudillo 2016) = 2-entmax: p_i = [z_i − τ]_+."""
    return entmax(logits, 2.0, dim)


def check_alpha(alpha: float) -> None:
    if not 1.0 < alpha <= 2.0:
        raise ValueError(f"alpha must satisfy 1 < alpha <= 2 (1.5 = entmax15, 2 = sparsemax), got {alpha}")


def finite_row_max(x: torch.Tensor) -> torch.Tensor:
    """Each row's maximum along the last dimension, 0 for a row without a finite entry."""
    row_max = x.amax(dim=-1, keepdim=True)
    return torch.where(torch.isfinite(row_max), row_max, torch.zeros_like(row_max))


def unnormalized_entmax(
    logits: torch.Tensor,
    row_max: torch.Tensor,
    alpha: float,
    repeats: float | torch.Tensor = 1.0,
    out: torch.Tensor | None = None,
    scratch: torch.Tensor | None = None,
    solver: str | None = None,
) -> tuple[torch.Tensor, float | torch.Tensor]:
    """(values, factor) with α-entmax(logits) = values·factor along the last dimension.

    ``logits`` (float32/64) are left unchanged; ``row_max`` is their ``finite_row_max``. ``repeats`` (a
    float, or a tensor broadcastable to ``logits[..., :1]``) is m above. ``out`` and ``scratch`` may be
    given as buffers of the logits' shape. Callers that scale the result fold ``factor`` into their own.
    ``solver`` is one of EXACT_SOLVERS, by default ``exact_solver(logits.device)``.
    """
    beta = 1.0 / (alpha - 1.0)
    out = torch.empty_like(logits) if out is None else out
    if beta in (1.0, 2.0):
        mass = repeats * (alpha - 1.0) ** -beta
        solver = solver or exact_solver(logits.device)
        if solver not in EXACT_SOLVERS:
            raise ValueError(f"solver must be one of {EXACT_SOLVERS}, got {solver!r}")
        if solver == "sort":
            _sorted_solve(torch.sub(logits, row_max, out=out), int(beta), mass, out)
        else:
            scratch = torch.empty_like(logits) if scratch is None else scratch
            _exact_solve(logits, row_max, int(beta), mass, out, scratch)
        return out, 1.0 / mass
    _bisection_solve((logits - row_max).mul_(alpha - 1.0), beta, repeats, out)
    return out, 1.0 / repeats


def _power_(t: torch.Tensor, beta: float) -> torch.Tensor:
    if beta == 1.0:
        return t
    if beta == 2.0:
        return t.mul_(t)
    return t.pow_(beta)


def _positive_part(x: torch.Tensor, sigma: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    return torch.sub(x, sigma, out=out).clamp_(min=0)


def _row_sum(t: torch.Tensor) -> torch.Tensor:
    return t.sum(dim=-1, keepdim=True)


def _row_count_positive(t: torch.Tensor, scratch: torch.Tensor) -> torch.Tensor:
    """How many entries of each row of t ≥ 0 are positive (sign and sum: far cheaper than count_nonzero)."""
    return torch.sign(t, out=scratch).sum(dim=-1, keepdim=True)


def _bisect(x, beta: float, mass, lo, hi, steps: int, work: torch.Tensor) -> torch.Tensor:
    """Halves [lo, hi] ``steps`` times around σ*, keeping Σ[x − lo]_+^β ≥ R; returns the lower bound."""
    for _ in range(steps):
        mid = (lo + hi) * 0.5
        above = _row_sum(_power_(_positive_part(x, mid, work), beta)) >= mass
        lo = torch.where(above, mid, lo)
        hi = torch.where(above, hi, mid)
    return lo


def _exact_solve(x, row_max, beta: int, mass, out: torch.Tensor, scratch: torch.Tensor) -> None:
    """Writes [x − σ*]_+^β into ``out`` for β ∈ {1, 2}, σ* exact up to rounding.

    Every pass works in place on ``out`` (a fresh full-size temporary costs more than the pass itself).
    """
    lo = row_max - mass ** (1.0 / beta)
    hi = row_max - (mass / x.shape[-1]) ** (1.0 / beta)
    lo = _bisect(x, beta, mass, lo, hi, BISECTION_STEPS, out)
    lo, wrong = _newton_with_exact_finish(x, lo, beta, mass, NEWTON_STEPS, out, scratch)
    if not bool(wrong.any()):
        return
    # Rows whose support was not final yet: more Newton steps on those rows alone, then sorting.
    rows = wrong.nonzero(as_tuple=True)
    row_mass = mass.expand(*x.shape[:-1], 1)[rows] if torch.is_tensor(mass) else mass
    x_rows = x[rows]
    result, scratch_rows = torch.empty_like(x_rows), torch.empty_like(x_rows)
    _, still_wrong = _newton_with_exact_finish(x_rows, lo[rows], beta, row_mass, REFINE_STEPS, result, scratch_rows)
    if bool(still_wrong.any()):
        left = still_wrong.nonzero(as_tuple=True)
        left_mass = row_mass[left] if torch.is_tensor(row_mass) else row_mass
        shifted = x_rows[left] - row_max[rows][left]
        result[left] = _sorted_solve(shifted, beta, left_mass, shifted)
    out[rows] = result


def _newton_with_exact_finish(x, lo, beta: int, mass, steps: int, out, scratch):
    """Newton steps from a lower bound ``lo`` of σ*, then the closed form on the support {x > lo}.

    Writes [x − σ]_+^β into ``out`` and returns (lo after the Newton steps, rows whose result is wrong).
    From the left Newton never overshoots (f is convex and decreasing); the closed form is exact exactly
    when the support it assumed is the support it gives.
    """
    # A row without a finite logit has no support: its slope is 0 and its σ goes to a large negative value,
    # which leaves its result all zeros.
    tiny = torch.finfo(x.dtype).eps
    for _ in range(steps):
        t = _positive_part(x, lo, out)
        if beta == 2:
            half_slope = _row_sum(t).clamp_(min=tiny)
            lo = torch.addcdiv(lo, _row_sum(t.mul_(t)).sub_(mass), half_slope, value=0.5)
        else:
            lo = torch.addcdiv(lo, _row_sum(t).sub_(mass), _row_count_positive(t, scratch).clamp_(min=1))

    t = _positive_part(x, lo, out)
    sum_t, count = _row_sum(t), _row_count_positive(t, scratch)
    if beta == 1:
        step = (sum_t - mass) / count
    else:
        # Smaller root δ of  k·δ² − 2·Σt·δ + Σt² − R = 0, in the cancellation-free form.
        excess = _row_sum(t.mul_(t)) - mass
        step = excess / (sum_t + (sum_t * sum_t - count * excess).clamp(min=0).sqrt())
    sigma = torch.where(count > 0, lo + step, lo)
    result = _positive_part(x, sigma, out)
    wrong = (_row_count_positive(result, scratch) != count).squeeze(-1)
    _power_(result, beta)
    return lo, wrong


def _sorted_solve(s: torch.Tensor, beta: int, mass, out: torch.Tensor) -> torch.Tensor:
    """Writes [s − σ*]_+^β into ``out`` (which may be ``s``) for rows s with max 0 (or no finite entry).

    With the row sorted, x₁ ≥ x₂ ≥ …, the support is the top k with k the largest such that
    Σ_{j≤k} (x_j − x_k)^β ≤ R (the sort-based algorithm of Peters et al. 2019, Alg. 2, with its test
    σ_k ≤ x_k squared out). The threshold is then recomputed from the support's smallest value u, in the
    shifted t = s − u ≥ 0, where every term of the closed form is positive.
    """
    n = s.shape[-1]
    # σ* ≥ −R^(1/β): keys below −R^(1/β) − 1 never enter the support; flooring them (and −inf) keeps
    # every sum finite.
    floor = -(mass ** (1.0 / beta)) - 1.0
    floored = torch.maximum(s, floor) if torch.is_tensor(floor) else s.clamp(min=floor)
    x, _ = floored.sort(dim=-1, descending=True)
    k = torch.arange(1, n + 1, dtype=s.dtype, device=s.device)
    # Σ_{j≤k} (x_j − x_k) = Σx_j − k·x_k;  Σ_{j≤k} (x_j − x_k)² = Σx_j² − x_k·(2·Σx_j − k·x_k)
    spent = x.cumsum(dim=-1)
    spent = spent.sub_(k * x) if beta == 1 else (x * x).cumsum(dim=-1).sub_(x * spent.mul_(2).sub_(k * x))
    support = (spent <= mass).sum(dim=-1, keepdim=True).clamp_(min=1)
    smallest = x.gather(-1, support - 1)
    t = (floored - smallest).clamp_(min=0)
    count = support.to(s.dtype)
    sum_t = _row_sum(t)
    if beta == 1:
        step = (sum_t - mass) / count
    else:
        # The root δ ≤ 0 of  k·δ² − 2·Σt·δ + Σt² − R = 0 (Σt² ≤ R on the support), without cancellation.
        excess = _row_sum(t.mul_(t)) - mass
        step = excess / (sum_t + (sum_t * sum_t - count * excess).clamp_(min=0).sqrt_())
    return _power_(torch.sub(s, smallest + step, out=out).clamp_(min=0), beta)


def _bisection_solve(u: torch.Tensor, beta: float, mass, out: torch.Tensor) -> None:
    """Any α, on u = (α−1)·(x − max): bisection on the threshold, then a renormalisation so that every row
    sums to R exactly."""
    n = u.shape[-1]
    mass_t = torch.as_tensor(mass, dtype=u.dtype, device=u.device)
    lo = (-(mass_t ** (1.0 / beta))).expand(*u.shape[:-1], 1)
    hi = (-((mass_t / n) ** (1.0 / beta))).expand(*u.shape[:-1], 1)
    lo = _bisect(u, beta, mass, lo, hi, GENERAL_ALPHA_BISECTION_STEPS[u.dtype], out)
    result = _power_(_positive_part(u, lo, out), beta)
    result.mul_(mass / _row_sum(result).clamp(min=torch.finfo(u.dtype).tiny))
