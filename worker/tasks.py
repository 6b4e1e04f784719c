"""The job the API enqueues as ``worker.tasks.stylize_job``: JSON in, images to Redis, JSON out."""

from __future__ import annotations

import io
import logging
import secrets
import time
from typing import Any, cast

from PIL import Image
from rq import get_current_job
from rq.job import Job

from app.protocol import (
    JOB_DURATION_BUCKETS,
    MEDIA_TYPES,
    FailureCode,
    JobOutput,
    JobRequest,
    cancel_key,
    job_duration_key,
    result_key,
)
from worker import runtime as worker_runtime
from worker.errors import InputError, JobCanceled
from worker.runtime import Runtime
from worker.style_codes import open_image, style_code

logger = logging.getLogger(__name__)

_SAVE_OPTIONS: dict[str, dict[str, Any]] = {
    # Level 1, not Pillow's 6: 11 ms instead of 40 ms for a 512 px result, for 9% more bytes
    # (bench/encode_formats.py); at level 6 the encode cost as much as the model itself.
    "png": {"format": "PNG", "compress_level": 1},
    "jpeg": {"format": "JPEG", "quality": 92},
    "webp": {"format": "WEBP", "quality": 90},
}


def encode(image: Image.Image, image_format: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, **_SAVE_OPTIONS[image_format])
    return buffer.getvalue()


def sweep_weights(steps: int) -> list[list[float]]:
    """``steps`` weight pairs from all-first-style to all-second-style."""
    return [[1.0 - k / (steps - 1), k / (steps - 1)] for k in range(steps)]


def record_duration(runtime: Runtime, status: str, seconds: float) -> None:
    """Add one job duration to the Redis histogram that the API's /metrics exposes."""
    key = job_duration_key(status)
    with runtime.redis.pipeline() as pipe:
        pipe.hincrby(key, "count", 1)
        pipe.hincrbyfloat(key, "sum", seconds)
        for bound in JOB_DURATION_BUCKETS:
            if seconds <= bound:
                pipe.hincrby(key, f"le:{bound}", 1)
        pipe.execute()


class Progress:
    """Writes the job's progress (0..1) into ``job.meta`` and stops the job when the client canceled it."""

    def __init__(self, job: Job | None, runtime: Runtime) -> None:
        self.job = job
        self.runtime = runtime

    def __call__(self, fraction: float) -> None:
        if self.job is None:
            return
        if fraction < 1.0 and self.runtime.redis.exists(cancel_key(self.job.id)):
            raise JobCanceled()
        self.job.meta["progress"] = round(min(1.0, max(0.0, fraction)), 4)
        self.job.save_meta()


def _fail(job: Job | None, code: str, message: str) -> None:
    """Record why the job failed; an input's fault is not retried: it would fail the same way again."""
    if job is None:
        return
    job.meta["error"] = {"code": code, "message": message}
    job.save_meta()
    job.retries_left = 0


def _mask(runtime: Runtime, key: str) -> Image.Image:
    data = cast(bytes | None, runtime.redis.get(key))
    if data is None:
        raise InputError(FailureCode.INPUT_EXPIRED, "a mask of this job expired before the job ran")
    return open_image(data, "mask")


def stylize_job(request: dict[str, Any]) -> dict[str, Any]:
    """Run one stylize or interpolate job; returns :class:`app.protocol.JobOutput` as JSON."""
    runtime = worker_runtime.current()
    job = get_current_job()
    started = time.perf_counter()
    status = "failed"
    try:
        # Parsed into the model the API built it with: a payload that breaks an option's limit or rule fails here
        # as invalid input, before any image is read, whoever enqueued it.
        output = _run(JobRequest.model_validate(request), runtime, job)
        status = "finished"
        return output.model_dump()
    except JobCanceled:
        status = "canceled"
        _fail(job, FailureCode.CANCELED, "canceled by the client")
        raise
    except InputError as exc:
        _fail(job, exc.code, exc.message)
        raise
    except ValueError as exc:
        _fail(job, FailureCode.INVALID_INPUT, str(exc))
        raise
    finally:
        record_duration(runtime, status, time.perf_counter() - started)


def _run(request: JobRequest, runtime: Runtime, job: Job | None) -> JobOutput:
    progress = Progress(job, runtime)
    progress(0.0)
    content_bytes = cast(bytes | None, runtime.redis.get(request.content_key))
    if content_bytes is None:
        raise InputError(FailureCode.INPUT_EXPIRED, "the content image of this job expired before the job ran")
    content = open_image(content_bytes, "content")
    codes = []
    hits = 0
    for style in request.styles:
        code, hit = style_code(runtime, style)
        codes.append(code)
        hits += hit
    masks = [_mask(runtime, key) for key in request.masks] if request.masks is not None else None
    progress(0.1)
    options = request.options
    weight_sets: list[list[float] | None] = (
        [list(w) for w in sweep_weights(options.steps)] if options.steps else [options.weights]
    )
    # One seed for the whole job, so that the images of a sweep share their noise and change smoothly.
    seed = options.seed if options.seed is not None else secrets.randbits(63)
    model_seconds = 0.0
    images: list[Image.Image] = []
    for index, weights in enumerate(weight_sets):

        def step_progress(fraction: float, index: int = index) -> None:
            progress(0.1 + 0.85 * (index + fraction) / len(weight_sets))

        tic = time.perf_counter()
        images += runtime.stylizer.stylize(
            content,
            codes,
            weights=weights,
            alpha=options.alpha,
            variation=options.variation,
            samples=options.samples,
            seed=seed,
            preserve_color=options.preserve_color,
            max_side=request.max_side,
            progress=step_progress,
            masks=masks,
            feather=options.feather,
        )
        model_seconds += time.perf_counter() - tic
    job_id = job.id if job is not None else "local"
    with runtime.redis.pipeline() as pipe:
        for index, image in enumerate(images):
            pipe.set(result_key(job_id, index), encode(image, options.format), ex=request.result_ttl_s)
        # The inputs are no longer needed once the results are safe; until then a retry may need them.
        pipe.delete(request.content_key, *[style.key for style in request.styles], *(request.masks or []))
        pipe.execute()
    progress(1.0)
    logger.info(
        "job %s: %d image(s) in %.2fs of model time, %d cached style code(s)", job_id, len(images), model_seconds, hits
    )
    return JobOutput(
        count=len(images),
        media_type=MEDIA_TYPES[options.format],
        width=images[0].width,
        height=images[0].height,
        model_seconds=round(model_seconds, 4),
        style_cache_hits=hits,
    )
