"""The survey manifest is validated before the API opens any of its files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from app.survey_store import load_survey_set
from formats.survey_manifest import IMAGES_FOLDER, MANIFEST_NAME, SurveyManifest, image_path

A, B, C, D, E = (f"{k:016x}" for k in range(1, 6))


def _manifest(**changes: Any) -> dict[str, Any]:
    manifest: dict[str, Any] = {
        "format": 1,
        "methods": {"ours_v0": {"label": "Ours"}, "gatys": {"label": "Gatys"}},
        "deterministic_baseline": {"source": "ours_at_variation_0", "method": "ours_v0"},
        "images": {i: f"{i}.jpg" for i in (A, B, C, D, E)},
        "preference": [
            {
                "id": "p0",
                "content": A,
                "style": B,
                "candidates": [{"image": C, "method": "ours_v0"}, {"image": D, "method": "gatys"}],
            }
        ],
        "deception": [{"id": "d0", "image": E, "method": "real"}, {"id": "d1", "image": C, "method": "ours_v0"}],
    }
    manifest.update(changes)
    return manifest


def test_a_consistent_manifest_is_accepted() -> None:
    manifest = SurveyManifest.model_validate(_manifest())
    assert [c.method for c in manifest.preference[0].candidates] == ["ours_v0", "gatys"]


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"images": {A: "../../etc/passwd"}}, "file name"),
        ({"images": {A: f"{B}.jpg"}}, "file name"),
        ({"images": {"../x": "x.jpg"}}, "images"),
        ({"deception": [{"id": "d0", "image": E, "method": "unknown_method"}]}, "unknown methods"),
        ({"deception": [{"id": "d0", "image": "f" * 16, "method": "real"}]}, "unknown images"),
        ({"deception": [{"id": "p0", "image": E, "method": "real"}]}, "appears twice"),
        ({"deterministic_baseline": {"source": "checkpoint", "method": "nope"}}, "not a method"),
    ],
)
def test_an_inconsistent_manifest_is_refused(change: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ValidationError, match=complaint):
        SurveyManifest.model_validate(_manifest(**change))


def test_candidates_must_come_from_different_methods() -> None:
    same = [{"image": C, "method": "ours_v0"}, {"image": D, "method": "ours_v0"}]
    item = {"id": "p0", "content": A, "style": B, "candidates": same}
    with pytest.raises(ValidationError, match="different method"):
        SurveyManifest.model_validate(_manifest(preference=[item]))


def test_image_path_only_takes_plain_image_names(tmp_path: Path) -> None:
    assert image_path(tmp_path, f"{A}.jpg") == tmp_path / IMAGES_FOLDER / f"{A}.jpg"
    with pytest.raises(ValueError):
        image_path(tmp_path, "../manifest.json")


def test_loading_checks_that_every_image_file_exists(tmp_path: Path) -> None:
    (tmp_path / MANIFEST_NAME).write_text(SurveyManifest.model_validate(_manifest()).model_dump_json())
    (tmp_path / IMAGES_FOLDER).mkdir()
    with pytest.raises(ValueError, match="lacks 5 image file"):
        load_survey_set(tmp_path)
    for image_id in (A, B, C, D, E):
        (tmp_path / IMAGES_FOLDER / f"{image_id}.jpg").write_bytes(b"jpeg")
    loaded = load_survey_set(tmp_path)
    assert set(loaded.preference) == {"p0"} and set(loaded.deception) == {"d0", "d1"}
    assert len(loaded.set_id) == 16
