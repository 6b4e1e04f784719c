"""``vst train``: the training loop, readable top to bottom.

Writes into ``--out``:
- ``model.safetensors``: the model alone (fp16 tensors, self-describing), what workers load;
- ``train_state.safetensors``: fp32 weights, optimizer moments, step and settings, for ``--resume``;
- ``metrics.csv``: one row per logged step;
- ``samples/step_XXXXXX.png``: sample grids.
Every file is written atomically. Runs unchanged under ``torchrun`` (DistributedDataParallel).
"""

from __future__ import annotations

import csv
import json
import logging
import random
import subprocess
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from model.checkpoint import atomic_save, read_checkpoint, save_checkpoint, tensors_digest
from model.config import ModelConfig
from model.networks import VariationalStyleTransfer
from training import distributed as dist_utils
from training.data import ImageBank, dataset_paths
from training.loss_networks import calibrate_layer_scales, load_loss_network
from training.objective import LossNorms, Objective, estimate_norms
from training.options import TrainOptions
from training.sample_grid import save_sample_grid

log = logging.getLogger(__name__)
STATE_FORMAT = "vst-train-state"
STATE_VERSION = 1


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was requested but no CUDA device is available")
    return torch.device(name)


def resolve_precision(name: str, device: torch.device) -> torch.dtype | None:
    """bf16 autocast where the hardware runs it fast, else fp32 (None). Never fp16 on the CPU."""
    if name == "fp32":
        return None
    if name == "bf16":
        return torch.bfloat16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    return torch.bfloat16 if torch.backends.mkldnn.is_available() and _cpu_has_bf16() else None


def _cpu_has_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def save_train_state(
    path: Path,
    model: VariationalStyleTransfer,
    optimizer: torch.optim.Optimizer,
    step: int,
    meta: dict[str, Any],
) -> None:
    """fp32 weights and Adam moments in safetensors; step and settings in JSON. No pickle."""
    tensors = {f"model.{k}": v.detach().float().contiguous().cpu() for k, v in model.state_dict().items()}
    for index, param in enumerate(p for group in optimizer.param_groups for p in group["params"]):
        for key, value in optimizer.state.get(param, {}).items():
            tensors[f"optim.{index}.{key}"] = torch.as_tensor(value).detach().float().contiguous().cpu()
    metadata = {
        "format": STATE_FORMAT,
        "format_version": str(STATE_VERSION),
        "step": str(step),
        "meta": json.dumps(meta),
        "tensor_sha256": tensors_digest(tensors),
    }
    atomic_save(tensors, path, metadata)


def load_train_state(
    path: Path,
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], int, dict[str, Any]]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata() or {}
        tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
    if metadata.get("format") != STATE_FORMAT or metadata.get("format_version") != str(STATE_VERSION):
        raise ValueError(f"{path} is not a version-{STATE_VERSION} training state")
    if metadata.get("tensor_sha256") != tensors_digest(tensors):
        raise ValueError(f"{path} was modified after it was written")
    model_state = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
    optim_state = {k[len("optim.") :]: v for k, v in tensors.items() if k.startswith("optim.")}
    return model_state, optim_state, int(metadata["step"]), json.loads(metadata["meta"])


def restore_optimizer(optimizer: torch.optim.Optimizer, optim_state: dict[str, torch.Tensor]) -> None:
    params = [p for group in optimizer.param_groups for p in group["params"]]
    for key, value in optim_state.items():
        index, name = key.split(".", 1)
        param = params[int(index)]
        state = optimizer.state.setdefault(param, {})
        state[name] = value.clone() if name == "step" else value.to(param.device)


def build_banks(opts: TrainOptions) -> tuple[ImageBank, ImageBank]:
    content_paths = dataset_paths(opts.content_kind, Path(opts.content), opts.limit)
    style_paths = dataset_paths(opts.style_kind, Path(opts.style), opts.limit)
    contents = ImageBank.from_paths(dist_utils.shard(content_paths), opts.short_side)
    styles = ImageBank.from_paths(dist_utils.shard(style_paths), opts.short_side)
    for bank, kind in ((contents, "content"), (styles, "style")):
        if bank.skipped:
            log.warning("%d unreadable %s images skipped", len(bank.skipped), kind)
    return contents, styles


