"""Input-pipeline speed on this machine: memory-mode batches and stream-mode decoding.

    python bench/data_pipeline.py [--folder data/train/content] [--batches 200]

Prints milliseconds per batch of 8 crops (memory mode, no workers) next to the pre-DataLoader
``ImageBank.random_crops`` loop, and milliseconds per image to decode and resize (stream mode, one
process). One torch thread, as each torchrun process gets.
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import torch

from training.data import ImageBank, ImageFiles
from training.datasets import dataset_index
from training.pipeline import build_stream, random_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=Path("data/train/content"))
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--short-side", type=int, default=256)
    args = parser.parse_args()
    torch.set_num_threads(1)
    paths = dataset_index("folder", args.folder).paths
    bank = ImageBank.from_paths(paths, args.short_side)

    rng = random.Random(0)
    started = time.perf_counter()
    for _ in range(args.batches):
        bank.random_crops(8, random_size(rng, 128, 192), rng)
    direct = (time.perf_counter() - started) / args.batches

    stream = build_stream(
        bank, name="bench", batch_size=8, sizes=(128, 192), seed=0, rank=0, world_size=1, workers=0, pin_memory=False
    )
    next(stream)
    started = time.perf_counter()
    for _ in range(args.batches):
        next(stream).images.float().div_(255.0)
    streamed = (time.perf_counter() - started) / args.batches

    files = ImageFiles([str(p) for p in paths], args.short_side)
    started = time.perf_counter()
    for index in range(len(files)):
        files.load(index)
    decode = (time.perf_counter() - started) / len(files)

    print(f"memory mode, batch of 8 crops 128-192 px: {streamed * 1e3:.2f} ms", end=" ")
    print(f"(ImageBank.random_crops: {direct * 1e3:.2f} ms)")
    print(
        f"stream mode, decode + resize to {args.short_side} ({len(files)} files from {args.folder}): "
        f"{decode * 1e3:.1f} ms/image, {1 / decode:.0f} images/s per process"
    )


if __name__ == "__main__":
    main()
