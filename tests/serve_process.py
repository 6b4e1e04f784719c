"""``vst serve`` as a user starts it, for the tests: its console, the pids of its children, a bounded stop;
and the job helpers of the fault tests (tests/reliability).

The runner runs in a session of its own, as it does under a terminal, so that a test can signal its whole
process group (Ctrl-C, ``kill -- -PGID``). Whatever happens in a test, :meth:`Serve.close` leaves no process
behind: the runner gets SIGTERM, and every child pid it ever printed gets SIGKILL if still there.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from app.redis_server import free_port
from tests.app.sample_images import png
from tests.service_stack import REPO_ROOT, clean_env, wait_until

STYLE = "hokusai_great_wave"
# Room for the big job below: the test limits of API_TEST_ENV are made for tiny images.
BIG_JOB_LIMITS = {
    "VST_MAX_SIDE_LIMIT": "1024",
    "VST_MAX_IMAGE_PIXELS": "2000000",
    "VST_MAX_UPLOAD_BYTES": "8000000",
    "VST_MAX_REQUEST_BYTES": "9000000",
}
# Fast heartbeats, a short pause before restarts, and a job lease long enough to outlive a Redis restart.
SERVE_TEST_ENV = {
    "VST_TORCH_THREADS": "1",
    "VST_DEVICE": "cpu",
    "VST_HEARTBEAT_INTERVAL_S": "0.5",
    "VST_JOB_HEARTBEAT_TTL_S": "30",
    "VST_RESTART_DELAY_S": "0.5",
    **BIG_JOB_LIMITS,
}
_PID = re.compile(r"^(?:\d\d:\d\d:\d\d )?(Redis|Worker 1|worker 1|API)\b.*?\(?pid (\d+)", re.MULTILINE)


class Serve:
    def __init__(self, checkpoint: Path, run_dir: Path, env: Mapping[str, str] | None = None) -> None:
        self.run_dir = run_dir
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.console = run_dir / f"console-{len(list(run_dir.glob('console-*')))}.txt"
        run_dir.mkdir(parents=True, exist_ok=True)
        full_env = clean_env(
            {**SERVE_TEST_ENV, "VST_CHECKPOINT": str(checkpoint), "VST_RUN_DIR": str(run_dir), **(env or {})}
        )
        with self.console.open("w") as out:
            self.runner = subprocess.Popen(
                [sys.executable, "-m", "cli.main", "serve", "--port", str(self.port)],
                cwd=REPO_ROOT,
                env=full_env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._seen_pids: set[int] = set()

    def output(self) -> str:
        return self.console.read_text(errors="replace")

    def logs(self) -> str:
        """The console and every child's log."""
        parts = [self.output()]
        for path in sorted((self.run_dir / "logs").glob("*.log")):
            parts.append(path.read_text(errors="replace"))
        return "\n".join(parts)

    def pid(self, name: str) -> int:
        """The current pid of ``Redis``, ``worker 1`` or ``API``, as the runner last printed it."""
        found = [int(pid) for who, pid in _PID.findall(self.output()) if who.lower() == name.lower()]
        assert found, self.output()
        self._seen_pids.update(found)
        return found[-1]

    def redis_url(self) -> str:
        return self.output().split("Redis:")[1].split()[0]

    def wait_ready(self, timeout_s: float = 180) -> None:
        def ready() -> bool:
            assert self.runner.poll() is None, self.output()
            return "Ready:" in self.output()

        wait_until(ready, timeout_s, "vst serve to say it is ready", interval_s=0.2)
        for name in ("Redis", "worker 1", "API"):
            self.pid(name)

    def client(self, timeout_s: float = 30) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=timeout_s)

    def readiness(self) -> tuple[int, dict[str, Any]]:
        try:
            response = httpx.get(f"{self.base_url}/readyz", timeout=15)
        except httpx.HTTPError:
            return 0, {}
        return response.status_code, response.json()

    def restarts(self, client: httpx.Client) -> dict[str, float]:
        """``vst_process_restarts_total`` by process, from the API's /metrics."""
        text = client.get("/metrics").text
        found = re.findall(r'^vst_process_restarts_total\{process="(\w+)"\} ([0-9.e+]+)$', text, re.MULTILINE)
        return {process: float(value) for process, value in found}

    def stop_group(self, signum: int = signal.SIGTERM, timeout_s: float = 120) -> int:
        """Signal the runner's whole process group, as Ctrl-C in its terminal would; returns its exit code."""
        os.killpg(self.runner.pid, signum)
        return self.runner.wait(timeout=timeout_s)

    def close(self) -> None:
        for name in ("Redis", "worker 1", "API"):
            with contextlib.suppress(AssertionError):
                self.pid(name)
        if self.runner.poll() is None:
            self.runner.send_signal(signal.SIGTERM)
            try:
                self.runner.wait(timeout=90)
            except subprocess.TimeoutExpired:
                self.runner.kill()
                self.runner.wait()
        for pid in self._seen_pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


def submit(client: httpx.Client, side: int = 32, samples: int = 1) -> str:
    response = client.post(
        "/stylize",
        files={"content": ("p.png", png(side, side * 3 // 4), "image/png")},
        data={"style_id": STYLE, "max_side": str(side), "samples": str(samples), "variation": "1", "seed": "5"},
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def submit_big(client: httpx.Client) -> str:
    """A job that keeps the tiny model busy for a few seconds: eight 1024 px samples."""
    return submit(client, side=1024, samples=8)


def view(client: httpx.Client, job_id: str) -> dict[str, Any]:
    response = client.get(f"/jobs/{job_id}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def in_the_model(client: httpx.Client, job_id: str) -> bool:
    current = view(client, job_id)
    assert current["status"] in ("queued", "started"), f"the job ended before the fault: {current}"
    return current["status"] == "started" and current["progress"] >= 0.1
