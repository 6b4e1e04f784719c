"""The training loop: it learns (a tiny batch overfits), writes its files, and resumes at the right step."""

from __future__ import annotations

import csv
import dataclasses
import json
import logging
import math
from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image
from safetensors import safe_open

from model import functional as VF
from model.checkpoint import load_checkpoint
from model.inference import Stylizer
from model.networks import VariationalStyleTransfer
from tests.conftest import DATA, REPO_ROOT
from tests.tiny_model import TINY_CONFIG, tiny_model, write_tiny_checkpoint
from training.objective import LossNorms, compute_losses, estimate_norms
from training.options import LossWeights, ModelOptions, TrainOptions
from training.train import record_tone, scheduled_lr, train
from training.warm_start import warm_start

TINY_MODEL_OPTIONS = ModelOptions(latent_dim=8, widths=(4, 8, 8), residual_blocks=1)


def test_a_tiny_batch_overfits() -> None:
    torch.manual_seed(0)
    model = tiny_model()
    model.train()
    contents = torch.rand(4, 3, 32, 32)
    styles = torch.rand(2, 3, 32, 32)
    norms = estimate_norms(model, contents, torch.cat([styles, styles]))
    weights = LossWeights(kl=0.0, triplet=0.0)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    generator = torch.Generator().manual_seed(0)
    losses = []
    for step in range(60):
        optimizer.zero_grad()
        loss, terms, outputs = compute_losses(model, contents, styles, weights, norms, step, generator)
        loss.backward()
        optimizer.step()
        losses.append(terms["loss"])
    assert outputs.shape == contents.shape
    assert losses[-1] < 0.6 * losses[0], losses[::10]


def test_norms_are_positive_and_loss_terms_start_near_one() -> None:
    torch.manual_seed(1)
    model = tiny_model()
    norms = estimate_norms(model, torch.rand(4, 3, 32, 32), torch.rand(4, 3, 32, 32))
    assert min(norms.content, norms.style, norms.mean_std, norms.color) > 0
    unit = LossNorms()
    assert unit.content == unit.style == unit.mean_std == unit.color == 1.0
    assert TINY_CONFIG.latent_dim == TINY_MODEL_OPTIONS.latent_dim


def _options(
    out: Path, steps: int, resume: bool = False, style_color_jitter: float = 0.0, **overrides: Any
) -> TrainOptions:
    return TrainOptions(
        content=str(DATA / "train" / "content"),
        style=str(DATA / "train" / "style"),
        limit=6,
        out=str(out),
        steps=steps,
        batch=2,
        content_sizes=(32, 48),
        style_sizes=(32, 48),
        short_side=64,
        loss_network="tiny",
        allow_random_loss_network=True,
        device="cpu",
        resume=resume,
        style_color_jitter=style_color_jitter,
        log_every=1,
        sample_every=2,
        save_every=2,
        model=TINY_MODEL_OPTIONS,
        **overrides,
    )


def _state_step(path: Path) -> int:
    with safe_open(str(path), framework="pt") as handle:
        return int(handle.metadata()["step"])


