"""The Wilson score interval against published values, and its edge cases."""

from __future__ import annotations

import math

import pytest

from app.survey_stats import rate, wilson_interval

# Newcombe (1998), "Two-sided confidence intervals for the single proportion: comparison of seven methods",
# Statistics in Medicine 17:857-872, Table II, method 3 (Wilson score interval without continuity correction).
NEWCOMBE_TABLE_II = [
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0000, 0.1611),
    (1, 29, 0.0061, 0.1718),
]


@pytest.mark.parametrize(("successes", "trials", "low", "high"), NEWCOMBE_TABLE_II)
def test_matches_newcombes_published_intervals(successes: int, trials: int, low: float, high: float) -> None:
    got_low, got_high = wilson_interval(successes, trials)
    assert got_low == pytest.approx(low, abs=5e-5)
    assert got_high == pytest.approx(high, abs=5e-5)


def test_matches_the_formula_written_out() -> None:
    successes, trials, z = 7, 25, 1.959963984540054
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z / (1 + z * z / trials) * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    assert wilson_interval(successes, trials) == pytest.approx((centre - half, centre + half))


def test_is_symmetric_around_one_half() -> None:
    low, high = wilson_interval(5, 10)
    assert low + high == pytest.approx(1.0)
    low_3, high_3 = wilson_interval(3, 10)
    low_7, high_7 = wilson_interval(7, 10)
    assert (low_3, high_3) == pytest.approx((1 - high_7, 1 - low_7))


def test_stays_inside_zero_one_and_holds_the_estimate() -> None:
    for trials in (1, 2, 5, 40):
        for successes in range(trials + 1):
            low, high = wilson_interval(successes, trials)
            assert 0.0 <= low <= successes / trials <= high <= 1.0


def test_narrows_as_votes_accumulate() -> None:
    widths = [high - low for low, high in (wilson_interval(n // 3, n) for n in (9, 90, 900))]
    assert widths[0] > widths[1] > widths[2]


def test_refuses_impossible_counts() -> None:
    with pytest.raises(ValueError, match="trials"):
        wilson_interval(0, 0)
    with pytest.raises(ValueError, match="successes"):
        wilson_interval(4, 3)
    with pytest.raises(ValueError, match="successes"):
        wilson_interval(-1, 3)


def test_rate_without_trials_has_no_estimate() -> None:
    empty = rate(0, 0)
    assert (empty.rate, empty.ci_low, empty.ci_high) == (None, None, None)
    some = rate(3, 12)
    assert some.rate == 0.25
    assert (some.ci_low, some.ci_high) == wilson_interval(3, 12)
