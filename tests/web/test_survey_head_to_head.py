"""The head-to-head breakdown (ours against each published baseline, both orders pooled): in the results' JSON
and as its own table on the results page, in headless Chromium. The API here serves a survey set prepared with
tiny AdaIN and Linear checkpoints, so that it has items that show two methods alone."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from formats.survey_manifest import MANIFEST_NAME, REAL_PAINTING
from tests.conftest import DATA, SERVICE_QUEUE
from tests.tiny_model import write_tiny_baselines

if TYPE_CHECKING:
    from tests.service_stack import Stack

OURS = "ours_v0"


@pytest.fixture(scope="module")
def baseline_survey_dir(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 photos x 2 paintings with ours at variation 0 and 1, AdaIN and Linear; no Gatys."""
    from training.survey_set import SurveyOptions, prepare_survey_set

    published = write_tiny_baselines(tmp_path_factory.mktemp("baselines"))
    out = tmp_path_factory.mktemp("survey-baselines")
    options = SurveyOptions(
        content_dir=DATA / "eval" / "content",
        style_dir=DATA / "eval" / "style",
        out=out,
        checkpoint=tiny_checkpoint,
        contents=2,
        styles=2,
        max_side=40,
        gatys_steps=0,
        seed=3,
        adain_checkpoint=published["adain"],
        linear_checkpoint=published["linear"],
    )
    prepare_survey_set(options, log=lambda _: None)
    return out


@pytest.fixture(scope="module")
def baseline_survey_url(service_stack: Stack, baseline_survey_dir: Path) -> str:
    _, base_url = service_stack.start_api(SERVICE_QUEUE, env={"VST_SURVEY_DIR": str(baseline_survey_dir)})
    return base_url


def _manifest(folder: Path) -> dict[str, Any]:
    return json.loads((folder / MANIFEST_NAME).read_text())


def _results(client: httpx.Client) -> dict[str, Any]:
    response = client.get("/survey/api/results")
    assert response.status_code == 200, response.text
    results: dict[str, Any] = response.json()
    return results


def _pairs(results: dict[str, Any]) -> dict[tuple[str, str], tuple[int, int]]:
    return {
        (h["first"], h["second"]): (h["first_preferred"]["hits"], h["first_preferred"]["trials"])
        for h in results["head_to_head"]
    }


def _against(manifest: dict[str, Any], baseline: str) -> list[dict[str, Any]]:
    """The items that show ours and ``baseline`` alone, in either order."""
    return [item for item in manifest["preference"] if {c["method"] for c in item["candidates"]} == {OURS, baseline}]


def _image_of(item: dict[str, Any], method: str) -> str:
    return next(c["image"] for c in item["candidates"] if c["method"] == method)


def _vote(client: httpx.Client, item: dict[str, Any], method: str) -> None:
    vote = {"item_id": item["id"], "choice": _image_of(item, method)}
    response = client.post("/survey/api/preference/votes", json=vote)
    assert response.status_code == 201, response.text


def test_head_to_head_pools_both_orders_per_baseline(baseline_survey_url: str, baseline_survey_dir: Path) -> None:
    manifest = _manifest(baseline_survey_dir)
    adain, linear = _against(manifest, "adain"), _against(manifest, "linear")
    # Both orders are in the set: ours shown first on some items and second on others.
    assert {item["candidates"][0]["method"] for item in adain} == {OURS, "adain"}
    with httpx.Client(base_url=baseline_survey_url, timeout=60) as client:
        before = _pairs(_results(client))
        for item in adain:  # ours every time, whichever side it was on
            _vote(client, item, OURS)
        _vote(client, linear[0], "linear")
        _vote(client, linear[1], OURS)
        after = _pairs(_results(client))
    assert set(after) == {(OURS, "ours_v1"), (OURS, "adain"), (OURS, "linear")}
    change = {pair: (after[pair][0] - before[pair][0], after[pair][1] - before[pair][1]) for pair in after}
    assert change[(OURS, "adain")] == (len(adain), len(adain))
    assert change[(OURS, "linear")] == (1, 2)
    assert change[(OURS, "ours_v1")] == (0, 0)


def _row_texts(page: Page) -> dict[str, list[str]]:
    expect(page.locator("#pairs")).to_be_visible()
    rows = {}
    for row in page.locator("#pairs-table tbody tr").all():
        cells = [row.locator("th").inner_text(), *row.locator("td").all_inner_texts()]
        rows[row.get_attribute("data-pair") or ""] = [cell.strip() for cell in cells]
    return rows


def test_the_results_page_shows_each_pair_with_its_counts_and_deception_rates(
    browser: Browser, baseline_survey_url: str, baseline_survey_dir: Path
) -> None:
    manifest = _manifest(baseline_survey_dir)
    context = browser.new_context(base_url=baseline_survey_url)  # a participant of its own
    page = context.new_page()
    # This participant picks AdaIN on one of its items and takes one AdaIN image for a real painting.
    item = _against(manifest, "adain")[0]
    vote = {"item_id": item["id"], "choice": _image_of(item, "adain")}
    assert page.request.post("/survey/api/preference/votes", data=vote).status == 201
    judged = next(d for d in manifest["deception"] if d["method"] == "adain")
    real = next(d for d in manifest["deception"] if d["method"] == REAL_PAINTING)
    judgments = {"judgments": [{"item_id": judged["id"], "real": True}, {"item_id": real["id"], "real": False}]}
    assert page.request.post("/survey/api/deception/votes", data=judgments).status == 201
    results = page.request.get("/survey/api/results").json()

    page.goto("/survey/results")
    rows = _row_texts(page)
    expect(page.locator("#pairs-empty")).to_be_hidden()
    labels = {m["id"]: m["label"] for m in results["methods"]}
    deception = {m["id"]: m["deception"] for m in results["methods"]}
    assert set(rows) == {f"{h['first']}:{h['second']}" for h in results["head_to_head"]}
    for pair in results["head_to_head"]:
        name, preferred, counts, first_real, second_real = rows[f"{pair['first']}:{pair['second']}"]
        assert name.startswith(f"{labels[pair['first']]} vs {labels[pair['second']]}")
        rate = pair["first_preferred"]
        assert counts == f"{rate['hits']} / {rate['trials']}"
        if rate["trials"]:
            assert re.fullmatch(r"\d+\.\d% \(\d+\.\d%–\d+\.\d%\)", preferred), preferred
        else:
            assert preferred == "no votes yet"
        for method, cell in ((pair["first"], first_real), (pair["second"], second_real)):
            d = deception[method]
            expected = f"{100 * d['rate']:.1f}% ({d['hits']} / {d['trials']})" if d["trials"] else "no judgments yet"
            assert cell == expected
    adain_row = rows[f"{OURS}:adain"]
    assert adain_row[2] != "0 / 0"  # the vote above reached the table
    assert re.fullmatch(r"\d+\.\d% \(\d+ / [1-9]\d*\)", adain_row[4])  # and the judgment: AdaIN judged at least once
    context.close()


def test_a_set_without_two_method_items_says_there_is_no_head_to_head(page: Page) -> None:
    """The shared survey set shows three methods on every item: the breakdown's empty state."""
    page.goto("/survey/results")
    expect(page.locator("#report")).to_be_visible()
    expect(page.locator("#pairs-empty")).to_be_visible()
    expect(page.locator("#pairs-empty")).to_contain_text("no items that show two methods alone")
    expect(page.locator("#pairs-wrap")).to_be_hidden()
    assert page.request.get("/survey/api/results").json()["head_to_head"] == []
