"""Tone and edge correlation of checkpoints on 12 held-out photos x every third held-out painting, 256 px.

A quick check that a network keeps its photos' light and dark (docs/training.md, sitting 9), far cheaper than
`vst evaluate`: ``python training/recipes/tone_probe.py CHECKPOINT [CHECKPOINT ...]``.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

import torch

from model.checkpoint import load_checkpoint
from model.inference import Stylizer, image_to_tensor
from training import metrics
from training.data import list_images
from training.evaluate import load_image

EVAL = Path(__file__).resolve().parents[2] / "data" / "eval"


def probe(checkpoint: str, side: int = 256) -> str:
    cpu = torch.device("cpu")
    stylizer = Stylizer(load_checkpoint(Path(checkpoint), cpu)[0], device=cpu)
    photos = [load_image(p, side) for p in list_images(EVAL / "content")]
    references = [image_to_tensor(photo) for photo in photos]  # (1, 3, H, W) each
    tones, edges = [], []
    for painting in list_images(EVAL / "style")[::3]:
        code = stylizer.encode_style(load_image(painting, side))
        for photo, reference in zip(photos, references, strict=True):
            output = image_to_tensor(stylizer.stylize(photo, [code])[0])
            tones.append(metrics.tone_correlation(output, reference))
            edges.append(metrics.edge_correlation(output, reference))
    return (
        f"{checkpoint}: tone {statistics.fmean(tones):+.3f} (min {min(tones):+.2f}, max {max(tones):+.2f}) "
        f"edge {statistics.fmean(edges):.3f} over {len(tones)} pairs"
    )


if __name__ == "__main__":
    for path in sys.argv[1:]:
        print(probe(path), flush=True)
