"""Write docs/benchmarks.md from the JSON files that the bench scripts left in docs/bench/.

    python bench/report.py

Every number in the page comes from those files; sections whose file is missing say how to produce it.
The page's text is the template bench/templates/benchmarks.md; this script turns the files into the
numbers and tables that the template places, and the hand-written notes (docs/bench/notes/) go in verbatim.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import benchlib
import jinja2

from formats.pages import markdown_environment

PAGE = benchlib.REPO_ROOT / "docs" / "benchmarks.md"
TEMPLATES = Path(__file__).resolve().parent / "templates"
TEMPLATE = "benchmarks.md"
OURS_CACHED, OURS_WITH_STYLE = "ours (style code cached)", "ours (+ style encoding)"
PEER, PEER_CACHED = "peer stylize_with", "peer (style vector cached)"
OURS_REGIONS = "ours, two regions (codes cached)"
NUMBERS = {4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight"}
DTYPE_LABELS = {"float32": "fp32", "bfloat16": "bf16", "float16": "fp16"}
NOTES = ("machine", "regions", "service", "quality", "gpu")
QUALITY_LABELS = {
    "content_loss": "content loss ↓",
    "style_loss": "Gram style loss ↓",
    "judge_style_distance": "judge's style distance ↓",
    "edge_correlation": "edge correlation ↑",
    "tone_correlation": "tone correlation ↑",
    "color_distance": "colour distance ↓",
}


def load(folder: Path, name: str) -> dict[str, Any] | None:
    path = folder / name
    return json.loads(path.read_text()) if path.exists() else None


# --- Numbers as the page prints them (the template's filters).


def cmd(data: dict[str, Any]) -> str:
    """The recorded command, with the environment variable that changed the run (if any) in front."""
    policy = (data.get("machine") or {}).get("omp_wait_policy", "default")
    prefix = f"OMP_WAIT_POLICY={policy} " if policy not in ("default", None) else ""
    return f"`{prefix}{data['command']}`"


def ms(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds * 1000:.0f} ms"


def load_note(values: list[float] | None) -> str:
    return "?" if not values else " / ".join(f"{v:.1f}" for v in values)


def fmt(value: float, spec: str) -> str:
    return format(value, spec)


def dtype_label(dtype: str) -> str:
    return DTYPE_LABELS.get(dtype, dtype)


def notes(folder: Path, section: str) -> str:
    """Hand-written prose for a section (``docs/bench/notes/SECTION.md``), kept verbatim and followed by a blank
    line: what no JSON file records (where and when a one-off run happened, what a number means), so that
    re-running this script never drops it. Empty when the file is missing."""
    path = folder / "notes" / f"{section}.md"
    return path.read_text().rstrip("\n") + "\n\n" if path.exists() else ""


# --- Tables.


def table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A Markdown table; cells are printed as given."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def by_area(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with a ``size`` of "WxH", smallest area first."""
    return sorted(rows, key=lambda r: int(r["size"].split("x")[0]) * int(r["size"].split("x")[1]))


def medians(row: dict[str, Any]) -> dict[str, float]:
    return {name: method["median_s"] for name, method in row["methods"].items()}


def latency_table(latency: dict[str, Any], style_ratio: bool = True) -> str:
    """Median time per size for ours and the peer; ``style_ratio`` adds ours with the style's encoding against
    the peer."""
    header = [
        "size",
        OURS_CACHED,
        OURS_WITH_STYLE,
        PEER,
        PEER_CACHED,
        "ours cached / peer",
        *(["ours + style / peer"] if style_ratio else []),
        "load after",
    ]
    rows = []
    for side, row in latency["sizes"].items():
        m = medians(row)
        rows.append(
            [
                f"{side} px",
                ms(m[OURS_CACHED]),
                ms(m[OURS_WITH_STYLE]),
                ms(m[PEER]),
                ms(m[PEER_CACHED]),
                f"**{m[OURS_CACHED] / m[PEER]:.2f}**",
                *([f"{m[OURS_WITH_STYLE] / m[PEER]:.2f}"] if style_ratio else []),
                load_note(row["load_average_after"]),
            ]
        )
    return table(header, rows)


