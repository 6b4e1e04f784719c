"""The stylize task's parts, in this process, with the tiny model and the session's real Redis."""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import torch
from PIL import Image
from pydantic import ValidationError
from redis import Redis
from rq import Queue, Retry
from rq.job import Job
from rq.serializers import JSONSerializer

from app.protocol import (
    DEFAULT_MAX_SIDE,
    JOB_DURATION_BUCKETS,
    JobOptions,
    JobRequest,
    StyleInput,
    cancel_key,
    input_key,
    job_duration_key,
)
from model.checkpoint import file_sha256, load_checkpoint
from model.inference import Stylizer
from tests.app.option_cases import OVER_LIMITS
from tests.app.sample_images import png
from worker import runtime as worker_runtime
from worker.errors import InputError, JobCanceled
from worker.runtime import Runtime
from worker.settings import WorkerSettings
from worker.style_codes import style_code
from worker.tasks import Progress, encode, record_duration, stylize_job, sweep_weights


@pytest.fixture
def runtime(redis_url: str, tiny_checkpoint: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("VST_QUEUE_NAME", f"vst-tests-tasks-{uuid.uuid4().hex[:8]}")
    model, _ = load_checkpoint(tiny_checkpoint)
    redis = Redis.from_url(redis_url)
    loaded = Runtime(
        stylizer=Stylizer(model),
        model_sha256=file_sha256(tiny_checkpoint),
        checkpoint=tiny_checkpoint,
        device="cpu",
        redis=redis,
        settings=WorkerSettings(),
    )
    worker_runtime.install(loaded)
    yield loaded
    redis.close()


def _store_style(runtime: Runtime, seed: int) -> StyleInput:
    data = png(40, 40, seed=seed)
    key = f"vst:test:{uuid.uuid4().hex}"
    runtime.redis.set(key, data, ex=600)
    return StyleInput(key=key, sha256=hashlib.sha256(data).hexdigest())


def test_style_codes_are_cached_by_image_hash_and_model(runtime: Runtime) -> None:
    style = _store_style(runtime, seed=int(uuid.uuid4().int % 10_000))
    first, first_hit = style_code(runtime, style)
    second, second_hit = style_code(runtime, style)
    assert (first_hit, second_hit) == (False, True)
    assert torch.equal(first.mu, second.mu) and torch.equal(first.logvar, second.logvar)
    # The cached code no longer needs the image.
    runtime.redis.delete(style.key)
    assert style_code(runtime, style)[1] is True
    other_model = Runtime(**{**runtime.__dict__, "model_sha256": "f" * 64})
    with pytest.raises(InputError, match="expired"):
        style_code(other_model, style)  # another model must not reuse the code, and the image is gone


def test_sweep_weights_go_from_the_first_style_to_the_second() -> None:
    assert sweep_weights(3) == [[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]]


@pytest.mark.parametrize(("image_format", "pil_format"), [("png", "PNG"), ("jpeg", "JPEG"), ("webp", "WEBP")])
def test_results_are_encoded_in_the_asked_format(image_format: str, pil_format: str) -> None:
    image = Image.open(io.BytesIO(encode(Image.new("RGB", (10, 8), (1, 2, 3)), image_format)))
    assert image.format == pil_format and image.size == (10, 8)


def test_job_durations_fill_cumulative_buckets(runtime: Runtime) -> None:
    status = f"test-{uuid.uuid4().hex[:8]}"
    record_duration(runtime, status, 0.3)
    record_duration(runtime, status, 3.0)
    stored = cast(dict[bytes, bytes], runtime.redis.hgetall(job_duration_key(status)))
    fields = {k.decode(): float(v) for k, v in stored.items()}
    runtime.redis.delete(job_duration_key(status))
    assert fields["count"] == 2 and fields["sum"] == pytest.approx(3.3)
    assert fields["le:0.5"] == 1 and fields["le:5.0"] == 2
    assert "le:0.25" not in fields
    assert max(JOB_DURATION_BUCKETS) >= 600


def _job(runtime: Runtime, request: JobRequest) -> Job:
    queue = Queue(runtime.settings.queue_name, connection=runtime.redis, serializer=JSONSerializer)
    return queue.enqueue_call(
        "worker.tasks.stylize_job",
        kwargs={"request": request.model_dump(mode="json")},
        job_id=uuid.uuid4().hex,
        retry=Retry(max=2),
    )


def _request(runtime: Runtime, job_hint: str, **options: Any) -> JobRequest:
    content_key = input_key(job_hint, "content")
    runtime.redis.set(content_key, png(24, 16), ex=600)
    return JobRequest(
        options=JobOptions(kind="stylize", style_count=1, **options),
        content_key=content_key,
        styles=[_store_style(runtime, 1)],
        max_side=DEFAULT_MAX_SIDE,
    )


def test_the_task_stores_results_and_drops_its_inputs(runtime: Runtime) -> None:
    request = _request(runtime, uuid.uuid4().hex, samples=2, variation=1.0, seed=4)
    job = _job(runtime, request)
    output = job.perform()
    assert output["count"] == 2 and (output["width"], output["height"]) == (24, 16)
    assert job.meta["progress"] == 1.0
    for index in range(2):
        stored = cast(bytes | None, runtime.redis.get(f"vst:job:{job.id}:result:{index}"))
        assert stored is not None and Image.open(io.BytesIO(stored)).size == (24, 16)
    assert not runtime.redis.exists(request.content_key)


def test_a_canceled_job_stops_at_its_next_step_and_is_not_retried(runtime: Runtime) -> None:
    job = _job(runtime, _request(runtime, uuid.uuid4().hex))
    runtime.redis.set(cancel_key(job.id), b"1", ex=60)
    with pytest.raises(JobCanceled):
        job.perform()
    assert job.meta["error"]["code"] == "canceled"
    assert job.retries_left == 0


def test_an_expired_input_fails_with_a_reason_and_is_not_retried(runtime: Runtime) -> None:
    request = _request(runtime, uuid.uuid4().hex)
    runtime.redis.delete(request.content_key)
    job = _job(runtime, request)
    with pytest.raises(InputError):
        job.perform()
    assert job.meta["error"]["code"] == "input_expired"
    assert job.retries_left == 0


@pytest.mark.parametrize("case", sorted(OVER_LIMITS))
def test_a_payload_over_an_options_limit_fails_as_invalid_input_before_any_image_is_read(
    case: str, runtime: Runtime
) -> None:
    """What the API refuses (tests/app/test_job_options.py) the worker refuses too, from whoever enqueued it."""
    choice, _ = OVER_LIMITS[case]
    job_id = uuid.uuid4().hex
    queue = Queue(runtime.settings.queue_name, connection=runtime.redis, serializer=JSONSerializer)
    job = queue.enqueue_call(
        "worker.tasks.stylize_job", kwargs={"request": choice.payload(job_id)}, job_id=job_id, retry=Retry(max=2)
    )
    # Its images were never stored: reading one would fail as input_expired, not as a validation error.
    with pytest.raises(ValidationError):
        job.perform()
    assert job.meta["error"]["code"] == "invalid_input"
    assert job.retries_left == 0
    assert not runtime.redis.exists(f"vst:job:{job_id}:result:0")


def test_progress_is_written_to_job_meta(runtime: Runtime) -> None:
    job = _job(runtime, _request(runtime, uuid.uuid4().hex))
    Progress(job, runtime)(0.5)
    job.refresh()
    assert job.meta["progress"] == 0.5


def test_the_task_needs_the_worker_runtime() -> None:
    worker_runtime._runtime = None  # as in any process but `python -m worker`
    with pytest.raises(RuntimeError, match="python -m worker"):
        stylize_job({})
