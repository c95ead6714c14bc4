"""The outbox: every message meant for a person, written with the change that causes it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.clock import utcnow
from bot.db import Base

STATES = ("pending", "sending", "sent", "failed")


class OutboxMessage(Base):
    """One template message to one person; delivered once (bot.wechat.outbox)."""

    __tablename__ = "outbox"
    # The sweep's question: which unsent rows are due (state in pending/sending, by time).
    __table_args__ = (Index("ix_outbox_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # What the message is about and for whom, e.g. help:<request id>:<staff id>; also the
    # idempotency key WeChat sees (client_msg_id), so a repeat is never a second message.
    key: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(32))  # the key's first part: help, care, editor
    openid: Mapped[str] = mapped_column(String(64))
    template_id: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict] = mapped_column(JSON)
    url: Mapped[str] = mapped_column(String(512), default="")
    # pending → sending → sent, or failed (reason); sending goes back to pending on a
    # transient error.
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # pending: not before then; sending: counted as stuck (its sender died) from then.
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    reason: Mapped[str | None] = mapped_column(Text)
    msgid: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)
