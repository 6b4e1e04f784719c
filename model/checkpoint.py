"""Self-describing checkpoints: safetensors tensors plus a JSON config, never pickle.

The safetensors header's metadata holds:
- ``format``: ``"vst-checkpoint"`` and ``format_version``;
- ``config``: the :class:`ModelConfig` as JSON, from which the loader rebuilds the model;
- ``provenance``: JSON with loss weights, loss network and its sha256, data summary, steps, git commit;
- ``tensor_sha256``: a hash over every tensor's name, shape, dtype and bytes, so that a file whose
  tensors were altered after writing is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from model.config import ModelConfig
from model.networks import VariationalStyleTransfer

FORMAT_NAME = "vst-checkpoint"
FORMAT_VERSION = 1
DEFAULT_CHECKPOINT = Path(__file__).resolve().parent.parent / "checkpoints" / "vst-default.safetensors"


class CheckpointError(ValueError):
    """A checkpoint that cannot be trusted or understood."""


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, read in 1 MiB blocks: how provenance names a checkpoint or weights file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tensors_digest(tensors: dict[str, torch.Tensor]) -> str:
    """sha256 over the sorted tensors' names, dtypes, shapes and raw bytes."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        tensor = tensors[name].detach().contiguous().cpu()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def atomic_save(tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str]) -> None:
    """Write safetensors to a temporary file in the same folder, then rename: never a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=metadata)
        # mkstemp creates 0600 files; checkpoints are meant to be read by other users (e.g. a container's).
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_checkpoint(
    model: VariationalStyleTransfer,
    path: Path,
    provenance: dict[str, Any] | None = None,
    dtype: torch.dtype = torch.float32,
) -> None:
    """Save the model's weights (optionally cast, e.g. to fp16 for shipping) and its config."""
    tensors = {name: tensor.detach().to(dtype).contiguous().cpu() for name, tensor in model.state_dict().items()}
    metadata = {
        "format": FORMAT_NAME,
        "format_version": str(FORMAT_VERSION),
        "config": json.dumps(model.config.to_dict()),
        "provenance": json.dumps(provenance or {}),
        "tensor_sha256": tensors_digest(tensors),
    }
    atomic_save(tensors, path, metadata)


def read_safetensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The tensors and metadata of a safetensors file, with no check of what it holds. Never unpickles."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{path} is not a readable safetensors checkpoint: {exc}") from exc
    return tensors, metadata


def verify_digest(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> None:
    """Refuse a file whose tensors no longer match the hash written beside them."""
    if metadata.get("tensor_sha256") != tensors_digest(tensors):
        raise CheckpointError(f"{path} was modified after it was written (tensor hash mismatch)")


def read_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Read tensors and metadata, verifying the format, version and tensor hash. Never unpickles."""
    tensors, metadata = read_safetensors(path)
    if metadata.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{path} is not a {FORMAT_NAME} file (format={metadata.get('format')!r})")
    if metadata.get("format_version") != str(FORMAT_VERSION):
        raise CheckpointError(
            f"{path} has format version {metadata.get('format_version')!r}; this build reads {FORMAT_VERSION}"
        )
    verify_digest(path, tensors, metadata)
    return tensors, metadata


def load_checkpoint(
    path: Path | None = None, device: str | torch.device = "cpu"
) -> tuple[VariationalStyleTransfer, dict[str, Any]]:
    """Rebuild the model from the checkpoint's config and load its weights in fp32.

    Returns the model in eval mode and the provenance dict. Unknown or missing keys and wrong shapes
    are refused with a :class:`CheckpointError`.
    """
    path = Path(path) if path is not None else DEFAULT_CHECKPOINT
    tensors, metadata = read_checkpoint(path)
    try:
        config = ModelConfig.from_dict(json.loads(metadata["config"]))
        model = VariationalStyleTransfer(config)
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path} has an invalid config: {exc}") from exc
    load_matching(model, tensors, path, device)
    return model, json.loads(metadata.get("provenance", "{}"))


def load_matching(
    model: torch.nn.Module, tensors: dict[str, torch.Tensor], path: Path | str, device: str | torch.device
) -> None:
    """Load ``tensors`` (as fp32) into ``model`` rebuilt from the file's config, in eval mode on ``device``;
    a missing, unexpected or differently shaped tensor is refused with a CheckpointError naming it."""
    expected = model.state_dict()
    unexpected = sorted(set(tensors) - set(expected))
    missing = sorted(set(expected) - set(tensors))
    if unexpected or missing:
        raise CheckpointError(f"{path} does not match its config: unexpected={unexpected[:5]} missing={missing[:5]}")
    for name, tensor in tensors.items():
        if tuple(tensor.shape) != tuple(expected[name].shape):
            raise CheckpointError(
                f"{path}: tensor {name} has shape {tuple(tensor.shape)}, expected {tuple(expected[name].shape)}"
            )
    model.load_state_dict({name: t.float() for name, t in tensors.items()})
    model.eval().to(device)
