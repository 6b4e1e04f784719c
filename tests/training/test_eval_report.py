"""eval.md: its prose comes from training/eval_report.txt, one paragraph per block, filled in from the results."""

from __future__ import annotations

import json
from pathlib import Path

from training.eval_report import NOTES, markdown_table, read_notes

# A full evaluation of the shipped network: every section of the report has data to fill it.
SHIPPED_EVALUATION = Path(__file__).parent / "fixtures" / "eval_full.json"


def test_a_block_is_one_paragraph_and_comments_are_left_out(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("# a comment\n[first]\nOne line\nand the next,\n\n# inside\n[second]\n{count:.1f} left.\n")
    assert read_notes(notes) == {"first": "One line and the next,", "second": "{count:.1f} left."}


def test_every_paragraph_of_a_full_evaluation_is_filled_in() -> None:
    results = json.loads(SHIPPED_EVALUATION.read_text())
    table = markdown_table(results)
    pairs = results["paired_vs_deterministic"]["content_loss"]["pairs"]
    assert f"Ours (variation 0) minus the deterministic baseline, paired over the same {pairs} pairs" in table
    assert "Along alpha, at equal content loss (geometric mean of the Gram losses): each point" in table
    assert f"Style encoding: {results['style_encoding_seconds']:.3f} s per style image." in table
    assert "{" not in table and "}" not in table
    prose = [line for line in table.splitlines() if line and not line.startswith("|")]
    assert len(prose) == len(NOTES) + 1  # the at-equal-content paragraph twice: mean and geometric mean
    for paragraph in NOTES.values():
        opening = paragraph.split("{")[0]
        assert any(line.startswith(opening) for line in prose), opening
