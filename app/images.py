"""Upload validation: real decoding (never the file extension), size and pixel limits, EXIF orientation,
and conversion of every mode (alpha, palette, CMYK, 16-bit) to 8-bit RGB.

Everything here runs before a job is queued, so a bad upload is answered at once with a 4xx.
"""

from __future__ import annotations

import hashlib
import io
import struct
import warnings
import zlib
from dataclasses import dataclass

import numpy as np
from fastapi import UploadFile
from PIL import Image, ImageOps, UnidentifiedImageError

from app.errors import PayloadTooLarge, Unprocessable, UnsupportedMedia

# Only plain raster formats: plugins such as EPS would hand the bytes to external programs.
ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")
_HIGH_BIT_DEPTH_MODES = {"I", "I;16", "I;16L", "I;16B", "I;16N", "F"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# The generator works at a quarter of the resolution and normalises each channel over space: a photo under
# 5 px a side leaves it a single position, and the model fails. 8 px keeps a margin.
MIN_CONTENT_SIDE = 8


@dataclass(frozen=True)
class ValidImage:
    """A decoded, normalised upload: 8-bit RGB PNG bytes and their sha256."""

    png: bytes
    sha256: str
    width: int
    height: int

    @property
    def longest_side(self) -> int:
        return max(self.width, self.height)


async def read_upload(upload: UploadFile, field: str, max_bytes: int) -> bytes:
    """The upload's bytes; 413 when it holds more than ``max_bytes``, 415 when it is empty."""
    data = await upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"{field}: the file is larger than {max_bytes} bytes", code="file_too_large")
    if not data:
        raise UnsupportedMedia(f"{field}: the file is empty", code="not_an_image")
    return data


WHITE, BLACK = (255, 255, 255), (0, 0, 0)


