"""`vst evaluate` end to end on a tiny model: every method scored, the paired comparison and the files."""

from __future__ import annotations

import dataclasses
import json
import math
import statistics
from pathlib import Path
from typing import Any

import pytest
import torch

from model.checkpoint import DEFAULT_CHECKPOINT, load_checkpoint, save_checkpoint
from model.networks import VariationalStyleTransfer
from tests.conftest import DATA
from tests.tiny_model import TINY_CONFIG, write_tiny_checkpoint
from training.eval_report import markdown_table
from training.eval_scoring import HED_VGG16_FINGERPRINT, HED_VGG16_SCORING_SCALES, scoring_trunk, trunk_fingerprint
from training.evaluate import evaluate
from training.flags import parse as parse_groups
from training.options import EVALUATE_GROUPS, EvaluateOptions


def parse(*argv: str) -> EvaluateOptions:
    options = parse_groups(EVALUATE_GROUPS, argv).options
    assert isinstance(options, EvaluateOptions)
    return options


def test_evaluate_scores_every_method_and_pairs_them(tiny_checkpoint: Path, tmp_path: Path) -> None:
    args = parse(
        "--checkpoint", str(tiny_checkpoint),
        "--baseline-checkpoint", str(tiny_checkpoint),
        "--content", str(DATA / "eval" / "content"),
        "--style", str(DATA / "eval" / "style"),
        "--contents", "2", "--styles", "2", "--max-side", "48",
        "--samples", "2", "--sweep-steps", "3",
        "--gatys-steps", "2", "--gatys-pairs", "1", "--sheet-pairs", "3", "--alphas", "0,0.5,1",
        "--out", str(tmp_path),
    )  # fmt: skip
    results = evaluate(args)

    methods = results["methods"]
    assert methods["ours"]["pairs"] == 4
    assert methods["ours_sampled"]["pairs"] == 8  # 2 samples per pair
    assert methods["deterministic"]["pairs"] == 4
    assert methods["gatys"]["pairs"] == 1
    # The baseline here is the same checkpoint at variation 0, so every paired difference is zero.
    paired = results["paired_vs_deterministic"]
    assert paired["content_loss"]["pairs"] == 4
    assert abs(paired["content_loss"]["mean"]) < 1e-6
    assert abs(paired["style_loss"]["high"] - paired["style_loss"]["low"]) < 1e-6

    # Alpha curves: 0, 0.5 and 1 for both, each point averaged over the same 4 pairs.
    curves = results["tradeoff"]["curves"]
    assert [p["alpha"] for p in curves["ours"]] == [0.0, 0.5, 1.0]
    assert curves["ours"][-1]["content_loss"] == methods["ours"]["content_loss"]
    # Same model on both sides: ours read off the baseline's curve matches it exactly at every point.
    matched = results["tradeoff"]["at_equal_content"]
    assert len(matched) == 6  # each curve's 3 points, read on the other
    assert {p["point_of"] for p in matched} == {"ours", "deterministic"}
    assert all(abs(p["relative"]) < 1e-6 for p in matched)
    geometric = results["tradeoff"]["at_equal_content_geometric"]
    assert len(geometric) == 6 and all(abs(p["relative"]) < 1e-6 for p in geometric)
    interval = results["tradeoff"]["at_baseline_content_interval"]
    assert all(abs(interval[a][k]) < 1e-6 for a in ("mean", "geometric") for k in ("relative", "low", "high"))
    per_pair = results["per_pair"]
    assert sorted(per_pair["ours"]) == ["0.0", "0.5", "1.0"]
    assert per_pair["deterministic"]["1.0"]["style_loss"] == per_pair["ours"]["1.0"]["style_loss"]  # same model
    assert statistics.fmean(per_pair["ours"]["0.5"]["content_loss"]) == curves["ours"][1]["content_loss"]
    ratios = results["paired_ratios_vs_deterministic"]
    assert ratios["style_loss"]["ratio"] == 1.0 and ratios["style_loss"]["wins"] == 0.0  # ties are not wins
    paintings = results["per_painting"]
    assert [row["style"] for row in paintings] == sorted(p.name for p in (DATA / "eval" / "style").iterdir())[:2]
    assert paintings[0]["ours_style_loss"] == paintings[0]["baseline_style_loss"] > 0
    assert (tmp_path / "tradeoff.png").stat().st_size > 1000

    assert json.loads((tmp_path / "eval.json").read_text())["methods"]["ours"]["pairs"] == 4
    table = (tmp_path / "eval.md").read_text()
    assert table == markdown_table(results)
    assert "Gatys optimisation" in table and "ours - baseline" in table
    assert "ours / baseline" in table and paintings[1]["style"] in table
    assert "bootstrap interval" in table
    from PIL import Image

    with Image.open(tmp_path / "contact_sheet.png") as sheet:
        rows_shown = sheet.height
    with Image.open(tmp_path / "sweep.png") as sweep:
        one_row = sweep.height
    assert rows_shown > 2 * one_row and rows_shown < 4 * one_row  # --sheet-pairs 3 of the 4 pairs


def test_alphas_outside_zero_one_are_refused() -> None:
    import pytest

    with pytest.raises(SystemExit):
        parse("--alphas", "0.5,1.5")
    assert parse("--alphas", "0.2,1").alphas == [0.2, 1.0]


