"""How much the content loss sees of a photo's light and dark: its value for edited copies of each held-out photo.

``python training/recipes/polarity_probe.py [CHECKPOINT]`` (default: the shipped one) scores, with the
checkpoint's own loss network on the pinned scoring scales as `vst evaluate` does (relu4_1, 12
held-out photos at 256 px), the photo's negative, its luma alone inverted, a blur and a grey copy, next to the
network's own outputs for every third held-out painting. A negative that scores below the stylized outputs is
a loss that cannot tell light from dark (docs/training.md, sitting 10).
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable
from pathlib import Path

import torch
from PIL import ImageFilter

from model.checkpoint import load_checkpoint
from model.inference import Stylizer, image_to_tensor
from training import metrics
from training.data import list_images
from training.evaluate import Reference, load_image, scoring_trunk

EVAL = Path(__file__).resolve().parents[2] / "data" / "eval"
# ITU-R BT.601 luma; the chroma is what is left of RGB once the luma is taken out.
LUMA = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)


def luma_inverted(image: torch.Tensor) -> torch.Tensor:
    """(1, 3, H, W) -> the same chroma with the luma Y replaced by 1 - Y."""
    luma = (image * LUMA).sum(dim=1, keepdim=True)  # (1, 1, H, W)
    return (image + (1 - 2 * luma)).clamp(0, 1)  # (1, 3, H, W)


EDITS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "negative (1 - RGB)": lambda image: 1 - image,
    "luma inverted, chroma kept": luma_inverted,
    "grey (luma only)": lambda image: (image * LUMA).sum(dim=1, keepdim=True).expand_as(image),
}


def probe(checkpoint: Path | None, side: int = 256) -> list[str]:
    cpu = torch.device("cpu")
    model = load_checkpoint(checkpoint, cpu)[0]
    stylizer = Stylizer(model, device=cpu)
    trunk = scoring_trunk(model, None)[0]  # the pinned scoring scales, as `vst evaluate` scores
    photos = [load_image(p, side) for p in list_images(EVAL / "content")]
    references = [Reference.of(trunk, photo) for photo in photos]
    losses: dict[str, list[float]] = {}
    tones: dict[str, list[float]] = {}

    def add(name: str, output: torch.Tensor, reference: Reference) -> None:
        with torch.no_grad():
            features = trunk(output)
        losses.setdefault(name, []).append(metrics.content_distance(features, reference.features))
        tones.setdefault(name, []).append(metrics.tone_correlation(output, reference.image))

    for photo, reference in zip(photos, references, strict=True):
        for name, edit in EDITS.items():
            add(name, edit(reference.image), reference)
        add("blur (Gaussian, radius 2 px)", image_to_tensor(photo.filter(ImageFilter.GaussianBlur(2))), reference)
    for painting in list_images(EVAL / "style")[::3]:
        code = stylizer.encode_style(load_image(painting, side))
        for photo, reference in zip(photos, references, strict=True):
            add(
                "the network's outputs (every third painting)",
                image_to_tensor(stylizer.stylize(photo, [code])[0]),
                reference,
            )
    rows = ["| image | content loss, mean (min … max) | tone correlation |", "|---|---|---|"]
    for name, values in losses.items():
        rows.append(
            f"| {name} | {statistics.fmean(values):.3f} ({min(values):.2f} … {max(values):.2f}) "
            f"| {statistics.fmean(tones[name]):+.2f} |"
        )
    return rows


if __name__ == "__main__":
    print("\n".join(probe(Path(sys.argv[1]) if len(sys.argv) > 1 else None)))
