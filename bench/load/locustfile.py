"""Locust users for the service load test: each submits a 512 px stylize job, polls it to the end, fetches it.

Run by bench/load/run_load.py (which starts the service and sets the environment below); by hand:

    bench/load/.venv/bin/locust -f bench/load/locustfile.py --headless -u 20 -r 5 -t 90s --host http://127.0.0.1:8000

Closed loop: a user sends its next job only when the previous one has ended. Besides locust's own request
statistics, every accepted job is written to ``VST_LOAD_JOBS`` (JSON lines): accepted, then its outcome, so
that the driver can compute exact percentiles and find jobs that were accepted but never ended (lost).

Environment: VST_LOAD_CONTENT_DIR (JPEGs to upload), VST_LOAD_STYLE_IDS (comma-separated gallery ids),
VST_LOAD_MAX_SIDE (512), VST_LOAD_POLL_S (0.25), VST_LOAD_JOB_TIMEOUT_S (300), VST_LOAD_JOBS (log path).
This file runs in locust's own venv: only the standard library and locust.
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path
from typing import Any

import gevent
from locust import HttpUser, constant, events, task

CONTENT_DIR = Path(os.environ.get("VST_LOAD_CONTENT_DIR", "data/eval/content"))
STYLE_IDS = [s for s in os.environ.get("VST_LOAD_STYLE_IDS", "hokusai_great_wave").split(",") if s]
MAX_SIDE = int(os.environ.get("VST_LOAD_MAX_SIDE", "512"))
POLL_S = float(os.environ.get("VST_LOAD_POLL_S", "0.25"))
JOB_TIMEOUT_S = float(os.environ.get("VST_LOAD_JOB_TIMEOUT_S", "300"))
JOBS_LOG = Path(os.environ.get("VST_LOAD_JOBS", "load_jobs.jsonl"))
CONTENTS = [(p.name, p.read_bytes()) for p in sorted(CONTENT_DIR.glob("*.jpg"))]
TERMINAL = {"finished", "failed", "canceled"}


class JobFailed(Exception):
    pass


def log_job(record: dict[str, Any]) -> None:
    # One process, cooperative greenlets: a whole line is written before another greenlet runs.
    with JOBS_LOG.open("a") as handle:
        handle.write(json.dumps(record) + "\n")


@events.test_start.add_listener
def _check_inputs(environment: Any, **kwargs: Any) -> None:
    if not CONTENTS:
        raise RuntimeError(f"no .jpg content images in {CONTENT_DIR}")


class StylizeUser(HttpUser):
    wait_time = constant(0)

    @task
    def stylize_job(self) -> None:
        name, content = random.choice(CONTENTS)
        style_id = random.choice(STYLE_IDS)
        started = time.perf_counter()
        with self.client.post(
            "/stylize",
            files={"content": (name, content, "image/jpeg")},
            data={"style_id": style_id, "max_side": str(MAX_SIDE)},
            name="POST /stylize",
            catch_response=True,
        ) as response:
            if response.status_code == 429:
                # The queue is full: back-pressure, not an error. Wait as told and try again.
                response.success()
                log_job({"event": "rejected_429"})
                gevent.sleep(float(response.headers.get("Retry-After", "1")))
                return
            if response.status_code != 202:
                response.failure(f"submit: HTTP {response.status_code} {response.text[:200]}")
                return
            job_id = response.json()["id"]
        log_job({"event": "accepted", "id": job_id, "t": time.time()})

        view: dict[str, Any] = {}
        deadline = started + JOB_TIMEOUT_S
        while time.perf_counter() < deadline:
            with self.client.get(f"/jobs/{job_id}", name="GET /jobs/[id]", catch_response=True) as poll:
                if poll.status_code != 200:
                    poll.failure(f"poll: HTTP {poll.status_code}")
                    break
                view = poll.json()
            if view.get("status") in TERMINAL:
                break
            gevent.sleep(POLL_S)
        status = view.get("status")
        if status == "finished":
            with self.client.get(view["result_urls"][0], name="GET /jobs/[id]/result", catch_response=True) as got:
                if got.status_code != 200 or not got.content:
                    got.failure(f"result: HTTP {got.status_code}")
                    status = "result_missing"
        elapsed = time.perf_counter() - started
        timings = view.get("timings") or {}
        log_job({"event": "ended", "id": job_id, "status": status, "end_to_end_s": elapsed, **timings})
        self.environment.events.request.fire(
            request_type="JOB",
            name=f"stylize {MAX_SIDE} px, end to end",
            response_time=elapsed * 1000,
            response_length=0,
            exception=None if status == "finished" else JobFailed(f"job {job_id} ended {status}: {view.get('error')}"),
            context={},
        )
