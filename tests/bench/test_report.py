"""bench/report.py writes docs/benchmarks.md from docs/bench/ alone: the JSON results plus the hand-written
notes in docs/bench/notes/, so re-running it reproduces the committed page and loses nothing."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

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
        "docs/bench/notes/SECTION.md and re-run the report"
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
