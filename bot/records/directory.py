"""Look-ups over the station directory: by code or name, children, nearest, responsible staff."""

from __future__ import annotations

import math

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, aliased

from bot.models import Staff, Station, Veteran

EARTH_RADIUS_KM = 6371.0
# Suffixes of station names that people leave off when they name the place.
STATION_SUFFIXES = ("退役军人服务中心", "退役军人服务站", "服务中心", "服务站")


def short_name(name: str) -> str:
    """A station's place name without the service-station suffix: 九都镇."""
    for suffix in STATION_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name.removesuffix(suffix)
    return name


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


_village, _township = aliased(Station), aliased(Station)
CARD_FIELDS = ("name", "head", "phone", "address", "hours")
# One Core query for the commonest question of all, a registered veteran's
# 联系服务站: loading the file and walking station.parent through the ORM took
# four queries and most of the webhook's time.
_HOME_LINE = (
    select(
        *(getattr(_village, f) for f in CARD_FIELDS),
        *(getattr(_township, f) for f in CARD_FIELDS),
    )
    .join(Veteran, Veteran.station_id == _village.id)
    .outerjoin(_township, (_township.id == _village.parent_id) & (_township.level == "township"))
    .where(Veteran.openid == bindparam("openid"))
)


def home_cards(session: Session, openid: str) -> list[dict] | None:
    """Contact cards of a registered follower's station and its township; None if unregistered."""
    # Straight to the connection: the ORM layer adds nothing to a Core select.
    row = session.connection().execute(_HOME_LINE, {"openid": openid}).first()
    if row is None:
        return None
    n = len(CARD_FIELDS)
    cards = [dict(zip(CARD_FIELDS, row[:n], strict=True))]
    if row[n] is not None:
        cards.append(dict(zip(CARD_FIELDS, row[n:], strict=True)))
    return cards


def subtree_ids(session: Session, root: Station) -> list[int]:
    """The ids of a station and of every station under it."""
    ids, frontier = [root.id], [root.id]
    while frontier:
        frontier = list(session.scalars(select(Station.id).where(Station.parent_id.in_(frontier))))
        ids += frontier
    return ids
