"""Every file the Dockerfile takes from the build context is let through by .dockerignore's allow-list.

The images are built on another machine than the tests run on; this catches a new `COPY` whose source the
allow-list still leaves out before a build fails on it.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "docker" / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"


def allowed_paths(text: str) -> list[PurePosixPath]:
    """The allow-list's entries (``!path`` lines after the leading ``*``)."""
    lines = [line.strip() for line in text.splitlines()]
    assert "*" in lines, ".dockerignore is expected to be an allow-list that starts by ignoring everything"
    return [PurePosixPath(line[1:].rstrip("/")) for line in lines if line.startswith("!")]


def context_sources(text: str) -> list[PurePosixPath]:
    """What the Dockerfile reads from the build context: COPY sources and bind mounts without ``from=``."""
    joined = re.sub(r"\\\n", " ", text)
    sources = []
    for line in joined.splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(word.startswith("--from=") for word in words):
            sources += [PurePosixPath(word.rstrip("/")) for word in words[1:-1] if not word.startswith("--")]
        for mount in re.findall(r"--mount=(\S+)", line):
            options = dict(item.split("=", 1) for item in mount.split(",") if "=" in item)
            if options.get("type") == "bind" and "from" not in options:
                sources.append(PurePosixPath(options["source"]))
    return sources


def _let_through(source: PurePosixPath, allowed: list[PurePosixPath]) -> bool:
    return any(source == entry or entry in source.parents for entry in allowed)


def test_every_build_context_source_of_the_dockerfile_is_in_the_allow_list() -> None:
    allowed = allowed_paths(DOCKERIGNORE.read_text())
    sources = context_sources(DOCKERFILE.read_text())
    assert PurePosixPath("formats") in sources and PurePosixPath("pyproject.toml") in sources, sources
    missing = sorted({str(source) for source in sources if not _let_through(source, allowed)})
    assert not missing, f".dockerignore leaves out what the Dockerfile copies: {missing}"


def test_a_source_the_allow_list_leaves_out_is_found() -> None:
    allowed = allowed_paths("*\n!app/\n!data/MANIFEST.tsv\n")
    sources = context_sources(
        "COPY app/ app/\nCOPY formats/ formats/\nCOPY --from=build /x /x\nCOPY data/MANIFEST.tsv data/\n"
    )
    assert sources == [PurePosixPath("app"), PurePosixPath("formats"), PurePosixPath("data/MANIFEST.tsv")]
    assert [str(s) for s in sources if not _let_through(s, allowed)] == ["formats"]
