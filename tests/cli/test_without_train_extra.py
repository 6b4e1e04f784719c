"""With only the model extra installed, `vst stylize` works and the training commands say what to install.

The train extra's packages are hidden from a child interpreter (their top-level modules set to None in
sys.modules), which is how Python behaves when they are not installed; installing a second environment here
would take minutes.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

from app.images import MIN_CONTENT_SIDE

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTENT = REPO_ROOT / "data" / "eval" / "content" / "kodak_kodim02.jpg"
STYLE = REPO_ROOT / "data" / "eval" / "style" / "picabia_udnie.jpg"


def _distribution(requirement: str) -> str:
    return re.split(r"[\s\[=<>!~;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def train_only_modules() -> list[str]:
    """Top-level modules of the distributions that the train extra adds to the model extra."""
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    added = (
        {_distribution(r) for r in extras["train"]} - {_distribution(r) for r in extras["model"]} - {project["name"]}
    )
    modules = [
        module
        for module, distributions in packages_distributions().items()
        if any(d.lower().replace("_", "-") in added for d in distributions) and module.isidentifier()
    ]
    assert "simple_parsing" in modules and "torchvision" in modules, modules
    return sorted(modules)


def _vst(*args: str) -> subprocess.CompletedProcess[str]:
    hide = "".join(f"sys.modules[{module!r}] = None\n" for module in train_only_modules())
    program = f"import sys\n{hide}from cli.main import main\nsys.exit(main(sys.argv[1:]))\n"
    return subprocess.run(
        [sys.executable, "-c", program, *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300
    )


def test_stylize_runs_with_the_model_extra_alone(tmp_path: Path) -> None:
    out = tmp_path / "out.png"
    done = _vst("stylize", str(CONTENT), str(STYLE), "--max-side", str(max(64, MIN_CONTENT_SIDE)), "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert out.stat().st_size > 0
    assert "train extra" in _vst("--help").stdout


@pytest.mark.parametrize("command", [["train", "--steps", "3"], ["train-baseline"], ["evaluate", "--peer"]])
def test_a_training_command_names_the_extra_to_install(command: list[str]) -> None:
    done = _vst(*command)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip() == (
        f"vst {command[0]}: error: the train extra is not installed (no module simple_parsing): "
        "pip install -e '.[train]'"
    )
