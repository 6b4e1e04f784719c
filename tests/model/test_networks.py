"""Modules against their functions, and shapes at odd sizes."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from model import functional as VF
from model.config import ModelConfig
from model.networks import Decoder, VGGTrunk, statistics_vector, style_statistics
from tests.tiny_model import TINY_CONFIG, tiny_model


def test_trunk_taps_four_layers_with_configured_channels() -> None:
    trunk = VGGTrunk(TINY_CONFIG.trunk)
    features = trunk(torch.rand(2, 3, 32, 48))
    assert [f.shape[1] for f in features] == TINY_CONFIG.trunk.channels()
    assert [tuple(f.shape[-2:]) for f in features] == [(32, 48), (16, 24), (8, 12), (4, 6)]
    assert not any(p.requires_grad for p in trunk.parameters())


def test_trunk_applies_preprocessing_and_layer_scales() -> None:
    trunk = VGGTrunk(TINY_CONFIG.trunk)
    image = torch.rand(1, 3, 16, 16)
    raw = trunk(image)
    trunk.layer_scales.copy_(torch.tensor([2.0, 4.0, 8.0, 16.0]))
    scaled = trunk(image)
    for r, s, k in zip(raw, scaled, (2.0, 4.0, 8.0, 16.0), strict=True):
        torch.testing.assert_close(s, r / k)
    conv = trunk.features[0]
    manual = torch.relu(conv((image * 1.0 - 0.5) / 0.25))
    torch.testing.assert_close(raw[0], manual)


def test_vgg16_plan_matches_torchvision_indices() -> None:
    # relu indices in torchvision's vgg16().features: relu1_1=1, relu2_1=6, relu3_1=11, relu4_1=18.
    trunk = VGGTrunk(ModelConfig().trunk)
    assert trunk.tap_indices == [1, 6, 11, 18]


def test_style_encoder_equals_mlp_of_statistics() -> None:
    model = tiny_model()
    image = torch.rand(2, 3, 40, 24)
    mu, logvar = model.style_encoder(image)
    features = model.style_encoder.trunk(image)
    stats = [VF.calc_mean_std(f) for f in features]
    vector = torch.cat([part for mean, std in stats for part in (mean, std.log())], dim=1)
    torch.testing.assert_close(statistics_vector(stats), vector)
    torch.testing.assert_close(style_statistics(features), vector)
    expected_mu, expected_logvar = model.style_encoder.mlp(vector).chunk(2, dim=1)
    torch.testing.assert_close(mu, expected_mu)
    torch.testing.assert_close(logvar, expected_logvar.clamp(-10, 4))
    assert mu.shape == (2, TINY_CONFIG.latent_dim)


def test_decoder_film_starts_near_identity_scale() -> None:
    model = tiny_model()
    film = model.decoder.film_parameters(torch.zeros(1, TINY_CONFIG.latent_dim))
    assert len(film) == 2 * TINY_CONFIG.residual_blocks + 2
    for scale, shift in film:
        assert scale.shape == shift.shape
        assert (scale - 1).abs().max() < 1.0


def test_full_model_keeps_size_for_multiples_of_four() -> None:
    model = tiny_model()
    with torch.no_grad():
        out = model(torch.rand(3, 3, 36, 52), torch.randn(3, TINY_CONFIG.latent_dim))
    assert out.shape == (3, 3, 36, 52)
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0


def _noisy_config() -> ModelConfig:
    return dataclasses.replace(TINY_CONFIG, decoder_noise=True)


def test_decoder_noise_maps_match_each_layer_and_scale_per_image() -> None:
    decoder = Decoder(_noisy_config())
    maps = decoder.noise_maps(torch.tensor([0.0, 2.0]), 5, 7, torch.Generator().manual_seed(0))
    # one residual block (two AdaIN layers) at the feature size, then the two upsampling layers
    assert [tuple(m.shape) for m in maps] == [(2, 1, 5, 7), (2, 1, 5, 7), (2, 1, 10, 14), (2, 1, 20, 28)]
    again = decoder.noise_maps(torch.tensor([1.0, 1.0]), 5, 7, torch.Generator().manual_seed(0))
    for scaled, plain in zip(maps, again, strict=True):
        assert scaled[0].abs().sum() == 0  # variation 0: no noise
        torch.testing.assert_close(scaled[1], 2.0 * plain[1])


def test_decoder_noise_starts_nearly_silent_but_not_tied_and_then_moves_the_output() -> None:
    torch.manual_seed(0)
    decoder = Decoder(_noisy_config()).eval()
    features, code = torch.rand(2, 8, 6, 6), torch.randn(2, TINY_CONFIG.latent_dim)
    film = decoder.film_parameters(code)
    maps = decoder.noise_maps(torch.ones(2), 6, 6, torch.Generator().manual_seed(1))
    with torch.no_grad():
        quiet = decoder(features, film)
        start = (decoder(features, film, maps) - quiet).abs()
        # Small strengths at the start: nearly the quiet image, but two draws are not bit-identical, which
        # would leave the diversity hinge without a gradient on any CPU.
        assert 0 < float(start.mean()) < 2e-3
        assert decoder.noise_strength is not None
        for strength in decoder.noise_strength:
            strength.fill_(0.5)
        assert (decoder(features, film, maps) - quiet).abs().mean() > 1e-3


def test_noise_into_a_decoder_without_a_noise_input_is_refused() -> None:
    decoder = Decoder(TINY_CONFIG)
    assert decoder.noise_strength is None
    maps = Decoder(_noisy_config()).noise_maps(torch.ones(1), 4, 4)
    with pytest.raises(ValueError, match="no noise input"):
        decoder(torch.rand(1, 8, 4, 4), decoder.film_parameters(torch.zeros(1, TINY_CONFIG.latent_dim)), maps)
