"""The generated pages' template environment: a missing name fails the render, and block tags leave no blank lines."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest

from formats.pages import markdown_environment

TEMPLATE = "table"  # any file name: the loader reads it as it is


def test_an_undefined_name_fails_instead_of_printing_nothing(tmp_path: Path) -> None:
    (tmp_path / TEMPLATE).write_text("| {{ value }} |\n")
    with pytest.raises(jinja2.UndefinedError):
        markdown_environment(tmp_path).get_template(TEMPLATE).render()


def test_block_tags_leave_a_markdown_table_without_blank_lines_and_text_unescaped(tmp_path: Path) -> None:
    (tmp_path / TEMPLATE).write_text("| a |\n|---|\n  {% for row in rows %}\n| {{ row }} |\n  {% endfor %}\n")
    page = markdown_environment(tmp_path).get_template(TEMPLATE).render(rows=["<b>x</b>", "y & z"])
    assert page == "| a |\n|---|\n| <b>x</b> |\n| y & z |\n"
