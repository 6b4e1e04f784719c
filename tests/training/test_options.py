"""The options dataclasses are the flags: every field is a flag of its command, with its help, and parsing a
command line fills the dataclasses with the same values and defaults as constructing them."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from cli.main import main as vst_main
from training.flags import flag_of, parse
from training.options import (
    EVALUATE_GROUPS,
    TRAIN_GROUPS,
    EvaluateOptions,
    LossWeights,
    ModelOptions,
    TrainOptions,
    train_options,
)
from training.train_baseline import BASELINE_GROUPS, BaselineTrainOptions

COMMANDS: dict[str, dict[str, type]] = {
    "train": TRAIN_GROUPS,
    "train-baseline": BASELINE_GROUPS,
    "evaluate": EVALUATE_GROUPS,
}


def _help(command: str, capsys: pytest.CaptureFixture[str]) -> str:
    """``vst COMMAND --help`` with all whitespace removed, so that wrapped lines compare as written."""
    with pytest.raises(SystemExit):
        vst_main([command, "--help"])
    return "".join(capsys.readouterr().out.split())


def _option_fields(groups: dict[str, type]) -> list[dataclasses.Field[Any]]:
    return [f for group in groups.values() for f in dataclasses.fields(group) if f.metadata.get("cmd", True)]


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_field_is_a_flag_of_its_command_with_its_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    shown = _help(command, capsys)
    fields = _option_fields(COMMANDS[command])
    assert len(fields) >= 19
    for field in fields:
        help = field.metadata["help"]
        if help == argparse.SUPPRESS:
            assert flag_of(field) not in shown, field.name
            continue
        assert flag_of(field) in shown, field.name
        assert "".join(help.split()) in shown, field.name


@pytest.mark.parametrize("command", list(COMMANDS))
def test_no_two_fields_of_a_command_share_a_flag(command: str) -> None:
    flags = [flag_of(f) for f in _option_fields(COMMANDS[command])]
    assert len(flags) == len(set(flags))


def test_a_plain_vst_train_trains_the_dataclasses_defaults() -> None:
    assert train_options(parse(TRAIN_GROUPS, [])) == TrainOptions()
    assert parse(EVALUATE_GROUPS, []).options == EvaluateOptions()
    required = ["--method", "adain", "--content", "photos", "--style", "paintings"]
    assert parse(BASELINE_GROUPS, required).options == BaselineTrainOptions(
        method="adain", content="photos", style="paintings"
    )


def test_the_weights_and_model_flags_fill_their_own_dataclasses() -> None:
    argv = ["--content", "photos", "--content-weight", "4", "--kl-warmup", "90", "--triplet-margin", "0.1"]
    argv += ["--widths", "4,8,16", "--decoder-noise", "--upsample", "bilinear", "--loss-weights", "vgg.pth"]
    options = train_options(parse(TRAIN_GROUPS, argv))
    assert options.content == "photos"
    assert options.loss_weights_path == "vgg.pth"
    assert options.weights == LossWeights(content=4.0, kl_warmup_steps=90, triplet_margin=0.1)
    assert options.model == ModelOptions(widths=(4, 8, 16), decoder_noise=True, upsample="bilinear")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--num-workers", "auto"], {"num_workers": None}),
        (["--num-workers", "3"], {"num_workers": 3}),
        (["--content-sizes", "64,96", "--style-sizes", "96,128"],
         {"content_sizes": (64, 96), "style_sizes": (96, 128)}),
        (["--limit", "5", "--max-minutes", "1.5", "--lr-final", "1e-4"],
         {"limit": 5, "max_minutes": 1.5, "lr_final": 1e-4}),
        (["--resume", "--init-from", "snap.safetensors"], {"resume": True, "init_from": "snap.safetensors"}),
        (["--allow-random-loss-network", "--record-samples", "rec"],
         {"allow_random_loss_network": True, "record_samples": "rec"}),
    ],
)  # fmt: skip
def test_flags_take_one_value_each_as_they_always_did(argv: list[str], expected: dict[str, Any]) -> None:
    options = train_options(parse(TRAIN_GROUPS, argv))
    assert {name: getattr(options, name) for name in expected} == expected


@pytest.mark.parametrize(
    "argv",
    [
        ["--content-sizes", "64", "96"],  # one value: LOW,HIGH
        ["--content-sizes", "96,64"],
        ["--widths", "4,8"],
        ["--num-workers", "-1"],
        ["--loss-network", "resnet"],
        ["--resume", "true"],  # a switch takes no value
        ["--content_weight", "3"],  # only the dashed spelling
        ["--weights.content", "3"],
    ],
)
def test_bad_values_and_spellings_are_refused(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        parse(TRAIN_GROUPS, argv)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--batch", "3"], "--batch must be an even number"),
        (["--lr-final", "0.1"], "--lr-final must lie between 0 and --lr"),
        (["--lr-final", "1e-4", "--lr-decay-start", "2000"], "--lr-decay-start"),
        (["--tone-weight", "-1"], "--tone-weight"),
        (["--mean-code-share", "1.5"], "--mean-code-share"),
    ],
)
def test_options_that_cannot_train_name_their_flag(argv: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        train_options(parse(TRAIN_GROUPS, argv))


def test_vst_train_reports_an_untrainable_option_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        vst_main(["train", "--batch", "3"])
    assert exited.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == "vst train: error: --batch must be an even number >= 2"


def test_evaluate_options_parse_into_their_dataclass() -> None:
    argv = ["--checkpoint", "a.safetensors", "--adain-checkpoint", "adain.safetensors", "--alphas", "0.2,1"]
    argv += ["--contents", "12", "--device", "cuda", "--out", "runs/e"]
    options = parse(EVALUATE_GROUPS, argv).options
    assert options == EvaluateOptions(
        checkpoint=Path("a.safetensors"),
        adain_checkpoint=Path("adain.safetensors"),
        alphas=[0.2, 1.0],
        contents=12,
        device="cuda",
        out=Path("runs/e"),
    )
    assert EvaluateOptions().alphas == [0.6, 0.8, 1.0]
    assert EvaluateOptions().alphas is not EvaluateOptions().alphas  # a fresh list each time
