"""Looking at results in headless Chromium: the lightbox, the before/after slider, samples side by side,
sweeps that fit or scroll, "Download all", the size note and a clean slate after a rejected request."""

from __future__ import annotations

import io
import zipfile

import httpx
from playwright.sync_api import Page, expect

from tests.app.sample_images import png
from tests.web.test_page import STYLE_A, STYLE_B, _pick_photo, _pick_style, _wait_for_results

PHOTO_SIZE = (96, 64)


def _stylize(page: Page, samples: int = 1, variation: str | None = None, seed: str = "7") -> None:
    page.goto("/")
    _pick_photo(page, png(*PHOTO_SIZE, seed=5))
    _pick_style(page, STYLE_A)
    page.fill("#samples", str(samples))
    page.fill("#seed", seed)
    if variation is not None:
        page.eval_on_selector(
            "#variation", f"el => {{ el.value = '{variation}'; el.dispatchEvent(new Event('input')); }}"
        )
    page.click("#stylize-button")
    _wait_for_results(page, samples)


def test_samples_side_by_side_enlarge_in_a_lightbox_with_next_and_previous(page: Page, web_url: str) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    _stylize(page, samples=3, variation="1")
    expect(page.locator(".samples-hint")).to_contain_text("mottling")
    figures = page.locator("#results .results-grid.samples .result")
    expect(figures).to_have_count(3)
    # Both boxes in one go: the page may still be scrolling the results into view.
    first, second = page.eval_on_selector_all(
        "#results .results-grid.samples .result",
        "figures => figures.slice(0, 2).map(f => { const r = f.getBoundingClientRect(); "
        "return {x: r.x, y: r.y, width: r.width}; })",
    )
    assert first["width"] >= 250, first  # large enough to see the texture, not ~180 px thumbnails
    assert abs(first["y"] - second["y"]) < 1 and second["x"] > first["x"], "samples sit side by side"

    figures.nth(0).locator("button.zoom").click()
    dialog = page.locator("#lightbox")
    expect(dialog).to_be_visible()
    expect(page.locator("#lightbox-caption")).to_have_text("1 / 3 · Sample 1")
    page.wait_for_function("document.querySelector('#lightbox-image').naturalWidth > 0")
    big = page.locator("#lightbox-image").evaluate("img => img.getBoundingClientRect().width")
    assert big > first["width"], "the lightbox shows the image larger"
    page.click("#lightbox-next")
    expect(page.locator("#lightbox-caption")).to_have_text("2 / 3 · Sample 2")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#lightbox-caption")).to_have_text("3 / 3 · Sample 3")
    page.keyboard.press("ArrowRight")  # wraps around
    expect(page.locator("#lightbox-caption")).to_have_text("1 / 3 · Sample 1")
    page.click("#lightbox-prev")
    expect(page.locator("#lightbox-caption")).to_have_text("3 / 3 · Sample 3")
    third = page.locator("#results .result img").nth(2).evaluate("img => img.src")
    assert page.locator("#lightbox-image").evaluate("img => img.src") == third
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    # "Download all": one zip with the three images.
    href = page.locator("#download-all").get_attribute("href") or ""
    assert href.endswith("/results.zip"), href
    answer = httpx.get(f"{web_url}{href}", timeout=30)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        names = archive.namelist()
        assert len(names) == 3 and all(name.endswith(".png") for name in names)
        assert all(archive.read(name).startswith(b"\x89PNG") for name in names)


