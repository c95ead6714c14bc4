"""The one reply type every handler returns, and fitting a listed reply into WeChat's limit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flask import render_template

# A passive text reply holds about 2,048 bytes of UTF-8 (a developer measurement;
# WeChat's docs are silent; docs/wechat.md, "Passive replies"). A Chinese character
# takes 3, so rows must be counted in bytes, not in lines.
MAX_BYTES = 2048


@dataclass(frozen=True)
class Reply:
    """What the bot answers: a text, or nothing (WeChat shows nothing for 'success')."""

    text: str | None = None

    @classmethod
    def silent(cls) -> Reply:
        """No visible answer; only for events WeChat expects 'success' for."""
        return cls(None)


def fitted(template: str, name: str, rows: Sequence, **context) -> str:
    """The template rendered with as many leading rows as fit in a passive reply.

    The rows go in as `name`, and `more` is how many were left out, so the
    template can say so ("……还有 12 人未列出"). Everything fits in one render
    most of the time; otherwise the longest fitting prefix is found by halving.
    """

    def render(count: int) -> str:
        return render_template(template, **context, **{name: rows[:count]}, more=len(rows) - count)

    text = render(len(rows))
    if _fits(text):
        return text
    low, high = 0, len(rows) - 1  # the answer lies in [low, high]; rows[:high + 1] is too long
    while low < high:
        middle = (low + high + 1) // 2
        if _fits(render(middle)):
            low = middle
        else:
            high = middle - 1
    return render(low)


def _fits(text: str) -> bool:
    return len(text.encode()) <= MAX_BYTES
