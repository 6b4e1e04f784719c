"""``vst serve`` as a user runs it: Redis, a worker and the API come up, serve a job, and all stop on Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from app.redis_server import free_port
from tests.app.sample_images import png
from tests.service_stack import REPO_ROOT, clean_env, wait_for_job, wait_until


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_vst_serve_runs_the_service_and_stops_everything_on_ctrl_c(tiny_checkpoint: Path, tmp_path: Path) -> None:
    port = free_port()
    env = clean_env({"VST_CHECKPOINT": str(tiny_checkpoint), "VST_RUN_DIR": str(tmp_path), "VST_TORCH_THREADS": "1"})
    console = tmp_path / "console.txt"
    with console.open("w") as out:
        runner = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "serve", "--port", str(port)],
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"

    def announced_ready() -> bool:
        assert runner.poll() is None, console.read_text()
        return "Ready:" in console.read_text()

    try:
        wait_until(announced_ready, 180, "vst serve to say it is ready")
        assert _answers(f"{base_url}/readyz")
        with httpx.Client(base_url=base_url, timeout=30) as client:
            job = client.post(
                "/stylize",
                files={"content": ("p.png", png(32, 32), "image/png")},
                data={"style_id": "hokusai_great_wave"},
            )
            assert job.status_code == 202, job.text
            assert wait_for_job(client, job.json()["id"])["status"] == "finished"
    finally:
        runner.send_signal(signal.SIGINT)
        runner.wait(timeout=120)
    output = console.read_text()
    assert runner.returncode == 0, output
    for line in ("Redis:", "Worker 1:", "API:", "Ready:", "Stopped."):
        assert line in output, output
    assert (tmp_path / "logs" / "worker-1.log").is_file() and (tmp_path / "logs" / "api.log").is_file()
    assert not _answers(f"{base_url}/healthz"), "the API must be stopped"
    redis_url = output.split("Redis:")[1].split()[0]
    with Redis.from_url(redis_url, socket_connect_timeout=1) as redis, pytest.raises(RedisConnectionError):
        redis.ping()
