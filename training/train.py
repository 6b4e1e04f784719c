"""``vst train``: the training loop, readable top to bottom.

Writes into ``--out``:
- ``model.safetensors``: the model alone (fp16 tensors, self-describing), what workers load;
- ``train_state.safetensors``: fp32 weights, optimizer moments, step and settings, for ``--resume``;
- ``metrics.csv``: one row per logged step;
- ``samples/step_XXXXXX.png``: sample grids.
Every file is written atomically.

Runs unchanged under ``torchrun`` (docs/training-distributed.md): every process trains on its own share
of the data (:mod:`training.pipeline`) through DistributedDataParallel, which averages the gradients;
only rank 0 writes files, and it saves the unwrapped model, so a checkpoint does not depend on how many
processes trained it. ``--batch`` is per process: the effective batch is batch x accumulate x processes.
"""

from __future__ import annotations

import csv
import json
import logging
import random
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from model.checkpoint import atomic_save, read_checkpoint, save_checkpoint, tensors_digest
from model.config import ModelConfig
from model.device import autocast_dtype as precision_dtype
from model.device import resolve_device
from model.networks import VariationalStyleTransfer
from training import distributed as dist_utils
from training.augment import jitter_style_colors
from training.data import ImageBank, ImageFiles
from training.datasets import dataset_index
from training.loss_networks import calibrate_layer_scales, load_loss_network
from training.objective import LossNorms, Objective, estimate_norms
from training.options import TrainOptions
from training.pipeline import (
    BatchStream,
    CropBatch,
    ImageSource,
    SampleLog,
    build_stream,
    random_size,
    resolve_data_mode,
    resolve_workers,
    sample_crops,
)
from training.provenance import portable_path
from training.sample_grid import save_sample_grid
from training.warm_start import warm_start

__all__ = ["random_size", "train"]

