"""Thin helpers over torch.distributed so that ``vst train`` runs unchanged under ``torchrun``.

torchrun describes the job in the environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR/PORT);
:func:`init` joins that process group: nccl on GPUs, gloo on the CPU. Without torchrun's environment
(WORLD_SIZE unset or 1) every helper is a no-op, so single-process training takes the same code path.

Every collective here runs on every rank in the same order; callers must keep it so (a rank that
skips one leaves the others waiting until the process group's timeout).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel


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

    @property
    def local_world_size(self) -> int:
        return int(os.environ.get("LOCAL_WORLD_SIZE", "1")) if self.enabled else 1


def init(device: torch.device | None = None) -> DistContext:
    """Join the process group that torchrun describes in the environment.

    ``device`` is the single-process choice (``--device``): CUDA gives each process the GPU of its
    LOCAL_RANK and the nccl backend; the CPU gives gloo.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistContext(False, 0, 1, 0, device or torch.device("cpu"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() if device is None else device.type == "cuda"
    if use_cuda:
        torch.cuda.set_device(local_rank)
        rank_device = torch.device("cuda", local_rank)
    else:
        rank_device = torch.device("cpu")
    if not dist.is_initialized():
        if use_cuda:
            # device_id binds the communicator to this GPU at once, so barriers need no device guess.
            dist.init_process_group(backend="nccl", device_id=rank_device)
        else:
            dist.init_process_group(backend="gloo")
    ctx = DistContext(True, dist.get_rank(), dist.get_world_size(), local_rank, rank_device)
    if not ctx.is_main:
        # Other ranks keep their warnings (e.g. an unreadable file they met) but not rank 0's chatter.
        logging.getLogger().setLevel(logging.WARNING)
    return ctx


def wrap(module: torch.nn.Module, ctx: DistContext) -> torch.nn.Module:
    """DistributedDataParallel around ``module`` when distributed; the module itself otherwise.

    Parameters and buffers are broadcast from rank 0 once, here. The buffers (input preprocessing and
    layer scales of the frozen trunk) never change, so they are not re-broadcast at every forward.
    """
    if not ctx.enabled:
        return module
    device_ids = [ctx.local_rank] if ctx.device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=device_ids, forward_sync_buffers=False)


@contextlib.contextmanager
def gradient_sync(module: torch.nn.Module, sync: bool) -> Iterator[None]:
    """Around forward and backward of a micro-step: without ``sync``, gradients only accumulate locally.

    With gradient accumulation, all-reducing after every micro-step would multiply the communication for
    nothing; DDP's ``no_sync`` defers it to the last micro-step, whose all-reduce averages the sum.
    """
    if sync or not isinstance(module, DistributedDataParallel):
        yield
        return
    with module.no_sync():
        yield


def should_stop(local_flag: bool, ctx: DistContext) -> bool:
    """True on every rank as soon as any rank wants to stop, so that no rank waits forever in a collective."""
    if not ctx.enabled:
        return local_flag
    flag = torch.tensor([1.0 if local_flag else 0.0], device=ctx.device)
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    return bool(flag.item() > 0)


def mean_across_ranks(values: dict[str, float], ctx: DistContext) -> dict[str, float]:
    """The mean of each value over all ranks (same keys on every rank), e.g. logged losses of the global batch."""
    if not ctx.enabled or not values:
        return dict(values)
    tensor = torch.tensor(list(values.values()), dtype=torch.float64, device=ctx.device)
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return {k: float(v) / ctx.world_size for k, v in zip(values, tensor.tolist(), strict=True)}


def broadcast_floats(values: Sequence[float], ctx: DistContext) -> list[float]:
    """Rank 0's values on every rank (e.g. calibration results, so that every rank uses the same ones)."""
    if not ctx.enabled:
        return list(values)
    tensor = torch.tensor(list(values), dtype=torch.float64, device=ctx.device)
    dist.broadcast(tensor, src=0)
    return [float(v) for v in tensor.tolist()]


def all_agree(flags: Sequence[bool], ctx: DistContext) -> list[bool]:
    """Element-wise AND over ranks: e.g. keep an image only if every rank could read it."""
    if not ctx.enabled:
        return list(flags)
    tensor = torch.tensor([1 if f else 0 for f in flags], dtype=torch.int32, device=ctx.device)
    dist.all_reduce(tensor, op=dist.ReduceOp.MIN)
    return [bool(v) for v in tensor.tolist()]


def broadcast_json(value: Any, ctx: DistContext) -> Any:
    """Rank 0's JSON-serialisable ``value`` on every rank, sent as UTF-8 bytes (no pickle)."""
    if not ctx.enabled:
        return value
    payload = json.dumps(value).encode() if ctx.is_main else b""
    length = torch.tensor([len(payload)], dtype=torch.int64, device=ctx.device)
    dist.broadcast(length, src=0)
    buffer = torch.zeros(int(length.item()), dtype=torch.uint8, device=ctx.device)
    if ctx.is_main:
        buffer.copy_(torch.frombuffer(bytearray(payload), dtype=torch.uint8))
    dist.broadcast(buffer, src=0)
    return json.loads(buffer.cpu().numpy().tobytes().decode())


def broadcast_tensors(tensors: dict[str, torch.Tensor] | None, ctx: DistContext) -> dict[str, torch.Tensor]:
    """Rank 0's named CPU tensors on every rank (others pass None).

    Lets a resumed run read its training state on rank 0 only: the other nodes of a multi-node job need
    no copy of the run folder.
    """
    if not ctx.enabled:
        return dict(tensors or {})
    spec = broadcast_json(
        [[name, list(t.shape), str(t.dtype).removeprefix("torch.")] for name, t in (tensors or {}).items()],
        ctx,
    )
    received: dict[str, torch.Tensor] = {}
    for name, shape, dtype in spec:
        if ctx.is_main and tensors is not None:
            buffer = tensors[name].detach().contiguous().to(ctx.device)
        else:
            buffer = torch.empty(shape, dtype=getattr(torch, dtype), device=ctx.device)
        dist.broadcast(buffer, src=0)
        received[name] = buffer.cpu()
    return received


def finish(ctx: DistContext, clean: bool = True) -> None:
    """Leave the process group. After an error, skip the barrier: the other ranks may never reach it."""
    if ctx.enabled and dist.is_initialized():
        if clean:
            dist.barrier()
        dist.destroy_process_group()
