"""The FastAPI application: ``uvicorn app.main:app`` or ``create_app(settings)`` in tests.

Routers are included in :func:`_include_routers`; that is the one place to add a new one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry

from app.errors import error_responses, install_error_handlers
from app.jobs import JobStore
from app.limits import BodyLimitMiddleware, RateLimitMiddleware
from app.metrics import Metrics, MetricsMiddleware
from app.routes import health, jobs, limits, styles, survey
from app.security import authenticate
from app.settings import ApiSettings, load_settings
from app.styles import StyleRegistry, load_gallery
from app.waiting import JobWaiter

STATIC_DIR = Path(__file__).resolve().parent / "static"
# Every Redis call of the API gives up after these (then 503 redis_unavailable), so that a stalled Redis
# never holds a request longer than the documented 10 s.
REDIS_CONNECT_TIMEOUT_S = 2.0
REDIS_TIMEOUT_S = 10.0
# Liveness and readiness probes: no API key and no rate limit, so that orchestrators can always ask.
HEALTH_PATHS = {"/healthz", "/readyz"}

DESCRIPTION = """
Stylize photos with paintings, blend several styles in latent space and sample variations.

Jobs are asynchronous: `POST /stylize` or `POST /interpolate` answers 202 with a job id,
`GET /jobs/{id}` reports progress, and `GET /jobs/{id}/result` returns the image.
Every error answers `{"detail": {"code": ..., "message": ...}}`.
"""


def _include_routers(app: FastAPI) -> None:
    # Every router but health, the limits and the survey needs an API key when VST_API_KEYS is set (health
    # guards /metrics itself). The limits are what the open OpenAPI document states, and a page reads them
    # before its user has entered a key. The survey's participants are anonymous people with a browser and no
    # key; it runs no model and each participant (a cookie id) votes once per item, so it stays open.
    needs_key = [Depends(authenticate)]
    errors = error_responses(401, 429, 503)
    app.include_router(jobs.router, dependencies=needs_key, responses=errors)
    app.include_router(styles.router, dependencies=needs_key, responses=errors)
    app.include_router(health.router)
    app.include_router(limits.router, responses=error_responses(429))
    app.include_router(survey.router, responses=error_responses(429, 503))
    # Further routers are included here.


def _one_error_body(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """``app.openapi`` with FastAPI's default 422 body replaced by ours, so that the document says what the
    API does: every error answers ErrorBody, and a body that cannot be parsed at all answers 400."""
    generate = app.openapi
    bad_body = error_responses(400)[400]

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        for path_item in schema["paths"].values():
            for operation in path_item.values():
                if "requestBody" in operation and "400" not in operation["responses"]:
                    operation["responses"]["400"] = {
                        "description": bad_body["description"],
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
                    }
                for response in operation.get("responses", {}).values():
                    body = response.get("content", {}).get("application/json", {})
                    if body.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"):
                        body["schema"] = {"$ref": "#/components/schemas/ErrorBody"}
        for unused in ("HTTPValidationError", "ValidationError"):
            schema["components"]["schemas"].pop(unused, None)
        return schema

    return openapi


def _mount_web_page(app: FastAPI) -> None:
    """``GET /`` serves app/static/index.html (the web page) when it exists, else the API docs."""
    if STATIC_DIR.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> Response:
        page = STATIC_DIR / "index.html"
        if page.is_file():
            return FileResponse(page, media_type="text/html")
        return RedirectResponse("/docs")


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """Build the application; the settings are read from the environment unless given."""
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        app.state.redis.close()
        await app.state.waiter.close()

    # FastAPIOffline serves Swagger UI's and ReDoc's files from its own package instead of a CDN, so that /docs
    # and /redoc work on a machine without internet (and no visitor's browser is sent to a third party).
    app = FastAPIOffline(
        title="Variational Style Transfer",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    # One retry, on a broken connection only: a pooled connection to a Redis that has restarted fails once,
    # and the retry reconnects. A timeout is not retried: Redis is stalled, and redis-py's default (3 retries
    # with backoff) would hold the request for 40 s and more.
    redis = Redis.from_url(
        settings.redis_url,
        socket_connect_timeout=REDIS_CONNECT_TIMEOUT_S,
        socket_timeout=REDIS_TIMEOUT_S,
        retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
    )
    app.state.redis = redis
    app.state.jobs = JobStore(redis, settings)
    # Its own connections: a waiting request holds one for up to MAX_WAIT_S. The same read timeout as above
    # (a pub/sub read asks for its own, shorter one): a stalled Redis otherwise hangs a waiter until it resumes.
    app.state.waiter = JobWaiter(
        AsyncRedis.from_url(
            settings.redis_url,
            socket_connect_timeout=REDIS_CONNECT_TIMEOUT_S,
            socket_timeout=REDIS_TIMEOUT_S,
            retry=AsyncRetry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        )
    )
    app.state.styles = StyleRegistry(
        redis,
        load_gallery(settings.gallery_dirs, settings.gallery_manifest),
        max_uploaded=settings.max_registered_styles,
        max_pixels=settings.max_image_pixels,
    )
    app.state.metrics = Metrics(redis, app.state.jobs.queue)
    # Added last = outermost. Requests pass CORS, then metrics (which so counts every refusal below), then
    # the rate limit and the body cap, both before anything reads the body.
    if settings.rate_limit_requests:
        app.add_middleware(
            RateLimitMiddleware,
            redis=redis,
            namespace=settings.queue_name,  # one budget per deployment, even where several share a Redis
            max_requests=settings.rate_limit_requests,
            window_s=settings.rate_limit_window_s,
            api_keys=settings.api_key_list,
            exempt=HEALTH_PATHS,
        )
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_bytes)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    if settings.cors_origin_list:
        # Off by default: without an allow-list no other site's page may call this API from a browser.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["X-API-Key", "Authorization", "Content-Type"],
            expose_headers=["Location", "Retry-After"],
        )
    install_error_handlers(app)
    _include_routers(app)
    _mount_web_page(app)
    app.openapi = _one_error_body(app)  # type: ignore[method-assign]
    return app


app = create_app()
