"""One incoming turn of a conversation, reduced to what dialogs need."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


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


@dataclass(frozen=True, eq=False)
class Event:
    """Something the platform reports: a follow, a menu click, a location, a job's end.

    name is WeChat's Event in lower case (subscribe, click, location,
    publishjobfinish …); fields holds every field as posted, for the events
    whose handlers need more than the sender and the key.
    """

    openid: str
    name: str
    key: str = ""
    fields: Mapping[str, Any] = field(default_factory=dict)
