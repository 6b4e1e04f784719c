"""API keys and ownership, the per-client rate limit, CORS and unguessable ids, on real API processes.

The APIs here run on queues no worker listens to: every check is about what the API lets through, and
queued jobs are all these tests need (a job's owner is checked before its status).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.app.sample_images import png
from tests.service_stack import Stack

STYLE = "hokusai_great_wave"
ALICE = "alice-key-0123456789abcdef"
BOB = "bob-key-0123456789abcdef"


def _code(response: httpx.Response) -> str:
    return str(response.json()["detail"]["code"])


def _submit(client: httpx.Client, **form: str) -> httpx.Response:
    return client.post("/stylize", files={"content": ("p.png", png(16, 16))}, data={"style_id": STYLE, **form})


@pytest.fixture
def keyed_api(own_stack: Stack) -> Iterator[str]:
    _, base_url = own_stack.start_api("vst-tests-keys", env={"VST_API_KEYS": f"{ALICE},{BOB}"})
    yield base_url


def test_with_api_keys_every_route_but_health_needs_one(keyed_api: str) -> None:
    with httpx.Client(base_url=keyed_api, timeout=30) as anonymous:
        assert anonymous.get("/healthz").status_code == 200
        assert anonymous.get("/readyz").status_code == 503  # not 401: no worker, and it says so
        refused = [
            anonymous.get("/styles"),
            anonymous.get(f"/styles/{STYLE}"),
            anonymous.get(f"/styles/{STYLE}/image"),
            anonymous.post("/styles", files={"image": ("s.png", png())}),
            anonymous.delete("/styles/user-0123"),
            _submit(anonymous),
            anonymous.post("/interpolate", files={"content": ("p.png", png())}, data={"style_ids": [STYLE, STYLE]}),
            anonymous.get(f"/jobs/{'0' * 32}"),
            anonymous.get(f"/jobs/{'0' * 32}/result"),
            anonymous.delete(f"/jobs/{'0' * 32}"),
            anonymous.get("/metrics"),
        ]
        for response in refused:
            assert response.status_code == 401, (response.request.url, response.text)
            assert _code(response) == "missing_api_key"
            assert response.headers["www-authenticate"] == "Bearer"
        wrong = anonymous.get("/styles", headers={"X-API-Key": "not-a-key-0123456789abcdef"})
        assert wrong.status_code == 401 and _code(wrong) == "invalid_api_key"
        assert "not-a-key" not in wrong.text
    for header in ({"X-API-Key": ALICE}, {"Authorization": f"Bearer {ALICE}"}):
        with httpx.Client(base_url=keyed_api, headers=header, timeout=30) as alice:
            assert alice.get("/styles").status_code == 200
            assert alice.get("/metrics").status_code == 200


def test_a_job_is_visible_only_to_the_key_that_created_it(keyed_api: str) -> None:
    with (
        httpx.Client(base_url=keyed_api, headers={"X-API-Key": ALICE}, timeout=30) as alice,
        httpx.Client(base_url=keyed_api, headers={"X-API-Key": BOB}, timeout=30) as bob,
    ):
        submitted = _submit(alice)
        assert submitted.status_code == 202, submitted.text
        job_id = submitted.json()["id"]
        assert alice.get(f"/jobs/{job_id}").json()["status"] == "queued"
        assert _code(alice.get(f"/jobs/{job_id}/result")) == "job_not_finished"
        # Bob gets exactly what an unknown id gets: nothing tells him the job exists.
        unknown = bob.get(f"/jobs/{uuid.uuid4().hex}")
        for response in (bob.get(f"/jobs/{job_id}"), bob.get(f"/jobs/{job_id}/result"), bob.delete(f"/jobs/{job_id}")):
            assert response.status_code == 404 == unknown.status_code, response.text
            assert _code(response) == "job_not_found" == _code(unknown)
        assert alice.get(f"/jobs/{job_id}").json()["status"] == "queued", "Bob's DELETE must not cancel it"
        assert alice.delete(f"/jobs/{job_id}").json()["status"] == "canceled"


def test_an_uploaded_style_is_visible_and_usable_only_by_its_uploader(keyed_api: str) -> None:
    with (
        httpx.Client(base_url=keyed_api, headers={"X-API-Key": ALICE}, timeout=30) as alice,
        httpx.Client(base_url=keyed_api, headers={"X-API-Key": BOB}, timeout=30) as bob,
    ):
        created = alice.post("/styles", files={"image": ("mine.png", png(40, 40, seed=3))}, data={"title": "Mine"})
        assert created.status_code == 201, created.text
        style_id = created.json()["id"]
        assert style_id in [s["id"] for s in alice.get("/styles").json()["styles"]]
        assert style_id not in [s["id"] for s in bob.get("/styles").json()["styles"]]
        assert STYLE in [s["id"] for s in bob.get("/styles").json()["styles"]], "the gallery is everyone's"
        for response in (
            bob.get(f"/styles/{style_id}"),
            bob.get(f"/styles/{style_id}/image"),
            bob.delete(f"/styles/{style_id}"),
            _submit(bob, style_id=style_id),
        ):
            assert response.status_code == 404, response.text
            assert _code(response) == "style_not_found"
        assert _submit(alice, style_id=style_id).status_code == 202
        assert alice.delete(f"/styles/{style_id}").status_code == 204


def test_a_job_of_another_queue_is_not_found(own_stack: Stack) -> None:
    # Two deployments sharing one Redis: each API sees only its own queue's jobs.
    _, first = own_stack.start_api("vst-tests-tenant-a")
    _, second = own_stack.start_api("vst-tests-tenant-b")
    with httpx.Client(base_url=first, timeout=30) as a, httpx.Client(base_url=second, timeout=30) as b:
        job_id = _submit(a).json()["id"]
        assert a.get(f"/jobs/{job_id}").status_code == 200
        response = b.get(f"/jobs/{job_id}")
        assert response.status_code == 404 and _code(response) == "job_not_found"
        assert b.delete(f"/jobs/{job_id}").status_code == 404
        assert a.get(f"/jobs/{job_id}").json()["status"] == "queued"


def test_the_rate_limit_is_per_client_shared_by_replicas_and_spares_health(own_stack: Stack) -> None:
    env = {"VST_RATE_LIMIT_REQUESTS": "5", "VST_RATE_LIMIT_WINDOW_S": "600", "VST_API_KEYS": f"{ALICE},{BOB}"}
    _, first = own_stack.start_api("vst-tests-rate", env=env)
    _, second = own_stack.start_api("vst-tests-rate", env=env)
    alice_a = httpx.Client(base_url=first, headers={"X-API-Key": ALICE}, timeout=30)
    alice_b = httpx.Client(base_url=second, headers={"X-API-Key": ALICE}, timeout=30)
    bob = httpx.Client(base_url=second, headers={"X-API-Key": BOB}, timeout=30)
    with alice_a, alice_b, bob:
        # Five requests spread over two API replicas use up one budget of five.
        for client in (alice_a, alice_b, alice_a, alice_b, alice_a):
            assert client.get("/styles").status_code == 200
        for client in (alice_a, alice_b):
            limited = client.get("/styles")
            assert limited.status_code == 429, limited.text
            assert _code(limited) == "rate_limited"
            assert 1 <= int(limited.headers["retry-after"]) <= 600
        assert alice_a.get("/healthz").status_code == 200, "health probes are never limited"
        assert bob.get("/styles").status_code == 200, "another key has a budget of its own"


def test_the_rate_limit_counts_by_ip_without_a_valid_key(own_stack: Stack) -> None:
    env = {"VST_RATE_LIMIT_REQUESTS": "3", "VST_RATE_LIMIT_WINDOW_S": "600"}
    _, base_url = own_stack.start_api("vst-tests-rate-ip", env=env)
    with httpx.Client(base_url=base_url, timeout=30) as client:
        # Made-up keys do not buy a fresh budget: without keys configured, every request counts by IP.
        statuses = [client.get("/styles", headers={"X-API-Key": f"made-up-{n}"}).status_code for n in range(4)]
        assert statuses == [200, 200, 200, 429]


PREFLIGHT = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-api-key"}


def test_cors_is_off_by_default(own_stack: Stack) -> None:
    _, base_url = own_stack.start_api("vst-tests-cors-off")
    with httpx.Client(base_url=base_url, timeout=30) as client:
        origin = {"Origin": "https://elsewhere.example"}
        preflight = client.options("/stylize", headers={**origin, **PREFLIGHT})
        assert "access-control-allow-origin" not in preflight.headers
        assert preflight.status_code == 405
        assert "access-control-allow-origin" not in client.get("/styles", headers=origin).headers


def test_cors_allows_only_the_configured_origins(own_stack: Stack) -> None:
    allowed = "https://app.example"
    _, base_url = own_stack.start_api("vst-tests-cors-on", env={"VST_CORS_ORIGINS": allowed})
    with httpx.Client(base_url=base_url, timeout=30) as client:
        ok = client.options("/stylize", headers={"Origin": allowed, **PREFLIGHT})
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == allowed
        assert "x-api-key" in ok.headers["access-control-allow-headers"].lower()
        assert client.get("/styles", headers={"Origin": allowed}).headers["access-control-allow-origin"] == allowed
        other = client.options("/stylize", headers={"Origin": "https://elsewhere.example", **PREFLIGHT})
        assert other.status_code == 400
        assert "access-control-allow-origin" not in other.headers
        plain = client.get("/styles", headers={"Origin": "https://elsewhere.example"})
        assert "access-control-allow-origin" not in plain.headers


def test_job_ids_are_random_not_sequential_or_time_ordered(own_stack: Stack) -> None:
    _, base_url = own_stack.start_api("vst-tests-ids")
    with httpx.Client(base_url=base_url, timeout=30) as client:
        ids = [_submit(client).json()["id"] for _ in range(12)]
    parsed = [uuid.UUID(hex=job_id) for job_id in ids]
    assert all(u.version == 4 and u.variant == uuid.RFC_4122 for u in parsed)
    assert len(set(ids)) == len(ids)
    # Ids made one after the other within milliseconds: time-ordered schemes (uuid1, uuid7, ULID) or
    # counters would share a long prefix; 122 random bits share about half of their bits, no prefix.
    for first, second in zip(parsed, parsed[1:], strict=False):
        assert first.hex[:6] != second.hex[:6]
        assert 30 <= bin(first.int ^ second.int).count("1") <= 98
