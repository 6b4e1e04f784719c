"""Evaluation metrics: pure functions on images in [0, 1], each tested against its formula.

Images are (1, 3, H, W) or (3, H, W) float tensors. Loss-network metrics take the tapped features of a
:class:`model.networks.VGGTrunk` so that every method is scored by the same network.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from model import functional as VF

SOBEL_X = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


def _batched(image: torch.Tensor) -> torch.Tensor:
    return image[None] if image.dim() == 3 else image


def content_distance(output_features: list[torch.Tensor], content_features: list[torch.Tensor]) -> float:
    """The perceptual content loss at relu4_1: mean (phi(y) - phi(C))^2."""
    return float(VF.content_loss(output_features[-1], content_features[-1]))


def style_distance(output_features: list[torch.Tensor], style_features: list[torch.Tensor]) -> float:
    """The Gram style loss summed over relu1_1 .. relu4_1."""
    return float(VF.gram_style_loss(output_features, [VF.gram_matrix(f) for f in style_features]))


def grayscale(image: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) -> (B, 1, H, W) with ITU-R BT.601 luma weights."""
    weights = image.new_tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    return (image * weights).sum(dim=1, keepdim=True)


def sobel_magnitude(image: torch.Tensor) -> torch.Tensor:
    """Gradient magnitude sqrt(gx^2 + gy^2) of the luma with 3x3 Sobel kernels: (B, 3, H, W) -> (B, 1, H-2, W-2)."""
    gray = grayscale(_batched(image).float())  # (B, 1, H, W)
    kx = SOBEL_X.view(1, 1, 3, 3)
    ky = SOBEL_X.t().contiguous().view(1, 1, 3, 3)
    gx = F.conv2d(gray, kx)  # (B, 1, H-2, W-2)
    gy = F.conv2d(gray, ky)  # (B, 1, H-2, W-2)
    return (gx.pow(2) + gy.pow(2)).sqrt()


def pearson(a: torch.Tensor, b: torch.Tensor) -> float:
    """Pearson correlation of two equally sized tensors (flattened)."""
    x = a.flatten().double() - a.double().mean()
    y = b.flatten().double() - b.double().mean()
    denominator = x.norm() * y.norm()
    return float((x @ y) / denominator) if float(denominator) > 0 else 0.0


def edge_correlation(output: torch.Tensor, content: torch.Tensor) -> float:
    """Structure kept from the photo: correlation of Sobel magnitudes (1 = identical edges)."""
    output, content = _batched(output), _batched(content)
    if output.shape[-2:] != content.shape[-2:]:
        content = F.interpolate(content, size=output.shape[-2:], mode="bilinear", antialias=True)
    return pearson(sobel_magnitude(output), sobel_magnitude(content))


def tone_correlation(output: torch.Tensor, content: torch.Tensor) -> float:
    """Light and dark kept from the photo: correlation of the luma's local detail (1 = same, -1 = a negative).

    The content loss at relu4_1 and :func:`edge_correlation` barely see an output whose local tones are
    inverted (networks trained without the tone term have turned white clouds dark and scored well on both);
    this does. See :func:`model.functional.tone_correlation`."""
    output, content = _batched(output).float(), _batched(content).float()
    if output.shape[-2:] != content.shape[-2:]:
        content = F.interpolate(content, size=output.shape[-2:], mode="bilinear", antialias=True)
    return float(VF.tone_correlation(output, content)[0])


def color_histograms(image: torch.Tensor, bins: int = 32) -> torch.Tensor:
    """Normalised per-channel histograms: (3, bins), each row summing to 1."""
    pixels = _batched(image)[0].float().clamp(0, 1).flatten(1)  # (3, HW)
    hist = torch.stack([torch.histc(channel, bins=bins, min=0.0, max=1.0) for channel in pixels])  # (3, bins)
    return hist / hist.sum(dim=1, keepdim=True)


def color_histogram_distance(output: torch.Tensor, style: torch.Tensor, bins: int = 32) -> float:
    """Mean over RGB of the total-variation distance 0.5 * sum |h_out - h_style| (0 = same palette, 1 = disjoint)."""
    difference = (color_histograms(output, bins) - color_histograms(style, bins)).abs()  # (3, bins)
    return float(0.5 * difference.sum(dim=1).mean())