def _to_rgb(image: Image.Image, background: tuple[int, int, int] = WHITE) -> Image.Image:
    """Any Pillow mode -> 8-bit RGB; transparent pixels are laid on ``background`` (white, as a browser would
    show them; black for a mask, so that only what was painted counts)."""
    if image.mode in _HIGH_BIT_DEPTH_MODES:
        values = np.asarray(image, dtype=np.float64)
        # 16-bit files use 0..65535; a plain 8-bit range is kept as it is.
        peak = 65535.0 if values.max(initial=0) > 255 else 255.0
        gray = np.clip(values / peak * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(gray).convert("RGB")  # 2-D uint8 -> mode L
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        base = Image.new("RGBA", rgba.size, (*background, 255))
        return Image.alpha_composite(base, rgba).convert("RGB")
    return image.convert("RGB")


def check_png_checksums(data: bytes, field: str) -> None:
    """422 when a chunk of a PNG fails its CRC: Pillow does not check the pixel data's, and a flipped bit
    there decodes to a silently damaged picture. A chunk cut off by truncation is left to the decoder."""
    offset = len(PNG_SIGNATURE)
    while offset + 12 <= len(data):
        (length,) = struct.unpack_from(">I", data, offset)
        end = offset + 8 + length
        if end + 4 > len(data):
            return
        kind = data[offset + 4 : offset + 8]
        (stored,) = struct.unpack_from(">I", data, end)
        if zlib.crc32(data[offset + 4 : end]) != stored:
            name = kind.decode("latin-1", "replace")
            raise Unprocessable(f"{field}: the PNG chunk {name!r} fails its checksum (CRC)", code="corrupt_image")
        if kind == b"IEND":
            return
        offset = end + 4


def decode_image(data: bytes, field: str, max_pixels: int, background: tuple[int, int, int] = WHITE) -> Image.Image:
    """Decode ``data`` as an image of at most ``max_pixels``; EXIF orientation applied; 8-bit RGB."""
    if data.startswith(PNG_SIGNATURE):
        check_png_checksums(data, field)
    try:
        with warnings.catch_warnings():
            # Pillow only warns about a would-be bomb between its two limits; refuse it as well.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PayloadTooLarge(f"{field}: {exc}", code="decompression_bomb") from None
    except UnidentifiedImageError:
        raise UnsupportedMedia(
            f"{field}: not a readable image (accepted: {', '.join(f.lower() for f in ACCEPTED_FORMATS)})",
            code="not_an_image",
        ) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise Unprocessable(f"{field}: the image header is damaged: {exc}", code="corrupt_image") from None
    width, height = image.size
    if width < 1 or height < 1:
        raise Unprocessable(f"{field}: the image has no pixels", code="corrupt_image")
    if width * height > max_pixels:
        raise PayloadTooLarge(
            f"{field}: {width}x{height} pixels is more than the limit of {max_pixels} pixels",
            code="too_many_pixels",
        )
    try:
        image.load()
        return _to_rgb(ImageOps.exif_transpose(image), background)
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise Unprocessable(f"{field}: the image is truncated or damaged: {exc}", code="truncated_image") from None
    except Image.DecompressionBombError as exc:
        raise PayloadTooLarge(f"{field}: {exc}", code="decompression_bomb") from None


def fit_within(image: Image.Image, max_side: int) -> Image.Image:
    """Downscale (never upscale) so that the longer side is at most ``max_side``; the same as the model's."""
    width, height = image.size
    scale = max_side / max(width, height)
    if scale >= 1:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


def encode_png(image: Image.Image) -> ValidImage:
    buffer = io.BytesIO()
    # Level 1: these bytes live in Redis for minutes; speed matters more than size.
    image.save(buffer, format="PNG", compress_level=1)
    png = buffer.getvalue()
    return ValidImage(png=png, sha256=hashlib.sha256(png).hexdigest(), width=image.width, height=image.height)


# A mask is made for the photo, at any size but with its shape: its aspect ratio may differ from the photo's by
# this fraction (plus a pixel of rounding), as exporting at another size rounds each side.
MASK_ASPECT_TOLERANCE = 0.02


def fit_mask(image: Image.Image, field: str, width: int, height: int) -> Image.Image:
    """A region mask for a ``width`` x ``height`` photo: 8-bit grayscale at that size, white stylizes and black
    keeps the photo. 422 when its aspect ratio is not the photo's, or when it is black everywhere (there would
    be nothing to stylize)."""
    expected_height = image.width * height / width
    if abs(image.height - expected_height) > max(1.0, MASK_ASPECT_TOLERANCE * expected_height):
        raise Unprocessable(
            f"{field}: a {image.width}x{image.height} mask does not have the shape of the {width}x{height} photo",
            code="mask_aspect_ratio",
        )
    gray = image.convert("L")
    if gray.size != (width, height):
        gray = gray.resize((width, height), Image.Resampling.BILINEAR)
    if gray.getextrema()[1] == 0:
        raise Unprocessable(f"{field}: the mask is black everywhere, so nothing would be stylized", code="empty_mask")
    return gray


def validate_mask(data: bytes, field: str, max_pixels: int, content: ValidImage) -> ValidImage:
    """An uploaded mask through the image checks (transparent pixels laid on black: unpainted), then
    :func:`fit_mask` to the (fitted) photo, as PNG."""
    image = decode_image(data, field, max_pixels, background=BLACK)
    return encode_png(fit_mask(image, field, content.width, content.height))


def validate_image(data: bytes, field: str, max_pixels: int, max_side: int, min_side: int = 1) -> ValidImage:
    """Decode, check and normalise an upload; the result's longer side is at most ``max_side``, and 422 when
    its shorter side, once fitted, is under ``min_side`` (a tiny image, or a thin strip scaled down)."""
    image = fit_within(decode_image(data, field, max_pixels), max_side)
    if min(image.size) < min_side:
        raise Unprocessable(
            f"{field}: {image.width}x{image.height} pixels (fitted into {max_side} px) is too small; "
            f"each side needs at least {min_side} pixels",
            code="image_too_small",
        )
    return encode_png(image)