def regions(latency: dict[str, Any]) -> list[dict[str, Any]]:
    """Two regions against one style, per size that measured them."""
    out = []
    for side, row in latency["sizes"].items():
        if OURS_REGIONS in row["methods"]:
            two, one = row["methods"][OURS_REGIONS]["median_s"], row["methods"][OURS_CACHED]["median_s"]
            out.append({"side": side, "two": two, "one": one, "ratio": two / one})
    return out


def per_image_table(latency: dict[str, Any]) -> str:
    per_image = latency["sizes"].get("512", {}).get("per_image")
    if not per_image:
        return ""
    rows = [
        [
            item["size"],
            ms(item["ours_cached_median_s"]),
            ms(item["peer_median_s"]),
            f"{item['ours_cached_median_s'] / item['peer_median_s']:.2f}",
        ]
        for item in by_area(per_image)
    ]
    return table(["output size", "ours (cached)", "peer", "ratio"], rows)


def memory_table(latency: dict[str, Any]) -> str:
    memory = latency.get("memory")
    if not memory:
        return ""
    header = [
        "size",
        "ours: after imports",
        "ours: model loaded",
        "ours: peak",
        "peer: after imports",
        "peer: loaded",
        "peer: peak",
    ]
    rows = []
    for side, by in memory.items():
        o, p = by["ours"], by["peer"]
        rows.append(
            [
                f"{side} px",
                f"{o.get('rss_after_imports_mib', '–')} MiB",
                f"{o['rss_loaded_mib']} MiB",
                f"**{o['peak_rss_mib']} MiB**",
                f"{p.get('rss_after_imports_mib', '–')} MiB",
                f"{p['rss_loaded_mib']} MiB",
                f"**{p['peak_rss_mib']} MiB**",
            ]
        )
    return table(header, rows)


def variant_table(data: dict[str, Any] | None) -> str:
    """The latency table of a run with other threads or another OpenMP wait policy."""
    return latency_table(data, style_ratio=False) if data else ""


def levers_table(levers: dict[str, Any] | None, default: dict[str, Any] | None) -> str:
    if not levers:
        return ""
    rows = dict(levers["generator"])
    if default:
        before = default["generator"].get("nn.Module, fp32 (before)")
        if before:
            rows = {"nn.Module, fp32, glibc's default allocator (the true before)": before} | rows
    cells = [
        [name, f"{row['median_s'] * 1000:.0f}", f"{row['mean_abs_diff_255']:.2f} / {row['max_abs_diff_255']:.1f}"]
        for name, row in rows.items()
    ]
    peer = levers["peer_one_thread"]["stylize_with"]["median_s"]
    cells.append(["the peer's stylize_with, same photo, one thread", f"{peer * 1000:.0f}", "–"])
    return table(["variant", "CPU ms", "mean / max abs difference to fp32, grey levels"], cells)


def speed_work_table(work: dict[str, Any] | None) -> str:
    if not work:
        return ""
    rows = [
        [name, ms(row["median_s"]), f"{row['mean_abs_diff_255']:.2f} / {row['max_abs_diff_255']:.0f}"]
        for name, row in work.items()
        if isinstance(row, dict)
    ]
    return table(["variant", "median", "mean / max abs difference to fp32 on one photo, grey levels"], rows)


def ratio_table(latency: dict[str, Any], passive: dict[str, Any] | None, side: dict[str, Any] | None) -> str:
    headline = latency["headline"]
    rows = [
        [
            "wall-clock, default threads (`bench/latency.py --json`, the headline)",
            ms(headline["ours_s"]),
            ms(headline["peer_s"]),
            f"**{headline['ratio']:.2f}**",
        ]
    ]
    if passive:
        p = medians(passive["sizes"]["512"])
        rows.append(
            ["wall-clock, OMP_WAIT_POLICY=PASSIVE", ms(p[OURS_CACHED]), ms(p[PEER]), f"{p[OURS_CACHED] / p[PEER]:.2f}"]
        )
    if side:
        m = side["median"]
        rows.append(
            [
                "CPU time of one thread, same calls, all evaluation photos (`bench/speed_levers.py`)",
                ms(m["ours_s"]),
                ms(m["peer_s"]),
                f"{m['ratio']:.2f}",
            ]
        )
    return table(["measurement", "ours (cached style code)", "peer", "ratio"], rows)


