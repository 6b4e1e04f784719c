"""Snapshot averaging (`vst average`): the mean of the weights, rebuilt into a loadable checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from cli.main import main as vst_main
from model.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from model.config import ModelConfig
from model.networks import VariationalStyleTransfer
from tests.tiny_model import TINY_CONFIG, tiny_model
from training.average import average_checkpoints, average_state_dicts


def test_average_state_dicts_by_hand() -> None:
    states = [
        {"w": torch.tensor([1.0, 2.0]), "b": torch.tensor(3.0)},
        {"w": torch.tensor([3.0, 6.0]), "b": torch.tensor(-1.0)},
    ]
    mean = average_state_dicts(states)
    torch.testing.assert_close(mean["w"], torch.tensor([2.0, 4.0]))
    torch.testing.assert_close(mean["b"], torch.tensor(1.0))


def test_average_state_dicts_refuses_different_tensors() -> None:
    with pytest.raises(ValueError):
        average_state_dicts([{"w": torch.zeros(1)}, {"v": torch.zeros(1)}])
    with pytest.raises(ValueError):
        average_state_dicts([])


def _snapshot(path: Path, seed: int, steps: int) -> Path:
    save_checkpoint(tiny_model(seed), path, provenance={"steps": steps, "loss_network": "tiny"})
    return path


def test_averaged_checkpoint_holds_the_mean_weights_and_names_its_inputs(tmp_path: Path) -> None:
    paths = [_snapshot(tmp_path / f"s{k}.safetensors", seed=k, steps=100 * (k + 1)) for k in range(3)]
    out = tmp_path / "avg.safetensors"
    average_checkpoints(paths, out, dtype=torch.float32)
    model, provenance = load_checkpoint(out)
    inputs = [load_checkpoint(p)[0].state_dict() for p in paths]
    for name, tensor in model.state_dict().items():
        torch.testing.assert_close(tensor, sum(state[name] for state in inputs) / 3)
    assert provenance["steps"] == 300  # the latest snapshot's provenance
    assert [item["steps"] for item in provenance["averaged_from"]] == [100, 200, 300]


def test_snapshots_of_different_models_are_refused(tmp_path: Path) -> None:
    other = VariationalStyleTransfer(ModelConfig.from_dict(TINY_CONFIG.to_dict() | {"latent_dim": 4}))
    save_checkpoint(other, tmp_path / "other.safetensors")
    first = _snapshot(tmp_path / "a.safetensors", seed=0, steps=1)
    with pytest.raises(CheckpointError):
        average_checkpoints([first, tmp_path / "other.safetensors"], tmp_path / "avg.safetensors")
    with pytest.raises(CheckpointError):
        average_checkpoints([first], tmp_path / "avg.safetensors")


def test_vst_average_writes_the_file_or_gives_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = [str(_snapshot(tmp_path / f"s{k}.safetensors", seed=k, steps=k)) for k in range(2)]
    assert vst_main(["average", *paths, "-o", str(tmp_path / "avg.safetensors")]) == 0
    assert (tmp_path / "avg.safetensors").is_file()
    assert vst_main(["average", paths[0], str(tmp_path / "missing.safetensors"), "-o", str(tmp_path / "x")]) == 2
    assert "checkpoint not found" in capsys.readouterr().err
