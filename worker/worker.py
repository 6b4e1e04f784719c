"""The RQ worker class: a SimpleWorker (no fork, so CUDA stays usable) with a heartbeat thread.

The heartbeat does two things every ``heartbeat_interval_s``:
- it refreshes this worker's readiness key, which ``GET /readyz`` looks for;
- while a job runs, it refreshes the job's entry in RQ's StartedJobRegistry. That entry expires
  ``job_heartbeat_ttl_s`` after the last beat, so when the process dies (kill -9, OOM, power loss), RQ's
  registry cleanup finds the job abandoned soon after and retries it, or fails it with
  ``AbandonedJobError`` when no retries are left. A SimpleWorker cannot beat from its main loop while a
  job runs in that same thread, hence the thread.
"""

from __future__ import annotations

import logging
import threading
from types import FrameType
from typing import Any

from redis import Redis
from rq import Queue, SimpleWorker
from rq.job import Job

from app.protocol import WorkerInfo, job_ended_channel, worker_ready_key

logger = logging.getLogger(__name__)


class Heartbeat(threading.Thread):
    def __init__(self, worker: StyleWorker, redis: Redis, info: WorkerInfo, interval_s: float, ttl_s: int) -> None:
        super().__init__(name="vst-heartbeat", daemon=True)
        self.worker = worker
        self.redis = redis
        self.info = info
        self.interval_s = interval_s
        self.ttl_s = ttl_s
        self._stopped = threading.Event()

    def beat(self) -> None:
        self.redis.set(worker_ready_key(self.info.queue, self.info.name), self.info.to_json(), ex=self.ttl_s)
        job = self.worker.running_job
        if job is not None:
            self.worker.maintain_heartbeats(job)

    def run(self) -> None:
        while not self._stopped.wait(self.interval_s):
            try:
                self.beat()
            except Exception as exc:  # noqa: BLE001 - a missed beat must not kill the thread
                logger.warning("heartbeat failed: %s", exc)

    def stop(self) -> None:
        """Stop beating and withdraw readiness at once (the API then reports the worker gone)."""
        self._stopped.set()
        try:
            self.redis.delete(worker_ready_key(self.info.queue, self.info.name))
        except Exception as exc:  # noqa: BLE001 - shutting down anyway
            logger.warning("could not withdraw readiness: %s", exc)


class StyleWorker(SimpleWorker):
    """Runs jobs in its own process and thread; the model stays loaded between jobs."""

    def __init__(self, *args: Any, job_heartbeat_ttl_s: int = 60, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.job_heartbeat_ttl_s = job_heartbeat_ttl_s
        self.running_job: Job | None = None
        self.readiness: Heartbeat | None = None

    def get_heartbeat_ttl(self, job: Job) -> int:
        # RQ's SimpleWorker would wait the whole job timeout (+60 s) before calling a job abandoned; the
        # heartbeat thread keeps a shorter lease alive instead.
        return self.job_heartbeat_ttl_s

    def execute_job(self, job: Job, queue: Queue) -> None:
        self.running_job = job
        try:
            super().execute_job(job, queue)
        finally:
            self.running_job = None
            self.announce_end(job)

    def announce_end(self, job: Job) -> None:
        """Wake the API's requests waiting on this job (``GET /jobs/{id}?wait=``). RQ has stored the job's final
        state by now, so what they read next is the end; a retried job reads as queued and they wait on."""
        try:
            self.connection.publish(job_ended_channel(job.id), b"1")
        except Exception as exc:  # noqa: BLE001 - the waiters re-read the job every second anyway
            logger.warning("could not announce the end of job %s: %s", job.id, exc)

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        """SIGTERM/SIGINT: warm shutdown. The current job finishes; no new job is taken."""
        logger.info("warm shutdown requested%s", " after the current job" if self.running_job else "")
        if self.readiness is not None:
            self.readiness.stop()
        super().request_stop(signum, frame)
