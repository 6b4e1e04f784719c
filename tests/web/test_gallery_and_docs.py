"""The gallery (order, search, my uploads, delete, duplicates), the survey links and the offline API docs,
in headless Chromium against the real service."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx
from playwright.sync_api import Browser, FilePayload, Page, Route, expect

from tests.app.sample_images import png

LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def _visible_ids(page: Page, grid: str) -> list[str]:
    return page.eval_on_selector_all(
        f"#{grid} .tile:not(.hidden) button[data-style-id]", "buttons => buttons.map(b => b.dataset.styleId)"
    )


def test_featured_first_then_by_artist_with_full_titles_on_hover(page: Page, web_url: str) -> None:
    styles = [s for s in httpx.get(f"{web_url}/styles").json()["styles"] if s["source"] == "gallery"]
    featured = [s["id"] for s in styles if s["featured"]]
    others = [s["id"] for s in styles if not s["featured"]]
    assert featured[:2] == ["hokusai_great_wave", "vangogh_starry_night"]
    page.goto("/")
    expect(page.locator("#featured-grid .tile")).to_have_count(len(featured))
    assert _visible_ids(page, "featured-grid") == featured
    assert _visible_ids(page, "paintings-grid") == others
    wave = page.locator('#gallery button[data-style-id="hokusai_great_wave"]')
    expect(wave).to_have_attribute("title", re.compile(r"^The Great Wave off Kanagawa .*— Katsushika Hokusai"))
    # No cataloguing notes in any title shown.
    titles = page.eval_on_selector_all("#gallery .caption .title", "spans => spans.map(s => s.textContent)")
    assert not [t for t in titles if re.search(r"not stated|attributed|by appearance|\d+px", t)], titles


def test_search_by_title_and_artist_ignores_case_and_accents(page: Page, web_url: str) -> None:
    styles = [s for s in httpx.get(f"{web_url}/styles").json()["styles"] if s["source"] == "gallery"]
    van_gogh = {s["id"] for s in styles if "van Gogh" in s["artist"]}
    page.goto("/")
    expect(page.locator("#featured-grid .tile").first).to_be_visible()
    search = page.locator("#gallery-search")
    search.fill("VAN GOGH")
    expect(page.locator("#gallery .tile:not(.hidden)")).to_have_count(len(van_gogh))
    shown = set(_visible_ids(page, "featured-grid") + _visible_ids(page, "paintings-grid"))
    assert shown == van_gogh
    search.fill("elysee")  # the title has "Élysée"
    expect(page.locator("#gallery .tile:not(.hidden)")).to_have_count(1)
    expect(page.locator("#gallery .tile:not(.hidden) .title")).to_contain_text("Élysée Montmartre")
    expect(page.locator("#featured-section")).to_be_hidden()  # no featured painting matches
    search.fill("no such painting anywhere")
    expect(page.locator("#gallery .tile:not(.hidden)")).to_have_count(0)
    expect(page.locator("#gallery-empty")).to_contain_text("No painting matches")
    search.fill("")
    expect(page.locator("#gallery .tile:not(.hidden)")).to_have_count(len(page.locator("#gallery .tile").all()))


def _upload(page: Page, name: str, data: bytes, status: int) -> str:
    with page.expect_response(lambda r: r.url.endswith("/styles") and r.request.method == "POST") as answered:
        page.set_input_files("#style-upload", files=[FilePayload(name=name, mimeType="image/png", buffer=data)])
    assert answered.value.status == status, answered.value.text()
    style_id: str = answered.value.json()["id"]
    return style_id


def test_my_uploads_have_their_own_section_and_can_be_deleted(page: Page, web_url: str) -> None:
    page.goto("/")
    expect(page.locator("#featured-grid .tile").first).to_be_visible()
    style_id = _upload(page, "to-delete.png", png(44, 36, seed=31), 201)
    tile = page.locator(f'#uploads-grid .tile[data-tile-for="{style_id}"]')
    expect(tile).to_be_visible()
    expect(page.locator("#uploads-section h3")).to_have_text("My uploads")
    expect(page.locator("#selected li .title")).to_have_text(["to-delete"])
    with page.expect_response(lambda r: r.request.method == "DELETE") as deleted:
        tile.locator(".delete-style").click()
    assert deleted.value.status == 204
    expect(tile).to_have_count(0)
    expect(page.locator("#selected li")).to_have_count(0)  # no longer selected either
    assert httpx.get(f"{web_url}/styles/{style_id}").status_code == 404
    page.reload()
    expect(page.locator("#featured-grid .tile").first).to_be_visible()
    expect(page.locator(f'#gallery [data-tile-for="{style_id}"]')).to_have_count(0)


def test_the_same_upload_twice_adds_no_second_entry(page: Page, web_url: str) -> None:
    page.goto("/")
    expect(page.locator("#featured-grid .tile").first).to_be_visible()
    data = png(46, 38, seed=33)
    first = _upload(page, "twice.png", data, 201)
    expect(page.locator(f'#uploads-grid [data-tile-for="{first}"]')).to_have_count(1)
    before = page.locator("#uploads-grid .tile").count()
    second = _upload(page, "twice-again.png", data, 200)
    assert second == first
    expect(page.locator("#message")).to_contain_text("already in your uploads")
    expect(page.locator("#uploads-grid .tile")).to_have_count(before)
    listed = [s["id"] for s in httpx.get(f"{web_url}/styles").json()["styles"]]
    assert listed.count(first) == 1


def test_the_survey_links_show_only_with_a_survey_set(browser: Browser, web_url: str, empty_survey_url: str) -> None:
    for base, shown in ((web_url, True), (empty_survey_url, False)):
        context = browser.new_context(base_url=base)
        page = context.new_page()
        page.goto("/")
        expect(page.locator('nav a[href="/docs"]')).to_be_visible()
        links = page.locator("nav a.survey-link")
        expect(links).to_have_count(2)
        if shown:
            expect(links.nth(0)).to_be_visible()
            expect(links.nth(1)).to_be_visible()
        else:
            # Give the status request time to answer, then check that nothing showed the links.
            page.wait_for_load_state("networkidle")
            expect(links.nth(0)).to_be_hidden()
            expect(links.nth(1)).to_be_hidden()
        context.close()


def test_without_a_survey_set_the_survey_page_is_friendly(page: Page, empty_survey_url: str) -> None:
    page.goto(f"{empty_survey_url}/survey")
    box = page.locator("#unavailable")
    expect(box).to_contain_text("There is no survey running at the moment")
    text = box.inner_text()
    assert "vst" not in text and "/" not in text and "VST_" not in text, text
    expect(box.locator('a[href="/"]')).to_be_visible()
    page.goto(f"{empty_survey_url}/survey/results")
    expect(page.locator("#unavailable")).to_contain_text("no survey running")


def test_the_api_docs_render_with_the_network_blocked(page: Page) -> None:
    blocked: list[tuple[str, str]] = []

    def only_this_server(route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            blocked.append((route.request.resource_type, route.request.url))
            route.abort("internetdisconnected")

    page.route("**/*", only_this_server)
    page.goto("/docs")
    operations = page.locator(".opblock-summary-path")
    expect(operations.first).to_be_visible(timeout=30_000)
    paths = operations.all_inner_texts()
    assert any(p.replace("\u200b", "") == "/stylize" for p in paths), paths
    assert any("/styles" in p for p in paths), paths

    page.goto("/redoc")
    expect(page.locator("h2", has_text="Stylize a photo with one style")).to_be_visible(timeout=30_000)
    # Nothing the pages need came from outside: no script, stylesheet or font was even asked for there (ReDoc's
    # footer does ask for its vendor's logo image, which the page does without).
    assert not [url for kind, url in blocked if kind in ("script", "stylesheet", "font", "fetch", "xhr")], blocked