def test_the_before_after_slider_shows_the_photo_left_of_the_line(page: Page) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    _stylize(page)
    single = page.locator("#results .results-grid.single .result").bounding_box()
    assert single is not None and single["width"] > 400, "a single result fills the card"
    page.locator("#results .result .compare-button").click()
    expect(page.locator("#lightbox")).to_be_visible()
    photo = page.locator("#lightbox-photo")
    assert (photo.get_attribute("src") or "").startswith("blob:")  # the photo this job stylized
    page.wait_for_function("document.querySelector('#lightbox-photo').naturalWidth > 0")
    assert photo.evaluate("img => [img.naturalWidth, img.naturalHeight]") == list(PHOTO_SIZE)
    slider = page.locator("#compare-slider")
    expect(slider).to_have_value("50")
    clip = "() => getComputedStyle(document.querySelector('#compare-before')).clipPath"
    assert "50%" in page.evaluate(clip)
    slider.evaluate("el => { el.value = '20'; el.dispatchEvent(new Event('input')); }")
    assert "80%" in page.evaluate(clip)  # 20% of the photo shows, on the left
    line = page.locator("#compare-line").bounding_box()
    stage = page.locator("#compare").bounding_box()
    assert line is not None and stage is not None
    assert abs((line["x"] + line["width"] / 2 - stage["x"]) / stage["width"] - 0.2) < 0.02
    slider.evaluate("el => { el.value = '0'; el.dispatchEvent(new Event('input')); }")
    expect(page.locator("#compare-line")).to_be_hidden()  # only the result


def _sweep(page: Page, steps: int) -> None:
    page.goto("/")
    _pick_photo(page)
    _pick_style(page, STYLE_A)
    _pick_style(page, STYLE_B)
    page.fill("#sweep-steps", str(steps))
    page.click("#sweep-button")
    _wait_for_results(page, steps)


def test_a_five_step_sweep_fits_the_card_at_1280_px(page: Page) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    _sweep(page, 5)
    wrap = page.locator("#results .strip-wrap")
    expect(wrap).not_to_have_class("strip-wrap overflowing")
    strip = page.locator('#results .strip[data-kind="sweep"]')
    box = strip.bounding_box()
    assert box is not None
    frames = strip.locator(".result")
    expect(frames).to_have_count(5)
    for k in range(5):
        frame = frames.nth(k).bounding_box()
        assert frame is not None
        assert frame["x"] >= box["x"] - 1 and frame["x"] + frame["width"] <= box["x"] + box["width"] + 1, k
    expect(page.locator(".strip-scroll.forward")).to_be_hidden()


def test_at_phone_width_a_sweep_scrolls_with_visible_controls(page: Page) -> None:
    page.set_viewport_size({"width": 375, "height": 740})
    _sweep(page, 5)
    wrap = page.locator("#results .strip-wrap")
    expect(wrap).to_have_class("strip-wrap overflowing")
    forward = page.locator(".strip-scroll.forward")
    expect(forward).to_be_visible()
    expect(page.locator(".strip-hint")).to_be_visible()
    expect(page.locator(".strip-scroll.back")).to_be_disabled()
    forward.click()
    page.wait_for_function("document.querySelector('#results .strip').scrollLeft > 0")
    expect(page.locator(".strip-scroll.back")).to_be_enabled()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the phone's screen"


def test_a_rejected_request_clears_the_last_jobs_status_and_results(page: Page) -> None:
    _stylize(page)
    expect(page.locator("#progress-text")).to_contain_text("Done")
    page.fill("#samples", "20")  # the API accepts 1..8
    with page.expect_response(lambda r: r.url.endswith("/stylize")) as answered:
        page.click("#stylize-button")
    assert answered.value.status == 422
    expect(page.locator("#message")).to_contain_text("samples")
    expect(page.locator("#results img")).to_have_count(0)
    expect(page.locator("#results")).to_contain_text("Your images will appear here")
    expect(page.locator("#progress-card")).to_be_hidden()
    expect(page.locator("#progress-text")).not_to_contain_text("Done")
    expect(page.locator("#results-job")).to_be_hidden()
    expect(page.locator("#download-all")).to_be_hidden()


def test_a_size_above_the_photos_says_what_the_result_is(page: Page) -> None:
    page.goto("/")
    _pick_photo(page, png(*PHOTO_SIZE, seed=5))
    _pick_style(page, STYLE_A)
    expect(page.locator("#content-size")).to_have_text("96×64 px")
    page.locator("details.advanced summary").click()
    page.select_option("#max-side", "1024")
    expect(page.locator("#size-hint")).to_contain_text("up to 1024 px; your photo is 96 px")
    page.click("#stylize-button")
    _wait_for_results(page, 1)
    expect(page.locator("#results-note")).to_contain_text("your photo is 96 px and photos are never enlarged")
    expect(page.locator("#results-job")).to_contain_text("96×64 px")
