"""``vst train-baseline``: train the published fast baselines, AdaIN and Linear, on folders of photos and paintings.

- AdaIN (Huang & Belongie 2017): the decoder learns to invert AdaIN targets. Loss: the content loss
  against the AdaIN target t at relu4_1, plus ``style_weight`` (10, the paper's) times the mean/std loss
  over relu1_1..relu4_1.
- Linear (Li et al. 2019): first the decoder learns to reconstruct images from the encoder's features
  (``recon_steps``: pixel plus feature MSE), then, with the decoder frozen as in the paper, the
  transformation module learns with the content loss at relu4_1 plus ``style_weight`` (0.02, the
  paper's code) times the mean-plus-Gram style loss over relu1_1..relu4_1.

The frozen encoder is the loss network itself, with the per-layer scales that make each layer's mean
activation about 1 (the role of the "normalised VGG" both papers used). Writes into ``--out``:
``model.safetensors`` (fp16, :mod:`model.baselines` format), ``train_state.safetensors`` (for
``--resume``), ``metrics.csv`` and ``samples/step_XXXXXX.png``; every file atomically.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from model import feature_transforms as FT
from model import functional as VF
from model.baselines import METHODS, BaselineConfig, BaselineNet, LinearNet, build_baseline, save_baseline
from model.device import autocast_dtype as precision_dtype
from model.device import resolve_device
from model.networks import VGGTrunk
from training import distributed as dist_utils
from training.flags import option
from training.loss_networks import calibrate_layer_scales, load_loss_network
from training.options import RunOptions, TrainOptions, size_range
from training.pipeline import BatchStream, build_stream, sample_crops
from training.sample_grid import make_grid
from training.train import (
    git_commit,
    load_source,
    load_train_state,
    restore_optimizer,
    save_train_state,
    scheduled_lr,
    to_device,
    write_metrics,
)

log = logging.getLogger(__name__)

# The papers' style weights: AdaIN's lambda = 10; Linear's released training code uses 0.02.
DEFAULT_STYLE_WEIGHTS = {"adain": 10.0, "linear": 0.02}
# relu4_1 for AdaIN; relu3_1, the paper's fast variant, for Linear.
DEFAULT_DEPTHS = {"adain": 4, "linear": 3}


@dataclass(kw_only=True)
class BaselineTrainOptions(RunOptions):
    """Baseline: the method, the data, the schedule and the crops of `vst train-baseline`."""

    method: str = option(choices=METHODS, help="the published method to train")
    content: str = option(help="folder of content photos (searched recursively)")
    style: str = option(help="folder of style paintings (searched recursively)")
    out: str = option("runs/baseline", help="run folder")
    steps: int = option(3000, help="total optimizer steps (Linear: with --recon-steps)")
    batch: int = option(8, help="content-style pairs per step")
    depth: int | None = option(
        None,
        choices=(3, 4),
        help="encoder layer: 3 = relu3_1, 4 = relu4_1 (default: 4 for AdaIN, 3 for Linear, its fast variant)",
    )
    matrix_size: int = option(32, help="Linear's compressed width")
    recon_steps: int = option(600, help="Linear: first steps that train the decoder alone")
    recon_pixel_weight: float = option(
        10.0, help="Linear: weight of the pixel MSE beside the feature MSE in the reconstruction"
    )
    style_weight: float | None = option(None, help="default: 10 (AdaIN), 0.02 (Linear)")
    lr: float = option(5e-4, help="Adam learning rate")
    lr_final: float | None = option(None, help="decay linearly to this at --steps (default: constant)")
    content_sizes: tuple[int, int] = option((128, 160), type=size_range, metavar="LOW,HIGH", help="content crop sides")
    style_sizes: tuple[int, int] = option((128, 160), type=size_range, metavar="LOW,HIGH", help="style crop sides")
    short_side: int = option(192, help="images are pre-resized to this")

    def resolved_depth(self) -> int:
        return self.depth if self.depth is not None else DEFAULT_DEPTHS[self.method]

    def resolved_style_weight(self) -> float:
        return self.style_weight if self.style_weight is not None else DEFAULT_STYLE_WEIGHTS[self.method]


# `vst train-baseline`'s flags: one group, parsed into ``args.options``.
BASELINE_GROUPS: dict[str, type] = {"options": BaselineTrainOptions}


def adain_losses(
    model: BaselineNet, trunk: VGGTrunk, contents: torch.Tensor, styles: torch.Tensor, style_weight: float
) -> tuple[torch.Tensor, dict[str, float], torch.Tensor]:
    """contents: (B, 3, H, W), styles: (B, 3, Hs, Ws) -> total loss, logged terms, outputs (B, 3, H, W)."""
    with torch.no_grad():
        style_feats = trunk(styles)  # 4 x (B, C_l, h, w)
        target = FT.adain(trunk(contents)[-1], style_feats[-1])  # (B, C4, H/8, W/8)
    outputs = model.decoder(target.to(style_feats[-1].dtype))
    output_feats = trunk(outputs)
    content = VF.content_loss(output_feats[-1], target)
    style = VF.mean_std_loss([VF.calc_mean_std(f) for f in output_feats], [VF.calc_mean_std(f) for f in style_feats])
    total = content + style_weight * style
    return (
        total,
        {"loss": float(total.detach()), "content": float(content.detach()), "style": float(style.detach())},
        outputs,
    )


def linear_losses(
    model: LinearNet,
    trunk: VGGTrunk,
    contents: torch.Tensor,
    styles: torch.Tensor,
    style_weight: float,
    reconstruct: bool,
    pixel_weight: float = 10.0,
) -> tuple[torch.Tensor, dict[str, float], torch.Tensor]:
    """The decoder's reconstruction loss (``reconstruct``) or the transformation's content and style loss.

    The reconstruction's pixel MSE is weighted (``pixel_weight``): with the layer-scaled features the feature
    MSE starts about 30 times larger, and alone it left the decoder's colours off (a yellow cast after 200 steps).
    """
    depth = model.config.depth
    with torch.no_grad():
        content_feats = trunk(contents)  # 4 x (B, C_l, h, w)
    if reconstruct:
        outputs = model.decoder(content_feats[depth - 1])
        pixel = torch.nn.functional.mse_loss(outputs.float(), contents.float())
        feature = VF.content_loss(trunk(outputs)[depth - 1], content_feats[depth - 1])
        total = pixel_weight * pixel + feature
        return (
            total,
            {"loss": float(total.detach()), "pixel": float(pixel.detach()), "feature": float(feature.detach())},
            outputs,
        )
    with torch.no_grad():
        style_feats = trunk(styles)
    moved = model.transform(content_feats[depth - 1], style_feats[depth - 1])
    outputs = model.decoder(moved.to(content_feats[depth - 1].dtype))
    output_feats = trunk(outputs)
    content = VF.content_loss(output_feats[-1], content_feats[-1])
    style = FT.linear_style_loss(output_feats, style_feats)
    total = content + style_weight * style
    return (
        total,
        {"loss": float(total.detach()), "content": float(content.detach()), "style": float(style.detach())},
        outputs,
    )


def trainable_parameters(model: BaselineNet, reconstruct: bool) -> list[torch.nn.Parameter]:
    """What one step trains: AdaIN's decoder; Linear's decoder first, then its transformation alone."""
    if isinstance(model, LinearNet):
        return list((model.decoder if reconstruct else model.transform).parameters())
    return list(model.decoder.parameters())


@torch.no_grad()
def save_samples(model: BaselineNet, contents: torch.Tensor, styles: torch.Tensor, path: Path) -> None:
    """Row 0: blank + styles; row i: content i and its stylization with each style."""
    was_training = model.training
    model.eval()
    device = next(model.decoder.parameters()).device
    size = contents.shape[-2:]
    shown = torch.nn.functional.interpolate(styles, size=size, mode="bilinear", antialias=True)
    rows = [[torch.ones_like(contents[0]), *shown]]
    for content in contents:
        repeated = content[None].expand(len(styles), -1, -1, -1).to(device)
        rows.append([content, *model(repeated, styles.to(device)).float().clamp(0, 1).cpu()])
    path.parent.mkdir(parents=True, exist_ok=True)
    make_grid(rows).save(path)
    model.train(was_training)


def train_baseline(opts: BaselineTrainOptions) -> Path:
    """Train (or resume) one baseline and return the path of its exported checkpoint."""
    device = resolve_device(opts.device)
    ctx = dist_utils.init(device)
    autocast_dtype = precision_dtype(opts.precision, device)
    out = Path(opts.out)
    state_path, model_path = out / "train_state.safetensors", out / "model.safetensors"
    torch.manual_seed(opts.seed)
    style_weight = opts.resolved_style_weight()

    loaded = load_loss_network(opts.loss_network, opts.loss_weights_path)
    if not loaded.pretrained and not opts.allow_random_loss_network:
        raise RuntimeError(f"refusing to train with the randomly initialised loss network {opts.loss_network!r}")
    data_opts = TrainOptions(
        limit=opts.limit, short_side=opts.short_side, data_mode=opts.data_mode, num_workers=opts.num_workers
    )
    contents, _, content_workers = load_source("content", "folder", opts.content, data_opts, ctx)
    styles, _, style_workers = load_source("style", "folder", opts.style, data_opts, ctx)

    resumed = load_train_state(state_path) if opts.resume and state_path.is_file() else None
    meta: dict[str, Any]
    if resumed is not None:
        model_state, optim_state, start_step, meta = resumed
        config = BaselineConfig.from_dict(meta["config"])
        if config.method != opts.method:
            raise ValueError(f"{state_path} trains {config.method!r}, not {opts.method!r}")
        model = build_baseline(config)
        model.load_state_dict(model_state)
    else:
        optim_state, start_step, meta = {}, 0, {}
        rng = random.Random(opts.seed * 1000)
        calibration = torch.cat([sample_crops(contents, 8, 160, rng), sample_crops(styles, 8, 160, rng)])
        loaded.config.layer_scales = calibrate_layer_scales(loaded.trunk, calibration)
        config = BaselineConfig(
            method=opts.method, depth=opts.resolved_depth(), matrix_size=opts.matrix_size, trunk=loaded.config
        )
        model = build_baseline(config)
        encoder_state = model.encoder.state_dict()
        model.encoder.load_state_dict({k: v for k, v in loaded.trunk.state_dict().items() if k in encoder_state})
    # The loss network: the same weights to relu4_1, with the run's layer scales.
    trunk = VGGTrunk(config.trunk)
    trunk.load_state_dict(loaded.trunk.state_dict())
    trunk.to(device).eval()
    model.to(device)
    if device.type == "cpu":
        model.to(memory_format=torch.channels_last)
        trunk.to(memory_format=torch.channels_last)
    recon_steps = opts.recon_steps if opts.method == "linear" else 0
    # One Adam over everything trainable: parameters without a gradient in a phase are left alone by it.
    params = list(model.decoder.parameters()) + (
        list(model.transform.parameters()) if isinstance(model, LinearNet) else []
    )
    optimizer = torch.optim.Adam(params, lr=opts.lr)
    restore_optimizer(optimizer, optim_state)
    meta.update(config=config.to_dict(), options=asdict(opts))

    epochs = meta.get("data_epochs", {})
    streams: dict[str, BatchStream] = {
        name: build_stream(
            source,
            name=name,
            batch_size=opts.batch,
            sizes=sizes,
            seed=opts.seed + offset,
            rank=0,
            world_size=1,
            workers=workers,
            pin_memory=device.type == "cuda",
            start_epoch=int(epochs.get(name, -1)) + 1,
        )
        for name, source, sizes, offset, workers in (
            ("content", contents, opts.content_sizes, 0, content_workers),
            ("style", styles, opts.style_sizes, 1, style_workers),
        )
    }
    provenance: dict[str, Any] = {
        "method": opts.method,
        "loss_network": loaded.name,
        "loss_network_sha256": loaded.weights_sha256,
        "style_weight": style_weight,
        "recon_steps": recon_steps,
        "recon_pixel_weight": opts.recon_pixel_weight if recon_steps else None,
        "data": {
            "content": contents.summary(),
            "style": styles.summary(),
            "short_side": opts.short_side,
            "content_sizes": opts.content_sizes,
            "style_sizes": opts.style_sizes,
        },
        "batch": opts.batch,
        "lr": opts.lr,
        "lr_final": opts.lr_final,
        "device": device.type,
        "precision": str(autocast_dtype) if autocast_dtype else "fp32",
        "seed": opts.seed,
        "git_commit": git_commit(),
    }
    out.mkdir(parents=True, exist_ok=True)
    fixed_contents = sample_crops(contents, 3, 160, random.Random(1))
    fixed_styles = sample_crops(styles, 4, 160, random.Random(2))
    started = time.monotonic()
    elapsed_before = float(meta.get("train_seconds", 0.0))

    def checkpoint(step: int) -> None:
        meta["train_seconds"] = elapsed_before + time.monotonic() - started
        meta["data_epochs"] = {name: stream.epoch for name, stream in streams.items()}
        save_train_state(state_path, model, optimizer, step, meta)
        summary = provenance | {"steps": step, "train_seconds": round(meta["train_seconds"], 1)}
        save_baseline(model, model_path, summary, dtype=torch.float16)

    if start_step >= opts.steps:
        log.info("the run is already at step %d of --steps %d; nothing to train", start_step, opts.steps)
        return model_path
    log.info("training %s on %s: %d contents, %d styles", opts.method, device, len(contents), len(styles))
    completed = start_step
    bar = tqdm(
        range(start_step, opts.steps), initial=start_step, total=opts.steps, dynamic_ncols=True, desc=opts.method
    )
    for step in bar:
        reconstruct = step < recon_steps
        model.train()
        for p in params:
            p.requires_grad_(False)
        for p in trainable_parameters(model, reconstruct):
            p.requires_grad_(True)
        lr = scheduled_lr(opts.lr, opts.lr_final, recon_steps, opts.steps, step)
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.zero_grad(set_to_none=True)
        batch_contents = to_device(next(streams["content"]).images, device)  # (B, 3, H, W)
        batch_styles = to_device(next(streams["style"]).images, device)  # (B, 3, Hs, Ws)
        with torch.autocast(device.type, dtype=autocast_dtype or torch.float32, enabled=autocast_dtype is not None):
            if isinstance(model, LinearNet):
                loss, terms, _ = linear_losses(
                    model, trunk, batch_contents, batch_styles, style_weight, reconstruct, opts.recon_pixel_weight
                )
            else:
                loss, terms, _ = adain_losses(model, trunk, batch_contents, batch_styles, style_weight)
        loss.backward()
        optimizer.step()
        completed = step + 1
        bar.set_postfix({k: f"{v:.3f}" for k, v in terms.items()})
        if step % opts.log_every == 0 or completed == opts.steps:
            phase = {"phase": 0.0 if reconstruct else 1.0} if recon_steps else {}
            write_metrics(
                out / "metrics.csv", step, time.monotonic() - started + elapsed_before, terms | phase | {"lr": lr}
            )
        if opts.sample_every and completed % opts.sample_every == 0:
            save_samples(model, fixed_contents, fixed_styles, out / "samples" / f"step_{completed:06d}.png")
        if completed % opts.save_every == 0 and completed < opts.steps:
            checkpoint(completed)
        if opts.max_minutes is not None and time.monotonic() - started > opts.max_minutes * 60:
            break
    bar.close()
    checkpoint(completed)
    dist_utils.finish(ctx)
    return model_path
