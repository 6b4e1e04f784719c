"""The Jinja environment that renders the generated Markdown pages (docs/benchmarks.md, docs/configuration.md).

The pages' prose lives in template folders; this fixes how every such template is read, once.
"""

from __future__ import annotations

from pathlib import Path

import jinja2


def markdown_environment(templates: Path) -> jinja2.Environment:
    """Templates under ``templates``, strict about undefined names, whitespace as Markdown tables need it."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # Markdown, not HTML: the pages print text as it is
    )
