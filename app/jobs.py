"""Jobs on the RQ queue: submit, report, fetch results and cancel. The API side of the job lifecycle.

RQ is used with its JSON serializer: nothing in Redis is ever unpickled, and the job arguments are the
JSON of :class:`app.protocol.JobRequest`, images travelling as Redis keys.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from datetime import UTC, datetime
from typing import cast

from redis import Redis
from rq import Queue, Retry
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.job import JobStatus as RqStatus
from rq.serializers import JSONSerializer

from app.errors import Conflict, ErrorDetail, NotFound, QueueFull
from app.images import ValidImage
from app.protocol import (
    KEY_PREFIX,
    MAX_STYLES,
    MEDIA_TYPES,
    STYLIZE_TASK,
    FailureCode,
    JobOptions,
    JobOutput,
    JobRequest,
    StyleInput,
    cancel_key,
    input_key,
    job_ended_channel,
    result_key,
)
from app.schemas import ENDED_STATUSES, JobStatus, JobView, Timings
from app.settings import ApiSettings

JOB_ID = re.compile(r"^[0-9a-f]{32}$")

_STATUS: dict[RqStatus, JobStatus] = {
    RqStatus.QUEUED: "queued",
    RqStatus.DEFERRED: "queued",
    RqStatus.SCHEDULED: "queued",
    RqStatus.STARTED: "started",
    RqStatus.FINISHED: "finished",
    RqStatus.FAILED: "failed",
    RqStatus.STOPPED: "canceled",
    RqStatus.CANCELED: "canceled",
}


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        # RQ stores naive UTC datetimes.
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat().replace("+00:00", "Z")


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None:
        return None
    end = end or datetime.now(UTC).replace(tzinfo=None)
    start = start.replace(tzinfo=None)
    end = end.replace(tzinfo=None)
    return round(max(0.0, (end - start).total_seconds()), 3)


def failure_of(job: Job) -> ErrorDetail:
    """Why a failed job failed: the worker's own report, else what RQ recorded."""
    reported = job.meta.get("error")
    if isinstance(reported, dict) and "code" in reported:
        return ErrorDetail(code=str(reported["code"]), message=str(reported.get("message", "")))
    trace = job.exc_info or ""
    result = job.latest_result()
    if result is not None and result.exc_string:
        trace = result.exc_string
    if "AbandonedJobError" in trace:
        return ErrorDetail(
            code=FailureCode.WORKER_DIED, message="the worker running this job stopped (crashed or was killed)"
        )
    if "JobTimeoutException" in trace:
        return ErrorDetail(code=FailureCode.TIMEOUT, message="the job ran longer than the time limit")
    last_line = trace.strip().splitlines()[-1] if trace.strip() else "unknown error"
    return ErrorDetail(code=FailureCode.INTERNAL_ERROR, message=f"the job failed on the worker: {last_line[:300]}")


