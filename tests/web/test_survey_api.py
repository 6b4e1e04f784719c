"""The survey's JSON API over real HTTP, with votes in the real Redis."""

from __future__ import annotations

import io
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from formats.survey_manifest import MANIFEST_NAME


def _manifest(survey_dir: Path) -> dict[str, Any]:
    return json.loads((survey_dir / MANIFEST_NAME).read_text())


def _results(client: httpx.Client) -> dict[str, Any]:
    response = client.get("/survey/api/results")
    assert response.status_code == 200, response.text
    results: dict[str, Any] = response.json()
    return results


def _method_rates(results: dict[str, Any], task: str) -> dict[str, tuple[int, int]]:
    return {m["id"]: (m[task]["hits"], m[task]["trials"]) for m in results["methods"]}


def test_status_reports_the_loaded_set(web_client: httpx.Client, survey_dir: Path) -> None:
    manifest = _manifest(survey_dir)
    status = web_client.get("/survey/api/status").json()
    assert status["available"] is True
    assert status["preference_items"] == len(manifest["preference"])
    assert status["deception_items"] == len(manifest["deception"])


def test_a_task_hides_the_methods_and_serves_its_images(web_client: httpx.Client, survey_dir: Path) -> None:
    response = web_client.get("/survey/api/preference/next")
    assert response.status_code == 200, response.text
    assert "vst_participant" in response.cookies
    task = response.json()["task"]
    candidates = task["candidates"]
    assert 2 <= len(candidates) <= 3
    assert len({c["id"] for c in candidates}) == len(candidates)
    # Nothing a participant receives names a method.
    text = response.text.lower()
    for method in _manifest(survey_dir)["methods"]:
        assert method not in text
    for image in [task["content"], task["style"], *candidates]:
        fetched = web_client.get(image["url"])
        assert fetched.status_code == 200
        assert fetched.headers["content-type"] == "image/jpeg"
        assert Image.open(io.BytesIO(fetched.content)).size[0] > 0


def test_a_vote_counts_once_and_a_second_vote_on_the_item_is_refused(web_client: httpx.Client) -> None:
    before = _results(web_client)
    task = web_client.get("/survey/api/preference/next").json()["task"]
    choice = task["candidates"][0]["id"]
    vote = {"item_id": task["item_id"], "choice": choice}

    first = web_client.post("/survey/api/preference/votes", json=vote)
    assert first.status_code == 201, first.text
    assert first.json()["recorded"] == 1
    again = web_client.post("/survey/api/preference/votes", json={**vote, "choice": task["candidates"][1]["id"]})
    assert again.status_code == 409
    assert again.json()["detail"]["code"] == "already_voted"

    after = _results(web_client)
    assert after["preference_votes"] == before["preference_votes"] + 1
    old, new = _method_rates(before, "preference"), _method_rates(after, "preference")
    picked_delta = {m: new[m][0] - old[m][0] for m in new}
    shown_delta = {m: new[m][1] - old[m][1] for m in new}
    assert sorted(picked_delta.values()) == [0] * (len(new) - 1) + [1]
    assert sum(shown_delta.values()) == len(task["candidates"])
    # The voted item is not offered to this participant again.
    next_task = web_client.get("/survey/api/preference/next").json()["task"]
    assert next_task is None or next_task["item_id"] != task["item_id"]


def test_another_participant_may_vote_on_the_same_item(web_url: str) -> None:
    with httpx.Client(base_url=web_url) as first, httpx.Client(base_url=web_url) as second:
        task = first.get("/survey/api/preference/next").json()["task"]
        second.get("/survey/api/status")
        vote = {"item_id": task["item_id"], "choice": task["candidates"][0]["id"]}
        assert first.post("/survey/api/preference/votes", json=vote).status_code == 201
        assert second.post("/survey/api/preference/votes", json=vote).status_code == 201


def test_simultaneous_double_votes_count_once(web_url: str) -> None:
    with httpx.Client(base_url=web_url) as client:
        task = client.get("/survey/api/preference/next").json()["task"]
        cookie = client.cookies["vst_participant"]
        before = _results(client)["preference_votes"]
    vote = {"item_id": task["item_id"], "choice": task["candidates"][0]["id"]}

    def post(_: int) -> int:
        with httpx.Client(base_url=web_url, cookies={"vst_participant": cookie}) as same_participant:
            return same_participant.post("/survey/api/preference/votes", json=vote).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = sorted(pool.map(post, range(6)))
    assert statuses == [201] + [409] * 5
    with httpx.Client(base_url=web_url) as client:
        assert _results(client)["preference_votes"] == before + 1


def test_bad_votes_get_clear_errors(web_client: httpx.Client) -> None:
    task = web_client.get("/survey/api/preference/next").json()["task"]
    not_a_candidate = web_client.post(
        "/survey/api/preference/votes", json={"item_id": task["item_id"], "choice": "0" * 16}
    )
    assert not_a_candidate.status_code == 422
    assert not_a_candidate.json()["detail"]["code"] == "invalid_choice"
    unknown_item = web_client.post("/survey/api/preference/votes", json={"item_id": "p99999", "choice": "0" * 16})
    assert unknown_item.status_code == 404
    assert unknown_item.json()["detail"]["code"] == "survey_item_not_found"
    malformed = web_client.post("/survey/api/preference/votes", json={"item_id": "../../etc", "choice": "x"})
    assert malformed.status_code == 422
    assert malformed.json()["detail"]["code"] == "invalid_request"


