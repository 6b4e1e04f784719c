"""Baselines for the evaluation table.

- Gatys et al.: optimise the pixels of the output directly against the same loss network and losses.
- Deterministic AdaIN-like: a model used at variation 0 (optionally a checkpoint trained with no KL).
"""

from __future__ import annotations

import torch

from model import functional as VF
from model.networks import VGGTrunk


def gatys(
    trunk: VGGTrunk,
    content: torch.Tensor,
    style: torch.Tensor,
    steps: int = 200,
    content_weight: float = 4.0,
    style_weight: float = 1.0,
    content_norm: float = 1.0,
    style_norm: float = 1.0,
    lr: float = 0.02,
) -> torch.Tensor:
    """Neural style by optimisation (Gatys et al. 2016), initialised from the content photo.

    content: (1, 3, H, W) and style: (1, 3, Hs, Ws) in [0, 1]. The losses are the training losses with the
    same normalisation, so the baseline optimises exactly what the model is scored on. Returns (1, 3, H, W).
    """
    trunk = trunk.eval()
    with torch.no_grad():
        content_target = trunk(content)[-1]
        style_grams = [VF.gram_matrix(f) for f in trunk(style)]
    # Optimised in logit space so that the image stays in (0, 1) without clamping the gradients away.
    logits = torch.logit(content.clamp(0.01, 0.99)).clone().requires_grad_(True)
    optimizer = torch.optim.Adam([logits], lr=lr * 10)
    for _ in range(steps):
        optimizer.zero_grad(set_to_none=True)
        image = torch.sigmoid(logits)
        features = trunk(image)
        loss = content_weight * VF.content_loss(features[-1], content_target) / content_norm
        loss = loss + style_weight * VF.gram_style_loss(features, style_grams) / style_norm
        loss.backward()
        optimizer.step()
    return torch.sigmoid(logits).detach()
