"""Case deadlines: when a case must be taken (签收) and answered (办结), and when it is 超期."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, or_

from bot.models import HelpRequest
from bot.requests.settings import CaseSettings

OVERDUE = "超期"
# States whose 办结 clock runs (待补充 pauses it: the veteran has the next move).
WORKING = ("已签收", "办理中")


def start(settings: CaseSettings, request: HelpRequest, now: datetime) -> None:
    """Set a new case's deadlines from now."""
    request.accept_due_at = now + settings.accept_within
    request.resolve_due_at = now + settings.resolve_within(request.category)


def pause(request: HelpRequest, now: datetime) -> None:
    """Stop the 办结 clock while the veteran is asked for more."""
    request.paused_at = request.paused_at or now


def resume(request: HelpRequest, now: datetime) -> None:
    """Restart the 办结 clock, moving the deadline on by the time it was stopped."""
    if request.paused_at is not None and request.resolve_due_at is not None:
        request.resolve_due_at += max(now - request.paused_at, timedelta(0))
    request.paused_at = None


def overdue(request: HelpRequest, now: datetime) -> bool:
    """Past its 签收 deadline untaken, or past its 办结 deadline while being worked."""
    if request.status == "已提交":
        return request.accept_due_at is not None and now > request.accept_due_at
    if request.status in WORKING:
        return request.resolve_due_at is not None and now > request.resolve_due_at
    return False


def overdue_clause(now: datetime):
    """overdue() as a SQL condition, for lists and counts."""
    return or_(
        and_(HelpRequest.status == "已提交", HelpRequest.accept_due_at < now),
        and_(HelpRequest.status.in_(WORKING), HelpRequest.resolve_due_at < now),
    )


def label(request: HelpRequest, now: datetime) -> str:
    """The state as people see it: 办理中, or 办理中（超期）."""
    return f"{request.status}（{OVERDUE}）" if overdue(request, now) else request.status


def next_due(request: HelpRequest) -> datetime | None:
    """The deadline that matters now: 签收's while untaken, else 办结's (None when done)."""
    if request.status == "已提交":
        return request.accept_due_at
    if request.status in (*WORKING, "待补充"):
        return request.resolve_due_at
    return None


def urgency(request: HelpRequest, now: datetime) -> tuple:
    """Sort key, most urgent first: overdue cases, then the nearest deadline."""
    due = next_due(request) or datetime.max
    return (not overdue(request, now), due, request.id)
