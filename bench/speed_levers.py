"""The CPU speed levers one by one, in CPU time of one thread, so that a busy machine does not blur them.

    python bench/speed_levers.py [--side 512] [--repeats 7] [--compile]

Times content encoder + decoder on one evaluation photo resized to SIDE x SIDE (the worst case at that
size), style code cached, with ``time.thread_time`` and one torch thread: CPU seconds spent by this
thread, which other processes on the machine hardly change (wall-clock needs a quiet machine; see
bench/latency.py). Also times the style encoder in fp32 and bf16, the peer's call the same way
(onnxruntime with one intra-op thread), and ours (Stylizer.stylize, style code cached) against the peer's
stylize_with on every evaluation photo at SIDE px. Every variant is compared with the fp32 modules' output.
``--default-allocator`` leaves glibc's malloc settings as they are (the Stylizer keeps freed memory mapped;
see model.inference.keep_freed_memory_mapped). Writes docs/bench/speed_levers[_default_allocator].{json,png}.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import benchlib
import torch
from peer import Peer
from PIL import ImageOps

from model.fast_generator import FastGenerator
from model.inference import STYLE_SHORT_SIDE, Stylizer, image_to_tensor, keep_freed_memory_mapped
from model.networks import VariationalStyleTransfer, style_statistics


def cpu_seconds(call: Callable[[], object], repeats: int) -> dict[str, float]:
    call()
    call()
    samples = []
    for _ in range(repeats):
        started = time.thread_time()
        call()
        samples.append(time.thread_time() - started)
    return {"median_s": round(statistics.median(samples), 5), "min_s": round(min(samples), 5)}


def module_variant(
    model: VariationalStyleTransfer, dtype: torch.dtype, channels_last: bool
) -> tuple[Callable[[torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]]], torch.Tensor], Any]:
    encoder, decoder = copy.deepcopy(model.content_encoder).to(dtype), copy.deepcopy(model.decoder).to(dtype)
    if channels_last:
        encoder.to(memory_format=torch.channels_last)
        decoder.to(memory_format=torch.channels_last)
    layout = torch.channels_last if channels_last else torch.contiguous_format

    def run(image: torch.Tensor, film: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
        film = [(s.to(dtype), t.to(dtype)) for s, t in film]
        return decoder(encoder(image.to(dtype).contiguous(memory_format=layout)), film)

    return run, decoder


def residual_conv(model: VariationalStyleTransfer, repeats: int) -> dict[str, Any]:
    """One 96 -> 96 3x3 residual conv at 128x128 (a 512 px image), the generator's bulk: GMAC/s per dtype.

    int8 uses onednn's quantized conv (the kind of kernel the peer's int8 graph runs), with the activation
    quantized per tensor and the weights per channel; it is measured for comparison only.
    """
    conv = next(m for m in model.decoder.residual.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.bias is not None
    weight, bias = conv.weight.detach(), conv.bias.detach()  # (96, 96, 3, 3), (96,)
    x = torch.randn(1, weight.shape[1], 130, 130).contiguous(memory_format=torch.channels_last)  # padded input
    macs = weight.numel() * 128 * 128
    out: dict[str, Any] = {"shape": "1x96x128x128, 3x3, 96 -> 96", "gmac": round(macs / 1e9, 3)}
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        w = weight.to(dtype).contiguous(memory_format=torch.channels_last)
        xd, b = x.to(dtype), bias.to(dtype)
        seconds = cpu_seconds(partial(torch.nn.functional.conv2d, xd, w, b), repeats)["median_s"]
        out[name] = {"ms": round(seconds * 1000, 2), "gmac_per_s": round(macs / seconds / 1e9)}
    if hasattr(torch.ops.onednn, "qconv_pointwise"):
        w_scales = (weight.abs().amax(dim=(1, 2, 3)) / 127).float()  # (96,)
        w_int8 = torch.round(weight / w_scales[:, None, None, None]).clamp(-128, 127).to(torch.int8)
        packed = torch.ops.onednn.qconv_prepack(
            w_int8.contiguous(memory_format=torch.channels_last), w_scales, 1.0, 0, [1, 1], [0, 0], [1, 1], 1, None
        )
        scale = float(x.abs().amax()) / 127
        x_uint8 = (x / scale + 128).round().clamp(0, 255).to(torch.uint8)
        zero_points = torch.zeros(weight.shape[0], dtype=torch.long)
        call = partial(
            torch.ops.onednn.qconv_pointwise, x_uint8, scale, 128, packed, w_scales, zero_points, bias.float(),
            [1, 1], [0, 0], [1, 1], 1, 1.0, 0, torch.bfloat16, "none", [], "",
        )  # fmt: skip
        seconds = cpu_seconds(call, repeats)["median_s"]
        out["int8 (onednn, conv only)"] = {"ms": round(seconds * 1000, 2), "gmac_per_s": round(macs / seconds / 1e9)}
    return out


def packed_forward(
    generator: FastGenerator, image: torch.Tensor, film: list[tuple[torch.Tensor, torch.Tensor]]
) -> torch.Tensor:
    return generator.decode(generator.encode(image), film)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--compile", action="store_true", help="also torch.compile the packed bf16 generator")
    parser.add_argument(
        "--default-allocator",
        action="store_true",
        help="leave glibc's malloc settings alone (the Stylizer changes them)",
    )
    parser.add_argument("--out", type=Path, default=benchlib.DOCS_BENCH)
    args = parser.parse_args()
    benchlib.ensure_peer()
    if not args.default_allocator:
        keep_freed_memory_mapped()
    torch.set_num_threads(1)
    torch.set_grad_enabled(False)

    model, _ = benchlib.load_model()
    photo = benchlib.open_rgb(benchlib.image_paths(benchlib.EVAL_CONTENT)[0])
    content = ImageOps.fit(photo, (args.side, args.side))
    style = benchlib.open_rgb(benchlib.image_paths(benchlib.EVAL_STYLE)[0])
    image = image_to_tensor(content)  # (1, 3, S, S)
    scale = STYLE_SHORT_SIDE / min(style.size)
    style_t = image_to_tensor(style.resize((round(style.width * scale), round(style.height * scale))))
    code = model.style_encoder(style_t)[0]  # (1, D): the style's mu
    film = model.decoder.film_parameters(code)

    variants: dict[str, Callable[[], torch.Tensor]] = {}
    for label, dtype, channels_last in (
        ("nn.Module, fp32 (before)", torch.float32, False),
        ("nn.Module, model cast to bf16", torch.bfloat16, False),
        ("nn.Module, bf16 + channels_last", torch.bfloat16, True),
    ):
        run, _ = module_variant(model, dtype, channels_last)
        variants[label] = partial(run, image, film)
    for label, dtype in (("packed generator, fp32", torch.float32), ("packed generator, bf16 (after)", torch.bfloat16)):
        generator = FastGenerator(model.content_encoder, model.decoder, dtype)
        variants[label] = partial(packed_forward, generator, image, film)
    if args.compile:
        packed = FastGenerator(model.content_encoder, model.decoder, torch.bfloat16)
        compiled = torch.compile(partial(packed_forward, packed), dynamic=False)
        variants["packed generator, bf16, torch.compile"] = partial(compiled, image, film)

    reference = variants["nn.Module, fp32 (before)"]().float()
    results: dict[str, Any] = {}
    for label, call in variants.items():
        difference = (call().float() - reference).abs() * 255
        results[label] = cpu_seconds(call, args.repeats) | {
            "mean_abs_diff_255": round(float(difference.mean()), 3),
            "max_abs_diff_255": round(float(difference.max()), 2),
        }
        print(f"{label}: {results[label]}", flush=True)

    # The style encoder: one VGG pass at the training scale, fp32 vs bf16 + channels_last.
    trunk32 = model.style_encoder.trunk
    trunk16 = copy.deepcopy(trunk32).to(torch.bfloat16).to(memory_format=torch.channels_last)
    style_t16 = style_t.to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
    mu32 = model.style_encoder.encode_statistics(style_statistics(trunk32(style_t)))[0]
    mu16 = model.style_encoder.encode_statistics(style_statistics(trunk16(style_t16)))[0]
    style_encoder = {
        "fp32": cpu_seconds(lambda: trunk32(style_t), args.repeats),
        "bf16 + channels_last": cpu_seconds(lambda: trunk16(style_t16), args.repeats),
        "relative_code_change_bf16": round(float((mu16 - mu32).norm() / mu32.norm()), 5),
    }
    print(f"style encoder: {style_encoder}", flush=True)
    conv_rates = residual_conv(model, args.repeats)
    print(f"residual conv: {conv_rates}", flush=True)

    peer = Peer(threads=1)
    peer_times = {
        "stylize_with": cpu_seconds(lambda: peer.stylize(content, style, args.side), args.repeats),
        "style_vector": cpu_seconds(lambda: peer.style_vector(style), args.repeats),
    }
    print(f"peer (1 thread): {peer_times}", flush=True)
    side_by_side = compare_on_eval_set(model, peer, args)
    print(f"ours vs peer on the evaluation photos: {side_by_side['median']}", flush=True)

    report = {
        "command": "python " + " ".join([benchlib.relative(Path(sys.argv[0]))] + sys.argv[1:]),
        "machine": benchlib.machine(),
        "checkpoint": benchlib.checkpoint_info(),
        "clock": "time.thread_time, one torch thread (CPU seconds of this thread)",
        "allocator": "glibc default" if args.default_allocator else "freed memory kept mapped (as the Stylizer does)",
        "input": f"{args.side}x{args.side}, content encoder + decoder, style code cached",
        "generator": results,
        "style_encoder": style_encoder,
        "residual_conv": conv_rates,
        "peer_one_thread": peer_times,
        "eval_set_side_by_side": side_by_side,
        "load_average_end": benchlib.load_average(),
    }
    name = "speed_levers_default_allocator" if args.default_allocator else "speed_levers"
    benchlib.write_json(args.out / f"{name}.json", report)
    plot(results, peer_times["stylize_with"]["median_s"], args.out / f"{name}.png", args.side)
    print(f"wrote {benchlib.relative(args.out / f'{name}.json')}, {name}.png")
    return 0


def compare_on_eval_set(model: VariationalStyleTransfer, peer: Peer, args: argparse.Namespace) -> dict[str, Any]:
    """Ours (the Stylizer, style code cached) vs the peer's stylize_with on every evaluation photo at SIDE px.

    The same calls as bench/latency.py, but in CPU time of one thread, so the ratio holds on a busy machine.
    """
    ours = Stylizer(model)
    styles = [benchlib.open_rgb(p) for p in benchlib.image_paths(benchlib.EVAL_STYLE)]
    photos = [benchlib.open_rgb(p) for p in benchlib.image_paths(benchlib.EVAL_CONTENT)]
    rows: list[dict[str, Any]] = []
    ours_times: list[float] = []
    peer_times: list[float] = []
    for index, photo in enumerate(photos):
        content = benchlib.at_long_side(photo, args.side)
        style = styles[index % len(styles)]
        code = ours.encode_style(style)
        ours_s = cpu_seconds(partial(ours.stylize, content, [code], max_side=args.side), args.repeats)["median_s"]
        peer_s = cpu_seconds(partial(peer.stylize, content, style, args.side), args.repeats)["median_s"]
        rows.append({"size": f"{content.width}x{content.height}", "ours_s": ours_s, "peer_s": peer_s})
        ours_times.append(ours_s)
        peer_times.append(peer_s)
    ours_median = statistics.median(ours_times)
    peer_median = statistics.median(peer_times)
    median = {"ours_s": ours_median, "peer_s": peer_median, "ratio": round(ours_median / peer_median, 3)}
    return {"per_photo": rows, "median": median}


def plot(results: dict[str, Any], peer_s: float, path: Path, side: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(results)
    values = [results[k]["median_s"] * 1000 for k in labels]
    fig, ax = plt.subplots(figsize=(9, 3.8))
    bars = ax.barh(labels, values, color=["C0"] * len(labels))
    ax.bar_label(bars, fmt="%.0f ms", fontsize=8)
    ax.axvline(peer_s * 1000, color="C3", linestyle="--", label=f"peer stylize_with ({peer_s * 1000:.0f} ms)")
    ax.invert_yaxis()
    ax.set_xlabel(f"CPU ms, one thread, {side}x{side} (lower is better)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
