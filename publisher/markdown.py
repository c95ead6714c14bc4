"""Markdown to HTML, with emphasis that works next to Chinese punctuation."""

from __future__ import annotations

from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_cjk_friendly import cjk_friendly


def parser() -> MarkdownIt:
    """A CommonMark parser with tables and CJK-friendly emphasis, raw HTML off."""
    # Raw HTML would reach the site unescaped and be stripped by WeChat's editor:
    # stories are Markdown only, so any <tag> an editor types shows as text.
    return MarkdownIt("commonmark", {"html": False}).enable("table").use(cjk_friendly)


def is_external(url: str) -> bool:
    """Whether a link or image URL points off the story folder (scheme or //host)."""
    return bool(urlsplit(url).scheme) or url.startswith("//")


def walk(tokens: list[Token]):
    """Every token, block and inline, in document order."""
    for token in tokens:
        yield token
        if token.children:
            yield from walk(token.children)


def image_sources(source: str) -> list[str]:
    """Every image src in the Markdown body, in order, as written (URL-encoded)."""
    return [t.attrGet("src") or "" for t in walk(parser().parse(source)) if t.type == "image"]
