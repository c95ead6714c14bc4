"""Markdown to HTML, with emphasis that works next to Chinese punctuation."""

from __future__ import annotations

from markdown_it import MarkdownIt
from mdit_py_cjk_friendly import cjk_friendly


def parser() -> MarkdownIt:
    """A CommonMark parser with tables and CJK-friendly emphasis."""
    return MarkdownIt("commonmark").enable("table").use(cjk_friendly)


def to_html(source: str) -> str:
    """Render Markdown to plain HTML (no styling)."""
    return parser().render(source)
