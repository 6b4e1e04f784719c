"""``vst survey-prepare``: the survey set from real images and the tiny test model."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from app.survey_store import load_survey_set
from cli.main import main as vst
from formats.survey_manifest import IMAGES_FOLDER, MANIFEST_NAME, REAL_PAINTING, SurveyManifest
from tests.conftest import DATA
from training.survey_set import SurveyOptions, candidate_methods, prepare_survey_set

CONTENT = DATA / "eval" / "content"
STYLE = DATA / "eval" / "style"


def _options(out: Path, checkpoint: Path, **changes: object) -> SurveyOptions:
    options: dict[str, object] = {
        "content_dir": CONTENT,
        "style_dir": STYLE,
        "out": out,
        "checkpoint": checkpoint,
        "contents": 2,
        "styles": 2,
        "max_side": 48,
        "gatys_steps": 2,
        "seed": 3,
    }
    options.update(changes)
    return SurveyOptions(**options)  # type: ignore[arg-type]


def test_candidate_methods_leave_a_different_one_out_when_there_are_four() -> None:
    four = ["ours_v0", "ours_v1", "deterministic", "gatys"]
    rounds = [candidate_methods(four, k) for k in range(4)]
    assert all(len(chosen) == 3 for chosen in rounds)
    assert Counter(m for chosen in rounds for m in chosen) == {m: 3 for m in four}
    assert candidate_methods(["ours_v0", "ours_v1"], 5) == ["ours_v0", "ours_v1"]


def test_prepares_a_set_the_api_can_load(tmp_path: Path, tiny_checkpoint: Path) -> None:
    manifest = prepare_survey_set(_options(tmp_path, tiny_checkpoint), log=lambda _: None)
    loaded = load_survey_set(tmp_path)
    assert loaded.manifest == manifest

    assert set(manifest.methods) == {"ours_v0", "ours_v1", "gatys"}
    # Without a checkpoint trained without KL, ours at variation 0 stands in, and the manifest says so.
    assert manifest.deterministic_baseline.source == "ours_at_variation_0"
    assert manifest.deterministic_baseline.method == "ours_v0"
    assert "deterministic baseline" in manifest.methods["ours_v0"].label

    assert len(manifest.preference) == 4  # 2 photos x 2 paintings
    for item in manifest.preference:
        assert [c.method for c in item.candidates] == ["ours_v0", "ours_v1", "gatys"]
    stylizations = [d for d in manifest.deception if d.method != REAL_PAINTING]
    reals = [d for d in manifest.deception if d.method == REAL_PAINTING]
    assert Counter(d.method for d in stylizations) == {"ours_v0": 4, "ours_v1": 4, "gatys": 4}
    assert len(reals) == 4
    # Stylizations of one photo share a group (a batch shows them apart where possible); each real is alone.
    assert Counter(Counter(d.group for d in stylizations).values()) == {6: 2}
    assert len({d.group for d in reals}) == 4

    # Paintings used as style references are not among the real ones to judge (the folder has enough).
    style_images = {item.style for item in manifest.preference}
    reference_pixels = {Image.open(tmp_path / IMAGES_FOLDER / manifest.images[i]).tobytes() for i in style_images}
    for real in reals:
        assert Image.open(tmp_path / IMAGES_FOLDER / manifest.images[real.image]).tobytes() not in reference_pixels

    # Every image has the same format and longest side, so neither gives a real painting away.
    for name in manifest.images.values():
        with Image.open(tmp_path / IMAGES_FOLDER / name) as image:
            assert image.format == "JPEG"
            assert max(image.size) == 48
        # File names say nothing about the method.
        assert not any(method in name for method in manifest.methods)


def test_samples_differ_from_the_mean_image(tmp_path: Path, tiny_checkpoint: Path) -> None:
    manifest = prepare_survey_set(_options(tmp_path, tiny_checkpoint, gatys_steps=0), log=lambda _: None)
    assert set(manifest.methods) == {"ours_v0", "ours_v1"}
    item = manifest.preference[0]
    pixels = [Image.open(tmp_path / IMAGES_FOLDER / manifest.images[c.image]).tobytes() for c in item.candidates]
    assert pixels[0] != pixels[1]


def test_a_baseline_checkpoint_becomes_its_own_method(tmp_path: Path, tiny_checkpoint: Path) -> None:
    manifest = prepare_survey_set(
        _options(tmp_path, tiny_checkpoint, baseline_checkpoint=tiny_checkpoint, reals=2), log=lambda _: None
    )
    assert manifest.deterministic_baseline.source == "checkpoint"
    assert manifest.deterministic_baseline.checkpoint == str(tiny_checkpoint)
    assert set(manifest.methods) == {"ours_v0", "ours_v1", "deterministic", "gatys"}
    shown = Counter(c.method for item in manifest.preference for c in item.candidates)
    assert all(len(item.candidates) == 3 for item in manifest.preference)
    assert shown == {"ours_v0": 3, "ours_v1": 3, "deterministic": 3, "gatys": 3}
    assert sum(1 for d in manifest.deception if d.method == REAL_PAINTING) == 2


def test_preparing_again_replaces_the_old_set(tmp_path: Path, tiny_checkpoint: Path) -> None:
    prepare_survey_set(_options(tmp_path, tiny_checkpoint, gatys_steps=0, seed=1), log=lambda _: None)
    second = prepare_survey_set(_options(tmp_path, tiny_checkpoint, gatys_steps=0, seed=2), log=lambda _: None)
    on_disk = {p.name for p in (tmp_path / IMAGES_FOLDER).iterdir()}
    assert on_disk == set(second.images.values())
    assert SurveyManifest.model_validate_json((tmp_path / MANIFEST_NAME).read_text()) == second


def test_the_cli_writes_the_set_and_reports_bad_folders(
    tmp_path: Path, tiny_checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "survey"
    args = ["survey-prepare", "--content", str(CONTENT), "--style", str(STYLE), "--out", str(out)]
    args += ["--checkpoint", str(tiny_checkpoint), "--contents", "1", "--styles", "1", "--max-side", "32"]
    assert vst([*args, "--gatys-steps", "0", "--device", "cpu"]) == 0
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    assert len(manifest["preference"]) == 1
    assert "1 preference items" in capsys.readouterr().out

    assert vst([*args[:2], str(tmp_path / "missing"), *args[3:]]) == 2
    assert "image folder not found" in capsys.readouterr().err
