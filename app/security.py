"""Optional API keys (``VST_API_KEYS``): who is calling, and whose jobs and styles they may see.

With no keys configured the service has one shared tenant and every caller is anonymous. With keys,
every route but the health probes needs one, sent as ``X-API-Key: <key>`` or ``Authorization: Bearer
<key>``, and each key only ever sees the jobs and uploaded styles it created (others get the same 404 as
an unknown id, so nothing reveals that they exist). Redis never holds a key, only its *owner id*: a
truncated sha256 of it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from app.errors import Unauthorized
from app.settings import ApiSettings

API_KEY_HEADER = "X-API-Key"

_api_key_header = APIKeyHeader(
    name=API_KEY_HEADER, auto_error=False, description="One of VST_API_KEYS (only when the server sets them)."
)
_bearer = HTTPBearer(auto_error=False, description="The same API key as a bearer token.")


def owner_id(api_key: str) -> str:
    """The id stored with a key's jobs and styles: not the key itself, so a Redis dump reveals no key."""
    return hashlib.sha256(f"vst-owner:{api_key}".encode()).hexdigest()[:32]


def valid_key(presented: str | None, keys: Iterable[str]) -> bool:
    """Whether ``presented`` is one of ``keys``, compared in constant time."""
    if not presented:
        return False
    found = False
    for key in keys:
        # No early exit: the time taken does not tell which key (or how much of it) matched.
        found |= hmac.compare_digest(presented.encode(), key.encode())
    return found


def presented_key(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The key a request carries, from raw ASGI headers (used before routing, by the rate limiter)."""
    api_key = bearer = None
    for name, value in headers:
        if name == b"x-api-key":
            api_key = value.decode("latin-1").strip() or None
        elif name == b"authorization":
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer":
                bearer = credentials.strip() or None
    # The same precedence as authenticate().
    return api_key or bearer


@dataclass(frozen=True)
class Caller:
    """Who sent the request: ``owner`` is None when the service runs without keys."""

    owner: str | None


def authenticate(
    request: Request,
    api_key: Annotated[str | None, Security(_api_key_header)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> Caller:
    settings: ApiSettings = request.app.state.settings
    keys = settings.api_key_list
    if not keys:
        return Caller(owner=None)
    key = api_key or (bearer.credentials if bearer is not None else None)
    if not key:
        raise Unauthorized(f"this API needs a key: send it as `{API_KEY_HEADER}` or `Authorization: Bearer`")
    if not valid_key(key, keys):
        raise Unauthorized("the API key is not valid", code="invalid_api_key")
    return Caller(owner=owner_id(key))


CallerDep = Annotated[Caller, Depends(authenticate)]
