"""``vst evaluate``: score a checkpoint and its baselines on content/style folders.

Every method is scored by the checkpoint's own frozen VGG trunk (the loss network it was trained with),
so the numbers are comparable across methods. The trunk's layer scales (each layer divided by its mean
activation, calibrated on the first training batch, so they depend on the run's seed) are taken from one
reference, hed-vgg16's pinned scales by default, so that evaluations of different runs share one scale too.
Writes ``eval.json``, ``eval.md`` (the table) and ``contact_sheet.png`` into ``--out``.
"""

from __future__ import annotations

import copy
import json
import math
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from model.baselines import BaselineStylizer, load_baseline
from model.checkpoint import load_checkpoint, tensors_digest
from model.device import resolve_device
from model.inference import StyleCode, Stylizer, fit_within, image_to_tensor
from model.networks import VariationalStyleTransfer, VGGTrunk
from training import metrics
from training.baselines import gatys
from training.datasets import list_images
from training.options import EvaluateOptions
from training.sample_grid import make_grid


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


def load_image(path: Path, max_side: int) -> Image.Image:
    with Image.open(path) as image:
        return fit_within(image.convert("RGB"), max_side)


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


def timed_stylize(stylizer: Stylizer, content: Image.Image, code: StyleCode, **options: Any) -> tuple[list, float]:
    started = time.perf_counter()
    images = stylizer.stylize(content, [code], **options)
    return images, time.perf_counter() - started