def per_photo_table(side: dict[str, Any] | None) -> str:
    if not side:
        return ""
    rows = [
        [row["size"], ms(row["ours_s"]), ms(row["peer_s"]), f"{row['ours_s'] / row['peer_s']:.2f}"]
        for row in by_area(side["per_photo"])
    ]
    return table(["output size", "ours", "peer", "ratio"], rows)


def thread_scaling(latency: dict[str, Any], one_thread: dict[str, Any] | None) -> dict[str, float] | None:
    """How much faster two threads are than one, wall-clock at 512 px, for ours and the peer."""
    if not one_thread or "512" not in one_thread["sizes"]:
        return None
    single, both = medians(one_thread["sizes"]["512"]), medians(latency["sizes"]["512"])
    return {"ours": single[OURS_CACHED] / both[OURS_CACHED], "peer": single[PEER] / both[PEER]}


def contention_table(contention: dict[str, Any] | None) -> str:
    if contention is None:
        return ""
    rows = [
        [name, ms(r["median_s"]), f"{ms(r['p25_s'])} – {ms(r['p75_s'])}"] for name, r in contention["results"].items()
    ]
    return table(["configuration", "median", "p25 – p75"], rows)


def overhead_table(overhead: dict[str, Any] | None) -> str:
    if not overhead:
        return ""
    header = [
        f"end to end (submit, {'wait' if waits(overhead) else 'poll'}, fetch)",
        "worker run",
        "worker model",
        "model alone",
        "overhead vs model alone",
    ]
    row = [
        ms(overhead["api_end_to_end_median_s"]),
        ms(overhead["worker_run_median_s"]),
        ms(overhead["worker_model_median_s"]),
        ms(overhead["model_alone_stylize_median_s"]),
        f"**{overhead['overhead_percent_of_model_alone']:.0f}%** ({ms(overhead['overhead_median_s'])})",
    ]
    return table(header, [row])


def waits(overhead: dict[str, Any]) -> bool:
    """Whether the client waited on the job (``?wait=``); files from before that existed polled every 10 ms."""
    return overhead.get("client") == "wait"


def overhead_parts(overhead: dict[str, Any] | None) -> dict[str, float]:
    """The one-job overhead split by where it is spent, from service_latency.py's medians (seconds)."""
    if not overhead:
        return {}
    submit, run = overhead["api_submit_median_s"], overhead["worker_run_median_s"]
    model, alone = overhead["worker_model_median_s"], overhead["model_alone_stylize_median_s"]
    return {
        "submit": submit,
        "around_model": run - model,
        "model": model - alone,
        "rest": overhead["api_end_to_end_median_s"] - submit - run,
    }


def encodings_table(encodings: dict[str, Any] | None) -> str:
    if not encodings:
        return ""
    rows = [[k, f"{v['median_ms']:.1f}", f"{v['median_kib']:.0f}"] for k, v in encodings["results"].items()]
    return table(["format", "CPU ms", "KiB"], rows)


def load_rows(load: dict[str, Any], label: str) -> list[list[str]]:
    return [
        [
            f"{r['workers']} ({r['torch_threads_per_worker']}){label}",
            r["users"],
            f"{r['measured_seconds']:.0f}",
            r["finished"],
            r["failed"],
            f"**{r['lost']}**",
            r["rejected_429"],
            f"{r['throughput_jobs_per_s']:.2f}",
            f"{r['latency_p50_s']:.2f} s",
            f"{r['latency_p95_s']:.2f} s",
            f"{r['latency_p99_s']:.2f} s",
            ms(r["model_median_s"]),
            f"{load_note(r['load_average_before'])} → {load_note(r['load_average_after'])}",
        ]
        for r in load["results"]
    ]


def load_table(load: dict[str, Any] | None, passive: dict[str, Any] | None) -> str:
    if not load:
        return ""
    header = [
        "workers (torch threads each)",
        "users",
        "seconds",
        "finished",
        "failed",
        "lost",
        "429",
        "jobs/s",
        "p50",
        "p95",
        "p99",
        "worker model median",
        "load before / after",
    ]
    rows = load_rows(load, "")
    if passive:
        rows += load_rows(passive, ", OMP_WAIT_POLICY=PASSIVE")
    return table(header, rows)


