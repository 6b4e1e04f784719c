"""Dataset layouts (folders, Places365, WikiArt), the scan report, and the input pipeline's guarantees.

Every layout is built in tmp_path from small synthetic images of known sizes, including a truncated
JPEG, a file that is not an image at all, and (for Places365) a file the index names but that is absent.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch
from PIL import Image

from cli.main import main as vst_main
from training.data import ImageBank, ImageFiles, load_resized
from training.datasets import dataset_index, folder_index, places365_index, wikiart_index
from training.pipeline import (
    BatchStream,
    CropDataset,
    CropRequest,
    build_stream,
    collate_crops,
    resolve_data_mode,
    resolve_workers,
)
from training.scan import inspect_file, scan_dataset

# (category folder, file name, width, height) of the readable synthetic Places365 images.
PLACES_IMAGES = [
    ("a/airfield", "00000001.jpg", 320, 240),
    ("a/airfield", "00000002.jpg", 200, 300),
    ("b/beach", "00000001.jpg", 640, 480),
    ("b/beach", "00000002.jpg", 100, 120),
    ("c/canyon", "00000001.jpg", 1100, 1050),
]


def write_image(path: Path, width: int, height: int, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    generator = torch.Generator().manual_seed(seed)
    pixels = torch.randint(0, 256, (height, width, 3), dtype=torch.uint8, generator=generator)
    Image.fromarray(pixels.numpy()).save(path, quality=90)
    return path


def write_truncated_jpeg(path: Path) -> Path:
    """A JPEG whose header is intact (it opens) but whose pixel data stop half-way (it does not decode)."""
    write_image(path, 256, 256, seed=99)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def write_not_an_image(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"this is not an image, whatever its name says")
    return path


@pytest.fixture
def places_root(tmp_path: Path) -> Path:
    """Places365's official layout: devkit lists at the root, images under data_256/ and val_256/."""
    root = tmp_path / "places365"
    lines = []
    for seed, (category, name, width, height) in enumerate(PLACES_IMAGES):
        write_image(root / "data_256" / category / name, width, height, seed)
        lines.append(f"/{category}/{name} {seed}")
    write_truncated_jpeg(root / "data_256" / "c" / "canyon" / "00000002.jpg")
    lines.append("/c/canyon/00000002.jpg 2")
    lines.append("/c/canyon/00000003.jpg 2")  # named by the index, absent on disk
    (root / "places365_train_standard.txt").write_text("\n".join(lines) + "\n")
    (root / "categories_places365.txt").write_text("/a/airfield 0\n/b/beach 1\n/c/canyon 2\n")
    write_image(root / "val_256" / "Places365_val_00000001.jpg", 256, 256)
    (root / "places365_val.txt").write_text("Places365_val_00000001.jpg 1\n")
    return root


@pytest.fixture
def wikiart_root(tmp_path: Path) -> Path:
    """WikiArt's ArtGAN layout as the archive extracts: wikiart/<Style>/<artist_title>.jpg."""
    root = tmp_path / "wikiart_download"
    write_image(root / "wikiart" / "Baroque" / "rembrandt_night-watch.jpg", 300, 200, 1)
    write_image(root / "wikiart" / "Baroque" / "caravaggio_judith.png", 150, 260, 2)
    write_image(root / "wikiart" / "Impressionism" / "monet_water-lilies.jpg", 400, 300, 3)
    write_image(root / "wikiart" / "Impressionism" / "more" / "renoir_luncheon.jpg", 200, 200, 4)
    write_not_an_image(root / "wikiart" / "Impressionism" / "notes.jpg")
    (root / "wikiart" / "README.txt").write_text("top-level files are not images of a style\n")
    return root


