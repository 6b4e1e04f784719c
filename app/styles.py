"""The style registry: a read-only gallery of the bundled paintings plus styles uploaded by clients (in Redis).

Gallery ids come from the file names, found once at startup: a client's id is only ever looked up in that
listing, so no client-supplied text ever becomes a file path.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import re
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from redis import Redis

from app.errors import Conflict, NotFound
from app.images import ValidImage, validate_image
from app.protocol import KEY_PREFIX
from app.schemas import StyleView

# The formats the gallery serves to browsers as they are (GET /styles/{id}/image): not training's wider set.
GALLERY_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
STYLE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")
# Style images are encoded at a short side of 256 px; keeping at most 1024 px loses nothing the model uses.
STYLE_MAX_SIDE = 1024
STYLE_INDEX_KEY = f"{KEY_PREFIX}:styles"


UPLOAD_ID_SECRET_KEY = f"{KEY_PREFIX}:styles:id-secret"


def upload_id(image_sha256: str, owner: str | None, secret: bytes) -> str:
    """An uploaded style's id: the same image uploaded again by the same owner finds the same style.

    Keyed with a server secret and the owner, so that with API keys another key can neither guess the id of
    an image it has (128 bits, unpredictable without the secret) nor land on another owner's style.
    """
    digest = hmac.new(secret, f"{owner or ''}:{image_sha256}".encode(), hashlib.sha256).hexdigest()
    return f"user-{digest[:32]}"


def _style_key(style_id: str) -> str:
    return f"{KEY_PREFIX}:style:{style_id}"


@dataclass(frozen=True)
class GalleryEntry:
    id: str
    title: str
    artist: str
    path: Path
    featured: int | None = None  # rank among the featured paintings (1 first); None for the others


def artist_sort_key(artist: str) -> str:
    """The artist's name as people look it up: without the life dates and an "Attributed to" prefix."""
    name = artist.split(" (", 1)[0].strip()
    name = re.sub(r"^(attributed to|workshop of|circle of)\s+", "", name, flags=re.IGNORECASE)
    return name.casefold()


def _gallery_order(entry: GalleryEntry) -> tuple[int, int, str, str]:
    """The featured paintings first, by rank; then every other one by artist, then title."""
    if entry.featured is not None:
        return (0, entry.featured, "", "")
    return (1, 0, artist_sort_key(entry.artist), entry.title.casefold())


