"""A stalled Redis (SIGSTOP: the port still accepts connections, nothing answers) while a job runs.

Every Redis call of the API has a read timeout (10 s, docs/operations.md), so requests answer 503 while
Redis is stalled instead of hanging until it resumes; the worker waits for Redis and finishes its job.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from app.redis_server import LocalRedis
from tests.serve_process import BIG_JOB_LIMITS, in_the_model, submit_big
from tests.service_stack import Stack, wait_for_job, wait_until

# The documented 10 s read timeout, and 1 s for the request itself.
ANSWER_WITHIN_S = 11


@pytest.fixture
def stalling_redis(tmp_path: Path) -> Iterator[LocalRedis]:
    server = LocalRedis(tmp_path / "redis")
    server.start()
    yield server
    assert server.process is not None
    server.process.send_signal(signal.SIGCONT)  # a stopped process would ignore the TERM of stop()
    server.stop()


def test_requests_answer_503_while_redis_is_stalled_and_the_job_finishes_after(
    stalling_redis: LocalRedis, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    queue = "vst-tests-stall"
    stack = Stack(redis_url=stalling_redis.url, checkpoint=tiny_checkpoint, log_dir=tmp_path / "logs")
    try:
        # A lease longer than the stall: the job stays this worker's.
        worker = stack.start_worker(queue, env={"VST_JOB_HEARTBEAT_TTL_S": "60"})
        _, base_url = stack.start_api(queue, env=BIG_JOB_LIMITS)
        with httpx.Client(base_url=base_url, timeout=30) as client:
            job_id = submit_big(client)
            wait_until(lambda: in_the_model(client, job_id), 120, "the job to be in the model")
            assert stalling_redis.process is not None
            stalling_redis.process.send_signal(signal.SIGSTOP)
            try:
                # httpx gives up after ANSWER_WITHIN_S: a request that waited for Redis to resume fails here.
                with (
                    httpx.Client(base_url=base_url, timeout=ANSWER_WITHIN_S) as impatient,
                    ThreadPoolExecutor(max_workers=2) as pool,
                ):
                    waiting = pool.submit(impatient.get, f"/jobs/{job_id}", params={"wait": 3})
                    ready = pool.submit(impatient.get, "/readyz")
                    answers = [waiting.result(), ready.result()]
            finally:
                stalling_redis.process.send_signal(signal.SIGCONT)
            for answer in answers:
                assert answer.status_code == 503, answer.text
                assert answer.json()["detail"]["code"] == "redis_unavailable"
            assert wait_for_job(client, job_id, timeout_s=300)["status"] == "finished"
        assert worker.alive()
        assert "unhandled exception" not in worker.log()
    finally:
        stack.stop_all()
