"""The input pipeline: batches of random crops through a DataLoader, each rank on its own share of the data.

- A DistributedSampler gives every rank a disjoint, equal share of each epoch (``drop_last``: no
  padding with repeated images) and reshuffles on ``set_epoch``, which :class:`BatchStream` calls
  before every pass. Without torchrun it is the same sampler with one replica.
- All crops of a batch share one size. :class:`SizedBatchSampler` draws it from (seed, epoch, batch
  number) and not the rank, so every rank trains at the same size in the same step and none waits on a
  slower, larger one at the gradient all-reduce.
- Crop positions and flips come from a per-crop seed in the request, so the crops do not depend on the
  number of worker processes.
- An unreadable file is replaced by another image of the same set, chosen from the crop's seed. Every
  rank therefore yields exactly as many batches as the others: a rank that dropped a batch would leave
  the others waiting in the all-reduce (a deadlock until the timeout).
- Batches stay uint8 until they reach the device: a quarter of the bytes to pin and copy.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, NamedTuple, Protocol

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler

from training.data import MEMORY_BUDGET_BYTES, estimated_bytes, random_crop
from training.options import DATA_MODES

log = logging.getLogger(__name__)

# Replacement draws for one crop before giving up: only a set that is mostly unreadable gets there.
MAX_TRIES = 16


class ImageSource(Protocol):
    """What the pipeline crops from: :class:`training.data.ImageBank` or :class:`training.data.ImageFiles`."""

    paths: list[str]

    def __len__(self) -> int: ...

    def load(self, index: int) -> torch.Tensor | None: ...

    def summary(self) -> dict[str, object]: ...


class CropRequest(NamedTuple):
    image: int
    size: int
    seed: int


class CropBatch(NamedTuple):
    images: torch.Tensor  # (B, 3, S, S) uint8
    indices: torch.Tensor  # (B,) int64: the images actually cropped (after any replacement)
    replaced: int  # how many requested images were unreadable and replaced


def random_size(rng: random.Random, low: int, high: int) -> int:
    """A crop side in [low, high], a multiple of 8 so that pooling matches up to relu4_1."""
    return 8 * rng.randint(low // 8, high // 8)


def resolve_data_mode(mode: str, count: int, short_side: int) -> str:
    """``auto``: keep the images in memory when they fit the budget (the bundled data), else stream them."""
    if mode not in DATA_MODES:
        raise ValueError(f"unknown data mode {mode!r}; choose one of {', '.join(DATA_MODES)}")
    if mode != "auto":
        return mode
    return "memory" if estimated_bytes(count, short_side) <= MEMORY_BUDGET_BYTES else "stream"


def resolve_workers(requested: int | None, mode: str, local_world_size: int) -> int:
    """DataLoader worker processes per stream (there are two streams per rank: contents and styles).

    By default none in memory mode (a crop of an in-memory tensor takes microseconds, and workers would
    only take cores from the model); when streaming, this process's share of the cores, at most 8.
    """
    if requested is not None:
        return requested
    if mode == "memory":
        return 0
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(8, cpus // (2 * max(1, local_world_size))))


class CropDataset(Dataset[tuple[torch.Tensor, int, bool]]):
    """Random crops of a source's images, one per :class:`CropRequest`."""

    def __init__(self, source: ImageSource) -> None:
        self.source = source
        self._unreadable: set[int] = set()  # per worker process: do not decode a known-bad file again

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, request: CropRequest) -> tuple[torch.Tensor, int, bool]:
        rng = random.Random(request.seed)
        index = request.image
        for attempt in range(MAX_TRIES):
            if index not in self._unreadable:
                image = self.source.load(index)
                if image is not None:
                    return random_crop(image, request.size, rng), index, attempt > 0
                self._unreadable.add(index)
            index = rng.randrange(len(self.source))
        raise RuntimeError(
            f"{MAX_TRIES} unreadable images in a row (last: {self.source.paths[index]}); "
            "run `vst datasets scan` on this dataset"
        )


def collate_crops(items: Sequence[tuple[torch.Tensor, int, bool]]) -> CropBatch:
    return CropBatch(
        images=torch.stack([crop for crop, _, _ in items]),  # (B, 3, S, S) uint8
        indices=torch.tensor([index for _, index, _ in items], dtype=torch.int64),
        replaced=sum(1 for _, _, replaced in items if replaced),
    )


