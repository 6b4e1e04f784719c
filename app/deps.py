"""Dependencies shared by the routes, as ``Annotated`` aliases: ``def route(jobs: JobStoreDep)``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from redis import Redis

from app.jobs import JobStore
from app.settings import ApiSettings
from app.styles import StyleRegistry
from app.waiting import JobWaiter


def get_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


def get_redis(request: Request) -> Redis:
    connection: Redis = request.app.state.redis
    return connection


def get_job_store(request: Request) -> JobStore:
    store: JobStore = request.app.state.jobs
    return store


def get_job_waiter(request: Request) -> JobWaiter:
    waiter: JobWaiter = request.app.state.waiter
    return waiter


def get_style_registry(request: Request) -> StyleRegistry:
    registry: StyleRegistry = request.app.state.styles
    return registry


SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
RedisDep = Annotated[Redis, Depends(get_redis)]
JobStoreDep = Annotated[JobStore, Depends(get_job_store)]
JobWaiterDep = Annotated[JobWaiter, Depends(get_job_waiter)]
StyleRegistryDep = Annotated[StyleRegistry, Depends(get_style_registry)]