def test_image_ids_never_reach_the_file_system(web_client: httpx.Client, survey_dir: Path) -> None:
    for attempt in (
        "..%2fmanifest.json",
        "manifest.json",
        "0000000000000000",
        "%2e%2e",
        "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    ):
        response = web_client.get(f"/survey/images/{attempt}")
        assert response.status_code == 404, attempt
        assert "detail" in response.json()
    assert (survey_dir / MANIFEST_NAME).is_file()


def test_deception_votes_are_all_or_nothing_and_once_per_image(web_client: httpx.Client) -> None:
    before = _results(web_client)
    batch = web_client.get("/survey/api/deception/next", params={"count": 3}).json()
    tasks = batch["tasks"]
    assert len(tasks) == 3
    judgments = [{"item_id": t["item_id"], "real": k == 0} for k, t in enumerate(tasks)]

    duplicated = web_client.post("/survey/api/deception/votes", json={"judgments": [judgments[0], judgments[0]]})
    assert duplicated.status_code == 422
    assert duplicated.json()["detail"]["code"] == "duplicate_item"

    first = web_client.post("/survey/api/deception/votes", json={"judgments": judgments[:2]})
    assert first.status_code == 201, first.text
    assert first.json()["recorded"] == 2
    # One already-judged image spoils the whole request: the new one is not counted either.
    mixed = web_client.post("/survey/api/deception/votes", json={"judgments": judgments[1:]})
    assert mixed.status_code == 409
    assert mixed.json()["detail"]["code"] == "already_voted"

    after = _results(web_client)
    assert after["deception_judgments"] == before["deception_judgments"] + 2
    remaining = web_client.get("/survey/api/deception/next", params={"count": 12}).json()
    offered = {t["item_id"] for t in remaining["tasks"]}
    assert not offered & {judgments[0]["item_id"], judgments[1]["item_id"]}
    assert remaining["done"] == batch["done"] + 2


def test_results_carry_wilson_intervals_and_the_baseline_source(web_client: httpx.Client) -> None:
    results = _results(web_client)
    assert results["deterministic_baseline"]["source"] == "ours_at_variation_0"
    for method in results["methods"]:
        for task in ("preference", "deception"):
            rate = method[task]
            if rate["trials"]:
                assert 0 <= rate["ci_low"] <= rate["rate"] <= rate["ci_high"] <= 1
                assert rate["rate"] == rate["hits"] / rate["trials"]
            else:
                assert rate["rate"] is None


def test_a_garbage_participant_cookie_is_replaced(web_url: str) -> None:
    with httpx.Client(base_url=web_url, cookies={"vst_participant": "../admin"}) as client:
        response = client.get("/survey/api/preference/next")
    assert response.status_code == 200
    issued = response.cookies["vst_participant"]
    assert issued != "../admin" and len(issued) == 32


def test_without_a_survey_set_visitors_are_told_so_without_paths_or_commands(empty_survey_url: str) -> None:
    with httpx.Client(base_url=empty_survey_url) as client:
        status = client.get("/survey/api/status").json()
        assert status["available"] is False
        assert status["message"] == "no survey is running at the moment"
        response = client.get("/survey/api/preference/next")
        assert response.status_code == 503
        detail = response.json()["detail"]
        assert detail["code"] == "survey_unavailable"
        for shown in (status["message"], detail["message"]):
            assert "/" not in shown and "vst" not in shown and "VST_" not in shown, shown
        page = client.get("/survey")
        assert page.status_code == 200
        assert "text/html" in page.headers["content-type"]


def test_a_deception_batch_keeps_stylizations_of_one_photo_apart(web_url: str, survey_dir: Path) -> None:
    group_of = {item["id"]: item["group"] for item in _manifest(survey_dir)["deception"]}
    groups = set(group_of.values())
    assert len(groups) < len(group_of)  # several stylizations per photo
    with httpx.Client(base_url=web_url) as new_participant:
        batch = new_participant.get("/survey/api/deception/next", params={"count": len(groups)}).json()
    chosen = [group_of[task["item_id"]] for task in batch["tasks"]]
    assert len(chosen) == len(groups)
    assert len(set(chosen)) == len(chosen)


def test_the_survey_needs_no_api_key_where_the_api_does(keyed_url: str) -> None:
    with httpx.Client(base_url=keyed_url) as anonymous:
        assert anonymous.get("/styles").status_code == 401
        task = anonymous.get("/survey/api/preference/next").json()["task"]
        vote = {"item_id": task["item_id"], "choice": task["candidates"][0]["id"]}
        assert anonymous.post("/survey/api/preference/votes", json=vote).status_code == 201
        assert anonymous.get(task["content"]["url"]).status_code == 200
