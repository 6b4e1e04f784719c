"""`vst stylize` / `vst interpolate` / `vst serve --help` as a user meets them: usage, early checks, notes.

Run in-process with the tiny test model (no shipped checkpoint needed) and the repository's own gallery.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from app.settings import REPO_ROOT
from cli.main import main as vst_main
from tests.app.sample_images import gradient

WAVE = REPO_ROOT / "data" / "eval" / "style" / "hokusai_great_wave.jpg"


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "photo.png"
    gradient(96, 64, seed=3).save(path)
    return path


def _pixels(path: Path) -> bytes:
    with Image.open(path) as image:
        return image.tobytes()


def _size(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        return image.size


def _stylize(*args: str) -> int:
    return vst_main(["stylize", *args, "--device", "cpu"])


def test_an_unknown_flag_after_stylize_prints_stylizes_usage(
    photo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        vst_main(["stylize", str(photo), str(WAVE), "-o", str(tmp_path / "out.png"), "--bogus"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: vst stylize"), err
    assert "--max-side" in err and "--style-id" in err
    assert err.strip().endswith("vst stylize: error: unrecognized arguments: --bogus")


def test_a_wrong_output_name_fails_before_any_model_work(
    photo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The checkpoint does not exist: had the model been loaded first, the error would name it instead.
    missing = tmp_path / "no-such-model.safetensors"
    with pytest.raises(SystemExit) as exited:
        _stylize(str(photo), str(WAVE), "-o", str(tmp_path / "out.txt"), "--checkpoint", str(missing))
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "cannot write" in err and "out.txt" in err and ".png" in err
    assert "no-such-model" not in err
    assert not (tmp_path / "out.txt").exists()


def test_an_output_in_an_unwritable_place_fails_before_the_model(
    photo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    missing = tmp_path / "no-such-model.safetensors"
    code = _stylize(str(photo), str(WAVE), "-o", str(blocker / "out.png"), "--checkpoint", str(missing))
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("vst stylize: error: cannot write") and "no-such-model" not in err


def test_several_samples_at_variation_0_warn_that_they_are_identical(
    photo: Path, tmp_path: Path, tiny_checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "same.png"
    assert _stylize(str(photo), str(WAVE), "-o", str(out), "--samples", "2", "--checkpoint", str(tiny_checkpoint)) == 0
    err = capsys.readouterr().err
    assert "warning: --samples 2 at --variation 0 writes 2 identical images" in err
    # The warning is true: both files hold the same pixels.
    assert _pixels(tmp_path / "same-0.png") == _pixels(tmp_path / "same-1.png")

    assert (
        _stylize(
            str(photo),
            str(WAVE),
            "-o",
            str(tmp_path / "varied.png"),
            "--samples",
            "2",
            "--variation",
            "1",
            "--seed",
            "3",
            "--checkpoint",
            str(tiny_checkpoint),
        )
        == 0
    )
    assert "warning" not in capsys.readouterr().err


def test_style_id_uses_the_services_gallery_painting(
    photo: Path, tmp_path: Path, tiny_checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["-o", "", "--seed", "5", "--checkpoint", str(tiny_checkpoint)]
    by_id, by_file = tmp_path / "by-id.png", tmp_path / "by-file.png"
    common[1] = str(by_id)
    assert _stylize(str(photo), "--style-id", "hokusai_great_wave", *common) == 0
    common[1] = str(by_file)
    assert _stylize(str(photo), str(WAVE), *common) == 0
    assert _pixels(by_id) == _pixels(by_file)
    capsys.readouterr()

    assert _stylize(str(photo), "--style-id", "hokusai_great_wav", *common) == 2
    err = capsys.readouterr().err
    assert "no gallery style with id 'hokusai_great_wav'" in err and "did you mean hokusai_great_wave" in err


def test_interpolate_mixes_files_and_gallery_ids(
    photo: Path, tmp_path: Path, tiny_checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "blend.webp"
    args = ["interpolate", str(photo), str(WAVE), "--style-id", "picabia_udnie", "--weights", "1,1"]
    assert vst_main([*args, "-o", str(out), "--checkpoint", str(tiny_checkpoint), "--device", "cpu"]) == 0
    with Image.open(out) as image:
        assert image.format == "WEBP"
    assert "note:" not in capsys.readouterr().err  # no size was asked: the default makes no promise


def test_stylize_wants_exactly_one_style(photo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _stylize(str(photo), str(WAVE), "--style-id", "picabia_udnie", "-o", str(tmp_path / "o.png"))
    assert "give exactly one style" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _stylize(str(photo), "-o", str(tmp_path / "o.png"))
    assert "give exactly one style" in capsys.readouterr().err


def test_a_max_side_above_the_photos_size_says_what_it_got(
    tmp_path: Path, tiny_checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photo = tmp_path / "small.png"
    gradient(120, 80, seed=1).save(photo)
    out = tmp_path / "out.png"
    assert (
        _stylize(str(photo), str(WAVE), "-o", str(out), "--max-side", "1024", "--checkpoint", str(tiny_checkpoint)) == 0
    )
    notes = [line for line in capsys.readouterr().err.splitlines() if "note:" in line]
    assert notes == [
        "vst stylize: note: up to 1024 px asked; your photo is 120 px and photos are never enlarged: "
        "the result is 120 px on its longest side"
    ]
    assert _size(out) == (120, 80)

    assert (
        _stylize(str(photo), str(WAVE), "-o", str(out), "--max-side", "64", "--checkpoint", str(tiny_checkpoint)) == 0
    )
    assert "note:" not in capsys.readouterr().err
    assert max(_size(out)) == 64


def test_serve_help_explains_every_flag_and_the_environment(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        vst_main(["serve", "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for text in ("--host HOST", "0.0.0.0", "--port PORT", "--workers WORKERS", "REDIS_URL", "VST_RUN_DIR"):
        assert text in out, text


def test_style_id_with_an_empty_gallery_says_where_it_looked(
    photo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "no-paintings"
    empty.mkdir()
    monkeypatch.setenv("VST_GALLERY_DIRS", f'["{empty}"]')
    assert _stylize(str(photo), "--style-id", "hokusai_great_wave", "-o", str(tmp_path / "o.png")) == 2
    err = capsys.readouterr().err
    assert "the gallery is empty" in err and str(empty) in err
