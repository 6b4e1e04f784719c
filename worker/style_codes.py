"""The style-code cache: a style image is encoded once per model, then its code comes from Redis.

Keys are the sha256 of the style image's bytes (as the API stored them) and the model's hash, values are
``StyleCode.to_bytes()`` (raw float32, no pickle), so every worker sharing the Redis shares the cache.
"""

from __future__ import annotations

import io
from typing import cast

from PIL import Image

from app.protocol import StyleInput, style_code_key
from model.inference import StyleCode
from worker.errors import InputError
from worker.runtime import Runtime


def style_code(runtime: Runtime, style: StyleInput) -> tuple[StyleCode, bool]:
    """The style's code, and whether it came from the cache."""
    key = style_code_key(runtime.model_sha256, style.sha256)
    cached = cast(bytes | None, runtime.redis.get(key))
    if cached is not None and len(cached) == 8 * runtime.stylizer.latent_dim:
        return StyleCode.from_bytes(cached), True
    data = cast(bytes | None, runtime.redis.get(style.key))
    if data is None:
        raise InputError("input_expired", "a style image of this job expired before the job ran")
    code = runtime.stylizer.encode_style(open_image(data, "style"))
    runtime.redis.set(key, code.to_bytes(), ex=runtime.settings.style_code_ttl_s)
    return code, False


def open_image(data: bytes, what: str) -> Image.Image:
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            return image.convert("RGB")
    except (OSError, ValueError, SyntaxError) as exc:
        raise InputError("invalid_input", f"the {what} image cannot be decoded: {exc}") from None
