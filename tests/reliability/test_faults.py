"""Faults on the real service: kill -9 a worker mid-job, restart Redis (AOF) and the API, overfill the queue.

Every part is a real process on loopback (redis-server, ``python -m worker`` with the tiny model, the API
under uvicorn). Timeouts only guard against hangs; nothing here asserts a speed. The worker's job lease is
2 s (``tests/service_stack.WORKER_TEST_ENV``), so an abandoned job is noticed quickly. What a worker
killed *without* a retry left does (failed with ``worker_died``, never stuck "started") is tested with
sleep jobs in tests/worker/test_lifecycle.py; here the jobs are real stylize jobs through the API.
"""

from __future__ import annotations

import io
import signal
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from app.redis_server import LocalRedis
from tests.app.sample_images import png
from tests.conftest import SERVICE_QUEUE
from tests.serve_process import BIG_JOB_LIMITS, STYLE, in_the_model, submit, submit_big, view
from tests.service_stack import Stack, wait_for_job, wait_until


def _results_are_whole(client: httpx.Client, ended: dict[str, Any], size: tuple[int, int]) -> None:
    assert ended["status"] == "finished", ended
    for url in ended["result_urls"]:
        response = client.get(url)
        assert response.status_code == 200, response.text
        assert Image.open(io.BytesIO(response.content)).size == size


@pytest.mark.slow
def test_a_real_job_whose_worker_is_killed_mid_run_is_retried_and_finished_by_a_new_worker(
    own_stack: Stack,
) -> None:
    queue = "vst-tests-fault-kill"
    worker = own_stack.start_worker(queue)
    _, base_url = own_stack.start_api(queue, env=BIG_JOB_LIMITS)  # VST_JOB_RETRIES defaults to 1
    with httpx.Client(base_url=base_url, timeout=30) as client:
        job_id = submit_big(client)
        wait_until(lambda: in_the_model(client, job_id), 120, "the job to be in the model")
        worker.signal(signal.SIGKILL)
        assert worker.wait() == -signal.SIGKILL
        # The lease runs out, the job goes back to the queue (its inputs are still in Redis: the worker
        # deletes them only once the results are stored), and it waits there for a worker.
        wait_until(lambda: view(client, job_id)["status"] == "queued", 60, "the job to be requeued")
        assert view(client, job_id)["progress"] == 0.0
        own_stack.start_worker(queue)
        ended = wait_for_job(client, job_id, timeout_s=300)
        assert ended["attempts"] == 2 and ended["requeued_at"] > ended["created_at"], ended
        assert len(ended["result_urls"]) == 8
        _results_are_whole(client, ended, (1024, 768))


@pytest.fixture
def aof_redis(tmp_path: Path) -> Iterator[LocalRedis]:
    """A redis-server of its own, with the append-only file on, in a folder of the test's."""
    server = LocalRedis(tmp_path / "redis-aof", persist=True)
    server.start()
    yield server
    server.stop()


@pytest.mark.slow
def test_jobs_accepted_before_a_redis_restart_are_still_there_after_it(
    aof_redis: LocalRedis, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    queue = "vst-tests-fault-aof"
    stack = Stack(redis_url=aof_redis.url, checkpoint=tiny_checkpoint, log_dir=tmp_path / "logs")
    try:
        # The API process stays up while Redis goes away and comes back (twice), and so does the worker.
        _, base_url = stack.start_api(queue)
        with httpx.Client(base_url=base_url, timeout=60) as client:
            accepted = [submit(client) for _ in range(3)]  # no worker yet: they wait in the queue
            assert (aof_redis.folder / "appendonlydir").is_dir()

            aof_redis.stop()
            down = client.get(f"/jobs/{accepted[0]}")
            assert down.status_code == 503 and down.json()["detail"]["code"] == "redis_unavailable"
            assert client.get("/healthz").status_code == 200
            aof_redis.start()  # same port, same folder: the append-only file is replayed

            assert [view(client, job_id)["status"] for job_id in accepted] == ["queued"] * 3
            assert view(client, accepted[0])["queue_position"] == 0
            stack.start_worker(queue)
            for job_id in accepted:
                _results_are_whole(client, wait_for_job(client, job_id), (32, 24))

            # A worker idle through a restart reconnects by itself and takes the next job.
            aof_redis.stop()
            aof_redis.start()
            _results_are_whole(client, wait_for_job(client, submit(client)), (32, 24))
    finally:
        stack.stop_all()


@pytest.mark.slow
def test_restarting_the_api_leaves_running_and_queued_jobs_alone(api_url: str, service_stack: Stack) -> None:
    # The session's worker (started by ``api_url``) runs the jobs; two API processes come and go.
    api, first_url = service_stack.start_api(SERVICE_QUEUE, env=BIG_JOB_LIMITS)
    with httpx.Client(base_url=first_url, timeout=30) as first:
        running = submit_big(first)
        queued = submit(first)
        wait_until(lambda: in_the_model(first, running), 120, "the job to be in the model")
        api.signal(signal.SIGKILL)
        assert api.wait() == -signal.SIGKILL
    _, second_url = service_stack.start_api(SERVICE_QUEUE, env=BIG_JOB_LIMITS)
    with httpx.Client(base_url=second_url, timeout=30) as second:
        assert view(second, running)["status"] in ("started", "finished")
        _results_are_whole(second, wait_for_job(second, running, timeout_s=300), (1024, 768))
        _results_are_whole(second, wait_for_job(second, queued), (32, 24))


def test_a_burst_past_the_queue_limit_gets_429_and_loses_nothing_accepted(own_stack: Stack) -> None:
    queue = "vst-tests-fault-burst"
    _, base_url = own_stack.start_api(queue, env={"VST_MAX_QUEUE_LENGTH": "4", "VST_RETRY_AFTER_S": "3"})

    def submit(_: int) -> httpx.Response:
        with httpx.Client(base_url=base_url, timeout=60) as client:
            return client.post(
                "/stylize", files={"content": ("p.png", png(32, 24))}, data={"style_id": STYLE, "max_side": "32"}
            )

    # Twelve at once: without one admission step for count and enqueue, several would see room for
    # the last place and the queue would end up over its limit.
    with ThreadPoolExecutor(max_workers=12) as pool:
        responses = list(pool.map(submit, range(12)))
    accepted = [r.json()["id"] for r in responses if r.status_code == 202]
    refused = [r for r in responses if r.status_code != 202]
    assert len(accepted) == 4, [r.status_code for r in responses]
    for response in refused:
        assert response.status_code == 429, response.text
        assert response.json()["detail"]["code"] == "queue_full"
        assert response.headers["retry-after"] == "3"
    with own_stack.redis() as redis:
        assert redis.llen(f"rq:queue:{queue}") == 4

    own_stack.start_worker(queue)
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for job_id in accepted:
            _results_are_whole(client, wait_for_job(client, job_id), (32, 24))
        assert submit(0).status_code == 202, "once the queue drains, jobs are accepted again"
