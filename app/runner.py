"""``vst serve``: Redis (unless ``REDIS_URL`` is set), N workers and the API as one process tree.

Every child runs in its own session, so that Ctrl-C reaches only this runner, which then stops them
in order: the API first (no new jobs), then the workers (warm shutdown: running jobs finish), then Redis.
This module never imports torch; the workers do, in their own processes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.redis_server import LocalRedis, RedisServerError, free_port

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REDIS_PORT = 6379


class RunnerSettings(BaseSettings):
    """Settings of the local runner itself (the API and workers read their own)."""

    model_config = SettingsConfigDict(env_prefix="VST_", extra="ignore", frozen=True)

    run_dir: Path = Field(default=REPO_ROOT / ".run", description="Where logs and the local Redis's data go.")
    redis_url: str | None = Field(default=None, alias="REDIS_URL", description="Use this Redis; none = start one.")
    startup_timeout_s: float = Field(default=600, gt=0, description="How long to wait for the service to be ready.")


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout_s: float) -> None:
        if not self.alive():
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            print(f"  {self.name} did not stop within {timeout_s:.0f}s; killing it", flush=True)
            self.process.kill()
            self.process.wait()


class _Interrupted(Exception):
    pass


def _spawn(name: str, args: list[str], env: dict[str, str], log_path: Path) -> Child:
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            args,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Child(name=name, process=process, log_path=log_path)


# The service is local: never send its health checks through an HTTP proxy from the environment.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _get(url: str) -> int:
    try:
        with _DIRECT.open(url, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError):
        return 0


def _wait_ready(base_url: str, children: list[Child], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while _get(f"{base_url}/readyz") != 200:
        for child in children:
            if not child.alive():
                raise RuntimeError(f"{child.name} exited with code {child.process.returncode}; see {child.log_path}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the service was not ready within {timeout_s:.0f}s; see the logs above")
        time.sleep(0.25)


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> int:
    """Run the whole service locally until Ctrl-C (or SIGTERM); returns the exit code."""
    try:
        settings = RunnerSettings()
    except ValidationError as exc:
        print(f"vst serve: invalid configuration: {exc}", file=sys.stderr)
        return 2
    if workers < 1:
        print("vst serve: --workers must be at least 1", file=sys.stderr)
        return 2
    run_dir = settings.run_dir
    logs = run_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise _Interrupted()

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    redis: LocalRedis | None = None
    children: list[Child] = []
    code = 0
    try:
        if settings.redis_url:
            redis_url = settings.redis_url
            print(f"Redis:   {redis_url} (from REDIS_URL)", flush=True)
        else:
            # 6379 when free; another Redis already there may hold someone else's data, so never share it.
            redis_port = DEFAULT_REDIS_PORT if _port_free(DEFAULT_REDIS_PORT) else free_port()
            redis = LocalRedis(run_dir / "redis", port=redis_port, persist=True)
            redis_url = redis.start()
            print(f"Redis:   {redis_url} (pid {redis.process.pid if redis.process else '?'}, log {redis.log_path})")
        env = {**os.environ, "REDIS_URL": redis_url, "PYTHONUNBUFFERED": "1"}
        for index in range(1, workers + 1):
            worker = _spawn(f"worker {index}", [sys.executable, "-m", "worker"], env, logs / f"worker-{index}.log")
            children.append(worker)
            print(f"Worker {index}: pid {worker.process.pid}, log {worker.log_path}", flush=True)
        api_args = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", host, "--port", str(port)]
        api = _spawn("API", api_args, env, logs / "api.log")
        children.append(api)
        base_url = f"http://{host}:{port}"
        print(f"API:     {base_url} (pid {api.process.pid}, log {api.log_path})", flush=True)
        print("Loading the model ...", flush=True)
        _wait_ready(base_url, children, settings.startup_timeout_s)
        print(f"Ready:   {base_url}/ (web page), {base_url}/docs (API docs). Ctrl-C stops everything.", flush=True)
        while True:
            for child in children:
                if not child.alive():
                    raise RuntimeError(
                        f"{child.name} exited with code {child.process.returncode}; see {child.log_path}"
                    )
            time.sleep(0.5)
    except _Interrupted:
        print("\nStopping ...", flush=True)
    except (RuntimeError, RedisServerError) as exc:
        print(f"vst serve: {exc}", file=sys.stderr, flush=True)
        code = 1
    finally:
        # Ignore further Ctrl-C while stopping, so that the shutdown itself is never cut short.
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)
        for child in reversed(children):
            child.stop(timeout_s=60 if child.name.startswith("worker") else 15)
        if redis is not None:
            redis.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        print("Stopped.", flush=True)
    return code


def _port_free(port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
