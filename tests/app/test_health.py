"""Liveness, readiness, Prometheus metrics and the OpenAPI document of the running API."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.app.sample_images import png
from tests.service_stack import Stack, wait_for_job


def test_healthz(client: httpx.Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_lists_the_worker_with_its_model_loaded(client: httpx.Client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert len(body["workers"]) >= 1


def test_readyz_says_when_redis_is_unreachable(own_stack: Stack) -> None:
    own_stack.redis_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    _, base_url = own_stack.start_api("vst-tests-no-redis")
    with httpx.Client(base_url=base_url, timeout=30) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["detail"]["code"] == "redis_unavailable"
        job = client.post("/stylize", files={"content": ("p.png", png())}, data={"style_id": "hokusai_great_wave"})
        assert job.status_code == 503
        assert job.json()["detail"]["code"] == "redis_unavailable"
        assert client.get("/healthz").status_code == 200


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    values = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def test_metrics_count_requests_queue_depth_and_job_durations(client: httpx.Client) -> None:
    job = client.post(
        "/stylize", files={"content": ("p.png", png(16, 16))}, data={"style_id": "hokusai_great_wave"}
    ).json()
    assert wait_for_job(client, job["id"])["status"] == "finished"
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    values = _samples(response.text)
    posted = (("method", "POST"), ("route", "/stylize"), ("status", "202"))
    assert values[("vst_http_requests_total", posted)] >= 1
    assert values[("vst_http_request_duration_seconds_count", (("method", "GET"), ("route", "/jobs/{job_id}")))] >= 1
    assert ("vst_queue_depth", ()) in values
    assert values[("vst_workers_ready", ())] >= 1
    assert values[("vst_job_duration_seconds_count", (("status", "finished"),))] >= 1
    assert values[("vst_job_duration_seconds_sum", (("status", "finished"),))] > 0


def test_openapi_documents_every_route_with_examples(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    expected = {
        "/stylize": {"post"},
        "/interpolate": {"post"},
        "/jobs/{job_id}": {"get", "delete"},
        "/jobs/{job_id}/result": {"get"},
        "/styles": {"get", "post"},
        "/styles/{style_id}": {"get", "delete"},
        "/healthz": {"get"},
        "/readyz": {"get"},
        "/metrics": {"get"},
        "/limits": {"get"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path
    assert "examples" in spec["components"]["schemas"]["JobView"]
    assert "examples" in spec["components"]["schemas"]["StyleView"]
    stylize_errors = paths["/stylize"]["post"]["responses"]
    for status in ("413", "415", "422", "429"):
        assert stylize_errors[status]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    assert client.get("/docs").status_code == 200


def test_the_gallery_lists_the_bundled_paintings_with_titles_from_the_manifest(client: httpx.Client) -> None:
    styles = {s["id"]: s for s in client.get("/styles").json()["styles"]}
    wave = styles["hokusai_great_wave"]
    assert wave["source"] == "gallery"
    assert wave["title"].startswith("The Great Wave") and "Hokusai" in wave["artist"]
    image = client.get(wave["image_url"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert client.get("/styles/hokusai_great_wave").json() == wave