def test_places365_index_reads_the_official_file_list(places_root: Path) -> None:
    index = places365_index(places_root)
    expected = [places_root / "data_256" / c / n for c, n, _, _ in PLACES_IMAGES]
    expected += [places_root / "data_256/c/canyon/00000002.jpg", places_root / "data_256/c/canyon/00000003.jpg"]
    assert index.paths == expected
    assert index.labels[:3] == ["/a/airfield", "/a/airfield", "/b/beach"]
    val = places365_index(places_root, split="val")
    assert val.paths == [places_root / "val_256" / "Places365_val_00000001.jpg"]


def test_places365_index_accepts_torchvision_folder_names_and_no_file_list(places_root: Path) -> None:
    (places_root / "data_256").rename(places_root / "data_256_standard")
    assert places365_index(places_root).paths[0] == places_root / "data_256_standard/a/airfield/00000001.jpg"
    (places_root / "places365_train_standard.txt").unlink()
    listed = places365_index(places_root)
    # Without the file list: whatever is on disk (the absent file is not listed), labelled by folder.
    assert len(listed) == len(PLACES_IMAGES) + 1
    assert set(listed.labels) == {"a/airfield", "b/beach", "c/canyon"}


def test_places365_index_prefers_high_resolution_and_explains_a_wrong_root(places_root: Path) -> None:
    write_image(places_root / "data_large" / "a" / "airfield" / "00000001.jpg", 700, 512)
    assert places365_index(places_root).paths[0].parent.parent.parent.name == "data_large"
    assert places365_index(places_root, small=True).paths[0].parent.parent.parent.name == "data_256"
    with pytest.raises(FileNotFoundError, match="data_large"):
        places365_index(places_root / "nowhere")


def test_wikiart_index_matches_torchvision_image_folder(wikiart_root: Path) -> None:
    from torchvision.datasets import ImageFolder

    index = wikiart_index(wikiart_root)
    reference = ImageFolder(str(wikiart_root / "wikiart"), allow_empty=True)
    assert [str(p) for p in index.paths] == [path for path, _ in reference.samples]
    assert index.labels == [reference.classes[target] for _, target in reference.samples]
    assert set(index.labels) == {"Baroque", "Impressionism"}


def test_subset_is_spread_over_the_list_not_its_head(places_root: Path) -> None:
    index = places365_index(places_root)
    subset = index.subset(3)
    assert len(subset) == 3
    assert len(set(subset.labels)) == 3  # the first 3 files would cover only 2 categories
    assert dataset_index("places365", places_root, limit=3).paths == subset.paths


def test_folder_index_labels_by_first_folder(tmp_path: Path) -> None:
    write_image(tmp_path / "photos" / "top.jpg", 64, 64)
    write_image(tmp_path / "photos" / "trip" / "day1" / "a.png", 64, 64)
    index = folder_index(tmp_path / "photos")
    assert index.labels == [".", "trip"]


