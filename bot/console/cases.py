"""The 求助 pages' questions: cases in scope, filtered, a page at a time; what is open and late.

States, deadlines and steps are the case workflow's (bot/requests); this module
only asks the database for the console's lists, scope first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, joinedload

from bot.console.scope import Scope
from bot.models import HelpRequest
from bot.models.requests import CATEGORIES, KINDS, STATUSES
from bot.requests import sla, workflow

PAGE_SIZE = 30
OPEN = workflow.OPEN
CLOSED = tuple(s for s in STATUSES if s not in OPEN)
overdue_clause = sla.overdue_clause


@dataclass(frozen=True)
class Filter:
    """What the request list asks for."""

    state: str = ""  # a status, "open", or "" for all
    category: str = ""
    kind: str = ""
    station_ids: tuple[int, ...] | None = None
    overdue: bool = False
    page: int = 1


def _due():
    # The deadline that matters now: 签收's while untaken, else 办结's (sla.next_due in SQL).
    return case(
        (HelpRequest.status == "已提交", HelpRequest.accept_due_at),
        else_=HelpRequest.resolve_due_at,
    )


def _most_urgent_first(now: datetime):
    late = case((overdue_clause(now), 0), else_=1)
    return (late, _due().is_(None), _due(), HelpRequest.id)


def _query(scope: Scope, wanted: Filter, now: datetime):
    query = scope.stations(select(HelpRequest), HelpRequest.station_id)
    if wanted.state == "open":
        query = query.where(HelpRequest.status.in_(OPEN))
    elif wanted.state in STATUSES:
        query = query.where(HelpRequest.status == wanted.state)
    if wanted.category in CATEGORIES:
        query = query.where(HelpRequest.category == wanted.category)
    if wanted.kind in KINDS:
        query = query.where(HelpRequest.kind == wanted.kind)
    if wanted.station_ids is not None:
        query = query.where(HelpRequest.station_id.in_(wanted.station_ids))
    if wanted.overdue:
        query = query.where(overdue_clause(now))
    return query


def _loaded(query):
    return query.options(joinedload(HelpRequest.station), joinedload(HelpRequest.veteran))


def find(
    session: Session, scope: Scope, wanted: Filter, now: datetime
) -> tuple[list[HelpRequest], int]:
    """One page of matching cases (open ones most urgent first, else newest first); the count."""
    query = _query(scope, wanted, now)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    order = _most_urgent_first(now) if wanted.state == "open" else (HelpRequest.id.desc(),)
    rows = session.scalars(
        _loaded(query)
        .order_by(*order)
        .limit(PAGE_SIZE)
        .offset((max(wanted.page, 1) - 1) * PAGE_SIZE)
    ).all()
    return list(rows), total or 0


def counts(session: Session, scope: Scope, now: datetime) -> dict[str, int]:
    """How many cases in scope are open, late, and not yet taken (已提交), in one query."""
    query = scope.stations(
        select(
            func.count(HelpRequest.id),
            func.count(case((overdue_clause(now), 1))),
            func.count(case((HelpRequest.status == "已提交", 1))),
        ).where(HelpRequest.status.in_(OPEN)),
        HelpRequest.station_id,
    )
    opened, late, untaken = session.execute(query).one()
    return {"open": opened, "overdue": late, "unassigned": untaken}


def urgent(session: Session, scope: Scope, now: datetime, limit: int = 10) -> list[HelpRequest]:
    """Open cases in scope, most urgent first: the late ones, then the nearest deadline."""
    query = scope.stations(select(HelpRequest), HelpRequest.station_id).where(
        HelpRequest.status.in_(OPEN)
    )
    return list(session.scalars(_loaded(query).order_by(*_most_urgent_first(now)).limit(limit)))
