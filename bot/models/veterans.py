"""One file per veteran (一人一档), keyed by a keyed hash of the ID number."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.clock import utcnow
from bot.db import Base
from bot.models.stations import Station


class Veteran(Base):
    __tablename__ = "veterans"

    id: Mapped[int] = mapped_column(primary_key=True)
    # <code of the village station that issued it>-<seq:04d>; never derived from
    # the ID number, and kept when the veteran moves to another station.
    file_no: Mapped[str] = mapped_column(String(48), unique=True)
    seq: Mapped[int] = mapped_column(Integer)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"), index=True)
    name: Mapped[str] = mapped_column(String(32))
    gender: Mapped[str] = mapped_column(String(4))
    ethnicity: Mapped[str] = mapped_column(String(16), default="")
    id_cipher: Mapped[str] = mapped_column(Text)
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The year only: with the county code, a full birth date and the gender would
    # narrow an ID number down to about 500 candidates (docs/architecture.md).
    birth_year: Mapped[int] = mapped_column(Integer)
    phone: Mapped[str] = mapped_column(String(16), default="")
    enlist_year: Mapped[int | None] = mapped_column(Integer)
    discharge_year: Mapped[int | None] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(16), default="退役士兵")
    hardship: Mapped[bool] = mapped_column(Boolean, default=False)
    disability: Mapped[bool] = mapped_column(Boolean, default=False)
    openid: Mapped[str | None] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(String(16), default="wechat")
    registered_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Set when the veteran had their file deleted (删除我的信息): the row stays as an
    # anonymous tombstone so the numbering and the statistics hold (bot/requests/rights.py).
    erased_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    # What station practice records and the paper ledger lacks (kept in the console):
    # the address down to the village group and the emergency contact are
    # encrypted like the ID number; the paired Party-member household (结对党员户)
    # too, as it names another person.
    village_group: Mapped[str] = mapped_column(String(32), default="", server_default=text("''"))
    address_cipher: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    emergency_cipher: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    plaque_hung: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    plaque_hung_on: Mapped[date | None] = mapped_column(Date)
    paired_cipher: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    volunteer: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    station: Mapped[Station] = relationship()


class FileChange(Base):
    """One edit of a file's field in the console: who, when, the value before and after.

    Values are encrypted: the history of an encrypted field must not leak it.
    """

    __tablename__ = "file_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    veteran_id: Mapped[int] = mapped_column(ForeignKey("veterans.id"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    actor: Mapped[str] = mapped_column(String(64))
    field: Mapped[str] = mapped_column(String(32))
    old_cipher: Mapped[str] = mapped_column(Text, default="")
    new_cipher: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
