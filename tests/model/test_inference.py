"""The Stylizer: sampling, seeds, blending, alpha, colour preservation and odd sizes."""

from __future__ import annotations

import io
import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from model import functional as VF
from model.checkpoint import load_checkpoint
from model.inference import StyleCode, Stylizer, image_to_tensor, pad_to_multiple
from tests.conftest import DATA
from tests.tiny_model import TINY_CONFIG, with_decoder_noise
from training.metrics import mean_abs_difference, sweep_smoothness

EVAL_CONTENT = sorted((DATA / "eval" / "content").iterdir())
EVAL_STYLE = sorted((DATA / "eval" / "style").iterdir())


def _open(path: Path) -> Image.Image:
    with Image.open(path) as image:
        return image.convert("RGB")


def _png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def tiny(tiny_checkpoint: Path) -> Stylizer:
    model, _ = load_checkpoint(tiny_checkpoint)
    return Stylizer(model)


@pytest.fixture(scope="module")
def shipped() -> Stylizer:
    model, _ = load_checkpoint(None)
    return Stylizer(model)


def _noise_image(width: int, height: int, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8))


def test_odd_sizes_come_back_at_the_same_size(tiny: Stylizer) -> None:
    code = tiny.encode_style(_noise_image(61, 47, 1))
    (out,) = tiny.stylize(_noise_image(333, 517, 2), [code], max_side=1024)
    assert out.size == (333, 517)
    (small,) = tiny.stylize(_noise_image(333, 517, 2), [code], max_side=200)
    assert max(small.size) == 200


def test_pad_to_multiple_handles_tiny_images() -> None:
    padded, h, w = pad_to_multiple(torch.rand(1, 3, 1, 3))
    assert padded.shape[-2:] == (4, 4) and (h, w) == (1, 3)


def test_style_code_bytes_round_trip(tiny: Stylizer) -> None:
    code = tiny.encode_style(_noise_image(40, 30, 3))
    again = StyleCode.from_bytes(code.to_bytes())
    torch.testing.assert_close(again.mu, code.mu)
    torch.testing.assert_close(again.logvar, code.logvar)
    with pytest.raises(ValueError):
        StyleCode.from_bytes(b"\x00" * 12)


def test_same_seed_gives_identical_bytes_and_samples_differ(tiny: Stylizer) -> None:
    content, code = _noise_image(64, 48, 4), tiny.encode_style(_noise_image(40, 40, 5))
    first = tiny.stylize(content, [code], variation=1.0, samples=3, seed=11)
    again = tiny.stylize(content, [code], variation=1.0, samples=3, seed=11)
    assert [_png_bytes(i) for i in first] == [_png_bytes(i) for i in again]
    tensors = [image_to_tensor(i) for i in first]
    for a, b in itertools.combinations(tensors, 2):
        assert mean_abs_difference(a, b) > 0


def test_variation_zero_ignores_the_seed(tiny: Stylizer) -> None:
    content, code = _noise_image(32, 32, 6), tiny.encode_style(_noise_image(32, 32, 7))
    a = tiny.stylize(content, [code], variation=0.0, seed=1)[0]
    b = tiny.stylize(content, [code], variation=0.0, seed=2)[0]
    assert _png_bytes(a) == _png_bytes(b)


def test_weights_one_zero_equal_the_first_style_alone(tiny: Stylizer) -> None:
    content = _noise_image(48, 40, 8)
    codes = [tiny.encode_style(_noise_image(32, 32, s)) for s in (9, 10)]
    alone = image_to_tensor(tiny.stylize(content, codes[:1], variation=0.5, seed=3)[0])
    blended = image_to_tensor(tiny.stylize(content, codes, weights=[1.0, 0.0], variation=0.5, seed=3)[0])
    torch.testing.assert_close(blended, alone, atol=1.5 / 255, rtol=0)


def test_alpha_zero_uses_the_contents_own_code(tiny: Stylizer) -> None:
    content = _noise_image(40, 40, 11)
    style = tiny.encode_style(_noise_image(40, 40, 12))
    own = tiny.encode_style(content)
    via_alpha = tiny.stylize(content, [style], alpha=0.0)[0]
    via_own = tiny.stylize(content, [own])[0]
    torch.testing.assert_close(image_to_tensor(via_alpha), image_to_tensor(via_own), atol=1.5 / 255, rtol=0)


@pytest.mark.parametrize("options", [{"alpha": 1.5}, {"alpha": -0.1}, {"variation": -1.0}, {"samples": 0}])
def test_bad_options_raise_value_error(tiny: Stylizer, options: dict[str, Any]) -> None:
    code = tiny.encode_style(_noise_image(16, 16, 13))
    with pytest.raises(ValueError):
        tiny.stylize(_noise_image(16, 16, 14), [code], **options)


def test_preserve_color_keeps_the_contents_chroma(tiny: Stylizer) -> None:
    content = _noise_image(40, 32, 15)
    code = tiny.encode_style(_noise_image(40, 32, 16))
    out = image_to_tensor(tiny.stylize(content, [code], preserve_color=True)[0])
    chroma_out = VF.rgb_to_yiq(out)[:, 1:]
    chroma_content = VF.rgb_to_yiq(image_to_tensor(content))[:, 1:]
    # Equal up to 8-bit rounding and clipping at the gamut's edge.
    assert float((chroma_out - chroma_content).abs().median()) < 0.01


