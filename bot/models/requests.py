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
STATUSES = ("已提交", "已签收", "办理中", "待补充", "已办结", "已回访/关闭", "退回", "转派", "重开")


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
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    veteran: Mapped[Veteran | None] = relationship()
    station: Mapped[Station] = relationship()