def mean_abs_difference(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean absolute pixel difference on the 0..255 scale."""
    return float((a.float() - b.float()).abs().mean() * 255.0)


def pairwise_diversity(samples: list[torch.Tensor]) -> float:
    """Mean over all pairs of samples of their mean absolute pixel difference (0..255)."""
    pairs = list(itertools.combinations(samples, 2))
    if not pairs:
        raise ValueError("diversity needs at least two samples")
    return sum(mean_abs_difference(a, b) for a, b in pairs) / len(pairs)


def pairwise_feature_distance(features: list[torch.Tensor]) -> float:
    """Mean over pairs of the mean absolute difference of loss-network features (e.g. relu3_1)."""
    pairs = list(itertools.combinations(features, 2))
    if not pairs:
        raise ValueError("diversity needs at least two samples")
    return sum(float((a.float() - b.float()).abs().mean()) for a, b in pairs) / len(pairs)


def sweep_smoothness(frames: list[torch.Tensor]) -> dict[str, float]:
    """Steps between neighbouring frames of a sweep (mean abs difference, 0..255).

    Returns the largest step relative to the whole path (sum of steps) and to the mean step. A perfectly
    even sweep of n steps has max/path = 1/n and max/mean = 1.
    """
    if len(frames) < 3:
        raise ValueError("a sweep needs at least three frames")
    steps = [mean_abs_difference(a, b) for a, b in itertools.pairwise(frames)]
    path = sum(steps)
    mean = path / len(steps)
    return {
        "max_step": max(steps),
        "mean_step": mean,
        "max_over_path": max(steps) / path if path > 0 else 0.0,
        "max_over_mean": max(steps) / mean if mean > 0 else 0.0,
    }


def paired_difference(ours: Sequence[float], other: Sequence[float], z: float = 1.96) -> dict[str, float]:
    """Mean of the per-pair differences ours - other, with a normal-approximation interval.

    Both methods are scored on the same pairs, so the pairs' own spread (some photos are simply harder)
    cancels out: the interval is mean +- z * sd(d) / sqrt(n) over the differences d. ``relative`` is the
    mean difference over the other method's mean.
    """
    if len(ours) != len(other) or len(ours) < 2:
        raise ValueError("a paired difference needs two equally long lists of at least two scores")
    differences = [a - b for a, b in zip(ours, other, strict=True)]
    mean = statistics.fmean(differences)
    half_width = z * statistics.stdev(differences) / math.sqrt(len(differences))
    other_mean = statistics.fmean(other)
    return {
        "pairs": len(differences),
        "mean": mean,
        "low": mean - half_width,
        "high": mean + half_width,
        "relative": mean / other_mean if other_mean else 0.0,
    }


def geometric_mean(values: Sequence[float]) -> float:
    """exp(mean(log v)) of positive values: an average that no single large value dominates."""
    if not values or min(values) <= 0:
        raise ValueError("a geometric mean needs at least one value, all positive")
    return math.exp(statistics.fmean(math.log(v) for v in values))


def paired_log_ratio(ours: Sequence[float], other: Sequence[float], z: float = 1.96) -> dict[str, float]:
    """The typical per-pair ratio ours / other: exp of the mean log ratio, with a normal-approximation interval.

    Gram losses of different paintings differ a hundredfold, so a difference of plain means follows the
    few paintings with the largest losses; the log ratio weighs every pair alike. ``wins`` is the share of
    pairs where ours is lower.
    """
    if len(ours) != len(other) or len(ours) < 2:
        raise ValueError("a paired ratio needs two equally long lists of at least two scores")
    if min(ours) <= 0 or min(other) <= 0:
        raise ValueError("a paired ratio needs positive scores")
    logs = [math.log(a / b) for a, b in zip(ours, other, strict=True)]
    mean = statistics.fmean(logs)
    half_width = z * statistics.stdev(logs) / math.sqrt(len(logs))
    return {
        "pairs": len(logs),
        "ratio": math.exp(mean),
        "low": math.exp(mean - half_width),
        "high": math.exp(mean + half_width),
        "wins": sum(1 for a, b in zip(ours, other, strict=True) if a < b) / len(logs),
    }


def interpolate_curve(points: Sequence[tuple[float, float]], x: float) -> float | None:
    """Linear interpolation of y at ``x`` on a curve of (x, y) points; None outside the curve's x range.

    Used to read a method's style loss at another method's content loss (its alpha trade-off curve),
    so that two methods are compared at equal content loss.
    """
    ordered = sorted(points)
    if len(ordered) < 2 or not ordered[0][0] <= x <= ordered[-1][0]:
        return None
    for (x0, y0), (x1, y1) in itertools.pairwise(ordered):
        if x0 <= x <= x1:
            return y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return None  # unreachable: x lies inside the range


def bootstrap_at_equal_content(
    ours: Sequence[tuple[Sequence[float], Sequence[float]]],
    other: Sequence[tuple[Sequence[float], Sequence[float]]],
    aggregate: str = "mean",
    resamples: int = 2000,
    seed: int = 0,
) -> dict[str, float]:
    """Ours' style loss against the other method's, both at the other's alpha-1 content loss, with an interval.

    ``ours`` and ``other`` hold one (content losses, style losses) per alpha of each method's trade-off
    curve, scored on the same pairs in the same order; the last entry is alpha 1. Ours' curve of
    aggregated (content, style) points is read at the other method's alpha-1 content loss (linear
    interpolation, as :func:`interpolate_curve`), and ``relative`` is that style loss over the other's,
    minus 1. The interval resamples pairs with replacement, both methods alike, and takes the 2.5 and
    97.5 percentiles; resamples where the other's point falls outside ours' curve are left out and counted
    in ``outside``. ``aggregate`` is "mean" or "geometric" (the style losses' geometric mean).
    """
    pairs = len(other[-1][0])
    if pairs < 2 or any(len(c) != pairs or len(s) != pairs for c, s in (*ours, *other)):
        raise ValueError("every curve point needs the same pairs, at least two")
    if aggregate not in ("mean", "geometric"):
        raise ValueError(f"unknown aggregate {aggregate!r}")

    def style_mean(values: list[float]) -> float:
        return statistics.fmean(values) if aggregate == "mean" else geometric_mean(values)

    def relative(indices: Sequence[int]) -> float | None:
        curve = [(statistics.fmean(c[i] for i in indices), style_mean([s[i] for i in indices])) for c, s in ours]
        target_content = statistics.fmean(other[-1][0][i] for i in indices)
        ours_style = interpolate_curve(curve, target_content)
        if ours_style is None:
            return None
        return ours_style / style_mean([other[-1][1][i] for i in indices]) - 1.0

    generator = torch.Generator().manual_seed(seed)
    draws = torch.randint(0, pairs, (resamples, pairs), generator=generator).tolist()
    values = sorted(v for v in (relative(d) for d in draws) if v is not None)
    point = relative(range(pairs))
    if point is None or not values:
        return {"relative": math.nan, "low": math.nan, "high": math.nan, "outside": resamples - len(values)}
    return {
        "relative": point,
        "low": values[int(0.025 * (len(values) - 1))],
        "high": values[int(0.975 * (len(values) - 1))],
        "outside": resamples - len(values),
    }
