"""``python -m worker``: load the model once, announce readiness, then run jobs until SIGTERM."""

from __future__ import annotations

import logging
import os
import socket
import sys
import time

from redis.exceptions import RedisError
from rq import Queue
from rq.serializers import JSONSerializer

from app.protocol import WorkerInfo, default_worker_name, worker_ready_key
from app.settings import SettingsError
from worker.connection import connect
from worker.settings import WorkerSettings, load_settings
from worker.worker import Heartbeat, StyleWorker

logger = logging.getLogger("worker")


def run(settings: WorkerSettings) -> int:
    # torch is imported only once the settings are known to be valid: a typo fails in a blink.
    from worker import runtime as worker_runtime

    # A command waits for Redis as long as a job's lease lasts: a blink of Redis costs no job.
    redis = connect(settings.redis_url, budget_s=settings.job_heartbeat_ttl_s)
    name = settings.worker_name or default_worker_name(socket.gethostname(), os.getpid())
    try:
        # A key of this name left by an earlier process (a fixed VST_WORKER_NAME, a restarted container) would
        # say "ready" before this process has loaded its model.
        redis.delete(worker_ready_key(settings.queue_name, name))
    except RedisError as exc:
        logger.error("cannot reach Redis at %s: %s", settings.redis_url, exc)
        return 1
    runtime = worker_runtime.load_runtime(settings, redis)
    worker_runtime.install(runtime)
    queue = Queue(settings.queue_name, connection=redis, serializer=JSONSerializer)
    worker = StyleWorker(
        [queue],
        connection=redis,
        name=name,
        serializer=JSONSerializer,
        maintenance_interval=settings.maintenance_interval_s,
        job_heartbeat_ttl_s=settings.job_heartbeat_ttl_s,
    )
    info = WorkerInfo(
        name=name,
        queue=settings.queue_name,
        hostname=socket.gethostname(),
        pid=os.getpid(),
        device=runtime.device,
        checkpoint=str(runtime.checkpoint),
        model_sha256=runtime.model_sha256,
        started_at=time.time(),
    )
    heartbeat = Heartbeat(
        worker, redis, info, settings.heartbeat_interval_s, ttl_s=max(2, round(3 * settings.heartbeat_interval_s))
    )
    worker.readiness = heartbeat
    heartbeat.beat()
    heartbeat.start()
    logger.info("worker %s ready on queue %r (device %s)", name, settings.queue_name, runtime.device)
    try:
        # No scheduler: RQ would fork a process for it, and retries are enqueued at once without one.
        worker.work(with_scheduler=False, logging_level=settings.log_level)
    finally:
        heartbeat.stop()
    return 0


def main() -> int:
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"worker: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return run(settings)
    except Exception as exc:
        logger.exception("worker stopped: %s", exc)
        return 1


if __name__ == "__main__":
    sys.exit(main())
