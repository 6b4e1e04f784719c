"""The baselines' feature-space maths, each against its formula (model/feature_transforms.py)."""

from __future__ import annotations

import pytest
import torch

from model import feature_transforms as FT
from model import functional as VF


def _correlated(batch: int, channels: int, size: int, seed: int) -> torch.Tensor:
    """Features with correlated channels and non-zero means: (B, C, size, size)."""
    generator = torch.Generator().manual_seed(seed)
    mixing = torch.randn(batch, channels, channels, generator=generator)  # (B, C, C)
    white = torch.randn(batch, channels, size * size, generator=generator)  # (B, C, HW)
    offset = 3.0 * torch.randn(batch, channels, 1, generator=generator)  # (B, C, 1)
    return (mixing @ white + offset).reshape(batch, channels, size, size)


def test_adain_matches_its_formula_and_takes_the_styles_statistics() -> None:
    content = _correlated(2, 6, 8, seed=0)
    style = _correlated(2, 6, 12, seed=1)  # another spatial size, as a style crop may be
    out = FT.adain(content, style)
    c_flat, s_flat = content.flatten(2), style.flatten(2)
    c_mean, s_mean = c_flat.mean(2, keepdim=True), s_flat.mean(2, keepdim=True)
    c_std = (c_flat.var(2, unbiased=False, keepdim=True) + VF.EPS).sqrt()
    s_std = (s_flat.var(2, unbiased=False, keepdim=True) + VF.EPS).sqrt()
    expected = (s_std * (c_flat - c_mean) / c_std + s_mean).reshape(content.shape)
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-4)
    out_mean, out_std = VF.calc_mean_std(out)
    torch.testing.assert_close(out_mean, s_mean[..., 0], rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(out_std, s_std[..., 0], rtol=1e-3, atol=1e-3)


def test_adain_mix_is_the_weighted_sum_of_targets_blended_with_the_content_by_alpha() -> None:
    content = _correlated(1, 5, 6, seed=2)
    styles = [_correlated(1, 5, 7, seed=3), _correlated(1, 5, 9, seed=4)]
    one, two = FT.adain(content, styles[0]), FT.adain(content, styles[1])
    # Weights 1 and 3 are normalised to 1/4 and 3/4.
    mixed = FT.adain_mix(content, styles, torch.tensor([1.0, 3.0]), alpha=0.6)
    torch.testing.assert_close(mixed, 0.6 * (0.25 * one + 0.75 * two) + 0.4 * content, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(FT.adain_mix(content, styles[:1], torch.tensor([2.0])), one)
    torch.testing.assert_close(FT.adain_mix(content, styles, torch.tensor([1.0, 1.0]), alpha=0.0), content)


@pytest.mark.parametrize(("weights", "alpha"), [([1.0], 1.0), ([-1.0, 2.0], 1.0), ([0.0, 0.0], 1.0), ([1.0, 1.0], 1.5)])
def test_adain_mix_refuses_bad_weights_and_alphas(weights: list[float], alpha: float) -> None:
    content = torch.rand(1, 3, 4, 4)
    with pytest.raises(ValueError):
        FT.adain_mix(content, [torch.rand(1, 3, 4, 4)] * 2, torch.tensor(weights), alpha)


def test_feature_covariance_is_the_biased_covariance_of_the_positions() -> None:
    features = _correlated(2, 4, 5, seed=5)
    cov = FT.feature_covariance(features)
    for b in range(2):
        torch.testing.assert_close(cov[b], torch.cov(features[b].flatten(1), correction=0), rtol=1e-4, atol=1e-4)


def test_linear_transform_matches_its_formula() -> None:
    content = _correlated(2, 4, 6, seed=6)
    matrix = torch.randn(2, 4, 4, generator=torch.Generator().manual_seed(7))
    style_mean = torch.randn(2, 4, generator=torch.Generator().manual_seed(8))
    out = FT.linear_transform(content, matrix, style_mean)
    flat = content.flatten(2)
    expected = matrix @ (flat - flat.mean(2, keepdim=True)) + style_mean[:, :, None]
    torch.testing.assert_close(out, expected.reshape(content.shape), rtol=1e-4, atol=1e-4)


def test_linear_transform_with_the_identity_and_equal_means_returns_the_content() -> None:
    content = _correlated(3, 8, 5, seed=9)
    identity = torch.eye(8).expand(3, 8, 8)
    out = FT.linear_transform(content, identity, FT.channel_mean(content))
    torch.testing.assert_close(out, content, rtol=1e-5, atol=1e-4)


def test_the_whitening_coloring_matrix_gives_the_styles_covariance_and_mean() -> None:
    content = _correlated(2, 8, 16, seed=10)
    style = _correlated(2, 8, 12, seed=11)
    style_cov = FT.feature_covariance(style)
    matrix = FT.whitening_coloring_matrix(FT.feature_covariance(content), style_cov)
    out = FT.linear_transform(content, matrix, FT.channel_mean(style))
    # Relative to the covariance's size: its entries run to about 10.
    scale = float(style_cov.abs().max())
    torch.testing.assert_close(FT.feature_covariance(out), style_cov, rtol=0.0, atol=1e-3 * scale)
    torch.testing.assert_close(FT.channel_mean(out), FT.channel_mean(style), rtol=1e-4, atol=1e-3)
    # And it is not the identity: the content's own covariance differs from the style's.
    assert float((FT.feature_covariance(content) - style_cov).abs().max()) > 0.1 * scale


def test_linear_style_loss_matches_its_formula_and_is_zero_for_the_style_itself() -> None:
    outs = [_correlated(2, 4, 6, seed=12), _correlated(2, 8, 3, seed=13)]
    styles = [_correlated(2, 4, 7, seed=14), _correlated(2, 8, 4, seed=15)]
    expected = torch.zeros(())
    for o, s in zip(outs, styles, strict=True):
        c = o.shape[1]
        gram_o = o.flatten(2) @ o.flatten(2).transpose(1, 2) / (c * o.shape[2] * o.shape[3])
        gram_s = s.flatten(2) @ s.flatten(2).transpose(1, 2) / (c * s.shape[2] * s.shape[3])
        per_sample = (o.mean((2, 3)) - s.mean((2, 3))).pow(2).sum(1) + (gram_o - gram_s).pow(2).sum((1, 2))
        expected = expected + per_sample.mean()
    torch.testing.assert_close(FT.linear_style_loss(outs, styles), expected, rtol=1e-4, atol=1e-4)
    assert float(FT.linear_style_loss(styles, styles)) == pytest.approx(0.0, abs=1e-6)
