"""Service stations (county, township, village) and the staff bound to them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.clock import utcnow
from bot.db import Base

LEVELS = ("county", "township", "village")
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

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"), index=True)
    name: Mapped[str] = mapped_column(String(32))
    openid: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    station: Mapped[Station] = relationship(back_populates="staff")
