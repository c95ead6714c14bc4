"""Service stations (county, township, village) and the staff bound to them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.clock import utcnow
from bot.db import Base

LEVELS = ("county", "township", "village")
# Console roles. A staff member's role is their station's level unless set to
# prefecture (sees every county) or editor (the column's editors: statistics only).
ROLES = ("village", "township", "county", "prefecture", "editor")
# The level a station's parent must have.
PARENT_LEVEL = {"county": None, "township": "county", "village": "township"}


class Station(Base):
    __tablename__ = "stations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(16), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"), index=True)
    head: Mapped[str] = mapped_column(String(32), default="")
    phone: Mapped[str] = mapped_column(String(32), default="")
    address: Mapped[str] = mapped_column(String(128), default="")
    hours: Mapped[str] = mapped_column(String(64), default="")
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)

    parent: Mapped[Station | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Station]] = relationship(back_populates="parent")
    staff: Mapped[list[Staff]] = relationship(back_populates="station")

    def lineage(self) -> list[Station]:
        """This station and its ancestors, nearest first."""
        chain, node = [], self
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain

    def ancestor(self, level: str) -> Station | None:
        """The station of the given level on this station's line, itself included."""
        return next((s for s in self.lineage() if s.level == level), None)


class Staff(Base):
    __tablename__ = "staff"
    __table_args__ = (UniqueConstraint("login", name="uq_staff_login"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"), index=True)
    name: Mapped[str] = mapped_column(String(32))
    openid: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # The console (bot/console): an explicit role ("" means the station's level), a
    # desktop login with its argon2 hash, and when the binding ended. An unbound
    # member keeps their row, so the contacts and cases they handled still name them.
    role: Mapped[str] = mapped_column(String(16), default="", server_default=text("''"))
    login: Mapped[str | None] = mapped_column(String(32))
    password_hash: Mapped[str | None] = mapped_column(Text)
    # Bumped by unbinding and by a password (re)set: signed-in sessions of an older
    # epoch end at their next request.
    auth_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    unbound_at: Mapped[datetime | None] = mapped_column(DateTime)

    station: Mapped[Station] = relationship(back_populates="staff")

    @property
    def effective_role(self) -> str:
        """The console role: the one set, else the level of the station bound to."""
        return self.role or self.station.level