def test_training_writes_its_files_and_resumes_at_the_right_step(tmp_path: Path) -> None:
    out = tmp_path / "run"
    model_path = train(_options(out, steps=4))
    assert _state_step(out / "train_state.safetensors") == 4
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["step_000002.png", "step_000004.png", "tone.csv"]
    model, provenance = load_checkpoint(model_path)
    assert provenance["steps"] == 4
    assert provenance["loss_network"] == "tiny"
    assert set(provenance["loss_weights"]) >= {"content", "style", "kl", "triplet"}
    stylizer = Stylizer(model)
    code = stylizer.encode_style(Image.new("RGB", (16, 16), (10, 200, 10)))
    assert stylizer.stylize(Image.new("RGB", (20, 12), (200, 30, 30)), [code])[0].size == (20, 12)

    # The second leg recolours every style crop (--style-color-jitter 1); the loop and the record take it.
    train(_options(out, steps=6, resume=True, style_color_jitter=1.0))
    assert _state_step(out / "train_state.safetensors") == 6
    with open(out / "metrics.csv") as handle:
        steps = [int(row["step"]) for row in csv.DictReader(handle)]
    assert steps == [0, 1, 2, 3, 4, 5]
    with open(out / "samples" / "tone.csv") as handle:
        tones = list(csv.DictReader(handle))
    assert [int(row["step"]) for row in tones] == [2, 4, 6]  # one header, the resumed leg appends
    assert all(-1.0 <= float(row["tone_correlation"]) <= 1.0 for row in tones)
    _, provenance = load_checkpoint(model_path)
    assert provenance["steps"] == 6
    assert provenance["data"]["style_color_jitter"] == 1.0
    json.dumps(provenance)  # JSON-safe all the way down


def test_metrics_csv_widens_when_a_resumed_run_logs_a_new_term(tmp_path: Path) -> None:
    from training.report import read_metrics
    from training.train import write_metrics

    path = tmp_path / "metrics.csv"
    write_metrics(path, 10, 1.0, {"loss": 2.0, "content": 1.0})
    write_metrics(path, 20, 2.0, {"loss": 1.5, "content": 0.9, "color": 0.4})
    write_metrics(path, 30, 3.0, {"loss": 1.0, "content": 0.8, "color": 0.3})
    columns = read_metrics(path)
    assert columns["step"] == [10.0, 20.0, 30.0]
    assert columns["content"] == [1.0, 0.9, 0.8]  # nothing lost in the rewrite
    assert math.isnan(columns["color"][0]) and columns["color"][1:] == [0.4, 0.3]
    assert read_metrics(path, until=30)["step"] == [10.0, 20.0]  # a leg that was not shipped, left out


# Every term off but the diversity hinge, whose target is half the range.
ONLY_DIVERSITY = LossWeights(
    content=0.0,
    style=0.0,
    mean_std=0.0,
    color=0.0,
    tone=0.0,
    triplet=0.0,
    kl=0.0,
    diversity=1.0,
    diversity_target=0.5,
)


def test_the_tone_term_is_logged_at_weight_zero_and_trains_when_weighted() -> None:
    torch.manual_seed(3)
    model = tiny_model()
    contents, styles = torch.rand(4, 3, 32, 32), torch.rand(2, 3, 32, 32)
    norms = estimate_norms(model, contents, torch.cat([styles, styles]))
    off = dataclasses.replace(ONLY_DIVERSITY, diversity=0.0)  # every term off
    loss, terms, outputs = compute_losses(model, contents, styles, off, norms, 0)
    assert terms["tone"] == pytest.approx(float(VF.tone_loss(outputs.detach(), contents)))
    assert 0.0 <= terms["tone"] <= 2.0
    assert loss.item() == 0.0
    loss.backward()  # logged only: nothing to train
    assert all(p.grad is None or float(p.grad.abs().sum()) == 0.0 for p in model.parameters())
    loss, terms, _ = compute_losses(model, contents, styles, dataclasses.replace(off, tone=1.0), norms, 0)
    assert loss.item() == pytest.approx(terms["tone"])
    loss.backward()
    decoder_grads = [p.grad for p in model.decoder.parameters() if p.grad is not None]
    assert decoder_grads and any(float(g.abs().sum()) > 0 for g in decoder_grads)


