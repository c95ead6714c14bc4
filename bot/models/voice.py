"""Voice messages WeChat could not turn into words, kept so staff can listen to them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.clock import utcnow
from bot.db import Base

STATES = ("waiting", "fetched", "failed")


class VoiceMessage(Base):
    """One voice message: its WeChat media id, then its audio once downloaded (media/get)."""

    __tablename__ = "voice_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), index=True)
    # WeChat keeps the audio 3 days under this id (temporary media).
    media_id: Mapped[str] = mapped_column(String(128), unique=True)
    format: Mapped[str] = mapped_column(String(16), default="amr")
    # The audio, encrypted with the field cipher (bot.requests.recordings): a voice is
    # as personal as anything a veteran types.
    audio: Mapped[str | None] = mapped_column(Text)
    size: Mapped[int | None] = mapped_column(Integer)
    # waiting → fetched, or failed (reason) when WeChat no longer has it.
    state: Mapped[str] = mapped_column(String(16), default="waiting")
    reason: Mapped[str | None] = mapped_column(Text)
    # The call-back request it was filed with, once the follower asked for one.
    help_request_id: Mapped[int | None] = mapped_column(ForeignKey("help_requests.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    fetched_at: Mapped[datetime | None] = mapped_column(DateTime)
