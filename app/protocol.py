"""The contract between the API and the workers: Redis key names, a job's options and the JSON job payloads.

Both sides import this module; it holds no torch and no HTTP. Jobs are enqueued by the dotted path
:data:`STYLIZE_TASK`, so the API never imports the worker's code, and their arguments are the JSON of
:class:`JobRequest` (images travel as Redis keys, never as pickled arrays).

A job's options are one model, :class:`JobOptions`, and their limits are defined here once: the API builds
the model from the form (its form fields take their limits from it), the payload carries its JSON, and the
worker parses that back into the same model, so a payload that breaks a limit is refused there too.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from enum import StrEnum
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

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


JobKind = Literal["stylize", "interpolate"]

# The limits of a job's options. The API's form fields, the worker's check of each payload and the CLI take
# them from here.
MAX_STYLES = 8
MAX_SAMPLES = 8
MIN_STEPS = 2
MAX_STEPS = 16
# Images one job may produce (samples x steps); also the highest result index + 1.
MAX_OUTPUTS = 32
MAX_VARIATION = 10.0
MAX_FEATHER_PX = 64.0
MAX_SEED = 2**63 - 1
MIN_MAX_SIDE = 16
# The output's longest side when none is asked (the API's VST_DEFAULT_MAX_SIDE may set another).
DEFAULT_MAX_SIDE = 512


class OptionRule(StrEnum):
    """The error codes of the rules that span several options; an option outside its own range is plain invalid."""

    INVALID_STYLES = "invalid_styles"
    INVALID_WEIGHTS = "invalid_weights"
    MASK_COUNT = "mask_count"
    TOO_MANY_OUTPUTS = "too_many_outputs"


def check_weights(weights: Sequence[float]) -> None:
    """Blend weights must be finite, non-negative and not all zero; ValueError says which rule they break."""
    if any(not math.isfinite(w) or w < 0 for w in weights):
        raise ValueError("weights must be finite and non-negative")
    if sum(weights) <= 0:
        raise ValueError("weights must not all be zero")


def _broken(rule: OptionRule, message: str, **context: object) -> PydanticCustomError:
    # The client's own text goes in through the context, never into the template, where braces would be read.
    return PydanticCustomError(str(rule), message, context or None)


class ImageOptions(BaseModel):
    """How each image of a job is drawn and delivered: the options that ``/stylize`` and ``/interpolate`` share."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    alpha: float = Field(default=1.0, ge=0.0, le=1.0, description="0 keeps the photo's style, 1 is the target style.")
    preserve_color: bool = Field(default=False, description="Keep the photo's colours.")
    variation: float = Field(
        default=0.0, ge=0.0, le=MAX_VARIATION, description="Sampling temperature, 0 = deterministic."
    )
    samples: int = Field(default=1, ge=1, le=MAX_SAMPLES, description="Number of images to draw.")
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED, description="Random seed for reproducible samples.")
    max_side: int | None = Field(
        default=None, ge=MIN_MAX_SIDE, description="Longest output side in pixels (capped by the server)."
    )
    format: ImageFormat = Field(default="png", description="Result format: png, jpeg or webp.")


