"""The one reply type every handler returns."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reply:
    """What the bot answers: a text, or nothing (WeChat shows nothing for 'success')."""

    text: str | None = None

    @classmethod
    def silent(cls) -> Reply:
        """No visible answer; only for events WeChat expects 'success' for."""
        return cls(None)
