"""Write docs/configuration.md from the settings classes: ``python docs/configuration.py``.

Each process reads its configuration with one pydantic-settings class: the API (``app.settings.ApiSettings``),
a worker (``worker.settings.WorkerSettings``) and ``vst serve``'s supervisor (``app.runner.RunnerSettings``).
This script turns their fields (environment variable, type and bounds, default, description) into the page's
tables; the page's prose is the template docs/templates/configuration.md. None of the three classes imports
torch, so this runs in a second. tests/test_docs.py checks that the committed page is what this writes.
"""

from __future__ import annotations

import argparse
import sys
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import annotated_types
from pydantic import AfterValidator, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.runner import RunnerSettings  # noqa: E402
from app.settings import REDIS_SCHEMES, ApiSettings, check_redis_url, environment_names  # noqa: E402
from formats.pages import markdown_environment  # noqa: E402
from worker.settings import WorkerSettings  # noqa: E402

TEMPLATES = REPO / "docs" / "templates"
TEMPLATE = "configuration.md"
PAGE = REPO / "docs" / "configuration.md"
MIB = 1024 * 1024

# What a setting whose default is None does when it is left unset. Every such field needs an entry (the
# generator refuses to guess); the tests check that no entry is left over for a field that lost its None.
UNSET_MEANS: dict[tuple[str, str], str] = {
    ("WorkerSettings", "checkpoint"): "unset: the shipped `checkpoints/vst-default.safetensors`",
    ("WorkerSettings", "worker_name"): "unset: `<host>.<pid>`",
    ("WorkerSettings", "torch_threads"): "unset: torch's default (one per core)",
    ("RunnerSettings", "redis_url"): "unset: `vst serve` starts a local Redis",
}


@dataclass(frozen=True)
class Process:
    """One process and the settings class it reads."""

    key: str  # the template's name for it
    settings: type[BaseSettings]


PROCESSES = (
    Process("api", ApiSettings),
    Process("worker", WorkerSettings),
    Process("runner", RunnerSettings),
)


@dataclass(frozen=True)
class Row:
    """One setting as the page prints it (Markdown cells)."""

    field: str
    variable: str
    kind: str
    default: str
    description: str


def _without_none(annotation: Any) -> tuple[Any, bool]:
    """``X | None`` -> (X, True); anything else -> (itself, False)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(members) == 1:
            return members[0], len(members) < len(typing.get_args(annotation))
    return annotation, False


def _number(value: float) -> str:
    return f"{value:g}"


def _bounds(metadata: Sequence[Any]) -> list[str]:
    """The constraints pydantic checks, as the page prints them: "≥ 1", "> 0", "≤ 60", "non-empty"."""
    lower = upper = None
    words = []
    for item in metadata:
        if isinstance(item, annotated_types.Ge):
            lower = f"≥ {_number(float(item.ge))}"  # type: ignore[arg-type]
        elif isinstance(item, annotated_types.Gt):
            lower = f"> {_number(float(item.gt))}"  # type: ignore[arg-type]
        elif isinstance(item, annotated_types.Le):
            upper = f"≤ {_number(float(item.le))}"  # type: ignore[arg-type]
        elif isinstance(item, annotated_types.Lt):
            upper = f"< {_number(float(item.lt))}"  # type: ignore[arg-type]
        elif isinstance(item, annotated_types.MinLen) and item.min_length == 1:
            words.append("non-empty")
        elif isinstance(item, AfterValidator) and item.func is check_redis_url:
            schemes = [f"`{scheme}`" for scheme in REDIS_SCHEMES]
            words.append(f"a {', '.join(schemes[:-1])} or {schemes[-1]} URL")
        else:
            raise TypeError(f"the constraint {item!r} is not documented yet: teach docs/configuration.py")
    return [bound for bound in (lower, upper) if bound] + words


def describe_type(settings: type[BaseSettings], name: str, field: FieldInfo) -> str:
    """The value's type and allowed values: "integer ≥ 1", "`auto`, `cpu` or `cuda`", "path"."""
    annotation, _ = _without_none(field.annotation)
    constraints = list(field.metadata)
    if typing.get_origin(annotation) is typing.Annotated:  # an annotated type inside `X | None`
        annotation, *inner = typing.get_args(annotation)
        constraints += inner
    if typing.get_origin(annotation) is typing.Literal:
        choices = [f"`{choice}`" for choice in typing.get_args(annotation)]
        return ", ".join(choices[:-1]) + f" or {choices[-1]}" if len(choices) > 1 else choices[0]
    simple = {bool: "`true` or `false`", int: "integer", float: "number", str: "text", Path: "path"}
    if annotation in simple:
        kind = simple[annotation]
    elif annotation is SecretStr:
        kind = "text (secret)"
    elif typing.get_origin(annotation) is tuple and typing.get_args(annotation) == (Path, Ellipsis):
        kind = 'JSON list of paths, e.g. `["/srv/paintings"]`'
    else:
        raise TypeError(f"{settings.__name__}.{name}: type {annotation!r} is not documented yet")
    bounds = _bounds(constraints)
    return f"{kind}, {', '.join(bounds)}" if bounds else kind


