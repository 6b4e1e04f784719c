"""Proportions with confidence intervals for the survey results (pure functions, no I/O)."""

from __future__ import annotations

import math

from pydantic import BaseModel, Field

# The 97.5% quantile of the standard normal: a two-sided 95% interval.
Z_95 = 1.959963984540054


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion ``successes / trials``.

    Unlike the normal ("Wald") interval it stays inside [0, 1] and is sensible for small ``trials`` and
    for proportions near 0 or 1, which is where a young survey lives:

        centre = (p + z^2 / 2n) / (1 + z^2 / n)
        half   = z / (1 + z^2 / n) * sqrt(p (1 - p) / n + z^2 / 4n^2)

    Returns (low, high) in [0, 1]; ``trials`` must be >= 1 and ``0 <= successes <= trials``.
    """
    if trials < 1:
        raise ValueError(f"trials must be >= 1, got {trials}")
    if not 0 <= successes <= trials:
        raise ValueError(f"successes must be in 0..{trials}, got {successes}")
    n = float(trials)
    p = successes / n
    z2 = z * z
    denominator = 1.0 + z2 / n
    centre = (p + z2 / (2.0 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


class Rate(BaseModel):
    """``hits`` out of ``trials``, with its 95% Wilson interval (all ``None`` while there are no trials)."""

    trials: int = Field(ge=0)
    hits: int = Field(ge=0)
    rate: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None


def rate(hits: int, trials: int) -> Rate:
    if trials == 0:
        return Rate(trials=0, hits=0)
    low, high = wilson_interval(hits, trials)
    return Rate(trials=trials, hits=hits, rate=hits / trials, ci_low=low, ci_high=high)
