"""Small images made on the fly, one per kind of upload the API must handle."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image


def gradient(width: int, height: int, seed: int = 0) -> Image.Image:
    """An RGB image with some structure (so that the model has edges to work on)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 // max(1, width - 1), y * 255 // max(1, height - 1), (x + y) % 256], axis=-1)
    noise = rng.integers(0, 40, size=(height, width, 3))
    return Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8), mode="RGB")


def encoded(image: Image.Image, image_format: str = "PNG", **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


def png(width: int = 48, height: int = 32, seed: int = 0) -> bytes:
    return encoded(gradient(width, height, seed))


def jpeg_rotated_by_exif(width: int, height: int) -> bytes:
    """A JPEG stored ``width`` x ``height`` whose EXIF says: rotate 90 degrees to display (orientation 6)."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return encoded(gradient(width, height), "JPEG", exif=exif.tobytes())


def rgba_png(width: int = 40, height: int = 30) -> bytes:
    """Fully transparent on the left half, opaque red on the right half."""
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    image.paste((255, 0, 0, 255), (width // 2, 0, width, height))
    return encoded(image)


def cmyk_jpeg(width: int = 40, height: int = 30) -> bytes:
    return encoded(gradient(width, height).convert("CMYK"), "JPEG")


def png_16bit_gray(width: int = 40, height: int = 30) -> bytes:
    values = np.full((height, width), 65535 // 2, dtype=np.uint16)
    return encoded(Image.fromarray(values))  # uint16 -> mode I;16


def palette_png_with_transparency(width: int = 40, height: int = 30) -> bytes:
    image = gradient(width, height).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    return encoded(image, transparency=0)


def truncated_png(width: int = 48, height: int = 32) -> bytes:
    data = png(width, height)
    return data[: len(data) // 2]


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_header_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels: a decompression bomb's calling card."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def big_flat_png(width: int, height: int) -> bytes:
    """Many pixels in few bytes (one colour compresses well)."""
    return encoded(Image.new("RGB", (width, height), (90, 120, 200)), optimize=False)


def truncated_jpeg(width: int = 256, height: int = 192) -> bytes:
    """A JPEG cut off in the middle of its pixel data (its header is intact)."""
    data = encoded(gradient(width, height), "JPEG", quality=90)
    return data[: len(data) // 2]


def png_with_bad_crc(width: int = 48, height: int = 32) -> bytes:
    """A PNG whose pixel data chunk (IDAT) fails its CRC: one bit of the stored checksum flipped."""
    data = bytearray(png(width, height))
    idat = data.index(b"IDAT")
    (length,) = struct.unpack(">I", data[idat - 4 : idat])
    data[idat + 4 + length] ^= 0x01
    return bytes(data)
