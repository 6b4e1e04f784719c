"""Response bodies of the API (what clients see; storage lives in app.jobs/app.styles).

A job's request options are :class:`app.protocol.JobOptions`, the model the worker checks them with too.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.errors import ErrorDetail
from app.protocol import ImageFormat

JobStatus = Literal["queued", "started", "finished", "failed", "canceled"]
# The statuses a job does not leave: it has an end time, and a waiting GET /jobs/{id}?wait= answers.
ENDED_STATUSES: frozenset[JobStatus] = frozenset({"finished", "failed", "canceled"})


class Timings(BaseModel):
    queued_seconds: float | None = Field(
        default=None,
        description="From submission to the start of the current attempt (or until now); a retried job counts "
        "from its first submission.",
    )
    run_seconds: float | None = Field(default=None, description="From start to end (or until now).")
    model_seconds: float | None = Field(default=None, description="Time spent in the model, on the worker.")


class JobView(BaseModel):
    """The state of a job, as ``GET /jobs/{id}`` reports it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "3f2c1e0a9b8d4c7e8f6a5b4c3d2e1f00",
                    "kind": "stylize",
                    "status": "finished",
                    "progress": 1.0,
                    "created_at": "2026-11-27T10:00:00Z",
                    "requeued_at": None,
                    "attempts": 1,
                    "started_at": "2026-11-27T10:00:01Z",
                    "ended_at": "2026-11-27T10:00:03Z",
                    "queue_position": None,
                    "result_urls": ["/jobs/3f2c1e0a9b8d4c7e8f6a5b4c3d2e1f00/result?index=0"],
                    "media_type": "image/png",
                    "width": 512,
                    "height": 384,
                    "error": None,
                    "cancel_requested": False,
                    "timings": {"queued_seconds": 0.8, "run_seconds": 1.9, "model_seconds": 1.6},
                }
            ]
        }
    )

    id: str
    kind: str
    status: JobStatus
    progress: float = Field(ge=0.0, le=1.0)
    created_at: str | None = Field(default=None, description="When the job was submitted; kept across retries.")
    requeued_at: str | None = Field(
        default=None, description="When the job last went back to the queue (a retry, or a stopped worker); else null."
    )
    attempts: int = Field(default=0, ge=0, description="How many times a worker has started the job.")
    started_at: str | None = Field(default=None, description="When the current (or last) attempt started.")
    ended_at: str | None = None
    queue_position: int | None = Field(default=None, description="0 is next; only while queued.")
    result_urls: list[str] = Field(default_factory=list)
    media_type: str | None = None
    width: int | None = None
    height: int | None = None
    error: ErrorDetail | None = None
    note: str | None = Field(
        default=None,
        description="Set when the result is smaller than the `max_side` asked: the server's cap, or a smaller photo "
        "(photos are never enlarged).",
        examples=[
            "up to 1024 px asked; your photo is 512 px and photos are never enlarged: the result is 512 px "
            "on its longest side"
        ],
    )
    cancel_requested: bool = False
    timings: Timings = Field(default_factory=Timings)


class StyleView(BaseModel):
    """A style of the registry: a bundled painting (``gallery``) or an uploaded image (``upload``)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "hokusai_great_wave",
                    "title": "The Great Wave off Kanagawa",
                    "artist": "Katsushika Hokusai",
                    "source": "gallery",
                    "image_url": "/styles/hokusai_great_wave/image",
                    "created_at": None,
                    "featured": True,
                }
            ]
        }
    )

    id: str
    title: str
    artist: str
    source: Literal["gallery", "upload"]
    image_url: str
    created_at: float | None = Field(default=None, description="Unix time of the upload; none for the gallery.")
    featured: bool = Field(default=False, description="One of the gallery's featured paintings, listed first.")


class StyleList(BaseModel):
    styles: list[StyleView]


class Readiness(BaseModel):
    status: Literal["ready"]
    workers: list[str] = Field(description="Workers with a loaded model.")
    queued_jobs: int


class Limits(BaseModel):
    """What a valid request may ask: the job options' limits and this server's upload and size settings."""

    max_styles: int = Field(description="Styles one job may blend: `/interpolate` takes 2 to this many.")
    max_samples: int = Field(description="Highest `samples` (images drawn per job, from 1).")
    min_steps: int = Field(description="Lowest `steps` of a sweep between two styles.")
    max_steps: int = Field(description="Highest `steps` of a sweep between two styles.")
    max_outputs: int = Field(description="Images one job may produce: `samples` x `steps` at most this.")
    max_variation: float = Field(description="Highest `variation` (sampling temperature, from 0).")
    max_feather_px: float = Field(description="Highest `feather` of the masks' edges, in output pixels (from 0).")
    max_seed: int = Field(description="Highest `seed` (from 0).")
    formats: list[ImageFormat] = Field(description="The result formats `format` may name.")
    min_max_side: int = Field(description="Lowest `max_side` a client may ask for.")
    max_side_limit: int = Field(description="This server's cap on `max_side`; a larger one is capped, not refused.")
    default_max_side: int = Field(description="This server's longest output side when no `max_side` is given.")
    min_content_side: int = Field(description="Shortest side of a photo the model can stylize, in pixels.")
    max_upload_bytes: int = Field(description="Largest image file (photo, style or mask), in bytes.")
    max_request_bytes: int = Field(description="Largest request body, all files together, in bytes.")
    max_image_pixels: int = Field(description="Largest image, width x height, in pixels.")
    max_wait_s: float = Field(description="Highest `wait` of `GET /jobs/{id}`, in seconds.")