class JobStore:
    """Submit and inspect stylize jobs."""

    def __init__(self, redis: Redis, settings: ApiSettings) -> None:
        self.redis = redis
        self.settings = settings
        self.queue = Queue(settings.queue_name, connection=redis, serializer=JSONSerializer)

    def queued_count(self) -> int:
        return int(self.queue.count)

    def submit(
        self,
        options: JobOptions,
        content: ValidImage,
        styles: list[ValidImage],
        max_side: int,
        owner: str | None = None,
        note: str | None = None,
        masks: list[ValidImage] | None = None,
    ) -> JobView:
        """Store the inputs and enqueue the job with its checked ``options``; 429 when the queue is full.

        ``max_side`` is the output's longest side as the server settled it; ``owner`` (an API key's owner id)
        is the only caller that will see the job; None = anyone.
        """
        # uuid4 from the OS's CSPRNG: 122 random bits, so job ids cannot be guessed to read others' results.
        job_id = uuid.uuid4().hex
        ttl = self.settings.result_ttl_s
        kind = options.kind
        style_inputs = [StyleInput(key=input_key(job_id, f"style-{i}"), sha256=s.sha256) for i, s in enumerate(styles)]
        mask_keys = [input_key(job_id, f"mask-{i}") for i in range(len(masks))] if masks is not None else None
        request = JobRequest(
            options=options,
            content_key=input_key(job_id, "content"),
            styles=style_inputs,
            masks=mask_keys,
            max_side=max_side,
            result_ttl_s=ttl,
        )
        # Counting and enqueueing are one step for all API replicas: without the lock, a burst of requests
        # would all see room for one more job and overfill the queue.
        with self.redis.lock(f"{KEY_PREFIX}:admission:{self.queue.name}", timeout=30, blocking_timeout=30):
            if self.queued_count() >= self.settings.max_queue_length:
                raise QueueFull(
                    f"{self.settings.max_queue_length} jobs are already waiting; try again later",
                    retry_after_s=self.settings.retry_after_s,
                )
            with self.redis.pipeline() as pipe:
                pipe.set(request.content_key, content.png, ex=ttl)
                for style_input, style in zip(style_inputs, styles, strict=True):
                    pipe.set(style_input.key, style.png, ex=ttl)
                for mask_key, mask in zip(mask_keys or [], masks or [], strict=True):
                    pipe.set(mask_key, mask.png, ex=ttl)
                pipe.execute()
            self.queue.enqueue_call(
                STYLIZE_TASK,
                kwargs={"request": request.model_dump(mode="json")},
                job_id=job_id,
                timeout=self.settings.job_timeout_s,
                result_ttl=ttl,
                failure_ttl=ttl,
                description=f"{kind} {content.width}x{content.height} with {len(styles)} style(s)",
                meta={"kind": kind, "progress": 0.0, "owner": owner, "note": note},
                retry=Retry(max=self.settings.job_retries) if self.settings.job_retries else None,
            )
        return self.view(job_id, owner)

    def fetch(self, job_id: str, owner: str | None = None) -> Job:
        """The job, if ``owner`` may see it; 404 alike for unknown, expired, foreign and other queues' ids."""
        unknown = NotFound(f"no job with id {job_id!r} (unknown or expired)", code="job_not_found")
        if not JOB_ID.match(job_id):
            raise unknown
        try:
            job = Job.fetch(job_id, connection=self.redis, serializer=JSONSerializer)
        except NoSuchJobError:
            raise unknown from None
        # Another queue's job (another deployment sharing this Redis) is not ours to show or cancel.
        if job.origin != self.queue.name:
            raise unknown
        # With API keys, a job belongs to the key that created it; answering 404 (not 403) to anyone
        # else does not even confirm that the id exists.
        if owner is not None and job.meta.get("owner") != owner:
            raise unknown
        return job

    def view(self, job_id: str, owner: str | None = None) -> JobView:
        job = self.fetch(job_id, owner)
        rq_status = job.get_status(refresh=False)
        if rq_status == RqStatus.STARTED:
            # A job whose worker died stays "started" until its heartbeat expires; cleaning the registry
            # then retries it or fails it with AbandonedJobError. Doing it here makes that visible at once.
            self.queue.started_job_registry.cleanup()
            job = self.fetch(job_id, owner)
            rq_status = job.get_status(refresh=False)
        status = _STATUS.get(rq_status, "queued") if rq_status is not None else "queued"
        error = failure_of(job) if status == "failed" else None
        if error is not None and error.code == FailureCode.CANCELED:
            status = "canceled"
        # The worker counts an attempt when it starts one. RQ sets enqueued_at anew when it requeues a job (a
        # retry, or a worker stopped mid-job), but never created_at: that one is the job's submission.
        attempts = int(job.meta.get("attempts", 0))
        requeued = attempts >= 2 or (attempts == 1 and status == "queued")
        view = JobView(
            id=job.id,
            kind=str(job.meta.get("kind", "stylize")),
            status=status,
            progress=self._progress(job, status),
            created_at=_iso(job.created_at),
            requeued_at=_iso(job.enqueued_at) if requeued else None,
            attempts=attempts,
            started_at=_iso(job.started_at) if status != "queued" else None,
            ended_at=_iso(job.ended_at) if status in ENDED_STATUSES else None,
            error=error,
            note=job.meta.get("note"),
            cancel_requested=bool(self.redis.exists(cancel_key(job.id))),
        )
        if status == "queued":
            view.queue_position = self.queue.get_job_position(job.id)
            view.timings = Timings(queued_seconds=_seconds(job.created_at, None))
        else:
            view.timings = Timings(
                queued_seconds=_seconds(job.created_at, job.started_at),
                run_seconds=_seconds(job.started_at, job.ended_at if status != "started" else None),
            )
        if status == "finished":
            output = self._output(job)
            if output is not None:
                view.result_urls = [f"/jobs/{job.id}/result?index={k}" for k in range(output.count)]
                view.media_type = output.media_type
                view.width, view.height = output.width, output.height
                view.timings.model_seconds = output.model_seconds
        return view

    @staticmethod
    def _progress(job: Job, status: JobStatus) -> float:
        if status == "finished":
            return 1.0
        if status == "queued":
            # A retried job keeps the meta of its last attempt; it starts over.
            return 0.0
        return min(1.0, max(0.0, float(job.meta.get("progress", 0.0))))

    @staticmethod
    def _output(job: Job) -> JobOutput | None:
        value = job.return_value()
        return JobOutput.model_validate(value) if isinstance(value, dict) else None

    def result(self, job_id: str, index: int, owner: str | None = None) -> tuple[bytes, str]:
        """The ``index``-th result image and its media type."""
        view = self.view(job_id, owner)
        if view.status != "finished":
            raise Conflict(f"job {job_id} is {view.status}, it has no result yet", code="job_not_finished")
        if not 0 <= index < len(view.result_urls):
            raise NotFound(
                f"job {job_id} has {len(view.result_urls)} result(s); no index {index}", code="result_not_found"
            )
        data = cast(bytes | None, self.redis.get(result_key(job_id, index)))
        if data is None:
            raise NotFound(f"the result of job {job_id} has expired", code="result_expired")
        return bytes(data), view.media_type or MEDIA_TYPES["png"]

    def cancel(self, job_id: str, owner: str | None = None) -> JobView:
        """Cancel a queued job at once; ask the worker to stop a started one (it checks between steps)."""
        job = self.fetch(job_id, owner)
        status = self.view(job_id, owner).status
        if status == "queued":
            with contextlib.suppress(InvalidJobOperation):
                job.cancel()
            styles = [input_key(job_id, f"style-{i}") for i in range(MAX_STYLES)]
            self.redis.delete(input_key(job_id, "content"), *styles)
            self.redis.publish(job_ended_channel(job_id), b"1")  # a queued job has no worker to announce it
        elif status == "started":
            self.redis.set(cancel_key(job_id), b"1", ex=self.settings.result_ttl_s)
        else:
            raise Conflict(f"job {job_id} is already {status}", code="job_not_cancelable")
        return self.view(job_id, owner)
