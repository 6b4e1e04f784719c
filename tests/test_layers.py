"""The import rules between the packages (docs/architecture.md) hold, and import-linter would catch a breach."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT

PACKAGES = ("app", "model", "training", "worker", "cli", "formats")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copy(REPO_ROOT / "pyproject.toml", root)
    for package in PACKAGES:
        shutil.copytree(REPO_ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__", "static"))
    return root


def test_the_repository_keeps_its_layers(tmp_path: Path) -> None:
    done = _lint(_copy(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_an_api_module_importing_torch_breaks_the_build(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    (root / "app" / "careless.py").write_text('"""A deliberate breach."""\n\nimport torch  # noqa: F401\n')
    done = _lint(root)
    assert done.returncode != 0
    assert "The API never imports torch" in done.stdout and "app.careless -> torch" in done.stdout


def test_the_model_importing_training_breaks_the_build(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    with open(root / "model" / "config.py", "a") as handle:
        handle.write("\nfrom training import options  # noqa: E402,F401\n")
    done = _lint(root)
    assert done.returncode != 0
    assert "model.config -> training.options" in done.stdout


def test_training_importing_the_api_breaks_the_build(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    with open(root / "training" / "survey_set.py", "a") as handle:
        handle.write("\nfrom app import survey_store  # noqa: E402,F401\n")
    done = _lint(root)
    assert done.returncode != 0
    assert "Training does not import the API" in done.stdout
    assert "training.survey_set -> app.survey_store" in done.stdout


def test_a_file_format_importing_torch_or_the_api_breaks_the_build(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    with open(root / "formats" / "survey_manifest.py", "a") as handle:
        handle.write("\nimport torch  # noqa: E402,F401\n\nfrom app import settings  # noqa: E402,F401\n")
    done = _lint(root)
    assert done.returncode != 0
    assert "The file formats import none of the other packages" in done.stdout
    assert "formats.survey_manifest -> torch" in done.stdout
    assert "formats.survey_manifest -> app.settings" in done.stdout
