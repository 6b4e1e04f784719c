"""Write docs/benchmarks.md from the JSON files that the bench scripts left in docs/bench/.

    python bench/report.py

Every number in the page comes from those files; sections whose file is missing say how to produce it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import benchlib

PAGE = benchlib.REPO_ROOT / "docs" / "benchmarks.md"
OURS_CACHED, OURS_WITH_STYLE = "ours (style code cached)", "ours (+ style encoding)"
PEER, PEER_CACHED = "peer stylize_with", "peer (style vector cached)"
OURS_REGIONS = "ours, two regions (codes cached)"


def load(folder: Path, name: str) -> dict[str, Any] | None:
    path = folder / name
    return json.loads(path.read_text()) if path.exists() else None


def cmd(data: dict[str, Any]) -> str:
    """The recorded command, with the environment variable that changed the run (if any) in front."""
    policy = (data.get("machine") or {}).get("omp_wait_policy", "default")
    prefix = f"OMP_WAIT_POLICY={policy} " if policy not in ("default", None) else ""
    return f"`{prefix}{data['command']}`"


def ckpt(data: dict[str, Any]) -> str:
    info = data.get("checkpoint") or {}
    return f"checkpoint `{info.get('sha256', '?')}` ({info.get('steps', '?')} steps)"


def ms(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds * 1000:.0f} ms"


def notes(folder: Path, section: str) -> list[str]:
    """Hand-written prose for a section (``docs/bench/notes/SECTION.md``), kept verbatim: what no JSON
    file records (where and when a one-off run happened, what a number means), so that re-running this
    script never drops it."""
    path = folder / "notes" / f"{section}.md"
    return [*path.read_text().rstrip("\n").splitlines(), ""] if path.exists() else []


def load_note(values: list[float] | None) -> str:
    return "?" if not values else " / ".join(f"{v:.1f}" for v in values)


def machine_section(sources: list[dict[str, Any]]) -> list[str]:
    first = sources[0]["machine"]
    checkpoint = sources[0].get("checkpoint", {})
    lines = [
        "## The machine",
        "",
        f"- CPU: {first['cpu']}, {first['cpus']} cores visible (`lscpu`: KVM guest, 1 thread per core), "
        f"{first['memory_gib']} GiB RAM; AVX512_BF16: {'yes' if first['avx512_bf16'] else 'no'}, "
        f"AMX: {'yes' if first['amx_bf16'] else 'no'}; no GPU.",
        f"- Python {first['python']}, torch {first['torch']} (the CUDA build, used on the CPU), "
        f"{first['torch_threads']} torch threads by default.",
        f"- Checkpoint: `{checkpoint.get('path')}` sha256 `{checkpoint.get('sha256')}…`, "
        f"{checkpoint.get('steps')} training steps.",
        "- Load: each table gives the 1/5/15-minute load averages next to it; the benchmark itself counts "
        "(about 1 to 2 on these 2 cores). Numbers taken while other processes use the cores are slower and "
        "noisier; section 3 measures that case on purpose, and the one-thread CPU-time tables hardly move with it.",
        "",
    ]
    return lines


def latency_section(
    latency: dict[str, Any] | None, one_thread: dict[str, Any] | None, passive: dict[str, Any] | None
) -> list[str]:
    lines = ["## 1. Single-image latency on the CPU: ours vs the peer", ""]
    if latency is None:
        return lines + ["Not measured yet: run `python bench/latency.py --json`.", ""]
    headline = latency["headline"]
    lines += [
        f"Command: `{latency['command']}` ({latency['seconds_total']:.0f} s, {ckpt(latency)}). "
        f"Peer: {latency['peer']}. Our dtype on this CPU: {latency['ours_dtype']}.",
        "",
        "What each column times (one library call, PIL image in, PIL image out, warm, median over the "
        f"{len(latency['images']['contents'])} evaluation photos x repeats, each photo resized so that its "
        "longer side is exactly the size; both produce images of exactly that size):",
        "",
        "- **ours (style code cached)**: `Stylizer.stylize` = content encoder + decoder at the full output "
        "resolution + conversions. The style's code comes from the cache, as in the service (the worker keeps "
        "style codes; gallery styles are encoded once). This is `ours_s`.",
        "- **ours (+ style encoding)**: the above plus `Stylizer.encode_style` (one VGG16 pass up to relu4_1 "
        "at 256 px short side): a new, never-seen style.",
        "- **peer stylize_with**: the peer's own call, which always predicts the style (MobileNet at 256x256), "
        "runs its int8 transformer at 384x384 and resizes to the output size with Lanczos. This is `peer_s`.",
        "- **peer (style vector cached)**: the same path without the style prediction (reproduced from its "
        "source, bench/peer.py), for a like-for-like comparison with our cached row.",
        "",
        "| size | " + " | ".join([OURS_CACHED, OURS_WITH_STYLE, PEER, PEER_CACHED]) + " | ours cached / peer "
        "| ours + style / peer | load after |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for side, row in latency["sizes"].items():
        m = {k: v["median_s"] for k, v in row["methods"].items()}
        lines.append(
            f"| {side} px | {ms(m[OURS_CACHED])} | {ms(m[OURS_WITH_STYLE])} | {ms(m[PEER])} | {ms(m[PEER_CACHED])} "
            f"| **{m[OURS_CACHED] / m[PEER]:.2f}** | {m[OURS_WITH_STYLE] / m[PEER]:.2f} "
            f"| {load_note(row['load_average_after'])} |"
        )
    regions = [(side, row) for side, row in latency["sizes"].items() if OURS_REGIONS in row["methods"]]
    if regions:
        lines += ["", "Two regions (two styles over the left and right halves, `masks=`), against one style:", ""]
        for side, row in regions:
            two, one = row["methods"][OURS_REGIONS]["median_s"], row["methods"][OURS_CACHED]["median_s"]
            lines.append(f"- {side} px: {ms(two)} against {ms(one)}, **{two / one:.2f}x**")
    encode = latency["style_encoding"]
    lines += [
        "",
        f"Headline (`python bench/latency.py --json`, last line): `{json.dumps(headline)}`.",
        "",
        f"Style encoding alone, median: ours {ms(encode['ours']['median_s'])} (VGG16 trunk, bf16), the peer "
        f"{ms(encode['peer']['median_s'])} (MobileNet). The service caches our style codes (gallery and "
        "registered styles), so this is paid once per style, not per job.",
        "",
        "![latency](bench/latency.png)",
        "",
    ]
    per_image = latency["sizes"].get("512", {}).get("per_image")
    if per_image:
        lines += [
            "Per photo at 512 px (ours scales with the pixel count; the peer always computes 384x384):",
            "",
            "| output size | ours (cached) | peer | ratio |",
            "|---|---|---|---|",
        ]
        for item in sorted(per_image, key=lambda r: int(r["size"].split("x")[0]) * int(r["size"].split("x")[1])):
            ratio = item["ours_cached_median_s"] / item["peer_median_s"]
            lines.append(
                f"| {item['size']} | {ms(item['ours_cached_median_s'])} | {ms(item['peer_median_s'])} | {ratio:.2f} |"
            )
        lines.append("")
    memory = latency.get("memory")
    if memory:
        lines += [
            "Peak memory, each method alone in a fresh process (bench/memory_probe.py; VmHWM includes native "
            "allocations):",
            "",
            "| size | ours: after imports | ours: model loaded | ours: peak | peer: after imports | "
            "peer: loaded | peer: peak |",
            "|---|---|---|---|---|---|---|",
        ]
        for side, by in memory.items():
            o, p = by["ours"], by["peer"]
            lines.append(
                f"| {side} px | {o.get('rss_after_imports_mib', '–')} MiB | {o['rss_loaded_mib']} MiB "
                f"| **{o['peak_rss_mib']} MiB** | {p.get('rss_after_imports_mib', '–')} MiB "
                f"| {p['rss_loaded_mib']} MiB | **{p['peak_rss_mib']} MiB** |"
            )
        lines += [
            "",
            "Most of our footprint is `import torch` itself (this is the CUDA build of torch); the model adds "
            "the difference between the first two columns, and one stylization the difference to the peak.",
            "",
        ]
    variants = [
        (
            one_thread,
            "### The same side by side with one thread each",
            "One torch thread and one onnxruntime thread.",
        ),
        (
            passive,
            "### The same with `OMP_WAIT_POLICY=PASSIVE`",
            "Two threads, but idle OpenMP threads sleep at once instead of spinning first (section 3 shows "
            "why that matters on a busy machine).",
        ),
    ]
    for data, title, note in variants:
        if not data:
            continue
        lines += [
            title,
            "",
            f"Command: {cmd(data)}. {note}",
            "",
            "| size | ours (cached) | ours (+ style) | peer | peer (cached vector) | ours cached / peer | load after |",
            "|---|---|---|---|---|---|---|",
        ]
        for side, row in data["sizes"].items():
            m = {k: v["median_s"] for k, v in row["methods"].items()}
            lines.append(
                f"| {side} px | {ms(m[OURS_CACHED])} | {ms(m[OURS_WITH_STYLE])} | {ms(m[PEER])} "
                f"| {ms(m[PEER_CACHED])} | **{m[OURS_CACHED] / m[PEER]:.2f}** "
                f"| {load_note(row['load_average_after'])} |"
            )
        lines.append("")
    return lines


def speed_section(
    latency: dict[str, Any] | None, levers: dict[str, Any] | None, default: dict[str, Any] | None
) -> list[str]:
    change = ((levers or {}).get("style_encoder") or {}).get("relative_code_change_bf16")
    code_change = f"{change:.2%}" if change is not None else "well under 1% (tests/model/test_fast_generator.py)"
    lines = [
        "## 2. Speed work: what was changed, before and after",
        "",
        "Changes (model/inference.py and model/fast_generator.py; the networks and the checkpoint are unchanged):",
        "",
        "1. **bf16 + channels_last on CPUs with native bf16** (`Stylizer(dtype=None)` picks bf16 when "
        "/proc/cpuinfo has avx512_bf16 or amx_bf16, else fp32). The model is cast, not autocast. The VGG "
        f"trunk of the style encoder too (the style code moves by {code_change} relative to fp32).",
        "2. **A packed inference generator** (`model.fast_generator.FastGenerator`): the same function as "
        "the modules, checked against them in tests/model/test_fast_generator.py, with",
        "   - each *nearest x2 upsample + reflection pad + 3x3 conv* rewritten exactly as a 2x2 conv at the "
        "low resolution with four output phases (4/9 of the multiply-adds, and no upsampled copy);",
        "   - the AdaIN scale and shift passed into the normalisation as its affine parameters; instance norm "
        "of one image as `batch_norm` below 32 channels (group_norm's channels-last kernel is slow there);",
        "   - in-place ReLUs.",
        "3. **Freed memory stays mapped** (glibc `mallopt`, once per process): otherwise every call pays page "
        "faults again for its tens of MB of activations.",
        "",
        "Kept because each measurably helps (tables below). Tried and not kept: `torch.compile` of the packed "
        "generator (its row below; it also compiles for tens of seconds per new image shape, and every photo "
        "has its own shape) and int8 (section 3). Micro-batching in the worker: see the GPU section for its "
        "effect on this CPU.",
        "",
    ]
    if levers:
        lines += [
            f"CPU time of one thread (`{levers['command']}`, {ckpt(levers)}; {levers['input']}; "
            f"{levers.get('allocator', '')}):",
            "",
            "| variant | CPU ms | mean / max abs difference to fp32, grey levels |",
            "|---|---|---|",
        ]
        rows = dict(levers["generator"])
        if default:
            before = default["generator"].get("nn.Module, fp32 (before)")
            if before:
                rows = {"nn.Module, fp32, glibc's default allocator (the true before)": before} | rows
        for name, row in rows.items():
            lines.append(
                f"| {name} | {row['median_s'] * 1000:.0f} "
                f"| {row['mean_abs_diff_255']:.2f} / {row['max_abs_diff_255']:.1f} |"
            )
        peer = levers["peer_one_thread"]
        style = levers["style_encoder"]
        lines += [
            f"| the peer's stylize_with, same photo, one thread | {peer['stylize_with']['median_s'] * 1000:.0f} | – |",
            "",
            f"Style encoder (VGG trunk): fp32 {style['fp32']['median_s'] * 1000:.0f} ms, bf16 + channels_last "
            f"{style['bf16 + channels_last']['median_s'] * 1000:.0f} ms CPU; the peer's style prediction "
            f"{peer['style_vector']['median_s'] * 1000:.0f} ms.",
            "",
            "![speed levers](bench/speed_levers.png)",
            "",
        ]
    if latency and latency.get("speed_work"):
        work = latency["speed_work"]
        lines += [
            "Wall-clock at 512 px with the default threads, all evaluation photos, interleaved "
            f"(`{latency['command']}`, load after {load_note(work.get('load_average_after'))}; every row with "
            "freed memory kept mapped, since the process holds a Stylizer):",
            "",
            "| variant | median | mean / max abs difference to fp32 on one photo, grey levels |",
            "|---|---|---|",
        ]
        for name, row in work.items():
            if isinstance(row, dict):
                lines.append(
                    f"| {name} | {ms(row['median_s'])} "
                    f"| {row['mean_abs_diff_255']:.2f} / {row['max_abs_diff_255']:.0f} |"
                )
        lines.append("")
    return lines


def arithmetic_bullet(levers: dict[str, Any] | None) -> str:
    text = (
        "- **Arithmetic and precision.** Our generator needs about 30 GFLOP for 512x512 (torch.utils.flop_counter "
        "in bench/gpu_throughput.py), 72% of it in the eight 96-channel residual convs at 128x128 "
        "(8 x 96 x 96 x 9 x 128^2 = 10.9 of 15 GMAC). The peer's ONNX graph is int8 (QuantizeLinear / "
        "DequantizeLinear around its convs), and int8 does twice the multiply-adds per cycle of bf16 on "
        "AVX512-VNNI."
    )
    conv = (levers or {}).get("residual_conv")
    if conv:
        rates = ", ".join(
            f"{name} {row['ms']:.1f} ms ({row['gmac_per_s']} GMAC/s)"
            for name, row in conv.items()
            if isinstance(row, dict)
        )
        text += f" One residual conv, one thread (bench/speed_levers.py): {rates}."
    return text + (
        " int8 is the lever left, and it is excluded here: outputs must stay within float tolerance, and "
        "int8 activations (256 levels per tensor) are not."
    )


def contention_lines(contention: dict[str, Any] | None) -> list[str]:
    if contention is None:
        return []
    rows = contention["results"]
    return [
        f"On a busy machine (`{contention['command']}`: {contention['what']}; load "
        f"{load_note(contention.get('load_average_during'))}):",
        "",
        "| configuration | median | p25 – p75 |",
        "|---|---|---|",
        *[f"| {name} | {ms(r['median_s'])} | {ms(r['p25_s'])} – {ms(r['p75_s'])} |" for name, r in rows.items()],
        "",
        "torch's OpenMP threads spin before they sleep; with other processes on the cores a spinning thread "
        "burns the time slice its partner needs to reach the next of the ~100 barriers of our forward pass. "
        "`OMP_WAIT_POLICY=PASSIVE` (read by libgomp when torch is imported, so it must be in the process's "
        "environment from the start: worker, CLI) removes that; one torch thread per worker avoids it too. "
        "onnxruntime (the peer) has its own thread pool and is unaffected.",
        "",
    ]


def verdict_section(
    latency: dict[str, Any] | None,
    levers: dict[str, Any] | None,
    passive: dict[str, Any] | None,
    one_thread: dict[str, Any] | None,
    contention: dict[str, Any] | None,
) -> list[str]:
    if latency is None:
        return []
    ratio = latency["headline"]["ratio"]
    lines = [
        "## 3. The ratio at 512 px",
        "",
        "| measurement | ours (cached style code) | peer | ratio |",
        "|---|---|---|---|",
        "| wall-clock, default threads (`bench/latency.py --json`, the headline) "
        f"| {ms(latency['headline']['ours_s'])} | {ms(latency['headline']['peer_s'])} | **{ratio:.2f}** |",
    ]
    if passive:
        p = passive["sizes"]["512"]["methods"]
        lines.append(
            f"| wall-clock, OMP_WAIT_POLICY=PASSIVE | {ms(p[OURS_CACHED]['median_s'])} | {ms(p[PEER]['median_s'])} "
            f"| {p[OURS_CACHED]['median_s'] / p[PEER]['median_s']:.2f} |"
        )
    side = (levers or {}).get("eval_set_side_by_side")
    if side:
        m = side["median"]
        lines.append(
            f"| CPU time of one thread, same calls, all evaluation photos (`bench/speed_levers.py`) "
            f"| {ms(m['ours_s'])} | {ms(m['peer_s'])} | {m['ratio']:.2f} |"
        )
    lines.append("")
    if side:
        lines += [
            "Per photo, CPU time of one thread at 512 px:",
            "",
            "| output size | ours | peer | ratio |",
            "|---|---|---|---|",
        ]
        for row in sorted(side["per_photo"], key=lambda r: int(r["size"].split("x")[0]) * int(r["size"].split("x")[1])):
            lines.append(
                f"| {row['size']} | {ms(row['ours_s'])} | {ms(row['peer_s'])} | {row['ours_s'] / row['peer_s']:.2f} |"
            )
        lines.append("")
    verdict = "at or below" if ratio <= 1.0 else "above"
    one_thread_ratio = side["median"]["ratio"] if side else None
    lines += [f"The headline ratio is {verdict} 1.0 in this run.", ""]
    if ratio <= 1.0 and one_thread_ratio and one_thread_ratio > 1.0:
        scaling = ""
        if one_thread and "512" in one_thread["sizes"]:
            single = one_thread["sizes"]["512"]["methods"]
            both = latency["sizes"]["512"]["methods"]
            ours_gain = single[OURS_CACHED]["median_s"] / both[OURS_CACHED]["median_s"]
            peer_gain = single[PEER]["median_s"] / both[PEER]["median_s"]
            scaling = f" (wall-clock, one thread -> two: ours {ours_gain:.2f}x faster, the peer {peer_gain:.2f}x)"
        lines += [
            f"It is not a win everywhere: with one thread each we take {one_thread_ratio:.2f}x the peer's CPU "
            f"time. Our convolutions use both cores, while the peer gains little from a second thread{scaling}: "
            "its resizes and small int8 kernels. And at 1024 px the peer still computes 384x384 while we "
            "compute 16x as many pixels (table in section 1).",
            "",
        ]
    lines += contention_lines(contention)
    lines += [
        "What decides the ratio, precisely:",
        "",
        "- **Resolution.** The peer never computes at 512 px: its transformer runs at 384x384 and the result "
        "is upscaled with Lanczos (softer). We compute every output pixel: for a square "
        "512 px output 1.8x the peer's pixels, for a 3:2 photo (512x341) 1.2x. Our time grows with the "
        "photo's area while the peer's stays flat (per-photo tables).",
        arithmetic_bullet(levers),
        "- **Threads.** With two threads our convolutions use both cores; the peer gains little from a "
        "second thread. So the wall-clock ratio with default threads is lower than the one-thread CPU-time ratio.",
        "- **Levers that remain**: a narrower residual trunk or depthwise-separable residual convs (needs "
        "retraining), and caching: with cached style codes the service already skips our style encoder.",
        "",
    ]
    return lines


def load_rows(load: dict[str, Any], label: str) -> list[str]:
    rows = []
    for r in load["results"]:
        rows.append(
            f"| {r['workers']} ({r['torch_threads_per_worker']}){label} | {r['users']} | {r['measured_seconds']:.0f} "
            f"| {r['finished']} | {r['failed']} | **{r['lost']}** | {r['rejected_429']} "
            f"| {r['throughput_jobs_per_s']:.2f} | {r['latency_p50_s']:.2f} s | {r['latency_p95_s']:.2f} s "
            f"| {r['latency_p99_s']:.2f} s | {ms(r['model_median_s'])} | {load_note(r['load_average_before'])} → "
            f"{load_note(r['load_average_after'])} |"
        )
    return rows


def overhead_parts(overhead: dict[str, Any]) -> list[str]:
    """The one-job overhead split by where it is spent, from service_latency.py's medians."""
    submit = overhead["api_submit_median_s"]
    run, model, alone = (
        overhead["worker_run_median_s"],
        overhead["worker_model_median_s"],
        overhead["model_alone_stylize_median_s"],
    )
    rest = overhead["api_end_to_end_median_s"] - submit - run
    return [
        f"- submitting (upload, decoding and checking the image, storing it as PNG, enqueueing): {ms(submit)};",
        f"- in the worker around the model (reading and decoding the input, encoding and storing the result, "
        f"progress and RQ's bookkeeping): {ms(run - model)};",
        f"- the model in the worker against the model alone in one process: {ms(model - alone)};",
        f"- the rest (the queue's hand-over, the client hearing of the end, fetching the image): {ms(rest)}.",
    ]


