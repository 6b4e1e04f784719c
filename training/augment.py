"""Colour augmentation of the style crops: new palettes from the few paintings there are.

With 46 training paintings the style encoder learns 46 points and a decoder that is only reliable near
them: a held-out painting far from all of them (Picabia's Udnie) decoded to a washed-out grey with
5x the baseline's Gram loss. Rotating the hue and scaling the saturation and contrast of a painting
gives a plausible painting of another palette with the same brushwork, which fills the space between
those points. Every term of the loss is measured against the augmented crop, so the targets stay
consistent. Each transform is linear per image (a 3x3 matrix plus an offset), hence these pure functions.
"""

from __future__ import annotations

import math

import torch

# RGB -> YIQ (NTSC): Y is luma, (I, Q) the chroma plane; a rotation in (I, Q) turns the hue.
RGB_TO_YIQ = torch.tensor(
    [
        [0.299, 0.587, 0.114],
        [0.595716, -0.274453, -0.321263],
        [0.211456, -0.522591, 0.311135],
    ]
)


def color_matrices(hue: torch.Tensor, saturation: torch.Tensor) -> torch.Tensor:
    """Per-image RGB -> RGB matrices that turn the hue by ``hue`` radians and scale the chroma.

    hue, saturation: (B,) -> (B, 3, 3) equal to ``YIQ^-1 @ diag(1, s R(hue)) @ YIQ``.
    """
    batch = hue.shape[0]
    cos, sin = torch.cos(hue), torch.sin(hue)  # (B,) each
    chroma = torch.zeros(batch, 3, 3, dtype=torch.float64)  # (B, 3, 3)
    chroma[:, 0, 0] = 1.0
    chroma[:, 1, 1] = saturation * cos
    chroma[:, 1, 2] = -saturation * sin
    chroma[:, 2, 1] = saturation * sin
    chroma[:, 2, 2] = saturation * cos
    yiq = RGB_TO_YIQ.double()
    return (torch.linalg.inv(yiq) @ chroma @ yiq).float()  # (B, 3, 3)


def apply_color_transform(images: torch.Tensor, matrices: torch.Tensor, contrast: torch.Tensor) -> torch.Tensor:
    """images (B, 3, H, W) in [0, 1]; matrices (B, 3, 3); contrast (B,) -> (B, 3, H, W) in [0, 1].

    Each pixel becomes ``M x``, then its distance from the image's mean colour is scaled by ``contrast``.
    """
    mixed = torch.einsum("bij,bjhw->bihw", matrices.to(images.dtype), images)  # (B, 3, H, W)
    mean = mixed.mean(dim=(2, 3), keepdim=True)  # (B, 3, 1, 1)
    return ((mixed - mean) * contrast.to(images.dtype)[:, None, None, None] + mean).clamp(0.0, 1.0)


def jitter_style_colors(
    images: torch.Tensor, probability: float, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Recolour a random ``probability`` share of the crops; returns (images, which were changed (B,) bool).

    A changed crop gets a uniform hue rotation, a saturation in [0.5, 1.5] and a contrast in [0.8, 1.2]. The
    random numbers come from ``generator`` on the CPU, so a run resumed at a step draws the same ones.
    """
    batch = images.shape[0]
    chosen = torch.rand(batch, generator=generator) < probability  # (B,)
    hue = (torch.rand(batch, generator=generator) * 2.0 - 1.0) * math.pi  # (B,)
    saturation = 0.5 + torch.rand(batch, generator=generator)  # (B,)
    contrast = 0.8 + 0.4 * torch.rand(batch, generator=generator)  # (B,)
    if not bool(chosen.any()):
        return images, chosen
    matrices = color_matrices(hue[chosen], saturation[chosen]).to(images.device)  # (b, 3, 3)
    out = images.clone()
    index = chosen.nonzero().squeeze(1).to(images.device)
    out[index] = apply_color_transform(images[index], matrices, contrast[chosen].to(images.device))
    return out, chosen
