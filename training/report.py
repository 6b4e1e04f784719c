"""Training report figures: the loss curves of a run, its latest sample grid, and a JSON summary.

``python -m training.report --run runs/default`` writes ``loss_curve.png``, ``samples_latest.png`` and
``run_summary.json`` into ``RUN/report`` (or ``--out``). ``--until N`` keeps what the run had done after N steps
and leaves out the rest (e.g. a leg that was tried and not shipped): metrics.csv counts steps from 0, so
its rows below N, and the sample grids, named by steps completed, up to N; ``--checkpoint`` names the shipped file when
it is not the run's own ``model.safetensors`` (e.g. an average of its snapshots).

``--compare NAME=RUN …`` instead draws several runs' smoothed curves on shared axes (``arms_curves.png``).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import shutil
from pathlib import Path

from training.train import checkpoint_summary

TERMS = ("loss", "content", "style", "mean_std", "color", "tone", "triplet", "kl", "diversity")


def read_metrics(path: Path, until: int | None = None) -> dict[str, list[float]]:
    """metrics.csv -> column lists of the steps before ``until``. Rows repeated by a resume keep the last."""
    rows: dict[int, dict[str, str]] = {}
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            if until is None or int(row["step"]) < until:
                rows[int(row["step"])] = row
    ordered = [rows[step] for step in sorted(rows)]
    # Empty cells (a term added when the run was resumed) read as NaN: plotted as a gap, not as zero.
    return {key: [float(r[key]) if r[key] else math.nan for r in ordered] for key in ordered[0]} if ordered else {}


def join_metrics(before: dict[str, list[float]], after: dict[str, list[float]]) -> dict[str, list[float]]:
    """The columns of a run that was branched from another (``vst train --init-from``) after the source's
    columns for the steps before the branch; a term only one side logged reads as NaN on the other."""
    first = after["step"][0] if after.get("step") else math.inf
    kept = [i for i, step in enumerate(before.get("step", [])) if step < first]
    rows_after = len(after.get("step", []))
    keys = list(before) + [key for key in after if key not in before]
    return {
        key: ([before[key][i] for i in kept] if key in before else [math.nan] * len(kept))
        + (after[key] if key in after else [math.nan] * rows_after)
        for key in keys
    }


def smooth(values: list[float], window: int) -> list[float]:
    """Trailing moving average, so that the noisy per-step losses show their trend."""
    out, total = [], 0.0
    for index, value in enumerate(values):
        total += value
        if index >= window:
            total -= values[index - window]
        out.append(total / min(index + 1, window))
    return out


def logged_points(columns: dict[str, list[float]], term: str) -> tuple[list[float], list[float]]:
    """The steps and values where ``term`` was logged: a NaN (not logged) would poison a moving average."""
    logged = [
        (step, value) for step, value in zip(columns["step"], columns[term], strict=True) if not math.isnan(value)
    ]
    return [p[0] for p in logged], [p[1] for p in logged]


def plot_losses(columns: dict[str, list[float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 5, figsize=(18, 6), sharex=True)
    for axis in axes.flat[len(TERMS) :]:
        axis.set_visible(False)
    for axis, term in zip(axes.flat, TERMS, strict=False):
        if term not in columns:
            continue
        steps, values = logged_points(columns, term)
        axis.plot(steps, values, color="#bbbbbb", linewidth=0.6, label="logged")
        axis.plot(steps, smooth(values, 10), color="#1f5fa8", linewidth=1.5, label="moving average")
        axis.set_title(term if term != "loss" else "total (weighted)")
        axis.grid(alpha=0.3)
    for axis in axes[-1]:
        axis.set_xlabel("step")
    axes.flat[0].legend(fontsize=8)
    fig.suptitle("Training losses (content, style, mean/std and colour normalised to about 1 at the start)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# tone: 1 - the batch's tone correlation; towards 2, the run is painting negatives.
COMPARED = ("content", "style", "color", "tone", "kl")


def plot_runs(runs: dict[str, dict[str, list[float]]], path: Path, window: int = 20) -> None:
    """Several runs' moving averages of the losses that the arms of an ablation differ in, one panel each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(COMPARED), figsize=(4 * len(COMPARED), 3.6), sharex=True)
    for axis, term in zip(axes, COMPARED, strict=True):
        for name, columns in runs.items():
            if term in columns:
                steps, values = logged_points(columns, term)
                axis.plot(steps, smooth(values, window), linewidth=1.3, label=name)
        axis.set_title(term)
        axis.set_xlabel("step")
        axis.grid(alpha=0.3)
    axes[-1].set_yscale("log")  # the baseline's unconstrained code sits an order of magnitude above the others
    axes[0].legend(fontsize=8)
    fig.suptitle(f"Training losses, moving average of {window} logged rows (training crops, not held-out pairs)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def parse_compare(items: list[str]) -> dict[str, Path]:
    """``NAME=RUN`` items -> {NAME: RUN}; a bare RUN is named after its folder."""
    named = {}
    for item in items:
        name, sep, run = item.partition("=")
        named[name if sep else Path(item).name] = Path(run if sep else item)
    return named


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run", type=Path, default=Path("runs/default"))
    parser.add_argument("--out", type=Path, default=None, help="default: RUN/report")
    parser.add_argument("--until", type=int, default=None, help="keep the run as it was after N steps", metavar="N")
    parser.add_argument("--checkpoint", type=Path, default=None, help="default: the run's model.safetensors")
    parser.add_argument(
        "--before",
        type=Path,
        default=None,
        metavar="RUN",
        help="the run this one branched from (--init-from): its curves up to the branch are drawn first",
    )
    parser.add_argument(
        "--compare",
        nargs="+",
        default=None,
        metavar="NAME=RUN",
        help="draw these runs' curves together into OUT/arms_curves.png (nothing else is written)",
    )
    args = parser.parse_args()
    if args.out is None:
        args.out = args.run / "report"
    args.out.mkdir(parents=True, exist_ok=True)
    if args.compare:
        runs = {name: read_metrics(run / "metrics.csv") for name, run in parse_compare(args.compare).items()}
        plot_runs(runs, args.out / "arms_curves.png")
        print(args.out / "arms_curves.png")
        return
    columns = read_metrics(args.run / "metrics.csv", args.until)
    if args.before is not None:
        columns = join_metrics(read_metrics(args.before / "metrics.csv"), columns)
    plot_losses(columns, args.out / "loss_curve.png")
    grids = [
        grid
        for grid in sorted((args.run / "samples").glob("step_*.png"))
        if args.until is None or int(grid.stem.removeprefix("step_")) <= args.until
    ]
    if grids:
        shutil.copy(grids[-1], args.out / "samples_latest.png")
    summary = checkpoint_summary(args.checkpoint or args.run / "model.safetensors")
    present = {term: [v for v in columns[term] if not math.isnan(v)] for term in TERMS if term in columns}
    tail = {term: sum(values[-20:]) / len(values[-20:]) for term, values in present.items() if values}
    summary["last_20_logged_means"] = tail
    (args.out / "run_summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps({"steps": summary.get("steps"), "hours": summary.get("train_seconds", 0) / 3600, **tail}))


if __name__ == "__main__":
    main()
