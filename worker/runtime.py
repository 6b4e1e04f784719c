"""What a worker process loads once at start and every job then uses: the model and the Redis connection.

RQ calls tasks by dotted path with JSON arguments only, so the loaded model cannot be passed in; it lives
here, installed by ``python -m worker`` before the first job runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch
from redis import Redis

from model.checkpoint import DEFAULT_CHECKPOINT, file_sha256, load_checkpoint
from model.device import resolve_device
from model.inference import Stylizer
from worker.settings import WorkerSettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Runtime:
    stylizer: Stylizer
    model_sha256: str
    checkpoint: Path
    device: str
    redis: Redis
    settings: WorkerSettings


_runtime: Runtime | None = None


def load_runtime(settings: WorkerSettings, redis: Redis) -> Runtime:
    """Load the checkpoint once (the only time this process touches the model file)."""
    device = str(resolve_device(settings.device))
    if settings.torch_threads:
        torch.set_num_threads(settings.torch_threads)
    checkpoint = settings.checkpoint or DEFAULT_CHECKPOINT
    model, provenance = load_checkpoint(settings.checkpoint, device=device)
    logger.info("loaded %s on %s (steps=%s)", checkpoint, device, provenance.get("steps", "?"))
    return Runtime(
        stylizer=Stylizer(model, device=device),
        model_sha256=file_sha256(checkpoint),
        checkpoint=checkpoint,
        device=device,
        redis=redis,
        settings=settings,
    )


def install(runtime: Runtime) -> None:
    global _runtime
    _runtime = runtime


def current() -> Runtime:
    if _runtime is None:
        raise RuntimeError("no model loaded: stylize jobs run inside `python -m worker`")
    return _runtime
