"""``vst serve``: Redis (unless ``REDIS_URL`` is set), N workers and the API as one supervised process tree.

Every child runs in a session of its own, so that Ctrl-C or a signal to the runner's process group reaches
only this runner, which then stops them in order: the API first (no new jobs), then the workers (warm
shutdown: running jobs finish; past ``VST_STOP_GRACE_S`` a second signal puts the job back in the queue),
then Redis (which writes its append-only file on the way out).

While running, the runner restarts a child that exits unexpectedly, after a pause that doubles with each
restart in the window; past ``VST_RESTART_LIMIT`` restarts of one child within ``VST_RESTART_WINDOW_S`` it
gives up and stops the service. Restarts are logged and counted in Redis, where the API's ``/metrics``
reads them. A small supervisor of its own fits this better than a process manager (supervisord, circus):
those need a configuration file and a daemon of their own, and know nothing of the stop order above,
of Redis's readiness, or of the workers' readiness keys that a restart must clear.

This module never imports torch; the workers do, in their own processes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import FrameType

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from redis import Redis
from redis.exceptions import RedisError

from app.protocol import default_worker_name, restarts_key, worker_ready_key, worker_ready_prefix
from app.redis_server import LocalRedis, RedisServerError, stable_port
from app.settings import REPO_ROOT, RedisUrl, SettingsError, load_validated

DEFAULT_REDIS_PORT = 6379
MAX_RESTART_DELAY_S = 30.0


class RunnerSettings(BaseSettings):
    """Settings of the local runner itself (the API and workers read their own)."""

    model_config = SettingsConfigDict(env_prefix="VST_", extra="ignore", frozen=True)

    run_dir: Path = Field(default=REPO_ROOT / ".run", description="Where logs and the local Redis's data go.")
    redis_url: RedisUrl | None = Field(default=None, alias="REDIS_URL", description="Use this Redis; none = start one.")
    queue_name: str = Field(
        default="vst",
        min_length=1,
        description="The workers' and the API's queue (the same VST_QUEUE_NAME): readiness and restarts are per queue.",
    )
    startup_timeout_s: float = Field(default=600, gt=0, description="How long to wait for the service to be ready.")
    restart_limit: int = Field(
        default=5, ge=0, description="Restarts of one process within the window, past which the service stops."
    )
    restart_window_s: float = Field(default=60, gt=0, description="The window of the restart limit, in seconds.")
    restart_delay_s: float = Field(
        default=1.0, ge=0, description="Pause before a restart; doubles with each restart in the window (30 s at most)."
    )
    stop_grace_s: float = Field(
        default=60, gt=0, description="On stop, how long a worker may take to finish its job before it is requeued."
    )


class RestartBudget:
    """When to restart a process that exited: a pause doubling per recent restart, or never (``None``)."""

    def __init__(self, limit: int, window_s: float, delay_s: float, max_delay_s: float = MAX_RESTART_DELAY_S) -> None:
        self.limit = limit
        self.window_s = window_s
        self.delay_s = delay_s
        self.max_delay_s = max_delay_s
        self.restarts: deque[float] = deque()

    def next_delay(self, now: float) -> float | None:
        """Record a restart at ``now`` and return the pause before it; ``None`` once the limit is used up."""
        while self.restarts and now - self.restarts[0] > self.window_s:
            self.restarts.popleft()
        if len(self.restarts) >= self.limit:
            return None
        delay = min(self.max_delay_s, self.delay_s * 2 ** len(self.restarts))
        self.restarts.append(now)
        return delay


@dataclass
class Child:
    """A supervised process: started by ``launch``, restarted by :class:`Supervisor`."""

    name: str
    kind: str  # "worker", "api" or "redis": the label of the restart counter
    launch: Callable[[], subprocess.Popen[bytes]]
    log_path: Path
    budget: RestartBudget
    process: subprocess.Popen[bytes] | None = None
    restart_at: float | None = None
    on_exit: Callable[[int], None] = field(default=lambda pid: None)

    def start(self) -> None:
        self.process = self.launch()
        self.restart_at = None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def signal(self, signum: int) -> None:
        if self.alive():
            assert self.process is not None
            self.process.send_signal(signum)

    def wait(self, timeout_s: float) -> bool:
        """Whether the process has exited within ``timeout_s``."""
        if self.process is None:
            return True
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return False
        return True

    def kill(self) -> None:
        if self.alive():
            assert self.process is not None
            self.process.kill()
            self.process.wait()


class GaveUp(RuntimeError):
    """A child exited more often than its restart budget allows."""


class Supervisor:
    """Restarts children that exit while the service runs; ``on_restart(kind)`` is told of each restart."""

    def __init__(self, children: list[Child], on_restart: Callable[[str], None], log: Callable[[str], None]) -> None:
        self.children = children
        self.on_restart = on_restart
        self.log = log

    def check(self, now: float | None = None) -> None:
        """Notice exits and start the children whose pause is over; raises :class:`GaveUp` past a budget."""
        now = time.monotonic() if now is None else now
        for child in self.children:
            if child.restart_at is not None:
                if now >= child.restart_at:
                    child.start()
                    self.log(f"{child.name} restarted (pid {child.pid})")
                    self.on_restart(child.kind)
                continue
            if child.alive() or child.process is None:
                continue
            code = child.process.returncode
            child.on_exit(child.process.pid)
            delay = child.budget.next_delay(now)
            if delay is None:
                raise GaveUp(
                    f"{child.name} exited with code {code}, its restart {child.budget.limit + 1} within "
                    f"{child.budget.window_s:.0f}s; giving up (see {child.log_path})"
                )
            self.log(f"{child.name} exited with code {code}; restarting in {delay:.0f}s (see {child.log_path})")
            child.restart_at = now + delay


class _Interrupted(Exception):
    pass


def _popen(args: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as log:
        return subprocess.Popen(
            args,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


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


class _RestartCounter:
    """Counts restarts in Redis for the API's ``/metrics``; counts made while Redis is away are sent later."""

    def __init__(self, redis: Redis, queue_name: str) -> None:
        self.redis = redis
        self.key = restarts_key(queue_name)
        self.pending: dict[str, int] = {}

    def add(self, kind: str) -> None:
        self.pending[kind] = self.pending.get(kind, 0) + 1
        self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        try:
            with self.redis.pipeline() as pipe:
                for kind, count in self.pending.items():
                    pipe.hincrby(self.key, kind, count)
                pipe.execute()
            self.pending.clear()
        except RedisError:
            pass  # Redis is restarting: the next flush sends them


