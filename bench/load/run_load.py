"""Service benchmarks: one job's API + queue overhead, and a locust load test with 1 and 2 workers.

    python bench/load/run_load.py [--workers 1 2] [--users 20] [--duration 90] [--latency-runs 10]

1. Overhead: runs bench/service_latency.py (one 512 px job at a time through the API and the queue,
   against the model alone in one process) and keeps its JSON.
2. Load: for each worker count, starts the whole service with the project's own runner (``vst serve``:
   its own redis-server, ``python -m worker`` processes, ``uvicorn app.main:app``) on 127.0.0.1 only, warms
   every worker up, then runs locust headless (bench/load/locustfile.py) with ``--users`` closed-loop users
   for ``--duration`` seconds. Afterwards every job that was accepted (202) but not seen to end is followed
   through the API until it ends or ``--grace`` seconds pass; one that never reaches finished/failed is lost.

locust runs from its own venv (bench/load/.venv, created on first use), because its pytest plugin would
otherwise load into the project's test runs. Writes docs/bench/service_latency.json, docs/bench/load.json,
load.csv, load.png and keeps locust's CSVs under docs/bench/locust/.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import benchlib  # noqa: E402

HERE = Path(__file__).resolve().parent
LOCUST_VENV = HERE / ".venv"
LOCUST_REQUIREMENT = "locust==2.47.0"
TERMINAL = {"finished", "failed", "canceled"}


def ensure_locust() -> Path:
    """bench/load/.venv/bin/locust, creating the venv and installing the pinned locust on first use."""
    locust = LOCUST_VENV / "bin" / "locust"
    if not locust.exists():
        print(f"creating {benchlib.relative(LOCUST_VENV)} with {LOCUST_REQUIREMENT}", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(LOCUST_VENV)], check=True)
        pip = [str(LOCUST_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, LOCUST_REQUIREMENT], check=True)
    return locust


def prepare_contents(folder: Path, side: int) -> Path:
    """The evaluation photos as JPEGs whose longer side is exactly ``side``, so every job is a full-size job."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in benchlib.image_paths(benchlib.EVAL_CONTENT):
        image = benchlib.at_long_side(benchlib.open_rgb(path), side)
        image.save(folder / f"{path.stem}.jpg", quality=92)
    return folder


