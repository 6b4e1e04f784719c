"""The repository is self-contained: every document it cites is in it, and it names no machine's paths."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.conftest import REPO_ROOT

TEXT_SUFFIXES = {".py", ".md", ".sh", ".js", ".html", ".yml", ".yaml", ".toml", ".txt", ".cfg", ".json", ".csv", ""}
# A document reference: a path ending in .md (markdown links and plain mentions alike).
PLACEHOLDER = re.compile(r"(^|/)[A-Z_]{2,}(/|\.md$)")
DOCUMENT = re.compile(r"(?<![\w/.-])((?:\.{1,2}/)?[\w./-]*[\w-]+\.md)\b")
# Documents the project writes into a user's output folder rather than ships: `vst evaluate`'s report.
WRITTEN = {"eval.md"}


def _tracked_text_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    return [name for name in listed.stdout.splitlines() if (REPO_ROOT / name).suffix in TEXT_SUFFIXES]


def _resolves(cited: str, citing: str, tracked: list[str]) -> bool:
    """Relative to the repository or the citing file, or the name of a tracked document (``quality.md`` beside
    the page that includes it) or of one the project writes; ``OUT/x.md``-style placeholders pass."""
    if (
        cited in WRITTEN
        or PLACEHOLDER.search(cited)
        or (REPO_ROOT / cited).exists()
        or (REPO_ROOT / citing).parent.joinpath(cited).exists()
    ):
        return True
    tail = cited.removeprefix("./")
    return any(name == tail or name.endswith("/" + tail) for name in tracked)


def test_every_cited_document_is_in_the_repository() -> None:
    tracked = _tracked_text_files()
    missing = []
    for name in tracked:
        path = REPO_ROOT / name
        if not path.is_file():
            continue
        for cited in DOCUMENT.findall(path.read_text(errors="replace")):
            if not _resolves(cited, name, tracked):
                missing.append(f"{name}: {cited}")
    assert not missing, "documents cited but not in the repository:\n" + "\n".join(missing)


def test_no_file_names_a_folder_outside_the_repository() -> None:
    outside = re.compile(r"\.\./shared\b|/work/|DESIGN\.md")
    this = Path(__file__).relative_to(REPO_ROOT).as_posix()  # it names them to forbid them
    found = [
        name
        for name in _tracked_text_files()
        if name != this and outside.search((REPO_ROOT / name).read_text(errors="replace"))
    ]
    assert not found, f"files naming places outside the repository: {found}"
