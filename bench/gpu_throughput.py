"""GPU throughput: images per second at 512x512 with batching, fp32 / bf16 / fp16, and the share of peak FLOP/s.

    python bench/gpu_throughput.py [--batches 1 4 8 16 32] [--dtypes float32 bfloat16 float16] [--peak-tflops N]

Needs a CUDA device; without one it says so and exits 0 (``--device cpu`` runs the same code on the CPU
as a smoke test, with small batches). Content encoder + decoder on a batch of the evaluation photos
(center-cropped to 512x512) with cached style codes; the style encoder is not in the loop, as in the
service. FLOPs per image are counted by torch.utils.flop_counter on one forward pass. Peak FLOP/s:
``--peak-tflops``, else a table of known dense peaks for the device name. Writes docs/bench/gpu.{json,png}.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import benchlib
import torch
from PIL import ImageOps

from model.fast_generator import FastGenerator
from model.inference import Stylizer, image_to_tensor

# Dense (no sparsity) peak TFLOP/s by device-name fragment and dtype, from the vendors' data sheets.
KNOWN_PEAKS_TFLOPS: dict[str, dict[str, float]] = {
    "H100 SXM": {"float32": 67.0, "bfloat16": 989.0, "float16": 989.0},
    "H100 PCIe": {"float32": 51.0, "bfloat16": 756.0, "float16": 756.0},
    "H100": {"float32": 67.0, "bfloat16": 989.0, "float16": 989.0},
    "H200": {"float32": 67.0, "bfloat16": 989.0, "float16": 989.0},
    "A100": {"float32": 19.5, "bfloat16": 312.0, "float16": 312.0},
    "L4": {"float32": 30.3, "bfloat16": 121.0, "float16": 121.0},
}


def peak_for(device_name: str, dtype: str, given: float | None) -> float | None:
    if given:
        return given
    for fragment, peaks in KNOWN_PEAKS_TFLOPS.items():
        if fragment in device_name:
            return peaks.get(dtype)
    return None


def batch_of_photos(batch: int, side: int, device: torch.device) -> torch.Tensor:
    """(B, 3, side, side) in [0, 1]: the evaluation photos, center-cropped and resized, repeated as needed."""
    photos = [benchlib.open_rgb(p) for p in benchlib.image_paths(benchlib.EVAL_CONTENT)]
    tiles = [image_to_tensor(ImageOps.fit(photos[i % len(photos)], (side, side))) for i in range(batch)]
    return torch.cat(tiles).to(device)


def measure(
    generator: FastGenerator,
    film_of: Any,
    images: torch.Tensor,
    codes: torch.Tensor,
    seconds: float,
    device: torch.device,
) -> float:
    """Images per second of encode + decode for one batch, after warm-up, over at least ``seconds``."""

    def step() -> None:
        generator.decode(generator.encode(images), film_of(codes))

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    with torch.inference_mode():
        for _ in range(3):
            step()
        sync()
        iterations, started = 0, time.perf_counter()
        while True:
            step()
            iterations += 1
            if iterations % 5 == 0:
                sync()
                if time.perf_counter() - started >= seconds:
                    break
        elapsed = time.perf_counter() - started
    return iterations * images.shape[0] / elapsed


def flops_per_image(generator: FastGenerator, film_of: Any, side: int, device: torch.device) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    image = torch.rand(1, 3, side, side, device=device)
    code = torch.zeros(1, generator_latent(film_of), device=device)
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        generator.decode(generator.encode(image), film_of(code))
    return int(counter.get_total_flops())


def generator_latent(film_of: Any) -> int:
    return int(film_of.__self__.film[0].in_features)


def plot(rows: list[dict[str, Any]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for dtype in sorted({r["dtype"] for r in rows}):
        chosen = [r for r in rows if r["dtype"] == dtype and r["images_per_s"] is not None]
        ax.plot([r["batch"] for r in chosen], [r["images_per_s"] for r in chosen], marker="o", label=dtype)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("batch size")
    ax.set_ylabel("images per second (512x512)")
    ax.set_title(title, fontsize=9)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu for a smoke test")
    parser.add_argument("--side", type=int, default=512)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4, 8, 16, 32])
    parser.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16", "float16"])
    parser.add_argument("--seconds", type=float, default=3.0, help="measuring time per configuration")
    parser.add_argument("--peak-tflops", type=float, default=None, help="the device's dense peak, per dtype known")
    parser.add_argument("--out", type=Path, default=benchlib.DOCS_BENCH)
    args = parser.parse_args()

    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("no CUDA device here: nothing measured (see docs/benchmarks.md, GPU section)")
        return 0
    device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else benchlib.cpu_model()
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    model, _ = benchlib.load_model(str(device))
    styles = [benchlib.open_rgb(p) for p in benchlib.image_paths(benchlib.EVAL_STYLE)]
    stylizer = Stylizer(model, device=device, dtype=torch.float32)
    all_codes = torch.stack([stylizer.encode_style(s).mu for s in styles]).to(device)  # (S, D)
    film_of = model.decoder.film_parameters

    # The count is the same in every dtype, so it is taken once, in fp32: the counter decomposes the norms,
    # and the decompositions refuse a bf16 input with fp32 AdaIN parameters.
    flops = flops_per_image(
        FastGenerator(model.content_encoder, model.decoder, torch.float32, device), film_of, args.side, device
    )
    rows: list[dict[str, Any]] = []
    for dtype_name in args.dtypes:
        dtype = getattr(torch, dtype_name)
        generator = FastGenerator(model.content_encoder, model.decoder, dtype, device)
        peak = peak_for(device_name, dtype_name, args.peak_tflops)
        for batch in args.batches:
            images = batch_of_photos(batch, args.side, device)
            codes = all_codes[torch.arange(batch) % len(all_codes)]
            try:
                rate: float | None = measure(generator, film_of, images, codes, args.seconds, device)
            except torch.cuda.OutOfMemoryError:
                rate = None
                torch.cuda.empty_cache()
            achieved = rate * flops / 1e12 if rate else None
            rows.append(
                {
                    "dtype": dtype_name,
                    "batch": batch,
                    "images_per_s": round(rate, 2) if rate else None,
                    "gflop_per_image": round(flops / 1e9, 2),
                    "achieved_tflops": round(achieved, 2) if achieved else None,
                    "peak_tflops": peak,
                    "percent_of_peak": round(100 * achieved / peak, 2) if achieved and peak else None,
                }
            )
            print(rows[-1], flush=True)
    result = {
        "command": "python " + " ".join([benchlib.relative(Path(sys.argv[0]))] + sys.argv[1:]),
        "device": device_name,
        "machine": benchlib.machine(),
        "checkpoint": benchlib.checkpoint_info(),
        "what": f"content encoder + decoder, {args.side}x{args.side}, cached style codes, batched",
        "rows": rows,
    }
    name = "gpu" if device.type == "cuda" else "gpu_smoke_cpu"
    benchlib.write_json(args.out / f"{name}.json", result)
    plot(rows, args.out / f"{name}.png", f"{device_name}: images/s at {args.side} px")
    print(f"wrote {benchlib.relative(args.out / f'{name}.json')}, {name}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
