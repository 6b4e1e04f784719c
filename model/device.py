"""Where the networks run and in what precision: the one home of device and dtype choice for the worker, the
CLI, training and the benchmarks."""

from __future__ import annotations

from pathlib import Path

import torch


class DeviceUnavailableError(RuntimeError):
    """A device was asked for that this machine lacks: the user's to fix, so callers say it in one line."""


def resolve_device(name: str) -> torch.device:
    """``auto`` -> cuda when a GPU is usable, else cpu; ``cuda`` without a GPU is refused."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise DeviceUnavailableError("the cuda device was requested but no CUDA device is available")
    return torch.device(name)


def cpu_has_native_bf16() -> bool:
    """True where the CPU computes bf16 natively (AVX512_BF16 or AMX): there bf16 is about 2x fp32."""
    if not torch.backends.mkldnn.is_available():
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def default_dtype(device: torch.device) -> torch.dtype:
    """The inference dtype: bf16 on CPUs with native bf16 (outputs within about 3/255 of fp32), else fp32.

    Never fp16 on the CPU (about 70x slower on the 2-core AMD EPYC where it was measured). CUDA stays fp32: on
    an H100 bf16 was only 7% faster for one image (docs/benchmarks.md, GPU).
    """
    if device.type == "cpu" and cpu_has_native_bf16():
        return torch.bfloat16
    return torch.float32


def autocast_dtype(name: str, device: torch.device) -> torch.dtype | None:
    """The training autocast dtype for ``--precision`` (auto | fp32 | bf16): bf16 where the hardware runs it
    fast, else fp32 (None). Never fp16 on the CPU."""
    if name == "fp32":
        return None
    if name == "bf16":
        return torch.bfloat16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    return torch.bfloat16 if cpu_has_native_bf16() else None
