"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from redis.exceptions import RedisError
from starlette.concurrency import run_in_threadpool

from app.deps import JobStoreDep, RedisDep
from app.errors import ServiceUnavailable, error_responses
from app.metrics import Metrics
from app.protocol import worker_ready_prefix
from app.schemas import Readiness
from app.security import authenticate

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str


@router.get("/healthz", summary="Liveness: the API process answers")
def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    summary="Readiness: Redis answers and at least one worker has its model loaded",
    description="503 with `redis_unavailable` or `no_worker` says why the service cannot run jobs now; "
    "jobs sent meanwhile stay queued.",
    responses=error_responses(503),
)
def readyz(redis: RedisDep, jobs: JobStoreDep) -> Readiness:
    try:
        redis.ping()
        prefix = worker_ready_prefix(jobs.queue.name)
        workers = sorted(key.decode().removeprefix(prefix) for key in redis.scan_iter(match=f"{prefix}*", count=100))
        queued = jobs.queued_count()
        # Jobs of a worker that died are failed or retried here, so they cannot stay "started" forever.
        jobs.queue.started_job_registry.cleanup()
    except RedisError as exc:
        raise ServiceUnavailable(f"Redis cannot be reached: {exc}", code="redis_unavailable") from None
    if not workers:
        raise ServiceUnavailable(
            f"no worker with a loaded model is connected; {queued} job(s) wait in the queue until one starts",
            code="no_worker",
        )
    return Readiness(status="ready", workers=workers, queued_jobs=queued)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    description="Needs an API key when the server sets VST_API_KEYS (Prometheus: `authorization: {credentials: ...}`).",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}, **error_responses(401, 429)},
    dependencies=[Depends(authenticate)],
)
async def metrics(request: Request) -> Response:
    registry = request.app.state.metrics
    assert isinstance(registry, Metrics)
    body = await run_in_threadpool(generate_latest, registry.registry)
    return Response(content=body, media_type=CONTENT_TYPE_LATEST)
