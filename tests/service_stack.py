"""Real service processes for the tests: redis-server, ``python -m worker`` and the API under uvicorn.

Nothing here is a stand-in: each part is the process production runs, started with test settings
(a tiny model, small limits, fast heartbeats) and reached over real sockets.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from redis import Redis

from app.protocol import worker_ready_prefix
from app.redis_server import free_port

REPO_ROOT = Path(__file__).resolve().parent.parent

# Small limits keep the test images tiny and let every limit be crossed cheaply.
API_TEST_ENV = {
    "VST_MAX_UPLOAD_BYTES": "300000",
    "VST_MAX_REQUEST_BYTES": "1000000",
    "VST_MAX_IMAGE_PIXELS": "1000000",
    "VST_DEFAULT_MAX_SIDE": "64",
    "VST_MAX_SIDE_LIMIT": "128",
    "VST_RESULT_TTL_S": "600",
    "VST_JOB_TIMEOUT_S": "120",
}
WORKER_TEST_ENV = {
    "VST_DEVICE": "cpu",
    "VST_TORCH_THREADS": "1",
    "VST_HEARTBEAT_INTERVAL_S": "0.5",
    "VST_JOB_HEARTBEAT_TTL_S": "2",
    "VST_LOG_LEVEL": "INFO",
}


def clean_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The test process's environment without any VST_*/REDIS_URL of the developer's, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VST_") and k != "REDIS_URL"}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str, interval_s: float = 0.05) -> None:
    """Poll ``condition``; the timeout only guards against a hang, it asserts nothing about speed."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(interval_s)


@dataclass
class ServiceProcess:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def signal(self, signum: int) -> None:
        if self.alive():
            self.process.send_signal(signum)

    def wait(self, timeout_s: float = 60) -> int:
        return self.process.wait(timeout=timeout_s)

    def stop(self, timeout_s: float = 20) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _spawn(name: str, args: list[str], env: dict[str, str], log_dir: Path) -> ServiceProcess:
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}-{time.monotonic_ns()}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            args, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
    return ServiceProcess(name=name, process=process, log_path=log_path)


@dataclass
class Stack:
    """Starts workers and API servers against one Redis, and stops them all at the end."""

    redis_url: str
    checkpoint: Path
    log_dir: Path
    processes: list[ServiceProcess] = field(default_factory=list)

    def redis(self) -> Redis:
        return Redis.from_url(self.redis_url)

    def ready_workers(self, queue: str) -> list[str]:
        with self.redis() as client:
            return [key.decode() for key in client.scan_iter(match=f"{worker_ready_prefix(queue)}*")]

    def start_worker(self, queue: str, env: Mapping[str, str] | None = None, wait: bool = True) -> ServiceProcess:
        worker_env = clean_env(
            {
                **WORKER_TEST_ENV,
                "REDIS_URL": self.redis_url,
                "VST_CHECKPOINT": str(self.checkpoint),
                "VST_QUEUE_NAME": queue,
                **(env or {}),
            }
        )
        before = set(self.ready_workers(queue))
        worker = _spawn(f"worker-{queue}", [sys.executable, "-m", "worker"], worker_env, self.log_dir)
        self.processes.append(worker)
        if wait:

            def announced() -> bool:
                if not worker.alive():
                    raise RuntimeError(f"worker exited with {worker.process.returncode}:\n{worker.log()}")
                return bool(set(self.ready_workers(queue)) - before)

            wait_until(announced, 120, "the worker to load its model")
        return worker

    def start_api(self, queue: str, env: Mapping[str, str] | None = None) -> tuple[ServiceProcess, str]:
        port = free_port()
        api_env = clean_env({**API_TEST_ENV, "REDIS_URL": self.redis_url, "VST_QUEUE_NAME": queue, **(env or {})})
        args = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port)]
        api = _spawn(f"api-{queue}", args, api_env, self.log_dir)
        self.processes.append(api)
        base_url = f"http://127.0.0.1:{port}"

        def answers() -> bool:
            if not api.alive():
                raise RuntimeError(f"API exited with {api.process.returncode}:\n{api.log()}")
            try:
                return httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(answers, 60, "the API to answer")
        return api, base_url

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()


def wait_for_job(client: httpx.Client, job_id: str, timeout_s: float = 120) -> dict[str, Any]:
    """``GET /jobs/{id}?wait=`` until the job is finished, failed or canceled; returns its last view."""
    view: dict[str, Any] = {}

    def done() -> bool:
        nonlocal view
        response = client.get(f"/jobs/{job_id}", params={"wait": 10})  # the API answers when the job ends
        assert response.status_code == 200, response.text
        view = response.json()
        return view["status"] in ("finished", "failed", "canceled")

    wait_until(done, timeout_s, f"job {job_id}", interval_s=0.1)
    return view
