"""`vst stylize --mask` and `vst interpolate --masks`: regions from the command line, and their early checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.settings import REPO_ROOT
from cli.main import main as vst_main
from tests.app.sample_images import gradient

WAVE = REPO_ROOT / "data" / "eval" / "style" / "hokusai_great_wave.jpg"
UDNIE = REPO_ROOT / "data" / "eval" / "style" / "picabia_udnie.jpg"
WIDTH, HEIGHT = 128, 64
MARGIN = 24


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "photo.png"
    gradient(WIDTH, HEIGHT, seed=3).save(path)
    return path


def _half_mask(path: Path, left: bool, size: tuple[int, int] = (WIDTH, HEIGHT)) -> Path:
    width, height = size
    array = np.zeros((height, width), dtype=np.uint8)
    array[:, : width // 2] = 255
    Image.fromarray(array if left else 255 - array, mode="L").save(path)
    return path


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), dtype=np.float64)


def _distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).mean())


def test_interpolate_with_masks_paints_each_style_on_its_side(photo: Path, tmp_path: Path) -> None:
    """With the shipped model: the tiny test model's styles differ by a fraction of a grey level."""
    left, right = _half_mask(tmp_path / "left.png", True), _half_mask(tmp_path / "right.png", False)
    out, only_a, only_b = tmp_path / "regions.png", tmp_path / "a.png", tmp_path / "b.png"
    masks = f"{left},{right}"
    assert vst_main(["interpolate", str(photo), str(WAVE), str(UDNIE), "--masks", masks, "-o", str(out)]) == 0
    assert vst_main(["stylize", str(photo), str(WAVE), "-o", str(only_a)]) == 0
    assert vst_main(["stylize", str(photo), str(UDNIE), "-o", str(only_b)]) == 0
    regions, a, b = _pixels(out), _pixels(only_a), _pixels(only_b)
    west, east = slice(0, WIDTH // 2 - MARGIN), slice(WIDTH // 2 + MARGIN, WIDTH)
    assert _distance(a, b) > 1.0
    assert _distance(regions[:, west], a[:, west]) < 0.5 * _distance(regions[:, west], b[:, west])
    assert _distance(regions[:, east], b[:, east]) < 0.5 * _distance(regions[:, east], a[:, east])


def test_stylize_with_a_mask_changes_only_part_of_the_picture(
    photo: Path, tmp_path: Path, tiny_checkpoint: Path
) -> None:
    mask = _half_mask(tmp_path / "mask.png", left=False, size=(WIDTH // 4, HEIGHT // 4))  # resized to the photo
    common = ["--checkpoint", str(tiny_checkpoint), "--device", "cpu", "--feather", "2"]
    masked, plain = tmp_path / "masked.png", tmp_path / "plain.png"
    assert vst_main(["stylize", str(photo), str(WAVE), "--mask", str(mask), "-o", str(masked), *common]) == 0
    assert vst_main(["stylize", str(photo), str(WAVE), "-o", str(plain), *common]) == 0
    assert _pixels(masked).shape == (HEIGHT, WIDTH, 3)
    east = slice(WIDTH // 2 + MARGIN, WIDTH)
    west = slice(0, WIDTH // 2 - MARGIN)
    difference = np.abs(_pixels(masked) - _pixels(plain))
    assert difference[:, west].mean() > difference[:, east].mean()


@pytest.mark.parametrize(
    ("mask_size", "black", "message"),
    [((64, 64), False, "does not have the shape"), ((WIDTH, HEIGHT), True, "black everywhere")],
)
def test_a_bad_mask_fails_with_the_apis_message(
    photo: Path,
    tmp_path: Path,
    tiny_checkpoint: Path,
    capsys: pytest.CaptureFixture[str],
    mask_size: tuple[int, int],
    black: bool,
    message: str,
) -> None:
    mask = tmp_path / "mask.png"
    Image.new("L", mask_size, 0 if black else 255).save(mask)
    args = ["stylize", str(photo), str(WAVE), "--mask", str(mask), "-o", str(tmp_path / "out.png")]
    assert vst_main([*args, "--checkpoint", str(tiny_checkpoint), "--device", "cpu"]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out.png").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--weights", "1,1", "--masks", "m.png,m.png"], "either --weights or --masks"),
        ([], "either --weights or --masks"),
        (["--masks", "m.png"], "got 1 masks for 2 styles"),
    ],
)
def test_interpolate_wants_weights_or_one_mask_per_style(
    photo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        vst_main(["interpolate", str(photo), str(WAVE), str(UDNIE), *extra, "-o", str(tmp_path / "out.png")])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err
