"""Look-ups over the station directory: by code or name, children, nearest, responsible staff."""

from __future__ import annotations

import math

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import Staff, Station

EARTH_RADIUS_KM = 6371.0


def by_code(session: Session, code: str) -> Station | None:
    """The station with this code."""
    return session.scalar(select(Station).where(Station.code == code))


def children(session: Session, parent: Station) -> list[Station]:
    """A station's direct children, in code order (the order choices are numbered in)."""
    return list(
        session.scalars(
            select(Station).where(Station.parent_id == parent.id).order_by(Station.code)
        )
    )


def of_level(session: Session, level: str) -> list[Station]:
    """Every station of one level, in code order."""
    return list(
        session.scalars(select(Station).where(Station.level == level).order_by(Station.code))
    )


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def nearest(
    session: Session, lat: float, lon: float, level: str | None = None
) -> tuple[Station, float] | None:
    """The closest station with coordinates (optionally of one level), with its distance."""
    query = select(Station).where(Station.lat.is_not(None), Station.lon.is_not(None))
    if level:
        query = query.where(Station.level == level)
    ranked = [(s, haversine_km(lat, lon, s.lat, s.lon)) for s in session.scalars(query)]
    return min(ranked, key=lambda pair: pair[1], default=None)


def responsible_staff(session: Session, station: Station) -> list[Staff]:
    """Staff answerable for a station's requests: its own, and its township's."""
    line = [s.id for s in station.lineage() if s.level in ("village", "township")]
    return list(session.scalars(select(Staff).where(Staff.station_id.in_(line)).order_by(Staff.id)))