def service_section(
    load: dict[str, Any] | None,
    overhead: dict[str, Any] | None,
    passive: dict[str, Any] | None,
    encodings: dict[str, Any] | None,
    folder: Path,
) -> list[str]:
    lines = ["## 4. The service: API + queue overhead and a load test", ""]
    if overhead:
        waits = overhead.get("client") == "wait"  # files from before ?wait= existed polled every 10 ms
        lines += [
            f"One job at a time (`{overhead['command']}`, {overhead['what']}; load {overhead.get('load_average')}):",
            "",
            f"| end to end (submit, {'wait' if waits else 'poll'}, fetch) | worker run | worker model | model alone "
            "| overhead vs model alone |",
            "|---|---|---|---|---|",
            f"| {ms(overhead['api_end_to_end_median_s'])} | {ms(overhead['worker_run_median_s'])} "
            f"| {ms(overhead['worker_model_median_s'])} | {ms(overhead['model_alone_stylize_median_s'])} "
            f"| **{overhead['overhead_percent_of_model_alone']:.0f}%** ({ms(overhead['overhead_median_s'])}) |",
            "",
            "The client "
            + (
                "asks `GET /jobs/{id}?wait=30`, which answers as soon as the worker announces the job's end"
                if waits
                else "polls `GET /jobs/{id}` every 10 ms"
            )
            + "; the target is at most 10%. Where the overhead goes (medians):",
            "",
            *overhead_parts(overhead),
            "",
        ]
        if overhead["overhead_percent_of_model_alone"] > 10:
            lines += [
                f"It is above 10%: a fixed cost of about {ms(overhead['overhead_median_s'])} per job is large next "
                f"to a {ms(overhead['model_alone_stylize_median_s'])} model. The worker encodes the PNG result at "
                "compress_level 1 (`worker/tasks.py`; table below: 11 ms, against 40 ms at Pillow's default level 6, "
                "for 9% more bytes; under 1 ms for JPEG), and the API stores the validated upload as a PNG at level "
                "1 for the worker to decode. Meeting 10% at this model speed would need a result format that costs "
                "nothing to encode and an input handed over without re-encoding.",
                "",
            ]
        lines += notes(folder, "service")
        if encodings:
            lines += [
                f"Encoding the result (`{encodings['command']}`; {encodings['what']}):",
                "",
                "| format | CPU ms | KiB |",
                "|---|---|---|",
                *[f"| {k} | {v['median_ms']:.1f} | {v['median_kib']:.0f} |" for k, v in encodings["results"].items()],
                "",
            ]
    else:
        lines += ["One-job overhead not measured yet: `python bench/load/run_load.py` runs it first.", ""]
    if load:
        lines += [
            f"Load test (`{load['command']}`, {ckpt(load)}; locust {load['locust']} headless on 127.0.0.1; "
            f"{load['job']}; closed loop: each user sends its next job when the previous one ended):",
            "",
            "| workers (torch threads each) | users | seconds | finished | failed | lost | 429 | jobs/s | p50 | p95 "
            "| p99 | worker model median | load before / after |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        lines += load_rows(load, "")
        if passive:
            lines += load_rows(passive, ", OMP_WAIT_POLICY=PASSIVE")
        lines += [
            "",
            "Lost = accepted (202) but never reached finished or failed: jobs still running when locust stopped "
            "were followed through the API until they ended. With tens of users and one or two CPU workers the "
            "queue is long, so latency under load is mostly queueing time (users x model time / workers).",
            "",
            "![load](bench/load.png)",
            "",
        ]
    else:
        lines += ["Load test not run yet: `python bench/load/run_load.py`.", ""]
    return lines


def targets_table(quality: dict[str, Any]) -> list[str]:
    """The quality targets (ours at variation 0, relative to the peer where relative), if the run scored them."""
    if "targets" not in quality:
        return []
    lines = ["The product's quality targets:", "", "| target | measured | goal | met |", "|---|---|---|---|"]
    for name, target in quality["targets"].items():
        lines.append(f"| {name} | {target['value']:.3g} | {target['goal']} | {'yes' if target['met'] else '**no**'} |")
    return lines + [""]


def quality_section(quality: dict[str, Any] | None, folder: Path) -> list[str]:
    lines = ["## 5. Quality on the evaluation set", ""]
    if quality is None:
        return lines + ["Not measured yet: `python bench/quality.py`.", ""]
    s = quality["settings"]
    labels = {
        "content_loss": "content loss ↓",
        "style_loss": "Gram style loss ↓",
        "judge_style_distance": "judge's style distance ↓",
        "edge_correlation": "edge correlation ↑",
        "tone_correlation": "tone correlation ↑",
        "color_distance": "colour distance ↓",
    }
    # Files written before the tone correlation existed lack its column; before the latency column, that one.
    keys = [k for k in labels if k in next(iter(quality["all_pairs"].values()))]
    latency = quality.get("latency_512_seconds")

    def table(summary: dict[str, Any]) -> list[str]:
        timed = " s / image at 512 px |" if latency else ""
        out = [
            "| method | images | " + " | ".join(labels[k] for k in keys) + " |" + timed,
            "|---|---|" + "---|" * len(keys) + ("---|" if latency else ""),
        ]
        for method, row in summary.items():
            cells = " | ".join(f"{row[k]['mean']:.4g} ± {row[k]['stderr']:.2g}" for k in keys)
            if latency:
                # A sample and the deterministic baseline cost what ours at variation 0 does (the same network);
                # Gatys is timed at the table's size.
                same_as_ours = method.startswith("ours") or "AdaIN-like" in method
                seconds = latency.get("ours, variation 0" if same_as_ours else method)
                gatys = "Gatys" in method and quality["gatys_seconds_per_image"]
                cells += (
                    f" | {seconds:.3g}"
                    if seconds is not None
                    else (f" | ({gatys} at {s['max_side']} px)" if gatys else " |")
                )
            out.append(f"| {method} | {row['n']} | {cells} |")
        return out

    published = s.get("adain_checkpoint")

    diversity = quality["diversity"]["ours, variation 1 (samples)"]
    sweeps = quality["interpolation"]
    lines += [
        f"Command: `{quality['command']}` ({quality['seconds_total']:.0f} s, {ckpt(quality)}). "
        f"{s['contents']} photos x {s['styles']} paintings = {s['pairs']} pairs from data/eval (never used in "
        f"training), at {s['max_side']} px. All scores from the checkpoint's own loss network (its frozen VGG "
        "trunk) with training/metrics.py; mean ± standard error over images.",
        "",
        "- content loss: mean squared relu4_1 difference to the photo; Gram style loss: summed over relu1_1 "
        "to relu4_1 against the painting; edge correlation: Pearson correlation of Sobel magnitudes with the "
        "photo; tone correlation: Pearson correlation of the luma's local detail (luma minus an 8 px Gaussian "
        "blur) with the photo's, -1 for a negative; colour distance: total-variation distance of RGB histograms "
        "to the painting; judge's style distance: the relative mean/std distance to the painting on an ImageNet "
        "EfficientNet-Lite0 that training never sees (training/judge.py), so that a loss network's blind spots "
        "cannot pass for style.",
        "- The deterministic AdaIN-like baseline is our model at variation 0"
        + (
            f" from `{s['baseline_checkpoint']}`."
            if s["baseline_checkpoint"]
            else ": no checkpoint trained without KL was given, so its rows equal ours at variation 0 by construction."
        ),
        f"- Gatys: {s['gatys_steps']} Adam steps from the photo with the training losses, only on the "
        f"{s['gatys_pairs']} pairs (photo i, painting i), because each image takes about "
        f"{quality['gatys_seconds_per_image']} s here; the second table compares every method on those pairs.",
        *(
            [
                f"- AdaIN and Linear: the published fast methods, trained on the corpus (`{published}`, "
                f"`{s['linear_checkpoint']}`; docs/baselines.md says how).",
                "- s / image at 512 px: one photo at 512 px with its painting, each method's own call (ours and the "
                "peer encode the painting too), the median of three after a warm-up, on this machine's CPU.",
            ]
            if published
            else []
        ),
        "",
        "All pairs:",
        "",
        *table(quality["all_pairs"]),
        "",
        f"The {s['gatys_pairs']} pairs with Gatys:",
        "",
        *table(quality["gatys_subset"]),
        "",
        *targets_table(quality),
        f"Diversity at variation {s['variation']} ({s['samples']} samples per pair): "
        f"{diversity['mean_abs_pixel_difference_255']['mean']:.1f}/255 mean absolute pixel difference between "
        f"samples, {diversity['mean_relu3_1_distance']['mean']:.3f} mean relu3_1 distance. Every other method "
        "gives one image per pair (diversity 0).",
        "",
        f"Interpolation between two paintings ({sweeps['ours']['sweeps']} sweeps of "
        f"{sweeps['frames_per_sweep']} frames): largest step / mean step "
        f"**{sweeps['ours']['max_over_mean']['mean']:.2f}** for ours (latent blend), "
        f"**{sweeps['peer']['max_over_mean']['mean']:.2f}** for the peer (blend of its style vectors); 1.0 is "
        f"perfectly even. Difference between the sweep's ends: ours "
        f"{sweeps['ours']['endpoint_difference']['mean']:.1f}/255, the peer "
        f"{sweeps['peer']['endpoint_difference']['mean']:.1f}/255.",
        "",
        "![quality](bench/quality.png)",
        "",
        "Contact sheet (rows: the Gatys pairs; columns: photo, painting, ours, two samples, "
        + ("AdaIN, Linear, " if published else "")
        + "the peer, Gatys):",
        "",
        "![contact sheet](quality_contact_sheet.png)",
        "",
        "A sweep from painting A to painting B (top: ours, bottom: the peer):",
        "",
        "![sweep](bench/quality_sweep.png)",
        "",
        *notes(folder, "quality"),
    ]
    return lines


NUMBERS = {4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight"}
DTYPE_LABELS = {"float32": "fp32", "bfloat16": "bf16", "float16": "fp16"}


def gpu_rows(gpu: dict[str, Any]) -> dict[str, dict[int, dict[str, Any]]]:
    """The rows by dtype, then batch."""
    rows: dict[str, dict[int, dict[str, Any]]] = {}
    for r in gpu["rows"]:
        rows.setdefault(r["dtype"], {})[int(r["batch"])] = r
    return rows


def batching_gain(gpu: dict[str, Any]) -> str:
    """'1.9x (fp32) to 3x (fp16)': the largest batch's throughput over one image's, lowest and highest dtype."""
    gains = sorted(
        (by[max(by)]["images_per_s"] / by[min(by)]["images_per_s"], DTYPE_LABELS.get(dtype, dtype))
        for dtype, by in gpu_rows(gpu).items()
    )
    (low, low_dtype), (high, high_dtype) = gains[0], gains[-1]
    return f"{low:.2g}x ({low_dtype}) to {high:.2g}x ({high_dtype})"


def cpu_batching(smoke: dict[str, Any] | None, gpu: dict[str, Any] | None) -> list[str]:
    if smoke is None:
        return []
    lines = [
        "Micro-batching on this CPU (the same script with `--device cpu`: "
        f"`{smoke['command']}`, load {load_note(smoke['machine']['load_average_1_5_15'])}):",
        "",
        "| dtype | batch | images/s at 512x512 |",
        "|---|---|---|",
    ]
    lines += [f"| {r['dtype']} | {r['batch']} | {r['images_per_s']} |" for r in smoke["rows"]]
    on_gpu = (
        f"on the {gpu['device']} above, the largest batch gives {batching_gain(gpu)} the throughput of one image"
        if gpu
        else "on a GPU, batching is what fills the device"
    )
    return lines + [
        "",
        f"The convolutions already run at the CPU's bf16 peak for one image, so a batch has little to amortise here; "
        f"{on_gpu}.",
        "",
    ]


def gpu_section(gpu: dict[str, Any] | None, smoke: dict[str, Any] | None, folder: Path) -> list[str]:
    lines = ["## 6. GPU", ""]
    if gpu is None:
        return (
            lines
            + [
                "**Not measured**: this machine has no CUDA device. `python bench/gpu_throughput.py` measures images "
                "per second at 512x512 with batches of 1-32 in fp32, bf16 and fp16 (the packed generator; "
                "instance norm via group_norm for batches), counts FLOPs with torch.utils.flop_counter and reports "
                "the share of the device's dense peak (`--peak-tflops`, or a table for H100/H200/A100/L4). It "
                "writes docs/bench/gpu.json and gpu.png; `--device cpu` runs it as a smoke test.",
                "",
            ]
            + cpu_batching(smoke, gpu)
        )
    rows = gpu_rows(gpu)
    dtypes = list(rows)
    batches = sorted({batch for by in rows.values() for batch in by})
    flop = gpu["rows"][0]["gflop_per_image"]
    lines += [
        f"`{gpu['command']}` on {gpu['device']} (torch {gpu['machine']['torch']}), {ckpt(gpu)}: {gpu['what']}; "
        f"{flop:.1f} GFLOP per image by torch.utils.flop_counter. Raw rows: [gpu.json](bench/gpu.json).",
        "",
        "![GPU throughput](bench/gpu.png)",
        "",
        "| batch | " + " | ".join(f"{DTYPE_LABELS.get(d, d)} images/s" for d in dtypes) + " |",
        "|---|" + "---|" * len(dtypes),
    ]
    for batch in batches:
        cells = [f"{rows[d][batch]['images_per_s']:.0f}" if batch in rows[d] else "–" for d in dtypes]
        lines.append(f"| {batch} | " + " | ".join(cells) + " |")
    lines += ["", "Share of the dense peak at the largest batch:", ""]
    for d in dtypes:
        top = rows[d][max(rows[d])]
        lines.append(
            f"- {DTYPE_LABELS.get(d, d)}: {top['achieved_tflops']} of {top['peak_tflops']:g} TFLOP/s "
            f"({top['percent_of_peak']:.1f}%), batch {top['batch']}"
        )
    return lines + ["", *notes(folder, "gpu")] + cpu_batching(smoke, gpu)


def commands_section() -> list[str]:
    return [
        "## Reproduce",
        "",
        "From the repository root, with the project's venv (`make setup`); the peer and locust install "
        "themselves on first use (the peer into the venv, locust into bench/load/.venv):",
        "",
        "```sh",
        "python bench/latency.py --json                      # 1: latency + memory, ours vs peer (~5 min)",
        "python bench/latency.py --threads 1 --no-memory --no-speed-work --out docs/bench/one_thread",
        "python bench/speed_levers.py --compile              # 2: per-lever CPU time, one thread",
        "python bench/speed_levers.py --default-allocator",
        "python bench/contention.py                          # 3: the same on a busy machine",
        "python bench/encode_formats.py                      # 4: what encoding a result costs",
        "python bench/load/run_load.py                       # 4: one-job overhead + locust, 1 and 2 workers",
        "python bench/quality.py                             # 5: quality (Gatys makes it slow: ~30+ min)",
        "python bench/gpu_throughput.py                      # 6: only where CUDA exists",
        "python bench/gpu_throughput.py --device cpu --batches 1 2 4 --dtypes bfloat16   # batching on the CPU",
        "python bench/report.py                              # this page, from docs/bench/*.json",
        "```",
        "",
        "`bench/run_all.sh` runs them in this order. The numbers on this page are only as quiet as the machine "
        "was: re-run on an idle machine for clean wall-clock figures. Remarks that no JSON file records go in "
        "docs/bench/notes/machine.md, quality.md and gpu.md, which this page includes verbatim; do not edit the "
        "page itself (a test checks that it is what the report writes).",
        "",
    ]


def tone_note(quality: dict[str, Any]) -> str:
    """' (tone correlation: ours +0.73, the peer +0.77)', or nothing for files older than the measure."""
    rows = quality["all_pairs"]
    ours = next((row for name, row in rows.items() if name.startswith("ours, variation 0")), None)
    peer = next((row for name, row in rows.items() if name.startswith("peer")), None)
    if ours is None or peer is None or "tone_correlation" not in ours:
        return ""
    return (
        f" (tone correlation: ours {ours['tone_correlation']['mean']:+.2f}, "
        f"the peer {peer['tone_correlation']['mean']:+.2f})"
    )


def gpu_headline(gpu: dict[str, Any] | None) -> str:
    if gpu is None:
        return "not measured (no CUDA device here)"
    one = min(gpu["rows"], key=lambda r: (r["batch"], r["dtype"] != "float32"))
    best = max(gpu["rows"], key=lambda r: r["images_per_s"])
    return (
        f"section 6, {gpu['device']}: {one['images_per_s']:.0f} images/s at 512x512 for one image in "
        f"{DTYPE_LABELS.get(one['dtype'], one['dtype'])}, {best['images_per_s']:.0f}/s at batch {best['batch']} in "
        f"{DTYPE_LABELS.get(best['dtype'], best['dtype'])}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", type=Path, default=benchlib.DOCS_BENCH, help="folder of the JSON results")
    parser.add_argument("--page", type=Path, default=PAGE)
    args = parser.parse_args()
    latency = load(args.bench, "latency.json")
    one_thread = load(args.bench, "one_thread/latency.json")
    passive = load(args.bench, "omp_passive/latency.json")
    passive_load = load(args.bench, "omp_passive/load.json")
    levers = load(args.bench, "speed_levers.json")
    default = load(args.bench, "speed_levers_default_allocator.json")
    overhead = load(args.bench, "service_latency.json")
    load_test = load(args.bench, "load.json")
    quality = load(args.bench, "quality.json")
    gpu = load(args.bench, "gpu.json")
    smoke = load(args.bench, "gpu_smoke_cpu.json")
    sources = [s for s in (latency, levers, load_test, quality) if s]
    if not sources:
        print("no results in docs/bench/: run the bench scripts first (see bench/run_all.sh)", file=sys.stderr)
        return 1
    summary = ["# Benchmarks", ""]
    if latency:
        h = latency["headline"]
        summary.append(
            f"- **Latency at 512 px (CPU)**: ours {ms(h['ours_s'])} with the style code cached vs the peer's "
            f"{ms(h['peer_s'])}: ratio **{h['ratio']:.2f}** (default threads of each library)."
        )
        extra = []
        side = (levers or {}).get("eval_set_side_by_side")
        if side:
            extra.append(f"{side['median']['ratio']:.2f} with one thread each (CPU time)")
        if "1024" in latency["sizes"]:
            big = latency["sizes"]["1024"]["methods"]
            extra.append(f"{big[OURS_CACHED]['median_s'] / big[PEER]['median_s']:.2f} at 1024 px")
        if extra:
            summary.append(f"  Not a win everywhere: {'; '.join(extra)} (section 3).")
    if overhead:
        summary.append(
            "- **Service overhead** of one 512 px job through API + queue: "
            f"{overhead['overhead_percent_of_model_alone']:.0f}% of the model time."
        )
    if load_test:
        lost = sum(r["lost"] for r in load_test["results"])
        failed = sum(r["failed"] for r in load_test["results"])
        summary.append(f"- **Load test**: {lost} lost and {failed} failed jobs over all runs.")
    if quality:
        pairs = quality["settings"]["pairs"]
        methods = NUMBERS.get(len(quality["gatys_subset"]), str(len(quality["gatys_subset"])))
        summary.append(f"- **Quality**: {pairs} pairs, {methods} methods, tables in section 5{tone_note(quality)}.")
    summary.append(f"- **GPU**: {gpu_headline(gpu)}.")
    summary.append("")
    page = (
        summary
        + machine_section(sources)
        + notes(args.bench, "machine")
        + latency_section(latency, one_thread, passive)
        + notes(args.bench, "regions")
        + speed_section(latency, levers, default)
        + verdict_section(latency, levers, passive, one_thread, load(args.bench, "contention.json"))
        + service_section(load_test, overhead, passive_load, load(args.bench, "encode_formats.json"), args.bench)
        + quality_section(quality, args.bench)
        + gpu_section(gpu, smoke, args.bench)
        + commands_section()
    )
    args.page.write_text("\n".join(page))
    print(f"wrote {benchlib.relative(args.page)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
