"""Device and dtype choice (model/device.py), the one place the worker, the CLI and training take them from."""

from __future__ import annotations

import pytest
import torch

from model import device as devices


def test_auto_is_cuda_only_where_a_gpu_is_usable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert devices.resolve_device("auto") == torch.device("cpu")
    with pytest.raises(devices.DeviceUnavailableError, match="no CUDA device"):
        devices.resolve_device("cuda")
    # A stand-in for a GPU machine: only the availability check is patched, no CUDA call is made.
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert devices.resolve_device("auto") == torch.device("cuda")
    assert devices.resolve_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize("native", [True, False])
def test_inference_and_autocast_dtypes_follow_the_cpu(monkeypatch: pytest.MonkeyPatch, native: bool) -> None:
    monkeypatch.setattr(devices, "cpu_has_native_bf16", lambda: native)
    cpu = torch.device("cpu")
    assert devices.default_dtype(cpu) == (torch.bfloat16 if native else torch.float32)
    assert devices.autocast_dtype("auto", cpu) == (torch.bfloat16 if native else None)
    assert devices.autocast_dtype("fp32", cpu) is None
    assert devices.autocast_dtype("bf16", cpu) == torch.bfloat16
    assert devices.default_dtype(torch.device("cuda")) == torch.float32  # never fp16; fp32 on GPUs
