"""Configuration of the API process: one pydantic-settings class, read from the environment and validated at startup.

Every setting has the ``VST_`` prefix except ``REDIS_URL``, which keeps the name every Redis tool uses.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.protocol import DEFAULT_MAX_SIDE, MIN_MAX_SIDE

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
MIB = 1024 * 1024
MIN_API_KEY_LENGTH = 16
_ORIGIN = re.compile(r"^https?://[^/\s,]+$")


def _comma_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


# The URL schemes redis-py connects with.
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def check_redis_url(value: str) -> str:
    if not value.startswith(REDIS_SCHEMES):
        raise ValueError(
            f"REDIS_URL must start with {', '.join(REDIS_SCHEMES[:-1])} or {REDIS_SCHEMES[-1]}, got {value!r}"
        )
    return value


# A Redis URL as every process reads it: the scheme is checked at startup, not at the first connection.
RedisUrl = Annotated[str, AfterValidator(check_redis_url)]


def redis_url_field(description: str) -> Any:
    """The ``redis_url`` setting of the API and the worker: ``REDIS_URL``, the name every Redis tool uses, or
    ``VST_REDIS_URL``."""
    return Field(
        default=DEFAULT_REDIS_URL, validation_alias=AliasChoices("REDIS_URL", "VST_REDIS_URL"), description=description
    )


class ApiSettings(BaseSettings):
    """Settings of the API process (``uvicorn app.main:app``)."""

    model_config = SettingsConfigDict(env_prefix="VST_", extra="ignore", frozen=True)

    redis_url: RedisUrl = redis_url_field("Redis shared by the API and the workers.")
    queue_name: str = Field(default="vst", min_length=1, description="RQ queue the jobs go to.")
    max_upload_bytes: int = Field(default=16 * MIB, ge=1024, description="Largest accepted image file, in bytes.")
    max_request_bytes: int = Field(
        default=128 * MIB, ge=1024, description="Largest accepted request body (all files together), in bytes."
    )
    max_image_pixels: int = Field(
        default=40_000_000, ge=64, description="Largest accepted image, in pixels (width x height), before decoding."
    )
    max_side_limit: int = Field(
        default=2048, ge=MIN_MAX_SIDE, description="Cap on the `max_side` a client may ask for."
    )
    default_max_side: int = Field(
        default=DEFAULT_MAX_SIDE, ge=MIN_MAX_SIDE, description="Output's longest side when the client gives none."
    )
    max_queue_length: int = Field(default=100, ge=1, description="Queued jobs beyond which new ones get 429.")
    retry_after_s: int = Field(default=10, ge=1, description="Retry-After sent with a 429 for a full queue.")
    job_timeout_s: int = Field(default=600, ge=1, description="A job running longer than this is stopped and failed.")
    job_retries: int = Field(default=1, ge=0, le=10, description="How often a failed or abandoned job is retried.")
    result_ttl_s: int = Field(default=3600, ge=10, description="How long results (and job inputs) stay in Redis.")
    max_registered_styles: int = Field(default=500, ge=1, description="Uploaded styles kept at most.")
    gallery_dirs: tuple[Path, ...] = Field(
        default=(REPO_ROOT / "data" / "train" / "style", REPO_ROOT / "data" / "eval" / "style"),
        description="Folders of bundled paintings offered as the built-in style gallery.",
    )
    gallery_manifest: Path = Field(
        default=REPO_ROOT / "data" / "MANIFEST.tsv", description="Titles and artists of the gallery paintings."
    )
    api_keys: SecretStr = Field(
        default=SecretStr(""),
        description="Comma-separated API keys (each at least 16 characters). When set, every route but /healthz and "
        "/readyz needs one (`X-API-Key: <key>` or `Authorization: Bearer <key>`), and jobs and uploaded styles are "
        "visible only to the key that created them. Empty: no keys, one shared tenant.",
    )
    rate_limit_requests: int = Field(
        default=0,
        ge=0,
        description="Requests one client (an API key, else an IP address) may make per window; 0 = no limit. "
        "Counted in Redis, so the limit holds across API replicas.",
    )
    rate_limit_window_s: int = Field(default=60, ge=1, description="The rate limit's window, in seconds.")
    cors_origins: str = Field(
        default="",
        description="Comma-separated origins (https://example.org) allowed to call the API from a browser page of "
        "theirs; empty (the default) = no cross-origin access.",
    )
    survey_dir: Path | None = Field(
        default=REPO_ROOT / "survey",
        description="Folder of the prepared survey set (manifest.json + images/, written by `vst survey-prepare`); "
        "the survey pages say how to prepare one while it is missing.",
    )

    @field_validator("api_keys")
    @classmethod
    def _strong_keys(cls, value: SecretStr) -> SecretStr:
        short = [key for key in _comma_list(value.get_secret_value()) if len(key) < MIN_API_KEY_LENGTH]
        if short:
            # Never echo a key: say only how many are too short.
            raise ValueError(f"{len(short)} key(s) shorter than {MIN_API_KEY_LENGTH} characters; use long random keys")
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        bad = [origin for origin in _comma_list(value) if origin != "*" and not _ORIGIN.match(origin)]
        if bad:
            raise ValueError(f"origins must look like https://host[:port], got {bad}")
        return value

    @property
    def api_key_list(self) -> list[str]:
        return _comma_list(self.api_keys.get_secret_value())

    @property
    def cors_origin_list(self) -> list[str]:
        return _comma_list(self.cors_origins)

    @model_validator(mode="after")
    def _consistent(self) -> ApiSettings:
        if self.max_request_bytes < self.max_upload_bytes:
            raise ValueError("VST_MAX_REQUEST_BYTES must be >= VST_MAX_UPLOAD_BYTES")
        if self.default_max_side > self.max_side_limit:
            raise ValueError("VST_DEFAULT_MAX_SIDE must be <= VST_MAX_SIDE_LIMIT")
        return self


class SettingsError(RuntimeError):
    """The environment holds an invalid setting; the message names it."""


def environment_names(settings_class: type[BaseSettings], name: str) -> list[str]:
    """The variables that set the field ``name``: its aliases when it has any, else the prefixed field name."""
    field = settings_class.model_fields[name]
    alias = field.validation_alias or field.alias
    if isinstance(alias, AliasChoices):
        return [str(choice) for choice in alias.choices]
    if isinstance(alias, str):
        return [alias]
    if alias is not None:
        raise TypeError(f"{settings_class.__name__}.{name}: an alias of type {type(alias).__name__} is not supported")
    return [f"{settings_class.model_config.get('env_prefix', '')}{name}".upper()]


def _variable(settings_class: type[BaseSettings], key: str) -> str:
    """The environment variable behind a validation error's location (pydantic names a field or its first alias):
    of a field's several names, the one that is set."""
    environment = {variable.upper() for variable in os.environ}  # pydantic-settings reads them case-insensitively
    for name in settings_class.model_fields:
        names = environment_names(settings_class, name)
        if key == name or key in names:
            return next((variable for variable in names if variable.upper() in environment), names[0])
    return key


def _problem(settings_class: type[BaseSettings], error: ErrorDetails) -> str:
    """One line per problem: "VARIABLE: why", or the model check's own sentence, which names its variables."""
    message = error["msg"].removeprefix("Value error, ")
    return f"{_variable(settings_class, str(error['loc'][0]))}: {message}" if error["loc"] else message


SettingsT = TypeVar("SettingsT", bound=BaseSettings)


def load_validated(settings_class: type[SettingsT], process: str) -> SettingsT:
    """Read and validate a process's settings, turning pydantic's report into one readable message.

    Shared by the API, the worker and ``vst serve`` (each has its own settings class).
    """
    try:
        return settings_class()
    except ValidationError as exc:
        problems = "; ".join(_problem(settings_class, error) for error in exc.errors())
        raise SettingsError(f"invalid {process} configuration: {problems}") from None


def load_settings() -> ApiSettings:
    """The API's settings, validated."""
    return load_validated(ApiSettings, "API")
