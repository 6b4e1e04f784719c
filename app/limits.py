"""Limits enforced before a request reaches a route: a cap on request bodies and a per-client rate limit.

The body cap works while the body streams in. A declared ``Content-Length`` over the cap is refused before
reading anything; a chunked body without one is counted as it arrives and refused as soon as it passes the
cap. Either way the client gets 413 with the API's error body, and the server never buffers more than the cap.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import secrets
import time

from redis import Redis
from redis.exceptions import RedisError
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import error_response
from app.protocol import KEY_PREFIX
from app.security import owner_id, presented_key, valid_key

logger = logging.getLogger(__name__)


class BodyTooLarge(Exception):
    """Raised inside the app's ``receive`` when the body passes the cap."""


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _refuse(self, send: Send) -> None:
        body = json.dumps(
            {
                "detail": {
                    "code": "request_too_large",
                    "message": f"the request body is larger than {self.max_bytes} bytes",
                }
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    await self._refuse(send)
                    return

        received = 0
        too_large = False
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    too_large = True
                    raise BodyTooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if too_large and not response_started:
                # The app answered its own error for the cut-off body (e.g. a parse error): ours replaces it.
                return
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        with contextlib.suppress(BodyTooLarge):
            await self.app(scope, counting_receive, guarded_send)
        if too_large and not response_started:
            await self._refuse(send)


class RateLimitMiddleware:
    """At most ``max_requests`` in any ``window_s`` seconds for each client; 429 with ``Retry-After`` beyond.

    A client is its API key when it presents a valid one, else its IP address (behind a proxy, run uvicorn
    with ``--proxy-headers --forwarded-allow-ips`` so that this is the real client's). Each client's recent
    requests are a sliding log in Redis (a sorted set of timestamps), so every API replica enforces the same
    budget and there is no window edge at which a client gets twice its share. Refused requests use up no
    budget. The health probes are exempt. When Redis cannot be reached the request goes through: the
    route then answers 503 itself.
    """

    def __init__(
        self,
        app: ASGIApp,
        redis: Redis,
        namespace: str,
        max_requests: int,
        window_s: int,
        api_keys: list[str],
        exempt: set[str],
    ) -> None:
        self.app = app
        self.redis = redis
        self.namespace = namespace
        self.max_requests = max_requests
        self.window_s = window_s
        self.api_keys = api_keys
        self.exempt = exempt

    def client_of(self, scope: Scope) -> str:
        key = presented_key(scope.get("headers", []))
        if key is not None and valid_key(key, self.api_keys):
            return f"key:{owner_id(key)}"
        # An invalid key counts against the IP: inventing keys does not buy fresh budgets.
        client = scope.get("client")
        return f"ip:{client[0] if client else 'unknown'}"

    def wait_needed(self, client: str, now: float) -> int:
        """0 when this request is within the client's budget, else the seconds until it would be."""
        key = f"{KEY_PREFIX}:ratelimit:{self.namespace}:{client}"
        member = f"{now:.6f}:{secrets.token_hex(4)}"
        with self.redis.pipeline() as pipe:
            pipe.zremrangebyscore(key, 0, now - self.window_s)
            pipe.zadd(key, {member: now})
            pipe.zcard(key)
            pipe.zrange(key, 0, 0, withscores=True)
            pipe.expire(key, self.window_s + 1)
            _, _, count, oldest, _ = pipe.execute()
        if int(count) <= self.max_requests:
            return 0
        self.redis.zrem(key, member)
        # Room comes back when the oldest request in the log leaves the window.
        return max(1, math.ceil(float(oldest[0][1]) + self.window_s - now))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.exempt:
            await self.app(scope, receive, send)
            return
        try:
            retry_after = await run_in_threadpool(self.wait_needed, self.client_of(scope), time.time())
        except RedisError as exc:
            logger.warning("rate limit not applied, Redis unreachable: %s", exc)
            retry_after = 0
        if retry_after:
            response = error_response(
                429,
                "rate_limited",
                f"more than {self.max_requests} requests in {self.window_s} s from this client; "
                f"try again in {retry_after} s",
                {"Retry-After": str(retry_after)},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
