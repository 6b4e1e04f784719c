"""``vst serve`` as a user runs it: Redis, a worker and the API come up, serve a job, and all stop on Ctrl-C."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from app.redis_server import free_port, port_free, stable_port
from app.runner import Child, GaveUp, RestartBudget, Supervisor
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


def test_the_restart_pause_doubles_within_the_window_and_the_budget_runs_out() -> None:
    budget = RestartBudget(limit=3, window_s=60, delay_s=1, max_delay_s=3)
    assert [budget.next_delay(now) for now in (0, 1, 2)] == [1, 2, 3]
    assert budget.next_delay(3) is None, "a fourth restart within 60 s"
    # Once the first restarts are older than the window, there is room again, and the pause shrinks.
    assert budget.next_delay(61.5) == 2  # the restart at 2 s still counts
    assert budget.next_delay(130) == 1


def _child(name: str, code: str, tmp_path: Path, budget: RestartBudget) -> Child:
    log = tmp_path / f"{name}.log"
    args = [sys.executable, "-c", code]
    return Child(name, "worker", lambda: subprocess.Popen(args, stdout=subprocess.DEVNULL), log, budget)


def test_the_supervisor_restarts_a_process_that_exits_and_gives_up_past_its_budget(tmp_path: Path) -> None:
    failing = _child("failing", "import sys; sys.exit(3)", tmp_path, RestartBudget(limit=2, window_s=60, delay_s=0))
    steady = _child("steady", "import time; time.sleep(60)", tmp_path, RestartBudget(limit=2, window_s=60, delay_s=0))
    restarted: list[str] = []
    lines: list[str] = []
    supervisor = Supervisor([failing, steady], on_restart=restarted.append, log=lines.append)
    failing.start()
    steady.start()
    first_pid = failing.pid
    try:
        with pytest.raises(GaveUp, match=r"failing exited with code 3, its restart 3 within 60s; giving up"):
            for _ in range(2000):
                assert failing.process is not None
                failing.process.wait(timeout=30)
                supervisor.check()
                supervisor.check()  # the pause (0 s here) is over: it starts again
        assert restarted == ["worker", "worker"]
        assert failing.pid != first_pid
        assert (
            lines.count("failing exited with code 3; restarting in 0s (see " + str(tmp_path / "failing.log") + ")") == 2
        )
        assert steady.alive(), "a process that keeps running is left alone"
    finally:
        steady.kill()


def test_the_local_redis_port_is_remembered_across_restarts(tmp_path: Path) -> None:
    first = stable_port(tmp_path, preferred=free_port())
    assert stable_port(tmp_path, preferred=free_port()) == first
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", first))
        taken.listen()
        # Held by another program: never shared, a new port is chosen and remembered.
        other = stable_port(tmp_path, preferred=first)
        assert other != first and port_free(other)
    assert (tmp_path / "port").read_text().strip() == str(other)
