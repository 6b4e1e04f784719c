"""Loss networks: the hed-vgg16 weights map onto torchvision's VGG16 convs in order; random ones are refused."""

from __future__ import annotations

from pathlib import Path

import h5py
import pytest
import torch

from training.loss_networks import (
    LossNetworkError,
    hed_weights_path,
    load_loss_network,
    trim_hed_weights,
)
from training.options import TrainOptions
from training.train import train


def test_hed_vgg16_maps_keras_kernels_onto_the_trunk() -> None:
    loaded = load_loss_network("hed-vgg16")
    assert loaded.pretrained and len(loaded.weights_sha256) == 64
    convs = [m for m in loaded.trunk.features if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 8  # conv1_1 .. conv4_1
    with h5py.File(hed_weights_path(), "r") as handle:
        first = torch.from_numpy(handle["block1/layers/conv2d/vars/0"][()])  # (kh, kw, in BGR, out)
        conv4_1 = torch.from_numpy(handle["block4/layers/conv2d/vars/0"][()])
        conv4_1_bias = torch.from_numpy(handle["block4/layers/conv2d/vars/1"][()])
    # HWIO -> OIHW, and the first conv's input channels flipped from BGR to RGB.
    torch.testing.assert_close(convs[0].weight, first.permute(3, 2, 0, 1).flip(1))
    torch.testing.assert_close(convs[-1].weight, conv4_1.permute(3, 2, 0, 1))
    torch.testing.assert_close(convs[-1].bias, conv4_1_bias)


def test_hed_vgg16_preprocessing_is_caffe_style() -> None:
    trunk = load_loss_network("hed-vgg16").trunk
    # Inputs in [0, 1] are scaled to 0..255 and the Caffe mean is subtracted, with no std division.
    grey = torch.full((1, 3, 8, 8), 0.5)
    conv = trunk.features[0]
    expected = torch.relu(conv(grey * 255.0 - torch.tensor([122.67892, 116.66877, 104.00699]).view(1, 3, 1, 1)))
    torch.testing.assert_close(trunk(grey)[0], expected)


def test_pretrained_features_are_not_noise() -> None:
    """Real VGG weights respond more to an edge than to flat colour; a random trunk has no such preference."""
    trunk = load_loss_network("hed-vgg16").trunk
    flat = torch.full((1, 3, 32, 32), 0.5)
    edge = flat.clone()
    edge[..., 16:] = 1.0
    assert float(trunk(edge)[2].mean()) > float(trunk(flat)[2].mean())


def test_vgg19_without_weights_gives_a_clear_error(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(LossNetworkError, match="VGG19 ImageNet weights not found"):
        load_loss_network("vgg19")


def test_unknown_loss_network_is_refused() -> None:
    with pytest.raises(LossNetworkError, match="unknown loss network"):
        load_loss_network("resnet")


def test_training_refuses_a_random_loss_network(tmp_path) -> None:
    options = TrainOptions(out=str(tmp_path / "run"), steps=1, loss_network="tiny")
    with pytest.raises(RuntimeError, match="refusing to train with the randomly initialised"):
        train(options)


def test_a_trimmed_weights_file_given_as_loss_weights_gives_the_same_trunk(tmp_path: Path) -> None:
    full = load_loss_network("hed-vgg16")
    trimmed = trim_hed_weights(tmp_path / "hed_trunk.h5")
    assert trimmed.stat().st_size < hed_weights_path().stat().st_size / 3
    loaded = load_loss_network("hed-vgg16", str(trimmed))
    assert loaded.weights_sha256 != full.weights_sha256  # the provenance names the file actually read
    for ours, reference in zip(loaded.trunk.state_dict().values(), full.trunk.state_dict().values(), strict=True):
        torch.testing.assert_close(ours, reference)
    with pytest.raises(LossNetworkError, match="no such file"):
        load_loss_network("hed-vgg16", str(tmp_path / "missing.h5"))


def test_a_weights_file_with_too_few_convs_is_refused(tmp_path: Path) -> None:
    short = trim_hed_weights(tmp_path / "short.h5", convs=5)
    with pytest.raises(LossNetworkError, match="expected 8 VGG16 convs"):
        load_loss_network("hed-vgg16", str(short))
