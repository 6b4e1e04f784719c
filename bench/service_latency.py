"""End-to-end latency of one 512 px stylize job through the API, against the model time alone.

Starts a real redis-server, one ``python -m worker`` with the shipped checkpoint (or VST_CHECKPOINT) and
the API under uvicorn, then times ``POST /stylize`` -> ``GET /jobs/{id}?wait=30`` (or, with ``--client poll``,
``GET /jobs/{id}`` every 10 ms) -> ``GET /result``.
The model alone is timed in this process with the same images, checkpoint and thread count.
Prints one JSON object. Usage: ``python bench/service_latency.py [--runs 5] [--max-side 512] [--client wait|poll]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from app.redis_server import LocalRedis, free_port  # noqa: E402

CONTENT = REPO_ROOT / "data" / "eval" / "content" / "kodak_kodim02.jpg"
STYLE_ID = "hokusai_great_wave"
STYLE = REPO_ROOT / "data" / "eval" / "style" / f"{STYLE_ID}.jpg"


def _wait(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.05)


def _one_job(client: httpx.Client, content: bytes, max_side: int, wait: bool) -> dict[str, float]:
    started = time.perf_counter()
    response = client.post(
        "/stylize",
        files={"content": ("content.jpg", content, "image/jpeg")},
        data={"style_id": STYLE_ID, "max_side": str(max_side)},
    )
    response.raise_for_status()
    job_id = response.json()["id"]
    submitted = time.perf_counter()
    while True:
        # wait: the API answers when the job ends; poll: the way a client without it must ask, every 10 ms.
        view = client.get(f"/jobs/{job_id}", params={"wait": 30} if wait else None).json()
        if view["status"] in ("finished", "failed", "canceled"):
            break
        if not wait:
            time.sleep(0.01)
    if view["status"] != "finished":
        raise RuntimeError(f"job ended {view['status']}: {view.get('error')}")
    image = client.get(view["result_urls"][0])
    image.raise_for_status()
    done = time.perf_counter()
    return {
        "end_to_end_s": done - started,
        "submit_s": submitted - started,
        "worker_run_s": float(view["timings"]["run_seconds"]),
        "worker_model_s": float(view["timings"]["model_seconds"]),
        "queued_s": float(view["timings"]["queued_seconds"]),
    }


class ModelAlone:
    """The same model, images and settings as the worker, called directly in this process."""

    def __init__(self, max_side: int) -> None:
        from PIL import Image

        from model.checkpoint import load_checkpoint
        from model.device import resolve_device
        from model.inference import Stylizer

        self.device = resolve_device(os.environ.get("VST_DEVICE", "auto"))
        checkpoint = Path(os.environ["VST_CHECKPOINT"]) if os.environ.get("VST_CHECKPOINT") else None
        model, _ = load_checkpoint(checkpoint, self.device)
        self.stylizer = Stylizer(model, device=self.device)
        self.content = Image.open(CONTENT).convert("RGB")
        self.style = Image.open(STYLE).convert("RGB")
        self.max_side = max_side
        self.code = self.stylizer.encode_style(self.style)
        self.stylize()  # warm-up

    def encode(self) -> float:
        tic = time.perf_counter()
        self.code = self.stylizer.encode_style(self.style)
        return time.perf_counter() - tic

    def stylize(self) -> float:
        tic = time.perf_counter()
        self.stylizer.stylize(self.content, [self.code], max_side=self.max_side)
        return time.perf_counter() - tic


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--max-side", type=int, default=512)
    parser.add_argument(
        "--client",
        choices=["wait", "poll"],
        default="wait",
        help="wait: GET /jobs/{id}?wait=30, answered when the job ends; poll: GET /jobs/{id} every 10 ms",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder, LocalRedis(Path(folder)) as redis_url:
        env = {**os.environ, "REDIS_URL": redis_url, "PYTHONUNBUFFERED": "1"}
        logs = Path(folder)
        port = free_port()
        worker_log = (logs / "worker.log").open("wb")
        api_log = (logs / "api.log").open("wb")
        worker = subprocess.Popen(
            [sys.executable, "-m", "worker"], cwd=REPO_ROOT, env=env, stdout=worker_log, stderr=subprocess.STDOUT
        )
        api = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(port), "--log-level", "warning"],
            cwd=REPO_ROOT, env=env, stdout=api_log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:

                def ready() -> bool:
                    try:
                        return client.get("/readyz").status_code == 200
                    except httpx.HTTPError:
                        return False

                _wait(ready, 600, "the service to be ready")
                content = CONTENT.read_bytes()
                alone = ModelAlone(args.max_side)
                wait = args.client == "wait"
                cold = _one_job(client, content, args.max_side, wait)  # first job: style code not cached yet
                encode_s = [alone.encode() for _ in range(3)]
                # API job and direct model call alternate, so that both see the same load on the machine.
                warm, direct = [], []
                for _ in range(args.runs):
                    warm.append(_one_job(client, content, args.max_side, wait))
                    direct.append(alone.stylize())
        finally:
            api.terminate()
            worker.terminate()
            api.wait(30)
            worker.wait(60)
            worker_log.close()
            api_log.close()

    def median(key: str) -> float:
        return round(statistics.median(run[key] for run in warm), 4)

    result = {
        "what": f"one {args.max_side} px stylize job (content {CONTENT.name}, style {STYLE_ID}), PNG result",
        "machine": f"{platform.machine()} {os.cpu_count()} CPUs, {platform.system()}, load {os.getloadavg()[0]:.1f}",
        "device": alone.device,
        "checkpoint": os.environ.get("VST_CHECKPOINT", "shipped (checkpoints/vst-default.safetensors)"),
        "runs": args.runs,
        "client": args.client,
        "api_first_job_end_to_end_s": round(cold["end_to_end_s"], 4),
        "api_end_to_end_median_s": median("end_to_end_s"),
        "api_submit_median_s": median("submit_s"),
        "worker_run_median_s": median("worker_run_s"),
        "worker_model_median_s": median("worker_model_s"),
        "model_alone_stylize_median_s": round(statistics.median(direct), 4),
        "model_alone_encode_style_median_s": round(statistics.median(encode_s), 4),
        "overhead_median_s": round(
            statistics.median(run["end_to_end_s"] - alone_s for run, alone_s in zip(warm, direct, strict=True)), 4
        ),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
