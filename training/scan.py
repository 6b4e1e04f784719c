"""``vst datasets scan``: what a local dataset holds, before hours of training are spent on it.

Lists the dataset as training would (:mod:`training.datasets`), opens every file in worker processes,
and reports:
- counts: files listed, readable, unreadable, missing (named by an index file but absent), per label;
- every unreadable file with the reason (truncated, not an image, ...);
- the size distribution: short side, long side and aspect-ratio percentiles, a short-side histogram,
  how many would be scaled up to the training ``--short-side``, formats, colour modes, bytes on disk.

By default every image is fully decoded, which finds truncated JPEGs; ``--quick`` reads headers only.
Imports no torch, so that the worker processes start fast.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError
from tqdm import tqdm

from training.datasets import DATASET_KINDS, PLACES365_SPLITS, dataset_index, places365_index

MISSING = "missing"
SHORT_SIDE_BUCKETS = (0, 128, 256, 512, 1024)


@dataclass
class FileReport:
    """One file: its size and format, or why it could not be read (``error``)."""

    path: str
    label: str
    width: int = 0
    height: int = 0
    bytes: int = 0
    format: str = ""
    mode: str = ""
    error: str = ""


def inspect_file(item: tuple[str, str], decode: bool = True) -> FileReport:
    """Open one image (``(path, label)``); with ``decode``, decode every pixel to catch truncated files."""
    path, label = item
    report = FileReport(path, label)
    try:
        report.bytes = os.path.getsize(path)
        with Image.open(path) as image:
            report.width, report.height = image.size
            report.format = image.format or ""
            report.mode = image.mode
            if decode:
                image.load()
    except FileNotFoundError:
        report.error = MISSING
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        # PIL raises SyntaxError for some malformed headers (e.g. PNG chunks).
        report.error = f"{type(exc).__name__}: {exc}"
    return report


def percentiles(values: Sequence[float], points: Iterable[int] = (0, 5, 25, 50, 75, 95, 100)) -> dict[str, float]:
    """Nearest-rank percentiles, e.g. {"p0": min, "p50": median, "p100": max}; empty for no values."""
    ordered = sorted(values)
    if not ordered:
        return {}
    return {f"p{p}": ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] for p in points}


@dataclass
class ScanReport:
    kind: str
    root: str
    listed: int
    readable: int
    missing: int
    unreadable: list[tuple[str, str]]  # (path, reason), missing files included
    per_label: dict[str, int]  # readable images per class folder / scene category
    short_side: dict[str, float]
    long_side: dict[str, float]
    aspect_ratio: dict[str, float]  # long side / short side
    short_side_histogram: dict[str, int]
    training_short_side: int
    below_training_short_side: int  # readable images that training would scale up
    formats: dict[str, int]
    modes: dict[str, int]
    total_bytes: int
    decoded: bool
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def format_text(self, max_listed: int = 20) -> str:
        unreadable = len(self.unreadable) - self.missing
        lines = [
            f"{self.kind} dataset at {self.root}",
            f"  files listed:   {self.listed}",
            f"  readable:       {self.readable}" + ("" if self.decoded else " (headers only: --quick)"),
            f"  unreadable:     {unreadable}",
            f"  missing:        {self.missing}",
            f"  labels:         {len(self.per_label)}"
            + (
                f" (fewest {min(self.per_label.values())}, most {max(self.per_label.values())} images)"
                if self.per_label
                else ""
            ),
            f"  bytes on disk:  {self.total_bytes / 2**20:.1f} MiB",
        ]
        if self.readable:
            lines += [
                "  short side px:  " + _format_percentiles(self.short_side),
                "  long side px:   " + _format_percentiles(self.long_side),
                "  aspect ratio:   " + _format_percentiles(self.aspect_ratio, "{:.2f}"),
                "  short side histogram: "
                + ", ".join(f"{bucket}: {count}" for bucket, count in self.short_side_histogram.items()),
                f"  below the training short side {self.training_short_side} px (scaled up): "
                f"{self.below_training_short_side}",
                "  formats: " + ", ".join(f"{k} {v}" for k, v in sorted(self.formats.items())),
                "  modes:   " + ", ".join(f"{k} {v}" for k, v in sorted(self.modes.items())),
            ]
        if self.unreadable:
            lines.append(f"  unreadable files (first {min(max_listed, len(self.unreadable))}):")
            lines += [f"    {path}: {reason}" for path, reason in self.unreadable[:max_listed]]
        return "\n".join(lines)


def _format_percentiles(values: dict[str, float], fmt: str = "{:.0f}") -> str:
    names = {"p0": "min", "p50": "median", "p100": "max"}
    return ", ".join(f"{names.get(k, k)} {fmt.format(v)}" for k, v in values.items())


def _bucket(short_side: int) -> str:
    edges = SHORT_SIDE_BUCKETS
    for low, high in zip(edges, edges[1:], strict=False):
        if short_side < high:
            return f"{low}-{high - 1}"
    return f">={edges[-1]}"


def summarize(
    files: Iterable[FileReport], kind: str, root: str, training_short_side: int = 256, decoded: bool = True
) -> ScanReport:
    """Fold per-file results into the report."""
    files = list(files)
    good = [f for f in files if not f.error]
    shorts = [min(f.width, f.height) for f in good]
    longs = [max(f.width, f.height) for f in good]
    histogram = Counter(_bucket(s) for s in shorts)
    ordered_buckets = [_bucket(edge) for edge in SHORT_SIDE_BUCKETS]
    return ScanReport(
        kind=kind,
        root=root,
        listed=len(files),
        readable=len(good),
        missing=sum(1 for f in files if f.error == MISSING),
        unreadable=[(f.path, f.error) for f in files if f.error],
        per_label=dict(sorted(Counter(f.label for f in good).items())),
        short_side=percentiles(shorts),
        long_side=percentiles(longs),
        aspect_ratio=percentiles([long / max(short, 1) for short, long in zip(shorts, longs, strict=True)]),
        short_side_histogram={bucket: histogram.get(bucket, 0) for bucket in ordered_buckets},
        training_short_side=training_short_side,
        below_training_short_side=sum(1 for s in shorts if s < training_short_side),
        formats=dict(Counter(f.format for f in good)),
        modes=dict(Counter(f.mode for f in good)),
        total_bytes=sum(f.bytes for f in files),
        decoded=decoded,
    )


def _inspect_all(items: list[tuple[str, str]], decode: bool, workers: int, progress: bool) -> Iterator[FileReport]:
    inspect = partial(inspect_file, decode=decode)
    bar = partial(tqdm, total=len(items), desc="scan", unit="img", disable=not progress)
    if workers <= 1:
        yield from bar(map(inspect, items))
        return
    # spawn, not fork: a forked child of a multi-threaded process (torch, tqdm) can deadlock.
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        chunk = max(1, min(256, len(items) // (workers * 8)))
        yield from bar(pool.imap(inspect, items, chunksize=chunk))


def scan_dataset(
    kind: str,
    root: Path,
    *,
    split: str = "train-standard",
    decode: bool = True,
    workers: int = 1,
    limit: int | None = None,
    training_short_side: int = 256,
    progress: bool = False,
) -> ScanReport:
    """Scan a dataset as training would list it (``kind``: folder | places365 | wikiart)."""
    index = places365_index(root, split).subset(limit) if kind == "places365" else dataset_index(kind, root, limit)
    if not index.paths:
        raise ValueError(f"no image files found for a {kind} dataset under {root}")
    items = [(str(p), label) for p, label in zip(index.paths, index.labels, strict=True)]
    files = _inspect_all(items, decode, workers, progress)
    return summarize(files, kind, str(index.root), training_short_side, decoded=decode)


def add_scan_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("root", type=Path, help="the dataset's local root folder")
    parser.add_argument("--kind", choices=DATASET_KINDS, default="folder", help="layout (default: %(default)s)")
    parser.add_argument("--split", choices=list(PLACES365_SPLITS), default="train-standard", help="Places365 split")
    parser.add_argument("--quick", action="store_true", help="read headers only (misses truncated files)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes (default: all cores)")
    parser.add_argument("--limit", type=int, default=None, help="scan at most this many files, evenly spaced")
    parser.add_argument("--short-side", type=int, default=256, help="training short side, to count upscaled images")
    parser.add_argument("--list", type=int, default=20, dest="max_listed", help="unreadable files to print")
    parser.add_argument("--json", type=Path, default=None, help="also write the full report as JSON here")
    parser.add_argument("--strict", action="store_true", help="exit with status 1 if any file is unreadable")


def run_scan(args: argparse.Namespace) -> int:
    """The ``vst datasets scan`` handler: print the report; status 1 under ``--strict`` with bad files."""
    report = scan_dataset(
        args.kind,
        args.root,
        split=args.split,
        decode=not args.quick,
        workers=args.workers,
        limit=args.limit,
        training_short_side=args.short_side,
        progress=True,
    )
    print(report.format_text(args.max_listed))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report.to_dict(), indent=2))
    return 1 if args.strict and report.unreadable else 0
