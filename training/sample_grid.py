"""Sample grids: what a run's outputs look like, written as PNG while training."""

from __future__ import annotations

import statistics
from pathlib import Path

import torch
from PIL import Image

from model import functional as VF
from model.inference import tensor_to_image
from model.networks import VariationalStyleTransfer


def make_grid(rows: list[list[torch.Tensor]], pad: int = 2) -> Image.Image:
    """Tile rows of (3, H, W) tensors in [0, 1] (all the same size) into one white-padded image."""
    height, width = rows[0][0].shape[-2:]
    columns = max(len(r) for r in rows)
    canvas = Image.new("RGB", (columns * (width + pad) + pad, len(rows) * (height + pad) + pad), "white")
    for r, row in enumerate(rows):
        for c, tile in enumerate(row):
            canvas.paste(tensor_to_image(tile), (pad + c * (width + pad), pad + r * (height + pad)))
    return canvas


@torch.no_grad()
def save_sample_grid(
    model: VariationalStyleTransfer, contents: torch.Tensor, styles: torch.Tensor, path: Path
) -> float:
    """Row 0: blank + styles; row i: content i, then its stylization with each style (codes at mu).

    contents: (N, 3, H, W); styles: (M, 3, Hs, Ws) resized to H x W for display. Returns the outputs' mean
    :func:`model.functional.tone_correlation` with their photos: below zero the network paints negatives,
    which the content and style losses do not show.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    mu, _ = model.style_encoder(styles.to(device))  # (M, D)
    size = contents.shape[-2:]
    shown_styles = torch.nn.functional.interpolate(styles, size=size, mode="bilinear", antialias=True)
    rows = [[torch.ones_like(contents[0]), *shown_styles]]
    tones: list[float] = []
    for content in contents:
        repeated = content[None].expand(len(styles), -1, -1, -1).to(device)  # (M, 3, H, W)
        outputs = model(repeated, mu).float().cpu()  # (M, 3, H, W)
        rows.append([content, *outputs])
        tones += VF.tone_correlation(outputs, content[None].expand_as(outputs)).tolist()  # (M,): one pass a row
    path.parent.mkdir(parents=True, exist_ok=True)
    make_grid(rows).save(path)
    model.train(was_training)
    return statistics.fmean(tones)
