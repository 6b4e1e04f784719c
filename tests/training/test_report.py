"""training.report: the moving average against its formula, and the arms' comparison figure."""

from __future__ import annotations

import csv
import math
import subprocess
import sys
from pathlib import Path

from PIL import Image

from training.report import logged_points, parse_compare, read_metrics, smooth


def test_smooth_is_a_trailing_mean_over_the_window() -> None:
    values = [1.0, 3.0, 5.0, 7.0, 9.0]
    # window 2: the first value alone, then the mean of each value and the one before it
    assert smooth(values, 2) == [1.0, 2.0, 4.0, 6.0, 8.0]
    assert smooth(values, 10) == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_parse_compare_names_runs_or_uses_the_folder() -> None:
    assert parse_compare(["base=runs/x/base", "runs/x/ours"]) == {
        "base": Path("runs/x/base"),
        "ours": Path("runs/x/ours"),
    }


def write_metrics(run: Path, kl: float, resumed_without_kl: bool = False) -> None:
    run.mkdir(parents=True)
    with open(run / "metrics.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["step", "content", "style", "color", "kl"])
        for step in range(30):
            writer.writerow([step, 1 / (step + 1), 2 / (step + 1), 0.1, "" if resumed_without_kl and step < 5 else kl])


def test_compare_draws_one_figure_of_all_runs(tmp_path: Path) -> None:
    write_metrics(tmp_path / "base", kl=500.0)
    write_metrics(tmp_path / "ours", kl=60.0, resumed_without_kl=True)
    out = tmp_path / "figs"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "training.report",
            "--compare",
            f"base={tmp_path / 'base'}",
            str(tmp_path / "ours"),
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    assert sorted(p.name for p in out.iterdir()) == ["arms_curves.png"]  # nothing else is written
    with Image.open(out / "arms_curves.png") as image:
        assert image.width > 2 * image.height  # four panels side by side
    columns = read_metrics(tmp_path / "ours" / "metrics.csv")
    assert math.isnan(columns["kl"][0])
    steps, values = logged_points(columns, "kl")  # what is drawn: the rows that logged the term
    assert steps[0] == 5 and len(values) == 25 and not any(math.isnan(v) for v in smooth(values, 20))
