"""Spatial control: styles painted over masks, in the reference decoder, the fast generator and the Stylizer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from model.checkpoint import load_checkpoint
from model.fast_generator import FastGenerator
from model.inference import StyleCode, Stylizer, image_to_tensor, mask_tensor
from model.networks import VariationalStyleTransfer
from tests.model.test_fast_generator import FULL_WIDTH_CONFIG
from tests.tiny_model import tiny_model

HEIGHT, WIDTH = 64, 256


def _content(seed: int = 0) -> torch.Tensor:
    """A statistically even picture (smoothed noise): each half has the whole image's statistics, so a region's
    normalisation matches the whole image's and only the receptive field separates the halves."""
    generator = torch.Generator().manual_seed(seed)
    noise = torch.rand(1, 3, HEIGHT // 2, WIDTH // 2, generator=generator)
    return F.interpolate(noise, size=(HEIGHT, WIDTH), mode="bilinear", align_corners=False)  # (1, 3, H, W)


def _model() -> VariationalStyleTransfer:
    torch.manual_seed(7)
    return VariationalStyleTransfer(FULL_WIDTH_CONFIG).eval()


def _codes(model: VariationalStyleTransfer) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The photo's own code and two style codes, (1, D) each, far apart so that their looks differ."""
    generator = torch.Generator().manual_seed(8)
    own, a, b = (3 * torch.randn(1, model.config.latent_dim, generator=generator) for _ in range(3))
    return own, a, b


def _decode(
    model: VariationalStyleTransfer, image: torch.Tensor, codes: torch.Tensor, masks: torch.Tensor
) -> torch.Tensor:
    with torch.no_grad():
        features = model.content_encoder(image)
        film = model.decoder.region_film_parameters(codes, masks, *features.shape[-2:])
        return model.decoder(features, film)


def _plain(model: VariationalStyleTransfer, image: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(image, code)


def test_one_full_mask_equals_the_plain_stylization() -> None:
    model, image = _model(), _content()
    own, a, _ = _codes(model)
    got = _decode(model, image, torch.cat([own, a]), torch.ones(1, HEIGHT, WIDTH))
    torch.testing.assert_close(got, _plain(model, image, a), atol=1e-5, rtol=0)
    # And the photo's own code is what an empty mask leaves.
    kept = _decode(model, image, torch.cat([own, a]), torch.zeros(1, HEIGHT, WIDTH))
    torch.testing.assert_close(kept, _plain(model, image, own), atol=1e-5, rtol=0)


def test_two_complementary_masks_with_one_style_equal_that_style_alone() -> None:
    model, image = _model(), _content()
    own, a, _ = _codes(model)
    ramp = torch.linspace(0, 1, WIDTH).expand(HEIGHT, WIDTH)  # a soft border across the whole width
    got = _decode(model, image, torch.cat([own, a, a]), torch.stack([ramp, 1 - ramp]))
    torch.testing.assert_close(got, _plain(model, image, a), atol=1e-5, rtol=0)


def test_a_hard_vertical_split_equals_each_styles_own_result_away_from_the_border() -> None:
    model, image = _model(), _content()
    own, a, b = _codes(model)
    left = torch.zeros(HEIGHT, WIDTH)
    left[:, : WIDTH // 2] = 1.0
    got = _decode(model, image, torch.cat([own, a, b]), torch.stack([left, 1 - left]))
    only_a, only_b = _plain(model, image, a), _plain(model, image, b)
    margin = 16  # the decoder's reach: 4 convs at a quarter of the resolution, 2 above
    west, east = slice(0, WIDTH // 2 - margin), slice(WIDTH // 2 + margin, WIDTH)
    styles_apart = float((only_a - only_b).abs().mean())
    assert styles_apart > 0.02, styles_apart
    west_error = float((got[..., west] - only_a[..., west]).abs().mean())
    east_error = float((got[..., east] - only_b[..., east]).abs().mean())
    # The halves' statistics equal the whole image's only up to sampling: a few % of the styles' distance.
    assert west_error < 0.1 * styles_apart, (west_error, styles_apart)
    assert east_error < 0.1 * styles_apart, (east_error, styles_apart)
    # At the border the two looks meet: neither style alone.
    seam = slice(WIDTH // 2 - 2, WIDTH // 2 + 2)
    assert float((got[..., seam] - only_a[..., seam]).abs().mean()) > west_error


def test_codes_and_masks_must_match() -> None:
    model, image = _model(), _content()
    own, a, b = _codes(model)
    with pytest.raises(ValueError, match="expected 3 codes"):
        _decode(model, image, torch.cat([own, a]), torch.ones(2, HEIGHT, WIDTH))


@pytest.mark.parametrize("config_name", ["tiny", "full_width"])
def test_fp32_fast_generator_equals_the_modules_with_regions(config_name: str) -> None:
    model = tiny_model() if config_name == "tiny" else _model()
    image = _content(1)
    generator = torch.Generator().manual_seed(9)
    codes = torch.randn(3, model.config.latent_dim, generator=generator)
    masks = torch.rand(2, HEIGHT, WIDTH, generator=generator) * 0.6  # overlapping, with a remainder
    fast = FastGenerator(model.content_encoder, model.decoder, torch.float32)
    with torch.no_grad():
        features = fast.encode(image)
        film = model.decoder.region_film_parameters(codes, masks, *features.shape[-2:])
        got = fast.decode(features, film)
    torch.testing.assert_close(got, _decode(model, image, codes, masks), atol=1e-4, rtol=0)


def test_bf16_fast_generator_stays_close_with_regions() -> None:
    model, image = _model(), _content(2)
    own, a, b = _codes(model)
    left = torch.zeros(HEIGHT, WIDTH)
    left[:, : WIDTH // 3] = 1.0
    codes, masks = torch.cat([own, a, b]), torch.stack([left, torch.flip(left, dims=[1])])
    fast = FastGenerator(model.content_encoder, model.decoder, torch.bfloat16)
    with torch.no_grad():
        features = fast.encode(image)
        got = fast.decode(features, model.decoder.region_film_parameters(codes, masks, *features.shape[-2:]))
    expected = _decode(model, image, codes, masks)
    assert float((got.float() - expected).abs().mean()) < 4 / 255


def _gray(array: np.ndarray) -> Image.Image:
    return Image.fromarray((array * 255).astype(np.uint8), mode="L")


def _noise_image(width: int, height: int, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8))


@pytest.fixture(scope="module")
def tiny(tiny_checkpoint: Path) -> Stylizer:
    model, _ = load_checkpoint(tiny_checkpoint)
    return Stylizer(model, dtype=torch.float32)


def test_one_white_mask_follows_the_seed_rule_of_a_plain_stylization(tiny: Stylizer) -> None:
    content = _noise_image(60, 44, 1)
    code = tiny.encode_style(_noise_image(40, 40, 2))
    white = Image.new("L", (30, 22), 255)  # half the size: resized to the output
    plain = tiny.stylize(content, [code], variation=1.0, samples=2, seed=5)
    masked = tiny.stylize(content, [code], masks=[white], variation=1.0, samples=2, seed=5)
    for p, m in zip(plain, masked, strict=True):
        torch.testing.assert_close(image_to_tensor(m), image_to_tensor(p), atol=1.5 / 255, rtol=0)
    other_seed = tiny.stylize(content, [code], masks=[white], variation=1.0, seed=6)[0]
    assert float((image_to_tensor(other_seed) - image_to_tensor(masked[0])).abs().mean()) > 1 / 255


def test_a_black_half_keeps_the_photos_own_look() -> None:
    stylizer = Stylizer(_model(), dtype=torch.float32)
    content = Image.fromarray((_content(3)[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8))
    generator = torch.Generator().manual_seed(10)
    dim = stylizer.latent_dim
    code = StyleCode(mu=3 * torch.randn(dim, generator=generator), logvar=torch.zeros(dim))
    east = np.zeros((HEIGHT, WIDTH))
    east[:, WIDTH // 2 :] = 1.0
    (masked,) = stylizer.stylize(content, [code], masks=[_gray(east)])
    (own,) = stylizer.stylize(content, [code], alpha=0.0)  # the photo's own style code
    (styled,) = stylizer.stylize(content, [code])
    west = slice(0, WIDTH // 2 - 16)
    m, o, s = (image_to_tensor(i)[..., west] for i in (masked, own, styled))
    assert float((m - o).abs().mean()) < 0.1 * float((o - s).abs().mean())


def test_mask_count_and_weights_are_checked(tiny: Stylizer) -> None:
    content, code = _noise_image(32, 32, 5), tiny.encode_style(_noise_image(32, 32, 6))
    white = Image.new("L", (32, 32), 255)
    with pytest.raises(ValueError, match="mask"):
        tiny.stylize(content, [code, code], masks=[white])
    with pytest.raises(ValueError, match="weights or masks"):
        tiny.stylize(content, [code], weights=[1.0], masks=[white])


def test_mask_tensor_resizes_and_feathers() -> None:
    half = np.zeros((20, 40))
    half[:, 20:] = 1.0
    hard = mask_tensor(_gray(half), 80, 40)
    assert hard.shape == (40, 80)
    assert float(hard[:, :30].max()) == 0.0 and float(hard[:, 50:].min()) == 1.0
    soft = mask_tensor(_gray(half), 80, 40, feather=4.0)
    row = soft[20]
    assert 0.05 < float(row[36]) < 0.5 < float(row[43]) < 0.95  # a ramp across the border
    assert bool((row[1:] >= row[:-1] - 1e-6).all())  # rising from black to white
    with pytest.raises(ValueError):
        mask_tensor(_gray(half), 80, 40, feather=-1.0)