def _path(value: Path) -> str:
    """A path inside the repository relative to it (the page must not name this machine's folders)."""
    return value.relative_to(REPO).as_posix() if value.is_relative_to(REPO) else value.as_posix()


def _plain(name: str, value: Any) -> str:
    """One default value as set in the environment, with its size or duration where that helps."""
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, Path):
        return f"`{_path(value)}`"
    if isinstance(value, int) and name.endswith("_bytes") and value % MIB == 0:
        return f"`{value}` ({value // MIB} MiB)"
    if isinstance(value, int | float) and name.endswith("_s"):
        for unit, seconds, least in (("days", 86400, 86400), ("h", 3600, 3600), ("min", 60, 120)):
            if value >= least and value % seconds == 0:
                return f"`{_number(value)}` ({_number(value / seconds)} {unit})"
    if isinstance(value, int) and value >= 100_000:
        return f"`{value}` ({value:,})".replace(",", " ")
    if isinstance(value, float):
        return f"`{_number(value)}`"
    return f"`{value}`"


def describe_default(settings: type[BaseSettings], name: str, field: FieldInfo) -> str:
    key = (settings.__name__, name)
    value = field.get_default(call_default_factory=True)
    if value is None:
        if key not in UNSET_MEANS:
            raise ValueError(f"{settings.__name__}.{name} defaults to None: add what that means to UNSET_MEANS")
        return UNSET_MEANS[key]
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
        if value:
            raise ValueError(f"{settings.__name__}.{name}: a secret's default must be empty, not printed")
    if value == "":
        return "empty"
    if isinstance(value, tuple):
        return ", ".join(_plain(name, item) for item in value)
    return _plain(name, value)


def describe(settings: type[BaseSettings], name: str, field: FieldInfo) -> str:
    text = field.description
    if not text:
        raise ValueError(f"{settings.__name__}.{name} has no description: give its Field one")
    return text


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def rows(settings: type[BaseSettings]) -> list[Row]:
    """Every field of ``settings``, in the class's order."""
    table = []
    for name, field in settings.model_fields.items():
        first, *others = environment_names(settings, name)
        variable = f"`{first}`" + (f" (or {', '.join(f'`{o}`' for o in others)})" if others else "")
        table.append(
            Row(
                field=name,
                variable=variable,
                kind=_cell(describe_type(settings, name, field)),
                default=_cell(describe_default(settings, name, field)),
                description=_cell(describe(settings, name, field)),
            )
        )
    return table


def render(processes: Sequence[Process] = PROCESSES) -> str:
    """The page, from the template and the classes of ``processes``."""
    env = markdown_environment(TEMPLATES)
    tables = {process.key: rows(process.settings) for process in processes}
    return env.get_template(TEMPLATE).render(tables=tables)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--page", type=Path, default=PAGE, help="where to write it (default: docs/configuration.md)")
    args = parser.parse_args()
    args.page.write_text(render())
    print(f"wrote {_path(args.page.resolve())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
