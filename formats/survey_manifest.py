"""The survey set on disk: ``manifest.json`` plus ``images/<id>.<ext>`` in the folder ``VST_SURVEY_DIR``.

``vst survey-prepare`` (training/survey_set.py, which has torch) writes it; the API (no torch) only reads it.
Every image is named by an opaque id, so neither a file name nor a URL tells which method made an image,
and the API only ever opens files whose names it finds in a validated manifest, never a client's text.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

MANIFEST_NAME = "manifest.json"
IMAGES_FOLDER = "images"
SURVEY_FORMAT: Literal[1] = 1
REAL_PAINTING = "real"

IMAGE_ID_PATTERN = r"^[0-9a-f]{16}$"
ITEM_ID_PATTERN = r"^[pd][0-9]{1,6}$"
METHOD_ID_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
IMAGE_FILE = re.compile(r"^[0-9a-f]{16}\.(jpg|png)$")

ImageId = Annotated[str, StringConstraints(pattern=IMAGE_ID_PATTERN)]
ItemId = Annotated[str, StringConstraints(pattern=ITEM_ID_PATTERN)]
MethodId = Annotated[str, StringConstraints(pattern=METHOD_ID_PATTERN)]


class MethodInfo(BaseModel):
    label: str = Field(min_length=1, max_length=100, description="Shown on the results page, never in a vote.")
    description: str = Field(default="", max_length=500)


class DeterministicBaseline(BaseModel):
    """Which images stand for the deterministic (AdaIN-like) baseline."""

    source: Literal["checkpoint", "ours_at_variation_0"] = Field(
        description="`checkpoint`: a checkpoint trained without the KL term, at variation 0; "
        "`ours_at_variation_0`: no such checkpoint was given, so our model at variation 0 stands in."
    )
    method: MethodId = Field(description="The method whose images are the baseline's.")
    checkpoint: str | None = None
    note: str = ""


class Candidate(BaseModel):
    image: ImageId
    method: MethodId


class PreferenceItem(BaseModel):
    """One content photo, one style painting and 2-3 stylizations by different methods."""

    id: ItemId
    content: ImageId
    style: ImageId
    candidates: list[Candidate] = Field(min_length=2, max_length=3)

    @model_validator(mode="after")
    def _distinct(self) -> PreferenceItem:
        if len({c.method for c in self.candidates}) != len(self.candidates):
            raise ValueError(f"preference item {self.id}: each candidate must come from a different method")
        if len({c.image for c in self.candidates}) != len(self.candidates):
            raise ValueError(f"preference item {self.id}: candidates must be different images")
        return self


class DeceptionItem(BaseModel):
    """One image: a real painting (method ``real``) or a stylization."""

    id: ItemId
    image: ImageId
    method: MethodId
    group: str = Field(
        default="",
        max_length=40,
        description="Items of one group (stylizations of the same photo) are not shown together where possible.",
    )


class SurveyManifest(BaseModel):
    format: Literal[1] = SURVEY_FORMAT
    created_at: str = ""
    checkpoint: str = Field(default="", description="The model the stylizations come from.")
    methods: dict[MethodId, MethodInfo]
    deterministic_baseline: DeterministicBaseline
    images: dict[ImageId, str] = Field(description="Image id -> file name inside images/.")
    preference: list[PreferenceItem] = Field(default_factory=list)
    deception: list[DeceptionItem] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> SurveyManifest:
        for image_id, name in self.images.items():
            # File names are plain `<id>.<ext>`: no folder, no `..`, nothing a path could be built from.
            if not IMAGE_FILE.match(name) or not name.startswith(image_id):
                raise ValueError(f"image {image_id}: file name {name!r} must be '<id>.jpg' or '<id>.png'")
        known_methods = set(self.methods) | {REAL_PAINTING}
        if self.deterministic_baseline.method not in self.methods:
            raise ValueError(f"deterministic_baseline.method {self.deterministic_baseline.method!r} is not a method")
        item_ids: set[str] = set()
        for item in self.preference:
            refs = [item.content, item.style, *(c.image for c in item.candidates)]
            methods = [c.method for c in item.candidates]
            self._check(item.id, item_ids, refs, methods, set(self.methods))
        for deception_item in self.deception:
            self._check(deception_item.id, item_ids, [deception_item.image], [deception_item.method], known_methods)
        return self

    def _check(self, item_id: str, seen: set[str], images: list[str], methods: list[str], known: set[str]) -> None:
        if item_id in seen:
            raise ValueError(f"item id {item_id} appears twice")
        seen.add(item_id)
        missing = [i for i in images if i not in self.images]
        if missing:
            raise ValueError(f"item {item_id} refers to unknown images {missing}")
        unknown = [m for m in methods if m not in known]
        if unknown:
            raise ValueError(f"item {item_id} refers to unknown methods {unknown}")


def image_path(folder: Path, file_name: str) -> Path:
    """The file of a manifest image; ``file_name`` comes from a validated manifest, never from a client."""
    if not IMAGE_FILE.match(file_name):
        raise ValueError(f"not a survey image file name: {file_name!r}")
    return folder / IMAGES_FOLDER / file_name
