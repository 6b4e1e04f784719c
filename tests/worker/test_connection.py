"""The worker's Redis client waits for Redis (a restart, a blink) up to its budget, then gives up."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from app.redis_server import LocalRedis
from tests.service_stack import wait_until
from worker.connection import connect


def test_a_command_sent_while_redis_is_down_completes_once_it_is_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = LocalRedis(tmp_path / "redis")
    client = connect(server.start(), budget_s=120)
    try:
        client.set("before", b"1")  # a pooled connection, broken by the restart below
        server.stop()
        with caplog.at_level(logging.WARNING, logger="worker.connection"), ThreadPoolExecutor(1) as pool:
            pending = pool.submit(client.set, "during", b"2")
            wait_until(lambda: "Redis unreachable" in caplog.text, 60, "the command to meet the stopped Redis")
            assert not pending.done()
            server.start()  # same port
            assert pending.result(timeout=120) is True
        assert client.get("during") == b"2"
        assert "Redis answers again" in caplog.text
    finally:
        client.close()
        server.stop()


def test_past_its_budget_a_command_gives_up(tmp_path: Path) -> None:
    server = LocalRedis(tmp_path / "redis")
    url = server.start()
    server.stop()
    client = connect(url, budget_s=0.3)
    with pytest.raises(RedisConnectionError):
        client.ping()
    client.close()
