"""The FastAPI application: ``uvicorn app.main:app`` or ``create_app(settings)`` in tests.

Routers are included in :func:`_include_routers`; that is the one place to add a new one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from redis import Redis

from app.errors import install_error_handlers
from app.jobs import JobStore
from app.limits import BodyLimitMiddleware
from app.metrics import Metrics, MetricsMiddleware
from app.routes import health, jobs, styles, survey
from app.settings import ApiSettings, load_settings
from app.styles import StyleRegistry, load_gallery

STATIC_DIR = Path(__file__).resolve().parent / "static"

DESCRIPTION = """
Stylize photos with paintings, blend several styles in latent space and sample variations.

Jobs are asynchronous: `POST /stylize` or `POST /interpolate` answers 202 with a job id,
`GET /jobs/{id}` reports progress, and `GET /jobs/{id}/result` returns the image.
Every error answers `{"detail": {"code": ..., "message": ...}}`.
"""


def _include_routers(app: FastAPI) -> None:
    app.include_router(jobs.router)
    app.include_router(styles.router)
    app.include_router(health.router)
    app.include_router(survey.router)
    # Further routers are included here.


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

    app = FastAPI(
        title="Variational Style Transfer",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    redis = Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=10)
    app.state.redis = redis
    app.state.jobs = JobStore(redis, settings)
    app.state.styles = StyleRegistry(
        redis,
        load_gallery(settings.gallery_dirs, settings.gallery_manifest),
        max_uploaded=settings.max_registered_styles,
        max_pixels=settings.max_image_pixels,
    )
    app.state.metrics = Metrics(redis, app.state.jobs.queue)
    # Added last = outermost: the body cap applies before anything else reads the request.
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_bytes)
    install_error_handlers(app)
    _include_routers(app)
    _mount_web_page(app)
    return app


app = create_app()