def _rank(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isdigit() else None


def _gallery_id(path: Path) -> str:
    return re.sub(r"[^a-z0-9_-]+", "-", path.stem.lower()).strip("-")


def load_gallery(folders: tuple[Path, ...], manifest: Path) -> dict[str, GalleryEntry]:
    """Every image in ``folders``, in gallery order (:func:`_gallery_order`); titles, artists and the featured
    rank from the manifest (TSV with the columns file, title, artist and featured)."""
    described: dict[str, tuple[str, str, int | None]] = {}
    if manifest.is_file():
        with manifest.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
                name = Path(row.get("file") or "").name
                described[name] = (row.get("title") or "", row.get("artist") or "", _rank(row.get("featured")))
    entries: dict[str, GalleryEntry] = {}
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() not in GALLERY_SUFFIXES or not path.is_file():
                continue
            style_id = _gallery_id(path)
            title, artist, featured = described.get(path.name, ("", "", None))
            entries.setdefault(
                style_id,
                GalleryEntry(
                    id=style_id,
                    title=title or path.stem.replace("_", " "),
                    artist=artist,
                    path=path,
                    featured=featured,
                ),
            )
    return {entry.id: entry for entry in sorted(entries.values(), key=_gallery_order)}


class StyleRegistry:
    """Look up, add and delete styles. Uploaded styles live in Redis; the gallery on disk."""

    def __init__(self, redis: Redis, gallery: dict[str, GalleryEntry], max_uploaded: int, max_pixels: int) -> None:
        self.redis = redis
        self.gallery = gallery
        self.max_uploaded = max_uploaded
        self.max_pixels = max_pixels
        # Normalised gallery images, most recently used last: decoding a painting costs tens of ms.
        self._gallery_cache: OrderedDict[str, ValidImage] = OrderedDict()

    @staticmethod
    def _view_of_gallery(entry: GalleryEntry) -> StyleView:
        return StyleView(
            id=entry.id,
            title=entry.title,
            artist=entry.artist,
            source="gallery",
            image_url=f"/styles/{entry.id}/image",
            featured=entry.featured is not None,
        )

    @staticmethod
    def _view_of_upload(style_id: str, fields: dict[bytes, bytes]) -> StyleView:
        meta = json.loads(fields[b"meta"])
        return StyleView(
            id=style_id,
            title=meta["title"],
            artist=meta["artist"],
            source="upload",
            image_url=f"/styles/{style_id}/image",
            created_at=meta["created_at"],
        )

    def _uploaded_fields(self, style_id: str, with_image: bool, owner: str | None) -> dict[bytes, bytes] | None:
        """An uploaded style's stored fields; None when unknown or, with API keys, uploaded by another key."""
        if not STYLE_ID.match(style_id):
            return None
        names = ["meta", "png"] if with_image else ["meta"]
        values = cast(list[bytes | None], self.redis.hmget(_style_key(style_id), names))
        if values[0] is None:
            return None
        if owner is not None and json.loads(values[0]).get("owner") != owner:
            return None
        return {name.encode(): value for name, value in zip(names, values, strict=True) if value is not None}

    def list(self, owner: str | None = None) -> list[StyleView]:
        """The gallery in its order, then the uploaded styles, newest first."""
        views = [self._view_of_gallery(entry) for entry in self.gallery.values()]
        for raw_id in cast(list[bytes], self.redis.zrevrange(STYLE_INDEX_KEY, 0, -1)):
            style_id = raw_id.decode()
            fields = self._uploaded_fields(style_id, with_image=False, owner=owner)
            if fields is not None:
                views.append(self._view_of_upload(style_id, fields))
        return views

    def get(self, style_id: str, owner: str | None = None) -> StyleView:
        if style_id in self.gallery:
            return self._view_of_gallery(self.gallery[style_id])
        fields = self._uploaded_fields(style_id, with_image=False, owner=owner)
        if fields is None:
            raise NotFound(f"no style with id {style_id!r}", code="style_not_found")
        return self._view_of_upload(style_id, fields)

    def image(self, style_id: str, owner: str | None = None) -> ValidImage:
        """The style's normalised PNG (at most :data:`STYLE_MAX_SIDE` px) and its sha256."""
        if style_id in self.gallery:
            cached = self._gallery_cache.get(style_id)
            if cached is None:
                data = self.gallery[style_id].path.read_bytes()
                cached = validate_image(data, f"style {style_id}", self.max_pixels, STYLE_MAX_SIDE)
                self._gallery_cache[style_id] = cached
                if len(self._gallery_cache) > 16:
                    self._gallery_cache.popitem(last=False)
            self._gallery_cache.move_to_end(style_id)
            return cached
        fields = self._uploaded_fields(style_id, with_image=True, owner=owner)
        if fields is None or b"png" not in fields:
            raise NotFound(f"no style with id {style_id!r}", code="style_not_found")
        meta = json.loads(fields[b"meta"])
        return ValidImage(png=fields[b"png"], sha256=meta["sha256"], width=meta["width"], height=meta["height"])

    def add(self, image: ValidImage, title: str, artist: str, owner: str | None = None) -> tuple[StyleView, bool]:
        """Store an uploaded style, or find the same image already uploaded by ``owner``: ``(view, created)``.

        With API keys only ``owner`` (the uploader's owner id) will see it.
        """
        style_id = upload_id(image.sha256, owner, self._id_secret())
        existing = self._uploaded_fields(style_id, with_image=False, owner=owner)
        if existing is not None:
            return self._view_of_upload(style_id, existing), False
        if cast(int, self.redis.zcard(STYLE_INDEX_KEY)) >= self.max_uploaded:
            raise Conflict(
                f"the registry already holds {self.max_uploaded} uploaded styles; delete some first",
                code="registry_full",
            )
        created_at = time.time()
        meta = {
            "title": title,
            "artist": artist,
            "created_at": created_at,
            "sha256": image.sha256,
            "width": image.width,
            "height": image.height,
            "owner": owner,
        }
        with self.redis.pipeline() as pipe:
            pipe.hset(_style_key(style_id), mapping={"meta": json.dumps(meta), "png": image.png})
            pipe.zadd(STYLE_INDEX_KEY, {style_id: created_at})
            pipe.execute()
        return self._view_of_upload(style_id, {b"meta": json.dumps(meta).encode()}), True

    def _id_secret(self) -> bytes:
        """A random secret kept in Redis, the same for every API replica, made by the first upload."""
        self.redis.set(UPLOAD_ID_SECRET_KEY, secrets.token_bytes(32), nx=True)
        return cast(bytes, self.redis.get(UPLOAD_ID_SECRET_KEY))

    def delete(self, style_id: str, owner: str | None = None) -> None:
        if style_id in self.gallery:
            raise Conflict(
                f"style {style_id!r} belongs to the built-in gallery and cannot be deleted", code="read_only_style"
            )
        if self._uploaded_fields(style_id, with_image=False, owner=owner) is None or not self.redis.delete(
            _style_key(style_id)
        ):
            raise NotFound(f"no style with id {style_id!r}", code="style_not_found")
        self.redis.zrem(STYLE_INDEX_KEY, style_id)

    def gallery_file(self, style_id: str) -> Path | None:
        entry = self.gallery.get(style_id)
        return entry.path if entry else None
