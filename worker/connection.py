"""The worker's Redis connection: every command is retried with backoff while Redis is away, up to a deadline.

A worker that loses Redis in the middle of a job still holds the job's result in memory; giving up at the
first refused connection would throw that work away and, through RQ's "unhandled exception" path, end the
process. So each command (the job's own reads and writes, RQ's bookkeeping, the heartbeat) is retried
until Redis answers again or until the job's lease has passed: by then RQ's registry clean-up counts the
job as abandoned and hands it to another worker, and holding on to it would only race that retry.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from redis import Redis
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

logger = logging.getLogger(__name__)

T = TypeVar("T")


class DeadlineRetry(Retry):
    """redis-py's :class:`Retry`, bounded by time instead of by a number of attempts.

    redis-py nests retries (a command's retry reconnects through the connection's own retry); both levels
    share one deadline, so that a call never waits longer than ``budget_s`` in all.
    """

    def __init__(self, budget_s: float, base_s: float = 0.05, cap_s: float = 2.0) -> None:
        # OSError too: redis-py opens a new connection outside the command's retry and retries only the
        # socket connect itself, which fails with the OS's "connection refused" while Redis is down.
        super().__init__(
            ExponentialBackoff(cap=cap_s, base=base_s),
            retries=-1,
            supported_errors=(RedisConnectionError, RedisTimeoutError, OSError),
        )
        self.budget_s = budget_s
        self._depth = 0
        self._deadline: float | None = None

    def call_with_retry(self, do: Callable[[], T], fail: Callable[[Exception], Any]) -> T:
        self._depth += 1
        failures = 0
        try:
            while True:
                try:
                    result = do()
                    if failures and self._depth == 1:
                        logger.warning("Redis answers again after %d failed attempt(s)", failures)
                    return result
                except self._supported_errors as error:
                    failures += 1
                    fail(error)
                    now = time.monotonic()
                    if self._deadline is None:
                        self._deadline = now + self.budget_s
                        logger.warning("Redis unreachable (%s); retrying for up to %.0f s", error, self.budget_s)
                    if now >= self._deadline:
                        raise
                    time.sleep(min(self._backoff.compute(failures), self._deadline - now))
        finally:
            self._depth -= 1
            if self._depth == 0:
                self._deadline = None


def connect(redis_url: str, budget_s: float) -> Redis:
    """A client whose commands survive a Redis restart or blink shorter than ``budget_s``."""
    return Redis.from_url(
        redis_url, socket_connect_timeout=5, health_check_interval=30, retry=DeadlineRetry(budget_s=budget_s)
    )


def wait_for_redis(redis: Redis, stop: Callable[[], bool], cap_s: float = 10.0) -> None:
    """Block until Redis answers a PING again (or ``stop()`` says to give up), with doubling pauses."""
    pause = 0.5
    while not stop():
        try:
            redis.ping()
            return
        except Exception as exc:  # noqa: BLE001 - any failure means "not yet"
            logger.warning("waiting for Redis: %s; next try in %.1f s", exc, pause)
            time.sleep(pause)
            pause = min(cap_s, pause * 2)
