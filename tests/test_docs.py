"""Generated and command-line documentation stays true to the code.

docs/configuration.md is written by docs/configuration.py from the three settings classes: the committed page
must be what it writes now, with every setting on it, so that a setting added without regenerating the page
fails here. docs/evaluation.md's command sections must name only flags that `vst evaluate` and
`bench/quality.py` have.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from pydantic import Field
from pydantic_settings import BaseSettings

import app.settings as app_settings
from app.runner import RunnerSettings
from app.settings import ApiSettings
from tests.conftest import REPO_ROOT
from worker.settings import WorkerSettings

GENERATOR = REPO_ROOT / "docs" / "configuration.py"
PAGE = REPO_ROOT / "docs" / "configuration.md"
SECTIONS: dict[str, type[BaseSettings]] = {
    "## The API": ApiSettings,
    "## A worker": WorkerSettings,
    "## `vst serve`": RunnerSettings,
}


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_configuration", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


generator = _load_generator()


def _section(page: str, heading: str) -> str:
    """The text under ``heading`` up to the next second-level heading."""
    start = page.index(f"\n{heading}\n")
    end = page.find("\n## ", start + 1)
    return page[start : end if end >= 0 else len(page)]


def _table_rows(section: str) -> list[str]:
    return [line for line in section.splitlines() if line.startswith("| `")]


# --- docs/configuration.md


def test_the_committed_configuration_page_is_what_the_generator_writes(tmp_path: Path) -> None:
    page = tmp_path / "configuration.md"
    subprocess.run(
        [sys.executable, str(GENERATOR), "--page", str(page)], check=True, capture_output=True, text=True, cwd=tmp_path
    )
    assert page.read_text() == PAGE.read_text(), (
        "docs/configuration.md differs from `python docs/configuration.py`'s output: a setting changed, or the "
        "page was edited by hand (its prose is docs/templates/configuration.md); re-run the generator"
    )


@pytest.mark.parametrize("heading", list(SECTIONS))
def test_every_setting_of_each_process_has_one_row_in_its_table(heading: str) -> None:
    settings = SECTIONS[heading]
    rows = _table_rows(_section(PAGE.read_text(), heading))
    prefix = settings.model_config["env_prefix"]
    assert len(rows) == len(settings.model_fields)
    for row, (name, field) in zip(rows, settings.model_fields.items(), strict=True):
        variable = "REDIS_URL" if name == "redis_url" else f"{prefix}{name.upper()}"
        assert row.startswith(f"| `{variable}`"), f"{settings.__name__}.{name}: {row}"
        assert field.description, f"{settings.__name__}.{name} has no description"
        assert field.description in row


def test_a_new_setting_is_rendered_with_its_type_bounds_and_default_and_the_page_goes_stale() -> None:
    class ApiSettings(app_settings.ApiSettings):  # the same name, so the generator's own entries still apply
        new_knob_s: float = Field(default=7200, gt=0, le=86400, description="A knob added later.")
        new_mode: str = Field(default="fast", min_length=1, description="Another.")

    page = generator.render([generator.Process("api", ApiSettings), *generator.PROCESSES[1:]])
    api = _section(page, "## The API")
    assert "| `VST_NEW_KNOB_S` | number, > 0, ≤ 86400 | `7200` (2 h) | A knob added later. |" in api
    assert "| `VST_NEW_MODE` | text, non-empty | `fast` | Another. |" in api
    assert "VST_NEW_KNOB_S" not in _section(page, "## A worker")
    assert page != PAGE.read_text()


def test_types_bounds_aliases_and_defaults_are_read_from_the_fields() -> None:
    page = PAGE.read_text()
    api, worker, runner = (_section(page, heading) for heading in SECTIONS)
    assert "| `VST_DEVICE` | `auto`, `cpu` or `cuda` | `auto` |" in worker
    assert "| `VST_HEARTBEAT_INTERVAL_S` | number, > 0, ≤ 60 | `5` |" in worker
    assert "| `VST_JOB_RETRIES` | integer, ≥ 0, ≤ 10 | `1` |" in api
    assert "| `VST_MAX_UPLOAD_BYTES` | integer, ≥ 1024 | `16777216` (16 MiB) |" in api
    url = "text, a `redis://`, `rediss://` or `unix://` URL"  # the scheme check, read from the type
    assert f"| `REDIS_URL` (or `VST_REDIS_URL`) | {url} | `redis://127.0.0.1:6379/0` |" in api
    assert f"| `REDIS_URL` | {url} | unset: `vst serve` starts a local Redis |" in runner  # its only alias
    assert "| `VST_API_KEYS` | text (secret) | empty |" in api


def test_defaults_inside_the_repository_are_relative_to_it_and_none_says_what_it_means() -> None:
    from model.checkpoint import DEFAULT_CHECKPOINT

    page = PAGE.read_text()
    assert str(REPO_ROOT) not in page
    shipped = DEFAULT_CHECKPOINT.relative_to(REPO_ROOT).as_posix()
    assert f"| `VST_CHECKPOINT` | path | unset: the shipped `{shipped}` |" in page
    gallery = ", ".join(
        f"`{p.relative_to(REPO_ROOT).as_posix()}`" for p in ApiSettings.model_fields["gallery_dirs"].default
    )
    assert gallery == "`data/train/style`, `data/eval/style`"
    assert f"| {gallery} |" in page
    assert "| `VST_RUN_DIR` | path | `.run` |" in page
    assert "None" not in page


def test_the_generator_refuses_a_setting_it_cannot_document() -> None:
    class NoDescription(BaseSettings):
        plain: int = 3

    class UnexplainedNone(BaseSettings):
        maybe: int | None = Field(default=None, description="Something optional.")

    class UnknownType(BaseSettings):
        mapping: dict[str, int] = Field(default_factory=dict, description="A mapping.")

    with pytest.raises(ValueError, match="no description"):
        generator.rows(NoDescription)
    with pytest.raises(ValueError, match="UNSET_MEANS"):
        generator.rows(UnexplainedNone)
    with pytest.raises(TypeError, match="not documented"):
        generator.rows(UnknownType)


def test_the_generator_s_own_entries_cover_only_fields_that_need_them() -> None:
    classes = {cls.__name__: cls for cls in SECTIONS.values()}
    for (owner, name), _ in generator.UNSET_MEANS.items():
        assert classes[owner].model_fields[name].default is None, f"{owner}.{name} no longer defaults to None"


def test_the_generator_reads_the_settings_without_importing_torch() -> None:
    probe = f"import runpy, sys; runpy.run_path({str(GENERATOR)!r}, run_name='probe'); print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True)
    assert result.stdout.strip() == "False"


# --- docs/evaluation.md

EVALUATION = REPO_ROOT / "docs" / "evaluation.md"
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def _help(command: list[str]) -> set[str]:
    result = subprocess.run([*command, "--help"], check=True, capture_output=True, text=True, cwd=REPO_ROOT)
    return set(FLAG.findall(result.stdout))


@pytest.mark.parametrize(
    ("heading", "command"),
    [
        ("## `vst evaluate`", [str(Path(sys.executable).parent / "vst"), "evaluate"]),
        ("## `bench/quality.py`", [sys.executable, "bench/quality.py"]),
    ],
)
def test_every_flag_in_a_command_s_section_is_one_the_command_has(heading: str, command: list[str]) -> None:
    named = set(FLAG.findall(_section(EVALUATION.read_text(), heading)))
    assert len(named) >= 4, f"{heading}: expected the section to show the command's flags"
    unknown = named - _help(command)
    assert not unknown, f"docs/evaluation.md, {heading}: flags the command does not have: {sorted(unknown)}"