def _print(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> int:
    """Run the whole service locally until Ctrl-C (or SIGTERM); returns the exit code."""
    try:
        settings = load_validated(RunnerSettings, "vst serve")
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    if workers < 1:
        print("vst serve: --workers must be at least 1", file=sys.stderr)
        return 2
    run_dir = settings.run_dir
    logs = run_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise _Interrupted()

    def budget() -> RestartBudget:
        return RestartBudget(settings.restart_limit, settings.restart_window_s, settings.restart_delay_s)

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    local_redis: LocalRedis | None = None
    redis_child: Child | None = None
    workers_: list[Child] = []
    api: Child | None = None
    client: Redis | None = None
    code = 0
    try:
        if settings.redis_url:
            redis_url = settings.redis_url
            print(f"Redis:   {redis_url} (from REDIS_URL)", flush=True)
        else:
            # The port of the last run, else 6379: clients keep the printed URL across restarts.
            redis_folder = run_dir / "redis"
            local_redis = LocalRedis(redis_folder, port=stable_port(redis_folder, DEFAULT_REDIS_PORT), persist=True)
            redis_url = local_redis.start()
            server = local_redis

            def launch_redis() -> subprocess.Popen[bytes]:
                server.start()
                assert server.process is not None
                return server.process

            redis_child = Child("Redis", "redis", launch_redis, local_redis.log_path, budget())
            redis_child.process = local_redis.process
            print(f"Redis:   {redis_url} (pid {redis_child.pid}, log {local_redis.log_path})", flush=True)
        client = Redis.from_url(redis_url, socket_connect_timeout=1, socket_timeout=5)
        queue = settings.queue_name
        hostname = socket.gethostname()
        if local_redis is not None:
            # Readiness keys of workers of an earlier run live on in the append-only file for a few seconds;
            # this Redis is ours alone, so none of them is a live worker.
            stale = list(client.scan_iter(match=f"{worker_ready_prefix(queue)}*", count=100))
            if stale:
                client.delete(*stale)

        def forget_worker(pid: int) -> None:
            # A killed worker cannot withdraw its readiness; without this /readyz would list it until its key expires.
            name = os.environ.get("VST_WORKER_NAME") or default_worker_name(hostname, pid)
            with contextlib.suppress(RedisError):
                assert client is not None
                client.delete(worker_ready_key(queue, name))

        env = {**os.environ, "REDIS_URL": redis_url, "PYTHONUNBUFFERED": "1"}
        for index in range(1, workers + 1):
            log_path = logs / f"worker-{index}.log"
            worker = Child(
                f"worker {index}",
                "worker",
                partial(_popen, [sys.executable, "-m", "worker"], env, log_path),
                log_path,
                budget(),
                on_exit=forget_worker,
            )
            worker.start()
            workers_.append(worker)
            print(f"Worker {index}: pid {worker.pid}, log {worker.log_path}", flush=True)
        api_args = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", host, "--port", str(port)]
        api_log = logs / "api.log"
        api = Child("API", "api", partial(_popen, api_args, env, api_log), api_log, budget())
        api.start()
        base_url = f"http://{host}:{port}"
        print(f"API:     {base_url} (pid {api.pid}, log {api.log_path})", flush=True)
        counter = _RestartCounter(client, queue)
        supervisor = Supervisor(
            [c for c in [redis_child, *workers_, api] if c is not None], on_restart=counter.add, log=_print
        )
        print("Loading the model ...", flush=True)
        deadline = time.monotonic() + settings.startup_timeout_s
        while _get(f"{base_url}/readyz") != 200:
            supervisor.check()
            if time.monotonic() > deadline:
                raise RuntimeError(f"the service was not ready within {settings.startup_timeout_s:.0f}s; see the logs")
            time.sleep(0.25)
        print(f"Ready:   {base_url}/ (web page), {base_url}/docs (API docs). Ctrl-C stops everything.", flush=True)
        while True:
            supervisor.check()
            counter.flush()
            time.sleep(0.25)
    except _Interrupted:
        print("\nStopping ...", flush=True)
    except (GaveUp, RuntimeError, RedisServerError, RedisError) as exc:
        print(f"vst serve: {exc}", file=sys.stderr, flush=True)
        code = 1
    finally:
        # Ignore further Ctrl-C while stopping, so that the shutdown itself is never cut short.
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)
        _stop(api, workers_, local_redis, settings.stop_grace_s)
        if client is not None:
            client.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        print("Stopped.", flush=True)
    return code


def _stop(api: Child | None, workers: list[Child], redis: LocalRedis | None, grace_s: float) -> None:
    """The API first (no new jobs), then the workers (their jobs finish or go back to the queue), then Redis."""
    if api is not None:
        api.signal(signal.SIGTERM)
        if not api.wait(15):
            _print("API did not stop within 15s; killing it")
            api.kill()
    for worker in workers:
        worker.signal(signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for worker in workers:
        if not worker.wait(max(0.0, deadline - time.monotonic())):
            # The second signal: the worker stops its job and puts it back in the queue, retries intact.
            _print(f"{worker.name} still busy after {grace_s:g}s; its job goes back to the queue")
            worker.signal(signal.SIGTERM)
    for worker in workers:
        if not worker.wait(15):
            _print(f"{worker.name} did not stop; killing it")
            worker.kill()
    if redis is not None:
        redis.stop()
