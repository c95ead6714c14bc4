"""TEMPORARY: replaced by the WeChat renderer (inline styles, numbered link references)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from publisher.markdown import to_html
from publisher.story import Story


def render_wechat(story: Story, image_url: Callable[[Path], str]) -> str:
    """The story's body as HTML that WeChat's editor keeps; image_url uploads a local image."""
    return to_html(story.body)
