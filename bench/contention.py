"""Latency on a busy machine: how OpenMP's wait policy and the thread count change ours (and not the peer).

    python bench/contention.py [--burners 2] [--rounds 3] [--calls 10]

Starts ``--burners`` CPU-bound processes (plain Python loops, at normal priority) so that every core is
busy, as when a training run or another worker shares the machine. Then, in fresh subprocesses taken in
turn, times ``--calls`` warm 512 px stylizations (style code cached) with:

- ours, torch's default threads, libgomp's default wait policy (threads spin before they sleep);
- ours, the same with ``OMP_WAIT_POLICY=PASSIVE`` (idle threads sleep at once);
- ours, one torch thread;
- the peer's stylize_with (onnxruntime's own thread pool).

Median wall-clock per configuration over all rounds. Writes docs/bench/contention.{json,png}.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import benchlib

CONFIGS: dict[str, dict[str, str]] = {
    "ours, default threads, default OpenMP wait": {"method": "ours"},
    "ours, default threads, OMP_WAIT_POLICY=PASSIVE": {"method": "ours", "OMP_WAIT_POLICY": "PASSIVE"},
    "ours, one thread": {"method": "ours", "threads": "1"},
    "peer stylize_with, default threads": {"method": "peer"},
}


def burn(stop_at: float) -> None:
    """Keep one core busy until ``stop_at`` (time.time())."""
    counter = 0
    while time.time() < stop_at:
        counter += 1


def measure(method: str, threads: int | None, calls: int, side: int) -> list[float]:
    """Runs in the subprocess: warm up, then time ``calls`` stylizations of one evaluation photo."""
    content = benchlib.at_long_side(benchlib.open_rgb(benchlib.image_paths(benchlib.EVAL_CONTENT)[5]), side)
    style = benchlib.open_rgb(benchlib.image_paths(benchlib.EVAL_STYLE)[0])
    if method == "ours":
        import torch

        from model.inference import Stylizer

        if threads:
            torch.set_num_threads(threads)
        ours = Stylizer(benchlib.load_model()[0])
        code = ours.encode_style(style)

        def call() -> object:
            return ours.stylize(content, [code], max_side=side)
    else:
        from peer import Peer

        peer = Peer(threads)

        def call() -> object:
            return peer.stylize(content, style, side)

    for _ in range(3):
        call()
    seconds = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burners", type=int, default=os.cpu_count() or 2, help="busy processes (default: CPUs)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--side", type=int, default=512)
    parser.add_argument("--out", type=Path, default=benchlib.DOCS_BENCH)
    parser.add_argument("--child", help=argparse.SUPPRESS)  # JSON config: run one measurement and print it
    args = parser.parse_args()

    if args.child:
        config = json.loads(args.child)
        threads = int(config["threads"]) if "threads" in config else None
        print(json.dumps(measure(config["method"], threads, args.calls, args.side)))
        return 0

    benchlib.ensure_peer()
    machine = benchlib.machine()
    times: dict[str, list[float]] = {name: [] for name in CONFIGS}
    # Long enough for every round; the burners stop by themselves even if this process is interrupted.
    stop_at = time.time() + 60 * args.rounds * len(CONFIGS)
    burners = [multiprocessing.Process(target=burn, args=(stop_at,), daemon=True) for _ in range(args.burners)]
    for process in burners:
        process.start()
    try:
        load_during: list[list[float]] = []
        for _ in range(args.rounds):
            for name, config in CONFIGS.items():
                env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
                env.update({k: v for k, v in config.items() if k == "OMP_WAIT_POLICY"})
                child = [sys.executable, __file__, "--child", json.dumps(config), "--calls", str(args.calls)]
                child += ["--side", str(args.side)]
                done = subprocess.run(child, env=env, check=True, capture_output=True, text=True)
                times[name] += json.loads(done.stdout.strip().splitlines()[-1])
                load_during.append(benchlib.load_average())
                print(f"  {name}: median so far {statistics.median(times[name]) * 1000:.0f} ms", flush=True)
    finally:
        for process in burners:
            process.terminate()
            process.join()

    results = {name: benchlib.summarize(values) for name, values in times.items()}
    report: dict[str, Any] = {
        "command": "python " + " ".join([benchlib.relative(Path(sys.argv[0]))] + sys.argv[1:]),
        "machine": machine,
        "checkpoint": benchlib.checkpoint_info(),
        "what": f"{args.side} px stylization, warm, while {args.burners} busy-loop processes run on the CPUs",
        "load_average_during": load_during[-1] if load_during else None,
        "results": results,
    }
    benchlib.write_json(args.out / "contention.json", report)
    plot(results, args.out / "contention.png", report["what"])
    for name, row in results.items():
        print(f"{name}: {row['median_s'] * 1000:.0f} ms")
    return 0


def plot(results: dict[str, Any], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    fig, ax = plt.subplots(figsize=(9, 3.4))
    bars = ax.barh(names, [results[n]["median_s"] * 1000 for n in names], color=["C0", "C2", "C1", "C3"])
    ax.bar_label(bars, fmt="%.0f ms", fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("median wall-clock ms per image (lower is better)")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
