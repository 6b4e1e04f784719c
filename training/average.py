"""``vst average``: the mean of several snapshots of one run (stochastic weight averaging).

At a constant learning rate the weights keep moving around a good region; one snapshot is wherever the
last few hundred steps left it. On the held-out pairs, single snapshots 250 steps apart differed by
10-30% in Gram loss, more than the differences between the methods being compared. The mean of the
weights along the trajectory sits nearer the centre of that region (Izmailov et al., 2018). The model has
no batch norm (instance norm and AdaIN only), so the averaged weights need no statistics recomputed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from model.checkpoint import CheckpointError, load_checkpoint, save_checkpoint


def average_state_dicts(states: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Element-wise mean of each tensor over ``states`` (in fp32): {name: mean_k states[k][name]}."""
    if not states:
        raise ValueError("nothing to average")
    names = set(states[0])
    if any(set(state) != names for state in states[1:]):
        raise ValueError("the state dicts hold different tensors")
    return {name: torch.stack([state[name].float() for state in states]).mean(dim=0) for name in states[0]}


def average_checkpoints(paths: Sequence[Path], out: Path, dtype: torch.dtype = torch.float16) -> dict[str, Any]:
    """Average the checkpoints' weights into ``out``; returns its provenance.

    The checkpoints must share one model config. The provenance is the last one's (the latest step),
    with ``averaged_from`` naming each input file and its step.
    """
    if len(paths) < 2:
        raise CheckpointError("averaging needs at least two checkpoints")
    loaded = [load_checkpoint(path) for path in paths]
    config = loaded[0][0].config
    for path, (model, _) in zip(paths, loaded, strict=True):
        if model.config != config:
            raise CheckpointError(f"{path} has another model config than {paths[0]}; only snapshots of one run average")
    model = loaded[-1][0]
    model.load_state_dict(average_state_dicts([m.state_dict() for m, _ in loaded]))
    provenance = dict(loaded[-1][1])
    provenance["averaged_from"] = [
        {"file": Path(path).name, "steps": prov.get("steps")} for path, (_, prov) in zip(paths, loaded, strict=True)
    ]
    save_checkpoint(model, out, provenance, dtype=dtype)
    return provenance
