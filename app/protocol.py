"""The contract between the API and the workers: Redis key names and the JSON job payloads.

Both sides import this module; it holds no torch and no HTTP. Jobs are enqueued by the dotted path
:data:`STYLIZE_TASK`, so the API never imports the worker's code, and their arguments are the JSON of
:class:`JobRequest` (images travel as Redis keys, never as pickled arrays).
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

STYLIZE_TASK = "worker.tasks.stylize_job"
KEY_PREFIX = "vst"

ImageFormat = Literal["png", "jpeg", "webp"]
MEDIA_TYPES: dict[str, str] = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}


def input_key(job_id: str, name: str) -> str:
    """An input image of a job (PNG bytes), e.g. ``name`` = ``content`` or ``style-0``."""
    return f"{KEY_PREFIX}:job:{job_id}:input:{name}"


def result_key(job_id: str, index: int) -> str:
    """The ``index``-th output image of a job (encoded bytes)."""
    return f"{KEY_PREFIX}:job:{job_id}:result:{index}"


def cancel_key(job_id: str) -> str:
    """Set by the API to ask the worker running the job to stop it."""
    return f"{KEY_PREFIX}:job:{job_id}:cancel"


def job_ended_channel(job_id: str) -> str:
    """Pub/sub channel on which a job's end (finished, failed, canceled) is announced, for ``GET /jobs/{id}?wait=``."""
    return f"{KEY_PREFIX}:job:{job_id}:ended"


def style_code_key(model_sha256: str, image_sha256: str) -> str:
    """A cached style code (``StyleCode.to_bytes()``): codes depend on the model, hence its hash in the key."""
    return f"{KEY_PREFIX}:stylecode:{model_sha256[:16]}:{image_sha256}"


def worker_ready_prefix(queue_name: str) -> str:
    return f"{KEY_PREFIX}:worker:{queue_name}:"


def worker_ready_key(queue_name: str, worker_name: str) -> str:
    """Present (with a short TTL, refreshed by a heartbeat) while a worker of the queue has its model loaded."""
    return f"{worker_ready_prefix(queue_name)}{worker_name}"


def default_worker_name(hostname: str, pid: int) -> str:
    """A worker's name when ``VST_WORKER_NAME`` is not set; ``vst serve`` derives it to clear a dead one's readiness."""
    return f"{hostname}.{pid}"


def restarts_key(queue_name: str) -> str:
    """A hash: how often ``vst serve`` restarted each kind of process (``worker``, ``api``, ``redis``)."""
    return f"{KEY_PREFIX}:metrics:restarts:{queue_name}"


SUPERVISED_PROCESSES = ("worker", "api", "redis")


class StyleInput(BaseModel):
    key: str = Field(description="Redis key of the style image's PNG bytes.")
    sha256: str = Field(description="sha256 of those bytes: the style-code cache key.")


class JobRequest(BaseModel):
    """What a stylize job needs; its JSON is the job's keyword arguments."""

    kind: Literal["stylize", "interpolate"]
    content_key: str
    styles: list[StyleInput] = Field(min_length=1, max_length=8)
    weights: list[float] | None = None
    steps: int | None = Field(default=None, description="A sweep between two styles in this many steps.")
    masks: list[str] | None = Field(
        default=None, max_length=8, description="Redis keys of grayscale PNG masks, one per style, instead of weights."
    )
    feather: float = Field(default=0.0, ge=0.0, description="Gaussian blur of the masks, in output pixels.")
    alpha: float = Field(default=1.0, ge=0.0, le=1.0)
    variation: float = Field(default=0.0, ge=0.0)
    samples: int = Field(default=1, ge=1, le=8)
    seed: int | None = None
    preserve_color: bool = False
    max_side: int = Field(default=512, ge=16)
    format: ImageFormat = "png"
    result_ttl_s: int = Field(default=3600, ge=1)


class JobOutput(BaseModel):
    """What a finished job returns (stored by RQ as the job's result)."""

    count: int
    media_type: str
    width: int
    height: int
    model_seconds: float
    style_cache_hits: int


class FailureCode(StrEnum):
    """Why a job failed, as reported by ``GET /jobs/{id}``."""

    WORKER_DIED = "worker_died"
    TIMEOUT = "timeout"
    CANCELED = "canceled"
    INPUT_EXPIRED = "input_expired"
    INVALID_INPUT = "invalid_input"
    INTERNAL_ERROR = "internal_error"


class WorkerInfo(BaseModel):
    """What a worker announces under :func:`worker_ready_key` once its model is loaded."""

    name: str
    queue: str
    hostname: str
    pid: int
    device: str
    checkpoint: str
    model_sha256: str
    started_at: float

    def to_json(self) -> str:
        return json.dumps(self.model_dump())


# Job durations are recorded by the workers in Redis (shared by all of them) and exposed by the API's
# /metrics as one Prometheus histogram per final status.
JOB_DURATION_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
JOB_STATUSES_MEASURED = ("finished", "failed", "canceled")


def job_duration_key(status: str) -> str:
    """A hash: ``count``, ``sum`` and ``le:<bound>`` cumulative bucket counts of job durations in seconds."""
    return f"{KEY_PREFIX}:metrics:job_seconds:{status}"
