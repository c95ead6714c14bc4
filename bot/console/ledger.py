"""The 台账 page's questions: veterans in scope, searched and filtered, a page at a time."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, joinedload

from bot.care.contacts import month_bounds
from bot.console.scope import Scope
from bot.models import Contact, Veteran

PAGE_SIZE = 30


def _owed_visit():
    return or_(Veteran.hardship.is_(True), Veteran.disability.is_(True))


def uncontacted(day: date):
    """The condition 'not yet contacted in day's month' (a visit for the hardship and disabled).

    NOT EXISTS over contacts (veteran_id, contacted_on): an index probe per file, so a
    page of 20 stops after a few dozen files instead of reading the month's contacts.
    """
    start, end = month_bounds(day)
    counted = select(Contact.id).where(
        Contact.veteran_id == Veteran.id,
        Contact.contacted_on >= start,
        Contact.contacted_on < end,
        or_(Contact.kind == "visit", ~_owed_visit()),
    )
    # An erased file (删除我的信息) is a tombstone: nobody left to call.
    return and_(Veteran.erased_at.is_(None), ~counted.exists())


# The ledger's filters: key -> (label, condition). The file's new fields are all here.
FILTERS = {
    "no_plaque": ("未挂光荣之家牌匾", lambda day: Veteran.plaque_hung.is_(False)),
    "plaque": ("已挂光荣之家牌匾", lambda day: Veteran.plaque_hung.is_(True)),
    "no_pair": ("未结对党员户", lambda day: Veteran.paired_cipher == ""),
    "volunteer": ("志愿服务队队员", lambda day: Veteran.volunteer.is_(True)),
    "hardship": ("困难", lambda day: Veteran.hardship.is_(True)),
    "disability": ("伤残", lambda day: Veteran.disability.is_(True)),
    "uncontacted": ("本月未联系", uncontacted),
}


@dataclass(frozen=True)
class Search:
    """What the ledger page asks for."""

    text: str = ""
    station_id: int | None = None  # a station in scope: it and its subtree
    flags: tuple[str, ...] = ()
    page: int = 1


def normalise(text: str) -> str:
    """Full-width digits and dashes as typed on a phone become ASCII."""
    return unicodedata.normalize("NFKC", text).strip()[:32]


def _filtered(scope: Scope, search: Search, station_ids: list[int] | None, day: date):
    query = scope.stations(select(Veteran), Veteran.station_id)
    if station_ids is not None:
        query = query.where(Veteran.station_id.in_(station_ids))
    text = normalise(search.text)
    if text:
        like = f"%{text.replace('%', '').replace('_', '')}%"
        query = query.where(
            or_(Veteran.name.like(like), Veteran.file_no.like(like), Veteran.phone.like(like))
        )
    for key in search.flags:
        if key in FILTERS:
            query = query.where(FILTERS[key][1](day))
    return query


def find(
    session: Session, scope: Scope, search: Search, station_ids: list[int] | None, day: date
) -> tuple[list[Veteran], int]:
    """One page of matching files (number order, station loaded) and how many match."""
    query = _filtered(scope, search, station_ids, day)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(
        query.options(joinedload(Veteran.station))
        .order_by(Veteran.file_no)
        .limit(PAGE_SIZE)
        .offset((max(search.page, 1) - 1) * PAGE_SIZE)
    ).all()
    return list(rows), total or 0


def still_to_contact(
    session: Session, scope: Scope, day: date, limit: int = 20
) -> tuple[list[Veteran], int]:
    """This month's veterans not yet contacted: the hardship and disabled first; and the count."""
    query = scope.stations(select(Veteran), Veteran.station_id).where(uncontacted(day))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    loaded = query.options(joinedload(Veteran.station)).order_by(Veteran.file_no)
    # Two walks down the file-number index rather than one sort of everyone left.
    rows = list(session.scalars(loaded.where(_owed_visit()).limit(limit)))
    if len(rows) < limit:
        rows += session.scalars(loaded.where(~_owed_visit()).limit(limit - len(rows)))
    return rows, total or 0
