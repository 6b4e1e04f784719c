"""An inference-only copy of E_c and the decoder: the same maths as the modules, fewer passes over memory.

:class:`model.networks.ContentEncoder` and :class:`model.networks.Decoder` stay the reference (training
uses them). This module repacks their weights once and runs the same function faster on the CPU:

- weights and activations in ``dtype`` (bf16 where the CPU has native bf16) and channels-last;
- the AdaIN scale and shift go into the normalisation call as its affine parameters;
- "nearest x2 upsample, reflection pad, 3x3 conv" is rewritten exactly as a 2x2 conv at the low
  resolution with four output phases (:func:`subpixel_weights`), which needs 4/9 of the multiply-adds.

``tests/model/test_fast_generator.py`` checks it against the modules. Measured numbers: docs/benchmarks.md.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from model.functional import EPS, regional_adain_affine, upsample2x
from model.networks import ContentEncoder, Decoder, FilmParameters, RegionFilm, noise_injector

CHANNELS_LAST = torch.channels_last
# Below this many channels, group_norm's channels-last kernel is several times slower than batch_norm's
# (measured in bf16 at 24x512x512: 7.7 ms vs 3.0 ms), and above it slightly faster.
BATCH_NORM_BELOW_CHANNELS = 32

PackedConv = tuple[torch.Tensor, torch.Tensor, int]  # weight (O, I, k, k), bias (O,), stride


def subpixel_weights(weight: torch.Tensor) -> torch.Tensor:
    """Rewrite "nearest x2 upsample, reflection pad 1, 3x3 conv" as a 2x2 conv at the low resolution.

    weight: (O, I, 3, 3) -> (4 * O, I, 2, 2), phase-major: block p = 2 * a + b holds the kernel of the
    output pixels (2i + a, 2j + b). Reflection padding of the upsampled image equals replicate padding
    of the low-resolution one, so on the replicate-padded input x_p of shape (h + 2, w + 2), output
    pixel (2i + a, 2j + b) is conv2d(x_p, phase_p) at (i + a, j + b). Along each axis, phase 0 sees the
    rows (i - 1, i) with the 3x3 rows (k0, k1 + k2), and phase 1 sees (i, i + 1) with (k0 + k1, k2).
    """

    def rows(kernel: torch.Tensor, phase: int) -> torch.Tensor:
        k0, k1, k2 = kernel[..., 0, :], kernel[..., 1, :], kernel[..., 2, :]
        return torch.stack([k0, k1 + k2] if phase == 0 else [k0 + k1, k2], dim=-2)  # (O, I, 2, 3)

    def cols(kernel: torch.Tensor, phase: int) -> torch.Tensor:
        k0, k1, k2 = kernel[..., 0], kernel[..., 1], kernel[..., 2]
        return torch.stack([k0, k1 + k2] if phase == 0 else [k0 + k1, k2], dim=-1)  # (O, I, 2, 2)

    return torch.cat([cols(rows(weight, a), b) for a in (0, 1) for b in (0, 1)], dim=0)  # (4O, I, 2, 2)


def upsample_conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """Nearest x2 upsample + reflection pad 1 + 3x3 conv, with the weights of :func:`subpixel_weights`.

    x: (B, I, h, w); weight: (4 * O, I, 2, 2); bias: (4 * O,) -> (B, O, 2h, 2w), channels-last.
    """
    y = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), weight, bias)  # (B, 4O, h + 1, w + 1)
    y = y.contiguous(memory_format=CHANNELS_LAST)  # a no-op when the conv already returned channels-last
    batch, channels, height, width = y.shape
    out_channels, h, w = channels // 4, height - 1, width - 1
    # In memory y is (B, h+1, w+1, a, b, O). Output pixel (2i+a, 2j+b) is y[:, i+a, j+b, a, b, :], and that
    # offset is linear in (i, a, j, b), so one strided view and one copy interleave the four phases.
    sb, _, sh, sw = y.stride()  # channels-last: the channel stride is 1
    phases = y.as_strided(
        (batch, h, 2, w, 2, out_channels),
        (sb, sh, sh + 2 * out_channels, sw, sw + out_channels, 1),
    )
    full = phases.contiguous().view(batch, 2 * h, 2 * w, out_channels)  # (B, 2h, 2w, O)
    return full.permute(0, 3, 1, 2)  # (B, O, 2h, 2w) as a channels-last view


def _like(param: torch.Tensor | None, x: torch.Tensor) -> torch.Tensor | None:
    return None if param is None else param.to(x.dtype)


def normalize(
    x: torch.Tensor, scale: torch.Tensor | None = None, shift: torch.Tensor | None = None, relu: bool = False
) -> torch.Tensor:
    """Instance norm, then the optional AdaIN (scale, shift), then the optional ReLU.

    x: (B, C, H, W); scale, shift: (B, C) float32 or None. For one image, instance norm equals batch norm
    in training mode and group norm with one group per channel; both take the affine parameters directly.
    """
    batch, channels = x.shape[:2]
    weight = scale[0] if scale is not None and batch == 1 else None
    bias = shift[0] if shift is not None and batch == 1 else None
    if batch == 1 and channels < BATCH_NORM_BELOW_CHANNELS:
        y = F.batch_norm(x, None, None, weight, bias, training=True, eps=EPS)
    elif batch == 1:
        # CUDA's group norm refuses fp32 affine parameters on a bf16/fp16 input (the CPU's takes them).
        y = F.group_norm(x, channels, _like(weight, x), _like(bias, x), eps=EPS)
    else:
        y = F.group_norm(x, channels, eps=EPS)
        if scale is not None and shift is not None:
            y = y * scale[:, :, None, None].to(y.dtype) + shift[:, :, None, None].to(y.dtype)
    return y.relu_() if relu else y


class FastGenerator:
    """E_c and the decoder of one model, packed for inference in ``dtype`` and channels-last.

    Holds its own copies of the weights (a few MB); the modules it was built from are not changed.
    """

    def __init__(
        self,
        content_encoder: ContentEncoder,
        decoder: Decoder,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
    ) -> None:
        self.dtype = dtype
        self.device = torch.device(device)
        self.encoder = [self._pack(layer) for layer in content_encoder.layers]
        self.residual = [self._pack_pair(block) for block in decoder.residual]
        # Only nearest upsampling folds into a low-resolution conv; bilinear runs as interpolate + conv.
        self.upsample_mode = decoder.upsample_mode
        if self.upsample_mode == "nearest":
            self.upsample = [self._pack_upsample(layer) for layer in decoder.upsample]
        else:
            self.upsample = [self._pack(layer) for layer in decoder.upsample]
        self.to_rgb = self._pack(decoder.to_rgb)
        strengths = decoder.noise_strength
        self.noise_strength = [self._tensor(p) for p in strengths] if strengths is not None else None

    def _tensor(self, tensor: torch.Tensor, channels_last: bool = False) -> torch.Tensor:
        tensor = tensor.detach().to(self.device, self.dtype)
        return tensor.contiguous(memory_format=CHANNELS_LAST) if channels_last else tensor.contiguous()

    @staticmethod
    def _unpack(layer: nn.Module) -> PackedConv:
        """Weight, bias and stride of a ``model.networks._conv`` block (ReflectionPad2d(1), 3x3 Conv2d)."""
        children = list(layer.children())
        if len(children) != 2 or not isinstance(children[0], nn.ReflectionPad2d):
            raise TypeError(f"expected ReflectionPad2d + Conv2d, got {layer}")
        conv = children[1]
        if not isinstance(conv, nn.Conv2d) or conv.bias is None or conv.kernel_size != (3, 3):
            raise TypeError(f"expected a 3x3 Conv2d with bias, got {conv}")
        return conv.weight.detach(), conv.bias.detach(), int(conv.stride[0])

    def _pack(self, layer: nn.Module) -> PackedConv:
        weight, bias, stride = self._unpack(layer)
        return self._tensor(weight, channels_last=True), self._tensor(bias), stride

    def _pack_pair(self, block: nn.Module) -> tuple[PackedConv, PackedConv]:
        conv_a, conv_b = list(block.children())
        return self._pack(conv_a), self._pack(conv_b)

    def _pack_upsample(self, layer: nn.Module) -> PackedConv:
        weight, bias, stride = self._unpack(layer)
        if stride != 1:
            raise TypeError("an upsampling conv must have stride 1")
        phases = subpixel_weights(weight.float())  # (4O, I, 2, 2), summed in fp32, cast once
        return self._tensor(phases, channels_last=True), self._tensor(bias).repeat(4), 1

    @staticmethod
    def _conv(x: torch.Tensor, packed: PackedConv) -> torch.Tensor:
        weight, bias, stride = packed
        return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), weight, bias, stride=stride)

    def _adain(self, x: torch.Tensor, params: FilmParameters, relu: bool = False) -> torch.Tensor:
        """:func:`normalize` for one style; for regions, their statistics (in fp32) give one per-pixel affine
        map in the activations' dtype and layout, applied in one addcmul pass."""
        if not isinstance(params, RegionFilm):
            scale, shift = params
            return normalize(x, scale.float(), shift.float(), relu=relu)
        a, b = regional_adain_affine(x, params.scales, params.shifts, params.weights)  # (1, C, H, W) each
        y = torch.addcmul(b, x, a)  # all three channels-last in dtype
        return y.relu_() if relu else y

    def encode(self, image: torch.Tensor) -> torch.Tensor:
        """E_c. image: (B, 3, H, W) in [0, 1], H and W multiples of 4 -> (B, C3, H/4, W/4) channels-last."""
        x = image.to(self.device, self.dtype).contiguous(memory_format=CHANNELS_LAST)
        for packed in self.encoder:
            x = normalize(self._conv(x, packed), relu=True)
        return x

    def noise_offsets(self, maps: list[torch.Tensor]) -> list[torch.Tensor]:
        """Noise maps already multiplied by their layers' strengths, in ``dtype`` and channels-last: per layer
        (1, 1, H_l, W_l) -> (1, C_l, H_l, W_l). For maps that many calls share (the texture), so that each call
        adds them in one pass instead of scaling them again."""
        if self.noise_strength is None:
            raise ValueError("this decoder has no noise input (its config has decoder_noise off)")
        return [
            (strength.float()[None, :, None, None] * layer.float().to(self.device))
            .to(self.dtype)
            .contiguous(memory_format=CHANNELS_LAST)
            for strength, layer in zip(self.noise_strength, maps, strict=True)
        ]

    def decode(
        self,
        features: torch.Tensor,
        film: Sequence[FilmParameters],
        noise: list[torch.Tensor] | None = None,
        offsets: list[torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """The decoder. features: (B, C3, h, w) from :meth:`encode`; film: per AdaIN layer (scale, shift),
        each (B, C_l), from :meth:`Decoder.film_parameters`, or (B = 1) the RegionFilm of
        :meth:`Decoder.region_film_parameters`; noise: None or per layer (B, 1, H_l, W_l) from
        :meth:`Decoder.noise_maps`; offsets: None or per layer (1, C_l, H_l, W_l) from :meth:`noise_offsets`,
        added as they are -> (B, 3, 4h, 4w) in (0, 1), in ``dtype``."""
        inject = noise_injector(self.noise_strength, noise)
        fixed = iter(offsets) if offsets is not None else None

        def add_noise(y: torch.Tensor) -> torch.Tensor:
            y = inject(y)
            return y if fixed is None else y + next(fixed)

        params = iter(film)
        x = features
        for conv_a, conv_b in self.residual:
            y = self._adain(add_noise(self._conv(x, conv_a)), next(params), relu=True)
            x = x + self._adain(add_noise(self._conv(y, conv_b)), next(params))
        for packed in self.upsample:
            if self.upsample_mode == "nearest":
                weight, bias, _ = packed
                y = upsample_conv(x, weight, bias)
            else:
                y = self._conv(upsample2x(x, self.upsample_mode).contiguous(memory_format=CHANNELS_LAST), packed)
            x = self._adain(add_noise(y), next(params), relu=True)
        return torch.sigmoid(self._conv(x, self.to_rgb))
