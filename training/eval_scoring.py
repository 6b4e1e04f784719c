"""The scores of ``vst evaluate``: each output measured against its photo and painting by one loss network (with
layer scales pinned, so that evaluations of different runs share one scale), and the methods compared pair by
pair and along the alpha trade-off."""

from __future__ import annotations

import copy
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from model.checkpoint import load_checkpoint, tensors_digest
from model.inference import image_to_tensor
from model.networks import VariationalStyleTransfer, VGGTrunk
from training import metrics


@dataclass
class MethodScores:
    """Per-pair scores of one method, averaged in :meth:`summary`."""

    content: list[float] = field(default_factory=list)
    style: list[float] = field(default_factory=list)
    edges: list[float] = field(default_factory=list)
    tones: list[float] = field(default_factory=list)
    color: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def add(self, scores: dict[str, float], seconds: float) -> None:
        self.content.append(scores["content_loss"])
        self.style.append(scores["style_loss"])
        self.edges.append(scores["edge_correlation"])
        self.tones.append(scores["tone_correlation"])
        self.color.append(scores["color_distance"])
        self.seconds.append(seconds)

    def summary(self) -> dict[str, float]:
        return {
            "pairs": len(self.content),
            "content_loss": statistics.fmean(self.content),
            "style_loss": statistics.fmean(self.style),
            "edge_correlation": statistics.fmean(self.edges),
            "tone_correlation": statistics.fmean(self.tones),
            "color_distance": statistics.fmean(self.color),
            "seconds_per_image": statistics.median(self.seconds),
        }


@dataclass
class Reference:
    """A photo or painting that outputs are scored against: the image (CPU) and its loss-network features,
    computed once for all the outputs of its pairs instead of once per output."""

    image: torch.Tensor  # (1, 3, H, W) in [0, 1]
    features: list[torch.Tensor]

    @classmethod
    @torch.no_grad()
    def of(cls, trunk: VGGTrunk, image: Image.Image) -> Reference:
        tensor = image_to_tensor(image)  # (1, 3, H, W)
        return cls(tensor, trunk(tensor.to(trunk_device(trunk))))


@torch.no_grad()
def score_and_features(
    trunk: VGGTrunk, output: torch.Tensor, content: Reference, style: Reference
) -> tuple[dict[str, float], list[torch.Tensor]]:
    """All per-pair metrics of one output (1, 3, H, W) against its content and style images, and the output's
    loss-network features (the diversity between samples is measured on them, without a second pass).

    The images stay where they are (the CPU); only the loss network's inputs go to its device."""
    output_features = trunk(output.to(trunk_device(trunk)))
    scores = {
        "content_loss": metrics.content_distance(output_features, content.features),
        "style_loss": metrics.style_distance(output_features, style.features),
        "edge_correlation": metrics.edge_correlation(output, content.image),
        "tone_correlation": metrics.tone_correlation(output, content.image),
        "color_distance": metrics.color_histogram_distance(output, style.image),
    }
    return scores, output_features


def score(trunk: VGGTrunk, output: torch.Tensor, content: Reference, style: Reference) -> dict[str, float]:
    """The metrics of :func:`score_and_features` alone."""
    return score_and_features(trunk, output, content, style)[0]


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    """The same parameters: the same loss network, whatever its layer scales (a buffer outside the state dict).
    Compared on the CPU, since the evaluated model may sit on a GPU and the reference is loaded on the CPU."""
    ours, theirs = a.state_dict(), b.state_dict()
    return ours.keys() == theirs.keys() and all(
        ours[k].shape == theirs[k].shape and torch.equal(ours[k].float().cpu(), theirs[k].float().cpu()) for k in ours
    )


# The scale every evaluation of a hed-vgg16 network is scored on: the layer scales one seed-0 run on the bundled
# paintings calibrated. Pinned here, not read from the shipped file, so that shipping a network trained with
# another seed or data does not move the scale of every later evaluation. Recognised by the trunk's weights.
HED_VGG16_FINGERPRINT = "a83dc7971005447a52631a0f55a7c911d0e7556661f442109550a786000f8294"
HED_VGG16_SCORING_SCALES = (15.048856735229492, 13.808464050292969, 8.32209587097168, 4.564096450805664)


def trunk_fingerprint(trunk: VGGTrunk) -> str:
    """The digest of the trunk's weights as fp32: the same loss network, whatever its layer scales (a buffer
    outside the state dict) and whichever file or precision it was loaded from."""
    return tensors_digest({name: tensor.float() for name, tensor in trunk.state_dict().items()})


def scoring_trunk(model: VariationalStyleTransfer, reference: Path | None) -> tuple[VGGTrunk, str]:
    """A copy of ``model``'s loss network with the layer scales of ``reference`` (default: the pinned hed-vgg16
    scales above), and where its scales came from.

    Each run calibrates its layer scales on its first batch, so two seeds give scales a few percent apart
    (relu4_1: 4.56 for seed 0, 4.41 for seed 1), and with them every content and Gram loss: scored with each
    checkpoint's own scales, the same images would get different numbers in different evaluations. A model with
    another loss network than the pinned one (by default) keeps its own scales; the source says so.
    """
    trunk = copy.deepcopy(model.style_encoder.trunk)  # the model's own keeps the scales its style codes need
    if reference is None:
        if trunk_fingerprint(trunk) != HED_VGG16_FINGERPRINT:
            return trunk, "the evaluated checkpoint (its loss network is not hed-vgg16)"
        trunk.layer_scales.copy_(torch.tensor(HED_VGG16_SCORING_SCALES, dtype=trunk.layer_scales.dtype))
        return trunk, "hed-vgg16's pinned scoring scales"
    reference_trunk = load_checkpoint(reference, torch.device("cpu"))[0].style_encoder.trunk
    if not same_weights(reference_trunk, model.style_encoder.trunk):
        raise ValueError(f"{reference} was trained with another loss network than the evaluated checkpoint")
    trunk.layer_scales.copy_(reference_trunk.layer_scales.to(trunk.layer_scales.device))
    return trunk, str(reference)


