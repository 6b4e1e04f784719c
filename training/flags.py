"""Command-line flags generated from options dataclasses with simple-parsing: each option is written once, as a
dataclass field whose metadata holds its help and, where that differs from ``--field-name``, its flag.

simple-parsing's defaults are adapted to the flags the recipes and docs use: exactly one flag per field (no
``--field_name`` variant, no prefix when two groups share a field name), one value per flag whatever the type
(``--content-sizes 128,176``, not two words) and booleans as plain switches (``--resume``).
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import simple_parsing
from simple_parsing.help_formatter import SimpleHelpFormatter
from simple_parsing.wrappers import DataclassWrapper, FieldWrapper


def option(
    default: Any = dataclasses.MISSING,
    *,
    help: str,
    flag: str | None = None,
    factory: Callable[[], Any] | None = None,
    **argparse_options: Any,
) -> Any:
    """A dataclass field that is also a flag. ``help`` is its help text (argparse.SUPPRESS hides the flag), ``flag``
    its spelling where that is not ``--field-name``, ``factory`` makes a list default, and ``argparse_options`` is
    anything else ``add_argument`` takes (type, choices, metavar). No default: the flag is required."""
    metadata: dict[str, Any] = {"help": help}
    if flag is not None:
        metadata["flag"] = flag
    if factory is not None:
        return simple_parsing.field(default_factory=factory, metadata=metadata, **argparse_options)
    return simple_parsing.field(default=default, metadata=metadata, **argparse_options)


def flag_of(field: dataclasses.Field[Any]) -> str:
    """The command-line flag of an option field."""
    return str(field.metadata.get("flag") or "--" + field.name.replace("_", "-"))


class _Flag(FieldWrapper):
    """One field's argument: its one flag, one value (or none, for a switch), its help from the metadata."""

    @property
    def option_strings(self) -> list[str]:
        return [flag_of(self.field)]

    @property
    def arg_options(self) -> dict[str, Any]:
        options = dict(super().arg_options)
        options["help"] = self.field.metadata["help"]
        if self.type is bool:
            switch = {key: options[key] for key in ("dest", "default", "help") if key in options}
            return switch | {"action": "store_true"}
        # simple-parsing asks for two words for a pair and makes ``int | None`` flags' values optional.
        options.pop("nargs", None)
        choices = options.get("choices")
        if choices and "type" not in self.custom_arg_options:
            options["type"] = type(next(iter(choices)))  # simple-parsing reads every choice as a string
        metavar = options.get("metavar")
        if isinstance(metavar, str):
            options["metavar"] = metavar.strip("[]")
        return options


class _Group(DataclassWrapper[Any]):
    """One dataclass's flags, under the first paragraph of its docstring."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["field_wrapper_class"] = _Flag
        super().__init__(*args, **kwargs)

    @property
    def title(self) -> str:
        doc = inspect.getdoc(self.dataclass) or self.dataclass.__name__
        return " ".join(doc.split("\n\n")[0].split()).rstrip(".")

    @property
    def description(self) -> str | None:  # type: ignore[override]
        return None


class HelpFormatter(SimpleHelpFormatter):
    """simple-parsing's help, with each default as the flag takes it (``128,176`` for a pair), and none shown for
    switches or where the default is None: those helps say what leaving the flag out does."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        help = action.help
        if help is None or help == argparse.SUPPRESS or "%(default)" in help:
            return help
        default = action.default
        if default is None or default is argparse.SUPPRESS or isinstance(default, bool):
            return help
        if isinstance(default, tuple | list):
            default = ",".join(f"{value:g}" if isinstance(value, float) else str(value) for value in default)
        return f"{help} (default: {str(default).replace('%', '%%')})"


def add_groups(parser: simple_parsing.ArgumentParser, groups: Mapping[str, type[Any]]) -> None:
    """Flags for each dataclass in ``groups``, parsed into an instance at ``args.<name>``. A field that holds
    another group's dataclass is left to that group (``field(metadata={"cmd": False})``)."""
    for dest, dataclass in groups.items():
        parser.add_arguments(dataclass, dest=dest, dataclass_wrapper_class=_Group)


def parser_for(groups: Mapping[str, type[Any]], prog: str | None = None) -> simple_parsing.ArgumentParser:
    """A parser of ``groups`` alone, with the help that ``vst`` gives them."""
    parser = simple_parsing.ArgumentParser(prog=prog, formatter_class=HelpFormatter)
    add_groups(parser, groups)
    return parser


def parse(groups: Mapping[str, type[Any]], argv: Sequence[str]) -> argparse.Namespace:
    return parser_for(groups).parse_args(list(argv))
