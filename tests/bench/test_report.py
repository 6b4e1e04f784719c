"""bench/report.py writes docs/benchmarks.md from docs/bench/ alone: the JSON results plus the hand-written
notes in docs/bench/notes/, placed in the page's text (bench/templates/benchmarks.md), so re-running it
reproduces the committed page and loses nothing."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "bench" / "report.py"


def write_page(bench: Path, page: Path) -> str:
    subprocess.run(
        [sys.executable, str(REPORT), "--bench", str(bench), "--page", str(page)],
        check=True,
        capture_output=True,
        text=True,
    )
    return page.read_text()


def test_the_committed_page_is_what_the_report_writes(tmp_path: Path) -> None:
    page = write_page(ROOT / "docs" / "bench", tmp_path / "benchmarks.md")
    assert page == (ROOT / "docs" / "benchmarks.md").read_text(), (
        "docs/benchmarks.md differs from `python bench/report.py`'s output: put hand-written text in "
        "docs/bench/notes/SECTION.md or the page's text in bench/templates/benchmarks.md, and re-run the report"
    )


def test_notes_are_kept_verbatim_in_their_section_and_a_missing_gpu_file_says_so(tmp_path: Path) -> None:
    bench = tmp_path / "bench"
    shutil.copytree(ROOT / "docs" / "bench", bench)
    (bench / "gpu.json").unlink()
    (bench / "notes" / "quality.md").write_text("A note about *this* run only.\n")
    page = write_page(bench, tmp_path / "benchmarks.md")

    quality = page[page.index("## 5.") : page.index("## 6.")]
    assert "A note about *this* run only." in quality
    gpu = page[page.index("## 6.") : page.index("## Reproduce")]
    assert "**Not measured**" in gpu
    assert "Measured once" not in gpu  # the GPU notes describe a run whose results are gone: not printed
    assert "- **GPU**: not measured (no CUDA device here)." in page


SECTIONS = ("# Benchmarks", "## The machine", "## 1.", "## 2.", "## 3.", "## 4.", "## 5.", "## 6.", "## Reproduce")


@pytest.mark.parametrize(
    ("missing", "says"),
    [
        ("latency.json", "Not measured yet: run `python bench/latency.py --json`."),
        ("quality.json", "Not measured yet: `python bench/quality.py`."),
        ("load.json", "Load test not run yet: `python bench/load/run_load.py`."),
        ("service_latency.json", "One-job overhead not measured yet"),
        ("speed_levers.json", "well under 1% (tests/model/test_fast_generator.py)"),
    ],
)
def test_each_missing_result_file_leaves_a_page_that_says_how_to_measure_it(
    tmp_path: Path, missing: str, says: str
) -> None:
    bench = tmp_path / "bench"
    shutil.copytree(ROOT / "docs" / "bench", bench)
    (bench / missing).unlink()
    page = write_page(bench, tmp_path / "benchmarks.md")
    assert says in page
    # Only the ratio's section needs the latency file; every other heading stays, in order.
    headings = [s for s in SECTIONS if not (missing == "latency.json" and s == "## 3.")]
    positions = [page.index(f"\n{heading}" if heading != "# Benchmarks" else heading) for heading in headings]
    assert positions == sorted(positions)
