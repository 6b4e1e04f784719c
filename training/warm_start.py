"""Starting a run from an exported model (a snapshot or a shipped checkpoint) instead of from scratch."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.checkpoint import file_sha256, load_checkpoint
from model.networks import VariationalStyleTransfer
from training.objective import LossNorms
from training.provenance import portable_path


@dataclass
class WarmStart:
    model: VariationalStyleTransfer
    step: int
    norms: LossNorms
    source: dict[str, Any]


def warm_start(path: Path, decoder_noise: bool) -> WarmStart:
    """The model of a verified checkpoint in fp32, at the step it was saved, with the run's loss norms.

    Snapshots are fp16, so the weights are the fp16-rounded ones; the optimizer starts fresh. With
    ``decoder_noise`` the decoder gains its noise input with small strengths: at variation 0 it computes
    exactly what the loaded model did, and with noise nearly so.
    """
    model, provenance = load_checkpoint(path)
    if "steps" not in provenance or "loss_norms" not in provenance:
        raise ValueError(f"{path} does not record its step and loss norms; it was not written by vst train")
    if decoder_noise and not model.config.decoder_noise:
        loaded = model
        model = VariationalStyleTransfer(dataclasses.replace(loaded.config, decoder_noise=True))
        # Same config but the noise input, so the noise strengths are the only keys the file lacks.
        model.load_state_dict(loaded.state_dict(), strict=False)
    step = int(provenance["steps"])
    source = {"path": portable_path(path), "step": step, "sha256": file_sha256(Path(path))}
    return WarmStart(model, step, LossNorms(**provenance["loss_norms"]), source)
