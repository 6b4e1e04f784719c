"""The survey pages in headless Chromium: a full vote, and what it changes on the results page."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

SURVEY_IMAGE = re.compile(r"/survey/images/[0-9a-f]{16}$")


def _table(page: Page, column: int) -> dict[str, tuple[int, int]]:
    """``hits / trials`` of one column of the results table, by method id (after the page has loaded)."""
    expect(page.locator("#report")).to_be_visible()
    counts = {}
    for row in page.locator("#results-table tbody tr").all():
        method = row.get_attribute("data-method") or ""
        text = row.locator("td").nth(column).inner_text()
        if "/" in text:
            hits, trials = (int(part) for part in text.split("/"))
            counts[method] = (hits, trials)
    return counts


def _preference_counts(page: Page) -> dict[str, tuple[int, int]]:
    page.goto("/survey/results")
    return _table(page, 1)


def _deception_counts(page: Page) -> dict[str, tuple[int, int]]:
    page.goto("/survey/results")
    return _table(page, 3)


def test_a_preference_vote_shows_up_on_the_results_page(browser: Browser, base_url: str) -> None:
    context = browser.new_context(base_url=base_url)  # a fresh cookie jar: a new participant
    page = context.new_page()
    before = _preference_counts(page)
    votes_before = int(page.locator("#preference-votes").inner_text())

    page.goto("/survey")
    expect(page.locator("#survey")).to_be_visible()
    candidates = page.locator("#candidates button")
    expect(candidates.first).to_be_visible()
    shown = candidates.count()
    assert 2 <= shown <= 3
    progress = page.locator("#preference-progress").inner_text()
    done, total = (int(n) for n in re.findall(r"\d+", progress))
    # The images say nothing about their method.
    for image in candidates.locator("img").all():
        assert SURVEY_IMAGE.search(image.get_attribute("src") or "")
    expect(page.locator("#pref-content")).to_have_attribute("src", SURVEY_IMAGE)
    first_item = candidates.first.get_attribute("data-choice")

    with page.expect_response(lambda r: r.url.endswith("/survey/api/preference/votes")) as answered:
        candidates.first.click()
    assert answered.value.status == 201
    expect(page.locator("#preference-progress")).to_have_text(f"({done + 1} of {total} done)")
    if done + 1 < total:
        expect(page.locator("#candidates button").first).not_to_have_attribute("data-choice", first_item or "")

    after = _preference_counts(page)
    assert int(page.locator("#preference-votes").inner_text()) == votes_before + 1
    picked = {m: after[m][0] - before[m][0] for m in after}
    trials = {m: after[m][1] - before[m][1] for m in after}
    assert sorted(picked.values())[-1] == 1 and sum(picked.values()) == 1
    assert sum(trials.values()) == shown
    context.close()


def test_voting_through_every_item_ends_the_task(browser: Browser, base_url: str) -> None:
    context = browser.new_context(base_url=base_url)
    page = context.new_page()
    page.goto("/survey")
    progress = page.locator("#preference-progress")
    expect(progress).to_have_text(re.compile(r"\(0 of \d+ done\)"))
    total = int(re.findall(r"\d+", progress.inner_text())[1])
    for k in range(total):
        expect(progress).to_have_text(f"({k} of {total} done)")
        page.locator("#candidates button").last.click()
    expect(page.locator("#preference-done")).to_be_visible()
    expect(page.locator("#preference-task")).to_be_hidden()
    context.close()


def test_deception_judgments_show_up_on_the_results_page(browser: Browser, base_url: str) -> None:
    context = browser.new_context(base_url=base_url)
    page = context.new_page()
    before = _deception_counts(page)
    judged_before = int(page.locator("#deception-judgments").inner_text())

    page.goto("/survey")
    page.click("#tab-deception")
    images = page.locator("#judge-grid .judge")
    expect(images.first).to_be_visible()
    count = images.count()
    images.first.click()
    expect(images.first).to_have_attribute("aria-pressed", "true")
    expect(images.first.locator(".verdict")).to_have_text("✓ Real artwork")
    with page.expect_response(lambda r: r.url.endswith("/survey/api/deception/votes")) as answered:
        page.click("#deception-submit")
    assert answered.value.status == 201
    expect(page.locator("#deception-progress")).to_contain_text(f"({count} of")

    after = _deception_counts(page)
    assert int(page.locator("#deception-judgments").inner_text()) == judged_before + count
    judged = {m: after[m][1] - before[m][1] for m in after}
    marked_real = {m: after[m][0] - before[m][0] for m in after}
    assert sum(judged.values()) == count
    assert sum(marked_real.values()) == 1
    context.close()


def test_the_results_page_shows_rates_with_intervals(page: Page) -> None:
    task = page.request.get("/survey/api/preference/next").json()["task"]
    vote = {"item_id": task["item_id"], "choice": task["candidates"][0]["id"]}
    assert page.request.post("/survey/api/preference/votes", data=vote).status == 201
    page.goto("/survey/results")
    expect(page.locator("#report")).to_be_visible()
    rows = page.locator("#results-table tbody tr")
    expect(rows.last).to_have_attribute("data-method", "real")
    expect(page.locator("#baseline-note")).to_contain_text("our model at variation 0 stands in")
    # Every rate with votes is printed as "r% (low%–high%)".
    rate_cells = page.locator("#results-table td.num").all_inner_texts()
    rates = [text for text in rate_cells if "%" in text]
    assert rates
    for text in rates:
        assert re.fullmatch(r"\d+\.\d% \(\d+\.\d%–\d+\.\d%\)", text.strip()), text


def test_the_survey_fits_a_phone_screen(page: Page) -> None:
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto("/survey")
    expect(page.locator("#candidates button").first).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the survey is {overflow}px wider than the phone's screen"
