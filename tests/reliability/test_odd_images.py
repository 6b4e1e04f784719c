"""Odd but valid uploads go all the way through: API, queue, the real worker and back, never a 500.

Refused inputs (with their status and code) are the table of tests/app/test_bad_inputs.py, a 1x1 photo
among them; these are the images that must be *accepted*: 16-bit, CMYK, palette, alpha, animated,
EXIF-rotated, and a 1x1 style image (the style encoder resizes styles, so any size serves).
"""

from __future__ import annotations

import io

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.app import sample_images as samples
from tests.service_stack import wait_for_job

STYLE = "hokusai_great_wave"


def _animated(image_format: str, width: int = 24, height: int = 16) -> bytes:
    frames = [samples.gradient(width, height, seed=seed) for seed in range(3)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format=image_format, save_all=True, append_images=frames[1:], duration=80, loop=0)
    return buffer.getvalue()


def _stylize(client: httpx.Client, content: bytes, **form: str) -> dict[str, object]:
    response = client.post(
        "/stylize",
        files={"content": ("upload", content, "application/octet-stream")},
        data={"style_id": STYLE, "max_side": "32", "seed": "1", **form},
    )
    assert response.status_code == 202, response.text
    view = wait_for_job(client, str(response.json()["id"]))
    assert view["status"] == "finished", view
    return view


def _result(client: httpx.Client, view: dict[str, object]) -> Image.Image:
    urls = view["result_urls"]
    assert isinstance(urls, list) and urls
    response = client.get(str(urls[0]))
    assert response.status_code == 200, response.text
    return Image.open(io.BytesIO(response.content))


ACCEPTED = {
    "16-bit gray PNG": (samples.png_16bit_gray(40, 30), (32, 24)),
    "CMYK JPEG": (samples.cmyk_jpeg(40, 30), (32, 24)),
    "palette PNG with transparency": (samples.palette_png_with_transparency(40, 30), (32, 24)),
    "RGBA PNG": (samples.rgba_png(40, 30), (32, 24)),
    "animated GIF": (_animated("GIF"), (24, 16)),
    "animated WebP": (_animated("WEBP"), (24, 16)),
}


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_an_odd_valid_image_is_stylized(case: str, client: httpx.Client) -> None:
    content, size = ACCEPTED[case]
    result = _result(client, _stylize(client, content))
    assert result.mode == "RGB" and result.size == size


def test_a_1x1_style_image_is_usable(client: httpx.Client) -> None:
    response = client.post(
        "/stylize",
        files={"content": ("p.png", samples.png(32, 24)), "style": ("s.png", samples.png(1, 1))},
        data={"max_side": "32"},
    )
    assert response.status_code == 202, response.text
    assert wait_for_job(client, response.json()["id"])["status"] == "finished"


def _upright(jpeg: bytes) -> bytes:
    """The pixels of a JPEG with EXIF orientation 6 turned the way they are meant to be seen: rotated 90
    degrees clockwise (np.rot90 with k=-1), written without EXIF. Done here with numpy, not with the
    Pillow call the API uses, so that the test does not take the API's word for what is upright."""
    stored = np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"))
    return samples.encoded(Image.fromarray(np.ascontiguousarray(np.rot90(stored, k=-1))))


def test_an_exif_rotated_photo_comes_out_the_right_way_up(client: httpx.Client) -> None:
    rotated = samples.jpeg_rotated_by_exif(48, 24)
    upright = _upright(rotated)
    # Turned counter-clockwise instead, as a sign error in applying the orientation would do.
    wrong_way = samples.encoded(Image.open(io.BytesIO(upright)).transpose(Image.Transpose.ROTATE_180))
    # The model is deterministic at variation 0 with a fixed seed: the same upright pixels must give the
    # same picture, whether they arrived rotated by EXIF or already upright.
    from_exif = _result(client, _stylize(client, rotated))
    from_upright = _result(client, _stylize(client, upright))
    from_wrong_way = _result(client, _stylize(client, wrong_way))
    assert from_exif.size == (16, 32) == from_upright.size  # stored 48x24, shown 24x48, fitted into 32 px
    assert from_exif.tobytes() == from_upright.tobytes()
    assert from_exif.tobytes() != from_wrong_way.tobytes(), "the comparison must be able to tell"
