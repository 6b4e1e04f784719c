"""``vst serve`` heals itself: a killed worker, API or Redis is restarted, and jobs go on.

One ``vst serve`` (real redis-server, worker and uvicorn processes, the tiny model) is shared by the tests
of this module; each kills one part with SIGKILL and waits, without any other action, until the service
is ready again. Timeouts only guard against hangs.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from redis import Redis

from tests.serve_process import Serve, in_the_model, submit, submit_big
from tests.service_stack import wait_for_job, wait_until


@pytest.fixture(scope="module")
def serve(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    running = Serve(tiny_checkpoint, tmp_path_factory.mktemp("serve"))
    try:
        running.wait_ready()
        yield running
    finally:
        running.close()


def _ready_with(serve: Serve, exclude: str) -> bool:
    status, body = serve.readiness()
    if status != 200:
        return False
    assert exclude not in body["workers"], f"/readyz lists the dead worker: {body}"
    return True


def _worker_name(serve: Serve) -> str:
    status, body = serve.readiness()
    assert status == 200, body
    (name,) = body["workers"]
    return str(name)


def test_a_killed_worker_is_restarted_and_a_job_sent_meanwhile_finishes(serve: Serve) -> None:
    with serve.client() as client:
        before = serve.restarts(client)
        dead = _worker_name(serve)
        pid = serve.pid("worker 1")
        assert dead.endswith(f".{pid}")
        exits = serve.output().count("worker 1 exited")
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: serve.output().count("worker 1 exited") > exits, 30, "the runner to notice the exit")
        # From the moment the runner noticed, /readyz never lists the dead worker: 503 until the new one is ready.
        status, body = serve.readiness()
        assert status == 503 and body["detail"]["code"] == "no_worker", body
        job_id = submit(client)  # accepted during the outage: it waits in the queue
        wait_until(lambda: _ready_with(serve, exclude=dead), 120, "the restarted worker to be ready")
        assert serve.pid("worker 1") != pid
        assert wait_for_job(client, job_id)["status"] == "finished"
        after = serve.restarts(client)
        assert after["worker"] == before["worker"] + 1, (before, after)


def test_a_killed_api_is_restarted(serve: Serve) -> None:
    with serve.client() as client:
        before = serve.restarts(client)
        queued = submit_big(client)
    pid = serve.pid("API")
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: serve.pid("API") != pid and serve.readiness()[0] == 200, 60, "the API to be back")
    with serve.client() as client:
        assert wait_for_job(client, queued, timeout_s=300)["status"] == "finished"
        assert wait_for_job(client, submit(client))["status"] == "finished"
        after = serve.restarts(client)
        assert after["api"] == before["api"] + 1, (before, after)


def test_a_killed_redis_is_restarted_on_its_port_and_a_job_running_meanwhile_finishes(serve: Serve) -> None:
    url = serve.redis_url()
    worker = _worker_name(serve)
    with Redis.from_url(url) as redis:
        # Every write on disk at once, so that kill -9 loses nothing the test looks at (Redis' own
        # default, everysec, may lose the last second: docs/operations.md).
        redis.config_set("appendfsync", "always")
    with serve.client() as client:
        before = serve.restarts(client)
        job_id = submit_big(client)
        wait_until(lambda: in_the_model(client, job_id), 120, "the job to be in the model")
        pid = serve.pid("Redis")
        os.kill(pid, signal.SIGKILL)
        # The worker holds its result until Redis is back, on the same port, then stores it.
        wait_until(lambda: serve.pid("Redis") != pid, 60, "Redis to be restarted")
        assert serve.redis_url() == url
        view_ = wait_for_job(client, job_id, timeout_s=300)
        assert view_["status"] == "finished", view_
        assert view_["attempts"] == 1, "the worker kept the job: no retry"
        assert len(view_["result_urls"]) == 8
        assert client.get(view_["result_urls"][7]).status_code == 200
        assert _worker_name(serve) == worker, "the worker never exited"
        assert "worker 1 exited" not in serve.output().split("Redis restarted")[-1]
        assert wait_for_job(client, submit(client))["status"] == "finished"
        after = serve.restarts(client)
        assert after["redis"] == before["redis"] + 1, (before, after)
    assert "unhandled exception" not in serve.logs()


def test_a_process_that_keeps_failing_stops_the_service_with_a_clear_message(
    tiny_checkpoint: Path, tmp_path: Path
) -> None:
    # An invalid worker setting: the worker exits at once, every time (the API ignores the setting).
    failing = Serve(
        tiny_checkpoint,
        tmp_path,
        env={"VST_HEARTBEAT_INTERVAL_S": "100", "VST_RESTART_LIMIT": "2", "VST_RESTART_DELAY_S": "0.1"},
    )
    try:
        assert failing.runner.wait(timeout=120) == 1, failing.output()
    finally:
        failing.close()
    output = failing.output()
    assert output.count("worker 1 exited with code 2; restarting") == 2, output
    assert "worker 1 exited with code 2, its restart 3 within 60s; giving up" in output, output
    assert "Stopped." in output
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{failing.base_url}/healthz", timeout=5)
