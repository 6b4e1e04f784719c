"""The stylize page in headless Chromium, against the real API, worker and Redis."""

from __future__ import annotations

import re
from urllib.parse import parse_qs

import httpx
import pytest
from playwright.sync_api import Browser, FilePayload, Page, Response, Route, expect
from rq.job import Job
from rq.serializers import JSONSerializer

from app.protocol import JobRequest
from tests.app.sample_images import png
from tests.service_stack import Stack
from tests.web.conftest import API_KEY

STYLE_A = "hokusai_great_wave"
STYLE_B = "picabia_udnie"
STYLE_C = "vangogh_night_cafe"
RESULTS_DECODED = """n => {
    const images = [...document.querySelectorAll('#results img')];
    return images.length === n && images.every(image => image.complete && image.naturalWidth > 0);
}"""
RESULT_URL = re.compile(r"/jobs/[0-9a-f]{32}/result\?index=\d+$")


def _pick_photo(page: Page, data: bytes | None = None, name: str = "photo.png", mime: str = "image/png") -> None:
    photo = FilePayload(name=name, mimeType=mime, buffer=data or png(96, 64, seed=5))
    page.set_input_files("#content-input", files=[photo])


def _pick_style(page: Page, style_id: str) -> None:
    page.locator(f'#gallery button[data-style-id="{style_id}"]').click()


def _wait_for_results(page: Page, count: int) -> None:
    """Until ``count`` result images are on the page and the browser has decoded every one of them."""
    page.wait_for_function(RESULTS_DECODED, arg=count, timeout=120_000)


def _job_request(stack: Stack, response: Response) -> JobRequest:
    """What the page's submission became: the job's request as the worker receives and parses it from Redis."""
    assert response.status == 202, response.text()
    with stack.redis() as redis:
        job = Job.fetch(response.json()["id"], connection=redis, serializer=JSONSerializer)
    return JobRequest.model_validate(job.kwargs["request"])


def test_first_load_shows_the_gallery_and_the_service_status(page: Page, web_url: str) -> None:
    styles = httpx.get(f"{web_url}/styles").json()["styles"]
    page.goto("/")
    expect(page).to_have_title("Variational Style Transfer")
    expect(page.locator("#gallery button[data-style-id]")).to_have_count(len(styles))
    expect(page.locator("#service-status")).to_contain_text(re.compile(r"Ready: [1-9]\d* worker"))
    expect(page.locator("#results")).to_contain_text("Your images will appear here")
    expect(page.locator("#sweep-button")).to_be_disabled()


def test_upload_stylize_and_see_the_result(page: Page, service_stack: Stack) -> None:
    page.goto("/")
    _pick_photo(page)
    expect(page.locator("#content-preview")).to_be_visible()
    _pick_style(page, STYLE_A)
    expect(page.locator(f'#gallery button[data-style-id="{STYLE_A}"]')).to_have_attribute("aria-pressed", "true")
    page.fill("#seed", "11")
    page.fill("#samples", "2")
    with page.expect_response(lambda r: r.url.endswith("/stylize") and r.request.method == "POST") as answered:
        page.click("#stylize-button")
    job = _job_request(service_stack, answered.value)
    assert (job.options.kind, len(job.styles), job.options.seed, job.options.samples) == ("stylize", 1, 11, 2)

    _wait_for_results(page, 2)
    expect(page.locator("#progress-text")).to_contain_text("Done")
    links = page.locator("#results a[download]")
    expect(links).to_have_count(2)
    for k in range(2):
        href = links.nth(k).get_attribute("href") or ""
        assert RESULT_URL.search(href), href
        assert parse_qs(href.split("?")[1])["index"] == [str(k)]
    expect(page.locator("#message")).to_be_hidden()


def test_blend_three_styles_with_their_weight_sliders(page: Page, service_stack: Stack) -> None:
    page.goto("/")
    _pick_photo(page)
    for style_id in (STYLE_A, STYLE_B, STYLE_C):
        _pick_style(page, style_id)
    sliders = page.locator("#selected input.weight")
    expect(sliders).to_have_count(3)
    sliders.nth(0).press("End")  # 100
    sliders.nth(1).press("Home")  # 0
    for _ in range(10):
        sliders.nth(2).press("ArrowRight")  # 50 -> 60
    shares = page.locator("#selected output.share")
    expect(shares).to_have_text(["63%", "0%", "38%"])
    expect(page.locator("#stylize-button")).to_have_text("Blend styles")

    with page.expect_response(lambda r: r.url.endswith("/interpolate") and r.request.method == "POST") as answered:
        page.click("#stylize-button")
    job = _job_request(service_stack, answered.value)
    assert (job.options.kind, len(job.styles), job.options.steps) == ("interpolate", 3, None)
    weights = job.options.weights
    assert weights is not None
    assert weights[1] == 0 and weights[0] / weights[2] == pytest.approx(100 / 60)

    _wait_for_results(page, 1)
    expect(page.locator("#results .results-grid img")).to_have_count(1)
    expect(page.locator("#message")).to_be_hidden()