log = logging.getLogger(__name__)
STATE_FORMAT = "vst-train-state"
STATE_VERSION = 1


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False)
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def save_train_state(
    path: Path,
    model: torch.nn.Module,
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


@dataclass
class ResumeState:
    model_state: dict[str, torch.Tensor]
    optim_state: dict[str, torch.Tensor]
    step: int
    meta: dict[str, Any]


def read_resume_state(path: Path, ctx: dist_utils.DistContext) -> ResumeState | None:
    """Rank 0 reads the training state and sends it to the others, so only rank 0 needs the run folder.

    The state holds the unwrapped model and one optimizer (every rank's is identical), so it resumes on
    any number of processes.
    """
    found = None
    if ctx.is_main and path.is_file():
        model_state, optim_state, step, meta = load_train_state(path)
        found = {"step": step, "meta": meta}
        tensors = {f"model.{k}": v for k, v in model_state.items()} | {f"optim.{k}": v for k, v in optim_state.items()}
    else:
        tensors = None
    found = dist_utils.broadcast_json(found, ctx)
    if found is None:
        return None
    tensors = dist_utils.broadcast_tensors(tensors, ctx)
    return ResumeState(
        model_state={k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")},
        optim_state={k[len("optim.") :]: v for k, v in tensors.items() if k.startswith("optim.")},
        step=int(found["step"]),
        meta=dict(found["meta"]),
    )


def restore_optimizer(optimizer: torch.optim.Optimizer, optim_state: dict[str, torch.Tensor]) -> None:
    params = [p for group in optimizer.param_groups for p in group["params"]]
    for key, value in optim_state.items():
        index, name = key.split(".", 1)
        param = params[int(index)]
        state = optimizer.state.setdefault(param, {})
        state[name] = value.clone() if name == "step" else value.to(param.device)


def load_source(
    name: str, kind: str, root: str, opts: TrainOptions, ctx: dist_utils.DistContext
) -> tuple[ImageSource, str, int]:
    """One side's images (contents or styles): the source, its data mode and its DataLoader workers."""
    index = dataset_index(kind, Path(root), opts.limit)
    if not index.paths:
        raise ValueError(f"no {name} images found under {root} (kind {kind})")
    mode = resolve_data_mode(opts.data_mode, len(index), opts.short_side)
    workers = resolve_workers(opts.num_workers, mode, ctx.local_world_size)
    if mode == "stream":
        return ImageFiles([str(p) for p in index.paths], opts.short_side), mode, workers
    bank = ImageBank.from_paths(index.paths, opts.short_side, workers)
    # Every rank decodes every file; keep only those all ranks could read, so that all ranks index the
    # same list and the DistributedSampler's shares stay disjoint.
    readable = set(bank.paths)
    agreed = dist_utils.all_agree([str(p) in readable for p in index.paths], ctx)
    everywhere = {str(p) for p, ok in zip(index.paths, agreed, strict=True) if ok}
    bank = bank.keep([p in everywhere for p in bank.paths])
    if bank.skipped:
        log.warning("%d unreadable %s images skipped", len(bank.skipped), name)
    return bank, mode, workers


def parameter_groups(model: VariationalStyleTransfer, noise_lr_scale: float) -> list[dict[str, Any]]:
    """Adam's groups: every trainable weight at the scheduled rate, the decoder's noise strengths (if any)
    at ``noise_lr_scale`` times it, last, so that older training states keep their parameter order.

    The strengths start at zero and must travel far; at the base rate the diversity hinge had barely
    moved them (samples 1/255 apart) after 100 steps of a warm-started run.
    """
    strengths = model.decoder.noise_strength
    noise_ids = {id(p) for p in strengths} if strengths is not None else set()
    trainable = [p for p in model.parameters() if p.requires_grad and id(p) not in noise_ids]
    groups: list[dict[str, Any]] = [{"params": trainable, "lr_scale": 1.0}]
    if strengths is not None:
        groups.append({"params": list(strengths), "lr_scale": noise_lr_scale})
    return groups


def scheduled_lr(base: float, final: float | None, decay_start: int, end: int, step: int) -> float:
    """The learning rate at ``step``: ``base`` until ``decay_start``, then linear to ``final`` at ``end``.

    The schedule is a function of the absolute step, so a leg that is stopped and resumed carries on
    where it was. ``final`` None keeps the rate constant.
    """
    if final is None or step <= decay_start:
        return base
    progress = min(1.0, (step - decay_start) / max(1, end - decay_start))
    return base + (final - base) * progress


def derived_seed(stream: str, *parts: int) -> int:
    """A seed for one random stream at one place, e.g. ("noise", seed, step, rank).

    Derived from the run's seed and where it is, never from the global RNG's history: the style-code
    noise is reseeded at each resume (new draws, different on every rank), and each micro-batch's colour
    jitter is the same whether or not the run was stopped and resumed before it.
    """
    return random.Random("/".join([stream, *map(str, parts)])).getrandbits(63)


def to_device(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    """(B, 3, S, S) uint8 -> float in [0, 1] on ``device`` (channels_last on the CPU, where it is faster)."""
    batch = images.to(device, non_blocking=True).float().div_(255.0)
    return batch.contiguous(memory_format=torch.channels_last) if device.type == "cpu" else batch


def train(opts: TrainOptions) -> Path:
    """Train (or resume) and return the path of the exported model checkpoint."""
    ctx = dist_utils.init(resolve_device(opts.device))
    try:
        model_path = _train(opts, ctx)
    except BaseException:
        dist_utils.finish(ctx, clean=False)
        raise
    dist_utils.finish(ctx)
    return model_path


def _train(opts: TrainOptions, ctx: dist_utils.DistContext) -> Path:
    device = ctx.device if ctx.enabled else resolve_device(opts.device)
    autocast_dtype = precision_dtype(opts.precision, device)
    precision_enabled = autocast_dtype is not None
    out = Path(opts.out)
    state_path = out / "train_state.safetensors"
    model_path = out / "model.safetensors"
    torch.manual_seed(opts.seed)

    loaded = load_loss_network(opts.loss_network, opts.loss_weights_path)
    if not loaded.pretrained and not opts.allow_random_loss_network:
        raise RuntimeError(
            f"refusing to train with the randomly initialised loss network {opts.loss_network!r}: "
            "it gives noise, not style. Use hed-vgg16 or vgg19."
        )
    contents, content_mode, content_workers = load_source("content", opts.content_kind, opts.content, opts, ctx)
    styles, style_mode, style_workers = load_source("style", opts.style_kind, opts.style, opts, ctx)

    resumed = read_resume_state(state_path, ctx) if opts.resume else None
    start_step = 0
    meta: dict[str, Any]
    if resumed is not None:
        start_step, meta = resumed.step, resumed.meta
        config = ModelConfig.from_dict(meta["model_config"])
        model = VariationalStyleTransfer(config)
        model.load_state_dict(resumed.model_state)
        optim_state = resumed.optim_state
        if "color" not in meta["loss_norms"]:
            raise ValueError(
                f"{state_path} was written by a version without the colour loss and cannot be resumed; start a new "
                "run, or branch from its model with --init-from"
            )
        norms = LossNorms(**meta["loss_norms"])
    elif opts.init_from:
        started_from = warm_start(Path(opts.init_from), opts.model.decoder_noise)
        model, config, norms = started_from.model, started_from.model.config, started_from.norms
        start_step, optim_state = started_from.step, {}
        meta = {"init_from": started_from.source}
        log.info("starting from %s at step %d with a fresh optimizer", opts.init_from, start_step)
    else:
        if opts.resume:
            log.warning("no training state at %s; starting from scratch", state_path)
        optim_state = {}
        # The same crops on every rank (a rank-independent seed); rank 0's results are then broadcast, so
        # that float differences between machines cannot give ranks different loss scales.
        rng = random.Random(opts.seed * 1000)
        calibration = torch.cat([sample_crops(contents, 8, 192, rng), sample_crops(styles, 8, 192, rng)])
        scales = dist_utils.broadcast_floats(calibrate_layer_scales(loaded.trunk, calibration), ctx)
        layer_scales = (scales[0], scales[1], scales[2], scales[3])
        trunk_config = loaded.config
        trunk_config.layer_scales = layer_scales
        config = ModelConfig(trunk=trunk_config, **asdict(opts.model))
        model = VariationalStyleTransfer(config)
        # The layer scales come in with the config (a non-persistent buffer); the weights from the loss network.
        model.style_encoder.trunk.load_state_dict(loaded.trunk.state_dict())
        # Crops of varied sizes, as in training, from the same rank-independent generator on every rank.
        model.style_encoder.calibrate_statistics([sample_crops(styles, 16, size, rng) for size in (128, 176, 224)])
        estimated = estimate_norms(model, sample_crops(contents, 8, 160, rng), sample_crops(styles, 8, 160, rng))
        norms = LossNorms(*dist_utils.broadcast_floats(list(estimated.to_dict().values()), ctx))
        meta = {}
    effective_batch = opts.batch * opts.accumulate * ctx.world_size
    meta.update(
        model_config=config.to_dict(),
        loss_norms=norms.to_dict(),
        options=asdict(opts) | {"weights": opts.weights.to_dict()},
    )
    # Which stretches of steps ran on how many processes: a run may be resumed on another count.
    meta["segments"] = [
        *meta.get("segments", []),
        {"start_step": start_step, "world_size": ctx.world_size, "effective_batch": effective_batch},
    ]
    torch.manual_seed(derived_seed("noise", opts.seed, start_step, ctx.rank))
    model.to(device)
    if device.type == "cpu":
        model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(parameter_groups(model, opts.noise_lr_scale), lr=opts.lr)
    restore_optimizer(optimizer, optim_state)
    objective = dist_utils.wrap(Objective(model, opts.weights, norms), ctx)

    # A resumed run starts a fresh shuffle (the next epoch) rather than replaying the interrupted one.
    epochs_done = meta.get("data_epochs", {})
    streams: dict[str, BatchStream] = {
        "content": build_stream(
            contents,
            name="content",
            batch_size=opts.batch,
            sizes=opts.content_sizes,
            seed=opts.seed,
            rank=ctx.rank,
            world_size=ctx.world_size,
            workers=content_workers,
            pin_memory=device.type == "cuda",
            start_epoch=int(epochs_done.get("content", -1)) + 1,
        ),
        "style": build_stream(
            styles,
            name="style",
            batch_size=opts.batch // 2,
            sizes=opts.style_sizes,
            seed=opts.seed + 1,
            rank=ctx.rank,
            world_size=ctx.world_size,
            workers=style_workers,
            pin_memory=device.type == "cuda",
            start_epoch=int(epochs_done.get("style", -1)) + 1,
        ),
    }
    sources: dict[str, ImageSource] = {"content": contents, "style": styles}
    record_folder = Path(opts.record_samples) if opts.record_samples else None
    sample_log = SampleLog(record_folder, ctx.rank) if record_folder else None
    if ctx.is_main:
        log.info(
            "training on %d process(es), %s: batch %d x accumulate %d x %d = effective batch %d; "
            "contents %d (%s, %d workers), styles %d (%s, %d workers)",
            ctx.world_size,
            device,
            opts.batch,
            opts.accumulate,
            ctx.world_size,
            effective_batch,
            len(contents),
            content_mode,
            content_workers,
            len(styles),
            style_mode,
            style_workers,
        )

    provenance = {
        "loss_network": loaded.name,
        "loss_network_sha256": loaded.weights_sha256,
        "loss_weights": opts.weights.to_dict(),
        "loss_norms": norms.to_dict(),
        "data": {
            "content": contents.summary() | {"root": portable_path(opts.content), "kind": opts.content_kind},
            "style": styles.summary() | {"root": portable_path(opts.style), "kind": opts.style_kind},
            "short_side": opts.short_side,
            "content_sizes": opts.content_sizes,
            "style_sizes": opts.style_sizes,
            "style_color_jitter": opts.style_color_jitter,
        },
        "git_commit": git_commit(),
        # A run branched from another's exported model (--init-from): which file, at which step.
        **({"init_from": meta["init_from"]} if "init_from" in meta else {}),
        "world_size": ctx.world_size,
        "effective_batch": effective_batch,
        "seed": opts.seed,  # replicates of one recipe differ only here
    }
    metrics_path = out / "metrics.csv"
    if ctx.is_main:
        out.mkdir(parents=True, exist_ok=True)
        fixed_contents = sample_crops(contents, 4, 160, random.Random(1))
        fixed_styles = sample_crops(styles, 4, 192, random.Random(2))
    started = time.monotonic()
    elapsed_before = float(meta.get("train_seconds", 0.0))

    def checkpoint(step: int) -> None:
        if not ctx.is_main:
            return
        meta["train_seconds"] = elapsed_before + time.monotonic() - started
        meta["data_epochs"] = {name: stream.epoch for name, stream in streams.items()}
        save_train_state(state_path, model, optimizer, step, meta)
        summary = provenance | {"steps": step, "train_seconds": meta["train_seconds"]}
        save_checkpoint(model, model_path, summary, dtype=torch.float16)
        if opts.snapshot_every and step % opts.snapshot_every == 0:
            # Kept so that runs can be compared at equal steps (e.g. against a baseline trained for fewer).
            snapshot = out / "snapshots" / f"model_step{step:06d}.safetensors"
            save_checkpoint(model, snapshot, summary, dtype=torch.float16)

    if start_step >= opts.steps:
        log.info("the run is already at step %d of --steps %d; nothing to train", start_step, opts.steps)
        return model_path
    bar = tqdm(
        range(start_step, opts.steps),
        initial=start_step,
        total=opts.steps,
        disable=not ctx.is_main,
        dynamic_ncols=True,
        desc="train",
    )
    completed = start_step
    replaced = 0
    for step in bar:
        model.train()
        lr = scheduled_lr(opts.lr, opts.lr_final, opts.lr_decay_start, opts.steps, step)
        for group in optimizer.param_groups:
            group["lr"] = lr * group["lr_scale"]
        optimizer.zero_grad(set_to_none=True)
        sums: dict[str, float] = {}
        for micro in range(opts.accumulate):
            batches: dict[str, CropBatch] = {name: next(stream) for name, stream in streams.items()}
            replaced += sum(batch.replaced for batch in batches.values())
            if sample_log is not None:
                for name, batch in batches.items():
                    sample_log.record(step, name, streams[name].epoch, batch, sources[name])
            batch_contents = to_device(batches["content"].images, device)  # (B, 3, H, W)
            batch_styles = to_device(batches["style"].images, device)  # (B/2, 3, Hs, Ws)
            if opts.style_color_jitter > 0:
                jitter_rng = torch.Generator().manual_seed(derived_seed("jitter", opts.seed, step, micro, ctx.rank))
                batch_styles, _ = jitter_style_colors(batch_styles, opts.style_color_jitter, jitter_rng)
            # Gradients are all-reduced once per optimizer step, on the last micro-step only.
            with dist_utils.gradient_sync(objective, sync=micro == opts.accumulate - 1):
                with torch.autocast(device.type, dtype=autocast_dtype or torch.float32, enabled=precision_enabled):
                    loss, terms, _ = objective(batch_contents, batch_styles, step)
                (loss / opts.accumulate).backward()
            for key, value in terms.items():
                sums[key] = sums.get(key, 0.0) + value / opts.accumulate
        optimizer.step()
        completed = step + 1
        if step % opts.log_every == 0 or step == opts.steps - 1:
            # Every rank takes part (the same steps everywhere); the logged losses cover the global batch.
            logged = dist_utils.mean_across_ranks(sums, ctx)
            if ctx.is_main:
                write_metrics(metrics_path, step, time.monotonic() - started + elapsed_before, logged | {"lr": lr})
        if ctx.is_main:
            bar.set_postfix({k: f"{v:.3f}" for k, v in sums.items()})
            if opts.sample_every and completed % opts.sample_every == 0:
                tone = save_sample_grid(
                    model, fixed_contents, fixed_styles, out / "samples" / f"step_{completed:06d}.png"
                )
                record_tone(out / "samples" / "tone.csv", completed, tone)
        if completed % opts.save_every == 0 and completed < opts.steps:
            checkpoint(completed)
        if opts.max_minutes is not None and dist_utils.should_stop(
            time.monotonic() - started > opts.max_minutes * 60, ctx
        ):
            break
    bar.close()
    if replaced:
        log.warning("rank %d: %d unreadable images were replaced by others of their set", ctx.rank, replaced)
    checkpoint(completed)
    if sample_log is not None and record_folder is not None:
        sample_log.close()
        params_sha256 = tensors_digest({k: v.float() for k, v in model.state_dict().items()})
        record = {"rank": ctx.rank, "world_size": ctx.world_size, "step": completed, "params_sha256": params_sha256}
        (record_folder / f"rank{ctx.rank}-params.json").write_text(json.dumps(record))
    return model_path


def record_tone(path: Path, step: int, tone: float) -> None:
    """Append the sample grid's tone correlation, and say so loudly when the outputs have turned negative:
    networks trained without the tone term have, while their content loss went on falling."""
    new = not path.exists()
    with open(path, "a", newline="") as handle:
        writer = csv.writer(handle)
        if new:
            writer.writerow(["step", "tone_correlation"])
        writer.writerow([step, f"{tone:.4f}"])
    if tone < 0:
        log.warning(
            "step %d: the sample outputs are negatives of their photos in local tone (tone correlation %+.2f); "
            "the content loss does not see it (train with --tone-weight above 0)",
            step,
            tone,
        )


def write_metrics(path: Path, step: int, seconds: float, terms: dict[str, float]) -> None:
    header = ["step", "seconds", *terms]
    if path.exists():
        with open(path, newline="") as handle:
            old_header = next(csv.reader(handle), [])
        if old_header != header:
            # A resumed run that logs a new term: rewrite the file with the wider header, older rows get
            # empty cells for the terms they did not have, so no logged value is lost.
            with open(path, newline="") as handle:
                rows = list(csv.DictReader(handle))
            header = [*old_header, *(name for name in header if name not in old_header)]
            with open(path, "w", newline="") as handle:
                rewriter = csv.DictWriter(handle, fieldnames=header, restval="")
                rewriter.writeheader()
                rewriter.writerows(rows)
    values = {"step": str(step), "seconds": f"{seconds:.1f}", **{k: f"{v:.6f}" for k, v in terms.items()}}
    new = not path.exists()
    with open(path, "a", newline="") as handle:
        writer = csv.writer(handle)
        if new:
            writer.writerow(header)
        writer.writerow([values.get(name, "") for name in header])


def checkpoint_summary(path: Path) -> dict[str, Any]:
    """The provenance JSON of a checkpoint, verified."""
    _, metadata = read_checkpoint(path)
    return dict(json.loads(metadata.get("provenance", "{}")))
