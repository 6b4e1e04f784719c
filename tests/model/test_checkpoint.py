"""Checkpoints: round trip, and refusal of tampered, foreign or unknown-version files."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from model.checkpoint import (
    DEFAULT_CHECKPOINT,
    FORMAT_NAME,
    CheckpointError,
    load_checkpoint,
    read_checkpoint,
    save_checkpoint,
    tensors_digest,
)
from model.config import ModelConfig
from tests.tiny_model import tiny_model, write_tiny_checkpoint


def _metadata(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    with safe_open(str(path), framework="pt") as handle:
        return {k: handle.get_tensor(k) for k in handle.keys()}, dict(handle.metadata())  # noqa: SIM118


def test_round_trip_rebuilds_the_same_model(tmp_path: Path) -> None:
    model = tiny_model(seed=5)
    path = tmp_path / "m.safetensors"
    save_checkpoint(model, path, provenance={"steps": 7})
    loaded, provenance = load_checkpoint(path)
    assert provenance == {"steps": 7}
    assert loaded.config == model.config
    content, code = torch.rand(1, 3, 16, 20), torch.randn(1, model.config.latent_dim)
    with torch.no_grad():
        torch.testing.assert_close(loaded(content, code), model(content, code))
    image = torch.rand(1, 3, 24, 24)
    torch.testing.assert_close(loaded.style_encoder(image)[0], model.style_encoder(image)[0])


def test_fp16_checkpoint_loads_as_fp32(tmp_path: Path) -> None:
    path = tmp_path / "half.safetensors"
    save_checkpoint(tiny_model(), path, dtype=torch.float16)
    tensors, _ = _metadata(path)
    assert all(t.dtype == torch.float16 for t in tensors.values())
    loaded, _ = load_checkpoint(path)
    assert all(p.dtype == torch.float32 for p in loaded.parameters())


def test_tampered_tensor_bytes_are_refused(tmp_path: Path) -> None:
    path = write_tiny_checkpoint(tmp_path / "m.safetensors")
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF  # flip bits inside the last tensor's data
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="modified"):
        load_checkpoint(path)


def test_truncated_file_is_refused(tmp_path: Path) -> None:
    path = write_tiny_checkpoint(tmp_path / "m.safetensors")
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="not a readable"):
        load_checkpoint(path)


def test_pickle_file_is_refused_without_unpickling(tmp_path: Path) -> None:
    class Boom:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (print, ("unpickled!",))

    path = tmp_path / "evil.safetensors"
    path.write_bytes(pickle.dumps(Boom()))
    with pytest.raises(CheckpointError):
        load_checkpoint(path)


def test_unknown_format_version_is_refused(tmp_path: Path) -> None:
    source = write_tiny_checkpoint(tmp_path / "m.safetensors")
    tensors, metadata = _metadata(source)
    metadata["format_version"] = "99"
    path = tmp_path / "v99.safetensors"
    save_file(tensors, str(path), metadata=metadata)
    with pytest.raises(CheckpointError, match="format version '99'"):
        load_checkpoint(path)


def test_foreign_safetensors_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.safetensors"
    save_file({"weight": torch.zeros(2)}, str(path))
    with pytest.raises(CheckpointError, match=FORMAT_NAME):
        read_checkpoint(path)


def _rewrite(source: Path, target: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> Path:
    metadata = dict(metadata, tensor_sha256=tensors_digest(tensors))
    save_file(tensors, str(target), metadata=metadata)
    return target


def test_unexpected_key_and_wrong_shape_are_refused(tmp_path: Path) -> None:
    source = write_tiny_checkpoint(tmp_path / "m.safetensors")
    tensors, metadata = _metadata(source)
    extra = _rewrite(source, tmp_path / "extra.safetensors", tensors | {"backdoor.weight": torch.ones(1)}, metadata)
    with pytest.raises(CheckpointError, match="unexpected=\\['backdoor.weight'\\]"):
        load_checkpoint(extra)
    name = next(iter(sorted(tensors)))
    reshaped = dict(tensors)
    reshaped[name] = torch.zeros(*tensors[name].shape, 2)
    wrong = _rewrite(source, tmp_path / "shape.safetensors", reshaped, metadata)
    with pytest.raises(CheckpointError, match="has shape"):
        load_checkpoint(wrong)


def test_invalid_config_is_refused(tmp_path: Path) -> None:
    source = write_tiny_checkpoint(tmp_path / "m.safetensors")
    tensors, metadata = _metadata(source)
    config = json.loads(metadata["config"])
    config["trunk"]["arch"] = "resnet"
    path = _rewrite(source, tmp_path / "cfg.safetensors", tensors, metadata | {"config": json.dumps(config)})
    with pytest.raises(CheckpointError, match="invalid config"):
        load_checkpoint(path)


def test_shipped_checkpoint_is_self_describing_and_small() -> None:
    assert DEFAULT_CHECKPOINT.stat().st_size < 16 * 1024 * 1024
    model, provenance = load_checkpoint(None)
    assert provenance["loss_network"] == "hed-vgg16"
    assert len(provenance["loss_network_sha256"]) == 64
    assert provenance["steps"] > 0
    assert model.config.trunk.arch == "vgg16"


def test_the_upsample_mode_travels_in_the_config_and_old_configs_mean_nearest() -> None:
    config = ModelConfig(upsample="bilinear")
    assert ModelConfig.from_dict(config.to_dict()).upsample == "bilinear"
    old = config.to_dict()
    del old["upsample"]
    assert ModelConfig.from_dict(old).upsample == "nearest"
    with pytest.raises(ValueError, match="unknown upsample mode"):
        ModelConfig.from_dict(config.to_dict() | {"upsample": "bicubic"})
