"""Dependencies shared by the routes, as ``Annotated`` aliases: ``def route(store: StoreDep)``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from redis import Redis

from app.settings import ApiSettings


def get_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


def get_redis(request: Request) -> Redis:
    connection: Redis = request.app.state.redis
    return connection


SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
RedisDep = Annotated[Redis, Depends(get_redis)]