# The shipped checkpoint on held-out images (data/eval was never used in training).


def test_shipped_samples_are_visibly_different(shipped: Stylizer) -> None:
    content = _open(EVAL_CONTENT[0])
    code = shipped.encode_style(_open(EVAL_STYLE[0]))
    samples = [
        image_to_tensor(i) for i in shipped.stylize(content, [code], variation=1.0, samples=4, seed=0, max_side=256)
    ]
    differences = [mean_abs_difference(a, b) for a, b in itertools.combinations(samples, 2)]
    # "Visibly different": every pair differs by several grey levels on average, not by rounding noise.
    assert min(differences) > 3.0, differences


def test_shipped_sweep_has_no_jump(shipped: Stylizer) -> None:
    content = _open(EVAL_CONTENT[1])
    codes = [shipped.encode_style(_open(p)) for p in EVAL_STYLE[:2]]
    frames = [
        image_to_tensor(shipped.stylize(content, codes, weights=[1 - t / 8, t / 8], max_side=192)[0]) for t in range(9)
    ]
    smoothness = sweep_smoothness(frames)
    assert smoothness["mean_step"] > 0.5  # the two styles really differ
    assert smoothness["max_over_mean"] <= 2.0, smoothness


def test_shipped_output_carries_style_colours_and_content_structure(shipped: Stylizer) -> None:
    from training.metrics import color_histogram_distance, edge_correlation

    content = _open(EVAL_CONTENT[2])
    style = _open(EVAL_STYLE[2])
    out = image_to_tensor(shipped.stylize(content, [shipped.encode_style(style)], max_side=256)[0])
    content_t = image_to_tensor(content.resize((out.shape[-1], out.shape[-2])))
    style_t = image_to_tensor(style)
    assert color_histogram_distance(out, style_t) < color_histogram_distance(content_t, style_t)
    assert edge_correlation(out, content_t) > 0.3


@pytest.fixture(scope="module")
def noisy() -> Stylizer:
    """A tiny model with the decoder's noise input switched on and non-zero strengths."""
    model = with_decoder_noise(TINY_CONFIG, 1.0, seed=4)
    with torch.no_grad():
        head = model.style_encoder.mlp[-1]
        assert isinstance(head, torch.nn.Linear)
        head.bias[TINY_CONFIG.latent_dim :].fill_(-30.0)  # sigma ~ 0: only the maps vary
    return Stylizer(model)


def test_decoder_noise_follows_the_seed_and_variation(noisy: Stylizer) -> None:
    content, code = _noise_image(40, 36, 12), noisy.encode_style(_noise_image(32, 32, 13))
    first = noisy.stylize(content, [code], variation=1.0, samples=2, seed=5)
    assert [_png_bytes(i) for i in first] == [
        _png_bytes(i) for i in noisy.stylize(content, [code], variation=1.0, samples=2, seed=5)
    ]
    a, b = (image_to_tensor(i) for i in first)
    assert mean_abs_difference(a, b) > 1 / 255  # with sigma ~ 0, the noise maps alone make them differ
    quiet = [noisy.stylize(content, [code], variation=0.0, seed=s)[0] for s in (1, 2)]
    assert _png_bytes(quiet[0]) == _png_bytes(quiet[1])


@pytest.fixture(scope="module")
def noisy_model() -> Any:
    return with_decoder_noise(TINY_CONFIG, 0.5, seed=3)


def test_variation_0_has_the_fixed_texture_whatever_the_seed(noisy_model: Any) -> None:
    textured, plain = Stylizer(noisy_model), Stylizer(noisy_model, texture=0.0)
    photo, code = _noise_image(40, 32, 4), textured.encode_style(_noise_image(48, 48, 5))
    outputs = textured.stylize(photo, [code], samples=2, seed=1) + textured.stylize(photo, [code], seed=99)
    assert len({_png_bytes(o) for o in outputs}) == 1  # one image per pair at variation 0, whatever the seed
    (flat,) = plain.stylize(photo, [code], seed=1)
    # Texture 0 is the decoder without noise maps, the module's own forward.
    pixels, height, width = pad_to_multiple(image_to_tensor(photo.convert("RGB")))
    with torch.no_grad():
        reference = noisy_model(pixels, code.mu[None])[:, :, :height, :width]
    assert mean_abs_difference(image_to_tensor(flat), reference) < 2  # grey levels: bf16 and 8-bit rounding
    assert mean_abs_difference(image_to_tensor(outputs[0]), image_to_tensor(flat)) > 1
    with pytest.raises(ValueError, match="texture"):
        Stylizer(noisy_model, texture=-1.0)


def test_variation_is_a_temperature_of_variation_scale(noisy_model: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import model.inference as inference

    stylizer = Stylizer(noisy_model)
    photo, code = _noise_image(40, 32, 6), stylizer.encode_style(_noise_image(48, 48, 7))
    scaled = stylizer.stylize(photo, [code], variation=0.5, samples=2, seed=3)
    monkeypatch.setattr(inference, "VARIATION_SCALE", 1.0)
    raw = stylizer.stylize(photo, [code], variation=0.5 * 2.2, samples=2, seed=3)
    assert inference.VARIATION_SCALE == 1.0 and [_png_bytes(o) for o in scaled] == [_png_bytes(o) for o in raw]
    assert _png_bytes(scaled[0]) != _png_bytes(scaled[1])
