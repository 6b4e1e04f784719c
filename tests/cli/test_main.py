"""`vst` errors are one line and exit code 2, whichever way it is started."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import main as vst_main

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_python_dash_m_cli_main_reports_errors_in_one_line(tmp_path: Path) -> None:
    """The recipes start `python -m cli.main`: there the module is __main__, and its CliError once escaped
    as a traceback because cli.commands raises cli.main's class."""
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "stylize", str(broken), str(broken), "-o", str(tmp_path / "out.png")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert "Traceback" not in done.stderr
    assert lines[-1].startswith("vst stylize: error: cannot read image")


def test_the_console_entry_point_reports_the_same(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    assert vst_main(["stylize", str(broken), str(broken), "-o", str(tmp_path / "out.png")]) == 2
    assert capsys.readouterr().err.startswith("vst stylize: error: cannot read image")
