"""The published fast baselines as networks: AdaIN (Huang & Belongie 2017) and Linear (Li et al. 2019).

Both encode with a frozen VGG trunk cut at one layer, change the content features' statistics to the
style's, and decode with a decoder that mirrors the encoder. The maths lives in
:mod:`model.feature_transforms`; the modules here are thin wrappers.

Their checkpoints are self-describing safetensors of their own format (``vst-baseline``), with the
method (``adain`` | ``linear``), the :class:`BaselineConfig` and the provenance in the metadata. The
frozen encoder is stored too, so inference needs only the file.
"""

from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch import nn

from model import feature_transforms as FT
from model.checkpoint import (
    CheckpointError,
    atomic_save,
    load_matching,
    read_safetensors,
    tensors_digest,
    verify_digest,
)
from model.config import VGG_PLANS, VGG_TAPS, TrunkConfig
from model.device import default_dtype
from model.inference import fit_within, image_to_tensor, pad_to_multiple, tensor_to_image
from model.networks import VGGTrunk

METHODS = ("adain", "linear")
FORMAT_NAME = "vst-baseline"
FORMAT_VERSION = 1


@dataclass
class BaselineConfig:
    """Everything needed to rebuild a baseline network.

    ``depth``: the encoder's last tap, 4 = relu4_1 (AdaIN; Linear's full variant), 3 = relu3_1 (Linear's
    fast variant). ``matrix_size``: the width Linear compresses the features to before its C x C matrix.
    """

    method: str = "adain"
    depth: int = 4
    matrix_size: int = 32
    trunk: TrunkConfig = field(default_factory=TrunkConfig)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown baseline method {self.method!r}; choose one of {', '.join(METHODS)}")
        if self.depth not in (1, 2, 3, 4):
            raise ValueError(f"depth must be 1..4 (relu1_1..relu4_1), got {self.depth}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BaselineConfig:
        data = dict(data)
        return cls(trunk=TrunkConfig.from_dict(data.pop("trunk")), **data)


def cut_trunk(trunk: VGGTrunk, depth: int) -> VGGTrunk:
    """Drop the layers after the ``depth``-th tap (in place): the trunk then returns relu1_1..relu{depth}_1."""
    last = trunk.tap_indices[depth - 1]
    trunk.features = trunk.features[: last + 1]
    trunk.tap_indices = trunk.tap_indices[:depth]
    return trunk


def encoder_convs(trunk: TrunkConfig, depth: int) -> list[int | str]:
    """The trunk's plan up to the ``depth``-th tapped conv: channel counts and "M" for the max-pools."""
    plan = VGG_PLANS[trunk.arch]
    last_conv = VGG_TAPS[trunk.arch][depth - 1]
    cut: list[int | str] = []
    convs = 0
    for item in plan:
        cut.append(item)
        if item != "M":
            if convs == last_conv:
                break
            convs += 1
    return cut


def _reflect_conv(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(in_channels, out_channels, kernel_size=3))


class MirrorDecoder(nn.Module):
    """The encoder mirrored: each conv reversed, each max-pool a nearest 2x upsampling; reflection padding,
    ReLUs and no normalisation, as in both papers. The last conv returns RGB with no activation."""

    def __init__(self, trunk: TrunkConfig, depth: int) -> None:
        super().__init__()
        plan = encoder_convs(trunk, depth)
        layers: list[nn.Module] = []
        channels = [3] + [int(c) for c in plan if c != "M"]  # each conv's input, then the last output
        # Walk the plan backwards: conv k (channels[k] -> channels[k+1]) becomes channels[k+1] -> channels[k].
        conv_index = len(channels) - 2
        for item in reversed(plan):
            if item == "M":
                layers.append(nn.Upsample(scale_factor=2.0, mode="nearest"))
                continue
            layers.append(_reflect_conv(channels[conv_index + 1], channels[conv_index]))
            if conv_index > 0:
                layers.append(nn.ReLU(inplace=True))
            conv_index -= 1
        self.layers = nn.Sequential(*layers)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """features: (B, C, h, w) at the encoder's last tap -> (B, 3, h * 2^pools, w * 2^pools), unbounded."""
        return self.layers(features)


def _trunk(config: BaselineConfig) -> VGGTrunk:
    return cut_trunk(VGGTrunk(config.trunk), config.depth)


class AdaINNet(nn.Module):
    """AdaIN: a frozen VGG encoder to relu4_1, AdaIN in feature space, a mirrored decoder."""

    def __init__(self, config: BaselineConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = _trunk(config)
        self.decoder = MirrorDecoder(config.trunk, config.depth)

    def encode(self, image: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in [0, 1] -> the last tap's features (B, C, H/8, W/8) for relu4_1."""
        return self.encoder(image)[-1]

    def forward(self, content: torch.Tensor, style: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
        """content: (B, 3, H, W), style: (B, 3, Hs, Ws) in [0, 1] -> (B, 3, H, W), unbounded (clamp to show)."""
        c = self.encode(content)
        target = FT.adain(c, self.encode(style))
        return self.decoder((alpha * target + (1.0 - alpha) * c.float()).to(c.dtype))

    def mix(
        self, content: torch.Tensor, styles: list[torch.Tensor], weights: torch.Tensor, alpha: float = 1.0
    ) -> torch.Tensor:
        """The paper's weighted multi-style interpolation: content (1, 3, H, W), styles K x (1, 3, Hk, Wk)."""
        c = self.encode(content)
        target = FT.adain_mix(c, [self.encode(s) for s in styles], weights, alpha)
        return self.decoder(target.to(c.dtype))


class CompressionCNN(nn.Module):
    """Linear's small CNN: centred features -> three convs down to ``matrix_size`` channels -> their
    covariance -> a fully connected layer -> a (matrix_size x matrix_size) matrix, flattened."""

    def __init__(self, channels: int, matrix_size: int) -> None:
        super().__init__()
        self.convs = nn.Sequential(
            nn.Conv2d(channels, channels // 2, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels // 2, channels // 4, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels // 4, matrix_size, 3, padding=1),
        )
        self.fc = nn.Linear(matrix_size * matrix_size, matrix_size * matrix_size)
        self.matrix_size = matrix_size

    def forward(self, centred: torch.Tensor) -> torch.Tensor:
        """centred: (B, C, H, W) -> (B, m, m)."""
        cov = FT.feature_covariance(self.convs(centred))  # (B, m, m)
        return self.fc(cov.flatten(1).to(self.fc.weight.dtype)).view(-1, self.matrix_size, self.matrix_size)


class LinearTransform(nn.Module):
    """Linear's transformation module: T = T_s T_c predicted by two CNNs, applied in a compressed space.

    The content features are centred and compressed (1x1 conv, C -> m), multiplied by T, expanded back
    (1x1 conv, m -> C), and the style's mean is added.
    """

    def __init__(self, channels: int, matrix_size: int) -> None:
        super().__init__()
        self.content_net = CompressionCNN(channels, matrix_size)
        self.style_net = CompressionCNN(channels, matrix_size)
        self.compress = nn.Conv2d(channels, matrix_size, 1)
        self.unzip = nn.Conv2d(matrix_size, channels, 1)

    def matrix(self, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """content: (B, C, H, W), style: (B, C, Hs, Ws) -> T (B, m, m)."""
        content_centred = content - content.mean(dim=(2, 3), keepdim=True)
        style_centred = style - style.mean(dim=(2, 3), keepdim=True)
        return self.style_net(style_centred).float() @ self.content_net(content_centred).float()  # (B, m, m)

    def forward(self, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """content: (B, C, H, W), style: (B, C, Hs, Ws) -> (B, C, H, W)."""
        compressed = self.compress(content)  # (B, m, H, W); the bias goes with the mean T removes
        zero_mean = compressed.new_zeros(compressed.shape[:2], dtype=torch.float32)  # (B, m)
        moved = FT.linear_transform(compressed, self.matrix(content, style), zero_mean)  # (B, m, H, W)
        expanded = self.unzip(moved.to(compressed.dtype))  # (B, C, H, W)
        return expanded + FT.channel_mean(style).to(expanded.dtype)[:, :, None, None]


class LinearNet(nn.Module):
    """Linear: a frozen VGG encoder (relu3_1 or relu4_1), the learned transformation, a mirrored decoder."""

    def __init__(self, config: BaselineConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = _trunk(config)
        channels = config.trunk.channels()[config.depth - 1]
        self.transform = LinearTransform(channels, config.matrix_size)
        self.decoder = MirrorDecoder(config.trunk, config.depth)

    def encode(self, image: torch.Tensor) -> torch.Tensor:
        return self.encoder(image)[-1]

    def reconstruct(self, image: torch.Tensor) -> torch.Tensor:
        """The auto-encoder alone, (B, 3, H, W) -> (B, 3, H, W): what the decoder is first trained on."""
        return self.decoder(self.encode(image))

    def forward(self, content: torch.Tensor, style: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
        """content: (B, 3, H, W), style: (B, 3, Hs, Ws) in [0, 1] -> (B, 3, H, W), unbounded (clamp to show)."""
        c = self.encode(content)
        moved = self.transform(c, self.encode(style))
        return self.decoder((alpha * moved + (1.0 - alpha) * c).to(c.dtype))


BaselineNet = AdaINNet | LinearNet


def build_baseline(config: BaselineConfig) -> BaselineNet:
    return AdaINNet(config) if config.method == "adain" else LinearNet(config)


class BaselineStylizer:
    """Stylizes PIL images with a baseline: pads to the encoder's size multiple, decodes, crops and clamps.

    Like :class:`model.inference.Stylizer`, it runs a copy of the network cast to ``dtype`` (None: bf16 on
    CPUs that compute it natively, else fp32) in channels-last, so that speeds compare like for like.
    """

    def __init__(self, model: BaselineNet, dtype: torch.dtype | None = None) -> None:
        device = next(model.decoder.parameters()).device
        self.dtype = dtype if dtype is not None else default_dtype(device)
        self.model: BaselineNet = copy.deepcopy(model).eval().to(self.dtype)
        if device.type == "cpu":
            self.model.to(memory_format=torch.channels_last)
        self.multiple = 2 ** encoder_convs(model.config.trunk, model.config.depth).count("M")

    @torch.no_grad()
    def stylize(
        self,
        content: Image.Image,
        styles: list[Image.Image],
        weights: list[float] | None = None,
        alpha: float = 1.0,
        max_side: int | None = None,
    ) -> Image.Image:
        """One image of the content's size (after ``max_side``); several styles are AdaIN's weighted blend."""
        if max_side is not None:
            content = fit_within(content, max_side)
        device = next(self.model.decoder.parameters()).device
        padded, height, width = pad_to_multiple(image_to_tensor(content).to(device, self.dtype), self.multiple)
        style_tensors = [image_to_tensor(s).to(device, self.dtype) for s in styles]
        if len(style_tensors) == 1:
            output = self.model(padded, style_tensors[0], alpha)
        elif isinstance(self.model, AdaINNet):
            blend = torch.tensor(weights if weights is not None else [1.0] * len(styles))
            output = self.model.mix(padded, style_tensors, blend, alpha)
        else:
            raise ValueError("only AdaIN blends several styles (the paper's feature-space interpolation)")
        return tensor_to_image(output[:, :, :height, :width].float().clamp(0.0, 1.0).cpu())


def save_baseline(
    model: BaselineNet, path: Path, provenance: dict[str, Any] | None = None, dtype: torch.dtype = torch.float32
) -> None:
    """Save the weights (optionally cast, e.g. fp16 for shipping), the config and the provenance."""
    tensors = {name: t.detach().to(dtype).contiguous().cpu() for name, t in model.state_dict().items()}
    metadata = {
        "format": FORMAT_NAME,
        "format_version": str(FORMAT_VERSION),
        "method": model.config.method,
        "config": json.dumps(model.config.to_dict()),
        "provenance": json.dumps(provenance or {}),
        "tensor_sha256": tensors_digest(tensors),
    }
    atomic_save(tensors, path, metadata)


def load_baseline(
    path: Path, method: str | None = None, device: str | torch.device = "cpu"
) -> tuple[BaselineNet, dict[str, Any]]:
    """Rebuild a baseline from its file, in fp32 and eval mode; returns it and its provenance.

    ``method``: the one expected; a file of another method (or the main model's checkpoint) is refused.
    """
    path = Path(path)
    tensors, metadata = read_safetensors(path)
    found = metadata.get("method")
    if metadata.get("format") != FORMAT_NAME:
        raise CheckpointError(
            f"{path} is not a baseline checkpoint (format={metadata.get('format')!r}); "
            f"expected a {method or '|'.join(METHODS)} file written by `vst train-baseline`"
        )
    if metadata.get("format_version") != str(FORMAT_VERSION):
        raise CheckpointError(
            f"{path} has baseline format version {metadata.get('format_version')!r}; this build reads {FORMAT_VERSION}"
        )
    if method is not None and found != method:
        raise CheckpointError(f"{path} holds a {found!r} model, but a {method!r} checkpoint was expected")
    verify_digest(path, tensors, metadata)
    try:
        config = BaselineConfig.from_dict(json.loads(metadata["config"]))
        if config.method != found:
            raise ValueError(f"the config says {config.method!r} but the metadata says {found!r}")
        model = build_baseline(config)
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path} has an invalid config: {exc}") from exc
    load_matching(model, tensors, path, device)
    return model, json.loads(metadata.get("provenance", "{}"))
