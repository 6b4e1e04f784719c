"""The inference-only generator equals the reference modules it was packed from."""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from model import functional as VF
from model.checkpoint import load_checkpoint
from model.config import ModelConfig, TrunkConfig
from model.fast_generator import FastGenerator, normalize, subpixel_weights, upsample_conv
from model.inference import Stylizer, image_to_tensor, keep_freed_memory_mapped
from model.networks import VariationalStyleTransfer
from tests.conftest import DATA
from tests.tiny_model import tiny_model, with_decoder_noise

# The shipped architecture with random weights: 24 channels exercise the batch-norm branch, 48 and 96 group norm.
FULL_WIDTH_CONFIG = ModelConfig(
    latent_dim=16,
    style_hidden=32,
    widths=(24, 48, 96),
    residual_blocks=2,
    film_hidden=32,
    trunk=TrunkConfig(arch="tiny", input_scale=1.0, input_mean=(0.5, 0.5, 0.5), input_std=(0.25, 0.25, 0.25)),
)


def _reference(model: VariationalStyleTransfer, image: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(image, code)


@pytest.mark.parametrize("size", [(1, 1), (5, 7), (8, 3)])
def test_subpixel_conv_equals_upsample_reflect_pad_conv(size: tuple[int, int]) -> None:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(2, 6, *size, generator=generator, dtype=torch.float64)
    weight = torch.randn(5, 6, 3, 3, generator=generator, dtype=torch.float64)
    bias = torch.randn(5, generator=generator, dtype=torch.float64)
    upsampled = F.interpolate(x, scale_factor=2.0, mode="nearest")
    expected = F.conv2d(F.pad(upsampled, (1, 1, 1, 1), mode="reflect"), weight, bias)
    got = upsample_conv(x, subpixel_weights(weight), bias.repeat(4))
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-10)