class JobOptions(ImageOptions):
    """Everything the client chose for one job, and the rules between its choices.

    ``style_count`` and ``mask_count`` say how many styles and masks the job has, so that the rules which
    depend on them (2..:data:`MAX_STYLES` styles to blend, one weight or mask per style, a sweep between
    exactly two) are checked here, before any image is read. A broken rule raises a validation error whose
    type is its :class:`OptionRule`.
    """

    kind: JobKind
    style_count: int = Field(description="How many styles: 1 to stylize, 2..MAX_STYLES to blend.")
    mask_count: int = Field(default=0, description="0, or one mask per style.")
    weights: list[float] | None = Field(default=None, description="One blend weight per style; none = equal.")
    steps: int | None = Field(
        default=None, ge=MIN_STEPS, le=MAX_STEPS, description="Sweep between two styles in this many images."
    )
    feather: float = Field(
        default=0.0,
        ge=0.0,
        le=MAX_FEATHER_PX,
        description="Softens the masks' edges: a Gaussian blur of this many output pixels (0 = as drawn).",
    )

    @field_validator("weights", mode="before")
    @classmethod
    def _weights_are_numbers(cls, value: object) -> object:
        # A form sends weights as text; one that is not a number breaks the weights' rule, not a field's range.
        if not isinstance(value, list | tuple):
            return value
        try:
            return [float(item) for item in value]
        except (TypeError, ValueError):
            raise _broken(
                OptionRule.INVALID_WEIGHTS, "weights must be numbers, got {weights}", weights=str(list(value))
            ) from None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        count = self.style_count
        if self.kind == "stylize":
            if count != 1:
                raise _broken(OptionRule.INVALID_STYLES, "stylize takes exactly one style, got {count}", count=count)
            if self.weights is not None or self.steps is not None:
                raise _broken(
                    OptionRule.INVALID_WEIGHTS, "`weights` and `steps` are for blending several styles (interpolate)"
                )
        elif not 2 <= count <= MAX_STYLES:
            raise _broken(
                OptionRule.INVALID_STYLES,
                "interpolate takes 2..{most} styles, got {count}",
                most=MAX_STYLES,
                count=count,
            )
        if self.steps is not None and count != 2:
            raise _broken(
                OptionRule.INVALID_STYLES, "`steps` sweeps between exactly two styles, got {count}", count=count
            )
        if self.steps is not None and self.weights is not None:
            raise _broken(OptionRule.INVALID_WEIGHTS, "give either `steps` (a sweep) or `weights`, not both")
        if self.mask_count and (self.weights is not None or self.steps is not None):
            raise _broken(
                OptionRule.INVALID_WEIGHTS, "`masks` place each style; give them without `weights` or `steps`"
            )
        if self.weights is not None:
            if len(self.weights) != count:
                raise _broken(
                    OptionRule.INVALID_WEIGHTS,
                    "got {given} weight(s) for {count} style(s)",
                    given=len(self.weights),
                    count=count,
                )
            try:
                check_weights(self.weights)
            except ValueError as exc:
                raise _broken(OptionRule.INVALID_WEIGHTS, str(exc)) from None
        if self.samples * (self.steps or 1) > MAX_OUTPUTS:
            raise _broken(OptionRule.TOO_MANY_OUTPUTS, "samples x steps must be at most {most}", most=MAX_OUTPUTS)
        if self.mask_count not in (0, count):
            raise _broken(
                OptionRule.MASK_COUNT, "got {given} mask(s) for {count} style(s)", given=self.mask_count, count=count
            )
        return self


class StyleInput(BaseModel):
    key: str = Field(description="Redis key of the style image's PNG bytes.")
    sha256: str = Field(description="sha256 of those bytes: the style-code cache key.")


class JobRequest(BaseModel):
    """What a stylize job needs: the client's options and where its images wait; its JSON is the job's arguments."""

    model_config = ConfigDict(extra="forbid")

    options: JobOptions
    content_key: str
    styles: list[StyleInput] = Field(min_length=1, max_length=MAX_STYLES)
    masks: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_STYLES,
        description="Redis keys of grayscale PNG masks, one per style, instead of weights.",
    )
    max_side: int = Field(
        ge=MIN_MAX_SIDE,
        description="The output's longest side: the client's `max_side`, else the server's default, within its cap.",
    )
    result_ttl_s: int = Field(default=3600, ge=1)

    @model_validator(mode="after")
    def _inputs_match_the_options(self) -> Self:
        if len(self.styles) != self.options.style_count:
            raise ValueError(f"{len(self.styles)} style image(s), but the options say {self.options.style_count}")
        masks = len(self.masks) if self.masks is not None else 0
        if masks != self.options.mask_count:
            raise ValueError(f"{masks} mask image(s), but the options say {self.options.mask_count}")
        return self


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
