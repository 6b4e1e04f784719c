"""The stylize page takes its limits from the API's ``GET /limits``, and keeps its own when they cannot be read."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import FilePayload, Page, Request, Route, expect

from app.protocol import (
    MAX_FEATHER_PX,
    MAX_OUTPUTS,
    MAX_SAMPLES,
    MAX_SEED,
    MAX_STEPS,
    MAX_STYLES,
    MAX_VARIATION,
    MIN_STEPS,
)
from tests.app.sample_images import png

LIMITS = re.compile(r"/limits$")
# The largest integer a browser's numbers hold exactly: the page's seed stays at or under it.
BROWSER_MAX_SEED = 2**53 - 1
# Ranges of the page's own that are narrower than the API's on purpose.
PAGE_MAX_VARIATION = 2
PAGE_MAX_FEATHER = 32


def _gallery_ids(page: Page, count: int) -> list[str]:
    expect(page.locator("#gallery button[data-style-id]").nth(count - 1)).to_be_attached()
    ids: list[str] = page.eval_on_selector_all(
        "#gallery button[data-style-id]", "buttons => buttons.map(b => b.dataset.styleId)"
    )
    return ids[:count]


def _pick(page: Page, style_ids: list[str]) -> None:
    for style_id in style_ids:
        page.locator(f'#gallery button[data-style-id="{style_id}"]').click()


def test_the_inputs_take_their_ranges_from_the_api(page: Page, web_url: str) -> None:
    limits = httpx.get(f"{web_url}/limits").json()
    page.goto("/")
    # The server's own settings (the tests' API caps sizes far below the page's largest choice) show it read them.
    default = page.locator('#max-side option[value=""]')
    expect(default).to_have_text(f"Server default ({limits['default_max_side']} px)")
    page.locator("details.advanced summary").click()
    page.select_option("#max-side", "1024")
    expect(page.locator("#size-hint")).to_contain_text(f"this server's limit is {limits['max_side_limit']} px")
    expect(page.locator("#samples")).to_have_attribute("max", str(limits["max_samples"]))
    expect(page.locator("#sweep-steps")).to_have_attribute("min", str(limits["min_steps"]))
    expect(page.locator("#sweep-steps")).to_have_attribute("max", str(limits["max_steps"]))
    expect(page.locator("#seed")).to_have_attribute("max", str(min(limits["max_seed"], BROWSER_MAX_SEED)))
    expect(page.locator('[data-limit="max_samples"]')).to_have_text(str(limits["max_samples"]))
    expect(page.locator('[data-limit="max_styles"]')).to_have_text(str(limits["max_styles"]))


def test_an_api_with_other_limits_gets_a_page_with_other_ranges(page: Page, web_url: str) -> None:
    other: dict[str, Any] = httpx.get(f"{web_url}/limits").json() | {
        "max_styles": 2,
        "max_samples": 3,
        "min_steps": 3,
        "max_steps": 4,
        "max_seed": 1000,
        "max_variation": 5.0,  # looser than the page's slider, which keeps its own range
        "max_feather_px": 10.0,  # tighter than the page's slider, which follows
    }

    def other_limits(route: Route) -> None:
        route.fulfill(json=other)

    page.route(LIMITS, other_limits)
    page.goto("/")
    expect(page.locator("#samples")).to_have_attribute("max", "3")
    expect(page.locator('[data-limit="max_samples"]')).to_have_text("3")
    steps = page.locator("#sweep-steps")
    expect(steps).to_have_attribute("min", "3")
    expect(steps).to_have_attribute("max", "4")
    expect(steps).to_have_value("4")  # the page's 5 steps, moved inside the range
    expect(page.locator("#seed")).to_have_attribute("max", "1000")
    expect(page.locator("#variation")).to_have_attribute("max", str(PAGE_MAX_VARIATION))
    expect(page.locator("#feather")).to_have_attribute("max", "10")
    expect(page.locator('[data-limit="max_styles"]')).to_have_text("2")

    _pick(page, _gallery_ids(page, 3))
    expect(page.locator("#message")).to_contain_text("at most 2 styles can be blended")
    expect(page.locator("#selected li")).to_have_count(2)


def test_without_the_limits_the_page_keeps_ranges_within_the_apis(page: Page) -> None:
    def unreachable(route: Route) -> None:
        route.abort("connectionrefused")

    page.route(LIMITS, unreachable)
    with page.expect_event("requestfailed", lambda request: bool(LIMITS.search(request.url))):
        page.goto("/")
    expect(page.locator("#service-status")).to_contain_text("Ready")
    expect(page.locator("#samples")).to_have_attribute("max", str(MAX_SAMPLES))
    expect(page.locator("#sweep-steps")).to_have_attribute("min", str(MIN_STEPS))
    expect(page.locator("#sweep-steps")).to_have_attribute("max", str(MAX_STEPS))
    expect(page.locator('[data-limit="max_styles"]')).to_have_text(str(MAX_STYLES))
    expect(page.locator('#max-side option[value=""]')).to_have_text("Server default")
    ranges = page.evaluate("['seed', 'variation', 'feather'].map(id => Number(document.getElementById(id).max))")
    assert ranges == [min(MAX_SEED, BROWSER_MAX_SEED), min(MAX_VARIATION, PAGE_MAX_VARIATION), PAGE_MAX_FEATHER]
    assert PAGE_MAX_FEATHER <= MAX_FEATHER_PX
    expect(page.locator("#message")).to_be_hidden()

    _pick(page, _gallery_ids(page, MAX_STYLES + 1))
    expect(page.locator("#message")).to_contain_text(f"at most {MAX_STYLES} styles can be blended")
    expect(page.locator("#selected li")).to_have_count(MAX_STYLES)


@pytest.mark.parametrize("served", [True, False], ids=["limits served", "limits unreachable"])
def test_a_sweep_of_more_images_than_a_job_may_make_is_refused_on_the_page_without_a_request(
    page: Page, web_url: str, served: bool
) -> None:
    limits = httpx.get(f"{web_url}/limits").json()
    most = limits["max_outputs"] if served else MAX_OUTPUTS
    if not served:
        page.route(LIMITS, lambda route: route.abort("connectionrefused"))
    submitted: list[Request] = []
    page.on("request", lambda request: submitted.append(request) if request.method == "POST" else None)
    page.goto("/")
    expect(page.locator("#service-status")).to_contain_text("Ready")
    page.set_input_files("#content-input", files=[FilePayload(name="p.png", mimeType="image/png", buffer=png(96, 64))])
    _pick(page, _gallery_ids(page, 2))
    page.locator("details.advanced summary").click()
    samples = MAX_SAMPLES
    steps = most // samples + 1  # one step too many
    assert MIN_STEPS <= steps <= MAX_STEPS and samples * steps > most
    page.fill("#samples", str(samples))
    page.fill("#sweep-steps", str(steps))
    page.click("#sweep-button")
    expect(page.locator("#message")).to_contain_text(f"make {samples * steps} images; one job makes at most {most}")
    assert submitted == []