def test_the_diversity_term_costs_a_second_draw_and_reaches_sigma() -> None:
    torch.manual_seed(2)
    model = tiny_model()
    contents, styles = torch.rand(4, 3, 32, 32), torch.rand(2, 3, 32, 32)
    norms = estimate_norms(model, contents, torch.cat([styles, styles]))
    off = compute_losses(model, contents, styles, LossWeights(diversity=0.0), norms, 0)[1]
    assert off["diversity"] == 0.0
    only_diversity = ONLY_DIVERSITY
    loss, terms, _ = compute_losses(model, contents, styles, only_diversity, norms, 0)
    assert 0.0 < terms["diversity"] <= 0.5  # a random tiny model's samples differ by less than half the range
    assert loss.item() == pytest.approx(terms["diversity"])
    loss.backward()
    # The hinge trains the spread of the codes too: its gradient reaches the logvar head of E_s.
    head = model.style_encoder.mlp[-1]
    assert isinstance(head, torch.nn.Linear)
    assert head.weight.grad is not None and head.weight.grad[TINY_CONFIG.latent_dim :].abs().sum() > 0


def test_mean_code_share_decodes_mu_for_that_share_of_the_codes() -> None:
    torch.manual_seed(3)
    model = tiny_model()
    contents, styles = torch.rand(4, 3, 32, 32), torch.rand(2, 3, 32, 32)
    norms = estimate_norms(model, contents, torch.cat([styles, styles]))

    def outputs(share: float, seed: int) -> torch.Tensor:
        weights = LossWeights(diversity=0.0, mean_code_share=share)
        with torch.no_grad():
            return compute_losses(model, contents, styles, weights, norms, 0, torch.Generator().manual_seed(seed))[2]

    with torch.no_grad():
        mu, _ = model.style_encoder(styles)  # (2, D)
        film = model.decoder.film_parameters(mu.repeat_interleave(2, 0))
        at_mu = model.decoder(model.content_encoder(contents), film)  # (4, 3, 32, 32)
    # share 1: every code is mu, whatever the noise; share 0: the noise moves every output.
    assert torch.allclose(outputs(1.0, 0), at_mu, atol=1e-6)
    assert torch.allclose(outputs(1.0, 0), outputs(1.0, 1), atol=1e-6)
    assert not torch.allclose(outputs(0.0, 0), at_mu, atol=1e-4)
    # A share in between decodes mu for some styles and a sample for the others (over a few draws, both occur).
    kinds = set()
    for seed in range(12):
        mixed = outputs(0.5, seed)
        for pair in range(2):
            rows = slice(2 * pair, 2 * pair + 2)
            kinds.add(bool(torch.allclose(mixed[rows], at_mu[rows], atol=1e-6)))
    assert kinds == {True, False}


def test_a_style_color_jitter_outside_zero_one_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    from cli.main import main as vst_main

    with pytest.raises(SystemExit) as exited:
        vst_main(["train", "--style-color-jitter", "1.5", "--steps", "1"])
    assert exited.value.code == 2
    assert "--style-color-jitter" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        vst_main(["train", "--lr", "0.001", "--lr-final", "0.01", "--steps", "1"])
    assert exited.value.code == 2
    assert "--lr-final" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        vst_main(["train", "--mean-code-share", "-0.1", "--steps", "1"])
    assert exited.value.code == 2
    assert "--mean-code-share" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        vst_main(["train", "--tone-weight", "-1", "--steps", "1"])
    assert exited.value.code == 2
    assert "--tone-weight" in capsys.readouterr().err


def test_scheduled_lr_by_hand() -> None:
    assert scheduled_lr(1e-3, None, 0, 100, 50) == 1e-3  # constant without --lr-final
    assert scheduled_lr(1e-3, 1e-4, 40, 100, 40) == 1e-3  # not started yet
    assert scheduled_lr(1e-3, 1e-4, 40, 100, 70) == pytest.approx(1e-3 + (1e-4 - 1e-3) * 0.5)
    assert scheduled_lr(1e-3, 1e-4, 40, 100, 100) == pytest.approx(1e-4)


