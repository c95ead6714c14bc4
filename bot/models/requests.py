"""Help requests (求助工单) filed by veterans and routed to their station."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.clock import utcnow
from bot.db import Base
from bot.models.stations import Station
from bot.models.veterans import Veteran

CATEGORIES = ("就业创业", "帮扶解困", "信访", "权益保障", "政策咨询", "其他")
# A request's kind when a follower who could not be understood asks to be called
# back (a voice message without text); not one a follower picks from the list.
CALLBACK = "回电"
# The case lifecycle (bot/requests/workflow.py): 已提交 →签收→ 已签收 → 办理中 →办结→
# 已办结 →评价→ 已评价, with 待补充 while the veteran is asked for more. 转办 and
# 督办 are steps in the timeline, not states; 超期 is worked out from the deadlines.
STATUSES = ("已提交", "已签收", "办理中", "待补充", "已办结", "已评价")
# What a case is about: a help request, or the veteran's own rights over their file.
KINDS = ("求助", "更正", "删除")
RATINGS = ("满意", "基本满意", "不满意")


class HelpRequest(Base):
    __tablename__ = "help_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(24), unique=True)
    openid: Mapped[str] = mapped_column(String(64), index=True)
    veteran_id: Mapped[int | None] = mapped_column(ForeignKey("veterans.id"), index=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"), index=True)
    category: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text)
    # Only for veterans without a file, so staff can call back.
    contact_phone: Mapped[str] = mapped_column(String(16), default="")
    status: Mapped[str] = mapped_column(String(16), default="已提交")
    kind: Mapped[str] = mapped_column(String(8), default="求助", server_default="求助")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    # Deadlines (bot/requests/sla.py): 签收 by accept_due_at, 办结 by resolve_due_at;
    # while 待补充 the clock pauses (paused_at) and resumes with the veteran's answer.
    accept_due_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    resolve_due_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    paused_at: Mapped[datetime | None] = mapped_column(DateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Set once when the 签收 deadline passed and the station above was told (督办);
    # cleared by 转办, which starts a new 签收 period.
    accept_escalated_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The station a 督办 last went to; the responsible station stays station_id.
    escalated_to_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"))
    rating: Mapped[str | None] = mapped_column(String(8))
    rated_at: Mapped[datetime | None] = mapped_column(DateTime)

    veteran: Mapped[Veteran | None] = relationship()
    station: Mapped[Station] = relationship(foreign_keys=[station_id])
    escalated_to: Mapped[Station | None] = relationship(foreign_keys=[escalated_to_id])
