"""Masks through the real API, a real worker process and a real Redis, over HTTP: regions and their errors.

The regions are checked with the shipped model: the tiny test model's styles differ by a fraction of a grey level.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.app.sample_images import big_flat_png, encoded, png
from tests.app.test_bad_inputs import QUEUE, _expect, _queued
from tests.conftest import REPO_ROOT
from tests.service_stack import Stack, wait_for_job

SHIPPED_CHECKPOINT = REPO_ROOT / "checkpoints" / "vst-default.safetensors"
SHIPPED_QUEUE = "vst-tests-masks"

STYLE_A = "hokusai_great_wave"
STYLE_B = "picabia_udnie"
WIDTH, HEIGHT = 128, 64  # the test API's largest output side is 128
MARGIN = 24  # beyond the decoder's reach from the border


@pytest.fixture(scope="module")
def shipped_stack(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = Stack(redis_url=redis_url, checkpoint=SHIPPED_CHECKPOINT, log_dir=tmp_path_factory.mktemp("mask-logs"))
    stack.start_worker(SHIPPED_QUEUE)
    yield stack
    stack.stop_all()


@pytest.fixture(scope="module")
def client(shipped_stack: Stack) -> Iterator[httpx.Client]:
    _, base_url = shipped_stack.start_api(SHIPPED_QUEUE)
    with httpx.Client(base_url=base_url, timeout=60) as http:
        yield http


@pytest.fixture(scope="module")
def api(service_stack: Stack) -> Iterator[httpx.Client]:
    """An API on a queue without a worker (as in test_bad_inputs): its length shows whether anything was queued."""
    _, base_url = service_stack.start_api(QUEUE)
    with httpx.Client(base_url=base_url, timeout=30) as http:
        yield http


def _mask(width: int, height: int, left: bool = True) -> bytes:
    """A black and white PNG: the left half white (or the right half)."""
    array = np.zeros((height, width), dtype=np.uint8)
    array[:, : width // 2] = 255
    return encoded(Image.fromarray(array if left else 255 - array, mode="L"))


def _result(client: httpx.Client, response: httpx.Response) -> np.ndarray:
    assert response.status_code == 202, response.text
    view = wait_for_job(client, response.json()["id"])
    assert view["status"] == "finished", view
    image = client.get(view["result_urls"][0])
    assert image.status_code == 200
    return np.asarray(Image.open(io.BytesIO(image.content)).convert("RGB"), dtype=np.float64)


def _stylize(client: httpx.Client, style_id: str, **data: str) -> np.ndarray:
    files = {"content": ("photo.png", png(WIDTH, HEIGHT, seed=4), "image/png")}
    return _result(client, client.post("/stylize", files=files, data={"style_id": style_id, "max_side": "128", **data}))


def _distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).mean())


def test_two_region_interpolate_paints_each_style_on_its_side(client: httpx.Client) -> None:
    files = [
        ("content", ("photo.png", png(WIDTH, HEIGHT, seed=4), "image/png")),
        # Masks at half the photo's size: the API resizes them to the output.
        ("masks", ("left.png", _mask(WIDTH // 2, HEIGHT // 2, left=True), "image/png")),
        ("masks", ("right.png", _mask(WIDTH // 2, HEIGHT // 2, left=False), "image/png")),
    ]
    regions = _result(
        client, client.post("/interpolate", files=files, data={"style_ids": [STYLE_A, STYLE_B], "max_side": "128"})
    )
    only_a, only_b = _stylize(client, STYLE_A), _stylize(client, STYLE_B)
    assert regions.shape == only_a.shape == (HEIGHT, WIDTH, 3)
    west, east = slice(0, WIDTH // 2 - MARGIN), slice(WIDTH // 2 + MARGIN, WIDTH)
    assert _distance(only_a, only_b) > 0.5, "the two styles must look different for this test to mean anything"
    # Each side is its own style's result, not the other's.
    assert _distance(regions[:, west], only_a[:, west]) < 0.5 * _distance(regions[:, west], only_b[:, west])
    assert _distance(regions[:, east], only_b[:, east]) < 0.5 * _distance(regions[:, east], only_a[:, east])


def test_a_feathered_stylize_mask_keeps_the_photos_look_where_it_is_black(client: httpx.Client) -> None:
    files = {
        "content": ("photo.png", png(WIDTH, HEIGHT, seed=4), "image/png"),
        "mask": ("mask.png", _mask(WIDTH, HEIGHT, left=False), "image/png"),
    }
    data = {"style_id": STYLE_A, "max_side": "128", "feather": "3"}
    masked = _result(client, client.post("/stylize", files=files, data=data))
    styled, own = _stylize(client, STYLE_A), _stylize(client, STYLE_A, alpha="0")
    west, east = slice(0, WIDTH // 2 - MARGIN), slice(WIDTH // 2 + MARGIN, WIDTH)
    assert _distance(styled, own) > 0.5
    assert _distance(masked[:, west], own[:, west]) < 0.5 * _distance(masked[:, west], styled[:, west])
    assert _distance(masked[:, east], styled[:, east]) < 0.5 * _distance(masked[:, east], own[:, east])


def test_a_mask_within_the_aspect_tolerance_is_accepted(client: httpx.Client) -> None:
    files = {
        "content": ("photo.png", png(WIDTH, HEIGHT, seed=4), "image/png"),
        "mask": ("mask.png", _mask(WIDTH + 2, HEIGHT), "image/png"),  # 1.6% wider
    }
    result = _result(client, client.post("/stylize", files=files, data={"style_id": STYLE_A, "max_side": "128"}))
    assert result.shape == (HEIGHT, WIDTH, 3)


def _photo() -> tuple[str, tuple[str, bytes, str]]:
    return ("content", ("photo.png", png(48, 32), "image/png"))


def _masked_stylize(api: httpx.Client, mask: bytes, **data: str) -> httpx.Response:
    files = [_photo(), ("mask", ("mask.png", mask, "image/png"))]
    return api.post("/stylize", files=files, data={"style_id": STYLE_A, **data})


def _masked_interpolate(api: httpx.Client, masks: list[bytes], **data: str) -> httpx.Response:
    files = [_photo(), *[("masks", (f"m{i}.png", m, "image/png")) for i, m in enumerate(masks)]]
    return api.post("/interpolate", files=files, data={"style_ids": [STYLE_A, STYLE_B], **data})


BLACK = encoded(Image.new("L", (48, 32), 0))
CLEAR = encoded(Image.new("RGBA", (48, 32), (255, 255, 255, 0)))
CASES = {
    "a square mask for a 3:2 photo": (lambda api: _masked_stylize(api, _mask(32, 32)), 422, "mask_aspect_ratio"),
    "an all-black mask": (lambda api: _masked_stylize(api, BLACK), 422, "empty_mask"),
    # Transparent pixels are unpainted (laid on black), however white their colour channels.
    "a fully transparent mask": (lambda api: _masked_stylize(api, CLEAR), 422, "empty_mask"),
    "an all-black mask in interpolate": (
        lambda api: _masked_interpolate(api, [_mask(48, 32), BLACK]),
        422,
        "empty_mask",
    ),
    "one mask for two styles": (lambda api: _masked_interpolate(api, [_mask(48, 32)]), 422, "mask_count"),
    "three masks for two styles": (lambda api: _masked_interpolate(api, [_mask(48, 32)] * 3), 422, "mask_count"),
    "masks with weights": (
        lambda api: _masked_interpolate(api, [_mask(48, 32)] * 2, weights="1,2"),
        422,
        "invalid_weights",
    ),
    "a mask that is not an image": (lambda api: _masked_stylize(api, b"<svg></svg>"), 415, "not_an_image"),
    "a mask over the byte limit": (
        lambda api: _masked_stylize(api, b"\x89PNG" + b"\0" * 300_001),
        413,
        "file_too_large",
    ),
    "a mask of too many pixels": (lambda api: _masked_stylize(api, big_flat_png(1500, 1000)), 413, "too_many_pixels"),
    "a negative feather": (lambda api: _masked_stylize(api, _mask(48, 32), feather="-1"), 422, "invalid_request"),
    "a feather beyond the limit": (
        lambda api: _masked_stylize(api, _mask(48, 32), feather="1000"),
        422,
        "invalid_request",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_mask_gets_its_status_and_code_and_queues_nothing(
    case: str,
    api: httpx.Client,
    service_stack: Stack,
) -> None:
    send, status, code = CASES[case]
    before = _queued(service_stack)
    _expect(send(api), status, code)
    assert _queued(service_stack) == before