def test_a_decaying_leg_keeps_its_schedule_across_a_resume(tmp_path: Path) -> None:
    out = tmp_path / "run"
    schedule: dict[str, Any] = {"lr": 1e-3, "lr_final": 0.0, "lr_decay_start": 2}
    train(_options(out, steps=4, **schedule))
    train(_options(out, steps=6, resume=True, **schedule))
    with open(out / "metrics.csv") as handle:
        logged = {int(row["step"]): float(row["lr"]) for row in csv.DictReader(handle)}
    # The first leg decayed over steps 2..4 of its --steps 4; the resumed leg over 2..6, from its step 4.
    assert logged[0] == logged[1] == logged[2] == pytest.approx(1e-3)
    assert logged[3] == pytest.approx(0.5e-3)
    assert logged[4] == pytest.approx(0.5e-3) and logged[5] == pytest.approx(0.25e-3)


def test_with_decoder_noise_the_hinge_trains_the_noise_strengths_not_sigma() -> None:
    torch.manual_seed(5)
    model = VariationalStyleTransfer(dataclasses.replace(TINY_CONFIG, decoder_noise=True))
    contents, styles = torch.rand(4, 3, 32, 32), torch.rand(2, 3, 32, 32)
    norms = estimate_norms(model, contents, torch.cat([styles, styles]))
    # Every code at mu: the first outputs get no noise maps either.
    only_diversity = dataclasses.replace(ONLY_DIVERSITY, mean_code_share=1.0)
    loss, terms, _ = compute_losses(model, contents, styles, only_diversity, norms, 0)
    # Small initial strengths: the draws differ a little, by far more than any CPU's rounding, so the hinge's
    # |a - b| has a real subgradient from the first step (at zero strengths it had none but by rounding luck).
    assert 0.45 < terms["diversity"] < 0.5 - 1e-5
    loss.backward()
    assert model.decoder.noise_strength is not None
    assert sum(float(p.grad.abs().sum()) for p in model.decoder.noise_strength if p.grad is not None) > 1e-4
    head = model.style_encoder.mlp[-1]
    assert isinstance(head, torch.nn.Linear) and head.weight.grad is not None
    assert head.weight.grad[TINY_CONFIG.latent_dim :].abs().sum() == 0


def test_init_from_continues_an_exported_model_at_its_step(tmp_path: Path) -> None:
    source = train(_options(tmp_path / "first", steps=4))
    out = tmp_path / "branch"
    options = _options(out, steps=6, init_from=str(source))
    options.model = dataclasses.replace(TINY_MODEL_OPTIONS, decoder_noise=True)
    model_path = train(options)
    assert _state_step(out / "train_state.safetensors") == 6
    with open(out / "metrics.csv") as handle:
        assert [int(row["step"]) for row in csv.DictReader(handle)] == [4, 5]
    model, provenance = load_checkpoint(model_path)
    assert provenance["steps"] == 6 and model.config.decoder_noise
    # Outside the working directory only the file's folder and name are recorded, never the machine's path.
    assert provenance["init_from"]["path"] == f"{source.parent.name}/{source.name}"
    assert provenance["init_from"]["step"] == 4
    # The branch starts as the source model: the same weights (fp16-rounded), so the same images at
    # variation 0, and small noise strengths, so nearly the same with noise.
    started = warm_start(source, decoder_noise=True).model
    original, _ = load_checkpoint(source)
    image, code = torch.rand(1, 3, 16, 16), torch.randn(1, TINY_CONFIG.latent_dim)
    maps = started.decoder.noise_maps(torch.ones(1), 4, 4)
    with torch.no_grad():
        features = started.content_encoder(image)
        film = started.decoder.film_parameters(code)
        expected = original(image, code)
        torch.testing.assert_close(started.decoder(features, film), expected)
        assert float((started.decoder(features, film, maps) - expected).abs().mean()) < 5e-3


def test_init_from_refuses_a_checkpoint_without_a_step(tmp_path: Path) -> None:
    path = write_tiny_checkpoint(tmp_path / "tiny.safetensors")
    with pytest.raises(ValueError, match="step and loss norms"):
        warm_start(path, decoder_noise=False)


