"""Look-ups over the station directory: by code or name, children, nearest, responsible staff;
and the contact cards of a follower's stations, cached per process."""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass, field
from typing import NamedTuple

import redis
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
    query = select(Staff).where(Staff.station_id.in_(line), Staff.unbound_at.is_(None))
    return list(session.scalars(query.order_by(Staff.id)))


class Card(NamedTuple):
    """What 联系服务站 shows of one station (immutable: cards are shared from a cache)."""

    name: str
    head: str | None
    phone: str | None
    address: str | None
    hours: str | None


CARD_FIELDS = Card._fields
# Redis holds a random token that changes after every commit that touches a
# station or a veteran (bot/dialogs/station.py); each process keeps the cards
# it read under the token it read them with, so every web worker drops its
# copy on its next message. A token, not a counter: a flushed Redis must never
# bring an old one back.
CARDS_VERSION_KEY = "directory:cards-version"
# Followers remembered per process before the cache starts over (about 100 bytes each).
CACHE_FOLLOWERS = 100_000

_village, _township = aliased(Station), aliased(Station)
# One Core query for the commonest question of all, a registered veteran's
# 联系服务站: loading the file and walking station.parent through the ORM took
# four queries and most of the webhook's time.
_HOME_LINE = (
    select(
        _village.id,
        *(getattr(_village, f) for f in CARD_FIELDS),
        *(getattr(_township, f) for f in CARD_FIELDS),
    )
    .join(Veteran, Veteran.station_id == _village.id)
    .outerjoin(_township, (_township.id == _village.parent_id) & (_township.level == "township"))
    .where(Veteran.openid == bindparam("openid"))
)


@dataclass
class _Cards:
    """Cards valid for one version of the directory and one database."""

    version: str | None = None
    bind: object = None  # the engine (or connection) the cards were read through
    by_station: dict[int, tuple[Card, ...]] = field(default_factory=dict)
    # openid -> its village station's id, or None for a follower with no file.
    station_of: dict[str, int | None] = field(default_factory=dict)


_UNSEEN = object()


class CardCache:
    """One app's remembered station cards (app.extensions["station_cards"]), per process.

    A new version replaces the whole set in one assignment, so a thread that
    reads while another starts over never sees half of either.
    """

    def __init__(self) -> None:
        self._cards = _Cards()

    @property
    def version(self) -> str | None:
        """The directory version the remembered cards belong to, if any."""
        return self._cards.version

    def station_of(self, version: str, bind: object, openid: str):
        """The follower's remembered station id (None: no file), or _UNSEEN."""
        cards = self._cards
        if cards.version != version or cards.bind is not bind:
            return _UNSEEN
        return cards.station_of.get(openid, _UNSEEN)

    def cards_of(self, station_id: int) -> tuple[Card, ...]:
        """The remembered cards of a station station_of() answered."""
        return self._cards.by_station[station_id]

    def keep(self, version: str, bind: object, openid: str, station_id: int | None, cards) -> None:
        """Remember what one query read under version."""
        current = self._cards
        if current.version != version or current.bind is not bind:
            # Read under another version than the cache's: a newer one (the
            # directory changed), or an older one read just before; either way the
            # cache now answers only calls that read this version.
            current = self._cards = _Cards(version, bind)
        elif len(current.station_of) >= CACHE_FOLLOWERS:
            current.station_of.clear()
        if station_id is not None:
            cards = current.by_station.setdefault(station_id, cards)  # one copy per station
        current.station_of[openid] = station_id


def home_cards(
    session: Session, openid: str, version: str | None = None, cache: CardCache | None = None
) -> tuple[Card, ...] | None:
    """Contact cards of a registered follower's station and its township; None if unregistered.

    With the directory's version (cards_version()) and a cache, the answer comes
    from the cache when it holds one for that version; a miss is one query.
    """
    bind = session.get_bind()
    remember = cache is not None and version is not None
    station_id = cache.station_of(version, bind, openid) if remember else _UNSEEN
    if station_id is not _UNSEEN:
        return None if station_id is None else cache.cards_of(station_id)
    # Straight to the connection: the ORM layer adds nothing to a Core select.
    row = session.connection().execute(_HOME_LINE, {"openid": openid}).first()
    cards = None
    if row is not None:
        village, township = Card(*row[1 : len(CARD_FIELDS) + 1]), row[len(CARD_FIELDS) + 1 :]
        cards = (village,) if township[0] is None else (village, Card(*township))
    if remember:
        cache.keep(version, bind, openid, None if row is None else row[0], cards)
    return cards


def cards_version(r: redis.Redis, seen: str | None = None) -> str:
    """The directory's current card version (seen: as already read); created when missing."""
    if seen is not None:
        return seen
    pipe = r.pipeline(transaction=False)
    pipe.set(CARDS_VERSION_KEY, secrets.token_hex(8), nx=True)
    pipe.get(CARDS_VERSION_KEY)
    return pipe.execute()[1]


def drop_cards(r: redis.Redis) -> None:
    """Make every process's cached station cards stale."""
    r.set(CARDS_VERSION_KEY, secrets.token_hex(8))


def touches_cards(session: Session) -> bool:
    """Whether a session's changes touch what the cards show: a station, or a veteran's file.

    Both change through the ORM only (station imports, files saved at
    registration or by ledger imports), so a session hook can tell.
    """
    changed = (*session.new, *session.dirty, *session.deleted)
    return any(isinstance(row, Station | Veteran) for row in changed)


def subtree_ids(session: Session, root: Station) -> list[int]:
    """The ids of a station and of every station under it."""
    ids, frontier = [root.id], [root.id]
    while frontier:
        frontier = list(session.scalars(select(Station.id).where(Station.parent_id.in_(frontier))))
        ids += frontier
    return ids
