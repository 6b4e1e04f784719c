"""``vst train`` under torchrun on the CPU (gloo): DistributedDataParallel for real, not mocked.

The runs use the bundled data, a tiny random loss network and a tiny model, for a few steps.
``--record-samples`` makes every rank write the images it trained on and its final parameter hash.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import socket
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from model.checkpoint import load_checkpoint, tensors_digest
from model.inference import Stylizer
from tests.conftest import DATA
from training.train import load_train_state

# Each test starts torch processes (10-30 s on 2 cores); they still run by default and in CI.
pytestmark = pytest.mark.slow

VST = Path(sys.executable).with_name("vst")
TIMEOUT_S = 420  # a deadlocked rank fails the test instead of hanging it
TINY_TRAINING = [
    "--loss-network", "tiny", "--allow-random-loss-network",
    "--widths", "4,8,8", "--residual-blocks", "1", "--latent-dim", "8",
    "--batch", "4", "--short-side", "64", "--content-sizes", "32,64", "--style-sizes", "32,64",
    "--device", "cpu", "--log-every", "1",
]  # fmt: skip
STEPS = 3
ACCUMULATE = 2


def environment() -> dict[str, str]:
    # One thread per process: the test machine's cores are shared by both ranks.
    return os.environ | {"OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def run(command: list[str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, env=environment(), check=False)
    assert done.returncode == 0, f"{command[:8]} failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    return done


def copy_with_corrupt_file(source: Path, target: Path, corrupt_name: str) -> Path:
    """A copy of a bundled folder plus one file that is not an image."""
    shutil.copytree(source, target)
    (target / corrupt_name).write_bytes(b"not a jpeg at all")
    return target


def read_samples(folder: Path, rank: int) -> list[dict[str, str]]:
    fields = ["step", "stream", "epoch", "index", "size", "path"]
    lines = (folder / f"rank{rank}.tsv").read_text().splitlines()
    return [dict(zip(fields, line.split("\t"), strict=True)) for line in lines]


def metric_steps(run_dir: Path) -> list[int]:
    with open(run_dir / "metrics.csv") as handle:
        return [int(row["step"]) for row in csv.DictReader(handle)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two processes on one node (torchrun --standalone), 3 steps of 2 micro-steps, one corrupt photo."""
    assert VST.is_file(), f"the vst console script is not installed next to {sys.executable}"
    base = tmp_path_factory.mktemp("ddp")
    content = copy_with_corrupt_file(DATA / "train" / "content", base / "content", "zz_corrupt.jpg")
    out, record = base / "run", base / "record"
    run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node=2",
            "--no-python",
            str(VST),
            "train",
            *TINY_TRAINING,
            "--content",
            str(content),
            "--style",
            str(DATA / "train" / "style"),
            "--out",
            str(out),
            "--steps",
            str(STEPS),
            "--accumulate",
            str(ACCUMULATE),
            "--num-workers",
            "1",
            "--sample-every",
            "2",
            "--save-every",
            "2",
            "--record-samples",
            str(record),
        ]  # fmt: skip
    )
    return {"out": out, "record": record, "content": content}


def test_ranks_train_on_disjoint_data_every_epoch(ddp_run: dict[str, Path]) -> None:
    samples = {rank: read_samples(ddp_run["record"], rank) for rank in (0, 1)}
    assert all(samples.values())
    shares: dict[tuple[str, str], dict[int, list[str]]] = defaultdict(lambda: {0: [], 1: []})
    for rank, rows in samples.items():
        for row in rows:
            shares[(row["stream"], row["epoch"])][rank].append(row["path"])
    for (stream, epoch), by_rank in shares.items():
        assert not set(by_rank[0]) & set(by_rank[1]), f"ranks shared {stream} images in epoch {epoch}"
        for paths in by_rank.values():
            assert len(paths) == len(set(paths)), f"an image repeated within {stream} epoch {epoch}"
    # 37 readable photos: 18 per rank, 4 batches of 4 per epoch; 6 micro-steps reach a second epoch.
    content_epochs = sorted({epoch for stream, epoch in shares if stream == "content"})
    assert content_epochs == ["0", "1"]
    first_epoch = shares[("content", "0")][0]
    second_epoch = shares[("content", "1")][0]
    assert first_epoch != second_epoch[: len(first_epoch)]  # set_epoch reshuffled
    every_path = {row["path"] for rows in samples.values() for row in rows}
    assert not any(path.endswith("zz_corrupt.jpg") for path in every_path)
    # Both ranks trained the same steps with the same crop size in each micro-step.
    sizes = [{(r["step"], r["stream"], r["size"]) for r in rows} for rows in samples.values()]
    assert sizes[0] == sizes[1]


