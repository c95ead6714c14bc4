"""One incoming turn of a conversation, reduced to what dialogs need."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Turn:
    """What the follower said: text (typed or spoken), or a shared location."""

    openid: str
    text: str = ""
    lat: float | None = None
    lon: float | None = None
    label: str = ""

    @property
    def has_location(self) -> bool:
        """True when the follower shared a location."""
        return self.lat is not None and self.lon is not None
