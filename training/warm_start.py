"""Starting a run from an exported model (a snapshot or a shipped checkpoint) instead of from scratch."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.checkpoint import read_checkpoint
from model.config import ModelConfig
from model.networks import VariationalStyleTransfer
from training.objective import LossNorms

# Parameters a warm start may add to the loaded model; they start at their (neutral) initial values.
ADDABLE_PREFIXES = ("decoder.noise_strength.",)


@dataclass
class WarmStart:
    model: VariationalStyleTransfer
    step: int
    norms: LossNorms
    source: dict[str, Any]


def warm_start(path: Path, decoder_noise: bool) -> WarmStart:
    """The model of a verified checkpoint in fp32, at the step it was saved, with the run's loss norms.

    Snapshots are fp16, so the weights are the fp16-rounded ones; the optimizer starts fresh. With
    ``decoder_noise`` the decoder gains its noise input with zero strengths, so it starts out computing
    exactly what the loaded model did.
    """
    tensors, metadata = read_checkpoint(path)
    config = ModelConfig.from_dict(json.loads(metadata["config"]))
    config.decoder_noise = config.decoder_noise or decoder_noise
    provenance = json.loads(metadata.get("provenance", "{}"))
    if "steps" not in provenance or "loss_norms" not in provenance:
        raise ValueError(f"{path} does not record its step and loss norms; it was not written by vst train")
    model = VariationalStyleTransfer(config)
    result = model.load_state_dict({name: t.float() for name, t in tensors.items()}, strict=False)
    missing = [name for name in result.missing_keys if not name.startswith(ADDABLE_PREFIXES)]
    if missing or result.unexpected_keys:
        raise ValueError(
            f"{path} does not fit the model: missing={missing[:5]} unexpected={result.unexpected_keys[:5]}"
        )
    source = {"path": str(path), "step": int(provenance["steps"]), "tensor_sha256": metadata["tensor_sha256"]}
    return WarmStart(model, int(provenance["steps"]), LossNorms(**provenance["loss_norms"]), source)
