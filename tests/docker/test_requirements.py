"""docker/requirements.py: the requirement lists the images install, read from pyproject.toml."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "docker" / "requirements.py"


def _load() -> ModuleType:
    # Loaded from its path: docker/ is not a package, and the name `docker` belongs to the Docker SDK.
    spec = importlib.util.spec_from_file_location("vst_docker_requirements", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


requirements = _load().requirements

PROJECT = {
    "name": "Demo_Project",
    "dependencies": ["fastapi>=0.115", "numpy<3"],
    "optional-dependencies": {
        "model": ["torch==2.14.1", "numpy<3"],
        "train": ["demo-project[model]", "torchvision==0.29.1"],
        "loop": ["demo-project[loop,train]"],
    },
}


def test_base_dependencies_alone() -> None:
    assert requirements(PROJECT, []) == ["fastapi>=0.115", "numpy<3"]


def test_self_reference_expands_once_in_order() -> None:
    assert requirements(PROJECT, ["train"]) == ["fastapi>=0.115", "numpy<3", "torch==2.14.1", "torchvision==0.29.1"]
    assert requirements(PROJECT, ["loop"]) == requirements(PROJECT, ["train"])


def test_unknown_extra_is_refused() -> None:
    with pytest.raises(SystemExit, match="no extra 'gpu'"):
        requirements(PROJECT, ["gpu"])


def _run(*args: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--pyproject", str(REPO / "pyproject.toml"), *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return out.splitlines()


def test_image_lists_follow_pyproject() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    api = _run()
    assert api == project["dependencies"]
    assert not any(line.startswith("torch") for line in api), "the API image must not get torch"
    torch_pins = _run("train", "--only", "torch", "--only", "torchvision")
    assert sorted(torch_pins) == sorted(
        spec
        for spec in project["optional-dependencies"]["train"] + project["optional-dependencies"]["model"]
        if spec.startswith(("torch==", "torchvision=="))
    )
    worker = _run("model", "--exclude", "torch", "--exclude", "torchvision")
    assert set(api) <= set(worker)
    assert not any(line.startswith("torch") for line in worker)
