"""The care calendar: greeting campaigns, occasion dates set by hand, and staff contacts."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.clock import utcnow
from bot.db import Base
from bot.models.stations import Staff
from bot.models.veterans import Veteran


class Campaign(Base):
    """One greeting mass send: exactly one per occasion, year and tag."""

    __tablename__ = "campaigns"
    __table_args__ = (UniqueConstraint("occasion", "year", "tag_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occasion: Mapped[str] = mapped_column(String(32))
    year: Mapped[int] = mapped_column(Integer)
    tag_id: Mapped[int] = mapped_column(Integer)
    tag_name: Mapped[str] = mapped_column(String(64), default="")
    # pending → sending → sent → finished, or failed (with reason, retried later)
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    clientmsgid: Mapped[str] = mapped_column(String(64), unique=True)
    media_id: Mapped[str | None] = mapped_column(String(128))
    msg_id: Mapped[str | None] = mapped_column(String(64), index=True)
    msg_data_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # From MASSSENDJOBFINISH.
    total_count: Mapped[int | None] = mapped_column(Integer)
    filter_count: Mapped[int | None] = mapped_column(Integer)
    sent_count: Mapped[int | None] = mapped_column(Integer)
    error_count: Mapped[int | None] = mapped_column(Integer)
    finish_status: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class OccasionDate(Base):
    """A date the prefecture sets each year (彝历新年), entered by the bureau."""

    __tablename__ = "occasion_dates"
    __table_args__ = (UniqueConstraint("occasion", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occasion: Mapped[str] = mapped_column(String(32))
    year: Mapped[int] = mapped_column(Integer)
    day: Mapped[date] = mapped_column(Date)
    set_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Contact(Base):
    """One phone call or visit by station staff to a veteran (电话联系 / 上门走访)."""

    __tablename__ = "contacts"
    # "Contacted this month?" for one veteran is a probe of this index (the console's lists).
    __table_args__ = (Index("ix_contacts_veteran_day", "veteran_id", "contacted_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    veteran_id: Mapped[int] = mapped_column(ForeignKey("veterans.id"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # "phone" or "visit"
    contacted_on: Mapped[date] = mapped_column(Date, index=True)
    # Notes can hold health or family matters: encrypted like ID numbers.
    note_cipher: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(8), default="wechat")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    veteran: Mapped[Veteran] = relationship()
    staff: Mapped[Staff | None] = relationship()
