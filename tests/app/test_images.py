"""Upload decoding and normalisation (app.images), on images made on the fly."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from app.errors import ApiError
from app.images import decode_image, validate_image
from tests.app import sample_images as samples

LIMIT = 10_000_000


def _code(data: bytes, max_pixels: int = LIMIT) -> tuple[int, str]:
    with pytest.raises(ApiError) as caught:
        decode_image(data, "content", max_pixels)
    return caught.value.status_code, caught.value.code


def test_exif_orientation_is_applied() -> None:
    image = decode_image(samples.jpeg_rotated_by_exif(60, 20), "content", LIMIT)
    # Stored 60x20; orientation 6 means "rotate 90 degrees", so it is shown (and used) as 20x60.
    assert image.size == (20, 60)


def test_alpha_is_laid_on_white() -> None:
    image = decode_image(samples.rgba_png(40, 30), "content", LIMIT)
    assert image.mode == "RGB"
    pixels = np.asarray(image)
    assert tuple(pixels[15, 5]) == (255, 255, 255)  # transparent half
    assert tuple(pixels[15, 35]) == (255, 0, 0)  # opaque red half


def test_cmyk_becomes_rgb() -> None:
    image = decode_image(samples.cmyk_jpeg(), "content", LIMIT)
    assert image.mode == "RGB" and image.size == (40, 30)


def test_16_bit_gray_is_scaled_not_clipped() -> None:
    image = decode_image(samples.png_16bit_gray(), "content", LIMIT)
    assert image.mode == "RGB"
    # Half of 65535 must come out as mid-gray, not as saturated white.
    assert abs(int(np.asarray(image)[0, 0, 0]) - 128) <= 1


def test_palette_with_transparency_becomes_rgb() -> None:
    image = decode_image(samples.palette_png_with_transparency(), "content", LIMIT)
    assert image.mode == "RGB" and image.size == (40, 30)


def test_gif_and_webp_are_accepted() -> None:
    gradient = samples.gradient(20, 10)
    for image_format in ("GIF", "WEBP", "BMP", "TIFF"):
        assert decode_image(samples.encoded(gradient, image_format), "content", LIMIT).size == (20, 10)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"hello", (415, "not_an_image")),
        (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", (415, "not_an_image")),
        (samples.truncated_png(64, 64), (422, "truncated_image")),
        (samples.png_header_claiming(20_000, 20_000), (413, "decompression_bomb")),
    ],
    ids=["text", "eps", "truncated", "bomb"],
)
def test_bad_images_are_refused(data: bytes, expected: tuple[int, str]) -> None:
    assert _code(data) == expected


def test_pixel_limit_is_checked_before_decoding() -> None:
    # The header alone says 2000x2000; the limit refuses it without decoding the pixels.
    assert _code(samples.png_header_claiming(2000, 2000), max_pixels=1_000_000) == (413, "too_many_pixels")


def test_validate_image_fits_within_max_side_and_hashes_the_png() -> None:
    valid = validate_image(samples.png(200, 100), "content", LIMIT, max_side=50)
    assert (valid.width, valid.height) == (50, 25)
    assert Image.open(io.BytesIO(valid.png)).size == (50, 25)
    again = validate_image(samples.png(200, 100), "content", LIMIT, max_side=50)
    assert valid.sha256 == again.sha256, "the same upload must give the same bytes (the style-code cache key)"
    small = validate_image(samples.png(20, 10), "content", LIMIT, max_side=50)
    assert (small.width, small.height) == (20, 10), "never upscaled"
