"""Prometheus metrics of the API: requests, queue depth and job durations.

Each application gets its own registry, so that several apps in one process (tests) never clash.
Queue depth and job durations are read from Redis at scrape time: Redis is the only shared state, so
any API replica reports the same numbers for all workers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import cast

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.protocol import (
    JOB_DURATION_BUCKETS,
    JOB_STATUSES_MEASURED,
    SUPERVISED_PROCESSES,
    job_duration_key,
    restarts_key,
    worker_ready_prefix,
)

logger = logging.getLogger(__name__)


class QueueCollector(Collector):
    """Queue depth, running jobs, ready workers, worker-recorded job durations and ``vst serve``'s restarts,
    read at scrape time."""

    def __init__(self, redis: Redis, queue: Queue) -> None:
        self.redis = redis
        self.queue = queue

    def collect(self) -> Iterator[Metric]:
        try:
            depth = self.queue.count
            started = self.queue.started_job_registry.count
            prefix = worker_ready_prefix(self.queue.name)
            workers = sum(1 for _ in self.redis.scan_iter(match=f"{prefix}*", count=100))
            durations = {
                status: cast(dict[bytes, bytes], self.redis.hgetall(job_duration_key(status)))
                for status in JOB_STATUSES_MEASURED
            }
            restarts = cast(dict[bytes, bytes], self.redis.hgetall(restarts_key(self.queue.name)))
        except RedisError as exc:
            logger.warning("metrics: Redis unreachable: %s", exc)
            return
        yield GaugeMetricFamily("vst_queue_depth", "Jobs waiting in the queue.", value=depth)
        yield GaugeMetricFamily("vst_jobs_running", "Jobs being run by a worker.", value=started)
        yield GaugeMetricFamily("vst_workers_ready", "Workers with a loaded model.", value=workers)
        family = HistogramMetricFamily(
            "vst_job_duration_seconds", "Run time of jobs on the workers, by final status.", labels=["status"]
        )
        for status, fields in durations.items():
            buckets = [(str(bound), float(fields.get(f"le:{bound}".encode(), 0))) for bound in JOB_DURATION_BUCKETS]
            count = float(fields.get(b"count", 0))
            buckets.append(("+Inf", count))
            family.add_metric([status], buckets, sum_value=float(fields.get(b"sum", 0.0)))
        yield family
        restarted = CounterMetricFamily(
            "vst_process_restarts",
            "Processes that `vst serve` restarted after they exited unexpectedly, by kind.",
            labels=["process"],
        )
        for process in SUPERVISED_PROCESSES:
            restarted.add_metric([process], float(restarts.get(process.encode(), 0)))
        yield restarted


class Metrics:
    """The registry and the request metrics of one application."""

    def __init__(self, redis: Redis, queue: Queue) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "vst_http_requests",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "vst_http_request_duration_seconds",
            "Time to answer HTTP requests, by method and route template.",
            ["method", "route"],
            registry=self.registry,
        )
        self.registry.register(QueueCollector(redis, queue))


class MetricsMiddleware:
    """Counts and times every request, labelled by route template (never the raw path: ids are unbounded)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    @staticmethod
    def _route_of(scope: Scope) -> str:
        # The router records the route it matched in the scope; unmatched paths share one label.
        route = scope.get("route")
        return str(getattr(route, "path", "unmatched")) if route is not None else "unmatched"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            route = self._route_of(scope)
            method = scope.get("method", "GET")
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - started)