def test_parameters_stay_identical_across_ranks(ddp_run: dict[str, Path]) -> None:
    records = [json.loads((ddp_run["record"] / f"rank{rank}-params.json").read_text()) for rank in (0, 1)]
    assert [r["world_size"] for r in records] == [2, 2]
    assert [r["step"] for r in records] == [STEPS, STEPS]
    assert records[0]["params_sha256"] == records[1]["params_sha256"]
    # ... and they are the weights that rank 0 saved.
    model_state, _, step, _ = load_train_state(ddp_run["out"] / "train_state.safetensors")
    assert step == STEPS
    assert tensors_digest(model_state) == records[0]["params_sha256"]


def test_only_rank_zero_writes_one_checkpoint(ddp_run: dict[str, Path]) -> None:
    out = ddp_run["out"]
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert written == [
        "metrics.csv",
        "model.safetensors",
        "samples/step_000002.png",
        "samples/tone.csv",
        "train_state.safetensors",
    ]
    assert metric_steps(out) == list(range(STEPS))  # a second writer would have duplicated rows


def test_the_ddp_checkpoint_loads_and_stylizes(ddp_run: dict[str, Path]) -> None:
    model, provenance = load_checkpoint(ddp_run["out"] / "model.safetensors")
    assert provenance["steps"] == STEPS
    assert provenance["world_size"] == 2
    assert provenance["effective_batch"] == 4 * ACCUMULATE * 2
    assert provenance["data"]["content"]["images"] == 37 and provenance["data"]["content"]["skipped"] == 1
    stylizer = Stylizer(model, device="cpu")
    with Image.open(DATA / "eval" / "style" / sorted(os.listdir(DATA / "eval" / "style"))[0]) as style:
        code = stylizer.encode_style(style.convert("RGB"))
    with Image.open(DATA / "eval" / "content" / sorted(os.listdir(DATA / "eval" / "content"))[0]) as content:
        (image,) = stylizer.stylize(content.convert("RGB"), [code], max_side=96)
    assert image.mode == "RGB" and max(image.size) == 96
    pixels = torch.from_numpy(np.asarray(image, dtype=np.float32))  # (H, W, 3)
    assert float(pixels.std()) > 1.0  # an image, not a flat fill


def test_resume_on_one_process_continues_from_the_saved_step(ddp_run: dict[str, Path], tmp_path: Path) -> None:
    out, record = tmp_path / "run", tmp_path / "record"
    shutil.copytree(ddp_run["out"], out)
    _, _, _, saved_meta = load_train_state(out / "train_state.safetensors")
    total = STEPS + 2
    run(
        [
            str(VST),
            "train",
            *TINY_TRAINING,
            "--resume",
            "--content",
            str(ddp_run["content"]),
            "--style",
            str(DATA / "train" / "style"),
            "--out",
            str(out),
            "--steps",
            str(total),
            "--accumulate",
            str(ACCUMULATE),
            "--num-workers",
            "0",
            "--sample-every",
            "0",
            "--save-every",
            "100",
            "--record-samples",
            str(record),
        ]  # fmt: skip
    )
    _, optim_state, step, meta = load_train_state(out / "train_state.safetensors")
    assert step == total
    # Adam's own step counter went on from the restored moments: a fresh optimizer would be at 2.
    assert float(optim_state["0.step"]) == total
    assert meta["segments"] == [
        {"start_step": 0, "world_size": 2, "effective_batch": 4 * ACCUMULATE * 2},
        {"start_step": STEPS, "world_size": 1, "effective_batch": 4 * ACCUMULATE},
    ]
    assert metric_steps(out) == list(range(total))
    rows = read_samples(record, 0)
    assert sorted({int(r["step"]) for r in rows}) == [STEPS, STEPS + 1]
    first_content_epoch = min(int(r["epoch"]) for r in rows if r["stream"] == "content")
    assert first_content_epoch == saved_meta["data_epochs"]["content"] + 1  # a fresh shuffle, not a replay
    _, provenance = load_checkpoint(out / "model.safetensors")
    assert provenance["steps"] == total and provenance["world_size"] == 1