def service_overhead(runs: int, out: Path, client: str = "wait") -> dict[str, Any]:
    """bench/service_latency.py's JSON, plus the overhead relative to the model alone."""
    script = HERE.parent / "service_latency.py"
    done = subprocess.run(
        [sys.executable, str(script), "--runs", str(runs), "--client", client],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    model_alone = float(result["model_alone_stylize_median_s"])
    # service_latency.py pairs each API job with a direct model call; overhead = median of the differences.
    result["overhead_percent_of_model_alone"] = round(100 * float(result["overhead_median_s"]) / model_alone, 1)
    result["command"] = f"python bench/service_latency.py --runs {runs} --client {client}"
    result["load_average"] = benchlib.load_average()
    benchlib.write_json(out / "service_latency.json", result)
    return result


class Service:
    """``vst serve`` in its own session on a free loopback port, with its own run folder."""

    def __init__(self, workers: int, torch_threads: int, run_dir: Path) -> None:
        self.workers = workers
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = run_dir / "serve.log"
        env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
        env.update(
            {
                "VST_RUN_DIR": str(run_dir),
                "VST_TORCH_THREADS": str(torch_threads),
                "PYTHONUNBUFFERED": "1",
            }
        )
        vst = Path(sys.executable).with_name("vst")
        command = [str(vst), "serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers)]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=benchlib.REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def wait_ready(self, client: httpx.Client, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"vst serve exited with {self.process.returncode}; see {self.log_path}")
            try:
                response = client.get("/readyz")
                if response.status_code == 200 and len(response.json()["workers"]) >= self.workers:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"the service was not ready with {self.workers} workers in {timeout_s:.0f}s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # the runner stops the API, then the workers, then Redis
            try:
                self.process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _free_port() -> int:
    from app.redis_server import free_port

    return free_port()


def submit_and_wait(client: httpx.Client, content: bytes, style_id: str, side: int, timeout_s: float) -> str:
    response = client.post(
        "/stylize",
        files={"content": ("content.jpg", content, "image/jpeg")},
        data={"style_id": style_id, "max_side": str(side)},
    )
    response.raise_for_status()
    job_id = str(response.json()["id"])
    return wait_terminal(client, job_id, timeout_s)


def wait_terminal(client: httpx.Client, job_id: str, timeout_s: float) -> str:
    """Follow a job until it ends; returns its last status ('missing' for a 404)."""
    deadline = time.monotonic() + timeout_s
    status = "unknown"
    while time.monotonic() < deadline:
        response = client.get(f"/jobs/{job_id}")
        if response.status_code == 404:
            return "missing"
        status = str(response.json()["status"])
        if status in TERMINAL:
            return status
        time.sleep(0.5)
    return status


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile, q in [0, 100]."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def load_test(workers: int, args: argparse.Namespace, locust: Path, contents: Path, out: Path) -> dict[str, Any]:
    threads = args.torch_threads or max(1, (os.cpu_count() or 1) // workers)
    with tempfile.TemporaryDirectory(prefix=f"vst-load-{workers}w-") as folder:
        run_dir = Path(folder)
        service = Service(workers, threads, run_dir)
        try:
            with httpx.Client(base_url=service.base_url, timeout=60) as client:
                service.wait_ready(client, args.startup_timeout)
                gallery = {s["id"] for s in client.get("/styles").json()["styles"]}
                wanted = [p.stem.lower() for p in benchlib.image_paths(benchlib.EVAL_STYLE)]
                style_ids = [s for s in wanted if s in gallery][: args.styles]
                if not style_ids:
                    raise RuntimeError("none of the evaluation paintings is in the service's style gallery")
                # Warm-up, not measured: every worker runs a few jobs, so style codes are cached and kernels built.
                warm_content = sorted(contents.glob("*.jpg"))[0].read_bytes()
                warm = [(warm_content, s) for s in style_ids for _ in range(workers)]
                for content, style_id in warm:
                    submit_and_wait(client, content, style_id, args.side, args.grace)

                jobs_log = run_dir / "jobs.jsonl"
                prefix = out / "locust" / f"workers{workers}"
                prefix.parent.mkdir(parents=True, exist_ok=True)
                env = {
                    **os.environ,
                    "VST_LOAD_CONTENT_DIR": str(contents),
                    "VST_LOAD_STYLE_IDS": ",".join(style_ids),
                    "VST_LOAD_MAX_SIDE": str(args.side),
                    "VST_LOAD_POLL_S": str(args.poll),
                    "VST_LOAD_JOBS": str(jobs_log),
                }
                load_before = benchlib.load_average()
                command = [
                    str(locust), "-f", str(HERE / "locustfile.py"), "--headless",
                    "-u", str(args.users), "-r", str(args.spawn_rate), "-t", f"{args.duration}s",
                    "--host", service.base_url, "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING",
                ]  # fmt: skip
                started = time.time()
                done = subprocess.run(command, cwd=benchlib.REPO_ROOT, env=env, capture_output=True, text=True)
                test_seconds = time.time() - started
                (run_dir / "locust.log").write_text(done.stdout + done.stderr)
                (out / "locust" / f"workers{workers}.log").write_text(done.stdout + done.stderr)
                load_after = benchlib.load_average()
                records = [json.loads(line) for line in jobs_log.read_text().splitlines()] if jobs_log.exists() else []
                summary = summarize_jobs(records, test_seconds, client, args.grace)
        finally:
            service.stop()
    return {
        "workers": workers,
        "torch_threads_per_worker": threads,
        "users": args.users,
        "duration_s": args.duration,
        "measured_seconds": round(test_seconds, 1),
        "styles": style_ids,
        "locust_exit_code": done.returncode,
        "load_average_before": load_before,
        "load_average_after": load_after,
        **summary,
    }


def summarize_jobs(
    records: list[dict[str, Any]], test_seconds: float, client: httpx.Client, grace_s: float
) -> dict[str, Any]:
    accepted = [r["id"] for r in records if r["event"] == "accepted"]
    ended = {r["id"]: r for r in records if r["event"] == "ended"}
    rejected = sum(1 for r in records if r["event"] == "rejected_429")
    finished = [r for r in ended.values() if r["status"] == "finished"]
    failed_during = [r for r in ended.values() if r["status"] != "finished"]
    # Jobs still running when locust stopped its users: follow each one to its end through the API.
    after: dict[str, int] = {}
    for job_id in (j for j in accepted if j not in ended):
        status = wait_terminal(client, job_id, grace_s)
        after[status] = after.get(status, 0) + 1
    lost = sum(count for status, count in after.items() if status not in TERMINAL)
    latencies = [r["end_to_end_s"] for r in finished]

    def median_of(key: str) -> float | None:
        values = [float(r[key]) for r in finished if r.get(key) is not None]
        return round(statistics.median(values), 4) if values else None

    return {
        "accepted": len(accepted),
        "finished": len(finished),
        "failed": len(failed_during) + after.get("failed", 0) + after.get("canceled", 0),
        "lost": lost,
        "rejected_429": rejected,
        "in_flight_at_end": sum(after.values()),
        "in_flight_outcomes": after,
        "throughput_jobs_per_s": round(len(finished) / test_seconds, 3),
        "latency_p50_s": round(percentile(latencies, 50), 3),
        "latency_p95_s": round(percentile(latencies, 95), 3),
        "latency_p99_s": round(percentile(latencies, 99), 3),
        "latency_max_s": round(max(latencies), 3) if latencies else None,
        "queued_median_s": median_of("queued_seconds"),
        "run_median_s": median_of("run_seconds"),
        "model_median_s": median_of("model_seconds"),
        "_latencies": latencies,
    }


def plot(results: list[dict[str, Any]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    labels = [f"{r['workers']} worker{'s' if r['workers'] > 1 else ''}" for r in results]
    for i, key in enumerate(("latency_p50_s", "latency_p95_s", "latency_p99_s")):
        bars = left.bar([x + i * 0.27 for x in range(len(results))], [r[key] for r in results], 0.27, label=key[8:11])
        left.bar_label(bars, fmt="%.1f", fontsize=7)
    left.set_xticks([x + 0.27 for x in range(len(results))], labels)
    left.set_ylabel("end-to-end seconds per job")
    left.set_title("latency under load (submit -> result fetched)")
    left.legend(fontsize=8)
    bars = right.bar(labels, [r["throughput_jobs_per_s"] for r in results], color="C3")
    right.bar_label(bars, fmt="%.2f", fontsize=8)
    right.set_ylabel("finished jobs per second")
    right.set_title("throughput")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--users", type=int, default=20, help="concurrent closed-loop locust users")
    parser.add_argument("--spawn-rate", type=float, default=5.0, help="users started per second")
    parser.add_argument("--duration", type=int, default=90, help="seconds of load per worker count")
    parser.add_argument("--poll", type=float, default=0.25, help="seconds between a user's GET /jobs/{id}")
    parser.add_argument("--styles", type=int, default=5, help="gallery styles the users pick from")
    parser.add_argument("--side", type=int, default=512, help="longer side of every job's photo and output")
    parser.add_argument("--torch-threads", type=int, default=None, help="per worker (default: CPUs / workers)")
    parser.add_argument("--grace", type=float, default=300, help="seconds to follow unfinished jobs after the test")
    parser.add_argument("--startup-timeout", type=float, default=600)
    parser.add_argument("--latency-runs", type=int, default=10, help="service_latency.py runs; 0 skips it")
    parser.add_argument("--out", type=Path, default=benchlib.DOCS_BENCH)
    args = parser.parse_args()

    locust = ensure_locust()
    args.out.mkdir(parents=True, exist_ok=True)
    machine = benchlib.machine()
    overhead = service_overhead(args.latency_runs, args.out) if args.latency_runs else None
    if overhead:
        print(
            f"one job: end to end {overhead['api_end_to_end_median_s']:.3f} s, model alone "
            f"{overhead['model_alone_stylize_median_s']:.3f} s: overhead "
            f"{overhead['overhead_percent_of_model_alone']:.0f}%",
            flush=True,
        )
    with tempfile.TemporaryDirectory(prefix="vst-load-contents-") as folder:
        contents = prepare_contents(Path(folder), args.side)
        results = []
        for workers in args.workers:
            result = load_test(workers, args, locust, contents, args.out)
            results.append(result)
            print(
                f"{workers} worker(s): {result['finished']} finished, {result['failed']} failed, "
                f"{result['lost']} lost, {result['rejected_429']} x 429; "
                f"{result['throughput_jobs_per_s']:.2f} jobs/s; p50/p95/p99 "
                f"{result['latency_p50_s']:.2f}/{result['latency_p95_s']:.2f}/{result['latency_p99_s']:.2f} s; "
                f"load {result['load_average_after']}",
                flush=True,
            )
    latencies = {str(r["workers"]): r.pop("_latencies") for r in results}
    report = {
        "command": "python " + " ".join([benchlib.relative(Path(sys.argv[0]))] + sys.argv[1:]),
        "machine": machine,
        "checkpoint": benchlib.checkpoint_info(),
        "locust": LOCUST_REQUIREMENT,
        "job": f"POST /stylize, {args.side} px photo, gallery style, PNG result; poll every {args.poll} s",
        "results": results,
        "service_overhead": overhead,
        "latencies_s": latencies,
    }
    benchlib.write_json(args.out / "load.json", report)
    benchlib.write_csv(
        args.out / "load.csv", [{k: v for k, v in r.items() if not isinstance(v, dict | list)} for r in results]
    )
    plot(
        results,
        args.out / "load.png",
        f"{args.users} users, {args.duration} s, {machine['cpu']} ({machine['cpus']} CPUs)",
    )
    print(f"wrote {benchlib.relative(args.out / 'load.json')}, load.csv, load.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