def trunk_device(trunk: VGGTrunk) -> torch.device:
    return next(trunk.parameters()).device


def paired_comparison(ours: MethodScores, other: MethodScores) -> dict[str, dict[str, float]] | None:
    """Per-pair differences ours - other for each metric; None with fewer than two pairs."""
    if len(ours.content) < 2:
        return None
    return {
        "content_loss": metrics.paired_difference(ours.content, other.content),
        "style_loss": metrics.paired_difference(ours.style, other.style),
        "edge_correlation": metrics.paired_difference(ours.edges, other.edges),
        "tone_correlation": metrics.paired_difference(ours.tones, other.tones),
        "color_distance": metrics.paired_difference(ours.color, other.color),
    }


def paired_ratios(ours: MethodScores, other: MethodScores) -> dict[str, dict[str, float]] | None:
    """Typical per-pair ratios ours / other of the two losses; None with fewer than two pairs."""
    if len(ours.content) < 2:
        return None
    return {
        "content_loss": metrics.paired_log_ratio(ours.content, other.content),
        "style_loss": metrics.paired_log_ratio(ours.style, other.style),
    }


def curve_points(
    methods: dict[str, MethodScores], tradeoff: dict[str, dict[float, MethodScores]], name: str
) -> list[tuple[float, MethodScores]]:
    """One method's scored trade-off points, alphas ascending (as ``tradeoff`` was built), alpha 1 last."""
    return [(a, s) for a, s in tradeoff[name].items() if s.content] + [(1.0, methods[name])]


def tradeoff_curves(methods: dict[str, MethodScores], tradeoff: dict[str, dict[float, MethodScores]]) -> dict[str, Any]:
    """Mean (content, style) per alpha for ours and the baseline, and the two compared at equal content loss.

    ``at_equal_content`` holds one row per point of either curve that falls inside the other curve's
    content range: the other method's style loss is interpolated at that content loss. ``relative`` is
    ours' style over the baseline's, minus 1: negative where ours is closer to the painting at the same
    content loss. ``at_equal_content_geometric`` is the same with the geometric mean of the style losses,
    which no single painting with a large Gram loss dominates.
    """
    curves: dict[str, list[dict[str, float]]] = {}
    for name in tradeoff:
        curves[name] = [
            {
                "alpha": a,
                "content_loss": statistics.fmean(s.content),
                "style_loss": statistics.fmean(s.style),
                "style_loss_geometric": metrics.geometric_mean(s.style),
            }
            for a, s in curve_points(methods, tradeoff, name)
        ]
    return {
        "curves": curves,
        "at_equal_content": match_at_equal_content(curves, "style_loss"),
        "at_equal_content_geometric": match_at_equal_content(curves, "style_loss_geometric"),
    }


def equal_content_intervals(
    methods: dict[str, MethodScores], tradeoff: dict[str, dict[float, MethodScores]]
) -> dict[str, dict[str, float]]:
    """Ours' alpha curve read at the baseline's alpha-1 content loss, against the baseline, with bootstrap intervals."""

    def curve(name: str) -> list[tuple[list[float], list[float]]]:
        return [(s.content, s.style) for _, s in curve_points(methods, tradeoff, name)]

    ours, baseline = curve("ours"), curve("deterministic")
    return {
        aggregate: metrics.bootstrap_at_equal_content(ours, baseline, aggregate) for aggregate in ("mean", "geometric")
    }


def match_at_equal_content(curves: dict[str, list[dict[str, float]]], style_key: str) -> list[dict[str, Any]]:
    """Each point of either curve against the other curve's ``style_key`` read at the same content loss."""
    as_xy = {name: [(p["content_loss"], p[style_key]) for p in points] for name, points in curves.items()}
    matched: list[dict[str, Any]] = []
    for name, other in (("ours", "deterministic"), ("deterministic", "ours")):
        for point in curves[name]:
            style = metrics.interpolate_curve(as_xy[other], point["content_loss"])
            if style is None:
                continue
            ours_style, baseline_style = (point[style_key], style) if name == "ours" else (style, point[style_key])
            matched.append(
                {
                    "point_of": name,
                    "alpha": point["alpha"],
                    "content_loss": point["content_loss"],
                    "ours_style_loss": ours_style,
                    "baseline_style_loss": baseline_style,
                    "relative": ours_style / baseline_style - 1.0,
                }
            )
    matched.sort(key=lambda row: row["content_loss"])
    return matched


def per_painting(style_names: list[str], ours: MethodScores, other: MethodScores) -> list[dict[str, float | str]]:
    """Mean content and style loss per painting (pairs are ordered photo-major, painting-minor)."""
    count = len(style_names)
    return [
        {
            "style": name,
            "ours_content_loss": statistics.fmean(ours.content[si::count]),
            "ours_style_loss": statistics.fmean(ours.style[si::count]),
            "baseline_content_loss": statistics.fmean(other.content[si::count]),
            "baseline_style_loss": statistics.fmean(other.style[si::count]),
        }
        for si, name in enumerate(style_names)
    ]