def evaluate(options: EvaluateOptions) -> dict[str, Any]:
    torch.manual_seed(options.seed)
    # The default stays the CPU, where every table in docs/training.md was scored. On an H100 the 180-pair
    # evaluation took 40 s (10 minutes here then; 5.7 now), so a lent machine can score its own runs. The levels
    # move by up to 0.7% (the CPU's generator runs in bf16, CUDA's in fp32); paired differences agree.
    device = resolve_device(options.device)
    if device.type == "cuda":
        # cuDNN's convolutions default to TF32 (10-bit mantissas); full fp32 keeps the scores comparable.
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    model, provenance = load_checkpoint(options.checkpoint, device)
    baseline_model: VariationalStyleTransfer = model
    baseline_provenance: dict[str, Any] = {}
    if options.baseline_checkpoint is not None:
        baseline_model, baseline_provenance = load_checkpoint(options.baseline_checkpoint, device)
    trunk, scales_from = scoring_trunk(model, options.score_scales_from)
    ours, baseline = Stylizer(model, device=device), Stylizer(baseline_model, device=device)
    norms = provenance.get("loss_norms", {})

    content_paths = list_images(options.content)[: options.contents]
    style_paths = list_images(options.style)[: options.styles]
    contents = [load_image(p, options.max_side) for p in content_paths]
    styles = [load_image(p, options.max_side) for p in style_paths]
    started = time.perf_counter()
    codes = [ours.encode_style(s) for s in styles]
    style_seconds = (time.perf_counter() - started) / len(styles)
    baseline_codes = codes if baseline is ours else [baseline.encode_style(s) for s in styles]

    # The published fast baselines, where their checkpoints are given (vst train-baseline trains them).
    published = {
        method: BaselineStylizer(load_baseline(path, method=method, device=device)[0])
        for method, path in (("adain", options.adain_checkpoint), ("linear", options.linear_checkpoint))
        if path is not None
    }
    scores = {name: MethodScores() for name in ("ours", "ours_sampled", "deterministic", *published, "gatys")}
    # The alpha trade-off: the same pairs at lower alphas, for ours and the baseline (alpha 1 is the main row).
    alphas = sorted(a for a in options.alphas if a < 1.0)
    tradeoff: dict[str, dict[float, MethodScores]] = {
        "ours": {a: MethodScores() for a in alphas},
        "deterministic": {a: MethodScores() for a in alphas},
    }
    diversity_pixels, diversity_features = [], []
    sheet_rows: list[list[torch.Tensor]] = []
    style_refs = [Reference.of(trunk, style) for style in styles]
    for ci, content in enumerate(contents):
        content_ref = Reference.of(trunk, content)
        for si, style_ref in enumerate(style_refs):
            pair_seed = options.seed + 1000 * ci + si
            (out,), seconds = timed_stylize(ours, content, codes[si], max_side=options.max_side)
            out_t = image_to_tensor(out)
            scores["ours"].add(score(trunk, out_t, content_ref, style_ref), seconds)

            samples, seconds = timed_stylize(
                ours,
                content,
                codes[si],
                variation=options.variation,
                samples=options.samples,
                seed=pair_seed,
                max_side=options.max_side,
            )
            sample_ts = [image_to_tensor(s) for s in samples]
            relu3_1: list[torch.Tensor] = []
            for sample_t in sample_ts:
                sample_scores, sample_features = score_and_features(trunk, sample_t, content_ref, style_ref)
                scores["ours_sampled"].add(sample_scores, seconds / len(samples))
                relu3_1.append(sample_features[2])
            diversity_pixels.append(metrics.pairwise_diversity(sample_ts))
            diversity_features.append(metrics.pairwise_feature_distance(relu3_1))

            (det,), seconds = timed_stylize(baseline, content, baseline_codes[si], max_side=options.max_side)
            det_t = image_to_tensor(det)
            scores["deterministic"].add(score(trunk, det_t, content_ref, style_ref), seconds)

            for alpha in alphas:
                for name, stylizer, method_codes in (
                    ("ours", ours, codes),
                    ("deterministic", baseline, baseline_codes),
                ):
                    (image,), seconds = timed_stylize(
                        stylizer, content, method_codes[si], alpha=alpha, max_side=options.max_side
                    )
                    tradeoff[name][alpha].add(score(trunk, image_to_tensor(image), content_ref, style_ref), seconds)

            row = [content_ref.image[0], style_ref.image[0], out_t[0], *(s[0] for s in sample_ts[:2]), det_t[0]]
            for method, fast in published.items():
                started = time.perf_counter()
                image_t = image_to_tensor(fast.stylize(content, [styles[si]], max_side=options.max_side))
                scores[method].add(score(trunk, image_t, content_ref, style_ref), time.perf_counter() - started)
                row.append(image_t[0])
            if ci * len(styles) + si < options.gatys_pairs:
                started = time.perf_counter()
                gatys_t = gatys(
                    trunk,
                    content_ref.image.to(device),
                    style_ref.image.to(device),
                    steps=options.gatys_steps,
                    content_norm=norms.get("content", 1.0),
                    style_norm=norms.get("style", 1.0),
                ).cpu()
                scores["gatys"].add(score(trunk, gatys_t, content_ref, style_ref), time.perf_counter() - started)
                row.append(gatys_t[0])
            if len(sheet_rows) < options.sheet_pairs:
                sheet_rows.append(row)

    sweep = [
        image_to_tensor(img[0])
        for img in (
            ours.stylize(contents[0], codes[:2], weights=[1.0 - t, t], max_side=options.max_side)
            for t in (k / (options.sweep_steps - 1) for k in range(options.sweep_steps))
        )
    ]
    # Paired comparisons only against a separately trained baseline (else it is ours at variation 0).
    paired = options.baseline_checkpoint is not None
    results: dict[str, Any] = {
        "checkpoint": str(options.checkpoint or "shipped default"),
        "provenance": {k: provenance.get(k) for k in ("loss_network", "steps", "train_seconds", "git_commit")},
        "baseline_checkpoint": str(options.baseline_checkpoint) if options.baseline_checkpoint else None,
        "baseline_provenance": {k: baseline_provenance.get(k) for k in ("steps", "train_seconds", "git_commit")},
        "published_baselines": {
            method: str(path)
            for method, path in (("adain", options.adain_checkpoint), ("linear", options.linear_checkpoint))
            if path is not None
        },
        "settings": {
            "contents": len(contents),
            "styles": len(styles),
            "max_side": options.max_side,
            "samples": options.samples,
            "variation": options.variation,
            "gatys_steps": options.gatys_steps,
            "layer_scales": [round(float(v), 6) for v in trunk.layer_scales],
            "layer_scales_from": scales_from,
        },
        "methods": {name: s.summary() for name, s in scores.items() if s.content},
        "diversity": {
            "mean_abs_pixel_difference": statistics.fmean(diversity_pixels),
            "mean_relu3_1_distance": statistics.fmean(diversity_features),
        },
        "paired_vs_deterministic": paired_comparison(scores["ours"], scores["deterministic"]) if paired else None,
        "paired_ratios_vs_deterministic": paired_ratios(scores["ours"], scores["deterministic"]) if paired else None,
        "per_painting": per_painting([p.name for p in style_paths], scores["ours"], scores["deterministic"]),
        "sweep": metrics.sweep_smoothness(sweep),
        "style_encoding_seconds": style_seconds,
    }
    results["tradeoff"] = tradeoff_curves(scores, tradeoff)
    if paired:
        results["tradeoff"]["at_baseline_content_interval"] = equal_content_intervals(scores, tradeoff)
    # Every pair's losses, so that a later question about these outputs needs no second run.
    results["per_pair"] = {
        name: {
            str(alpha): {"content_loss": s.content, "style_loss": s.style}
            for alpha, s in curve_points(scores, tradeoff, name)
        }
        for name in tradeoff
    }
    write_report(options.out, results, sheet_rows, sweep)
    return results


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


