"""What encoding a 512 px result costs: CPU time and bytes per format and setting, on the evaluation photos.

    python bench/encode_formats.py [--side 512] [--repeats 9]

The worker encodes every result before storing it; with a ~50 ms model this is a visible part of the
service's overhead. CPU time of this thread (time.thread_time), median over photos and repeats.
Writes docs/bench/encode_formats.json.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import benchlib
from PIL import Image

SETTINGS: dict[str, dict[str, Any]] = {
    "PNG, compress_level 6 (Pillow's default)": {"format": "PNG", "compress_level": 6},
    "PNG, compress_level 1": {"format": "PNG", "compress_level": 1},
    "JPEG, quality 90": {"format": "JPEG", "quality": 90},
    "WebP, quality 90": {"format": "WEBP", "quality": 90},
    "WebP, quality 90, method 0": {"format": "WEBP", "quality": 90, "method": 0},
}


def encode(image: Image.Image, options: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, **options)
    return buffer.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--out", type=Path, default=benchlib.DOCS_BENCH)
    args = parser.parse_args()
    photos = [
        benchlib.at_long_side(benchlib.open_rgb(p), args.side) for p in benchlib.image_paths(benchlib.EVAL_CONTENT)
    ]
    results: dict[str, dict[str, float]] = {}
    for name, options in SETTINGS.items():
        seconds, sizes = [], []
        for photo in photos:
            sizes.append(len(encode(photo, options)))
            for _ in range(args.repeats):
                started = time.thread_time()
                encode(photo, options)
                seconds.append(time.thread_time() - started)
        results[name] = {
            "median_ms": round(1000 * statistics.median(seconds), 2),
            "median_kib": round(statistics.median(sizes) / 1024, 1),
        }
        print(f"{name}: {results[name]}", flush=True)
    benchlib.write_json(
        args.out / "encode_formats.json",
        {
            "command": "python " + " ".join([benchlib.relative(Path(sys.argv[0]))] + sys.argv[1:]),
            "machine": benchlib.machine(),
            "what": f"{len(photos)} evaluation photos at {args.side} px, CPU time of one thread",
            "results": results,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
