"""Pack a random subset of a training corpus small enough to travel with the code (e.g. to a lent GPU machine).

A corpus laid out as ``ROOT/paintings/...`` and ``ROOT/photos/...`` (recursive folders of images) is sampled
reproducibly, each image resized so that its shorter side is ``short_side``, its longer side centre-cropped to
at most 4:3 (training crops are square, so the cut-off edges would rarely be seen), and written as JPEG under
``OUT/paintings`` and ``OUT/photos`` with the corpus's sub-folders kept. ``OUT/MANIFEST.tsv`` names each file's
source inside the corpus, so its licence can be looked up in the corpus's own manifest.
"""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from tqdm import tqdm

from training.data import load_resized
from training.datasets import list_images

MAX_ASPECT = 4 / 3
SIDES = ("paintings", "photos")


@dataclass
class PackResult:
    written: dict[str, int]
    skipped: list[str]
    total_bytes: int


def _fit(image: Image.Image, short_side: int) -> Image.Image:
    """Centre-crop the longer side to at most MAX_ASPECT times the shorter (already ``short_side``)."""
    width, height = image.size
    longest = int(short_side * MAX_ASPECT)
    if width > longest:
        left = (width - longest) // 2
        image = image.crop((left, 0, left + longest, height))
    if height > longest:
        top = (height - longest) // 2
        image = image.crop((0, top, width, top + longest))
    return image


def pack_corpus(
    root: Path,
    out: Path,
    counts: dict[str, int],
    short_side: int = 192,
    quality: int = 70,
    seed: int = 0,
    max_bytes: int | None = None,
) -> PackResult:
    """Write ``counts[side]`` images of each side (``paintings``, ``photos``) of ``root`` into ``out``.

    Unreadable files are skipped and counted; the sample is then topped up from the rest of the side.
    Raises ValueError when a side has too few readable images or when the pack outgrows ``max_bytes``;
    ``out`` then does not exist (the pack is written beside it and moved into place only when complete).
    """
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        result = _pack(root, partial, counts, short_side, quality, seed, max_bytes)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    partial.rename(out)
    return result


def _pack(
    root: Path,
    out: Path,
    counts: dict[str, int],
    short_side: int,
    quality: int,
    seed: int,
    max_bytes: int | None,
) -> PackResult:
    rng = random.Random(seed)
    written: dict[str, int] = {}
    skipped: list[str] = []
    total = 0
    manifest = ["file\tsource"]
    for side in SIDES:
        folder = root / side
        paths = list_images(folder)
        rng.shuffle(paths)
        wanted = counts.get(side, 0)
        done = 0
        progress = tqdm(total=wanted, desc=f"pack {side}", unit="img", mininterval=2.0)
        for path in paths:
            if done == wanted:
                break
            tensor = load_resized(path, short_side)
            if tensor is None:
                skipped.append(str(path))
                continue
            image = _fit(Image.fromarray(tensor.permute(1, 2, 0).numpy()), short_side)
            relative = path.relative_to(folder)
            target = (out / side / relative).with_suffix(".jpg")
            target.parent.mkdir(parents=True, exist_ok=True)
            image.save(target, "JPEG", quality=quality)
            total += target.stat().st_size
            if max_bytes is not None and total > max_bytes:
                progress.close()
                raise ValueError(
                    f"the pack passed {max_bytes / 1e6:.0f} MB after {done + 1} {side}; "
                    "pack fewer images, a shorter side or a lower quality"
                )
            manifest.append(f"{side}/{relative.with_suffix('.jpg')}\t{side}/{relative}")
            done += 1
            progress.update(1)
        progress.close()
        if done < wanted:
            raise ValueError(f"{folder} has {done} readable images, fewer than the {wanted} asked for")
        written[side] = done
    (out / "MANIFEST.tsv").write_text("\n".join(manifest) + "\n")
    return PackResult(written, skipped, total)
