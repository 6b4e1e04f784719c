"""Evaluation metrics against their formulas."""

from __future__ import annotations

import math

import pytest
import torch

from training import metrics


def test_sobel_magnitude_of_a_vertical_edge() -> None:
    image = torch.zeros(1, 3, 5, 6)
    image[..., 3:] = 1.0  # a vertical step between columns 2 and 3
    magnitude = metrics.sobel_magnitude(image)[0, 0]  # (3, 4)
    # Sobel-x over a unit step gives 1 + 2 + 1 = 4 in the two columns that straddle it, 0 elsewhere.
    torch.testing.assert_close(magnitude[:, 1:3], torch.full((3, 2), 4.0), atol=1e-5, rtol=0)
    torch.testing.assert_close(magnitude[:, [0, 3]], torch.zeros(3, 2))


def test_pearson_by_hand() -> None:
    assert metrics.pearson(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([2.0, 4.0, 6.0])) == pytest.approx(1.0)
    assert metrics.pearson(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([3.0, 2.0, 1.0])) == pytest.approx(-1.0)
    assert metrics.pearson(torch.tensor([1.0, 1.0]), torch.tensor([1.0, 2.0])) == 0.0


def test_edge_correlation_is_one_for_the_same_image_and_resizes() -> None:
    torch.manual_seed(0)
    image = torch.rand(1, 3, 16, 16)
    assert metrics.edge_correlation(image, image) == pytest.approx(1.0)
    assert -1.0 <= metrics.edge_correlation(image, torch.rand(1, 3, 32, 32)) <= 1.0


def test_tone_correlation_sees_a_negative_that_edges_miss() -> None:
    torch.manual_seed(0)
    photo = torch.rand(1, 3, 24, 24)
    negative = 1.0 - photo
    assert metrics.tone_correlation(photo, photo) == pytest.approx(1.0)
    assert metrics.tone_correlation(negative, photo) == pytest.approx(-1.0)
    # An affine change of brightness and contrast keeps every local tone's sign.
    assert metrics.tone_correlation(0.5 * photo + 0.25, photo) == pytest.approx(1.0)
    # Sobel magnitudes are the same for an image and its negative.
    assert metrics.edge_correlation(negative, photo) == pytest.approx(1.0)
    assert -1.0 <= metrics.tone_correlation(photo, torch.rand(1, 3, 48, 48)) <= 1.0


def test_color_histogram_distance_extremes() -> None:
    black, white = torch.zeros(1, 3, 4, 4), torch.ones(1, 3, 4, 4)
    assert metrics.color_histogram_distance(black, black) == pytest.approx(0.0)
    assert metrics.color_histogram_distance(black, white) == pytest.approx(1.0)
    half = torch.cat([black[..., :2], white[..., 2:]], dim=-1)  # half the pixels black
    assert metrics.color_histogram_distance(half, black) == pytest.approx(0.5)


def test_pairwise_diversity_by_hand() -> None:
    a, b, c = (torch.full((1, 3, 2, 2), v) for v in (0.0, 0.1, 0.3))
    # Pairs differ by 0.1, 0.3, 0.2 -> mean 0.2 -> 51 grey levels.
    assert metrics.pairwise_diversity([a, b, c]) == pytest.approx(51.0, rel=1e-5)
    with pytest.raises(ValueError):
        metrics.pairwise_diversity([a])


def test_sweep_smoothness_by_hand() -> None:
    frames = [torch.full((1, 3, 2, 2), v / 255.0) for v in (0.0, 10.0, 20.0, 50.0)]
    result = metrics.sweep_smoothness(frames)
    assert result["max_step"] == pytest.approx(30.0, rel=1e-5)
    assert result["mean_step"] == pytest.approx(50.0 / 3, rel=1e-5)
    assert result["max_over_path"] == pytest.approx(30.0 / 50.0, rel=1e-5)
    assert result["max_over_mean"] == pytest.approx(1.8, rel=1e-5)


def test_content_and_style_distance_use_the_losses() -> None:
    torch.manual_seed(1)
    feats_a = [torch.rand(1, 2, 4, 4), torch.rand(1, 3, 2, 2)]
    feats_b = [torch.rand(1, 2, 4, 4), torch.rand(1, 3, 2, 2)]
    expected_content = float(((feats_a[-1] - feats_b[-1]) ** 2).mean())
    assert metrics.content_distance(feats_a, feats_b) == pytest.approx(expected_content)
    assert metrics.style_distance(feats_a, feats_a) == pytest.approx(0.0)
    assert not math.isclose(metrics.style_distance(feats_a, feats_b), 0.0)