def quality_table(quality: dict[str, Any], summary: dict[str, Any]) -> str:
    """One row per method: mean ± standard error of each score, and seconds per image where the run timed it."""
    # Files written before the tone correlation existed lack its column; before the latency column, that one.
    keys = [k for k in QUALITY_LABELS if k in next(iter(quality["all_pairs"].values()))]
    latency = quality.get("latency_512_seconds")
    header = ["method", "images", *(QUALITY_LABELS[k] for k in keys)]
    if latency:
        header.append("s / image at 512 px")
    rows = []
    for method, row in summary.items():
        cells = [method, row["n"], *(f"{row[k]['mean']:.4g} ± {row[k]['stderr']:.2g}" for k in keys)]
        if latency:
            # A sample and the deterministic baseline cost what ours at variation 0 does (the same network);
            # Gatys is timed at the table's size.
            same_as_ours = method.startswith("ours") or "AdaIN-like" in method
            seconds = latency.get("ours, variation 0" if same_as_ours else method)
            gatys = "Gatys" in method and quality["gatys_seconds_per_image"]
            max_side = quality["settings"]["max_side"]
            cells.append(f"{seconds:.3g}" if seconds is not None else (f"({gatys} at {max_side} px)" if gatys else ""))
        rows.append(cells)
    return table(header, rows)


def targets_table(quality: dict[str, Any]) -> str:
    """The quality targets (ours at variation 0, relative to the peer where relative), if the run scored them."""
    if "targets" not in quality:
        return ""
    rows = [
        [name, f"{target['value']:.3g}", target["goal"], "yes" if target["met"] else "**no**"]
        for name, target in quality["targets"].items()
    ]
    return table(["target", "measured", "goal", "met"], rows)


def gpu_rows(gpu: dict[str, Any]) -> dict[str, dict[int, dict[str, Any]]]:
    """The rows by dtype, then batch."""
    rows: dict[str, dict[int, dict[str, Any]]] = {}
    for r in gpu["rows"]:
        rows.setdefault(r["dtype"], {})[int(r["batch"])] = r
    return rows


def gpu_table(gpu: dict[str, Any]) -> str:
    rows = gpu_rows(gpu)
    dtypes = list(rows)
    batches = sorted({batch for by in rows.values() for batch in by})
    cells = [
        [batch, *(f"{rows[d][batch]['images_per_s']:.0f}" if batch in rows[d] else "–" for d in dtypes)]
        for batch in batches
    ]
    return table(["batch", *(f"{dtype_label(d)} images/s" for d in dtypes)], cells)


def batching_gain(gpu: dict[str, Any]) -> str:
    """'1.9x (fp32) to 3x (fp16)': the largest batch's throughput over one image's, lowest and highest dtype."""
    gains = sorted(
        (by[max(by)]["images_per_s"] / by[min(by)]["images_per_s"], dtype_label(dtype))
        for dtype, by in gpu_rows(gpu).items()
    )
    (low, low_dtype), (high, high_dtype) = gains[0], gains[-1]
    return f"{low:.2g}x ({low_dtype}) to {high:.2g}x ({high_dtype})"


def smoke_table(smoke: dict[str, Any]) -> str:
    return table(
        ["dtype", "batch", "images/s at 512x512"], [[r["dtype"], r["batch"], r["images_per_s"]] for r in smoke["rows"]]
    )


def tone(quality: dict[str, Any]) -> dict[str, float] | None:
    """Ours' and the peer's tone correlation, or None for files older than the measure."""
    rows = quality["all_pairs"]
    ours = next((row for name, row in rows.items() if name.startswith("ours, variation 0")), None)
    peer = next((row for name, row in rows.items() if name.startswith("peer")), None)
    if ours is None or peer is None or "tone_correlation" not in ours:
        return None
    return {"ours": ours["tone_correlation"]["mean"], "peer": peer["tone_correlation"]["mean"]}


# --- The page.


