"""Configuration of a worker process: one pydantic-settings class, from the environment, validated at startup."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.settings import RedisUrl, load_validated, redis_url_field


class WorkerSettings(BaseSettings):
    """Settings of ``python -m worker``."""

    model_config = SettingsConfigDict(env_prefix="VST_", extra="ignore", frozen=True)

    redis_url: RedisUrl = redis_url_field("Redis shared with the API.")
    queue_name: str = Field(default="vst", min_length=1, description="RQ queue to take jobs from.")
    checkpoint: Path | None = Field(default=None, description="Model checkpoint (.safetensors); default: shipped.")
    device: Literal["auto", "cpu", "cuda"] = Field(default="auto", description="auto = cuda when available.")
    worker_name: str | None = Field(default=None, description="Name in Redis; default: host and pid.")
    torch_threads: int | None = Field(default=None, ge=1, description="CPU threads for torch; default: torch's.")
    heartbeat_interval_s: float = Field(
        default=5.0, gt=0, le=60, description="How often the worker says it is alive (readiness and running job)."
    )
    job_heartbeat_ttl_s: int = Field(
        default=60, ge=2, description="A running job whose worker is silent this long is retried or failed."
    )
    style_code_ttl_s: int = Field(default=7 * 24 * 3600, ge=1, description="How long cached style codes live.")
    maintenance_interval_s: int = Field(default=60, ge=1, description="How often RQ's registries are cleaned.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Level of the worker's log lines (and RQ's)."
    )

    @field_validator("checkpoint")
    @classmethod
    def _checkpoint_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"no checkpoint file at {value}")
        return value

    @model_validator(mode="after")
    def _heartbeat_fits(self) -> WorkerSettings:
        if self.job_heartbeat_ttl_s < 2 * self.heartbeat_interval_s:
            raise ValueError("VST_JOB_HEARTBEAT_TTL_S must be at least twice VST_HEARTBEAT_INTERVAL_S")
        return self


def load_settings() -> WorkerSettings:
    """The worker's settings, validated."""
    return load_validated(WorkerSettings, "worker")