def test_paired_difference_by_hand() -> None:
    # differences 1, 2, 3: mean 2, sd 1, half width 1.96 / sqrt(3)
    result = metrics.paired_difference([2.0, 4.0, 6.0], [1.0, 2.0, 3.0])
    assert result["pairs"] == 3
    assert result["mean"] == pytest.approx(2.0)
    assert result["low"] == pytest.approx(2.0 - 1.96 / 3**0.5)
    assert result["high"] == pytest.approx(2.0 + 1.96 / 3**0.5)
    assert result["relative"] == pytest.approx(1.0)  # 2 over the other's mean 2


def test_paired_difference_cancels_the_pairs_own_spread() -> None:
    # The pairs differ wildly, but ours is always exactly 0.5 lower: a zero-width interval below 0.
    other = [1.0, 10.0, 100.0, 1000.0]
    result = metrics.paired_difference([x - 0.5 for x in other], other)
    assert result["high"] == pytest.approx(-0.5)
    assert result["low"] == pytest.approx(-0.5)


def test_paired_difference_refuses_unequal_lists() -> None:
    with pytest.raises(ValueError):
        metrics.paired_difference([1.0, 2.0], [1.0])


def test_geometric_mean_by_hand() -> None:
    assert metrics.geometric_mean([1.0, 4.0, 16.0]) == pytest.approx(4.0)
    with pytest.raises(ValueError):
        metrics.geometric_mean([1.0, 0.0])


def test_paired_log_ratio_by_hand() -> None:
    # Ratios 0.5, 2 and 0.5: log ratios -l, +l, -l with l = ln 2; mean -l/3, sd = 2l/sqrt(3).
    result = metrics.paired_log_ratio([1.0, 200.0, 0.005], [2.0, 100.0, 0.01])
    log2 = math.log(2.0)
    half_width = 1.96 * (2 * log2 / math.sqrt(3)) / math.sqrt(3)
    assert result["ratio"] == pytest.approx(math.exp(-log2 / 3))
    assert result["low"] == pytest.approx(math.exp(-log2 / 3 - half_width))
    assert result["high"] == pytest.approx(math.exp(-log2 / 3 + half_width))
    assert result["wins"] == pytest.approx(2 / 3)
    # Unlike the difference of means, the pair with the large losses does not decide the result.
    assert metrics.paired_difference([1.0, 200.0, 0.005], [2.0, 100.0, 0.01])["mean"] > 0


def test_paired_log_ratio_refuses_non_positive_scores() -> None:
    with pytest.raises(ValueError):
        metrics.paired_log_ratio([1.0, 0.0], [1.0, 1.0])


def test_interpolate_curve_by_hand() -> None:
    curve = [(2.0, 10.0), (1.0, 30.0), (4.0, 0.0)]  # unordered on purpose
    assert metrics.interpolate_curve(curve, 1.5) == pytest.approx(20.0)
    assert metrics.interpolate_curve(curve, 3.0) == pytest.approx(5.0)
    assert metrics.interpolate_curve(curve, 4.0) == pytest.approx(0.0)
    assert metrics.interpolate_curve(curve, 0.5) is None  # outside: no extrapolation
    assert metrics.interpolate_curve(curve, 4.5) is None


def test_bootstrap_at_equal_content_by_hand() -> None:
    # Ours' curve: alpha 0.5 at content 2 / style 4, alpha 1 at content 4 / style 2 (every pair alike).
    # The baseline's alpha-1 point is content 3 / style 2.5: ours read there is 3, so +20%, and every
    # resample of identical pairs gives the same value.
    pairs = 5
    ours = [([2.0] * pairs, [4.0] * pairs), ([4.0] * pairs, [2.0] * pairs)]
    other = [([3.0] * pairs, [2.5] * pairs)]
    for aggregate in ("mean", "geometric"):
        result = metrics.bootstrap_at_equal_content(ours, other, aggregate, resamples=50)
        assert result["relative"] == pytest.approx(0.2)
        assert result["low"] == pytest.approx(0.2) and result["high"] == pytest.approx(0.2)
        assert result["outside"] == 0


def test_bootstrap_at_equal_content_interval_covers_the_spread() -> None:
    # Ours' style is 10% lower than the baseline's on half the pairs and 10% higher on the rest, at the
    # same content: the point is 0 and the interval straddles it.
    content = [1.0, 2.0, 3.0, 4.0] * 5
    base_style = [1.0] * 20
    ours_style = [0.9, 1.1] * 10
    ours = [([c - 0.5 for c in content], [s + 1 for s in ours_style]), (content, ours_style)]
    result = metrics.bootstrap_at_equal_content(ours, [(content, base_style)], "mean", resamples=400)
    assert result["relative"] == pytest.approx(0.0)
    assert result["low"] < 0 < result["high"]
    assert result["outside"] == 0  # equal alpha-1 contents: always on the end of ours' curve
    with pytest.raises(ValueError):
        metrics.bootstrap_at_equal_content(ours, [(content[:3], base_style[:3])])
