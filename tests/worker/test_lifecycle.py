"""Worker processes coming and going: readiness, warm shutdown, and jobs whose worker was killed.

Each test has a queue of its own, its own worker process(es) and its own API process, all on the
session's real Redis. Long jobs are RQ jobs of ``time.sleep``: a real job on the real worker whose
duration does not depend on the machine's speed.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid

import httpx
from rq import Queue, Retry
from rq.serializers import JSONSerializer

from tests.app.sample_images import png
from tests.service_stack import Stack, clean_env, wait_for_job, wait_until


def _status(client: httpx.Client, job_id: str) -> str:
    return str(client.get(f"/jobs/{job_id}").json()["status"])


def _sleep_job(stack: Stack, queue_name: str, seconds: float, retries: int) -> str:
    with stack.redis() as redis:
        queue = Queue(queue_name, connection=redis, serializer=JSONSerializer)
        job = queue.enqueue_call(
            "time.sleep",
            args=[seconds],
            job_id=uuid.uuid4().hex,  # the API's own id format
            timeout=60,
            retry=Retry(max=retries) if retries else None,
        )
        return str(job.id)


def test_readyz_goes_not_ready_without_a_worker_and_the_queued_job_runs_when_one_is_back(own_stack: Stack) -> None:
    queue = "vst-tests-readyz"
    worker = own_stack.start_worker(queue)
    _, base_url = own_stack.start_api(queue)
    with httpx.Client(base_url=base_url, timeout=30) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert len(ready.json()["workers"]) == 1

        worker.stop()
        assert worker.process.returncode == 0
        not_ready = client.get("/readyz")
        assert not_ready.status_code == 503
        assert not_ready.json()["detail"]["code"] == "no_worker"

        response = client.post(
            "/stylize",
            files={"content": ("p.png", png(32, 32), "image/png")},
            data={"style_id": "hokusai_great_wave", "max_side": "32"},
        )
        assert response.status_code == 202, response.text
        job_id = response.json()["id"]
        assert _status(client, job_id) == "queued"
        waiting = client.get("/readyz").json()["detail"]["message"]
        assert "1 job(s) wait" in waiting

        own_stack.start_worker(queue)
        assert client.get("/readyz").status_code == 200
        view = wait_for_job(client, job_id)
        assert view["status"] == "finished", view


def test_sigterm_is_a_warm_shutdown_that_finishes_the_current_job(own_stack: Stack) -> None:
    queue = "vst-tests-sigterm"
    worker = own_stack.start_worker(queue)
    _, base_url = own_stack.start_api(queue)
    with httpx.Client(base_url=base_url, timeout=30) as client:
        job_id = _sleep_job(own_stack, queue, seconds=5, retries=0)
        wait_until(lambda: _status(client, job_id) == "started", 60, "the job to start")
        worker.signal(signal.SIGTERM)
        # Readiness is withdrawn at once: this worker takes no new job.
        wait_until(lambda: client.get("/readyz").status_code == 503, 30, "readiness to be withdrawn")
        assert worker.wait(60) == 0
        assert _status(client, job_id) == "finished"


def test_a_job_whose_worker_was_killed_is_retried_by_the_next_worker(own_stack: Stack) -> None:
    queue = "vst-tests-kill-retry"
    worker = own_stack.start_worker(queue)
    _, base_url = own_stack.start_api(queue)
    with httpx.Client(base_url=base_url, timeout=30) as client:
        job_id = _sleep_job(own_stack, queue, seconds=5, retries=1)
        wait_until(lambda: _status(client, job_id) == "started", 60, "the job to start")
        worker.process.kill()
        worker.wait()
        # Once the job's lease (VST_JOB_HEARTBEAT_TTL_S) runs out, it goes back to the queue.
        wait_until(lambda: _status(client, job_id) == "queued", 60, "the abandoned job to be requeued")
        own_stack.start_worker(queue)
        view = wait_for_job(client, job_id)
        assert view["status"] == "finished", view


def test_a_job_whose_worker_was_killed_fails_with_a_reason_when_no_retry_is_left(own_stack: Stack) -> None:
    queue = "vst-tests-kill-fail"
    worker = own_stack.start_worker(queue)
    _, base_url = own_stack.start_api(queue)
    with httpx.Client(base_url=base_url, timeout=30) as client:
        job_id = _sleep_job(own_stack, queue, seconds=30, retries=0)
        wait_until(lambda: _status(client, job_id) == "started", 60, "the job to start")
        worker.process.kill()
        worker.wait()
        view = wait_for_job(client, job_id)
        assert view["status"] == "failed", view
        assert view["error"]["code"] == "worker_died", view


def test_cancel_a_running_job(own_stack: Stack) -> None:
    queue = "vst-tests-cancel-running"
    own_stack.start_worker(queue)
    limits = {
        "VST_MAX_SIDE_LIMIT": "1024",
        "VST_MAX_IMAGE_PIXELS": "2000000",
        "VST_MAX_UPLOAD_BYTES": "8000000",
        "VST_MAX_REQUEST_BYTES": "9000000",
    }
    _, base_url = own_stack.start_api(queue, env=limits)
    with httpx.Client(base_url=base_url, timeout=30) as client:
        # Eight samples at 1024 px keep even the tiny model busy for a while, one sample per step.
        response = client.post(
            "/stylize",
            files={"content": ("p.png", png(1024, 768), "image/png")},
            data={"style_id": "hokusai_great_wave", "max_side": "1024", "samples": "8", "variation": "1"},
        )
        assert response.status_code == 202, response.text
        job_id = response.json()["id"]
        wait_until(lambda: _status(client, job_id) == "started", 60, "the job to start")
        canceled = client.delete(f"/jobs/{job_id}")
        assert canceled.status_code == 200, canceled.text
        assert canceled.json()["cancel_requested"] is True
        view = wait_for_job(client, job_id)
        assert view["status"] == "canceled", view
        assert view["error"]["code"] == "canceled"
        assert view["result_urls"] == []


def test_the_worker_refuses_bad_settings_with_a_clear_message(redis_url: str) -> None:
    env = clean_env({"REDIS_URL": redis_url, "VST_DEVICE": "tpu", "VST_CHECKPOINT": "/no/such/file.safetensors"})
    result = subprocess.run(
        [sys.executable, "-m", "worker"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 2
    assert "VST_DEVICE" in result.stderr and "VST_CHECKPOINT" in result.stderr
