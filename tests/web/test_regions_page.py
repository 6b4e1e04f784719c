"""Regions on the stylize page in headless Chromium: a mask drawn with the mouse, through the real API and worker.

The worker runs the shipped model: the tiny test model's styles differ by a fraction of a grey level, too
little to tell a painted region from the rest.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import httpx
import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import FilePayload, Page, expect

from tests.app.sample_images import png
from tests.app.test_masks import SHIPPED_CHECKPOINT
from tests.service_stack import Stack, wait_for_job
from tests.web.test_page import RESULTS_DECODED, _job_request

QUEUE = "vst-tests-regions-page"
STYLE_A = "hokusai_great_wave"
STYLE_B = "picabia_udnie"
WIDTH, HEIGHT = 128, 64
PHOTO = png(WIDTH, HEIGHT, seed=6)


@pytest.fixture(scope="module")
def regions_stack(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, str]]:
    stack = Stack(redis_url=redis_url, checkpoint=SHIPPED_CHECKPOINT, log_dir=tmp_path_factory.mktemp("page-logs"))
    stack.start_worker(QUEUE)
    _, url = stack.start_api(QUEUE)
    yield stack, url
    stack.stop_all()


def _open(page: Page, url: str, styles: list[str]) -> None:
    page.goto(f"{url}/")
    page.set_input_files("#content-input", files=[FilePayload(name="photo.png", mimeType="image/png", buffer=PHOTO)])
    for style in styles:
        page.locator(f'#gallery button[data-style-id="{style}"]').click()
    expect(page.locator("#regions-card")).to_be_visible()
    page.locator("#brush-size").evaluate("(e) => { e.value = '120'; e.dispatchEvent(new Event('input')); }")
    page.fill("#seed", "3")
    page.locator("details.advanced summary").click()
    page.select_option("#max-side", "256")  # the photo's own 128 px: the test API caps sizes at 128


def _paint(page: Page, left: float, right: float) -> None:
    """Drag the brush back and forth over the canvas between these fractions of its width."""
    box = page.locator("#mask-canvas").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + left * box["width"], box["y"] + 2)
    page.mouse.down()
    for row in np.linspace(0.0, 1.0, 6):
        y = box["y"] + row * box["height"]
        page.mouse.move(box["x"] + left * box["width"], y, steps=4)
        page.mouse.move(box["x"] + right * box["width"], y, steps=8)
    page.mouse.up()


def _tinted_share(page: Page, left: float, right: float) -> float:
    """The share of the canvas's pixels between these fractions of its width that show a tint."""
    return float(
        page.locator("#mask-canvas").evaluate(
            """(canvas, [left, right]) => {
                const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
                let tinted = 0, total = 0;
                for (let y = 0; y < canvas.height; y++) {
                    for (let x = Math.floor(left * canvas.width); x < Math.floor(right * canvas.width); x++) {
                        total += 1;
                        if (data[4 * (y * canvas.width + x) + 3] > 0) tinted += 1;
                    }
                }
                return tinted / total;
            }""",
            [left, right],
        )
    )


def _result(client: httpx.Client, job_id: str) -> np.ndarray:
    view = wait_for_job(client, job_id)
    assert view["status"] == "finished", view
    response = client.get(view["result_urls"][0])
    return np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"), dtype=np.float64)


def _direct(client: httpx.Client, **data: str) -> np.ndarray:
    files = {"content": ("photo.png", PHOTO, "image/png")}
    response = client.post("/stylize", files=files, data={"style_id": STYLE_A, "seed": "3", "max_side": "128", **data})
    assert response.status_code == 202, response.text
    return _result(client, response.json()["id"])


def _distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).mean())


def test_a_mask_drawn_with_the_mouse_stylizes_inside_and_keeps_the_photo_outside(
    page: Page, regions_stack: tuple[Stack, str]
) -> None:
    stack, url = regions_stack
    _open(page, url, [STYLE_A])
    _paint(page, 0.0, 0.45)
    assert _tinted_share(page, 0.0, 0.3) > 0.95  # the preview shows the painted region tinted
    assert _tinted_share(page, 0.65, 1.0) == 0.0
    with page.expect_response(lambda r: r.url.endswith("/stylize") and r.request.method == "POST") as answered:
        page.click("#stylize-button")
    request = _job_request(stack, answered.value)
    assert request.masks and len(request.masks) == 1 and request.options.feather == 8
    page.wait_for_function(RESULTS_DECODED, arg=1, timeout=120_000)

    with httpx.Client(base_url=url, timeout=60) as client:
        masked = _result(client, answered.value.json()["id"])
        styled, own = _direct(client), _direct(client, alpha="0")
    assert masked.shape == (HEIGHT, WIDTH, 3)
    inside, outside = slice(0, int(0.25 * WIDTH)), slice(int(0.7 * WIDTH), WIDTH)
    assert _distance(styled, own) > 0.5
    assert _distance(masked[:, inside], styled[:, inside]) < 0.5 * _distance(masked[:, inside], own[:, inside])
    assert _distance(masked[:, outside], own[:, outside]) < 0.5 * _distance(masked[:, outside], styled[:, outside])


def test_two_painted_regions_get_a_style_each(page: Page, regions_stack: tuple[Stack, str]) -> None:
    stack, url = regions_stack
    _open(page, url, [STYLE_A, STYLE_B])
    expect(page.locator("#region-list .region-row")).to_have_count(2)
    _paint(page, 0.0, 0.4)  # region 1
    page.locator('input[name="mask-region"][value="2"]').check()
    _paint(page, 0.6, 1.0)  # region 2
    # Region 2 takes the first style, region 1 the second: the masks follow the regions' styles.
    page.select_option('select[data-region="1"]', index=1)
    page.select_option('select[data-region="2"]', index=0)
    with page.expect_response(lambda r: r.url.endswith("/interpolate") and r.request.method == "POST") as answered:
        page.click("#stylize-button")
    request = _job_request(stack, answered.value)
    assert request.options.kind == "interpolate" and request.masks and len(request.masks) == 2
    assert request.options.weights is None
    with stack.redis() as redis:
        first = np.asarray(Image.open(io.BytesIO(redis.get(request.masks[0]))).convert("L"), dtype=np.float64)
    # In the selection's order: the first style's mask is region 2, the right side.
    assert first[:, int(0.75 * WIDTH) :].mean() > 200 and first[:, : int(0.3 * WIDTH)].mean() < 50
    page.wait_for_function(RESULTS_DECODED, arg=1, timeout=120_000)

    page.locator("#mask-clear").click()
    assert _tinted_share(page, 0.0, 1.0) == 0.0
