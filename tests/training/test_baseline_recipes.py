"""training/recipes/adain.sh and linear.sh: the part that runs before any training."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT


@pytest.mark.parametrize("name", ["adain", "linear"])
def test_a_recipe_without_a_corpus_stops_before_anything_trains(name: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CORPUS_DIR"}
    recipe = REPO_ROOT / "training" / "recipes" / f"{name}.sh"
    done = subprocess.run(
        ["bash", str(recipe), str(tmp_path / "run")], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "set CORPUS_DIR to the corpus root" in done.stderr
    assert not (tmp_path / "run").exists()
