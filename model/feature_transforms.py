"""Pure tensor maths of the published fast baselines: AdaIN (Huang & Belongie 2017) and Linear (Li et al. 2019).

Every function is stateless and tested against its formula in ``tests/model/test_feature_transforms.py``;
the modules in :mod:`model.baselines` are thin wrappers around them. Statistics and matrix products run in
fp32 even under bf16 autocast: covariances of hundreds of channels lose their small eigenvalues in bf16.
"""

from __future__ import annotations

import torch

from model import functional as VF

# Added to covariance diagonals before a matrix square root: tiny next to feature variances (about 1
# with the trunk's per-layer scales), but it keeps rank-deficient covariances (flat crops) invertible.
COVARIANCE_EPS = 1e-5


def adain(content: torch.Tensor, style: torch.Tensor, eps: float = VF.EPS) -> torch.Tensor:
    """AdaIN(x, y) = sigma(y) (x - mu(x)) / sigma(x) + mu(y), per sample and channel.

    content: (B, C, H, W); style: (B, C, Hs, Ws) -> (B, C, H, W).
    """
    style_mean, style_std = VF.calc_mean_std(style, eps)  # (B, C) each
    return VF.adaptive_instance_norm(content.float(), style_std, style_mean, eps)


def adain_mix(
    content: torch.Tensor, styles: list[torch.Tensor], weights: torch.Tensor, alpha: float = 1.0
) -> torch.Tensor:
    """The paper's style interpolation and content-style trade-off, in feature space.

    t = alpha * sum_k w_k AdaIN(c, s_k) + (1 - alpha) * c, with the weights normalised to sum to 1.
    content: (1, C, H, W); styles: K tensors (1, C, H_k, W_k); weights: (K,), non-negative, not all zero.
    """
    if weights.dim() != 1 or weights.shape[0] != len(styles):
        raise ValueError(f"expected {len(styles)} weights, got shape {tuple(weights.shape)}")
    if bool((weights < 0).any()) or not bool(torch.isfinite(weights).all()) or float(weights.sum()) <= 0:
        raise ValueError("weights must be finite, non-negative and not all zero")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    w = weights.float() / weights.float().sum()  # (K,)
    target = sum((w[k] * adain(content, style) for k, style in enumerate(styles)), torch.zeros_like(content.float()))
    return alpha * target + (1.0 - alpha) * content.float()  # (1, C, H, W)


def channel_mean(features: torch.Tensor) -> torch.Tensor:
    """The per-channel spatial mean: (B, C, H, W) -> (B, C)."""
    return features.float().flatten(2).mean(dim=2)


def feature_covariance(features: torch.Tensor) -> torch.Tensor:
    """Cov = (F - mu)(F - mu)^T / HW, with F the (C, HW) feature matrix: (B, C, H, W) -> (B, C, C)."""
    with torch.autocast(device_type=features.device.type, enabled=False):
        flat = features.float().flatten(2)  # (B, C, HW)
        centred = flat - flat.mean(dim=2, keepdim=True)  # (B, C, HW)
        return centred @ centred.transpose(1, 2) / flat.shape[2]  # (B, C, C)


def linear_transform(content: torch.Tensor, matrix: torch.Tensor, style_mean: torch.Tensor) -> torch.Tensor:
    """Linear's feature transform: T (c - mu(c)) + mu(s), the matrix applied to each centred position.

    content: (B, C, H, W); matrix T: (B, C, C); style_mean: (B, C) -> (B, C, H, W).
    """
    with torch.autocast(device_type=content.device.type, enabled=False):
        b, c, h, w = content.shape
        flat = content.float().reshape(b, c, h * w)  # (B, C, HW)
        centred = flat - flat.mean(dim=2, keepdim=True)  # (B, C, HW)
        moved = matrix.float() @ centred + style_mean.float()[:, :, None]  # (B, C, HW)
        return moved.reshape(b, c, h, w)


def _symmetric_power(covariance: torch.Tensor, power: float, eps: float) -> torch.Tensor:
    """(Cov + eps I)^power through the eigendecomposition of a symmetric (B, C, C) matrix."""
    eye = torch.eye(covariance.shape[-1], dtype=torch.float64, device=covariance.device)
    values, vectors = torch.linalg.eigh(covariance.double() + eps * eye)  # (B, C), (B, C, C)
    scaled = vectors * values.clamp_min(eps).pow(power)[:, None, :]  # (B, C, C): V diag(lambda^p)
    return scaled @ vectors.transpose(1, 2)  # (B, C, C)


def whitening_coloring_matrix(
    content_cov: torch.Tensor, style_cov: torch.Tensor, eps: float = COVARIANCE_EPS
) -> torch.Tensor:
    """The exact whitening-colouring matrix T = Cov_s^(1/2) Cov_c^(-1/2), each (B, C, C) -> (B, C, C).

    For T (c - mu(c)): T Cov_c T^T = Cov_s (up to eps), the target Linear's network learns to predict.
    """
    with torch.autocast(device_type=content_cov.device.type, enabled=False):
        colour = _symmetric_power(style_cov, 0.5, eps)  # (B, C, C)
        whiten = _symmetric_power(content_cov, -0.5, eps)  # (B, C, C)
        return (colour @ whiten).to(torch.float32)


def linear_style_loss(output_features: list[torch.Tensor], style_features: list[torch.Tensor]) -> torch.Tensor:
    """Linear's style loss: sum over layers of ||mu(o) - mu(s)||^2 + ||G(o) - G(s)||_F^2, mean over the batch.

    G is :func:`model.functional.gram_matrix`, F F^T / (C H W). Per layer (B, C_l, H_l, W_l); the style's
    spatial size may differ from the output's.
    """
    total = output_features[0].new_zeros((), dtype=torch.float32)
    for out, sty in zip(output_features, style_features, strict=True):
        mean_term = (channel_mean(out) - channel_mean(sty)).pow(2).sum(dim=1)  # (B,)
        gram_term = (VF.gram_matrix(out) - VF.gram_matrix(sty)).pow(2).sum(dim=(1, 2))  # (B,)
        total = total + (mean_term + gram_term).mean()
    return total
