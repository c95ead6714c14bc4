"""The 风采录 column's publishing state: one row per story and channel, and the upload cache."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.clock import utcnow
from bot.db import Base


class PublishState(Base):
    """Where one story stands on one channel (wechat or site), with every platform id."""

    __tablename__ = "publish_states"
    __table_args__ = (UniqueConstraint("slug", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    mode: Mapped[str] = mapped_column(String(16), default="publish")
    publish_at: Mapped[datetime | None] = mapped_column(DateTime)  # naive UTC
    title: Mapped[str] = mapped_column(String(64), default="")
    thumb_media_id: Mapped[str | None] = mapped_column(String(128))
    media_id: Mapped[str | None] = mapped_column(String(128))
    publish_id: Mapped[str | None] = mapped_column(String(64), index=True)
    msg_data_id: Mapped[str | None] = mapped_column(String(64))
    msg_id: Mapped[str | None] = mapped_column(String(64))
    clientmsgid: Mapped[str | None] = mapped_column(String(64))
    article_url: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    failed_step: Mapped[str | None] = mapped_column(String(16))
    # What a PUBLISHJOBFINISH event said; only polling freepublish/get moves the state.
    hint: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    retry_after: Mapped[datetime | None] = mapped_column(DateTime)
    # Each save must find the version it read, so two runs can never both advance a channel.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class MediaUpload(Base):
    """An image already uploaded to WeChat, by the sha256 of the bytes sent."""

    __tablename__ = "publish_media"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # "body" URL, "cover" media_id
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
