"""training/recipes/*.sh: run with a stand-in for `vst` that records its command lines, every training and
evaluation command they give parses into the options the recipe means (the loss weights, not the data paths, for
``--content-weight``; the shipped network's weights for the shipped recipe)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import REPO_ROOT
from training.flags import parse
from training.options import EVALUATE_GROUPS, TRAIN_GROUPS, EvaluateOptions, LossWeights, ModelOptions, TrainOptions
from training.options import train_options as parsed_train_options
from training.train_baseline import BASELINE_GROUPS, BaselineTrainOptions

RECIPES = REPO_ROOT / "training" / "recipes"

RECORDER = """\
import json, os, sys
with open(os.environ["VST_RECORD"], "a") as handle:
    handle.write(json.dumps(sys.argv[1:]) + "\\n")
"""


def _run(recipe: str, tmp_path: Path, *args: str, **env: str) -> list[list[str]]:
    """The `vst` command lines that ``recipe`` gives, in order, with ``-m cli.main`` dropped."""
    record = tmp_path / "record.jsonl"
    stand_in = tmp_path / "vst"
    stand_in.write_text(f"#!{sys.executable}\n{RECORDER}")
    stand_in.chmod(0o755)
    environment = os.environ | {"VST": str(stand_in), "PY": str(stand_in), "VST_RECORD": str(record)} | env
    subprocess.run(
        ["bash", str(RECIPES / recipe), *args], env=environment, cwd=tmp_path, capture_output=True, timeout=60
    )
    lines = [json.loads(line) for line in record.read_text().splitlines()]
    return [argv[2:] if argv[:2] == ["-m", "cli.main"] else argv for argv in lines]


def _train(argv: list[str]) -> TrainOptions:
    assert argv[0] == "train"
    return parsed_train_options(parse(TRAIN_GROUPS, argv[1:]))


def _baseline(argv: list[str]) -> BaselineTrainOptions:
    assert argv[0] == "train-baseline"
    options = parse(BASELINE_GROUPS, argv[1:]).options
    assert isinstance(options, BaselineTrainOptions)
    return options


def _some(options: Any, **expected: Any) -> None:
    assert {name: getattr(options, name) for name in expected} == expected


def test_the_shipped_recipe_trains_the_shipped_weights(tmp_path: Path) -> None:
    calls = _run("shipped.sh", tmp_path, str(tmp_path / "runs"))
    assert [argv[0] for argv in calls] == ["train", "train", "train", "average", "average"]
    stem, *arms = (_train(argv) for argv in calls[:3])
    base, ours = sorted(arms, key=lambda options: options.out)
    deterministic = dataclasses.replace(LossWeights(), kl=0.0, triplet=0.0, diversity=0.0)
    assert stem.weights == base.weights == deterministic
    assert ours.weights == LossWeights()  # the defaults are the shipped network's weights
    assert ours.model == ModelOptions(decoder_noise=True) and base.model == stem.model == ModelOptions()
    # --content-weight and --style-weight are weights: the images stay the defaults.
    assert ours.content == TrainOptions().content and ours.style == TrainOptions().style
    _some(stem, seed=2, num_workers=0, batch=8, steps=900, lr=1e-3, lr_final=None, snapshot_every=90)
    _some(ours, batch=16, steps=1350, lr_final=5e-5, lr_decay_start=900, snapshot_every=45, save_every=45)
    _some(ours, content_sizes=(128, 176), style_sizes=(128, 224), style_color_jitter=0.0, log_every=10)
    assert ours.init_from == str(tmp_path / "runs" / "stem" / "snapshots" / "model_step000900.safetensors")


def _corpus_flags() -> dict[str, Any]:
    weights = LossWeights(kl_warmup_steps=1000, diversity_target=0.06, mean_code_share=0.5)
    return {"weights": weights, "model": ModelOptions(upsample="bilinear", decoder_noise=True)}


def test_the_corpus_recipe_on_the_cpu(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    (calls,) = _run("corpus.sh", tmp_path, str(tmp_path / "run"), "30", CORPUS=str(corpus))
    options = _train(calls)
    _some(options, **_corpus_flags(), content_sizes=(128, 192), style_sizes=(160, 224), short_side=224)
    _some(options, content=str(corpus / "photos"), style=str(corpus / "paintings"), max_minutes=30.0, resume=False)
    _some(options, batch=8, steps=20000, lr=1e-3, seed=3, snapshot_every=250, save_every=50, sample_every=250)


def test_the_gpu_recipe_trains_and_evaluates_on_the_device(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    for folder in ("photos", "paintings"):
        (pack / folder).mkdir(parents=True)
    out = tmp_path / "out"
    train, evaluate = _run("gpu.sh", tmp_path, str(out), PACK=str(pack), STEPS="1000", LOSS_WEIGHTS="hed.h5")
    options = _train(train)
    _some(options, **_corpus_flags(), device="cuda", batch=16, steps=1000, lr_final=5e-5, lr_decay_start=500)
    _some(options, max_minutes=7.0, snapshot_every=50, save_every=50, sample_every=250, num_workers=0)
    _some(options, loss_weights_path="hed.h5", short_side=192, out=str(out / "run"))
    assert evaluate[0] == "evaluate"
    assert parse(EVALUATE_GROUPS, evaluate[1:]).options == EvaluateOptions(
        device="cuda", checkpoint=out / "model.safetensors", contents=12, styles=15, gatys_pairs=0, out=out / "eval"
    )


def test_the_adain_recipe_trains_in_two_legs_on_the_cpu(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    first, second = (
        _baseline(argv) for argv in _run("adain.sh", tmp_path, str(tmp_path / "run"), CORPUS_DIR=str(corpus))
    )
    for leg in (first, second):
        _some(leg, method="adain", resume=True, content=str(corpus / "train" / "photos"), batch=4, lr=5e-4)
        _some(leg, short_side=192, content_sizes=(128, 160), style_sizes=(128, 160), num_workers=0, depth=None)
    _some(first, steps=1000, lr_final=None)
    _some(second, steps=2100, lr_final=5e-5)


def test_the_linear_recipe_on_the_gpu(tmp_path: Path) -> None:
    (calls,) = _run("linear.sh", tmp_path, str(tmp_path / "run"), CORPUS_DIR=str(tmp_path), DEVICE="cuda", MINUTES="20")
    options = _baseline(calls)
    _some(options, method="linear", depth=3, device="cuda", batch=8, lr=1e-4, lr_final=1e-5, short_side=512)
    _some(options, content_sizes=(256, 256), steps=20000, recon_steps=5000, num_workers=4, max_minutes=20.0)
