"""The ``vst`` command: stylize, interpolate, train, evaluate, average and serve.

Heavy imports (torch) happen inside each subcommand so that ``vst --help`` and ``vst serve`` stay fast.
Bad arguments exit with code 2 and a one-line message; unreadable images give a clear message.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence


class CliError(Exception):
    """A user-facing error: printed as one line, exit code 2."""


def _parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The top-level parser and each subcommand's own, by name."""
    from cli import commands

    parser = argparse.ArgumentParser(prog="vst", description="Variational style transfer.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_stylize(sub)
    commands.add_interpolate(sub)
    commands.add_train(sub)
    commands.add_train_baseline(sub)
    commands.add_evaluate(sub)
    commands.add_average(sub)
    commands.add_datasets(sub)
    commands.add_survey_prepare(sub)
    commands.add_serve(sub)
    return parser, dict(sub.choices)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    parser, subcommands = _parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown and not getattr(args, "any_arguments", False):
        # parse_args would report these with the top-level usage, which does not show the subcommand's flags.
        subcommands[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        return int(args.handler(args) or 0)
    except CliError as exc:
        print(f"vst {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    # Run as `python -m cli.main` this module is __main__, and the CliError that cli.commands raises is
    # cli.main's, a different class: the package's own main catches it (here it escaped as a traceback).
    from cli.main import main as package_main

    sys.exit(package_main())