def _fit_rows(rows: list[list[torch.Tensor]], size: int) -> list[list[torch.Tensor]]:
    resize = torch.nn.functional.interpolate
    return [[resize(t[None], size=(size, size), mode="bilinear", antialias=True)[0] for t in row] for row in rows]


def write_report(out: Path, results: dict[str, Any], rows: list[list[torch.Tensor]], sweep: list[torch.Tensor]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "eval.json").write_text(json.dumps(results, indent=2))
    (out / "eval.md").write_text(markdown_table(results))
    make_grid(_fit_rows(rows, 160)).save(out / "contact_sheet.png")
    make_grid(_fit_rows([[frame[0] for frame in sweep]], 160)).save(out / "sweep.png")
    if len(results["tradeoff"]["curves"]["ours"]) > 1:
        plot_tradeoff(results, out / "tradeoff.png")


def plot_tradeoff(results: dict[str, Any], path: Path) -> None:
    """Style loss against content loss along alpha, one line per method: lower-left is better.

    Two panels: the mean Gram loss, and its geometric mean, which no single painting dominates.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 4.2), dpi=110)
    panels = (("style_loss", "mean Gram style loss"), ("style_loss_geometric", "geometric mean of the Gram losses"))
    for axis, (key, label) in zip(axes, panels, strict=True):
        for name, points in results["tradeoff"]["curves"].items():
            xs = [p["content_loss"] for p in points]
            ys = [p[key] for p in points]
            axis.plot(xs, ys, marker="o", label=METHOD_LABELS.get(name, name))
            for p in points:
                axis.annotate(
                    f"{p['alpha']:g}",
                    (p["content_loss"], p[key]),
                    fontsize=7,
                    xytext=(3, 3),
                    textcoords="offset points",
                )
        axis.set_xlabel("content loss (lower keeps more of the photo)")
        axis.set_ylabel(f"{label} (lower is closer)")
        axis.grid(alpha=0.3)
    gatys_row = results["methods"].get("gatys")
    if gatys_row:
        # Gatys sits far below and left of both curves; drawn, it would squash them into a corner.
        axes[0].plot(
            [],
            [],
            " ",
            label=f"Gatys (off the axes): content {gatys_row['content_loss']:.3g}, Gram {gatys_row['style_loss']:.3g}",
        )
    axes[0].legend(fontsize=8)
    figure.suptitle("Content-style trade-off along alpha (labels)")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


METHOD_LABELS = {
    "ours": "ours (variation 0)",
    "ours_sampled": "ours (samples, variation 1)",
    "deterministic": "deterministic AdaIN-like baseline",
    "adain": "AdaIN (Huang & Belongie)",
    "linear": "Linear (Li et al.)",
    "gatys": "Gatys optimisation",
}


def markdown_table(results: dict[str, Any]) -> str:
    lines = [
        "| method | pairs | content loss (lower = more structure) | Gram style loss (lower = closer style) "
        "| edge correlation (higher) | tone correlation (higher; < 0 = a negative) "
        "| colour distance to style (lower) | s / image |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, row in results["methods"].items():
        lines.append(
            f"| {METHOD_LABELS.get(name, name)} | {row['pairs']} | {row['content_loss']:.4g} | {row['style_loss']:.4g} "
            f"| {row['edge_correlation']:.3f} | {row['tone_correlation']:.3f} | {row['color_distance']:.3f} "
            f"| {row['seconds_per_image']:.3f} |"
        )
    diversity = results["diversity"]
    sweep = results["sweep"]
    paired = results.get("paired_vs_deterministic")
    if paired:
        lines += [
            "",
            "Ours (variation 0) minus the deterministic baseline, paired over the same "
            f"{paired['content_loss']['pairs']} pairs, mean and 95% interval (negative = ours lower):",
            "",
            "| metric | ours - baseline | 95% interval | relative |",
            "|---|---|---|---|",
        ]
        for key, label in (
            ("content_loss", "content loss"),
            ("style_loss", "Gram style loss"),
            ("edge_correlation", "edge correlation"),
            ("tone_correlation", "tone correlation"),
            ("color_distance", "colour distance"),
        ):
            d = paired[key]
            lines.append(
                f"| {label} | {d['mean']:+.4g} | {d['low']:+.4g} .. {d['high']:+.4g} | {100 * d['relative']:+.1f}% |"
            )
    ratios = results.get("paired_ratios_vs_deterministic")
    if ratios:
        lines += [
            "",
            "Typical per-pair ratio ours / baseline (geometric mean of the ratios, 95% interval; Gram losses "
            "of different paintings differ a hundredfold, so the difference of means above follows the few "
            "paintings with the largest losses, while this weighs every pair alike):",
            "",
            "| metric | ours / baseline | 95% interval | pairs where ours is lower |",
            "|---|---|---|---|",
        ]
        for key, label in (("content_loss", "content loss"), ("style_loss", "Gram style loss")):
            r = ratios[key]
            lines.append(f"| {label} | {r['ratio']:.3f} | {r['low']:.3f} .. {r['high']:.3f} | {100 * r['wins']:.0f}% |")
    for key, aggregate in (("at_equal_content", "mean"), ("at_equal_content_geometric", "geometric mean")):
        matched = results["tradeoff"].get(key)
        if not matched:
            continue
        lines += [
            "",
            f"Along alpha, at equal content loss ({aggregate} of the Gram losses): each point of one method's "
            "alpha curve against the other method's curve read at the same content loss (negative = ours "
            "closer to the painting at the same structure):",
            "",
            "| point | content loss | ours' style loss | baseline's style loss | ours vs baseline |",
            "|---|---|---|---|---|",
        ]
        for p in matched:
            owner = "ours" if p["point_of"] == "ours" else "baseline"
            lines.append(
                f"| {owner}, alpha {p['alpha']:g} | {p['content_loss']:.4g} | {p['ours_style_loss']:.4g} "
                f"| {p['baseline_style_loss']:.4g} | {100 * p['relative']:+.1f}% |"
            )
    interval = results["tradeoff"].get("at_baseline_content_interval")
    if interval:
        lines += [
            "",
            "Ours' alpha curve read at the baseline's alpha-1 content loss, against the baseline's Gram loss "
            "(negative = ours closer to the painting at the same structure; 95% bootstrap interval over the "
            "pairs, both methods resampled alike):",
            "",
            "| aggregate of the Gram losses | ours vs baseline | 95% interval | resamples off ours' curve |",
            "|---|---|---|---|",
        ]
        for aggregate, label in (("mean", "mean"), ("geometric", "geometric mean")):
            d = interval[aggregate]
            if math.isnan(d["relative"]):
                # Every resample fell off ours' curve: its alpha range never reaches that content loss.
                lines.append(f"| {label} | n/a: ours' curve does not reach that content loss | n/a | {d['outside']} |")
                continue
            lines.append(
                f"| {label} | {100 * d['relative']:+.1f}% | {100 * d['low']:+.1f}% .. {100 * d['high']:+.1f}% "
                f"| {d['outside']} |"
            )
    paintings = results.get("per_painting")
    if paintings and results.get("baseline_checkpoint"):
        lines += [
            "",
            "Per painting, at alpha 1 (mean over the photos):",
            "",
            "| painting | ours content | baseline content | ours Gram | baseline Gram | Gram ratio |",
            "|---|---|---|---|---|---|",
        ]
        for row in paintings:
            lines.append(
                f"| {row['style']} | {row['ours_content_loss']:.3f} | {row['baseline_content_loss']:.3f} "
                f"| {row['ours_style_loss']:.3g} | {row['baseline_style_loss']:.3g} "
                f"| {row['ours_style_loss'] / row['baseline_style_loss']:.2f} |"
            )
    lines += [
        "",
        f"Diversity at variation {results['settings']['variation']}: "
        f"{diversity['mean_abs_pixel_difference']:.1f}/255 mean absolute pixel difference between samples, "
        f"{diversity['mean_relu3_1_distance']:.3f} mean relu3_1 feature distance.",
        f"2-style sweep: largest step {sweep['max_over_mean']:.2f}x the mean step "
        f"({sweep['max_over_path']:.3f} of the whole path).",
        f"Style encoding: {results['style_encoding_seconds']:.3f} s per style image.",
    ]
    settings = results["settings"]
    if "layer_scales" in settings:  # older eval.json files scored with the checkpoint's own
        scales = ", ".join(f"{v:.3f}" for v in settings["layer_scales"])
        lines.append(f"Loss-network layer scales ({scales}) from {settings['layer_scales_from']}.")
    return "\n".join([*lines, ""])
