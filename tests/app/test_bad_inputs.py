"""Every bad input of the API contract (docs/service.md) gets its 4xx and error code, never a 500, and queues nothing.

The API under test runs on a queue that no worker listens to, so the queue length shows whether
anything was enqueued. The limits are the small ones of ``tests/service_stack.API_TEST_ENV``.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.app.sample_images import (
    big_flat_png,
    png,
    png_header_claiming,
    png_with_bad_crc,
    truncated_jpeg,
    truncated_png,
)
from tests.service_stack import Stack

QUEUE = "vst-tests-bad-input"
STYLE = "hokusai_great_wave"


@pytest.fixture(scope="module")
def bad_input_api(service_stack: Stack) -> str:
    _, base_url = service_stack.start_api(QUEUE)
    return base_url


@pytest.fixture
def api(bad_input_api: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=bad_input_api, timeout=30) as client:
        yield client


def _queued(stack: Stack) -> int:
    with stack.redis() as redis:
        return int(redis.llen(f"rq:queue:{QUEUE}"))


def _expect(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"detail"} and set(body["detail"]) == {"code", "message"}, body
    assert body["detail"]["code"] == code, body
    assert body["detail"]["message"]


def _stylize(api: httpx.Client, content: bytes, **data: str | list[str]) -> httpx.Response:
    form: dict[str, str | list[str]] = {"style_id": STYLE}
    form.update(data)
    return api.post("/stylize", files={"content": ("photo.png", content, "image/png")}, data=form)


def _interpolate(api: httpx.Client, **data: str | list[str]) -> httpx.Response:
    form: dict[str, str | list[str]] = {"style_ids": [STYLE, "picabia_udnie", "vangogh_night_cafe"]}
    form.update(data)
    return api.post("/interpolate", files={"content": ("photo.png", png(), "image/png")}, data=form)


CASES = {
    "not an image": lambda api: _stylize(api, b"this is plain text, not pixels"),
    "an image extension on text": lambda api: api.post(
        "/stylize", files={"content": ("photo.jpg", b"GIF89a-but-not-really", "image/jpeg")}, data={"style_id": STYLE}
    ),
    "an empty file": lambda api: _stylize(api, b""),
    "a truncated image": lambda api: _stylize(api, truncated_png(64, 64)),
    "a truncated JPEG": lambda api: _stylize(api, truncated_jpeg()),
    "a PNG with a bad CRC": lambda api: _stylize(api, png_with_bad_crc()),
    "a 0x0 image": lambda api: _stylize(api, png_header_claiming(0, 0)),
    "a 1x1 photo": lambda api: _stylize(api, png(1, 1)),
    "a strip too thin once fitted": lambda api: _stylize(api, png(600, 20), max_side="64"),
    "a file over the byte limit": lambda api: _stylize(api, b"\x89PNG" + b"\0" * 300_001),
    "too many pixels": lambda api: _stylize(api, big_flat_png(1200, 1000)),
    "a decompression bomb": lambda api: _stylize(api, png_header_claiming(20_000, 20_000)),
    "a style that is not an image": lambda api: api.post(
        "/stylize", files={"content": ("p.png", png()), "style": ("s.png", b"<svg></svg>")}
    ),
    "weights of the wrong count": lambda api: _interpolate(api, weights="1,2"),
    "too many weights": lambda api: _interpolate(api, weights="1,1,1,1"),
    "a negative weight": lambda api: _interpolate(api, weights="1,-1,1"),
    "all-zero weights": lambda api: _interpolate(api, weights="0,0,0"),
    "a NaN weight": lambda api: _interpolate(api, weights="1,nan,1"),
    "an infinite weight": lambda api: _interpolate(api, weights=["1", "inf", "1"]),
    "a weight that is not a number": lambda api: _interpolate(api, weights="1,heavy,1"),
    "one style for interpolate": lambda api: _interpolate(api, style_ids=[STYLE], weights="1"),
    "nine styles for interpolate": lambda api: _interpolate(api, style_ids=[STYLE] * 9),
    "steps with three styles": lambda api: _interpolate(api, steps="3"),
    "an unknown style id": lambda api: _stylize(api, png(), style_id="no-such-style"),
    "an unknown style id in interpolate": lambda api: _interpolate(api, style_ids=[STYLE, "nope"]),
    "a style id that looks like a path": lambda api: _stylize(api, png(), style_id="../../etc/passwd"),
    "a job id in a style's place": lambda api: _stylize(api, png(), style_id="0123456789abcdef0123456789abcdef"),
    "a style id in a job's place": lambda api: api.get(f"/jobs/{STYLE}"),
    "a job id in upper case": lambda api: api.get(f"/jobs/{'A' * 32}"),
    "both a style file and a style id": lambda api: api.post(
        "/stylize", files={"content": ("p.png", png()), "style": ("s.png", png())}, data={"style_id": STYLE}
    ),
    "no style at all": lambda api: api.post("/stylize", files={"content": ("p.png", png())}),
    "no content": lambda api: api.post("/stylize", data={"style_id": STYLE}),
    "alpha above 1": lambda api: _stylize(api, png(), alpha="1.5"),
    "alpha not a number": lambda api: _stylize(api, png(), alpha="lots"),
    "negative variation": lambda api: _stylize(api, png(), variation="-0.1"),
    "nine samples": lambda api: _stylize(api, png(), samples="9"),
    "an unknown format": lambda api: _stylize(api, png(), format="gif"),
    "a tiny max_side": lambda api: _stylize(api, png(), max_side="2"),
    "a JSON body instead of a form": lambda api: api.post("/stylize", json={"content": "x"}),
    "a multipart body that breaks off": lambda api: api.post(
        "/stylize",
        content=b'--b\r\nContent-Disposition: form-data; name="content"; filename="p.png"\r\n\r\nabc',
        headers={"content-type": "multipart/form-data; boundary=b"},
    ),
    "a multipart header without a boundary": lambda api: api.post(
        "/stylize", content=b"whatever", headers={"content-type": "multipart/form-data"}
    ),
    "a negative result index": lambda api: api.get(f"/jobs/{'0' * 32}/result", params={"index": -1}),
}
EXPECTED = {
    "not an image": (415, "not_an_image"),
    "an image extension on text": (415, "not_an_image"),
    "an empty file": (415, "not_an_image"),
    "a truncated image": (422, "truncated_image"),
    "a truncated JPEG": (422, "truncated_image"),
    "a PNG with a bad CRC": (422, "corrupt_image"),
    "a 0x0 image": (415, "not_an_image"),
    "a 1x1 photo": (422, "image_too_small"),
    "a strip too thin once fitted": (422, "image_too_small"),
    "a file over the byte limit": (413, "file_too_large"),
    "too many pixels": (413, "too_many_pixels"),
    "a decompression bomb": (413, "decompression_bomb"),
    "a style that is not an image": (415, "not_an_image"),
    "weights of the wrong count": (422, "invalid_weights"),
    "too many weights": (422, "invalid_weights"),
    "a negative weight": (422, "invalid_weights"),
    "all-zero weights": (422, "invalid_weights"),
    "a NaN weight": (422, "invalid_weights"),
    "an infinite weight": (422, "invalid_weights"),
    "a weight that is not a number": (422, "invalid_weights"),
    "one style for interpolate": (422, "invalid_styles"),
    "nine styles for interpolate": (422, "invalid_styles"),
    "steps with three styles": (422, "invalid_styles"),
    "an unknown style id": (404, "style_not_found"),
    "an unknown style id in interpolate": (404, "style_not_found"),
    "a style id that looks like a path": (404, "style_not_found"),
    "a job id in a style's place": (404, "style_not_found"),
    "a style id in a job's place": (404, "job_not_found"),
    "a job id in upper case": (404, "job_not_found"),
    "both a style file and a style id": (422, "invalid_styles"),
    "no style at all": (422, "invalid_styles"),
    "no content": (422, "invalid_request"),
    "alpha above 1": (422, "invalid_request"),
    "alpha not a number": (422, "invalid_request"),
    "negative variation": (422, "invalid_request"),
    "nine samples": (422, "invalid_request"),
    "an unknown format": (422, "invalid_request"),
    "a tiny max_side": (422, "invalid_request"),
    "a JSON body instead of a form": (422, "invalid_request"),
    "a multipart body that breaks off": (422, "invalid_request"),
    "a multipart header without a boundary": (400, "bad_request"),
    "a negative result index": (422, "invalid_request"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_gets_its_status_and_code_and_queues_nothing(
    case: str, api: httpx.Client, service_stack: Stack
) -> None:
    before = _queued(service_stack)
    status, code = EXPECTED[case]
    _expect(CASES[case](api), status, code)
    assert _queued(service_stack) == before


def test_bad_style_upload_to_the_registry(api: httpx.Client) -> None:
    _expect(api.post("/styles", files={"image": ("x.png", b"nope")}), 415, "not_an_image")
    _expect(api.post("/styles", files={"image": ("x.png", truncated_png())}), 422, "truncated_image")
    _expect(api.get("/styles/no-such-style"), 404, "style_not_found")
    _expect(api.delete("/styles/no-such-style"), 404, "style_not_found")
    _expect(api.delete(f"/styles/{STYLE}"), 409, "read_only_style")


def _multipart(boundary: str, filler: int) -> Iterator[bytes]:
    yield f'--{boundary}\r\nContent-Disposition: form-data; name="style_id"\r\n\r\n{STYLE}\r\n'.encode()
    yield f'--{boundary}\r\nContent-Disposition: form-data; name="content"; filename="p.png"\r\n'.encode()
    yield b"Content-Type: image/png\r\n\r\n"
    for _ in range(filler):
        yield b"\0" * 65536
    yield f"\r\n--{boundary}--\r\n".encode()


def test_a_body_over_the_request_limit_is_refused_from_its_content_length(api: httpx.Client) -> None:
    response = api.post(
        "/stylize", content=b"x" * 1_000_001, headers={"content-type": "multipart/form-data; boundary=b"}
    )
    _expect(response, 413, "request_too_large")


def test_a_streamed_body_without_content_length_is_cut_off_at_the_limit(api: httpx.Client) -> None:
    boundary = "vst-test-boundary"
    # A generator body is sent chunked: the server learns its size only by counting.
    response = api.post(
        "/stylize",
        content=_multipart(boundary, filler=40),  # 2.6 MB > 1 MB limit
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert "content-length" not in response.request.headers
    _expect(response, 413, "request_too_large")


def test_a_streamed_file_over_the_upload_limit_is_refused(api: httpx.Client, service_stack: Stack) -> None:
    boundary = "vst-test-boundary"
    before = _queued(service_stack)
    # 6 x 64 KiB: under the request cap (1 MB), over the per-file cap (300 kB), sent chunked.
    response = api.post(
        "/stylize",
        content=_multipart(boundary, filler=6),
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert "content-length" not in response.request.headers
    _expect(response, 413, "file_too_large")
    assert _queued(service_stack) == before


def test_a_streamed_body_under_the_limit_is_accepted(api: httpx.Client, service_stack: Stack) -> None:
    boundary = "vst-test-boundary"
    # Same route, a small chunked body: the counting must not refuse what is allowed.
    response = api.post(
        "/stylize",
        content=_multipart(boundary, filler=1),
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    # Zero bytes are not an image: refused by decoding, which proves the body got through the cap.
    _expect(response, 415, "not_an_image")


def test_a_full_queue_gets_429_with_retry_after(own_stack: Stack) -> None:
    _, base_url = own_stack.start_api("vst-tests-full", env={"VST_MAX_QUEUE_LENGTH": "2", "VST_RETRY_AFTER_S": "7"})
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for _ in range(2):
            assert _stylize(client, png()).status_code == 202
        response = _stylize(client, png())
        _expect(response, 429, "queue_full")
        assert response.headers["retry-after"] == "7"
        with own_stack.redis() as redis:
            assert redis.llen("rq:queue:vst-tests-full") == 2
