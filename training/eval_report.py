"""The report of ``vst evaluate``: ``eval.json``, ``eval.md`` (the tables) and the figures, from its results.

The tables' prose lives in ``eval_report.txt`` beside this file, one block per paragraph.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import torch

from training.eval_figures import METHOD_LABELS, plot_tradeoff, save_grid


def read_notes(path: Path) -> dict[str, str]:
    """The ``[name]`` blocks of a notes file, each joined into one line (``#`` lines are comments)."""
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            continue
        if line.startswith("[") and line.rstrip().endswith("]"):
            current = blocks.setdefault(line.strip()[1:-1], [])
        elif current is not None and line.strip():
            current.append(line.strip())
    return {name: " ".join(words) for name, words in blocks.items()}


NOTES = read_notes(Path(__file__).with_name("eval_report.txt"))


def write_report(out: Path, results: dict[str, Any], rows: list[list[torch.Tensor]], sweep: list[torch.Tensor]) -> None:
    """``eval.json``, ``eval.md``, the contact sheet of ``rows``, the ``sweep`` strip and, with more than one
    alpha, the trade-off plot, into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "eval.json").write_text(json.dumps(results, indent=2))
    (out / "eval.md").write_text(markdown_table(results))
    save_grid(rows, out / "contact_sheet.png")
    save_grid([[frame[0] for frame in sweep]], out / "sweep.png")
    if len(results["tradeoff"]["curves"]["ours"]) > 1:
        plot_tradeoff(results, out / "tradeoff.png")


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
            NOTES["paired"].format(pairs=paired["content_loss"]["pairs"]),
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
            NOTES["ratios"],
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
            NOTES["at_equal_content"].format(aggregate=aggregate),
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
            NOTES["interval"],
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
            NOTES["per_painting"],
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
        NOTES["diversity"].format(
            variation=results["settings"]["variation"],
            pixels=diversity["mean_abs_pixel_difference"],
            features=diversity["mean_relu3_1_distance"],
        ),
        NOTES["sweep"].format(**sweep),
        NOTES["style_encoding"].format(seconds=results["style_encoding_seconds"]),
    ]
    settings = results["settings"]
    if "layer_scales" in settings:  # older eval.json files scored with the checkpoint's own
        scales = ", ".join(f"{v:.3f}" for v in settings["layer_scales"])
        lines.append(NOTES["layer_scales"].format(scales=scales, source=settings["layer_scales_from"]))
    return "\n".join([*lines, ""])
