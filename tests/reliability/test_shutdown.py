"""Stopping ``vst serve`` in order: a signal to its whole process group (Ctrl-C, ``kill -- -PGID``) while a job runs.

The API stops first, then the workers finish their job (or, past ``VST_STOP_GRACE_S``, put it back in the
queue without using a retry), then Redis writes its append-only file and stops. With ``VST_JOB_RETRIES=0``
a job that lost its run to the stop would fail for good, so a finished job shows that no retry was used.
"""

from __future__ import annotations

from pathlib import Path

from redis import Redis

from app.protocol import worker_ready_key
from app.redis_server import LocalRedis
from tests.serve_process import Serve, in_the_model, submit_big, view
from tests.service_stack import wait_for_job, wait_until

NO_RETRY = {"VST_JOB_RETRIES": "0"}


def _started_in_the_model(tiny_checkpoint: Path, run_dir: Path, env: dict[str, str]) -> tuple[Serve, str]:
    serve = Serve(tiny_checkpoint, run_dir, env={**NO_RETRY, **env})
    serve.wait_ready()
    with serve.client() as client:
        job_id = submit_big(client)
        wait_until(lambda: in_the_model(client, job_id), 120, "the job to be in the model")
    return serve, job_id


def test_a_stop_while_a_job_runs_lets_it_finish_and_keeps_the_redis_port(tiny_checkpoint: Path, tmp_path: Path) -> None:
    first, job_id = _started_in_the_model(tiny_checkpoint, tmp_path, {})
    try:
        url = first.redis_url()
        assert first.stop_group() == 0, first.output()
    finally:
        first.close()
    logs = first.logs()
    assert "Traceback" not in logs, logs
    assert "goes back to the queue" not in logs
    # A readiness key left in the append-only file by a worker that never withdrew it (killed with its runner).
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    with LocalRedis(tmp_path / "redis", port=port, persist=True) as offline, Redis.from_url(offline) as redis:
        redis.set(worker_ready_key("vst", "ghost.1"), b"{}")
    again = Serve(tiny_checkpoint, tmp_path, env=NO_RETRY)
    try:
        again.wait_ready()
        assert again.redis_url() == url, "the local Redis keeps its port across restarts"
        status, body = again.readiness()
        assert status == 200 and body["workers"] and "ghost.1" not in body["workers"], body
        with again.client() as client:
            finished = view(client, job_id)
            assert finished["status"] == "finished", finished
            assert finished["attempts"] == 1 and finished["requeued_at"] is None
            assert client.get(finished["result_urls"][7]).status_code == 200
    finally:
        again.close()


def test_a_job_still_running_after_the_grace_goes_back_to_the_queue_and_finishes_after_the_next_start(
    tiny_checkpoint: Path, tmp_path: Path
) -> None:
    # A grace far shorter than the job: the worker is asked a second time and requeues the job.
    first, job_id = _started_in_the_model(tiny_checkpoint, tmp_path, {"VST_STOP_GRACE_S": "0.2"})
    try:
        with first.client() as client:
            created_at = view(client, job_id)["created_at"]
        assert first.stop_group() == 0, first.output()
    finally:
        first.close()
    logs = first.logs()
    assert "worker 1 still busy after 0.2s; its job goes back to the queue" in logs, logs
    assert f"cold stop: job {job_id} goes back to the queue" in logs, logs
    assert "Traceback" not in logs, logs
    again = Serve(tiny_checkpoint, tmp_path, env=NO_RETRY)
    try:
        again.wait_ready()
        with again.client() as client:
            finished = wait_for_job(client, job_id, timeout_s=300)
            assert finished["status"] == "finished", finished
            assert finished["attempts"] == 2
            assert finished["created_at"] == created_at
            assert finished["requeued_at"] is not None and finished["requeued_at"] > created_at
            assert finished["timings"]["queued_seconds"] > 0
            assert client.get(finished["result_urls"][7]).status_code == 200
    finally:
        again.close()
