"""What every case action works with: the session, the cipher, Redis, settings and the time."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import redis
from sqlalchemy.orm import Session

from bot import clock
from bot.crypto import FieldCipher
from bot.requests.settings import CaseSettings


@dataclass
class Desk:
    """One unit of case work: actions add rows to session; the caller commits.

    now is fixed when the desk is made, so every row of one action carries the
    same moment; outbox ids written are collected in `outbox_ids` for the
    caller to enqueue after its commit.
    """

    session: Session
    cipher: FieldCipher
    redis: redis.Redis
    settings: CaseSettings
    now: datetime = field(default_factory=clock.utcnow)
    outbox_ids: list[int] = field(default_factory=list)

    def sent(self, row_id: int | None) -> None:
        """Remember an outbox row written by this action (None: its key existed)."""
        if row_id is not None:
            self.outbox_ids.append(row_id)
