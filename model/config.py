"""Hyper-parameters of the model. Saved inside every checkpoint so that the loader can rebuild it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# Channel plans of VGG trunks up to relu4_1; "M" is a 2x2 max-pool. Index = position in the plan.
VGG_PLANS: dict[str, list[int | str]] = {
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512],
    # A 1x1-conv-sized trunk for fast tests only; it is never a loss network for a shipped model.
    "tiny": [8, "M", 8, "M", 16, "M", 16],
}

# The decoder's upsampling modes (ModelConfig.upsample).
UPSAMPLE_MODES = ("nearest", "bilinear")

# Index of the conv (0-based, counting convs only) whose ReLU output is relu{1,2,3,4}_1.
VGG_TAPS: dict[str, list[int]] = {
    "vgg16": [0, 2, 4, 7],
    "vgg19": [0, 2, 4, 8],
    "tiny": [0, 1, 2, 3],
}


@dataclass
class TrunkConfig:
    """The frozen VGG trunk inside the style encoder (and the loss network at training time).

    Input preprocessing travels with the trunk, like torchvision's weights metadata: the trunk takes
    RGB in [0, 1], multiplies by ``input_scale`` and subtracts ``input_mean`` / divides by ``input_std``.
    ``layer_scales`` divide each tapped layer so that its mean activation is about 1.
    """

    arch: str = "vgg16"
    input_scale: float = 255.0
    input_mean: tuple[float, float, float] = (122.67892, 116.66877, 104.00699)
    input_std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    layer_scales: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrunkConfig:
        """A trunk config from its JSON form (lists become tuples); an unknown architecture is refused."""
        fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        trunk = cls(**fields)
        if trunk.arch not in VGG_PLANS:
            raise ValueError(f"unknown trunk architecture {trunk.arch!r}")
        return trunk

    def channels(self) -> list[int]:
        plan = [c for c in VGG_PLANS[self.arch] if c != "M"]
        return [int(plan[i]) for i in VGG_TAPS[self.arch]]


@dataclass
class ModelConfig:
    """Everything needed to rebuild the networks."""

    latent_dim: int = 64
    style_hidden: int = 512
    widths: tuple[int, int, int] = (24, 48, 96)
    residual_blocks: int = 4
    film_hidden: int = 256
    # Per-layer spatial noise in the decoder, scaled by ``variation`` (off in checkpoints from before it).
    decoder_noise: bool = False
    # How the decoder doubles its resolution before each upsampling conv. "nearest" followed by a 3x3 conv is
    # a sub-pixel conv whose four output phases have their own kernels, and it leaves a periodic 2-4 px
    # weave over flat areas; "bilinear" interpolates first, so neighbouring output pixels share their input.
    upsample: str = "nearest"
    trunk: TrunkConfig = field(default_factory=TrunkConfig)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        data = dict(data)
        trunk = TrunkConfig.from_dict(data.pop("trunk"))
        fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        config = cls(trunk=trunk, **fields)
        if config.upsample not in UPSAMPLE_MODES:
            raise ValueError(f"unknown upsample mode {config.upsample!r}; expected one of {', '.join(UPSAMPLE_MODES)}")
        return config
