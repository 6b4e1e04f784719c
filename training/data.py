"""Training data: image folders, Places365 and WikiArt, pre-resized and held in memory as uint8.

Decoding JPEGs every step would steal the CPU from the model, so each image is decoded once, resized
so that its shorter side is ``short_side``, and kept as a (3, H, W) uint8 tensor. Random crops and
flips are then cheap tensor slicing.
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

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif"}


def list_images(root: Path) -> list[Path]:
    """Every image file under ``root``, recursively, in a stable order."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder not found: {root}")
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def load_resized(path: Path, short_side: int) -> torch.Tensor | None:
    """Decode and resize one image to (3, H, W) uint8 with min(H, W) == short_side; None if unreadable."""
    try:
        with Image.open(path) as image:
            image = image.convert("RGB")
            width, height = image.size
            scale = short_side / min(width, height)
            size = (max(short_side, round(width * scale)), max(short_side, round(height * scale)))
            image = image.resize(size, Image.Resampling.BICUBIC)
            array = np.asarray(image, dtype=np.uint8)
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as exc:
        log.warning("skipping unreadable image %s: %s", path, exc)
        return None
    return torch.from_numpy(array.copy()).permute(2, 0, 1).contiguous()  # (3, H, W)


@dataclass
class ImageBank:
    """Pre-resized images in memory, with random crops."""

    images: list[torch.Tensor]
    paths: list[str]
    skipped: list[str] = field(default_factory=list)

    @classmethod
    def from_paths(cls, paths: Iterable[Path], short_side: int) -> ImageBank:
        images, kept, skipped = [], [], []
        for path in paths:
            tensor = load_resized(path, short_side)
            if tensor is None:
                skipped.append(str(path))
            else:
                images.append(tensor)
                kept.append(str(path))
        if not images:
            raise ValueError("no readable images found")
        return cls(images, kept, skipped)

    @classmethod
    def from_folder(cls, root: Path, short_side: int) -> ImageBank:
        return cls.from_paths(list_images(root), short_side)

    def __len__(self) -> int:
        return len(self.images)

    def random_crops(
        self, count: int, size: int, rng: random.Random, indices: Sequence[int] | None = None
    ) -> torch.Tensor:
        """``count`` random crops of size x size with random horizontal flips: (count, 3, size, size) in [0, 1]."""
        crops = []
        for k in range(count):
            index = indices[k] if indices is not None else rng.randrange(len(self.images))
            image = self.images[index]
            _, height, width = image.shape
            side = min(size, height, width)
            top = rng.randint(0, height - side)
            left = rng.randint(0, width - side)
            crop = image[:, top : top + side, left : left + side]
            if side != size:
                crop = torch.nn.functional.interpolate(
                    crop[None].float(), size=(size, size), mode="bilinear"
                )[0]
            if rng.random() < 0.5:
                crop = crop.flip(-1)
            crops.append(crop.float() / 255.0)
        return torch.stack(crops)  # (count, 3, size, size)

    def summary(self) -> dict[str, object]:
        return {"images": len(self.images), "skipped": len(self.skipped)}


def places365_paths(root: Path, split: str = "train-standard", limit: int | None = None) -> list[Path]:
    """Image paths of a local Places365 copy via torchvision's own index (never downloads)."""
    from torchvision.datasets import Places365

    dataset = Places365(str(root), split=split, small=True, download=False)
    paths = [Path(p) for p, _ in dataset.imgs]
    return paths[:limit] if limit else paths


def wikiart_paths(root: Path, limit: int | None = None) -> list[Path]:
    """Image paths of WikiArt in the ArtGAN layout (one folder per style) via torchvision's ImageFolder."""
    from torchvision.datasets import ImageFolder

    dataset = ImageFolder(str(root), allow_empty=True)
    paths = [Path(p) for p, _ in dataset.samples]
    return paths[:limit] if limit else paths


def dataset_paths(kind: str, root: Path, limit: int | None = None) -> list[Path]:
    """Resolve a dataset kind (folder | places365 | wikiart) and root to image paths."""
    if kind == "folder":
        paths = list_images(root)
        return paths[:limit] if limit else paths
    if kind == "places365":
        return places365_paths(root, limit=limit)
    if kind == "wikiart":
        return wikiart_paths(root, limit=limit)
    raise ValueError(f"unknown dataset kind {kind!r}")