class SizedBatchSampler(Sampler[list[CropRequest]]):
    """Groups the sampler's indices into batches of crop requests that share one crop size.

    Incomplete batches are dropped, so every rank yields len(sampler) // batch_size batches per epoch.
    """

    def __init__(
        self,
        sampler: DistributedSampler[int],
        batch_size: int,
        sizes: tuple[int, int],
        seed: int,
        rank: int,
    ) -> None:
        self.sampler = sampler
        self.batch_size = batch_size
        self.sizes = sizes
        self.seed = seed
        self.rank = rank
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        self.sampler.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.sampler) // self.batch_size

    def __iter__(self) -> Iterator[list[CropRequest]]:
        size_rng = random.Random(f"sizes/{self.seed}/{self.epoch}")  # the same on every rank
        crop_rng = random.Random(f"crops/{self.seed}/{self.epoch}/{self.rank}")
        batch: list[int] = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                size = random_size(size_rng, *self.sizes)
                yield [CropRequest(i, size, crop_rng.getrandbits(63)) for i in batch]
                batch = []


class BatchStream:
    """Endless batches from a DataLoader, epoch after epoch, reshuffling (``set_epoch``) before each pass."""

    def __init__(self, loader: DataLoader[tuple[torch.Tensor, int, bool]], start_epoch: int = 0) -> None:
        if not isinstance(loader.batch_sampler, SizedBatchSampler):
            raise TypeError("BatchStream needs a DataLoader built on a SizedBatchSampler")
        self.loader = loader
        self.batch_sampler: SizedBatchSampler = loader.batch_sampler
        self.epoch = start_epoch
        self._batches: Iterator[CropBatch] | None = None

    def __iter__(self) -> BatchStream:
        return self

    def __next__(self) -> CropBatch:
        while True:
            if self._batches is None:
                self.batch_sampler.set_epoch(self.epoch)
                self._batches = iter(self.loader)
            try:
                return next(self._batches)
            except StopIteration:
                self._batches = None
                self.epoch += 1


def build_stream(
    source: ImageSource,
    *,
    name: str,
    batch_size: int,
    sizes: tuple[int, int],
    seed: int,
    rank: int,
    world_size: int,
    workers: int,
    pin_memory: bool,
    start_epoch: int = 0,
) -> BatchStream:
    """Batches of ``batch_size`` crops for this rank, forever."""
    per_rank = len(source) // world_size
    if per_rank < batch_size:
        raise ValueError(
            f"the {name} set has {len(source)} images, {per_rank} per process on {world_size} processes: "
            f"fewer than one batch of {batch_size}. Use a smaller --batch, fewer processes or more images."
        )
    dataset = CropDataset(source)
    sampler: DistributedSampler[int] = DistributedSampler(
        dataset, num_replicas=world_size, rank=rank, shuffle=True, seed=seed, drop_last=True
    )
    loader = DataLoader(
        dataset,
        batch_sampler=SizedBatchSampler(sampler, batch_size, sizes, seed, rank),
        num_workers=workers,
        collate_fn=collate_crops,
        pin_memory=pin_memory,
        persistent_workers=workers > 0,
    )
    return BatchStream(loader, start_epoch)


def sample_crops(source: ImageSource, count: int, size: int, rng: random.Random) -> torch.Tensor:
    """``count`` crops of random images, skipping unreadable ones: (count, 3, size, size) float in [0, 1].

    The same ``rng`` state gives the same crops on every rank (used for calibration and sample grids).
    """
    crops: list[torch.Tensor] = []
    for _ in range(count * MAX_TRIES):
        image = source.load(rng.randrange(len(source)))
        if image is not None:
            crops.append(random_crop(image, size, rng).float() / 255.0)
            if len(crops) == count:
                return torch.stack(crops)  # (count, 3, size, size)
    raise RuntimeError(f"could not read {count} images; run `vst datasets scan` on this dataset")


class SampleLog:
    """Which images each rank trained on, one TSV line per crop (``--record-samples``, for tests and audits)."""

    def __init__(self, folder: Path, rank: int) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.handle: IO[str] = open(folder / f"rank{rank}.tsv", "a")  # noqa: SIM115 (closed in close())

    def record(self, step: int, stream: str, epoch: int, batch: CropBatch, source: ImageSource) -> None:
        size = batch.images.shape[-1]
        for index in batch.indices.tolist():
            self.handle.write(f"{step}\t{stream}\t{epoch}\t{index}\t{size}\t{source.paths[index]}\n")

    def close(self) -> None:
        self.handle.close()
