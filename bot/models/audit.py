"""Who did what to personal data, and when: exports and reveals."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.clock import utcnow
from bot.db import Base


class AuditLog(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32), index=True)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    # The station the entry concerns (the file's, the bound member's, the actor's), so a
    # county administrator reads their county's entries only; None for the CLI's exports.
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"), index=True)
