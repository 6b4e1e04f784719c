"""Every error the API can answer with, and the one place where errors become HTTP responses.

Routes and dependencies raise :class:`ApiError` (or let a library raise its own exception); the handlers
installed by :func:`install_error_handlers` turn each into the single error body of the API::

    {"detail": {"code": "<machine-readable>", "message": "<for a human>"}}
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.protocol import OptionRule

logger = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable error code.", examples=["not_an_image"])
    message: str = Field(description="What went wrong, for a human.", examples=["content: not a readable image"])


class ErrorBody(BaseModel):
    """The body of every 4xx and 5xx answer."""

    detail: ErrorDetail


class ApiError(Exception):
    """An error with its HTTP status, a stable code and a message."""

    status_code: int = 400
    code: str = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.headers = dict(headers or {})


class Unauthorized(ApiError):
    status_code = 401
    code = "missing_api_key"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message, code=code, headers={"WWW-Authenticate": "Bearer"})


class NotFound(ApiError):
    status_code = 404
    code = "not_found"


class Conflict(ApiError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(ApiError):
    status_code = 413
    code = "file_too_large"


class UnsupportedMedia(ApiError):
    status_code = 415
    code = "not_an_image"


class Unprocessable(ApiError):
    status_code = 422
    code = "invalid_request"


class QueueFull(ApiError):
    status_code = 429
    code = "queue_full"

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after_s)})


class ServiceUnavailable(ApiError):
    status_code = 503
    code = "not_ready"


def error_response(status_code: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    body = ErrorBody(detail=ErrorDetail(code=code, message=message))
    return JSONResponse(status_code=status_code, content=body.model_dump(), headers=dict(headers or {}))


# The error types of JobOptions' rules between options, which keep their own codes.
_OPTION_RULES = frozenset(rule.value for rule in OptionRule)


def _validation_message(errors: Sequence[Mapping[str, Any]]) -> str:
    parts = []
    for error in errors:
        if error.get("type") in _OPTION_RULES:
            # A rule's own message names the fields it is about.
            parts.append(str(error.get("msg", "invalid")))
            continue
        # loc is e.g. ("body", "alpha"): the part after the source names the field the client sent.
        location = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path", "header")]
        field = ".".join(location) or "request"
        parts.append(f"{field}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def invalid_options(exc: ValidationError) -> Unprocessable:
    """A job's options that :class:`app.protocol.JobOptions` refuses, as the API answers them.

    A broken rule between options answers its own code (``invalid_styles``, ``too_many_outputs``, ...); an
    option outside its range answers ``invalid_request``, as the form's own validation does.
    """
    errors = exc.errors()
    rule = next((str(e["type"]) for e in errors if e["type"] in _OPTION_RULES), None)
    return Unprocessable(_validation_message(errors), code=rule or "invalid_request")


_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    415: "unsupported_media_type",
}


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status_code, exc.code, exc.message, exc.headers)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(422, "invalid_request", _validation_message(exc.errors()))


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    code = _HTTP_CODES.get(status, f"http_{status}")
    message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(status).phrase
    if status == 400 and exc.__cause__ is not None:
        # FastAPI hides why a multipart body could not be parsed; the cause is safe to show.
        message = f"{message}: {exc.__cause__}"
    return error_response(status, code, message, exc.headers)


async def _redis_error(_: Request, exc: Exception) -> JSONResponse:
    logger.error("Redis error: %s", exc)
    return error_response(503, "redis_unavailable", "the job store (Redis) cannot be reached; try again later")


async def _unexpected_error(_: Request, exc: Exception) -> JSONResponse:
    logger.exception("unexpected error", exc_info=exc)
    return error_response(500, "internal_error", "an unexpected error happened on the server")


def install_error_handlers(app: FastAPI) -> None:
    """The single mapping from exceptions to HTTP answers."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RedisError, _redis_error)
    app.add_exception_handler(Exception, _unexpected_error)


def error_responses(*statuses: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI ``responses=`` entries documenting the error body for the given statuses."""
    return {status: {"model": ErrorBody, "description": HTTPStatus(status).phrase} for status in statuses}
