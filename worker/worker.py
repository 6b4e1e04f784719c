"""The RQ worker class: a SimpleWorker (no fork, so CUDA stays usable) with a heartbeat thread.

The heartbeat does two things every ``heartbeat_interval_s``:
- it refreshes this worker's readiness key, which ``GET /readyz`` looks for;
- while a job runs, it refreshes the job's entry in RQ's StartedJobRegistry. That entry expires
  ``job_heartbeat_ttl_s`` after the last beat, so when the process dies (kill -9, OOM, power loss), RQ's
  registry cleanup finds the job abandoned soon after and retries it, or fails it with
  ``AbandonedJobError`` when no retries are left. A SimpleWorker cannot beat from its main loop while a
  job runs in that same thread, hence the thread.

Faults it survives (docs/operations.md): Redis going away mid-job (every command waits for it, see
:mod:`worker.connection`; past the job's lease the job is left to RQ's clean-up and the worker waits for
Redis instead of exiting), and a second SIGTERM while a job runs (the job goes back to the queue without
using one of its retries, so that a stop of the service never costs a job its retry).
"""

from __future__ import annotations

import logging
import threading
from types import FrameType
from typing import Any

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Queue, SimpleWorker
from rq.job import Job

from app.protocol import WorkerInfo, job_ended_channel, worker_ready_key
from worker.connection import wait_for_redis

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


class StopRequeue(BaseException):  # noqa: N818 - a signal, not an error
    """Raised in the running job by a cold stop: the job goes back to the queue with its retries intact.

    A BaseException, so that the task's own ``except Exception`` handlers let it through to RQ.
    """


class StyleWorker(SimpleWorker):
    """Runs jobs in its own process and thread; the model stays loaded between jobs."""

    def __init__(self, *args: Any, job_heartbeat_ttl_s: int = 60, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.job_heartbeat_ttl_s = job_heartbeat_ttl_s
        self.running_job: Job | None = None
        self.readiness: Heartbeat | None = None
        self._requeue_job_id: str | None = None

    def get_heartbeat_ttl(self, job: Job) -> int:
        # RQ's SimpleWorker would wait the whole job timeout (+60 s) before calling a job abandoned; the
        # heartbeat thread keeps a shorter lease alive instead.
        return self.job_heartbeat_ttl_s

    def execute_job(self, job: Job, queue: Queue) -> None:
        self.running_job = job
        try:
            # Counted before the job runs, so that a worker killed mid-job still leaves the attempt on record.
            job.meta["attempts"] = int(job.meta.get("attempts", 0)) + 1
            job.save_meta()
            super().execute_job(job, queue)
        except (RedisConnectionError, RedisTimeoutError) as exc:
            # Redis stayed away longer than the job's lease: RQ's clean-up retries the job elsewhere. This
            # worker keeps its model and waits for Redis, rather than ending the process.
            logger.error("job %s given up: Redis unreachable for longer than the job's lease (%s)", job.id, exc)
            wait_for_redis(self.connection, stop=lambda: self._stop_requested)
        finally:
            self.running_job = None
            self.announce_end(job)

    def request_force_stop(self, signum: int, frame: FrameType | None) -> None:
        """A second SIGTERM/SIGINT while a job runs: stop it and put it back in the queue, retries intact."""
        job = self.running_job
        if job is None:
            super().request_force_stop(signum, frame)
            return
        logger.warning("cold stop: job %s goes back to the queue", job.id)
        self._requeue_job_id = job.id
        raise StopRequeue()

    def handle_exception(self, job: Job, *exc_info: Any) -> None:
        if job.id == self._requeue_job_id:
            return  # not a failure: no traceback in the log
        super().handle_exception(job, *exc_info)

    def handle_job_failure(
        self, job: Job, queue: Queue, started_job_registry: Any = None, exc_string: str = ""
    ) -> None:
        if job.id == self._requeue_job_id:
            # RQ's retry path requeues the job and takes one retry; the one added here pays for it.
            job.retries_left = (job.retries_left or 0) + 1
            job.meta.pop("error", None)
            job.save_meta()
        super().handle_job_failure(job, queue, started_job_registry=started_job_registry, exc_string=exc_string)

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
