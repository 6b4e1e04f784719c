"""Print the project's requirements from pyproject.toml, one per line, for `pip install -r`.

The images install the dependencies before they copy the code, so that a code change does not
re-install torch. pyproject.toml stays the one place where versions are pinned.

    python3 requirements.py [EXTRA ...] [--only NAME ...] [--exclude NAME ...]

EXTRA names optional-dependency groups (e.g. model, train); the base dependencies always come first.
An extra that names the project itself (``variational-style-transfer[model]``) is expanded.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path
from typing import Any

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[([^\]]*)\])?")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _name(spec: str) -> re.Match[str]:
    match = _NAME.match(spec)
    if match is None:
        raise SystemExit(f"requirements.py: cannot parse requirement {spec!r}")
    return match


def requirements(project: dict[str, Any], extras: list[str]) -> list[str]:
    """Base dependencies plus those of `extras`, self-references expanded, duplicates dropped, order kept."""
    own_name = _canonical(project["name"])
    optional: dict[str, list[str]] = project.get("optional-dependencies", {})
    out: list[str] = []
    seen_extras: set[str] = set()

    def add(specs: list[str]) -> None:
        for spec in specs:
            match = _name(spec)
            if _canonical(match.group(1)) == own_name:
                add_extras([e.strip() for e in (match.group(3) or "").split(",") if e.strip()])
            elif spec not in out:
                out.append(spec)

    def add_extras(names: list[str]) -> None:
        for name in names:
            if name in seen_extras:
                continue
            if name not in optional:
                raise SystemExit(f"requirements.py: pyproject.toml has no extra {name!r}")
            seen_extras.add(name)
            add(optional[name])

    add(project.get("dependencies", []))
    add_extras(extras)
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("extras", nargs="*")
    parser.add_argument("--pyproject", type=Path, default=Path("pyproject.toml"))
    parser.add_argument("--only", action="append", default=[], help="keep only these distributions")
    parser.add_argument("--exclude", action="append", default=[], help="drop these distributions")
    args = parser.parse_args(argv)
    with args.pyproject.open("rb") as file:
        project = tomllib.load(file)["project"]
    only = {_canonical(n) for n in args.only}
    exclude = {_canonical(n) for n in args.exclude}
    for spec in requirements(project, args.extras):
        name = _canonical(_name(spec).group(1))
        if (only and name not in only) or name in exclude:
            continue
        print(spec)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
