"""The 求助 pages' questions: cases in scope, filtered, a page at a time; what is open and late."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import false, func, select
from sqlalchemy.orm import Session, joinedload

from bot.console.scope import Scope
from bot.models import HelpRequest
from bot.models.requests import CATEGORIES, STATUSES

PAGE_SIZE = 30
CLOSED = ("已办结", "已回访/关闭", "已评价")
OPEN = tuple(s for s in STATUSES if s not in CLOSED)


def overdue_clause(now: datetime):
    """The condition 'past a deadline' (none are kept yet: nothing is late)."""
    return false()


@dataclass(frozen=True)
class Filter:
    """What the request list asks for."""

    state: str = ""  # a status, "open", or "" for all
    category: str = ""
    station_ids: tuple[int, ...] | None = None
    overdue: bool = False
    page: int = 1


def _query(scope: Scope, wanted: Filter, now: datetime):
    query = scope.stations(select(HelpRequest), HelpRequest.station_id)
    if wanted.state == "open":
        query = query.where(HelpRequest.status.in_(OPEN))
    elif wanted.state in STATUSES:
        query = query.where(HelpRequest.status == wanted.state)
    if wanted.category in CATEGORIES:
        query = query.where(HelpRequest.category == wanted.category)
    if wanted.station_ids is not None:
        query = query.where(HelpRequest.station_id.in_(wanted.station_ids))
    if wanted.overdue:
        query = query.where(overdue_clause(now))
    return query


def find(
    session: Session, scope: Scope, wanted: Filter, now: datetime
) -> tuple[list[HelpRequest], int]:
    """One page of matching cases, newest first, with station and file loaded; and the count."""
    query = _query(scope, wanted, now)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(
        query.options(joinedload(HelpRequest.station), joinedload(HelpRequest.veteran))
        .order_by(HelpRequest.id.desc())
        .limit(PAGE_SIZE)
        .offset((max(wanted.page, 1) - 1) * PAGE_SIZE)
    ).all()
    return list(rows), total or 0


def counts(session: Session, scope: Scope, now: datetime) -> dict[str, int]:
    """How many cases in scope are open, late, and not yet taken (已提交)."""
    base = scope.stations(select(func.count(HelpRequest.id)), HelpRequest.station_id)
    return {
        "open": session.scalar(base.where(HelpRequest.status.in_(OPEN))) or 0,
        "overdue": session.scalar(base.where(HelpRequest.status.in_(OPEN), overdue_clause(now)))
        or 0,
        "unassigned": session.scalar(base.where(HelpRequest.status == "已提交")) or 0,
    }


def urgent(session: Session, scope: Scope, now: datetime, limit: int = 10) -> list[HelpRequest]:
    """Open cases, oldest first (the ones waiting longest come first)."""
    query = (
        scope.stations(select(HelpRequest), HelpRequest.station_id)
        .where(HelpRequest.status.in_(OPEN))
        .options(joinedload(HelpRequest.station), joinedload(HelpRequest.veteran))
        .order_by(HelpRequest.created_at, HelpRequest.id)
        .limit(limit)
    )
    return list(session.scalars(query))
