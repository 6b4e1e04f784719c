"""A tiny random model for fast tests. It is never shipped: only tests build it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from model.baselines import BaselineConfig, build_baseline, save_baseline
from model.checkpoint import save_checkpoint
from model.config import ModelConfig, TrunkConfig
from model.networks import VariationalStyleTransfer

TINY_CONFIG = ModelConfig(
    latent_dim=8,
    style_hidden=16,
    widths=(4, 8, 8),
    residual_blocks=1,
    film_hidden=16,
    trunk=TrunkConfig(arch="tiny", input_scale=1.0, input_mean=(0.5, 0.5, 0.5), input_std=(0.25, 0.25, 0.25)),
)


def tiny_model(seed: int = 0) -> VariationalStyleTransfer:
    torch.manual_seed(seed)
    model = VariationalStyleTransfer(TINY_CONFIG)
    return model.eval()


def write_tiny_checkpoint(path: Path, seed: int = 0) -> Path:
    save_checkpoint(tiny_model(seed), path, provenance={"loss_network": "tiny", "purpose": "tests only"})
    return path


def with_decoder_noise(config: ModelConfig, strength: float, seed: int = 0) -> VariationalStyleTransfer:
    """A random model of ``config`` with the decoder's noise input on and every strength set to ``strength``
    (they start near zero, which would hide the noise)."""
    torch.manual_seed(seed)
    model = VariationalStyleTransfer(dataclasses.replace(config, decoder_noise=True)).eval()
    assert model.decoder.noise_strength is not None
    with torch.no_grad():
        for parameter in model.decoder.noise_strength:
            parameter.fill_(strength)
    return model


def write_tiny_baselines(folder: Path) -> dict[str, Path]:
    """Tiny random AdaIN and Linear checkpoints on the tiny trunk, by method name."""
    paths = {}
    for method, depth in (("adain", 4), ("linear", 3)):
        torch.manual_seed(0)
        config = BaselineConfig(method=method, depth=depth, matrix_size=4, trunk=TINY_CONFIG.trunk)
        paths[method] = folder / f"{method}.safetensors"
        save_baseline(build_baseline(config), paths[method])
    return paths
