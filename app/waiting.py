"""``GET /jobs/{id}?wait=S``: answer when the job ends instead of at once, so that a client need not poll.

The worker publishes on :func:`app.protocol.job_ended_channel` once RQ has stored the job's final state, and
the API publishes when it cancels a queued job. A waiting request subscribes first and only then reads the
job, so an end between the two is not missed. It also reads the job again every :data:`RECHECK_S` without a
message: a worker killed mid-job publishes nothing, and reading the job is what lets RQ's registry cleanup
retry or fail it (:meth:`app.jobs.JobStore.view`).

The wait runs on the event loop (redis.asyncio), not in a thread: tens of waiting clients would otherwise
hold the thread pool that the other routes' Redis calls need.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from redis.asyncio import Redis as AsyncRedis
from starlette.concurrency import run_in_threadpool

from app.protocol import job_ended_channel
from app.schemas import ENDED_STATUSES, JobView

# The longest wait a request may ask for: below common proxy read timeouts (60 s).
MAX_WAIT_S = 30.0
RECHECK_S = 1.0


class JobWaiter:
    def __init__(self, redis: AsyncRedis) -> None:
        self.redis = redis

    async def view_when_ended(self, job_id: str, wait_s: float, view: Callable[[], JobView]) -> JobView:
        """``view()`` as soon as the job has ended, or after ``wait_s`` seconds, whichever comes first."""
        if wait_s <= 0:
            return await run_in_threadpool(view)
        deadline = time.monotonic() + wait_s
        async with self.redis.pubsub(ignore_subscribe_messages=True) as pubsub:
            await pubsub.subscribe(job_ended_channel(job_id))
            # Read only once subscribed: an end from here on is heard. An unknown job is a 404 here, at once.
            current = await run_in_threadpool(view)
            while current.status not in ENDED_STATUSES and (left := deadline - time.monotonic()) > 0:
                await pubsub.get_message(timeout=min(left, RECHECK_S))
                current = await run_in_threadpool(view)
        return current

    async def close(self) -> None:
        await self.redis.aclose()
