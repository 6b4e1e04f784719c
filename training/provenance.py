"""How a checkpoint names the files it came from: portably, never with a path of the machine that trained it."""

from __future__ import annotations

import os
from pathlib import Path


def portable_path(path: str | os.PathLike[str]) -> str:
    """A path as a checkpoint records it: relative to the working directory when it lies below it (e.g.
    ``data/train/style``), else only its last two parts (``train/paintings``), so that a checkpoint shared
    elsewhere does not carry the training machine's folders."""
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return Path(*resolved.parts[-2:]).as_posix()
