"""training/recipes/gpu_pair.sh's arm names, the part of the recipe that runs before any training.

The recipe itself trains on a lent GPU; here only its bash is run: the arm checks and the helpers that turn an
arm's name into its seed, its baseline and its flags (extracted from the script, not copied)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.conftest import REPO_ROOT

RECIPE = REPO_ROOT / "training" / "recipes" / "gpu_pair.sh"


def test_an_unknown_arm_stops_the_recipe_before_anything_trains(tmp_path: Path) -> None:
    env = os.environ | {"ARMS": "base nonsense", "WORK": str(tmp_path / "work"), "PY": "false"}
    done = subprocess.run(
        ["bash", str(RECIPE), str(tmp_path / "results"), "10"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "unknown arm nonsense" in done.stderr
    assert "base-fp32" in done.stderr and "base-notone" in done.stderr  # the message lists the arms there are
    assert not list((tmp_path / "work").iterdir())  # nothing was trained


FUNCTIONS = "; ".join(f"/^{name}()/,/^}}/p" for name in ("arm_seed", "arm_baseline", "arm_flags"))


def _helpers(*calls: str) -> list[str]:
    """Run the recipe's own helper functions on arm names, SEED=7, one output line per call."""
    script = f"""
set -u
SEED=7
eval "$(sed -n '/^base=/p; /^ours=/p; /^lowkl=/p; {FUNCTIONS}' {RECIPE})"
{chr(10).join(f'echo "[$({call})]"' for call in calls)}
"""
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60, check=True)
    return [line.strip("[]") for line in done.stdout.splitlines()]


def test_arm_names_give_seeds_baselines_and_flags() -> None:
    seeds = _helpers("arm_seed base", "arm_seed base.s2", "arm_seed ours-mean75.s1")
    assert seeds == ["7", "2", "1"]  # SEED unless the name says .sN
    baselines = _helpers(
        "arm_baseline ours", "arm_baseline ours-mean75.s1", "arm_baseline base.s1", "arm_baseline base-notone"
    )
    assert baselines == ["base", "base.s1", "", ""]  # every base* arm is a baseline, scored against nothing
    base, fp32, notone, mean75 = _helpers(
        "arm_flags base", "arm_flags base-fp32.s1", "arm_flags base-notone", "arm_flags ours-mean75"
    )
    assert "--kl-weight 0" in base and "--precision" not in base and "--tone-weight" not in base
    assert fp32 == f"{base} --precision fp32"
    assert notone == f"{base} --tone-weight 0"  # the tone term is on by default; this arm turns it off
    assert "--kl-weight 0.0005" in mean75 and "--mean-code-share 0.75" in mean75 and "--decoder-noise" in mean75


def test_the_polarity_probe_inverts_the_luma_and_keeps_the_chroma() -> None:
    import importlib.util

    import torch

    spec = importlib.util.spec_from_file_location("polarity_probe", RECIPE.parent / "polarity_probe.py")
    assert spec is not None and spec.loader is not None
    probe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(probe)
    # Colours near grey, so that 1 - Y plus the chroma stays inside [0, 1] and nothing is clamped.
    image = 0.5 + 0.1 * (torch.rand(1, 3, 5, 7) - 0.5)  # (1, 3, H, W)
    weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    luma = (image * weights).sum(dim=1, keepdim=True)  # (1, 1, H, W)
    inverted = probe.luma_inverted(image)
    inverted_luma = (inverted * weights).sum(dim=1, keepdim=True)
    torch.testing.assert_close(inverted_luma, 1 - luma)
    torch.testing.assert_close(inverted - inverted_luma, image - luma)  # the same chroma
