"""The web page and the survey against the real service: redis-server, a worker process and the API.

The browser is the system's Chromium (``apt-get install chromium``), driven headless by pytest-playwright;
no browser is ever downloaded. The API here is started with a survey set prepared by the real
``prepare_survey_set`` from the bundled images and the tiny test model.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.conftest import SERVICE_QUEUE

if TYPE_CHECKING:
    from tests.service_stack import Stack

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not CHROMIUM.is_file():
        raise RuntimeError(f"{CHROMIUM} is missing: install it with `apt-get install -y chromium chromium-driver`")
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS, "headless": True}


@pytest.fixture(scope="session")
def web_url(api_url: str, service_stack: Stack, survey_dir: Path) -> str:
    """The API (with the survey set) on the shared test queue, whose worker ``api_url`` started."""
    _, base_url = service_stack.start_api(SERVICE_QUEUE, env={"VST_SURVEY_DIR": str(survey_dir)})
    return base_url


@pytest.fixture(scope="session")
def base_url(web_url: str) -> str:
    """pytest-playwright resolves ``page.goto("/")`` against this."""
    return web_url


@pytest.fixture
def web_client(web_url: str) -> Iterator[httpx.Client]:
    """A client of its own: its cookie jar is one survey participant."""
    with httpx.Client(base_url=web_url, timeout=60) as http:
        yield http


@pytest.fixture
def empty_survey_url(service_stack: Stack, tmp_path: Path) -> str:
    """An API whose survey folder holds no survey set."""
    folder = tmp_path / "no-survey"
    folder.mkdir()
    _, base_url = service_stack.start_api(SERVICE_QUEUE, env={"VST_SURVEY_DIR": str(folder)})
    return base_url


API_KEY = "web-test-key-0123456789"


@pytest.fixture(scope="session")
def keyed_url(api_url: str, service_stack: Stack, survey_dir: Path) -> str:
    """An API that wants a key (VST_API_KEYS) on the shared test queue."""
    env = {"VST_SURVEY_DIR": str(survey_dir), "VST_API_KEYS": API_KEY}
    _, base_url = service_stack.start_api(SERVICE_QUEUE, env=env)
    return base_url
