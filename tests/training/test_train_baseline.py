"""Training the published baselines (training/train_baseline.py): they learn, write their files and resume."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
import torch

from model.baselines import AdaINNet, BaselineConfig, LinearNet, build_baseline, load_baseline
from model.checkpoint import CheckpointError
from model.networks import VGGTrunk
from tests.conftest import DATA
from tests.tiny_model import TINY_CONFIG
from training.train import load_train_state
from training.train_baseline import (
    BaselineTrainOptions,
    adain_losses,
    linear_losses,
    train_baseline,
    trainable_parameters,
)


def _tiny(method: str, depth: int) -> tuple[AdaINNet | LinearNet, VGGTrunk]:
    torch.manual_seed(0)
    model = build_baseline(BaselineConfig(method=method, depth=depth, matrix_size=4, trunk=TINY_CONFIG.trunk))
    trunk = VGGTrunk(TINY_CONFIG.trunk)
    trunk.load_state_dict(model.encoder.state_dict(), strict=False)  # the encoder is the trunk's prefix
    return model.train(), trunk.eval()


def _fit(model: AdaINNet | LinearNet, trunk: VGGTrunk, steps: int, reconstruct: bool = False) -> list[float]:
    """Adam on one fixed batch of tiny images; the loss at every step."""
    generator = torch.Generator().manual_seed(1)
    contents, styles = torch.rand(4, 3, 32, 32, generator=generator), torch.rand(4, 3, 32, 32, generator=generator)
    styles = styles * torch.tensor([1.0, 0.4, 0.2])[:, None, None]  # a warm palette, unlike the contents'
    params = trainable_parameters(model, reconstruct)
    for p in model.parameters():
        p.requires_grad_(False)
    for p in params:
        p.requires_grad_(True)
    optimizer = torch.optim.Adam(params, lr=3e-3)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad(set_to_none=True)
        if isinstance(model, LinearNet):
            loss, terms, outputs = linear_losses(model, trunk, contents, styles, 0.02, reconstruct)
        else:
            loss, terms, outputs = adain_losses(model, trunk, contents, styles, 10.0)
        loss.backward()
        optimizer.step()
        losses.append(terms["loss"])
    assert outputs.shape == contents.shape
    return losses


def test_adain_training_steps_lower_its_loss() -> None:
    model, trunk = _tiny("adain", 4)
    encoder_before = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    losses = _fit(model, trunk, 40)
    assert losses[-1] < 0.6 * losses[0], losses[::8]
    for name, tensor in model.encoder.state_dict().items():
        assert torch.equal(tensor, encoder_before[name]), name  # the encoder stays frozen


def test_linear_trains_its_decoder_then_its_transform_and_each_lowers_its_loss() -> None:
    model, trunk = _tiny("linear", 3)
    assert isinstance(model, LinearNet)
    recon = _fit(model, trunk, 40, reconstruct=True)
    assert recon[-1] < 0.6 * recon[0], recon[::8]
    decoder_before = {k: v.clone() for k, v in model.decoder.state_dict().items()}
    transfer = _fit(model, trunk, 40)
    assert transfer[-1] < 0.8 * transfer[0], transfer[::8]
    for name, tensor in model.decoder.state_dict().items():
        assert torch.equal(tensor, decoder_before[name]), name  # frozen in the second phase, as in the paper


def _options(out: Path, method: str, steps: int, **overrides: Any) -> BaselineTrainOptions:
    settings: dict[str, Any] = {"allow_random_loss_network": True, "resume": False} | overrides
    return BaselineTrainOptions(
        method=method,
        content=str(DATA / "train" / "content"),
        style=str(DATA / "train" / "style"),
        limit=6,
        out=str(out),
        steps=steps,
        batch=2,
        recon_steps=2,
        matrix_size=4,
        content_sizes=(32, 48),
        style_sizes=(32, 48),
        short_side=64,
        loss_network="tiny",
        device="cpu",
        log_every=1,
        sample_every=2,
        save_every=2,
        **settings,
    )


@pytest.mark.parametrize("method", ["adain", "linear"])
def test_a_run_writes_its_files_and_resumes_at_the_right_step(method: str, tmp_path: Path) -> None:
    out = tmp_path / method
    model_path = train_baseline(_options(out, method, steps=2))
    _, _, step, _ = load_train_state(out / "train_state.safetensors")
    assert step == 2
    first = load_baseline(model_path, method=method)[0]
    model, provenance = load_baseline(train_baseline(_options(out, method, steps=4, resume=True)), method=method)
    assert provenance["steps"] == 4 and provenance["method"] == method and provenance["loss_network"] == "tiny"
    assert provenance["style_weight"] == (10.0 if method == "adain" else 0.02)
    assert model.config.depth == (4 if method == "adain" else 3)
    with open(out / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(row["step"]) for row in rows] == [0, 1, 2, 3]
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["step_000002.png", "step_000004.png"]
    decoder_kept = all(
        torch.equal(a, b)
        for a, b in zip(first.decoder.state_dict().values(), model.decoder.state_dict().values(), strict=True)
    )
    if method == "linear":
        # Steps 0-1 reconstruct (pixel and feature terms); 2-3 train the transform alone, decoder frozen.
        assert [row["phase"] for row in rows] == ["0.000000", "0.000000", "1.000000", "1.000000"]
        assert rows[0]["pixel"] and rows[3]["style"] and not rows[3]["pixel"]
        assert decoder_kept
    else:
        assert not decoder_kept
    with torch.no_grad():
        out_image = model(torch.rand(1, 3, 24, 32), torch.rand(1, 3, 32, 32))
    assert out_image.shape == (1, 3, 24, 32) and bool(torch.isfinite(out_image).all())


def test_resuming_with_another_method_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "run"
    train_baseline(_options(out, "adain", steps=2))
    with pytest.raises(ValueError, match="trains 'adain', not 'linear'"):
        train_baseline(_options(out, "linear", steps=4, resume=True))
    with pytest.raises(CheckpointError, match="'adain' model, but a 'linear'"):
        load_baseline(out / "model.safetensors", method="linear")


def test_a_random_loss_network_is_refused_without_the_test_flag(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="randomly initialised"):
        train_baseline(_options(tmp_path / "run", "adain", steps=2, allow_random_loss_network=False))
