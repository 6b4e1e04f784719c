"""What a valid request may ask (``GET /limits``), so that a client builds its forms from the server's limits.

Every value comes from :mod:`app.protocol`, which the routes and the worker enforce, or from this server's
settings; none is written here.
"""

from __future__ import annotations

from typing import get_args

from fastapi import APIRouter

from app.deps import SettingsDep
from app.images import MIN_CONTENT_SIDE
from app.protocol import (
    MAX_FEATHER_PX,
    MAX_OUTPUTS,
    MAX_SAMPLES,
    MAX_SEED,
    MAX_STEPS,
    MAX_STYLES,
    MAX_VARIATION,
    MIN_MAX_SIDE,
    MIN_STEPS,
    ImageFormat,
)
from app.schemas import Limits
from app.waiting import MAX_WAIT_S

router = APIRouter(tags=["limits"])


@router.get(
    "/limits",
    summary="The limits of a valid request: job options, sizes and uploads",
    description="Read-only; needs no API key, like the OpenAPI document that states the same limits.",
)
def get_limits(settings: SettingsDep) -> Limits:
    return Limits(
        max_styles=MAX_STYLES,
        max_samples=MAX_SAMPLES,
        min_steps=MIN_STEPS,
        max_steps=MAX_STEPS,
        max_outputs=MAX_OUTPUTS,
        max_variation=MAX_VARIATION,
        max_feather_px=MAX_FEATHER_PX,
        max_seed=MAX_SEED,
        formats=list(get_args(ImageFormat)),
        min_max_side=MIN_MAX_SIDE,
        max_side_limit=settings.max_side_limit,
        default_max_side=settings.default_max_side,
        min_content_side=MIN_CONTENT_SIDE,
        max_upload_bytes=settings.max_upload_bytes,
        max_request_bytes=settings.max_request_bytes,
        max_image_pixels=settings.max_image_pixels,
        max_wait_s=MAX_WAIT_S,
    )