def context(folder: Path) -> dict[str, Any] | None:
    """Everything the template uses, from the files in ``folder``; None when there are no results at all."""
    latency = load(folder, "latency.json")
    one_thread = load(folder, "one_thread/latency.json")
    passive = load(folder, "omp_passive/latency.json")
    passive_load = load(folder, "omp_passive/load.json")
    levers = load(folder, "speed_levers.json")
    default = load(folder, "speed_levers_default_allocator.json")
    overhead = load(folder, "service_latency.json")
    load_test = load(folder, "load.json")
    quality = load(folder, "quality.json")
    gpu = load(folder, "gpu.json")
    smoke = load(folder, "gpu_smoke_cpu.json")
    contention = load(folder, "contention.json")
    encodings = load(folder, "encode_formats.json")
    sources = [s for s in (latency, levers, load_test, quality) if s]
    if not sources:
        return None
    side = (levers or {}).get("eval_set_side_by_side")
    big = latency["sizes"].get("1024") if latency else None
    gpu_by_dtype = gpu_rows(gpu) if gpu else {}
    t = {
        "latency": latency_table(latency) if latency else "",
        "per_image": per_image_table(latency) if latency else "",
        "memory": memory_table(latency) if latency else "",
        "one_thread": variant_table(one_thread),
        "passive": variant_table(passive),
        "levers": levers_table(levers, default),
        "speed_work": speed_work_table((latency or {}).get("speed_work")),
        "ratio": ratio_table(latency, passive, side) if latency else "",
        "per_photo": per_photo_table(side),
        "contention": contention_table(contention),
        "overhead": overhead_table(overhead),
        "encodings": encodings_table(encodings),
        "load_test": load_table(load_test, passive_load),
        "all_pairs": quality_table(quality, quality["all_pairs"]) if quality else "",
        "gatys_subset": quality_table(quality, quality["gatys_subset"]) if quality else "",
        "targets": targets_table(quality) if quality else "",
        "gpu": gpu_table(gpu) if gpu else "",
        "smoke": smoke_table(smoke) if smoke else "",
    }
    residual_conv = ((levers or {}).get("residual_conv")) or {}
    return {
        "t": t,
        "notes": {section: notes(folder, section) for section in NOTES},
        "machine": sources[0]["machine"],
        "checkpoint": sources[0].get("checkpoint", {}),
        "latency": latency,
        "one_thread": one_thread,
        "passive": passive,
        "levers": levers,
        "overhead": overhead,
        "load_test": load_test,
        "quality": quality,
        "gpu": gpu,
        "smoke": smoke,
        "contention": contention,
        "encodings": encodings,
        "side": side,
        "ratio_1024": big["methods"][OURS_CACHED]["median_s"] / big["methods"][PEER]["median_s"] if big else None,
        "regions": regions(latency) if latency else [],
        "speed_work": (latency or {}).get("speed_work"),
        "scaling": thread_scaling(latency, one_thread) if latency else None,
        "code_change": ((levers or {}).get("style_encoder") or {}).get("relative_code_change_bf16"),
        "residual_conv": [(name, row) for name, row in residual_conv.items() if isinstance(row, dict)],
        "overhead_waits": waits(overhead) if overhead else False,
        "overhead_parts": overhead_parts(overhead),
        "load_lost": sum(r["lost"] for r in load_test["results"]) if load_test else 0,
        "load_failed": sum(r["failed"] for r in load_test["results"]) if load_test else 0,
        "quality_methods": NUMBERS.get(len(quality["gatys_subset"]), str(len(quality["gatys_subset"])))
        if quality
        else "",
        "tone": tone(quality) if quality else None,
        "published": quality["settings"].get("adain_checkpoint") if quality else None,
        "diversity": quality["diversity"]["ours, variation 1 (samples)"] if quality else None,
        "gpu_one": min(gpu["rows"], key=lambda r: (r["batch"], r["dtype"] != "float32")) if gpu else None,
        "gpu_best": max(gpu["rows"], key=lambda r: r["images_per_s"]) if gpu else None,
        "gpu_peaks": [by[max(by)] for by in gpu_by_dtype.values()],
        "batching_gain": batching_gain(gpu) if gpu else "",
    }


def environment() -> jinja2.Environment:
    env = markdown_environment(TEMPLATES)
    env.filters.update(ms=ms, fmt=fmt, load_note=load_note, cmd=cmd, dtype=dtype_label, dumps=json.dumps)
    return env


def render(folder: Path) -> str | None:
    values = context(folder)
    return None if values is None else environment().get_template(TEMPLATE).render(values)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", type=Path, default=benchlib.DOCS_BENCH, help="folder of the JSON results")
    parser.add_argument("--page", type=Path, default=PAGE)
    args = parser.parse_args()
    page = render(args.bench)
    if page is None:
        print("no results in docs/bench/: run the bench scripts first (see bench/run_all.sh)", file=sys.stderr)
        return 1
    args.page.write_text(page)
    print(f"wrote {benchlib.relative(args.page)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