def random_size(rng: random.Random, low: int, high: int) -> int:
    """A crop side in [low, high], a multiple of 8 so that pooling matches up to relu4_1."""
    return 8 * rng.randint(low // 8, high // 8)


def train(opts: TrainOptions) -> Path:
    """Train (or resume) and return the path of the exported model checkpoint."""
    ctx = dist_utils.init()
    device = resolve_device(opts.device) if not ctx.enabled else ctx.device
    autocast_dtype = resolve_precision(opts.precision, device)
    out = Path(opts.out)
    state_path = out / "train_state.safetensors"
    model_path = out / "model.safetensors"
    rng = random.Random(opts.seed * 1000 + ctx.rank)
    torch.manual_seed(opts.seed)

    loaded = load_loss_network(opts.loss_network, opts.loss_weights_path)
    if not loaded.pretrained and not opts.allow_random_loss_network:
        raise RuntimeError(
            f"refusing to train with the randomly initialised loss network {opts.loss_network!r}: "
            "it gives noise, not style. Use hed-vgg16 or vgg19."
        )
    contents, styles = build_banks(opts)

    start_step = 0
    meta: dict[str, Any]
    if opts.resume and state_path.is_file():
        model_state, optim_state, start_step, meta = load_train_state(state_path)
        config = ModelConfig.from_dict(meta["model_config"])
        norms = LossNorms(**meta["loss_norms"])
        model = VariationalStyleTransfer(config)
        model.load_state_dict(model_state)
        rng = random.Random(opts.seed * 1000 + ctx.rank + start_step)
        torch.manual_seed(opts.seed + start_step)
    else:
        if opts.resume:
            log.warning("no training state at %s; starting from scratch", state_path)
        optim_state = {}
        calibration = torch.cat([contents.random_crops(8, 192, rng), styles.random_crops(8, 192, rng)])
        layer_scales = calibrate_layer_scales(loaded.trunk, calibration)
        trunk_config = loaded.config
        trunk_config.layer_scales = layer_scales
        config = ModelConfig(trunk=trunk_config, **opts.model)
        model = VariationalStyleTransfer(config)
        model.style_encoder.trunk.load_state_dict(loaded.trunk.state_dict())
        model.style_encoder.trunk.layer_scales.copy_(torch.tensor(layer_scales))
        norms = estimate_norms(model, contents.random_crops(8, 160, rng), styles.random_crops(8, 160, rng))
        meta = {}
    meta.update(
        model_config=config.to_dict(),
        loss_norms=norms.to_dict(),
        options=asdict(opts) | {"weights": opts.weights.to_dict()},
    )
    model.to(device)
    if device.type == "cpu":
        model.to(memory_format=torch.channels_last)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=opts.lr)
    restore_optimizer(optimizer, optim_state)
    objective = dist_utils.wrap(Objective(model, opts.weights, norms), ctx)

    provenance = {
        "loss_network": loaded.name,
        "loss_network_sha256": loaded.weights_sha256,
        "loss_weights": opts.weights.to_dict(),
        "loss_norms": norms.to_dict(),
        "data": {
            "content": contents.summary() | {"root": opts.content, "kind": opts.content_kind},
            "style": styles.summary() | {"root": opts.style, "kind": opts.style_kind},
            "short_side": opts.short_side,
            "content_sizes": opts.content_sizes,
            "style_sizes": opts.style_sizes,
        },
        "git_commit": git_commit(),
        "world_size": ctx.world_size,
    }
    fixed_contents = contents.random_crops(4, 160, random.Random(1))
    fixed_styles = styles.random_crops(4, 192, random.Random(2))
    metrics_path = out / "metrics.csv"
    if ctx.is_main:
        out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    elapsed_before = float(meta.get("train_seconds", 0.0))

    def checkpoint(step: int) -> None:
        if not ctx.is_main:
            return
        meta["train_seconds"] = elapsed_before + time.monotonic() - started
        save_train_state(state_path, model, optimizer, step, meta)
        save_checkpoint(
            model,
            model_path,
            provenance | {"steps": step, "train_seconds": meta["train_seconds"]},
            dtype=torch.float16,
        )

    bar = tqdm(
        range(start_step, opts.steps),
        initial=start_step,
        total=opts.steps,
        disable=not ctx.is_main,
        dynamic_ncols=True,
        desc="train",
    )
    step = start_step
    for step in bar:
        model.train()
        optimizer.zero_grad(set_to_none=True)
        terms: dict[str, float] = {}
        for _ in range(opts.accumulate):
            content_size = random_size(rng, *opts.content_sizes)
            style_size = random_size(rng, *opts.style_sizes)
            batch_contents = contents.random_crops(opts.batch, content_size, rng).to(device)
            batch_styles = styles.random_crops(opts.batch // 2, style_size, rng).to(device)
            if device.type == "cpu":
                batch_contents = batch_contents.contiguous(memory_format=torch.channels_last)
                batch_styles = batch_styles.contiguous(memory_format=torch.channels_last)
            with torch.autocast(
                device.type, dtype=autocast_dtype or torch.float32, enabled=autocast_dtype is not None
            ):
                loss, terms, _ = objective(batch_contents, batch_styles, step)
            (loss / opts.accumulate).backward()
        optimizer.step()
        if ctx.is_main:
            bar.set_postfix({k: f"{v:.3f}" for k, v in terms.items()})
            if step % opts.log_every == 0 or step == opts.steps - 1:
                write_metrics(metrics_path, step, time.monotonic() - started + elapsed_before, terms)
            if opts.sample_every and (step + 1) % opts.sample_every == 0:
                save_sample_grid(
                    model, fixed_contents, fixed_styles, out / "samples" / f"step_{step + 1:06d}.png"
                )
        if (step + 1) % opts.save_every == 0:
            checkpoint(step + 1)
        if opts.max_minutes is not None and dist_utils.should_stop(
            time.monotonic() - started > opts.max_minutes * 60, ctx
        ):
            step += 1
            break
    else:
        step = max(step + 1, start_step)
    checkpoint(step)
    dist_utils.finish(ctx)
    return model_path


def write_metrics(path: Path, step: int, seconds: float, terms: dict[str, float]) -> None:
    new = not path.exists()
    with open(path, "a", newline="") as handle:
        writer = csv.writer(handle)
        if new:
            writer.writerow(["step", "seconds", *terms])
        writer.writerow([step, f"{seconds:.1f}", *(f"{v:.6f}" for v in terms.values())])


def checkpoint_summary(path: Path) -> dict[str, Any]:
    """The provenance JSON of a checkpoint, verified."""
    _, metadata = read_checkpoint(path)
    return dict(json.loads(metadata.get("provenance", "{}")))
