"""AdaIN and Linear as networks (model/baselines.py): their shapes, their maths, and their checkpoint format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from model import feature_transforms as FT
from model.baselines import (
    AdaINNet,
    BaselineConfig,
    BaselineNet,
    LinearNet,
    MirrorDecoder,
    build_baseline,
    encoder_convs,
    load_baseline,
    save_baseline,
)
from model.checkpoint import CheckpointError, load_checkpoint
from model.config import TrunkConfig
from model.inference import image_to_tensor
from tests.tiny_model import TINY_CONFIG

TINY_TRUNK = TINY_CONFIG.trunk


def tiny_baseline(method: str, depth: int = 4, seed: int = 0) -> BaselineNet:
    torch.manual_seed(seed)
    return build_baseline(BaselineConfig(method=method, depth=depth, matrix_size=4, trunk=TINY_TRUNK)).eval()


def _convs(module: nn.Module) -> list[tuple[int, int]]:
    return [(m.in_channels, m.out_channels) for m in module.modules() if isinstance(m, nn.Conv2d)]


def test_the_adain_decoder_mirrors_vgg19_to_relu4_1_as_in_the_paper() -> None:
    decoder = MirrorDecoder(TrunkConfig(arch="vgg19"), depth=4)
    assert _convs(decoder) == [
        (512, 256), (256, 256), (256, 256), (256, 256), (256, 128), (128, 128), (128, 64), (64, 64), (64, 3)
    ]  # fmt: skip
    kinds = [type(m) for m in decoder.modules()]
    assert kinds.count(nn.Upsample) == 3 and kinds.count(nn.ReflectionPad2d) == 9
    assert not any(issubclass(k, (nn.BatchNorm2d, nn.InstanceNorm2d, nn.GroupNorm)) for k in kinds)
    assert all(m.mode == "nearest" for m in decoder.modules() if isinstance(m, nn.Upsample))
    # 3.5 M parameters, as the published decoder.
    assert 3.4e6 < sum(p.numel() for p in decoder.parameters()) < 3.6e6


def test_the_decoder_mirrors_the_encoder_it_is_cut_from() -> None:
    trunk = TrunkConfig(arch="vgg16")
    assert encoder_convs(trunk, 3) == [64, 64, "M", 128, 128, "M", 256]
    assert _convs(MirrorDecoder(trunk, 3)) == [(256, 128), (128, 128), (128, 64), (64, 64), (64, 3)]
    net = tiny_baseline("linear", depth=3)
    encoder_shapes = _convs(net.encoder)
    assert _convs(net.decoder) == [(o, i) for i, o in reversed(encoder_shapes)]


@pytest.mark.parametrize(("method", "depth"), [("adain", 4), ("linear", 3), ("linear", 4)])
def test_each_network_keeps_the_image_size_and_freezes_its_encoder(method: str, depth: int) -> None:
    net = tiny_baseline(method, depth)
    out = net(torch.rand(2, 3, 32, 24), torch.rand(2, 3, 40, 40))
    assert out.shape == (2, 3, 32, 24)
    assert len(net.encoder(torch.rand(1, 3, 16, 16))) == depth
    assert not any(p.requires_grad for p in net.encoder.parameters())
    assert all(p.requires_grad for p in net.decoder.parameters())


def test_adain_at_alpha_zero_decodes_the_content_and_mix_of_one_style_is_the_forward() -> None:
    net = tiny_baseline("adain")
    assert isinstance(net, AdaINNet)
    content, style = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(net(content, style, alpha=0.0), net.decoder(net.encode(content)))
        torch.testing.assert_close(net.mix(content, [style], torch.tensor([1.0])), net(content, style))
        blended = net.mix(content, [style, torch.rand(1, 3, 24, 24)], torch.tensor([1.0, 1.0]), alpha=0.5)
    assert not torch.allclose(blended, net(content, style))


def test_linears_transform_adds_the_styles_mean_to_a_centred_linear_map() -> None:
    net = tiny_baseline("linear", depth=3)
    assert isinstance(net, LinearNet)
    content, style = torch.randn(2, 16, 6, 6), torch.randn(2, 16, 5, 5) + 2.0
    with torch.no_grad():
        out = net.transform(content, style)
        # Whatever the predicted matrix, the output's mean is the style's (plus the expanding conv's bias, as
        # in the published module).
        bias = net.transform.unzip.bias
        assert bias is not None
        torch.testing.assert_close(FT.channel_mean(out), FT.channel_mean(style) + bias, rtol=1e-4, atol=1e-4)
        # And it is the formula: compress, T times the centred features, expand, add the style's mean.
        matrix = net.transform.matrix(content, style)
        moved = FT.linear_transform(net.transform.compress(content), matrix, torch.zeros(2, 4))
        expected = net.transform.unzip(moved) + FT.channel_mean(style)[:, :, None, None]
        torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-4)
        # The content's mean does not reach the output: only its deviations are transformed.
        torch.testing.assert_close(net.transform(content + 5.0, style), out, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("method", ["adain", "linear"])
def test_a_checkpoint_round_trips(method: str, tmp_path: Path) -> None:
    net = tiny_baseline(method, depth=4 if method == "adain" else 3, seed=3)
    path = tmp_path / f"{method}.safetensors"
    save_baseline(net, path, {"steps": 7, "loss_network": "tiny"})
    loaded, provenance = load_baseline(path, method=method)
    assert type(loaded) is type(net) and loaded.config == net.config
    assert provenance == {"steps": 7, "loss_network": "tiny"}
    content, style = torch.rand(1, 3, 24, 24), torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(loaded(content, style), net(content, style))
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata()
    assert metadata["method"] == method and metadata["format"] == "vst-baseline"
    assert json.loads(metadata["config"])["trunk"]["layer_scales"] == list(TINY_TRUNK.layer_scales)
    # fp16 storage, as shipped, stays close.
    half = tmp_path / "half.safetensors"
    save_baseline(net, half, dtype=torch.float16)
    with torch.no_grad():
        torch.testing.assert_close(load_baseline(half)[0](content, style), net(content, style), rtol=0.02, atol=0.02)


def test_a_checkpoint_of_another_method_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "linear.safetensors"
    save_baseline(tiny_baseline("linear", depth=3), path)
    with pytest.raises(CheckpointError, match="holds a 'linear' model, but a 'adain' checkpoint was expected"):
        load_baseline(path, method="adain")
    # The main model's loader refuses it too, and the baselines' loader refuses the main model's file.
    with pytest.raises(CheckpointError, match="vst-baseline"):
        load_checkpoint(path)
    from tests.tiny_model import write_tiny_checkpoint

    ours = write_tiny_checkpoint(tmp_path / "ours.safetensors")
    with pytest.raises(CheckpointError, match="not a baseline checkpoint"):
        load_baseline(ours, method="adain")


def _rewrite(path: Path, out: Path, **changes: str) -> Path:
    with safe_open(str(path), framework="pt") as handle:
        metadata = dict(handle.metadata()) | changes
        tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
    save_file(tensors, str(out), metadata=metadata)
    return out


def test_unknown_versions_mismatched_methods_and_altered_tensors_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "adain.safetensors"
    save_baseline(tiny_baseline("adain"), path)
    with pytest.raises(CheckpointError, match="format version '2'"):
        load_baseline(_rewrite(path, tmp_path / "v2.safetensors", format_version="2"))
    with pytest.raises(CheckpointError, match="config says 'adain'"):
        load_baseline(_rewrite(path, tmp_path / "lie.safetensors", method="linear"), method="linear")
    with safe_open(str(path), framework="pt") as handle:
        metadata = dict(handle.metadata())
        tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
    name = next(iter(tensors))
    tensors[name] = tensors[name] + 1.0
    save_file(tensors, str(tmp_path / "altered.safetensors"), metadata=metadata)
    with pytest.raises(CheckpointError, match="modified after it was written"):
        load_baseline(tmp_path / "altered.safetensors")
    with pytest.raises(CheckpointError, match="not found"):
        load_baseline(tmp_path / "missing.safetensors")
    with pytest.raises(ValueError, match="unknown baseline method"):
        BaselineConfig(method="wct")


@pytest.mark.parametrize("method", ["adain", "linear"])
def test_the_stylizer_keeps_odd_image_sizes_and_returns_images(method: str) -> None:
    from PIL import Image

    from model.baselines import BaselineStylizer

    stylizer = BaselineStylizer(tiny_baseline(method, depth=4 if method == "adain" else 3))
    # Three pools before the tiny trunk's relu4_1, two before its relu3_1.
    assert stylizer.multiple == (8 if method == "adain" else 4)
    content, style = Image.new("RGB", (37, 21), (200, 40, 40)), Image.new("RGB", (30, 30), (10, 10, 220))
    assert stylizer.stylize(content, [style]).size == (37, 21)
    assert stylizer.stylize(content, [style], max_side=20).size == (20, 11)
    if method == "adain":
        assert stylizer.stylize(content, [style, content], weights=[1.0, 2.0]).size == (37, 21)
    else:
        with pytest.raises(ValueError, match="only AdaIN blends"):
            stylizer.stylize(content, [style, content])


def test_the_stylizer_in_bf16_stays_close_to_fp32_and_leaves_the_model_alone() -> None:
    from PIL import Image

    from model.baselines import BaselineStylizer

    net = tiny_baseline("adain", seed=4)
    content = Image.effect_noise((40, 32), 60).convert("RGB")
    style = Image.new("RGB", (24, 24), (30, 120, 200))
    full = BaselineStylizer(net, dtype=torch.float32).stylize(content, [style])
    half = BaselineStylizer(net, dtype=torch.bfloat16).stylize(content, [style])
    assert next(net.decoder.parameters()).dtype == torch.float32  # the stylizer works on its own copy
    difference = (image_to_tensor(full) - image_to_tensor(half)).abs().mean()
    assert float(difference) < 0.03
