"""Where the training images are: plain folders, Places365 and WikiArt, listed from a local root.

Listing only: nothing here opens an image or imports torch, so that the dataset scan's worker
processes start fast. Data are never downloaded.

- ``folder``: every image file under the root, recursively.
- ``places365``: the official Places365 layout. The devkit's file list (``places365_train_standard.txt``
  or ``places365_val.txt``, lines such as ``/a/airfield/00000001.jpg 0``) names the images under
  ``data_large/`` or ``data_256/`` (the folder names inside MIT's archives; torchvision's downloader
  renames them ``data_large_standard`` / ``data_256_standard``, which are accepted too). Without the
  file list, the image folder is listed recursively.
- ``wikiart``: the ArtGAN layout, one folder per style (``Impressionism/claude-monet_....jpg``), with the
  same semantics as ``torchvision.datasets.ImageFolder``: the class is the top-level folder and files
  are found recursively below it. A root holding a single ``wikiart/`` folder (as the archive
  extracts) is accepted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif"}
DATASET_KINDS = ("folder", "places365", "wikiart")
PLACES365_SPLITS = {
    "train-standard": "places365_train_standard.txt",
    "train-challenge": "places365_train_challenge.txt",
    "val": "places365_val.txt",
}


@dataclass
class DatasetIndex:
    """The image files of one dataset, each with a label (its class folder or scene category)."""

    kind: str
    root: Path
    paths: list[Path]
    labels: list[str]

    def __len__(self) -> int:
        return len(self.paths)

    def subset(self, limit: int | None) -> DatasetIndex:
        """At most ``limit`` files, evenly spaced over the list.

        Official lists are sorted by category, so the first N files would all be one category.
        """
        if not limit or limit >= len(self.paths):
            return self
        picks = [i * len(self.paths) // limit for i in range(limit)]
        return DatasetIndex(self.kind, self.root, [self.paths[i] for i in picks], [self.labels[i] for i in picks])


def is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def list_images(root: Path) -> list[Path]:
    """Every image file under ``root``, recursively, in ImageFolder's order (folders sorted, then files).

    Symlinked folders are followed, as ImageFolder does: big datasets are often linked in from elsewhere.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder not found: {root}")
    found = []
    for folder, _, files in sorted(os.walk(root, followlinks=True)):
        found += [Path(folder) / name for name in sorted(files) if is_image(Path(name))]
    return found


def folder_index(root: Path) -> DatasetIndex:
    """Any image files under ``root``; the label is the first folder below the root ("." for top-level files)."""
    root = Path(root)
    paths = list_images(root)
    labels = [p.relative_to(root).parts[0] if len(p.relative_to(root).parts) > 1 else "." for p in paths]
    return DatasetIndex("folder", root, paths, labels)


def places365_images_dir(root: Path, split: str, small: bool | None) -> Path:
    """The image folder of a split: high-resolution (``large``) first unless ``small`` is True."""
    sizes = ["256"] if small else ["large"] if small is False else ["large", "256"]
    variant = "challenge" if "challenge" in split else "standard"
    for size in sizes:
        names = [f"data_{size}", f"data_{size}_{variant}"] if split.startswith("train") else [f"val_{size}"]
        for name in names:
            if (Path(root) / name).is_dir():
                return Path(root) / name
    raise FileNotFoundError(
        f"no Places365 image folder for split {split!r} under {root} "
        "(expected data_large/, data_256/ or val_large/, val_256/ as extracted from the official archives)"
    )


def places365_index(root: Path, split: str = "train-standard", small: bool | None = None) -> DatasetIndex:
    """Places365 from its official devkit file list and image folder; the label is the scene category."""
    root = Path(root)
    if split not in PLACES365_SPLITS:
        raise ValueError(f"unknown Places365 split {split!r}; choose one of {', '.join(PLACES365_SPLITS)}")
    images_dir = places365_images_dir(root, split, small)
    file_list = root / PLACES365_SPLITS[split]
    if not file_list.is_file():
        paths = list_images(images_dir)
        labels = [str(p.relative_to(images_dir).parent) for p in paths]
        return DatasetIndex("places365", root, paths, labels)
    paths, labels = [], []
    with open(file_list) as handle:
        for line in handle:
            parts = line.split()
            if not parts:
                continue
            relative = parts[0].lstrip("/")
            paths.append(images_dir / relative)
            # "/a/airfield/00000001.jpg" -> "/a/airfield"; the val list names files only, with a class index.
            parent = str(Path(relative).parent)
            labels.append("/" + parent if parent != "." else (parts[1] if len(parts) > 1 else "."))
    return DatasetIndex("places365", root, paths, labels)


def wikiart_index(root: Path) -> DatasetIndex:
    """WikiArt in the ArtGAN layout: one folder per style, images anywhere below it."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"WikiArt folder not found: {root}")
    subfolders = sorted(p for p in root.iterdir() if p.is_dir())
    if len(subfolders) == 1 and subfolders[0].name == "wikiart":
        root = subfolders[0]
        subfolders = sorted(p for p in root.iterdir() if p.is_dir())
    paths: list[Path] = []
    labels: list[str] = []
    for folder in subfolders:
        for path in list_images(folder):
            paths.append(path)
            labels.append(folder.name)
    return DatasetIndex("wikiart", root, paths, labels)


def dataset_index(kind: str, root: Path, limit: int | None = None) -> DatasetIndex:
    """Resolve a dataset kind (folder | places365 | wikiart) and a local root to its image files."""
    if kind == "folder":
        index = folder_index(root)
    elif kind == "places365":
        index = places365_index(root)
    elif kind == "wikiart":
        index = wikiart_index(root)
    else:
        raise ValueError(f"unknown dataset kind {kind!r}; choose one of {', '.join(DATASET_KINDS)}")
    return index.subset(limit)
