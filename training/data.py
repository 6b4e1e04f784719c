"""Training images, decoded and resized so that their shorter side is ``short_side``, as uint8 tensors.

Two sources behind one interface (``len``, ``paths``, ``load(index)``):

- :class:`ImageBank` (memory): every image decoded once and kept as a (3, H, W) uint8 tensor. Decoding
  JPEGs every step would steal the CPU from the model, so small sets (the bundled data) live here and
  random crops are cheap tensor slicing.
- :class:`ImageFiles` (stream): decodes from disk on each request, in DataLoader worker processes.
  Places365 (1.8M photos) does not fit in memory.

Unreadable files are never a crash: :func:`load_resized` returns None and the caller skips the file.
Listing the datasets (folders, Places365, WikiArt) lives in :mod:`training.datasets`.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import DataLoader, Dataset

__all__ = ["ImageBank", "ImageFiles", "load_resized"]

log = logging.getLogger(__name__)

# Memory mode keeps about short_side^2 * 4/3 * 3 bytes per image (4:3 photos); above this, stream instead.
MEMORY_BUDGET_BYTES = 2 << 30


def load_resized(path: Path, short_side: int) -> torch.Tensor | None:
    """Decode and resize one image to (3, H, W) uint8 with min(H, W) == short_side; None if unreadable."""
    try:
        with Image.open(path) as opened:
            rgb = opened.convert("RGB")
        width, height = rgb.size
        scale = short_side / min(width, height)
        size = (max(short_side, round(width * scale)), max(short_side, round(height * scale)))
        array = np.asarray(rgb.resize(size, Image.Resampling.BICUBIC), dtype=np.uint8)
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as exc:
        log.warning("skipping unreadable image %s: %s", path, exc)
        return None
    return torch.from_numpy(array.copy()).permute(2, 0, 1).contiguous()  # (3, H, W)


def estimated_bytes(count: int, short_side: int) -> int:
    """Memory that ``count`` pre-resized images take in an :class:`ImageBank` (4:3 aspect assumed)."""
    return count * short_side * (short_side * 4 // 3) * 3


def random_crop(image: torch.Tensor, size: int, rng: random.Random) -> torch.Tensor:
    """A random size x size crop with a random horizontal flip: (3, H, W) uint8 -> (3, size, size) uint8.

    An image smaller than ``size`` is cropped to its shorter side and scaled up.
    """
    _, height, width = image.shape
    side = min(size, height, width)
    top = rng.randint(0, height - side)
    left = rng.randint(0, width - side)
    crop = image[:, top : top + side, left : left + side]
    if side != size:
        scaled = torch.nn.functional.interpolate(crop[None].float(), size=(size, size), mode="bilinear")[0]
        crop = scaled.round().clamp(0, 255).to(torch.uint8)
    if rng.random() < 0.5:
        crop = crop.flip(-1)
    return crop


@dataclass
class ImageBank:
    """Pre-resized images in memory, with random crops."""

    images: list[torch.Tensor]
    paths: list[str]
    skipped: list[str] = field(default_factory=list)

    @classmethod
    def from_paths(cls, paths: Iterable[Path], short_side: int, workers: int = 0) -> ImageBank:
        """Decode every file (in ``workers`` processes when > 0), skipping unreadable ones."""
        paths = list(paths)
        images, kept, skipped = [], [], []
        for path, tensor in zip(paths, _decode_all(paths, short_side, workers), strict=True):
            if tensor is None:
                skipped.append(str(path))
            else:
                images.append(tensor)
                kept.append(str(path))
        if not images:
            raise ValueError("no readable images found")
        return cls(images, kept, skipped)

    def __len__(self) -> int:
        return len(self.images)

    def load(self, index: int) -> torch.Tensor | None:
        return self.images[index]

    def keep(self, mask: Sequence[bool]) -> ImageBank:
        """Only the images whose flag is True; the others are counted as skipped."""
        kept = [i for i, flag in enumerate(mask) if flag]
        dropped = [self.paths[i] for i, flag in enumerate(mask) if not flag]
        if not kept:
            raise ValueError("no readable images found")
        return ImageBank([self.images[i] for i in kept], [self.paths[i] for i in kept], self.skipped + dropped)

    def random_crops(
        self, count: int, size: int, rng: random.Random, indices: Sequence[int] | None = None
    ) -> torch.Tensor:
        """``count`` random crops of size x size with random horizontal flips: (count, 3, size, size) in [0, 1]."""
        crops = []
        for k in range(count):
            index = indices[k] if indices is not None else rng.randrange(len(self.images))
            crops.append(random_crop(self.images[index], size, rng).float() / 255.0)
        return torch.stack(crops)  # (count, 3, size, size)

    def summary(self) -> dict[str, object]:
        return {"images": len(self.images), "skipped": len(self.skipped), "mode": "memory"}


@dataclass
class ImageFiles:
    """Images decoded from disk on every request (in DataLoader workers): for sets too big for memory."""

    paths: list[str]
    short_side: int

    def __len__(self) -> int:
        return len(self.paths)

    def load(self, index: int) -> torch.Tensor | None:
        return load_resized(Path(self.paths[index]), self.short_side)

    def summary(self) -> dict[str, object]:
        return {"images": len(self.paths), "mode": "stream"}


class _DecodeDataset(Dataset[torch.Tensor | None]):
    def __init__(self, paths: list[Path], short_side: int) -> None:
        self.paths = paths
        self.short_side = short_side

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> torch.Tensor | None:
        return load_resized(self.paths[index], self.short_side)


def _decode_all(paths: list[Path], short_side: int, workers: int) -> list[torch.Tensor | None]:
    if workers <= 0:
        return [load_resized(path, short_side) for path in paths]
    loader = DataLoader(_DecodeDataset(paths, short_side), batch_size=None, num_workers=workers)
    # Clone out of the workers' shared memory: thousands of shared tensors would each hold a file handle.
    return [None if tensor is None else tensor.clone() for tensor in loader]