def test_resume_back_on_two_processes_from_the_one_process_state(ddp_run: dict[str, Path], tmp_path: Path) -> None:
    """2 -> 1 -> 2 processes. Rank 0 alone reads the state and broadcasts it; the ranks end equal."""
    out, record = tmp_path / "run", tmp_path / "record"
    shutil.copytree(ddp_run["out"], out)
    common = [
        *TINY_TRAINING, "--resume", "--content", str(ddp_run["content"]), "--style", str(DATA / "train" / "style"),
        "--out", str(out), "--accumulate", str(ACCUMULATE), "--sample-every", "0", "--num-workers", "0",
    ]  # fmt: skip
    run([str(VST), "train", *common, "--steps", str(STEPS + 1)])
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "--no-python"]
    run([*torchrun, str(VST), "train", *common, "--steps", str(STEPS + 2), "--record-samples", str(record)])
    _, optim_state, step, meta = load_train_state(out / "train_state.safetensors")
    assert step == STEPS + 2 and float(optim_state["0.step"]) == STEPS + 2
    assert [(s["start_step"], s["world_size"]) for s in meta["segments"]] == [(0, 2), (STEPS, 1), (STEPS + 1, 2)]
    records = [json.loads((record / f"rank{rank}-params.json").read_text()) for rank in (0, 1)]
    assert records[0]["params_sha256"] == records[1]["params_sha256"]
    assert {int(row["step"]) for rank in (0, 1) for row in read_samples(record, rank)} == {STEPS + 1}


def test_two_nodes_with_c10d_rendezvous_stream_past_a_corrupt_file(tmp_path: Path) -> None:
    """Two torchrun agents, one process each, meeting through c10d as two machines would.

    Streaming mode decodes in DataLoader workers; the corrupt painting is met by whichever rank draws it,
    replaced there, and no rank falls out of step with the other's all-reduce.
    """
    style = tmp_path / "style"
    style.mkdir()
    for painting in sorted((DATA / "train" / "style").iterdir())[:4]:
        shutil.copy(painting, style / painting.name)
    (style / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    out, record = tmp_path / "run", tmp_path / "record"
    endpoint = f"127.0.0.1:{free_port()}"
    agents = []
    for node in (0, 1):
        command = [
            sys.executable, "-m", "torch.distributed.run", "--nnodes=2", "--nproc_per_node=1",
            "--rdzv_backend=c10d", f"--rdzv_endpoint={endpoint}", "--rdzv_id=vst-test",
            f"--rdzv_conf=is_host={1 if node == 0 else 0}",
            "--no-python", str(VST), "train", *TINY_TRAINING,
            "--content", str(DATA / "train" / "content"), "--style", str(style), "--out", str(out),
            "--steps", "2", "--accumulate", "2", "--data-mode", "stream", "--num-workers", "1",
            "--sample-every", "0", "--record-samples", str(record),
        ]  # fmt: skip
        agents.append(
            subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment())
        )
    outputs = []
    try:
        for agent in agents:
            outputs.append(agent.communicate(timeout=TIMEOUT_S))
    finally:
        for agent in agents:
            agent.kill()
    assert [agent.returncode for agent in agents] == [0, 0], "\n".join(err[-4000:] for _, err in outputs)
    records = [json.loads((record / f"rank{rank}-params.json").read_text()) for rank in (0, 1)]
    assert records[0]["params_sha256"] == records[1]["params_sha256"]
    assert [r["world_size"] for r in records] == [2, 2]
    # 5 style files, 2 per rank per epoch, one batch of 2 each: the corrupt one is drawn within 4 epochs.
    paths = [row["path"] for rank in (0, 1) for row in read_samples(record, rank)]
    assert not any(path.endswith("corrupt.jpg") for path in paths)
    logs = "".join(err for _, err in outputs)
    assert "unreadable images were replaced" in logs and "corrupt.jpg" in logs
    assert load_checkpoint(out / "model.safetensors")[1]["world_size"] == 2


