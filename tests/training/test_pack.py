"""`vst datasets pack` and the GPU recipe that trains on its output (here on the CPU, a few steps)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from cli.main import main
from tests.conftest import DATA, REPO_ROOT
from training.pack import pack_corpus


def _corpus(root: Path) -> Path:
    """A corpus in the packed layout from the bundled images, sub-folders included, with one broken file."""
    for side, source in (("photos", "content"), ("paintings", "style")):
        for index, path in enumerate(sorted((DATA / "train" / source).glob("*.jpg"))[:6]):
            target = root / side / ("a" if index % 2 else "b") / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)
    (root / "paintings" / "a" / "broken.jpg").write_bytes(b"not a jpeg")
    return root


def test_pack_resizes_crops_and_keeps_the_folders(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus")
    result = pack_corpus(corpus, tmp_path / "pack", {"paintings": 5, "photos": 4}, short_side=64, seed=1)
    assert result.written == {"paintings": 5, "photos": 4}
    files = sorted((tmp_path / "pack").rglob("*.jpg"))
    assert len(files) == 9 and result.total_bytes == sum(f.stat().st_size for f in files)
    for path in files:
        with Image.open(path) as image:
            assert min(image.size) == 64 and max(image.size) <= 64 * 4 // 3
    manifest = (tmp_path / "pack" / "MANIFEST.tsv").read_text().splitlines()
    assert manifest[0] == "file\tsource" and len(manifest) == 10
    for line in manifest[1:]:
        packed, source = line.split("\t")
        assert (tmp_path / "pack" / packed).is_file() and (corpus / source).is_file()
    # The same seed draws the same files; the broken one is skipped, never packed.
    again = pack_corpus(corpus, tmp_path / "again", {"paintings": 5, "photos": 4}, short_side=64, seed=1)
    assert (tmp_path / "again" / "MANIFEST.tsv").read_text().splitlines() == manifest
    assert again.skipped == result.skipped
    assert all("broken" not in line for line in manifest)


def test_pack_refuses_to_outgrow_its_budget_and_leaves_nothing_behind(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus")
    with pytest.raises(ValueError, match="passed"):
        pack_corpus(corpus, tmp_path / "pack", {"paintings": 5, "photos": 5}, short_side=64, max_bytes=10_000)
    with pytest.raises(ValueError, match="fewer than the 50 asked for"):
        pack_corpus(corpus, tmp_path / "pack", {"paintings": 50, "photos": 1}, short_side=64)
    assert not (tmp_path / "pack").exists() and not (tmp_path / "pack.partial").exists()


def test_the_pack_command_reports_and_refuses_an_existing_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = _corpus(tmp_path / "corpus")
    args = ["datasets", "pack", str(corpus), str(tmp_path / "pack"), "--paintings", "3", "--photos", "3"]
    assert main([*args, "--short-side", "48"]) == 0
    assert "packed 3 paintings and 3 photos" in capsys.readouterr().out
    assert main(args) == 2
    assert "exists" in capsys.readouterr().err


@pytest.mark.slow
def test_the_gpu_recipe_trains_averages_and_scores_on_a_pack(tmp_path: Path) -> None:
    """The recipe end to end on the CPU: a few steps at batch 2, the real hed-vgg16 loss network."""
    corpus = _corpus(tmp_path / "corpus")
    pack = tmp_path / "pack"
    pack_corpus(corpus, pack, {"paintings": 4, "photos": 4}, short_side=192)
    env = os.environ | {
        "PY": sys.executable,
        "PACK": str(pack),
        "DEVICE": "cpu",
        "BATCH": "2",
        "STEPS": "4",
        "EVAL": "0",
        "OMP_NUM_THREADS": "1",
    }
    out = tmp_path / "out"
    done = subprocess.run(
        ["bash", str(REPO_ROOT / "training" / "recipes" / "gpu.sh"), str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # Every step snapshots at STEPS=4, and the last five (here all four) are averaged.
    assert "averaged " + " ".join(f"model_step00000{k}.safetensors" for k in range(1, 5)) in done.stdout
    from model.checkpoint import load_checkpoint

    model, provenance = load_checkpoint(out / "model.safetensors")
    assert model.config.upsample == "bilinear" and model.config.decoder_noise
    assert provenance["loss_weights"]["content"] == 2.0 and provenance["steps"] == 4
    assert not (out / "run" / "snapshots").exists()