def test_the_noise_strengths_get_their_own_rate_and_come_last() -> None:
    from training.train import parameter_groups

    plain = parameter_groups(tiny_model(), 10.0)
    assert len(plain) == 1 and len(plain[0]["params"]) == len([p for p in tiny_model().parameters() if p.requires_grad])
    noisy_model = VariationalStyleTransfer(dataclasses.replace(TINY_CONFIG, decoder_noise=True))
    groups = parameter_groups(noisy_model, 10.0)
    assert noisy_model.decoder.noise_strength is not None
    assert [g["lr_scale"] for g in groups] == [1.0, 10.0]
    assert groups[1]["params"] == list(noisy_model.decoder.noise_strength)
    # The other weights keep the order they had in a model without the noise input.
    assert [tuple(p.shape) for p in groups[0]["params"]] == [tuple(p.shape) for p in plain[0]["params"]]


def test_a_branched_runs_curves_follow_its_sources_up_to_the_branch() -> None:
    from training.report import join_metrics

    source = {"step": [0.0, 10.0, 20.0, 30.0], "content": [4.0, 3.0, 2.0, 1.5], "kl": [9.0, 8.0, 7.0, 6.0]}
    branch = {"step": [20.0, 30.0], "content": [1.9, 1.7], "diversity": [0.02, 0.01]}
    joined = join_metrics(source, branch)
    assert joined["step"] == [0.0, 10.0, 20.0, 30.0]
    assert joined["content"] == [4.0, 3.0, 1.9, 1.7]  # the source's rows from the branch step on are dropped
    assert joined["kl"][:2] == [9.0, 8.0] and all(math.isnan(v) for v in joined["kl"][2:])
    assert all(math.isnan(v) for v in joined["diversity"][:2]) and joined["diversity"][2:] == [0.02, 0.01]


def test_the_checkpoint_names_the_seed_it_was_trained_with(tmp_path: Path) -> None:
    """Replicates of one recipe differ only in the seed, so the file must say which it is."""
    _, provenance = load_checkpoint(train(_options(tmp_path / "run", steps=2, seed=7)))
    assert provenance["seed"] == 7


def test_record_tone_appends_and_warns_on_negatives(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "tone.csv"
    with caplog.at_level(logging.WARNING, logger="training.train"):
        record_tone(path, 100, 0.61)
        assert not caplog.records
        record_tone(path, 200, -0.7)
    assert path.read_text().splitlines() == ["step,tone_correlation", "100,0.6100", "200,-0.7000"]
    assert "negatives of their photos" in caplog.records[0].getMessage()
    assert "-0.70" in caplog.records[0].getMessage()


def test_the_default_loss_weights_are_the_shipped_checkpoints() -> None:
    _, provenance = load_checkpoint(REPO_ROOT / "checkpoints" / "vst-default.safetensors")
    assert dataclasses.asdict(LossWeights()) == provenance["loss_weights"]


def test_checkpoints_record_portable_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from training.provenance import portable_path

    monkeypatch.chdir(tmp_path)
    (tmp_path / "data" / "style").mkdir(parents=True)
    assert portable_path("data/style") == "data/style"
    assert portable_path(tmp_path / "data" / "style") == "data/style"
    assert portable_path("/somewhere/else/corpus/train/paintings") == "train/paintings"


def test_a_training_state_without_the_colour_norm_is_refused_clearly(tmp_path: Path) -> None:
    from safetensors.torch import load_file

    from model.checkpoint import atomic_save

    out = tmp_path / "run"
    train(_options(out, steps=2))
    state = out / "train_state.safetensors"
    with safe_open(str(state), framework="pt") as handle:
        metadata = dict(handle.metadata())
    meta = json.loads(metadata["meta"])
    del meta["loss_norms"]["color"]  # as a state written before the colour loss
    metadata["meta"] = json.dumps(meta)
    atomic_save(load_file(str(state)), state, metadata)
    with pytest.raises(ValueError, match="without the colour loss"):
        train(_options(out, steps=4, resume=True))
