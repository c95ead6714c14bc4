"""The timeline of a help request (工单): one row per transition, reply or internal note."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.clock import utcnow
from bot.db import Base
from bot.models.stations import Staff, Station

# Who moved the case: a bound staff member, the veteran, or the SLA check (beat).
ACTORS = ("staff", "veteran", "system")


class CaseEvent(Base):
    """One step of a case: who, when, from which state to which, and a note.

    `public` rows (replies, questions, answers, the outcome) are what the
    veteran is told; the others (备注, 督办) are for staff only and never
    reach the veteran. The note may hold health or family matters, so it
    rests encrypted with the field cipher (bot.crypto).
    """

    __tablename__ = "case_events"
    __table_args__ = (Index("ix_case_events_request", "request_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("help_requests.id"))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(8))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    # 提交, 签收, 回复, 备注, 补充, 答复, 办结, 转办, 督办, 评价, 重开, 删除 …
    action: Mapped[str] = mapped_column(String(8))
    from_status: Mapped[str] = mapped_column(String(16), default="")
    to_status: Mapped[str] = mapped_column(String(16), default="")
    # 转办's new station, 督办's station told.
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"))
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    note_cipher: Mapped[str] = mapped_column(Text, default="")

    staff: Mapped[Staff | None] = relationship()
    station: Mapped[Station | None] = relationship()