@pytest.mark.parametrize("channels", [3, 24, 40])
@pytest.mark.parametrize("batch", [1, 2])
def test_normalize_is_adaptive_instance_norm_then_relu(channels: int, batch: int) -> None:
    generator = torch.Generator().manual_seed(channels)
    x = torch.randn(batch, channels, 9, 11, generator=generator) * 3 + 1
    scale = torch.rand(batch, channels, generator=generator) + 0.5
    shift = torch.randn(batch, channels, generator=generator)
    x = x.contiguous(memory_format=torch.channels_last)
    expected = torch.relu(VF.adaptive_instance_norm(x, scale, shift))
    torch.testing.assert_close(normalize(x, scale, shift, relu=True), expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(normalize(x), VF.instance_norm(x), rtol=1e-5, atol=1e-5)


def test_group_norm_gets_affine_parameters_in_the_input_dtype(monkeypatch: pytest.MonkeyPatch) -> None:
    """CUDA's group norm refuses fp32 weights on a bf16 input (seen on an H100, torch 2.11); the CPU's takes
    them, so this CPU test stands in for the GPU with a group_norm that checks dtypes as CUDA's does."""
    real_group_norm = F.group_norm

    def strict_group_norm(
        x: torch.Tensor, groups: int, weight: torch.Tensor | None = None, *args: Any, **kwargs: Any
    ) -> torch.Tensor:
        assert weight is None or weight.dtype == x.dtype, f"{weight.dtype} weight on a {x.dtype} input"
        return real_group_norm(x, groups, weight, *args, **kwargs)

    x = torch.randn(1, 48, 8, 8).to(torch.bfloat16)
    scale, shift = torch.rand(1, 48) + 0.5, torch.randn(1, 48)  # fp32, as Decoder.film_parameters gives them
    expected = VF.adaptive_instance_norm(x.float(), scale, shift)
    monkeypatch.setattr(F, "group_norm", strict_group_norm)
    torch.testing.assert_close(normalize(x, scale, shift).float(), expected, rtol=0.02, atol=0.05)


@pytest.mark.parametrize("config_name", ["tiny", "full_width", "full_width_bilinear"])
@pytest.mark.parametrize("batch", [1, 2])
def test_fp32_fast_generator_equals_the_modules(config_name: str, batch: int) -> None:
    torch.manual_seed(1)
    configs = {"full_width": FULL_WIDTH_CONFIG, "full_width_bilinear": replace(FULL_WIDTH_CONFIG, upsample="bilinear")}
    model = tiny_model() if config_name == "tiny" else VariationalStyleTransfer(configs[config_name]).eval()
    image = torch.rand(batch, 3, 36, 44)
    code = torch.randn(batch, model.config.latent_dim)
    fast = FastGenerator(model.content_encoder, model.decoder, torch.float32)
    with torch.no_grad():
        got = fast.decode(fast.encode(image), model.decoder.film_parameters(code))
    torch.testing.assert_close(got, _reference(model, image, code), rtol=0, atol=1e-5)


def test_packing_leaves_the_model_untouched() -> None:
    model = tiny_model()
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    FastGenerator(model.content_encoder, model.decoder, torch.bfloat16)
    Stylizer(model, dtype=torch.bfloat16)
    for name, tensor in model.state_dict().items():
        assert tensor.dtype == torch.float32, name
        torch.testing.assert_close(tensor, before[name], rtol=0, atol=0)


EVAL_OTHER_STYLE = "aic_16542_monet_the_customs_house_at_varengeville.jpg"


def test_bf16_stylizer_stays_close_to_fp32_on_the_shipped_model() -> None:
    model, _ = load_checkpoint(None)
    with Image.open(DATA / "eval" / "content" / "kodak_kodim15.jpg") as image:
        content = image.convert("RGB")
    with Image.open(DATA / "eval" / "style" / "hokusai_great_wave.jpg") as image:
        style = image.convert("RGB")
    with Image.open(DATA / "eval" / "style" / EVAL_OTHER_STYLE) as image:
        other_style = image.convert("RGB")
    fp32, bf16 = Stylizer(model, dtype=torch.float32), Stylizer(model, dtype=torch.bfloat16)
    code32, code16 = fp32.encode_style(style), bf16.encode_style(style)
    other32 = fp32.encode_style(other_style)
    # The VGG trunk in bf16 moves the style code by a small fraction of the distance to another painting's
    # code (measured: 0.036 against 8.5; the sampling noise at variation 1 has a norm of about 1.2).
    bf16_shift = float((code16.mu - code32.mu).norm())
    assert bf16_shift < 0.05 * float((other32.mu - code32.mu).norm()), bf16_shift
    out32 = image_to_tensor(fp32.stylize(content, [code32], max_side=192)[0])
    out16 = image_to_tensor(bf16.stylize(content, [code32], max_side=192)[0])
    difference = (out16 - out32).abs() * 255  # grey levels
    assert float(difference.mean()) < 1.0 and float(difference.max()) < 16.0, (difference.mean(), difference.max())


def test_allocator_setting_applies_on_linux() -> None:
    assert keep_freed_memory_mapped() is sys.platform.startswith("linux")


def test_fp32_fast_generator_adds_the_same_noise_as_the_modules() -> None:
    model = with_decoder_noise(FULL_WIDTH_CONFIG, 0.4, seed=2)
    image, code = torch.rand(1, 3, 36, 44), torch.randn(1, model.config.latent_dim)
    maps = model.decoder.noise_maps(torch.full((1,), 0.7), 9, 11, torch.Generator().manual_seed(3))
    fast = FastGenerator(model.content_encoder, model.decoder, torch.float32)
    with torch.no_grad():
        film = model.decoder.film_parameters(code)
        expected = model.decoder(model.content_encoder(image), film, maps)
        got = fast.decode(fast.encode(image), film, maps)
        assert (expected - model.decoder(model.content_encoder(image), film)).abs().mean() > 1e-3
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)