def test_the_report_says_na_when_ours_curve_never_reaches_the_baseline_content() -> None:
    """Ours better on content at every alpha: the reading at the baseline's content is undefined, not +nan%."""
    row = {
        "pairs": 4,
        "content_loss": 2.0,
        "style_loss": 1e-3,
        "edge_correlation": 0.7,
        "tone_correlation": 0.7,
        "color_distance": 0.3,
    }
    undefined = {"relative": math.nan, "low": math.nan, "high": math.nan, "outside": 2000}
    defined = {"relative": 0.05, "low": 0.01, "high": 0.09, "outside": 3}
    results: dict[str, Any] = {
        "methods": {"ours": {**row, "seconds_per_image": 0.01}},
        "diversity": {"mean_abs_pixel_difference": 10.0, "mean_relu3_1_distance": 0.2},
        "sweep": {"max_over_mean": 1.1, "max_over_path": 0.15},
        "settings": {"variation": 1.0},
        "style_encoding_seconds": 0.05,
        "tradeoff": {"at_baseline_content_interval": {"mean": undefined, "geometric": defined}},
    }
    table = markdown_table(results)
    assert "nan" not in table
    assert "| mean | n/a: ours' curve does not reach that content loss | n/a | 2000 |" in table
    assert "| geometric mean | +5.0% | +1.0% .. +9.0% | 3 |" in table


def test_evaluate_on_cuda_matches_the_cpu_or_refuses_in_one_line(
    tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--device cuda` scores the same pairs as the CPU up to float tolerance where there is a GPU; where
    there is none (CI), it stops with a one-line error and exit code 2 before writing anything."""
    import torch

    from cli.main import main as vst_main

    def argv(device: str, out: Path) -> list[str]:
        return [
            "evaluate", "--checkpoint", str(tiny_checkpoint), "--baseline-checkpoint", str(tiny_checkpoint),
            "--content", str(DATA / "eval" / "content"), "--style", str(DATA / "eval" / "style"),
            "--contents", "2", "--styles", "2", "--max-side", "48", "--samples", "2", "--sweep-steps", "3",
            "--gatys-steps", "2", "--gatys-pairs", "1", "--alphas", "0.5,1", "--device", device, "--out", str(out),
        ]  # fmt: skip

    if not torch.cuda.is_available():
        assert vst_main(argv("cuda", tmp_path / "cuda")) == 2
        error = capsys.readouterr().err.strip()
        assert "no CUDA device" in error and len(error.splitlines()) == 1
        assert not (tmp_path / "cuda").exists()
        return
    assert vst_main(argv("cuda", tmp_path / "cuda")) == 0
    assert vst_main(argv("cpu", tmp_path / "cpu")) == 0
    on_gpu, on_cpu = (json.loads((tmp_path / d / "eval.json").read_text()) for d in ("cuda", "cpu"))
    for method in ("ours", "ours_sampled", "deterministic", "gatys"):
        for metric in ("content_loss", "style_loss", "edge_correlation", "tone_correlation", "color_distance"):
            assert math.isclose(on_gpu["methods"][method][metric], on_cpu["methods"][method][metric], rel_tol=2e-2)


def _with_scales(scales: tuple[float, float, float, float]) -> VariationalStyleTransfer:
    torch.manual_seed(0)  # the same seed: the same (tiny, random) loss network, other layer scales
    config = dataclasses.replace(TINY_CONFIG, trunk=dataclasses.replace(TINY_CONFIG.trunk, layer_scales=scales))
    return VariationalStyleTransfer(config).eval()


def test_scores_take_the_layer_scales_of_one_reference_checkpoint(tmp_path: Path) -> None:
    ours = _with_scales((1.0, 1.0, 1.0, 1.0))
    reference = tmp_path / "reference.safetensors"
    save_checkpoint(_with_scales((2.0, 3.0, 4.0, 5.0)), reference)
    trunk, source = scoring_trunk(ours, reference)
    assert source == str(reference)
    assert trunk.layer_scales.tolist() == [2.0, 3.0, 4.0, 5.0]
    assert ours.style_encoder.trunk.layer_scales.tolist() == [1.0, 1.0, 1.0, 1.0]  # its style codes are untouched
    image = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        for scale, scored, own in zip((2, 3, 4, 5), trunk(image), ours.style_encoder.trunk(image), strict=True):
            torch.testing.assert_close(scored * scale, own)

    other = write_tiny_checkpoint(tmp_path / "other.safetensors", seed=1)  # another random loss network
    with pytest.raises(ValueError, match="another loss network"):
        scoring_trunk(ours, other)
    # By default hed-vgg16's pinned scales are the reference; this tiny network is not hed-vgg16: its own scales.
    trunk, source = scoring_trunk(ours, None)
    assert source.startswith("the evaluated checkpoint")
    assert trunk.layer_scales.tolist() == [1.0, 1.0, 1.0, 1.0]


def test_a_hed_vgg16_network_of_any_seed_is_scored_on_the_pinned_scales() -> None:
    shipped, _ = load_checkpoint(DEFAULT_CHECKPOINT)
    assert trunk_fingerprint(shipped.style_encoder.trunk) == HED_VGG16_FINGERPRINT
    # Another seed calibrates other scales (seed 1: relu4_1 4.41); the score must not follow them.
    shipped.style_encoder.trunk.layer_scales.copy_(torch.tensor([14.0, 13.0, 8.0, 4.41]))
    trunk, source = scoring_trunk(shipped, None)
    assert "pinned" in source
    assert trunk.layer_scales.tolist() == pytest.approx(HED_VGG16_SCORING_SCALES)
    assert shipped.style_encoder.trunk.layer_scales.tolist() == pytest.approx([14.0, 13.0, 8.0, 4.41])