def _helpers_worker(rank: int, port: int, folder: str) -> None:
    """One of two gloo processes: gradient accumulation under DDP and the broadcast helpers."""
    from training import distributed as dist_utils

    os.environ.update(
        {"WORLD_SIZE": "2", "RANK": str(rank), "LOCAL_RANK": str(rank), "MASTER_ADDR": "127.0.0.1"}
        | {"MASTER_PORT": str(port), "LOCAL_WORLD_SIZE": "2"}
    )
    ctx = dist_utils.init(torch.device("cpu"))
    torch.manual_seed(rank)  # different initial weights: DDP must broadcast rank 0's
    model = dist_utils.wrap(torch.nn.Linear(3, 1), ctx)
    inputs = torch.arange(24, dtype=torch.float32).reshape(2, 2, 2, 3)[rank] / 10  # (micro, batch, 3)
    grads = []
    for micro in range(2):
        with dist_utils.gradient_sync(model, sync=micro == 1):
            (model(inputs[micro]).pow(2).mean() / 2).backward()
        grads.append([p.grad.tolist() for p in model.parameters() if p.grad is not None])
    state = {"weight": torch.full((2, 2), float(rank + 5)), "step": torch.tensor(7.0 + rank)}
    result = {
        "grads": grads,
        "weights": [p.detach().tolist() for p in model.parameters()],
        "json": dist_utils.broadcast_json({"rank": rank, "text": "é"}, ctx),
        "tensors": {k: v.tolist() for k, v in dist_utils.broadcast_tensors(state if rank == 0 else None, ctx).items()},
        "agree": dist_utils.all_agree([True, rank == 0, True], ctx),
        "mean": dist_utils.mean_across_ranks({"loss": float(rank)}, ctx),
        "floats": dist_utils.broadcast_floats([rank + 0.5], ctx),
        "stop": dist_utils.should_stop(rank == 1, ctx),
    }
    Path(folder, f"rank{rank}.json").write_text(json.dumps(result))
    dist_utils.finish(ctx)
    # Skip the interpreter's teardown: once in a full CI run a rank aborted there ("terminate called
    # without an active exception", gloo's threads at exit) after its results were written and the group
    # was left. What this test checks is in the files; the exit code of the teardown is not.
    os._exit(0)


def test_accumulation_syncs_once_and_helpers_agree_across_ranks(tmp_path: Path) -> None:
    import torch.multiprocessing as mp

    mp.spawn(_helpers_worker, args=(free_port(), str(tmp_path)), nprocs=2, join=True)
    results = [json.loads((tmp_path / f"rank{rank}.json").read_text()) for rank in (0, 1)]
    assert results[0]["weights"] == results[1]["weights"]  # rank 0's initial weights everywhere
    # The reference: one model, the mean loss over all 4 micro-batches of both ranks, one backward.
    torch.manual_seed(0)
    reference = torch.nn.Linear(3, 1)
    inputs = torch.arange(24, dtype=torch.float32).reshape(2, 2, 2, 3) / 10  # (rank, micro, batch, 3)
    sum(reference(inputs[r, m]).pow(2).mean() / 2 for r in (0, 1) for m in (0, 1)).backward()
    expected = [p.grad / 2 for p in reference.parameters() if p.grad is not None]  # DDP averages over ranks
    for result in results:
        final = [torch.tensor(g) for g in result["grads"][1]]
        assert all(torch.allclose(f, e, atol=1e-6) for f, e in zip(final, expected, strict=True))
    # After the first micro-step nothing was communicated: each rank holds its own gradient.
    first = [[torch.tensor(g) for g in result["grads"][0]] for result in results]
    assert not torch.allclose(first[0][0], first[1][0])
    for result in results:
        assert result["json"] == {"rank": 0, "text": "é"}
        assert result["tensors"] == {"weight": [[5.0, 5.0], [5.0, 5.0]], "step": 7.0}
        assert result["agree"] == [True, False, True]
        assert result["mean"] == {"loss": 0.5}
        assert result["floats"] == [0.5]
        assert result["stop"] is True