def test_scan_reports_counts_unreadable_files_and_sizes(places_root: Path) -> None:
    report = scan_dataset("places365", places_root, workers=1)
    shorts = sorted(min(w, h) for _, _, w, h in PLACES_IMAGES)
    assert report.listed == len(PLACES_IMAGES) + 2
    assert report.readable == len(PLACES_IMAGES)
    assert report.missing == 1
    reasons = dict(report.unreadable)
    assert set(reasons) == {
        str(places_root / "data_256/c/canyon/00000002.jpg"),
        str(places_root / "data_256/c/canyon/00000003.jpg"),
    }
    assert "truncated" in reasons[str(places_root / "data_256/c/canyon/00000002.jpg")]
    assert report.per_label == {"/a/airfield": 2, "/b/beach": 2, "/c/canyon": 1}
    assert report.short_side["p0"] == shorts[0] and report.short_side["p100"] == shorts[-1]
    assert report.short_side["p50"] == shorts[len(shorts) // 2]
    assert sum(report.short_side_histogram.values()) == report.readable
    assert report.short_side_histogram["0-127"] == sum(1 for s in shorts if s < 128)
    assert report.short_side_histogram[">=1024"] == 1
    assert report.below_training_short_side == sum(1 for s in shorts if s < 256)
    assert report.formats == {"JPEG": len(PLACES_IMAGES)}
    text = report.format_text()
    assert "missing:        1" in text and "00000002.jpg" in text


def test_quick_scan_reads_headers_and_misses_truncation(places_root: Path) -> None:
    truncated = str(places_root / "data_256/c/canyon/00000002.jpg")
    assert inspect_file((truncated, "c"), decode=False).error == ""
    assert "truncated" in inspect_file((truncated, "c"), decode=True).error
    quick = scan_dataset("places365", places_root, decode=False)
    assert quick.readable == len(PLACES_IMAGES) + 1 and not quick.decoded


def test_scan_in_worker_processes_equals_scan_in_process(wikiart_root: Path) -> None:
    inline = scan_dataset("wikiart", wikiart_root, workers=1)
    pooled = scan_dataset("wikiart", wikiart_root, workers=2)
    assert pooled == inline
    assert inline.readable == 4 and len(inline.unreadable) == 1
    assert inline.per_label == {"Baroque": 2, "Impressionism": 2}


def test_vst_datasets_scan_command(wikiart_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.json"
    code = vst_main(["datasets", "scan", str(wikiart_root), "--kind", "wikiart", "--workers", "1", "--json", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "readable:       4" in printed and "notes.jpg" in printed
    saved = json.loads(out.read_text())
    assert saved["readable"] == 4 and saved["unreadable"][0][0].endswith("notes.jpg")
    strict = ["datasets", "scan", str(wikiart_root), "--kind", "wikiart", "--workers", "1", "--strict"]
    assert vst_main(strict) == 1
    assert vst_main(["datasets", "scan", str(tmp_path / "absent"), "--workers", "1"]) == 2
    assert "image folder not found" in capsys.readouterr().err


def test_unreadable_files_are_skipped_in_memory_and_replaced_when_streaming(wikiart_root: Path) -> None:
    index = wikiart_index(wikiart_root)
    bad = [i for i, p in enumerate(index.paths) if p.name == "notes.jpg"]
    assert load_resized(index.paths[bad[0]], 32) is None
    bank = ImageBank.from_paths(index.paths, 32)
    assert len(bank) == 4 and bank.skipped == [str(index.paths[bad[0]])]

    files = ImageFiles([str(p) for p in index.paths], 32)
    dataset = CropDataset(files)
    crop, used, replaced = dataset[CropRequest(bad[0], 24, seed=5)]
    assert replaced and used != bad[0]
    assert crop.shape == (3, 24, 24) and crop.dtype == torch.uint8
    again = CropDataset(files)[CropRequest(bad[0], 24, seed=5)]
    assert again[1] == used and torch.equal(again[0], crop)  # the replacement follows the crop's seed
    good = next(i for i in range(len(files)) if i not in bad)
    assert dataset[CropRequest(good, 24, seed=5)][1:] == (good, False)


def make_bank(count: int, size: int = 40) -> ImageBank:
    generator = torch.Generator().manual_seed(0)
    images = [torch.randint(0, 256, (3, size, size + 8), dtype=torch.uint8, generator=generator) for _ in range(count)]
    return ImageBank(images, [f"image{i}.png" for i in range(count)])


def take(stream: BatchStream, batches: int) -> list[tuple[int, list[int], int]]:
    """(epoch, indices, crop size) of the next ``batches`` batches."""
    taken = []
    for _ in range(batches):
        batch = next(stream)
        taken.append((stream.epoch, batch.indices.tolist(), batch.images.shape[-1]))
    return taken


def test_ranks_get_disjoint_shares_each_epoch_and_the_same_crop_sizes() -> None:
    bank = make_bank(21)
    world = 3
    streams = [
        build_stream(
            bank,
            name="test",
            batch_size=3,
            sizes=(16, 40),
            seed=7,
            rank=rank,
            world_size=world,
            workers=0,
            pin_memory=False,
        )
        for rank in range(world)
    ]
    # 21 images / 3 ranks = 7 each = 2 batches of 3 per epoch (the 7th is dropped): 3 epochs in 6 batches.
    taken = [take(stream, 6) for stream in streams]
    for epoch in range(3):
        shares = [[i for e, indices, _ in batches if e == epoch for i in indices] for batches in taken]
        assert all(len(share) == 6 and len(set(share)) == 6 for share in shares)
        assert not set(shares[0]) & set(shares[1]) and not set(shares[1]) & set(shares[2])
        assert not set(shares[0]) & set(shares[2])
    orders = [[i for e, indices, _ in taken[0] if e == epoch for i in indices] for epoch in range(3)]
    assert orders[0] != orders[1] != orders[2]  # set_epoch reshuffles every pass
    sizes = [[size for _, _, size in batches] for batches in taken]
    assert sizes[0] == sizes[1] == sizes[2]  # no rank waits on a larger crop than the others
    assert all(size % 8 == 0 and 16 <= size <= 40 for size in sizes[0])
    assert len(set(sizes[0])) > 1


def test_crops_do_not_depend_on_the_number_of_workers() -> None:
    bank = make_bank(8)
    common = {"name": "test", "batch_size": 2, "sizes": (16, 32), "seed": 3, "rank": 0, "world_size": 1}
    inline = build_stream(bank, workers=0, pin_memory=False, **common)  # type: ignore[arg-type]
    pooled = build_stream(bank, workers=1, pin_memory=False, **common)  # type: ignore[arg-type]
    for _ in range(5):  # more than one epoch (4 batches), so the persistent worker is reused
        a, b = next(inline), next(pooled)
        assert torch.equal(a.images, b.images) and torch.equal(a.indices, b.indices)
    assert inline.epoch == pooled.epoch == 1


def test_resume_starts_a_fresh_epoch() -> None:
    bank = make_bank(8)
    common = {"name": "test", "batch_size": 2, "sizes": (16, 16), "seed": 3, "rank": 0, "world_size": 1}
    first = build_stream(bank, workers=0, pin_memory=False, **common)  # type: ignore[arg-type]
    resumed = build_stream(bank, workers=0, pin_memory=False, start_epoch=1, **common)  # type: ignore[arg-type]
    assert take(resumed, 4) == take(first, 8)[4:]


def test_too_few_images_for_a_batch_on_every_rank_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="fewer than one batch"):
        build_stream(
            make_bank(7),
            name="style",
            batch_size=4,
            sizes=(16, 16),
            seed=0,
            rank=0,
            world_size=2,
            workers=0,
            pin_memory=False,
        )


def test_collate_keeps_uint8_and_counts_replacements() -> None:
    crops = [(torch.zeros(3, 8, 8, dtype=torch.uint8), i, i == 1) for i in range(3)]
    batch = collate_crops(crops)
    assert batch.images.shape == (3, 3, 8, 8) and batch.images.dtype == torch.uint8
    assert batch.indices.tolist() == [0, 1, 2] and batch.replaced == 1


def test_data_mode_and_worker_defaults() -> None:
    assert resolve_data_mode("auto", 83, 256) == "memory"  # the bundled data
    assert resolve_data_mode("auto", 1_800_000, 256) == "stream"  # Places365
    assert resolve_data_mode("stream", 10, 256) == "stream"
    assert resolve_workers(None, "memory", 1) == 0
    assert resolve_workers(None, "stream", 1) >= 1
    assert resolve_workers(3, "memory", 8) == 3
    with pytest.raises(ValueError, match="data mode"):
        resolve_data_mode("disk", 10, 256)


def test_calibration_crops_skip_unreadable_files(wikiart_root: Path) -> None:
    from training.pipeline import sample_crops

    files = ImageFiles([str(p) for p in wikiart_index(wikiart_root).paths], 32)
    crops = sample_crops(files, 6, 16, random.Random(1))
    assert crops.shape == (6, 3, 16, 16) and float(crops.min()) >= 0.0 and float(crops.max()) <= 1.0
    assert torch.equal(crops, sample_crops(files, 6, 16, random.Random(1)))  # every rank draws the same
