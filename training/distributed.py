"""Thin helpers over torch.distributed so that ``vst train`` runs unchanged under ``torchrun``.

Without torchrun's environment (WORLD_SIZE unset or 1) every helper is a no-op.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import torch
import torch.distributed as dist

T = TypeVar("T")


@dataclass
class DistContext:
    enabled: bool
    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init() -> DistContext:
    """Join the process group that torchrun describes in the environment: nccl on GPUs, gloo on the CPU."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistContext(False, 0, 1, 0, torch.device("cpu"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
        backend = "nccl"
    else:
        device = torch.device("cpu")
        backend = "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    return DistContext(True, dist.get_rank(), dist.get_world_size(), local_rank, device)


def shard(items: Sequence[T]) -> list[T]:
    """This rank's disjoint share of ``items`` (every world_size-th item)."""
    if not dist.is_available() or not dist.is_initialized():
        return list(items)
    return list(items[dist.get_rank() :: dist.get_world_size()])


def wrap(module: torch.nn.Module, ctx: DistContext) -> torch.nn.Module:
    if not ctx.enabled:
        return module
    from torch.nn.parallel import DistributedDataParallel

    device_ids = [ctx.local_rank] if ctx.device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=device_ids)


def should_stop(local_flag: bool, ctx: DistContext) -> bool:
    """True on every rank as soon as any rank wants to stop, so that no rank waits forever in a collective."""
    if not ctx.enabled:
        return local_flag
    flag = torch.tensor([1.0 if local_flag else 0.0], device=ctx.device)
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    return bool(flag.item() > 0)


def finish(ctx: DistContext) -> None:
    if ctx.enabled and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