def test_a_two_style_sweep_is_shown_as_a_strip(page: Page, service_stack: Stack) -> None:
    page.goto("/")
    _pick_photo(page)
    _pick_style(page, STYLE_A)
    _pick_style(page, STYLE_B)
    expect(page.locator("#sweep-button")).to_be_enabled()
    page.fill("#sweep-steps", "4")
    with page.expect_response(lambda r: r.url.endswith("/interpolate") and r.request.method == "POST") as answered:
        page.click("#sweep-button")
    job = _job_request(service_stack, answered.value)
    assert (len(job.styles), job.options.steps, job.options.weights) == (2, 4, None)
    _wait_for_results(page, 4)
    strip = page.locator('#results .strip[data-kind="sweep"] .result')
    expect(strip).to_have_count(4)
    expect(strip.locator("figcaption span")).to_have_text(["100% / 0%", "67% / 33%", "33% / 67%", "0% / 100%"])


def test_a_style_uploaded_before_the_gallery_has_loaded_stays_selected(page: Page) -> None:
    """The gallery's first listing used to replace the gallery wholesale, wiping a style whose upload had
    finished first (seen once under CI load). The listing is held back here until the upload is done."""
    held: list[Route] = []

    def hold_the_listing(route: Route) -> None:
        if route.request.method == "GET":
            held.append(route)
        else:
            route.continue_()

    page.route(re.compile(r"/styles$"), hold_the_listing)
    page.goto("/")
    sketch = FilePayload(name="early-sketch.png", mimeType="image/png", buffer=png(40, 40, seed=11))
    with page.expect_response(lambda r: r.url.endswith("/styles") and r.request.method == "POST") as uploaded:
        page.set_input_files("#style-upload", files=[sketch])
    assert uploaded.value.status == 201
    assert len(held) == 1  # the listing is still in flight
    held[0].continue_()
    expect(page.locator(f'#gallery button[data-style-id="{STYLE_A}"]')).to_have_count(1)  # the listing is in
    expect(page.locator('#gallery button[data-style-id^="user-"][aria-pressed="true"]')).to_have_count(1)
    expect(page.locator("#selected li .title")).to_have_text(["early-sketch"])
    ids = page.eval_on_selector_all("#gallery button[data-style-id]", "buttons => buttons.map(b => b.dataset.styleId)")
    assert len(ids) == len(set(ids))  # the uploaded style, once


def test_a_non_image_upload_shows_the_api_error_message(page: Page) -> None:
    page.goto("/")
    _pick_photo(page, b"these are my holiday notes, not a photo\n", name="notes.txt", mime="text/plain")
    _pick_style(page, STYLE_A)
    with page.expect_response(lambda r: r.url.endswith("/stylize")) as answered:
        page.click("#stylize-button")
    assert answered.value.status == 415
    message = page.locator("#message")
    expect(message).to_be_visible()
    expect(message).to_contain_text("content: not a readable image")
    expect(message).to_contain_text("not_an_image")
    expect(page.locator("#results")).to_contain_text("Your images will appear here")
    expect(page.locator("#stylize-button")).to_be_enabled()


def test_an_uploaded_style_joins_the_gallery_and_the_selection(page: Page) -> None:
    page.goto("/")
    sketch = FilePayload(name="my-sketch.png", mimeType="image/png", buffer=png(40, 40, seed=9))
    page.set_input_files("#style-upload", files=[sketch])
    uploaded = page.locator('#gallery button[data-style-id^="user-"][aria-pressed="true"]')
    expect(uploaded).to_have_count(1)
    expect(page.locator("#selected li .title")).to_have_text(["my-sketch"])
    not_an_image = FilePayload(name="bad.png", mimeType="image/png", buffer=b"not an image")
    page.set_input_files("#style-upload", files=[not_an_image])
    expect(page.locator("#message")).to_contain_text("not a readable image")


def test_submitting_without_a_photo_says_what_is_missing(page: Page) -> None:
    page.goto("/")
    _pick_style(page, STYLE_A)
    page.click("#stylize-button")
    expect(page.locator("#message")).to_contain_text("choose a photo first")


def test_the_page_fits_a_phone_screen(page: Page) -> None:
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto("/")
    expect(page.locator("#gallery button[data-style-id]").first).to_be_visible()
    _pick_photo(page)
    _pick_style(page, STYLE_A)
    _pick_style(page, STYLE_B)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the phone's screen"
    for selector in ("#stylize-button", "#sweep-button", "#content-drop", "#selected input.weight >> nth=1"):
        box = page.locator(selector).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375, selector
    # One column, in the order of the steps.
    tops = []
    for card in ("#photo-card", "#styles-card", "#options-card", "#results-card"):
        box = page.locator(card).bounding_box()
        assert box is not None
        tops.append(box["y"])
    assert tops == sorted(tops)


def test_with_api_keys_the_page_asks_for_one_and_then_works(browser: Browser, keyed_url: str) -> None:
    context = browser.new_context(base_url=keyed_url)
    page = context.new_page()
    page.goto("/")
    expect(page.locator("#message")).to_contain_text("this API needs a key")
    expect(page.locator("#key-form")).to_be_visible()
    page.fill("#api-key", API_KEY)
    page.click("#key-form button[type=submit]")
    expect(page.locator("#message")).to_be_hidden()
    expect(page.locator("#gallery button[data-style-id]").first).to_be_visible()
    # Thumbnails come from blob URLs fetched with the key.
    page.wait_for_function("document.querySelector('#gallery img')?.naturalWidth > 0")
    _pick_photo(page)
    _pick_style(page, STYLE_A)
    page.click("#stylize-button")
    _wait_for_results(page, 1)
    assert (page.locator("#results a[download]").get_attribute("href") or "").startswith("blob:")
    # The survey is for anonymous participants: no key needed.
    page.evaluate("localStorage.clear()")
    page.goto("/survey")
    expect(page.locator("#candidates button").first).to_be_visible()
    context.close()
